"""Revenue on the page: LTV curves per group with each channel's CAC, and the payback table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.formats import is_small
from opsbook.plots import PALETTE, figure, integer_ticks
from opsbook.retention.analysis import LtvResult
from opsbook.retention.view.groups import _drawn


def ltv_chart(
    report: Any, ltv: LtvResult, payback: pd.DataFrame | None = None, max_periods: int = 12
):
    """LTV curves (cumulative paid revenue per user by cohort age), per group; dashed lines at
    each channel's CAC when spend exists. Ages resting on fewer users than the privacy
    threshold are left out."""
    if ltv is None:
        return None
    curve = ltv.curve[ltv.curve["age"] <= max_periods]
    curve = curve[~curve["users"].map(lambda n: is_small(n, report.min_cell))]
    if curve.empty:
        return None
    fig, ax = figure(8, 4)
    grouped = "group" in curve.columns
    groups = [None]
    if grouped:
        drawn = set(_drawn(report, curve.groupby("group")["users"].max().to_dict()))
        groups = [g for g in dict.fromkeys(curve["group"]) if g in drawn]
    for i, group in enumerate(groups):
        part = curve if group is None else curve[curve["group"] == group]
        colour = PALETTE[i % len(PALETTE)]
        label = report.t("retention.chart.all") if group is None else str(group)
        ax.plot(part["age"], part["ltv"], marker="o", ms=3, color=colour, label=label)
        if payback is not None and not payback.empty and group in set(payback["channel"]):
            cac = float(payback.loc[payback["channel"] == group, "cac"].iloc[0])
            ax.axhline(cac, color=colour, ls="--", lw=0.9)
    ax.xaxis.set_major_locator(integer_ticks())
    ax.set_xlabel(report.t(f"retention.chart.age_{ltv.period}"))
    ax.set_ylabel(report.t("retention.chart.ltv"))
    ax.set_title(report.t("retention.chart.ltv_title"))
    ax.set_ylim(0, None)
    ax.legend(fontsize=8)
    return fig


def show_payback(report: Any, payback: pd.DataFrame, period: str) -> None:
    if payback is None or payback.empty:
        report.say("retention.no_spend")
        return
    tr = report.t
    shown = pd.DataFrame(
        {
            tr("retention.col.channel"): payback["channel"],
            tr("retention.col.spend"): payback["spend"],
            tr("retention.col.new_users"): payback["new_users"],
            tr("retention.col.cac"): payback["cac"],
            tr("retention.col.ltv_latest"): payback["ltv_latest"],
            tr("retention.col.payback"): [
                tr("retention.payback_none")
                if a is None or pd.isna(a)
                else tr(f"retention.unit.{period}", n=int(a))
                for a in payback["payback_age"]
            ],
        }
    )
    report.show(
        shown,
        formats={
            tr("retention.col.spend"): "money",
            tr("retention.col.cac"): "money",
            tr("retention.col.ltv_latest"): "money",
            tr("retention.col.new_users"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.new_users")],
    )
