"""Lifecycle stages (用户生命周期分层): the rule table with counts, shares and actions, the
shares as a chart, and the movement since the comparison date."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.formats import count_text, fmt
from opsbook.insight.analysis.lifecycle import Lifecycle
from opsbook.insight.view.names import action_text, stage_name
from opsbook.plots import category_colours, figure, percent_ticks
from opsbook.report import Report


def stage_colours(stages: Lifecycle) -> dict[str, str]:
    """One colour per stage, the same in every chart of the page."""
    return category_colours(stages.stages["stage"])


def show_stages(report: Report, stages: Lifecycle) -> None:
    """The rule table: stage, rule (in the order checked), users, share, recommended action."""
    report.say(
        "insight.lifecycle.intro", as_of=stages.as_of.isoformat(), users=fmt(stages.users, "int")
    )
    if not stages.high_value_available:
        report.say("insight.lifecycle.no_orders")
    tr = report.t
    rows = [
        {
            tr("insight.col.stage"): stage_name(report, row["stage"]),
            tr("insight.col.rule"): tr(row["rule"], **row["fields"]),
            tr("insight.col.users"): int(row["users"]),
            tr("insight.col.share"): row["share"],
            tr("insight.col.action"): action_text(report, row["action"]),
        }
        for row in stages.stages.to_dict("records")
    ]
    report.show(
        pd.DataFrame(rows),
        formats={tr("insight.col.users"): "int", tr("insight.col.share"): "pct"},
        min_cell=report.min_cell,
        count_columns=[tr("insight.col.users")],
    )


def stages_chart(report: Report, stages: Lifecycle) -> Any:
    """Each stage's share of users (the table's share column), one colour per stage."""
    frame = stages.stages.iloc[::-1]  # the first rule on top
    colours = stage_colours(stages)
    fig, ax = figure(8, 3.6)
    ax.barh(
        [stage_name(report, s) for s in frame["stage"]],
        frame["share"].fillna(0),
        color=[colours[s] for s in frame["stage"]],
    )
    ax.xaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel(report.t("insight.chart.share_of_users"))
    ax.set_title(report.t("insight.chart.stages_title"))
    return fig


def show_transitions(report: Report, stages: Lifecycle) -> None:
    """Users per stage on ``compare_to`` (rows) and ``as_of`` (columns); small cells suppressed
    one by one (a matrix row holds independent groups)."""
    report.say(
        "insight.lifecycle.transitions",
        compare_to=stages.compare_to.isoformat(),
        as_of=stages.as_of.isoformat(),
        min_cell=report.min_cell,
    )
    matrix = stages.transitions
    shown = pd.DataFrame(
        {
            stage_name(report, after): [
                count_text(n, report.min_cell) for n in matrix[after].to_numpy()
            ]
            for after in matrix.columns
        }
    )
    before = report.t("insight.col.before", date=stages.compare_to.isoformat())
    shown.insert(0, before, [stage_name(report, s) for s in matrix.index])
    report.show(shown)
