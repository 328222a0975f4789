"""Key actions (关键行为) on the page: the ranked table -- share of new users above each
threshold, their retention against the others', the difference with its interval, precision,
recall, correlation -- under the plain warning that this is correlation, not cause."""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML, display

from opsbook.behaviour.analysis.behaviour import Behaviour
from opsbook.behaviour.view.names import event_name
from opsbook.formats import callout_html, fmt, interval_text
from opsbook.report import Report


def action_text(report: Report, event: str, threshold: int, first_days: int) -> str:
    """ "view_item at least 3 times in the first 3 days"."""
    return report.t(
        "behaviour.actions.action",
        event=event_name(report, event),
        n=int(threshold),
        days=int(first_days),
    )


def show_actions(report: Report, result: Behaviour, *, top: int = 10) -> None:
    """The ranked key actions (each event's thresholds with enough users on both sides, by
    correlation with staying), the warning first."""
    found = result.actions
    if found is None:
        report.say("behaviour.actions.no_users")
        return
    display(HTML(callout_html(report.t("behaviour.actions.warning"), "amber")))
    report.say(
        "behaviour.actions.intro",
        days=found.first_days,
        day=found.day,
        users=fmt(int(found.ranked["users"].iloc[0]) if len(found.ranked) else 0, "int"),
    )
    ranked = found.ranked
    if ranked.empty:
        report.say("behaviour.actions.none")
        return
    tr = report.t
    frame = pd.DataFrame(
        {
            tr("behaviour.col.action"): [
                action_text(report, e, t, found.first_days)
                for e, t in zip(ranked["event"], ranked["threshold"], strict=True)
            ],
            tr("behaviour.col.share_users"): ranked["share"],
            tr("behaviour.col.retention_with", day=found.day): ranked["retention_with"],
            tr("behaviour.col.retention_without", day=found.day): ranked["retention_without"],
            tr("behaviour.col.diff"): ranked["diff"],
            tr("behaviour.col.diff_interval"): [
                interval_text(lo, hi, "pp")
                for lo, hi in zip(ranked["diff_low"], ranked["diff_high"], strict=True)
            ],
            tr("behaviour.col.recall"): ranked["recall"],
            tr("behaviour.col.correlation"): ranked["correlation"],
        }
    )
    report.show(
        frame,
        top=top,
        formats={
            tr("behaviour.col.share_users"): "pct",
            tr("behaviour.col.retention_with", day=found.day): "pct",
            tr("behaviour.col.retention_without", day=found.day): "pct",
            tr("behaviour.col.diff"): "pp",
            tr("behaviour.col.recall"): "pct",
            tr("behaviour.col.correlation"): "dec2",
        },
    )
