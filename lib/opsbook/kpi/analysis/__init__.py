"""The KPI dashboard's results: the dashboard (every KPI against its target and last week), its
scorecard and week-over-week tests, the KPIs reused from retention and campaigns, the trend and
daily anomalies, and data health."""

from opsbook.kpi.analysis.health import READS, DataHealth, data_health
from opsbook.kpi.analysis.result import KpiDashboard, dashboard
from opsbook.kpi.analysis.reused import RETENTION_DAYS, campaign_rows, retention_rows
from opsbook.kpi.analysis.scorecard import TESTED_RATES, week_over_week
from opsbook.kpi.analysis.trends import DAILY_METRICS, TREND_MIN_CHANGE, daily_pulse, flag_trend

__all__ = [
    "DAILY_METRICS",
    "READS",
    "RETENTION_DAYS",
    "TESTED_RATES",
    "TREND_MIN_CHANGE",
    "DataHealth",
    "KpiDashboard",
    "campaign_rows",
    "daily_pulse",
    "dashboard",
    "data_health",
    "flag_trend",
    "retention_rows",
    "week_over_week",
]
