"""What the retention report shows: tables, charts, sentences and widgets, built from the
analysis results only."""

from opsbook.retention.view.engagement import (
    active_days_chart,
    lifecycle_chart,
    show_lifecycle,
    stickiness_chart,
)
from opsbook.retention.view.matrix import curves_chart, heatmap, show_matrix
from opsbook.retention.view.narrative import conclusion, notes, show_definitions
from opsbook.retention.view.rates import show_day_n, show_day_n_by, show_rate_groups, show_rates
from opsbook.retention.view.revenue import ltv_chart, show_payback
from opsbook.retention.view.survival import show_survival, survival_chart
from opsbook.retention.view.widgets import explore

__all__ = [
    "active_days_chart",
    "conclusion",
    "curves_chart",
    "explore",
    "heatmap",
    "lifecycle_chart",
    "ltv_chart",
    "notes",
    "show_day_n",
    "show_day_n_by",
    "show_definitions",
    "show_lifecycle",
    "show_matrix",
    "show_payback",
    "show_rate_groups",
    "show_rates",
    "show_survival",
    "stickiness_chart",
    "survival_chart",
]
