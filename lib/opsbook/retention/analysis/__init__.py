"""The retention report's results: typed, immutable answers (the matrix, D-N retention, rates,
stickiness, lifecycle, LTV and CAC, churn survival) built from the queries' small frames and
pure statistics, and the metrics a run records."""

from opsbook.retention.analysis.engagement import (
    LifecycleResult,
    StickinessResult,
    lifecycle,
    stickiness,
)
from opsbook.retention.analysis.matrix import (
    RetentionResult,
    retention_matrices,
    retention_matrix,
)
from opsbook.retention.analysis.metrics import report_metrics, target_status
from opsbook.retention.analysis.rates import (
    RateResult,
    against_group_targets,
    against_targets,
    day_n_by,
    day_n_retention,
    first_order_conversion,
    repeat_purchase_rate,
)
from opsbook.retention.analysis.revenue import LtvResult, cac_payback, ltv_curves
from opsbook.retention.analysis.survival import SurvivalResult, churn_survival

# what the views ask of the source and of the settings, through this layer (a view never
# imports the queries)
from opsbook.retention.queries import (
    CRITERIA,
    MISSING_GROUP,
    PERIODS,
    breakdown_columns,
    breakdown_values,
    usable_breakdown,
)
from opsbook.retention.queries.periods import _src as _src

__all__ = [
    "CRITERIA",
    "MISSING_GROUP",
    "PERIODS",
    "LifecycleResult",
    "LtvResult",
    "RateResult",
    "RetentionResult",
    "StickinessResult",
    "SurvivalResult",
    "against_group_targets",
    "against_targets",
    "breakdown_columns",
    "breakdown_values",
    "cac_payback",
    "churn_survival",
    "day_n_by",
    "day_n_retention",
    "first_order_conversion",
    "lifecycle",
    "ltv_curves",
    "repeat_purchase_rate",
    "report_metrics",
    "retention_matrices",
    "retention_matrix",
    "stickiness",
    "target_status",
    "usable_breakdown",
]
