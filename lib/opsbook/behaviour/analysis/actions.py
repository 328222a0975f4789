"""Behaviour, analysis: key actions (关键行为, the "aha moment") -- for each event and frequency
threshold in the new users' first days, the share of users above it, their D7/D30 retention
against the others', the difference with an interval, and how well the action predicts staying
(precision, recall, the phi correlation), ranked. Correlation, not cause: users who do more of
anything tend to stay; the ranking says where to look, an experiment says what works."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsbook.behaviour.queries.actions import (
    DEFAULT_THRESHOLDS,
    RETENTION_DAYS,
    key_action_counts,
)
from opsbook.report import jsonable
from opsbook.stats import two_proportion_test


def phi(above: int, retained_above: int, users: int, retained: int) -> float:
    """The phi coefficient (Pearson correlation of two 0/1 variables) of "above the threshold"
    and "retained" from the 2x2 table's margins; NaN when a margin is empty."""
    a = retained_above
    b = above - retained_above
    c = retained - retained_above
    d = users - above - c
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    return (a * d - b * c) / math.sqrt(denominator) if denominator > 0 else math.nan


def action_table(counts: pd.DataFrame, day: int, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (event, threshold): share above, retention on day ``day`` with and without,
    the difference (with - without) with Newcombe's interval and a two-proportion p-value,
    precision (retention of the doers), recall (share of the retained who did it), phi."""
    rows = []
    for r in counts.to_dict("records"):
        n, above = int(r["users"]), int(r["above"])
        kept, kept_above = int(r[f"retained_d{day}"]), int(r[f"retained_d{day}_above"])
        test = two_proportion_test(kept - kept_above, n - above, kept_above, above, alpha=alpha)
        rows.append(
            {
                "event": r["event"],
                "threshold": int(r["threshold"]),
                "users": n,
                "above": above,
                "share": above / n if n else math.nan,
                "retention_with": test.p2,
                "retention_without": test.p1,
                "diff": test.diff,
                "diff_low": test.ci[0],
                "diff_high": test.ci[1],
                "p_value": test.p_value,
                "precision": test.p2,
                "recall": kept_above / kept if kept else math.nan,
                "correlation": phi(above, kept_above, n, kept),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class KeyActions:
    """Key actions over the first ``first_days`` days, judged on retention day ``day``; one
    table per retention day in ``tables``, ``ranked``: the main day's rows with at least
    ``min_users`` users on each side, by correlation (highest first)."""

    first_days: int
    day: int
    tables: dict[int, pd.DataFrame]
    ranked: pd.DataFrame

    def top(self, k: int = 5) -> pd.DataFrame:
        """The best threshold of each event (its highest correlation), the ``k`` best events."""
        best = self.ranked.drop_duplicates("event", keep="first")
        return best.head(k).reset_index(drop=True)

    def metrics(self, k: int = 5) -> list[dict[str, Any]]:
        columns = ["event", "threshold", "share", "retention_with", "retention_without"]
        extra = ["diff", "diff_low", "diff_high", "precision", "recall", "correlation"]
        return jsonable(self.top(k)[columns + extra].to_dict("records"))


def key_actions(
    source: Any,
    *,
    first_days: int = 3,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    events: Sequence[str] | None = None,
    retention_days: Sequence[int] = RETENTION_DAYS,
    day: int | None = None,
    min_users: int = 30,
    alpha: float = 0.05,
    **cohort: Any,
) -> KeyActions:
    """Key actions from the engine's counts (:func:`key_action_counts`; ``cohort``: its
    cohort_start, cohort_end, as_of, return_event), ranked on retention day ``day`` (default:
    the last of ``retention_days``)."""
    days = sorted({int(d) for d in retention_days})
    day = days[-1] if day is None else int(day)
    if day not in days:
        raise ValueError(f"day {day} is not one of the retention days {days}")
    counts = key_action_counts(
        source,
        first_days=first_days,
        thresholds=thresholds,
        events=events,
        retention_days=days,
        **cohort,
    )
    tables = {d: action_table(counts, d, alpha) for d in days}
    main = tables[day]
    both_sides = (main["above"] >= min_users) & (main["users"] - main["above"] >= min_users)
    ranked = main[both_sides & main["correlation"].notna()]
    ranked = ranked.sort_values(
        ["correlation", "event", "threshold"], ascending=[False, True, True]
    )
    return KeyActions(int(first_days), day, tables, ranked.reset_index(drop=True))
