"""What the dashboard shows of the rest of the KPI system beyond its scorecard rows: NPS by the
survey answers' channel (a score only from the minimum number of respondents up)."""

from __future__ import annotations

import pandas as pd

from opsbook.formats import fmt, interval_text
from opsbook.kpi.analysis import KpiDashboard
from opsbook.report import Report


def show_nps_channels(report: Report, result: KpiDashboard) -> None:
    """NPS per channel of the answers this period, with its interval and respondents."""
    if result.system is None or not report.source.has("survey_responses"):
        return
    tr = report.t
    frame = result.system.nps_channels
    if frame.empty:
        report.say("kpi_dashboard.nps.no_channels")
        return
    report.say("kpi_dashboard.nps.by_channel", n=result.settings["nps_min_respondents"])
    shown = pd.DataFrame(
        {
            tr("kpi_dashboard.col.channel"): [
                report.display_name("channel", c) for c in frame["channel"]
            ],
            tr("kpi_dashboard.col.respondents"): [fmt(n, "int") for n in frame["respondents"]],
            tr("kpi_dashboard.col.promoters"): [fmt(n, "int") for n in frame["promoters"]],
            tr("kpi_dashboard.col.detractors"): [fmt(n, "int") for n in frame["detractors"]],
            tr("kpi_dashboard.kpi.nps"): [
                "—"
                if pd.isna(r.nps)
                else f"{fmt(r.nps, 'dec1')} {interval_text(r.low, r.high, 'dec1')}"
                for r in frame.itertuples()
            ],
        }
    )
    report.show(shown)
