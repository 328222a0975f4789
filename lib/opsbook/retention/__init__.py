"""Cohort retention: do the users we acquire come back, buy again, and stay?

Every definition is explicit, because each one changes the numbers (DOMAIN.md, "Retention"):

* **Cohort entry** -- ``cohort_event=None``: the signup (``users.signup_ts``); an event name: its
  occurrences in ``events``; ``"order"``: paid orders. ``entry="first"`` puts a user in the cohort
  of their first occurrence only; ``entry="recurring"`` enters them again in every period in which
  the start event happens (each entry is measured on its own).
* **Return event** -- ``"any"`` (any row of ``events``; a source without events falls back to
  its orders), ``"order"`` (a paid order: status ``paid`` or no status; refunded and cancelled
  orders are not paid) or an event name.
* **Periods** -- ``window="calendar"``: local calendar days, ISO weeks (Monday first) or months
  in the configured time zone, period N = bucket(return) - bucket(entry); ``window="rolling"``:
  N = floor((return time - entry time) / length), with a length of 24 hours, 7 x 24 hours or
  30 x 24 hours (a rolling "month").
* **Criterion** -- ``"on"``: active in period N; ``"on_or_after"``: active in N or any later
  period, taken from each user's last active period (never by summing cells).
* **Completeness** -- a cell whose period has not fully elapsed at ``as_of`` for every member of
  the cohort is incomplete: masked (NaN), never shown as 0. ``as_of`` defaults to the newest
  timestamp in the data, so a day still in progress is incomplete.
* **Period 0** is the entry period itself: 100 % of the cohort by definition.
* **Means across cohorts** -- weighted by cohort size (pooled: retained / users over the cohorts
  complete in that period) and the simple mean of the cohort rates, with the counts behind them.

The heavy work (joins and group-bys over events and orders) is one Ibis expression per question,
run where the data lives; pandas receives per cohort x period counts, per-day counts or per
(group, duration) counts, never events.
"""

from opsbook.retention.analysis import (
    against_group_targets,
    against_targets,
    cac_payback,
    churn_survival,
    day_n_by,
    day_n_retention,
    first_order_conversion,
    lifecycle,
    ltv_curves,
    repeat_purchase_rate,
    report_metrics,
    retention_matrix,
    stickiness,
)
from opsbook.retention.queries import (
    keep_active_days,
    number_of,
    trailing_window,
    usable_breakdown,
)
from opsbook.retention.view.engagement import (
    active_days_chart,
    lifecycle_chart,
    show_lifecycle,
    stickiness_chart,
)
from opsbook.retention.view.groups import group_colours
from opsbook.retention.view.matrix import curves_chart, heatmap, show_matrix
from opsbook.retention.view.narrative import notes, show_definitions
from opsbook.retention.view.rates import show_day_n, show_day_n_by, show_rate_groups, show_rates
from opsbook.retention.view.revenue import ltv_chart, show_payback
from opsbook.retention.view.summary import summary
from opsbook.retention.view.survival import show_survival, survival_chart
from opsbook.retention.view.widgets import explore
from opsbook.targets import retention_targets

__all__ = [
    "active_days_chart",
    "against_group_targets",
    "against_targets",
    "cac_payback",
    "churn_survival",
    "curves_chart",
    "day_n_by",
    "day_n_retention",
    "explore",
    "first_order_conversion",
    "group_colours",
    "heatmap",
    "keep_active_days",
    "lifecycle",
    "lifecycle_chart",
    "ltv_chart",
    "ltv_curves",
    "notes",
    "number_of",
    "repeat_purchase_rate",
    "report_metrics",
    "retention_matrix",
    "retention_targets",
    "show_day_n",
    "show_day_n_by",
    "show_definitions",
    "show_lifecycle",
    "show_matrix",
    "show_payback",
    "show_rate_groups",
    "show_rates",
    "show_survival",
    "stickiness",
    "stickiness_chart",
    "summary",
    "survival_chart",
    "trailing_window",
    "usable_breakdown",
]
