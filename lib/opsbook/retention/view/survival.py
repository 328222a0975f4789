"""Churn survival on the page: Kaplan–Meier curves with their intervals, the medians per group
and the log-rank sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from opsbook.formats import is_small
from opsbook.plots import figure, percent_ticks
from opsbook.retention.analysis import SurvivalResult
from opsbook.retention.view.groups import MAX_ROWS, _drawn, colour_of, group_name


def survival_chart(report: Any, result: SurvivalResult, colours: Mapping[str, str] | None = None):
    """Kaplan–Meier curves of lifetime (share of users not yet churned) with their intervals,
    each group in its colour of ``colours`` (the retention curves' colours), all users in grey."""
    curves = result.curves
    if curves.empty:
        return None
    fig, ax = figure(8, 4)
    sizes = result.summary.set_index("group")["users"].to_dict()
    drawn = set(_drawn(report, {g: n for g, n in sizes.items() if g != "all"}))
    drawn |= {"all"} if not is_small(sizes.get("all", 0), report.min_cell) else set()
    for i, group in enumerate(dict.fromkeys(curves["group"])):
        if group not in drawn:
            continue
        part = curves[curves["group"] == group]
        colour = "#333333" if group == "all" else colour_of(colours or {}, group, i)
        label = (
            report.t("retention.chart.all")
            if group == "all"
            else group_name(report, result.breakdown, group)
        )
        times = np.concatenate([[0.0], part["time"].to_numpy()])
        surv = np.concatenate([[1.0], part["survival"].to_numpy()])
        ax.step(
            times, surv, where="post", color=colour, lw=1.5 if group == "all" else 1.1, label=label
        )
        ax.fill_between(
            part["time"], part["low"], part["high"], step="post", color=colour, alpha=0.12, lw=0
        )
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel(report.t("retention.chart.lifetime_days"))
    ax.set_ylabel(report.t("retention.chart.surviving"))
    ax.set_title(report.t("retention.chart.survival", days=result.churn_days))
    ax.legend(fontsize=8)
    return fig


def show_survival(report: Any, result: SurvivalResult) -> None:
    tr = report.t
    s = result.summary
    if s.empty:
        report.say("retention.empty")
        return
    # all users first, then the largest groups
    groups = s[s["group"] != "all"].sort_values(["users", "group"], ascending=[False, True])
    s = pd.concat([s[s["group"] == "all"], groups.head(MAX_ROWS)], ignore_index=True)
    shown = pd.DataFrame(
        {
            tr("retention.col.group"): [
                tr("retention.chart.all") if g == "all" else group_name(report, result.breakdown, g)
                for g in s["group"]
            ],
            tr("retention.col.users"): s["users"],
            tr("retention.col.churned"): s["churned"],
            tr("retention.col.censored"): s["censored"],
            tr("retention.col.median_lifetime"): [
                tr("retention.median_not_reached") if not np.isfinite(m) else f"{m:.0f}"
                for m in s["median_lifetime"]
            ],
        }
    )
    report.show(
        shown,
        formats={
            tr("retention.col.users"): "int",
            tr("retention.col.churned"): "int",
            tr("retention.col.censored"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.users")],
    )
    if result.logrank is not None:
        lr = result.logrank
        report.say(
            "retention.logrank",
            chi2=f"{lr.statistic:.2f}",
            df=lr.df,
            p=f"{lr.p_value:.3g}",
            verdict=tr(
                "retention.logrank_differ" if lr.p_value < 0.05 else "retention.logrank_same"
            ),
        )
