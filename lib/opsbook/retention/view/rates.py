"""The rates on the page: D1/D7/D30 against their targets, D-N per cohort or group, first-order
conversion and repeat purchase with their counts and Wilson intervals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from opsbook.formats import STATUS_CLASS, count_text, fmt, is_small
from opsbook.retention.analysis import RateResult, against_group_targets, day_n_by
from opsbook.retention.view.groups import MAX_ROWS, group_name
from opsbook.targets import is_default, marked


def _ci_text(report: Any, low: Any, high: Any, *counts: Any) -> str:
    """A Wilson interval as text, or a dash where it is undefined or rests on a small group."""
    if low is None or pd.isna(low) or any(is_small(n, report.min_cell) for n in counts):
        return "—"
    return f"{low:.1%} – {high:.1%}"


def show_day_n(report: Any, day_n: pd.DataFrame) -> None:
    """D1/D7/D30 overall: eligible, retained, rate, Wilson interval, target, met."""
    tr = report.t
    frame = day_n.copy()
    status = [
        STATUS_CLASS["green"] if m else (STATUS_CLASS["red"] if m is False else "")
        for m in frame.get("met", [None] * len(frame))
    ]
    shown = pd.DataFrame(
        {
            tr("retention.col.kpi"): [tr("retention.kpi.dn", n=int(d)) for d in frame["day"]],
            tr("retention.col.eligible"): frame["eligible"],
            tr("retention.col.retained"): frame["retained"],
            tr("retention.col.rate"): frame["rate"],
            tr("retention.col.ci"): [
                _ci_text(report, lo, hi, n, k)
                for lo, hi, n, k in zip(
                    frame["low"], frame["high"], frame["eligible"], frame["retained"], strict=True
                )
            ],
        }
    )
    if "target" in frame.columns:
        shown[tr("retention.col.target")] = [
            marked(fmt(v, "pct"), default, report.lang)
            for v, default in zip(frame["target"], frame["default"], strict=True)
        ]
        shown[tr("retention.col.met")] = [
            "—" if m is None else tr("core.yes") if m else tr("core.no") for m in frame["met"]
        ]
    report.show(
        shown,
        formats={
            tr("retention.col.rate"): "pct",
            tr("retention.col.eligible"): "int",
            tr("retention.col.retained"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.eligible"), tr("retention.col.retained")],
        classes={tr("retention.col.rate"): status, tr("retention.col.met"): status},
    )


def show_day_n_by(
    report: Any,
    day_n: pd.DataFrame,
    by: str,
    last: int = 26,
    top: int | None = None,
    breakdown: str | None = None,
    targets: Mapping[str, float] | None = None,
) -> None:
    """D-N per cohort or per group (``by``), pooled from a :func:`day_n_retention` frame that
    has that column: one row per value, a rate and its eligible users per day. A cell with no
    eligible user is a dash, not 0 %; one with fewer than the privacy threshold shows "<10"
    users and no rate. Cohorts: the ``last`` most recent; groups: the MAX_ROWS largest. With
    ``top``, the first ``top`` rows show and the rest fold away; ``breakdown``: the users column
    the groups are values of, for their display names. With ``targets``, each group's rates are
    coloured against its targets (its own, :func:`against_group_targets`, else the overall
    ones) and a column names the targets a group has of its own."""
    tr = report.t
    if by not in day_n.columns or day_n.empty:
        return
    pooled = day_n_by(day_n, by)
    if by == "cohort":
        keep = sorted(pooled["cohort"].unique())[-last:]
    else:  # the largest groups first
        sizes = pooled.groupby(by)["eligible"].max().reset_index()
        keep = sizes.sort_values(["eligible", by], ascending=[False, True])[by].tolist()[:MAX_ROWS]
    pooled = pooled[pooled[by].isin(keep)]
    judged = (
        against_group_targets(day_n, targets).set_index(["group", "day"])
        if targets is not None and by == "group"
        else None
    )
    own = getattr(targets, "groups", {}) if judged is not None else {}
    rows, classes = [], {}
    for key in keep:
        part = pooled[pooled[by] == key]
        row = {
            tr(f"retention.col.{by}"): key if by == "cohort" else group_name(report, breakdown, key)
        }
        for r in part.itertuples():
            small = is_small(r.eligible, report.min_cell)
            row[tr("retention.kpi.dn", n=int(r.day))] = np.nan if small else r.rate
            row[tr("retention.col.n_dn", n=int(r.day))] = count_text(r.eligible, report.min_cell)
            if judged is not None:
                met = None if small else judged.loc[(key, r.day), "met"]
                status = {True: "green", False: "red"}.get(met)
                classes.setdefault(tr("retention.kpi.dn", n=int(r.day)), []).append(
                    STATUS_CLASS[status] if status else ""
                )
        if own:
            mine = own.get(str(key), {})
            row[tr("retention.col.own_target")] = (
                " · ".join(
                    f"{tr('retention.kpi.dn', n=int(k[1:]))} {fmt(v, 'pct')}"
                    for k, v in mine.items()
                    if k in ("d1", "d7", "d30")
                )
                or "—"
            )
        rows.append(row)
    days = sorted(pooled["day"].unique())
    report.show(
        pd.DataFrame(rows),
        top=top,
        formats={tr("retention.kpi.dn", n=int(d)): "pct" for d in days},
        classes=classes or None,
    )


def show_rates(
    report: Any,
    conversion: RateResult | None,
    repeat: RateResult | None,
    targets: Mapping[str, float],
) -> None:
    """First-order conversion and repeat purchase rate against their targets, with windows."""
    tr = report.t
    rows, status = [], []
    for key, rate in (("first_order_conversion", conversion), ("repeat_purchase_rate", repeat)):
        if rate is None:
            continue
        d = rate.definition
        window = (
            tr("retention.window_first_order", days=d["within_days"])
            if key == "first_order_conversion"
            else tr("retention.window_repeat", start=d["start"], end=d["end"])
        )
        met = None if rate.value is None else rate.value >= targets[key]
        status.append(
            STATUS_CLASS["green"] if met else (STATUS_CLASS["red"] if met is False else "")
        )
        rows.append(
            {
                tr("retention.col.kpi"): tr(f"retention.kpi.{key}"),
                tr("retention.col.definition"): window,
                tr("retention.col.denominator"): rate.n,
                tr("retention.col.numerator"): rate.successes,
                tr("retention.col.rate"): rate.value,
                tr("retention.col.ci"): _ci_text(
                    report, rate.low, rate.high, rate.n, rate.successes
                ),
                tr("retention.col.target"): marked(
                    fmt(targets[key], "pct"), is_default(targets, key), report.lang
                ),
                tr("retention.col.met"): "—"
                if met is None
                else tr("core.yes" if met else "core.no"),
            }
        )
    if not rows:
        report.say("retention.no_orders")
        return
    report.show(
        pd.DataFrame(rows),
        formats={
            tr("retention.col.rate"): "pct",
            tr("retention.col.denominator"): "int",
            tr("retention.col.numerator"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.denominator")],
        classes={tr("retention.col.rate"): status, tr("retention.col.met"): status},
    )


def show_rate_groups(report: Any, rate: RateResult) -> None:
    """A rate per breakdown group (the MAX_ROWS largest groups)."""
    if rate is None or rate.groups.empty:
        return
    tr = report.t
    g = rate.groups.sort_values(["n", "group"], ascending=[False, True]).head(MAX_ROWS)
    shown = pd.DataFrame(
        {
            tr("retention.col.group"): [group_name(report, rate.breakdown, v) for v in g["group"]],
            tr("retention.col.denominator"): g["n"],
            tr("retention.col.numerator"): g["successes"],
            tr("retention.col.rate"): g["rate"],
            tr("retention.col.ci"): [
                _ci_text(report, lo, hi, n, k)
                for lo, hi, n, k in zip(g["low"], g["high"], g["n"], g["successes"], strict=True)
            ],
        }
    )
    report.show(
        shown,
        formats={
            tr("retention.col.rate"): "pct",
            tr("retention.col.denominator"): "int",
            tr("retention.col.numerator"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.denominator"), tr("retention.col.numerator")],
    )
