"""Stickiness and lifecycle on the page: DAU/WAU/MAU and DAU/MAU against its target, active days
in the last 28, and the growth-accounting bars and table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from opsbook.formats import count_text
from opsbook.plots import PALETTE, STATUS_COLOURS, figure, integer_ticks, percent_ticks
from opsbook.retention.analysis import LifecycleResult, StickinessResult


def stickiness_chart(report: Any, stick: StickinessResult, target: float | None = None):
    """DAU, WAU, MAU (top) and DAU/MAU against its target (bottom)."""
    daily = stick.daily
    if daily.empty:
        return None
    fig, (top, bottom) = figure(9, 5.6, nrows=2, sharex=True)
    for i, name in enumerate(("dau", "wau", "mau")):
        top.plot(daily["date"], daily[name], lw=1.3, color=PALETTE[i], label=name.upper())
    top.set_title(report.t("retention.chart.actives"))
    top.legend(fontsize=8, loc="upper left")
    bottom.plot(daily["date"], daily["dau_mau"], lw=1.4, color=PALETTE[3], label="DAU/MAU")
    if target is not None:
        bottom.axhline(
            target,
            ls="--",
            lw=1,
            color=STATUS_COLOURS["green"],
            label=report.t("retention.chart.target", value=f"{target:.2f}"),
        )
    bottom.set_ylim(0, None)
    bottom.set_title(report.t("retention.chart.dau_mau"))
    bottom.legend(fontsize=8, loc="upper left")
    return fig


def active_days_chart(report: Any, stick: StickinessResult):
    """How many of the last 28 days each recently active user was active."""
    hist = stick.histogram
    if hist.empty or hist["users"].sum() == 0:
        return None
    fig, ax = figure(8, 3.2)
    ax.bar(hist["active_days"], hist["share"], color=PALETTE[0])
    ax.xaxis.set_major_locator(integer_ticks())
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel(report.t("retention.chart.active_days"))
    ax.set_ylabel(report.t("retention.chart.share_users"))
    ax.set_title(report.t("retention.chart.active_days_title"))
    return fig


def lifecycle_chart(report: Any, result: LifecycleResult, last: int = 26):
    """Stacked bars per period: new, retained, resurrected above zero, dormant below."""
    frame = result.frame.tail(last)
    if frame.empty:
        return None
    fig, ax = figure(9, 4)
    x = np.arange(len(frame))
    bottom = np.zeros(len(frame))
    for name, colour in (
        ("retained", PALETTE[0]),
        ("new", PALETTE[2]),
        ("resurrected", PALETTE[4]),
    ):
        ax.bar(x, frame[name], bottom=bottom, color=colour, label=report.t(f"retention.lc.{name}"))
        bottom += frame[name].to_numpy()
    ax.bar(
        x, -frame["dormant"], color=STATUS_COLOURS["red"], label=report.t("retention.lc.dormant")
    )
    ax.axhline(0, color="#555555", lw=0.8)
    step = max(1, len(frame) // 12)
    labels = [
        f"{d:%Y-%m-%d}" if result.period != "month" else f"{d:%Y-%m}" for d in frame["period_start"]
    ]
    ax.set_xticks(x[::step], labels[::step], rotation=30, ha="right", fontsize=8)
    ax.set_title(report.t("retention.chart.lifecycle"))
    ax.legend(fontsize=8, ncols=4, loc="upper left")
    return fig


def show_lifecycle(report: Any, result: LifecycleResult, last: int = 8) -> None:
    tr = report.t
    frame = result.frame.tail(last)
    if frame.empty:
        report.say("retention.empty")
        return
    cols = ["new", "retained", "resurrected", "dormant", "active"]
    shown = pd.DataFrame({tr("retention.col.period_start"): frame["period_start"]})
    # each count on its own: a small one shows as "<10" without hiding the rest of the row
    for c in cols:
        shown[tr(f"retention.lc.{c}")] = [count_text(v, report.min_cell) for v in frame[c]]
    shown[tr("retention.lc.quick_ratio")] = frame["quick_ratio"].to_numpy()
    report.show(shown, formats={tr("retention.lc.quick_ratio"): "float"})
