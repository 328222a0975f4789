"""The data-quality report: is each table complete, unique, consistent and fresh enough to trust?

Per table: rows, date range, null rate per column, duplicate keys, orphans (rows of unknown
users), out-of-range values, and an accuracy score -- the share of rows passing every contract
rule -- against a threshold (the operations KPI system asks for >= 95 %). Daily volumes are
counted in the engine, bucketed in the configured time zone, with the weekdays and dates a
source never trades learned from the data, gaps and spikes flagged on the open days and runs of
empty or collapsed days reported as one outage each. Freshness: each table's newest row against
the run time and against the other daily tables. The verdict says what is wrong first.
"""

# The facade: the names the notebook (01_data_quality.ipynb) calls; nothing else.
from opsbook.quality.analysis import assess
from opsbook.quality.view import (
    show_anomalies,
    show_findings,
    show_freshness,
    show_null_rates,
    show_outages,
    show_summary,
    summary,
    volume_chart,
)

__all__ = [
    "assess",
    "show_anomalies",
    "show_findings",
    "show_freshness",
    "show_null_rates",
    "show_outages",
    "show_summary",
    "summary",
    "volume_chart",
]
