"""Revenue per cohort: LTV curves (cumulative paid revenue per user by cohort age) and CAC with
its payback per acquisition channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opsbook.retention.queries.periods import (
    PERIODS,
    Period,
    _check,
    _src,
    period_label,
    period_start,
    resolve_as_of,
)
from opsbook.retention.queries.revenue import channel_signups, ltv_counts, spend_totals


@dataclass(frozen=True)
class LtvResult:
    """Cumulative paid revenue per user by cohort age (calendar periods since signup).

    ``cells``: [group,] cohort, cohort_start, age, users, revenue (in that age), cumulative, ltv
    (cumulative / users); only ages that have fully elapsed. ``curve``: [group,] age, cohorts,
    users, revenue_per_user, ltv -- revenue_per_user is the revenue at that age / users, pooled
    over the cohorts complete at that age, and ltv its running sum, so the curve never falls
    when older ages rest on fewer cohorts."""

    cells: pd.DataFrame
    curve: pd.DataFrame
    period: str
    breakdown: str | None = None  # the users column the groups are values of

    def ltv_at(self, age: int, group: str | None = None) -> float | None:
        curve = self.curve
        if group is not None and "group" in curve.columns:
            curve = curve[curve["group"] == group]
        row = curve[curve["age"] == age]
        return float(row["ltv"].iloc[0]) if not row.empty else None


def ltv_curves(
    source: Any,
    *,
    period: Period = "month",
    breakdown: str | None = None,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
) -> LtvResult:
    """LTV (用户生命周期价值): cumulative paid revenue per user of each signup cohort at age N
    (N = local calendar periods since the signup period; orders before signup are ignored)."""
    src = _src(source)
    _check(period, PERIODS, "period")
    point = resolve_as_of(src, as_of)
    sizes, revenue = ltv_counts(
        src,
        point,
        period,
        breakdown=breakdown,
        users=users,
        cohort_start=cohort_start,
        cohort_end=cohort_end,
    )
    last = point.last_complete(period)
    columns = ["grp", "cohort", "age", "users", "revenue", "cumulative", "ltv", "complete"]
    if sizes.empty:
        cells = pd.DataFrame(columns=columns)
    else:
        sizes = sizes.astype({"cohort": "int64"})
        ages = pd.DataFrame({"age": np.arange(0, max(last - int(sizes["cohort"].min()), 0) + 1)})
        cells = sizes.merge(ages, how="cross").merge(
            revenue.astype({"cohort": "int64", "age": "int64"}),
            on=["grp", "cohort", "age"],
            how="left",
        )
        cells["revenue"] = cells["revenue"].fillna(0.0)
        cells = cells.sort_values(["grp", "cohort", "age"])
        cells["cumulative"] = cells.groupby(["grp", "cohort"])["revenue"].cumsum()
        cells["complete"] = cells["cohort"] + cells["age"] <= last
        cells = cells[cells["complete"]].copy()
        cells["ltv"] = cells["cumulative"] / cells["users"]
    curve = (
        cells.groupby(["grp", "age"])
        .agg(cohorts=("cohort", "size"), users=("users", "sum"), revenue=("revenue", "sum"))
        .reset_index()
        .sort_values(["grp", "age"])
    )
    curve["revenue_per_user"] = curve["revenue"] / curve["users"]
    curve["ltv"] = curve.groupby("grp")["revenue_per_user"].cumsum()
    curve = curve[["grp", "age", "cohorts", "users", "revenue_per_user", "ltv"]]
    cells = cells.assign(
        cohort_start=[period_start(c, period) for c in cells["cohort"]],
        cohort=[period_label(c, period) for c in cells["cohort"]],
    )[["grp", "cohort", "cohort_start", "age", "users", "revenue", "cumulative", "ltv"]]
    frames = [cells.reset_index(drop=True), curve]
    if breakdown is None:
        frames = [f.drop(columns="grp") for f in frames]
    else:
        frames = [f.rename(columns={"grp": "group"}) for f in frames]
    return LtvResult(frames[0], frames[1], period, breakdown)


def cac_payback(source: Any, ltv: LtvResult, *, channel: str = "channel") -> pd.DataFrame:
    """CAC and its payback per acquisition channel with spend.

    CAC = spend of the channel over the spend table's dates / users of that channel who signed
    up on those (local) dates. Payback = the first cohort age at which the channel's LTV (gross
    paid revenue per user, not margin) reaches the CAC; None when not yet reached.
    ``ltv`` must be broken down by ``channel``. Columns: channel, spend, new_users, cac,
    ltv_latest, age_latest, payback_age."""
    src = _src(source)
    columns = ["channel", "spend", "new_users", "cac", "ltv_latest", "age_latest", "payback_age"]
    if not src.has("spend") or "group" not in ltv.curve.columns:
        return pd.DataFrame(columns=columns)
    totals = spend_totals(src)
    rows = []
    for row in totals.itertuples():
        if pd.isna(row.first):
            continue
        new_users = channel_signups(src, channel, row.channel, row.first, row.last)
        cac = float(row.spend) / new_users if new_users else np.nan
        curve = ltv.curve[ltv.curve["group"] == str(row.channel)].sort_values("age")
        reached = curve[curve["ltv"] >= cac] if np.isfinite(cac) else curve.iloc[0:0]
        rows.append(
            {
                "channel": str(row.channel),
                "spend": float(row.spend),
                "new_users": new_users,
                "cac": cac,
                "ltv_latest": float(curve["ltv"].iloc[-1]) if not curve.empty else np.nan,
                "age_latest": int(curve["age"].iloc[-1]) if not curve.empty else None,
                "payback_age": int(reached["age"].iloc[0]) if not reached.empty else None,
            }
        )
    return pd.DataFrame(rows, columns=columns)
