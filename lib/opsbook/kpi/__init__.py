"""The weekly KPI dashboard: every KPI of the operations KPI system against its target and last week.

Conventions (the report prints them):

* **Periods** are local calendar days in the configured zone. The period is the ``period_days``
  (default 7) local days ending ``period_end``; by default ``period_end`` is the last Sunday the
  data reach (a week counts as complete when the newest event falls on or after its Sunday).
  The previous period is the ``period_days`` before it; trends show ``trend_weeks`` periods.
* **Cohort KPIs** (D1/D7/D30 retention, activation within N days, first-order conversion within
  N days) are reported for the cohort whose measuring day falls in the period: Dn retention of a
  week is measured on users who signed up n days before a day of that week, so every weekly
  value rests on a complete window.
* **Status**: green meets the target; amber misses it by at most ``amber_band`` of the target
  (default 10 %); red is further off; n/a when the value or the target is missing.
* **Week-over-week**: ``change`` is the relative change against the previous period
  (``change_abs`` the difference); for rates measured afresh each period a pooled
  two-proportion z-test, treating the two periods as independent samples, says whether the
  change is beyond noise (``alpha``, default 0.05). Trailing-window rates (DAU/MAU, repeat
  purchase over 30 days) and campaign numbers to date overlap the previous period's and are not
  tested.
* **Content attribution** (last touch): a paid order is credited to the user's latest content
  view in the ``content_window_hours`` before it; content conversion = credited orders / views,
  content revenue = their amounts, content ROI of the period = revenue credited to the period's
  views / production cost of the items published in the period.

Heavy work (period counts over events, orders, the view -> order join) runs in the engine as Ibis
expressions; pandas holds one row per KPI and period. Retention, first-order conversion, repeat
purchase and stickiness come from :mod:`opsbook.retention`, campaign conversion and ROI from
:mod:`opsbook.campaigns`. The rest of the KPI system (NPS, private domain, efficiency, LTV
growth; :mod:`opsbook.kpi.analysis.system`) turns on with its optional tables.
"""

from opsbook.kpi.analysis import dashboard
from opsbook.kpi.queries import Periods, revenue_rows
from opsbook.kpi.view.dashboard import (
    content_volume_chart,
    daily_chart,
    show_acquisition,
    show_content_items,
    show_content_types,
    show_daily_anomalies,
    show_data_health,
    show_definitions,
    show_period,
    show_rules,
    show_scorecard,
    show_trend_anomalies,
    summary,
    trend_chart,
)
from opsbook.kpi.view.forecast import forecast_chart, show_forecasts
from opsbook.kpi.view.system import show_nps_channels

__all__ = [
    "Periods",
    "content_volume_chart",
    "daily_chart",
    "dashboard",
    "forecast_chart",
    "revenue_rows",
    "show_acquisition",
    "show_content_items",
    "show_content_types",
    "show_daily_anomalies",
    "show_data_health",
    "show_definitions",
    "show_forecasts",
    "show_nps_channels",
    "show_period",
    "show_rules",
    "show_scorecard",
    "show_trend_anomalies",
    "summary",
    "trend_chart",
]
