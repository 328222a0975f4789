"""How often users come back: stickiness (DAU, WAU, MAU per local day, DAU/MAU, active days in
the last 28) and lifecycle growth accounting (new, retained, resurrected, dormant per period)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opsbook.retention.queries.active import check_event
from opsbook.retention.queries.engagement import (
    active_days_counts,
    lifecycle_counts,
    trailing_counts,
)
from opsbook.retention.queries.periods import (
    PERIODS,
    Period,
    _check,
    _src,
    period_start,
    resolve_as_of,
)


# ================================================================================ stickiness
@dataclass(frozen=True)
class StickinessResult:
    """``daily``: date, dau, wau, mau, dau_mau -- WAU/MAU = distinct actives in the trailing 7/30
    local days; dau_mau = mean DAU over those 30 days / MAU (NaN while fewer than 30 days of data
    lie behind a day). ``histogram``: active_days (1..28), users, share -- active days of each
    user active in the last 28 complete days."""

    daily: pd.DataFrame
    histogram: pd.DataFrame
    as_of: pd.Timestamp

    @property
    def latest(self) -> pd.Series | None:
        valid = self.daily.dropna(subset=["dau_mau"])
        return valid.iloc[-1] if not valid.empty else None

    @property
    def dau_mau(self) -> float | None:
        latest = self.latest
        return float(latest["dau_mau"]) if latest is not None else None

    def metrics(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "dau_mau": self.dau_mau,
            "date": None if latest is None else latest["date"].date().isoformat(),
            "dau": None if latest is None else int(latest["dau"]),
            "mau": None if latest is None else int(latest["mau"]),
        }


def stickiness(
    source: Any,
    *,
    as_of: Any = None,
    users: Any = None,
    return_event: str = "any",
    start: Any = None,
) -> StickinessResult:
    """DAU, WAU, MAU per complete local day up to ``as_of``; DAU/MAU (the KPI: mean daily
    actives over the trailing 30 days / distinct actives of those 30 days); and the histogram of
    active days among the last 28 complete days."""
    src = _src(source)
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    last = point.last_complete_day
    steps = trailing_counts(src, point, users=users, return_event=return_event, start=start)
    if steps.empty:
        empty = pd.DataFrame(columns=["date", "dau", "wau", "mau", "dau_mau"])
        hist = pd.DataFrame(columns=["active_days", "users", "share"])
        return StickinessResult(empty, hist, point.local)
    first = int(steps["d"].min())
    index = np.arange(first, last + 1)
    out = pd.DataFrame({"day": index})
    for name, width in (("dau", 1), ("wau", 7), ("mau", 30)):
        mine = steps[steps["w"] == width].groupby("d")["k"].sum()
        running = mine.reindex(np.arange(first, last + width + 1), fill_value=0).cumsum()
        out[name] = running.reindex(index).to_numpy().astype("int64")
    warm = out["day"] - first >= 29
    mean_dau = out["dau"].rolling(30, min_periods=30).mean()
    out["dau_mau"] = (mean_dau / out["mau"].where(out["mau"] > 0)).where(warm)
    out["date"] = [period_start(d, "day") for d in out["day"]]
    if start is not None:
        out = out[out["date"] >= pd.Timestamp(start)]
    daily = out[["date", "dau", "wau", "mau", "dau_mau"]].reset_index(drop=True)

    hist = active_days_counts(src, point, users=users, return_event=return_event)
    hist = (
        hist.rename(columns={"k": "active_days"})
        .set_index("active_days")
        .reindex(range(1, 29), fill_value=0)
        .reset_index()
    )
    total = hist["users"].sum()
    hist["share"] = hist["users"] / total if total else np.nan
    return StickinessResult(daily, hist, point.local)


# ================================================================================ lifecycle
@dataclass(frozen=True)
class LifecycleResult:
    """Growth accounting per period: new (signed up in the period), retained (active in the
    period and the one before), resurrected (active, not new, inactive in the period before),
    dormant (active in the period before, not in this one; shown negative in charts).
    active = new + retained + resurrected; quick_ratio = (new + resurrected) / dormant."""

    frame: pd.DataFrame
    period: str

    def metrics(self) -> dict[str, Any]:
        if self.frame.empty:
            return {}
        last = self.frame.iloc[-1]
        return {
            "period": self.period,
            "latest": last["period_start"].date().isoformat(),
            **{k: int(last[k]) for k in ("new", "retained", "resurrected", "dormant", "active")},
            "quick_ratio": None if pd.isna(last["quick_ratio"]) else float(last["quick_ratio"]),
        }


def lifecycle(
    source: Any,
    period: Period = "week",
    *,
    as_of: Any = None,
    users: Any = None,
    return_event: str = "any",
) -> LifecycleResult:
    """New, retained, resurrected and dormant users per complete local period. A user is active
    in a period with a ``return_event`` in it, and in the period of their signup."""
    src = _src(source)
    _check(period, PERIODS, "period")
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    last = point.last_complete(period)
    counts = lifecycle_counts(src, point, period, users=users, return_event=return_event)
    wide = counts.pivot_table(index="p", columns="status", values="k", fill_value=0)
    wide = wide.reindex(columns=["new", "retained", "resurrected", "dormant"], fill_value=0)
    wide = wide[wide.index <= last]
    if wide.empty:
        frame = pd.DataFrame(
            columns=[
                "period_start",
                "new",
                "retained",
                "resurrected",
                "dormant",
                "active",
                "quick_ratio",
            ]
        )
        return LifecycleResult(frame, period)
    index = np.arange(int(wide.index.min()), last + 1)
    wide = wide.reindex(index, fill_value=0).astype("int64")
    wide["active"] = wide["new"] + wide["retained"] + wide["resurrected"]
    wide["quick_ratio"] = (wide["new"] + wide["resurrected"]) / wide["dormant"].where(
        wide["dormant"] > 0
    )
    wide["period_start"] = [period_start(p, period) for p in wide.index]
    frame = wide.reset_index(drop=True)[
        ["period_start", "new", "retained", "resurrected", "dormant", "active", "quick_ratio"]
    ]
    return LifecycleResult(frame, period)
