"""Campaign review, view: the campaigns reviewed (period, channel, spend, members, method) and
the scorecard of targets vs actuals with red/amber/green."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.campaigns.analysis.channels import channel_name
from opsbook.campaigns.analysis.results import CampaignReview
from opsbook.campaigns.analysis.scorecard import INTERVALS
from opsbook.formats import STATUS_CLASS, fmt
from opsbook.report import Report
from opsbook.targets import marked

# the shown format of each KPI row of the scorecard
KPI_FORMAT = {
    "participants": "int",
    "conversion": "pct",
    "aov_lift": "signed_pct",
    "k_factor": "float",
    "roi": "float",
    "roas": "float",
    "cac": "money",
}


def _label(name: Any, key: Any) -> str:
    """A campaign as a reader sees it: its name and, when different, its id."""
    return str(name) if str(name) == str(key) else f"{name} ({key})"


def _status_text(report: Report, status: str | None) -> str:
    return report.t(f"campaign_review.status.{status or 'na'}")


def show_overview(report: Report, rv: CampaignReview) -> None:
    """The campaigns reviewed: period (local dates), channel, spend, members and the method."""
    tr = report.t
    rows = []
    for r in rv.results:
        row = rv.catalogue.set_index("key").loc[r.key]
        rows.append(
            {
                tr("campaign_review.col.campaign"): _label(r.name, r.key),
                tr("campaign_review.col.period"): (
                    f"{r.start:%Y-%m-%d} – {r.end:%Y-%m-%d}" if r.start is not None else "—"
                ),
                tr("campaign_review.col.channel"): channel_name(r.channel, report.lang)
                if r.channel
                else "—",
                tr("campaign_review.col.spend"): r.spend,
                tr("campaign_review.col.treatment"): int(row["treatment_members"]),
                tr("campaign_review.col.holdout"): int(row["holdout_members"]),
                tr("campaign_review.col.method"): tr(f"campaign_review.method.{r.method}"),
            }
        )
    frame = pd.DataFrame(rows)
    report.show(
        frame,
        formats={tr("campaign_review.col.spend"): "money"},
        min_cell=report.min_cell,
        count_columns=[tr("campaign_review.col.treatment"), tr("campaign_review.col.holdout")],
    )
    report.say(
        "campaign_review.settings",
        window=rv.settings.conversion_window_days,
        baseline=rv.settings.baseline_days,
        alpha=f"{rv.settings.alpha:g}",
        half_life=f"{rv.settings.half_life:g}",
    )


def show_scorecard(report: Report, rv: CampaignReview) -> None:
    """Targets vs actuals with red/amber/green and the rule; one table per campaign."""
    tr = report.t
    for r in rv.results:
        if rv.single is None:
            report.heading("campaign_review.campaign_heading", level=3, name=_label(r.name, r.key))
        rows, classes = [], []
        for s in r.scorecard.itertuples():
            kind = KPI_FORMAT[s.kpi]
            if s.target is None or pd.isna(s.target):
                rule = tr("campaign_review.rule.none")
            elif s.kpi in INTERVALS:
                rule = tr(
                    f"campaign_review.rule.estimate_{s.direction}", target=fmt(s.target, kind)
                )
            else:
                rule = tr(
                    f"campaign_review.rule.{s.direction}",
                    target=fmt(s.target, kind),
                    amber=fmt(s.amber, kind),
                )
            rows.append(
                {
                    tr("campaign_review.col.kpi"): tr(f"campaign_review.kpi.{s.kpi}"),
                    tr("campaign_review.col.definition"): tr(s.definition),
                    tr("campaign_review.col.actual"): fmt(s.actual, kind),
                    tr("campaign_review.col.target"): fmt(s.target, kind)
                    if s.target is None or pd.isna(s.target)
                    else marked(fmt(s.target, kind), s.default, report.lang),
                    tr("campaign_review.col.status"): _status_text(report, s.status),
                    tr("campaign_review.col.rule"): rule,
                }
            )
            classes.append(STATUS_CLASS.get(s.status))
        report.show(
            pd.DataFrame(rows),
            classes={
                tr("campaign_review.col.status"): classes,
                tr("campaign_review.col.actual"): classes,
            },
        )
        report.say("campaign_review.scorecard_summary", met=r.targets_met, scored=r.targets_scored)
        for s in r.scorecard[r.scorecard["status"] == "not_proven"].itertuples():
            kind = KPI_FORMAT[s.kpi]
            report.say(
                "campaign_review.scorecard_not_proven",
                kpi=tr(f"campaign_review.kpi.{s.kpi}"),
                low=fmt(s.low, kind),
                high=fmt(s.high, kind),
                target=fmt(s.target, kind),
            )
        if r.numbers.get("participants_definition") == "members":
            report.say("campaign_review.participants_members")
