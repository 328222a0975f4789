"""Revenue on the page: LTV curves per group with each channel's CAC, and the payback table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from opsbook.formats import fmt, is_small
from opsbook.plots import PALETTE, figure, integer_ticks
from opsbook.retention.analysis import LtvResult
from opsbook.retention.view.groups import _drawn, colour_of, group_name


def ltv_chart(
    report: Any,
    ltv: LtvResult,
    payback: pd.DataFrame | None = None,
    max_periods: int = 12,
    colours: Mapping[str, str] | None = None,
):
    """LTV curves (cumulative paid revenue per user by cohort age), per group in its colour of
    ``colours``; a dashed line at each drawn channel's CAC, labelled, when spend exists (the
    title mentions them only then). Ages resting on fewer users than the privacy threshold are
    left out."""
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
    cac_of = (
        {}
        if payback is None or payback.empty
        else dict(zip(payback["channel"], payback["cac"], strict=True))
    )
    dashed = False
    for i, group in enumerate(groups):
        part = curve if group is None else curve[curve["group"] == group]
        colour = PALETTE[0] if group is None else colour_of(colours or {}, group, i)
        label = (
            report.t("retention.chart.all")
            if group is None
            else group_name(report, ltv.breakdown, group)
        )
        ax.plot(part["age"], part["ltv"], marker="o", ms=3, color=colour, label=label)
        cac = cac_of.get(group)
        if cac is not None and pd.notna(cac):
            ax.axhline(cac, color=colour, ls="--", lw=1.4)
            ax.annotate(
                report.t("retention.chart.cac", channel=label, cac=fmt(cac, "money")),
                (1.0, cac),
                xycoords=("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color=colour,
            )
            dashed = True
    ax.xaxis.set_major_locator(integer_ticks())
    ax.set_xlabel(report.t(f"retention.chart.age_{ltv.period}"))
    ax.set_ylabel(report.t("retention.chart.ltv"))
    ax.set_title(report.t("retention.chart.ltv_title" if dashed else "retention.chart.ltv_plain"))
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
            tr("retention.col.channel"): [
                group_name(report, "channel", c) for c in payback["channel"]
            ],
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
