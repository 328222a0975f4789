"""Paths on the page: who they follow (and that the counts reconcile with the funnel), the
Sankey chart, what users did next, and the top paths."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.behaviour.analysis.behaviour import Behaviour
from opsbook.behaviour.analysis.paths import PathsResult
from opsbook.behaviour.view.names import duration_text, event_name, path_text
from opsbook.behaviour.view.sankey import sankey_chart, sankey_layout
from opsbook.formats import count_text, fmt
from opsbook.report import Report


def show_rules(report: Report, result: Behaviour) -> None:
    """How events became path nodes: cleaning rules, repeats, the session gap, "other"."""
    s = result.settings
    rules = s.rules
    report.say(
        "behaviour.paths.rules",
        gap=duration_text(report, rules.session_gap_seconds),
        repeats=report.t("behaviour.paths.repeats_" + ("on" if rules.collapse_repeats else "off")),
        min_users=fmt(s.min_users, "int"),
        other=event_name(report, "(other)"),
    )
    if rules.cleaning:
        report.say(
            "behaviour.paths.cleaning",
            rules="; ".join(f"{pattern} → {name}" for pattern, name in rules.cleaning),
        )


def show_dropoff(report: Report, result: Behaviour) -> None:
    """Where the users who left the first funnel at its biggest drop-off went instead."""
    drop = result.main.biggest_drop()
    paths = result.dropoff
    if paths is None or drop is None:
        report.say("behaviour.paths.no_dropoff")
        return
    steps = result.main.funnel.steps
    report.say(
        "behaviour.paths.dropoff_intro",
        users=fmt(paths.users, "int"),
        before=event_name(report, steps[drop["step"] - 1].event),
        after=event_name(report, steps[drop["step"]].event),
        steps=paths.steps,
    )
    if result.dropoff_reconciles():
        report.say("behaviour.paths.reconciled_dropoff", users=fmt(paths.users, "int"))
    else:
        report.say(
            "behaviour.paths.not_reconciled",
            paths=fmt(paths.users, "int"),
            funnel=fmt(drop["users"], "int"),
        )
    show_next(report, paths)


def show_anchor(report: Report, result: Behaviour) -> None:
    """Whose paths the anchored chart follows, and whether they start with the funnel's users."""
    paths = result.paths
    if paths is None:
        report.say("behaviour.paths.no_anchor")
        return
    report.say(
        f"behaviour.paths.anchor_{paths.direction}",
        users=fmt(paths.users, "int"),
        anchor=event_name(report, paths.anchor),
        steps=paths.steps,
    )
    if result.anchor_reconciles():
        report.say("behaviour.paths.reconciled_anchor", users=fmt(paths.users, "int"))


def paths_chart(report: Report, paths: PathsResult | None, title_key: str) -> Any:
    """The Sankey chart of ``paths`` (None without paths)."""
    if paths is None or paths.nodes.empty:
        return None
    boxes, bands = sankey_layout(paths.nodes, paths.transitions)
    return sankey_chart(
        boxes,
        bands,
        name=lambda e: event_name(report, e),
        users_label=lambda n: report.t("behaviour.chart.users", n=count_text(n, report.min_cell)),
        title=report.t(title_key, anchor=event_name(report, paths.anchor)),
        mirrored=paths.direction == "before",
    )


def show_next(report: Report, paths: PathsResult) -> None:
    """What the users did right after the anchor (or right before it): users and share."""
    tr = report.t
    after = paths.next_events()
    frame = pd.DataFrame(
        {
            tr("behaviour.col.next_" + paths.direction): [
                event_name(report, e) for e in after["target"]
            ],
            tr("behaviour.col.users"): after["users"].astype("int64"),
            tr("behaviour.col.share"): after["share"],
        }
    )
    report.show(
        frame,
        top=8,
        formats={tr("behaviour.col.users"): "int", tr("behaviour.col.share"): "pct"},
        min_cell=report.min_cell,
        count_columns=[tr("behaviour.col.users")],
    )


def show_top_paths(report: Report, paths: PathsResult | None, *, top: int = 10) -> None:
    """The most common whole paths (in time order) and their users."""
    if paths is None or paths.top.empty:
        return
    tr = report.t
    frame = pd.DataFrame(
        {
            tr("behaviour.col.path"): [path_text(report, p) for p in paths.top["path"]],
            tr("behaviour.col.users"): paths.top["users"].astype("int64"),
            tr("behaviour.col.share"): paths.top["users"] / max(paths.users, 1),
        }
    )
    report.show(
        frame,
        top=top,
        formats={tr("behaviour.col.users"): "int", tr("behaviour.col.share"): "pct"},
        min_cell=report.min_cell,
        count_columns=[tr("behaviour.col.users")],
    )
