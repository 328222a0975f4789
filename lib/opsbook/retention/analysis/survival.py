"""Churn as survival: Kaplan–Meier curves of user lifetime per group, median lifetimes, and the
log-rank test between the groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opsbook.retention.queries.active import check_event
from opsbook.retention.queries.periods import _src, resolve_as_of
from opsbook.retention.queries.survival import churn_counts
from opsbook.stats.survival import LogRankResult, kaplan_meier, logrank_test, median_survival


@dataclass(frozen=True)
class SurvivalResult:
    """Time to churn per group (Kaplan–Meier) and the log-rank test between the groups.

    Lifetime = days from the signup day to the last active day; churned = no activity for
    ``churn_days`` complete days after it by ``as_of``; users not churned are censored at
    (last complete day - churn_days - signup day), what the churn rule can know of them
    (users who signed up fewer than ``churn_days`` days ago are not yet at risk and left out).
    ``counts``: [group,] duration, event, users (the engine's aggregate). ``curves``: group plus
    the :func:`kaplan_meier` columns. ``summary``: group, users, churned, censored,
    median_lifetime (days; inf if over half are still active)."""

    counts: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    logrank: LogRankResult | None
    churn_days: int
    breakdown: str | None

    def metrics(self) -> dict[str, Any]:
        overall = self.summary[self.summary["group"] == "all"]
        return {
            "churn_days": self.churn_days,
            "median_lifetime_days": (
                float(overall["median_lifetime"].iloc[0]) if not overall.empty else None
            ),
            "logrank_p": None if self.logrank is None else self.logrank.p_value,
        }


def churn_survival(
    source: Any,
    *,
    churn_days: int = 30,
    breakdown: str | None = None,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
    return_event: str = "any",
    alpha: float = 0.05,
) -> SurvivalResult:
    """Churn as survival: Kaplan–Meier curves of lifetime per group, medians, and log-rank.
    The engine returns counts per (group, duration, event); see :class:`SurvivalResult`."""
    src = _src(source)
    churn_days = int(churn_days)
    if churn_days < 1:
        raise ValueError("churn_days must be >= 1")
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    counts = churn_counts(
        src,
        point,
        churn_days,
        breakdown=breakdown,
        users=users,
        cohort_start=cohort_start,
        cohort_end=cohort_end,
        return_event=return_event,
    )
    curves, summary = [], []
    parts = [("all", counts)]
    if breakdown is not None:
        parts += list(counts.groupby("grp"))
    for name, part in parts:
        curve = kaplan_meier(part["duration"], part["event"], part["users"], alpha)
        curves.append(curve.assign(group=name))
        churned_n = int(part.loc[part["event"] == 1, "users"].sum())
        summary.append(
            {
                "group": name,
                "users": int(part["users"].sum()),
                "churned": churned_n,
                "censored": int(part["users"].sum()) - churned_n,
                "median_lifetime": median_survival(curve) if not curve.empty else np.nan,
            }
        )
    test = None
    if breakdown is not None and counts["grp"].nunique() > 1:
        test = logrank_test(counts["duration"], counts["event"], counts["grp"], counts["users"])
    curves_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    if not curves_frame.empty:
        curves_frame = curves_frame[["group", *[c for c in curves_frame.columns if c != "group"]]]
    counts = counts.rename(columns={"grp": "group"})
    if breakdown is None:
        counts = counts.drop(columns="group")
    return SurvivalResult(counts, curves_frame, pd.DataFrame(summary), test, churn_days, breakdown)
