"""The KPI dashboard's engine work: Ibis expressions over users, events, orders, spend and content
that return one small row per KPI and period (periods, the users area, content, the daily pulse,
and whether campaigns exist)."""

from opsbook.kpi.queries.campaigns import campaign_count, events_before
from opsbook.kpi.queries.content import CONTENT_EVENTS, content_performance
from opsbook.kpi.queries.daily import daily_counts
from opsbook.kpi.queries.periods import Period, Periods, default_period_end, newest_event
from opsbook.kpi.queries.users import (
    YEAR_DAYS,
    acquisition,
    activation_rows,
    revenue_rows,
    signups_per_day,
    spend_per_day,
)

__all__ = [
    "CONTENT_EVENTS",
    "YEAR_DAYS",
    "Period",
    "Periods",
    "acquisition",
    "activation_rows",
    "campaign_count",
    "content_performance",
    "daily_counts",
    "default_period_end",
    "events_before",
    "newest_event",
    "revenue_rows",
    "signups_per_day",
    "spend_per_day",
]
