"""The report's rates: D1/D7/D30 retention (the KPI) with Wilson intervals, pooled per cohort or
group and set against targets; first-order conversion and repeat purchase rate as typed results
with their counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opsbook.retention.queries.active import check_event
from opsbook.retention.queries.periods import PERIODS, _check, _src, period_label, resolve_as_of
from opsbook.retention.queries.rates import (
    day_n_counts,
    first_order_counts,
    repeat_purchase_counts,
)
from opsbook.stats import wilson_interval
from opsbook.targets import Targets, is_default


# ================================================================================ D1 / D7 / D30
def day_n_retention(
    source: Any,
    days: Iterable[int] = (1, 7, 30),
    *,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
    breakdown: str | None = None,
    cohort_period: str | None = None,
    return_event: str = "any",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """D-N retention (the KPI): the share of users active on local calendar day signup + N.

    Active = any event that local day (``return_event``). Only users whose day N has fully
    elapsed by ``as_of`` are eligible. Columns: [group,] [cohort,] day, eligible, retained, rate,
    low, high (Wilson interval at ``alpha``). ``cohort_period`` (day/week/month) adds one row per
    signup cohort; ``cohort_start``/``cohort_end`` bound the signups (local dates, inclusive)."""
    src = _src(source)
    days = sorted({int(d) for d in days})
    if not days or days[0] < 1:
        raise ValueError("days must be integers >= 1")
    if cohort_period is not None:
        _check(cohort_period, PERIODS, "cohort_period")
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    last_day = point.last_complete_day

    retained, per_day = day_n_counts(
        src,
        point,
        days,
        users=users,
        cohort_start=cohort_start,
        cohort_end=cohort_end,
        breakdown=breakdown,
        cohort_period=cohort_period,
        return_event=return_event,
    )

    rows = []
    for (grp, cohort), part in per_day.groupby(["grp", "cohort"]):
        for k in days:
            eligible = int(part.loc[part["sday"] + k <= last_day, "n"].sum())
            rows.append({"grp": grp, "cohort": cohort, "day": k, "eligible": eligible})
    frame = pd.DataFrame(rows, columns=["grp", "cohort", "day", "eligible"])
    frame = frame.merge(
        retained.rename(columns={"k": "day"}), on=["grp", "cohort", "day"], how="left"
    )
    frame["retained"] = frame["retained"].fillna(0).astype("int64")
    frame["eligible"] = frame["eligible"].astype("int64")
    frame["rate"] = frame["retained"] / frame["eligible"].where(frame["eligible"] > 0)
    low, high = wilson_interval(frame["retained"].to_numpy(), frame["eligible"].to_numpy(), alpha)
    frame["low"], frame["high"] = low, high
    frame = frame.sort_values(["grp", "cohort", "day"]).reset_index(drop=True)
    if cohort_period:
        frame["cohort"] = [period_label(c, cohort_period) for c in frame["cohort"]]
    else:
        frame = frame.drop(columns="cohort")
    if breakdown is None:
        frame = frame.drop(columns="grp")
    else:
        frame = frame.rename(columns={"grp": "group"})
    frame.attrs.update(as_of=point.local, return_event=return_event, timezone=src.timezone)
    return frame


def day_n_by(day_n: pd.DataFrame, by: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`day_n_retention` rows pooled over everything but ``by`` (``cohort``, ``group`` or
    None for overall): eligible and retained add up across disjoint groups of users, so one
    engine query with a breakdown and cohorts gives every view. Rates and Wilson intervals are
    recomputed; the result has the columns of a day_n_retention frame."""
    keys = ([by] if by else []) + ["day"]
    if by is not None and by not in day_n.columns:
        raise ValueError(f"day_n has no column {by!r}")
    frame = day_n.groupby(keys, sort=True)[["eligible", "retained"]].sum().reset_index()
    frame["rate"] = frame["retained"] / frame["eligible"].where(frame["eligible"] > 0)
    low, high = wilson_interval(frame["retained"].to_numpy(), frame["eligible"].to_numpy(), alpha)
    frame["low"], frame["high"] = low, high
    frame.attrs.update(day_n.attrs)
    return frame


def against_group_targets(day_n: pd.DataFrame, targets: Mapping[str, float]) -> pd.DataFrame:
    """D-N per group (pooled over cohorts) against each group's targets: its own where the user
    set them (``by_group``, :meth:`opsbook.targets.Targets.for_group`), else the overall ones.
    Columns: group, day, eligible, retained, rate, low, high, target, default, met."""
    if "group" not in day_n.columns or day_n.empty:
        return pd.DataFrame()
    pooled = day_n_by(day_n, "group")
    parts = [
        against_targets(part, targets.for_group(group) if isinstance(targets, Targets) else targets)
        for group, part in pooled.groupby("group", sort=True)
    ]
    return pd.concat(parts, ignore_index=True)


def against_targets(day_n: pd.DataFrame, targets: Mapping[str, float]) -> pd.DataFrame:
    """``day_n`` (overall rows) with the target of each day, whether it is the shipped default
    (nobody set it) and whether the rate meets it."""
    frame = day_n.copy()
    frame["target"] = [targets.get(f"d{d}", np.nan) for d in frame["day"]]
    frame["default"] = [is_default(targets, f"d{d}") for d in frame["day"]]
    frame["met"] = [
        bool(r >= t) if pd.notna(r) and pd.notna(t) else None
        for r, t in zip(frame["rate"], frame["target"], strict=True)
    ]
    return frame


# ================================================================================ rates
@dataclass(frozen=True)
class RateResult:
    """A proportion with its counts and Wilson interval, overall and per group.

    ``groups``: group, successes, n, rate, low, high (empty without a breakdown)."""

    name: str
    successes: int
    n: int
    low: float
    high: float
    definition: dict[str, Any]
    groups: pd.DataFrame
    breakdown: str | None = None  # the users column the groups are values of

    @property
    def value(self) -> float | None:
        return self.successes / self.n if self.n else None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "successes": self.successes,
                    "n": self.n,
                    "rate": self.value,
                    "low": self.low,
                    "high": self.high,
                }
            ]
        )

    def metrics(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "successes": self.successes,
            "n": self.n,
            "low": self.low,
            "high": self.high,
            **self.definition,
        }


def _rate(name: str, counts: pd.DataFrame, definition: dict, alpha: float, breakdown: str | None):
    """A RateResult from per-group ``grp, successes, n`` (groups: values of ``breakdown``)."""
    s, n = int(counts["successes"].sum()), int(counts["n"].sum())
    low, high = wilson_interval(s, n, alpha)
    groups = pd.DataFrame(columns=["group", "successes", "n", "rate", "low", "high"])
    if breakdown is not None and not counts.empty:
        groups = counts.rename(columns={"grp": "group"}).astype(
            {"successes": "int64", "n": "int64"}
        )
        groups["rate"] = groups["successes"] / groups["n"].where(groups["n"] > 0)
        g_low, g_high = wilson_interval(
            groups["successes"].to_numpy(), groups["n"].to_numpy(), alpha
        )
        groups["low"], groups["high"] = g_low, g_high
        groups = groups.sort_values("group").reset_index(drop=True)
    return RateResult(name, s, n, low, high, definition, groups, breakdown)


def first_order_conversion(
    source: Any,
    *,
    within_days: int = 30,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
    breakdown: str | None = None,
    alpha: float = 0.05,
) -> RateResult:
    """新用户首单转化率: new users with a paid order in [signup, signup + within_days x 24 h) /
    new users. Only users whose window has fully elapsed by ``as_of`` count; signups bounded by
    ``cohort_start``/``cohort_end`` (local dates, inclusive)."""
    src = _src(source)
    point = resolve_as_of(src, as_of)
    counts = first_order_counts(
        src,
        within_days=within_days,
        cohorts=[(cohort_start, cohort_end, point.local)],
        users=users,
        breakdown=breakdown,
    )
    definition = {
        "within_days": int(within_days),
        "cohort_start": _iso(cohort_start),
        "cohort_end": _iso(cohort_end),
        "as_of": _iso(point.local),
    }
    return _rate("first_order_conversion", counts, definition, alpha, breakdown)


def repeat_purchase_rate(
    source: Any,
    *,
    start: Any,
    end: Any,
    users: Any = None,
    breakdown: str | None = None,
    min_orders: int = 2,
    alpha: float = 0.05,
) -> RateResult:
    """老用户复购率: buyers of the window with >= ``min_orders`` paid orders / buyers of the
    window (at least one paid order). The window is [start, end], local dates inclusive."""
    if start is None or end is None:
        raise ValueError("repeat_purchase_rate needs the window: start and end (local dates)")
    counts = repeat_purchase_counts(
        source, windows=[(start, end)], users=users, breakdown=breakdown, min_orders=min_orders
    )
    definition = {"start": _iso(start), "end": _iso(end), "min_orders": int(min_orders)}
    return _rate("repeat_purchase_rate", counts, definition, alpha, breakdown)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
