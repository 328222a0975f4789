"""The 8 segments and 4 tiers: who is in each, what they bring, the tier rules and actions,
and the Pareto check."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from opsbook.errors import InputError
from opsbook.formats import fmt
from opsbook.plots import PALETTE, figure, percent_ticks
from opsbook.report import Report
from opsbook.segmentation.analysis.segments import TIERS, Segmentation

REPORT = "segmentation"


def _name(report: Report, kind: str, value: str) -> str:
    return report.t(f"segmentation.{kind}.{value}")


def tier_actions(report: Report, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The recommended action per tier: i18n defaults, then ``overrides`` (the notebook's
    ``actions`` parameter, else the config's ``reports.segmentation.actions``), each a text or a
    ``{zh: ..., en: ...}`` mapping."""
    given = overrides
    if given is None:
        given = report.config.report_defaults(REPORT).get("actions")
    given = dict(given or {})
    unknown = sorted(set(given) - set(TIERS))
    if unknown:
        raise InputError(
            "segmentation.error.actions", unknown=", ".join(unknown), valid=", ".join(TIERS)
        )
    out = {}
    for tier in TIERS:
        text = given.get(tier)
        if isinstance(text, Mapping):
            text = text.get(report.lang) or next(iter(text.values()), None)
        out[tier] = str(text) if text else report.t(f"segmentation.action.{tier}")
    return out


def _profile_table(report: Report, result: Segmentation, frame: pd.DataFrame, key: str, kind: str):
    """Customers, revenue and mean R/F/M per group: counts as integers, recency in whole days,
    money in the source's amounts. Revenue per customer is shown only when M is not already it
    (M = the mean paid amount per order, ``monetary="mean"``)."""
    tr = report.t
    shown = frame.assign(**{key: [_name(report, kind, v) for v in frame[key]]})
    columns = {
        key: tr(f"segmentation.col.{kind}"),
        "customers": tr("segmentation.col.customers"),
        "share": tr("segmentation.col.share"),
        "revenue": tr("segmentation.col.revenue"),
        "revenue_share": tr("segmentation.col.revenue_share"),
        "mean_recency": tr("segmentation.col.mean_recency"),
        "mean_frequency": tr("segmentation.col.mean_frequency"),
        "mean_monetary": tr(f"segmentation.col.mean_monetary_{result.settings.monetary}"),
        "revenue_per_customer": tr("segmentation.col.revenue_per_customer"),
    }
    if result.settings.monetary == "total":  # mean M is revenue per customer: one column
        del columns["revenue_per_customer"]
    formats = {
        columns["customers"]: "int",
        columns["share"]: "pct",
        columns["revenue"]: "money",
        columns["revenue_share"]: "pct",
        columns["mean_recency"]: "int",
        columns["mean_frequency"]: "dec1",
        columns["mean_monetary"]: "money",
    }
    if "revenue_per_customer" in columns:
        formats[columns["revenue_per_customer"]] = "money"
    report.show(
        shown[list(columns)].rename(columns=columns),
        formats=formats,
        min_cell=report.min_cell,
        count_columns=[columns["customers"]],
    )


def show_segment_profile(report: Report, result: Segmentation) -> None:
    _profile_table(report, result, result.segments, "segment", "seg")


def show_tier_profile(report: Report, result: Segmentation) -> None:
    _profile_table(report, result, result.tiers, "tier", "tier")


def show_tier_rules(
    report: Report, result: Segmentation, actions: Mapping[str, Any] | None = None
) -> None:
    """The 4-tier rules as a table (in the order they are applied) with each tier's action."""
    r = result.settings.tier_rules
    k = result.settings.k
    fields = {
        "churn_days": r.churn_days,
        "active_days": r.active_days,
        "min_m": r.high_value_min_m,
        "min_f": r.high_value_min_f,
        "k": k,
    }
    todo = tier_actions(report, actions)
    tr = report.t
    order = ("churned", "high_value", "potential", "low_activity")
    rows = [
        {
            tr("segmentation.col.order"): i,
            tr("segmentation.col.tier"): _name(report, "tier", tier),
            tr("segmentation.col.rule"): tr(f"segmentation.rule.{tier}", **fields),
            tr("segmentation.col.action"): todo[tier],
        }
        for i, tier in enumerate(order, start=1)
    ]
    report.show(pd.DataFrame(rows))
    report.say("segmentation.rules.first_match")


def show_pareto(report: Report, result: Segmentation) -> None:
    share = result.top20_revenue_share
    if share is None:
        report.say("segmentation.pareto.none")
        return
    hv = result.tiers.set_index("tier").loc["high_value"]
    report.say(
        "segmentation.pareto.text",
        share=fmt(share, "pct"),
        top=fmt(math.ceil(0.2 * result.customers), "int"),
        verdict=_pareto_verdict(report, share),
    )
    if hv["customers"] >= report.min_cell:
        report.say(
            "segmentation.pareto.high_value",
            share=fmt(hv["share"], "pct"),
            revenue=fmt(hv["revenue_share"], "pct"),
        )


def _pareto_verdict(report: Report, share: float) -> str:
    return report.t("segmentation.pareto.holds" if share >= 0.8 else "segmentation.pareto.weaker")


def size_vs_revenue_chart(report: Report, result: Segmentation, kind: str = "segment"):
    """Customer share vs revenue share per segment (or tier): who brings the money."""
    frame = result.segments if kind == "segment" else result.tiers
    key = "segment" if kind == "segment" else "tier"
    labels = [_name(report, "seg" if kind == "segment" else "tier", v) for v in frame[key]]
    small = (frame["customers"] > 0) & (frame["customers"] < report.min_cell)
    share = frame["share"].where(~small, 0).fillna(0).to_numpy()
    revenue = frame["revenue_share"].where(~small, 0).fillna(0).to_numpy()
    fig, ax = figure(8.5, 0.45 * len(frame) + 1.6)
    y = np.arange(len(frame))[::-1]
    ax.barh(y + 0.2, share, height=0.4, color=PALETTE[0], label=report.t("segmentation.col.share"))
    ax.barh(
        y - 0.2,
        revenue,
        height=0.4,
        color=PALETTE[1],
        label=report.t("segmentation.col.revenue_share"),
    )
    for yi, s, r, hidden in zip(y, share, revenue, small, strict=True):
        if hidden:
            ax.text(0.005, yi, f"<{report.min_cell}", va="center", fontsize=8, color="#666666")
            continue
        ax.text(s, yi + 0.2, f" {s:.0%}", va="center", fontsize=8)
        ax.text(r, yi - 0.2, f" {r:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, max(0.1, float(max(share.max(initial=0), revenue.max(initial=0)))) * 1.15)
    ax.xaxis.set_major_formatter(percent_ticks(0))
    ax.set_title(report.t(f"segmentation.chart.size_vs_revenue_{kind}"))
    ax.legend(loc="lower right", fontsize=8)
    return fig
