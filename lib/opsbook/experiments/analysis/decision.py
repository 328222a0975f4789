"""A/B test decision: ship, don't ship, inconclusive or invalid, from the primary metric and the
guardrails; and, when inconclusive, how many more days (or users) the test needs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from opsbook import stats
from opsbook.experiments.analysis.effects import _z

DecisionCode = Literal["ship", "dont_ship", "inconclusive", "invalid"]


def more_days_needed(
    abs_lift: float,
    abs_se: float,
    *,
    days_run: int | None,
    users: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: stats.Alternative = "two-sided",
) -> tuple[int | None, int | None]:
    """(extra days, extra users per variant) until an effect as large as the observed one would
    be detected with ``power``, at the traffic seen so far.

    The standard error shrinks as 1/sqrt(n): the sample must grow by k = ((z_α + z_β)·se/|δ|)²
    (z_α = z_{1−α/2} two-sided), i.e. (k − 1)·days_run more days at the same daily inflow.
    Fixed-horizon arithmetic; (None, None) when the lift is 0 or not finite.
    """
    if not (math.isfinite(abs_lift) and math.isfinite(abs_se)) or abs_lift == 0 or abs_se <= 0:
        return None, None
    z_alpha = _z(1 - alpha / 2) if alternative == "two-sided" else _z(1 - alpha)
    k = ((z_alpha + _z(power)) * abs_se / abs(abs_lift)) ** 2
    extra = max(k - 1.0, 0.0)
    days = math.ceil(extra * days_run - 1e-9) if days_run else None
    more_users = math.ceil(extra * users - 1e-9) if users else None
    return days, more_users


@dataclass(frozen=True)
class Decision:
    """What to do, in codes a report translates: ``decision`` ship|dont_ship|inconclusive|invalid,
    the ``variant`` it concerns, the ``reason`` and, when inconclusive, the extra days / users."""

    decision: DecisionCode
    variant: str | None
    reason: str
    metric: str | None = None
    days_needed: int | None = None
    users_needed: int | None = None
    blocking: tuple[str, ...] = ()  # guardrails that stopped a winner

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "variant": self.variant,
            "reason": self.reason,
            "metric": self.metric,
            "days_needed": self.days_needed,
            "users_needed": self.users_needed,
            "blocking": list(self.blocking),
        }


def decide(
    results: pd.DataFrame,
    *,
    srm_status: str,
    alpha: float = 0.05,
    days_run: int | None = None,
    power: float = 0.8,
    alternative: stats.Alternative = "two-sided",
) -> Decision:
    """The decision from the primary metric and the guardrails (see :mod:`opsbook.experiments`).

    ``results``: one row per metric and treatment variant with ``metric``, ``variant``, ``role``
    (primary/secondary/guardrail), ``direction``, ``valid``, ``abs_lift``, ``abs_se``,
    ``p_value``, ``p_adjusted``, ``variant_n`` and ``non_inferior`` (None without a margin).
    """
    if srm_status == "invalid":
        return Decision("invalid", None, "srm")
    results = results.assign(higher=results["direction"] == "higher_is_better")
    primary = results[results["role"] == "primary"]
    if primary.empty:
        raise ValueError("results have no primary metric")
    metric = str(primary["metric"].iloc[0])
    guardrails = results[results["role"] == "guardrail"]

    def good(row: Any) -> int:
        """+1 significantly better, −1 significantly worse, 0 neither (p_adjusted)."""
        if not row.valid or not row.p_adjusted < alpha:
            return 0
        up = row.abs_lift > 0
        return 1 if up == (row.direction == "higher_is_better") else -1

    def failed_guardrails(variant: str) -> list[str]:
        failed = []
        for row in guardrails[guardrails["variant"] == variant].itertuples():
            if row.non_inferior is not None and not pd.isna(row.non_inferior):
                if not bool(row.non_inferior):
                    failed.append(row.metric)
            elif row.valid and row.p_value < alpha:
                worse = (row.abs_lift > 0) != (row.direction == "higher_is_better")
                if worse:
                    failed.append(row.metric)
        return failed

    winners, losers, blocked, undecided = [], [], {}, []
    for row in primary.itertuples():
        verdict = good(row)
        failed = failed_guardrails(row.variant)
        if verdict > 0 and not failed:
            winners.append(row)
        elif verdict > 0:
            blocked[row.variant] = failed
        elif verdict < 0:
            losers.append(row)
        elif failed:
            blocked[row.variant] = failed
        else:
            undecided.append(row)
    if winners:
        best = max(winners, key=lambda r: r.abs_lift * (1 if r.higher else -1))
        return Decision("ship", best.variant, "primary_better", metric)
    if not undecided:
        if blocked and not losers:
            variant = next(iter(blocked))
            return Decision(
                "dont_ship", variant, "guardrail", metric, blocking=tuple(blocked[variant])
            )
        variant = losers[0].variant if losers else next(iter(blocked))
        return Decision("dont_ship", variant, "primary_worse", metric)
    valid = [r for r in undecided if r.valid]
    if not valid:
        return Decision("inconclusive", undecided[0].variant, "degenerate", metric)
    # the undecided variant closest to significance: the fewest extra days
    best, best_days, best_users = None, None, None
    for row in valid:
        days, users = more_days_needed(
            row.abs_lift,
            row.abs_se,
            days_run=days_run,
            users=row.variant_n,
            alpha=alpha,
            power=power,
            alternative=alternative,
        )
        key = users if users is not None else math.inf
        if best is None or key < (best_users if best_users is not None else math.inf):
            best, best_days, best_users = row, days, users
    return Decision(
        "inconclusive",
        best.variant,
        "not_significant",
        metric,
        days_needed=best_days,
        users_needed=best_users,
    )
