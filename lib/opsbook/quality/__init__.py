"""The data-quality report: is each table complete, unique, consistent and fresh enough to trust?

Per table: rows, date range, null rate per column, duplicate keys, orphans (rows of unknown
users), out-of-range values, and an accuracy score -- the share of rows passing every contract
rule -- against a threshold (the operations KPI system asks for >= 95 %). Daily volumes are
counted in the engine, bucketed in the configured time zone, with gaps and spikes flagged.
"""

# The facade: the names the notebook (01_data_quality.ipynb) calls; nothing else.
from opsbook.quality.analysis import assess
from opsbook.quality.view import (
    conclusion,
    show_anomalies,
    show_findings,
    show_null_rates,
    show_summary,
    volume_chart,
)

__all__ = [
    "assess",
    "conclusion",
    "show_anomalies",
    "show_findings",
    "show_null_rates",
    "show_summary",
    "volume_chart",
]
