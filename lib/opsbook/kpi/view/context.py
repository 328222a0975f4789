"""What ran when a day or a week stood out: the campaigns, experiments and days without data
beside each anomaly, and the summary's line on the anomalies with the newest one's context."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.kpi.analysis import KpiDashboard
from opsbook.report import Report


def ran_then_text(report: Report, context: Any) -> str:
    """ "campaign Double 11 · experiment checkout_button" (names are the data's), or "—"."""
    if not isinstance(context, list) or not context:
        return "—"
    return " · ".join(report.t(f"kpi_dashboard.ran.{kind}", name=name) for kind, name in context)


def anomaly_step(report: Report, result: KpiDashboard) -> str | None:
    """The summary's line: how many periods and days stood out, and what ran on the newest."""
    weekly, daily = result.trend_anomalies, result.daily_anomalies
    if weekly.empty and daily.empty:
        return None
    line = report.t("kpi_dashboard.summary.anomalies", weekly=len(weekly), daily=len(daily))
    newest = max(
        [
            (pd.Timestamp(r.end), r.context, f"kpi_dashboard.kpi.{r.kpi}")
            for r in weekly.itertuples()
        ]
        + [
            (pd.Timestamp(r.date), r.context, f"kpi_dashboard.daily.{r.metric}")
            for r in daily.itertuples()
        ],
        key=lambda item: item[0],
    )
    day, context, label = newest
    if context:
        line += " " + report.t(
            "kpi_dashboard.summary.newest_anomaly",
            day=f"{day:%Y-%m-%d}",
            what=report.t(label),
            ran=ran_then_text(report, context),
        )
    return line
