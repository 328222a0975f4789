"""A/B test decision: ship, don't ship, inconclusive or invalid, from the primary metric and the
guardrails; and, when inconclusive, how many more days (or users) the test needs, or, when that
is beyond a sensible horizon, the smallest effect the test can still detect by then."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from opsbook import stats
from opsbook.experiments.analysis.effects import _z

DecisionCode = Literal["ship", "dont_ship", "inconclusive", "invalid"]

#: How long a test may run in all before "keep it running" turns into "stop": twice the days run
#: so far, but at least four weeks (whole weekly cycles) and at most eight (see ``horizon_days``).
HORIZON_MIN_DAYS = 28
HORIZON_MAX_DAYS = 56


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
    Fixed-horizon arithmetic, the normal approximation of :mod:`opsbook.stats.planning` (its far
    rejection tail, ~1e-6 at power 0.8, left out); (None, None) when the lift is 0 or not finite.
    """
    if not (math.isfinite(abs_lift) and math.isfinite(abs_se)) or abs_lift == 0 or abs_se <= 0:
        return None, None
    z_alpha = _z(1 - alpha / 2) if alternative == "two-sided" else _z(1 - alpha)
    k = ((z_alpha + _z(power)) * abs_se / abs(abs_lift)) ** 2
    extra = max(k - 1.0, 0.0)
    days = math.ceil(extra * days_run - 1e-9) if days_run else None
    more_users = math.ceil(extra * users - 1e-9) if users else None
    return days, more_users


def horizon_days(days_run: int) -> int:
    """Days a test may run in all: twice ``days_run``, within [``HORIZON_MIN_DAYS``,
    ``HORIZON_MAX_DAYS``] = [28, 56], and never less than ``days_run`` (a test already past eight
    weeks gets no more days). 3 days run → 28, 14 → 28, 23 → 46, 43 → 56, 60 → 60."""
    if days_run < 1:
        raise ValueError(f"days_run must be at least 1, got {days_run!r}")
    return max(days_run, min(max(2 * days_run, HORIZON_MIN_DAYS), HORIZON_MAX_DAYS))


@dataclass(frozen=True)
class Reach:
    """Can the test still detect the observed effect within its horizon, and what can it detect?

    ``horizon_days``: days the test may run in all (``horizon_days``), None when the data have no
    exposure days and the horizon is doubling the users instead; ``more_days`` / ``more_users``
    the days / users per variant still allowed. ``mde_abs`` (and ``mde_rel``, relative to the
    control mean) is the smallest effect detectable with ``power`` at the horizon: the standard
    error shrinks as 1/sqrt(n), so (z_α + z_β)·se·sqrt(n_now/n_horizon), with n_horizon/n_now =
    horizon_days/days_run at the same daily inflow (2 without days). ``out_of_reach``: detecting
    the observed effect takes longer than the horizon (always when the observed lift is 0).
    """

    out_of_reach: bool
    horizon_days: int | None
    more_days: int | None
    more_users: int | None
    mde_abs: float
    mde_rel: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_of_reach": self.out_of_reach,
            "horizon_days": self.horizon_days,
            "more_days": self.more_days,
            "more_users": self.more_users,
            "abs": self.mde_abs,
            "rel": self.mde_rel,
        }


def reach(
    abs_lift: float,
    abs_se: float,
    *,
    control_mean: float | None,
    days_run: int | None,
    users: float | None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: stats.Alternative = "two-sided",
) -> Reach | None:
    """The observed effect against the horizon (see :class:`Reach`); None without a finite
    standard error or without days and users."""
    if not (math.isfinite(abs_se) and abs_se > 0) or not (days_run or users):
        return None
    days, more_users = more_days_needed(
        abs_lift,
        abs_se,
        days_run=days_run,
        users=users,
        alpha=alpha,
        power=power,
        alternative=alternative,
    )
    z_alpha = _z(1 - alpha / 2) if alternative == "two-sided" else _z(1 - alpha)
    if days_run:
        horizon = horizon_days(days_run)
        allowed_days = horizon - days_run
        growth = horizon / days_run
        allowed_users = math.floor(users * (growth - 1) + 1e-9) if users else None
        out = days is None or days > allowed_days
    else:
        horizon, allowed_days, growth = None, None, 2.0
        allowed_users = math.floor(users + 1e-9)
        out = more_users is None or more_users > allowed_users
    mde_abs = (z_alpha + _z(power)) * abs_se / math.sqrt(growth)
    base = abs(control_mean) if control_mean is not None and math.isfinite(control_mean) else 0.0
    return Reach(
        out_of_reach=bool(out),
        horizon_days=horizon,
        more_days=allowed_days,
        more_users=allowed_users,
        mde_abs=mde_abs,
        mde_rel=mde_abs / base if base > 0 else None,
    )


@dataclass(frozen=True)
class Decision:
    """What to do, in codes a report translates: ``decision`` ship|dont_ship|inconclusive|invalid,
    the ``variant`` it concerns, the ``reason`` and, when inconclusive, the extra days / users
    to detect the observed effect and the ``reach`` of the test within its horizon."""

    decision: DecisionCode
    variant: str | None
    reason: str
    metric: str | None = None
    days_needed: int | None = None
    users_needed: int | None = None
    blocking: tuple[str, ...] = ()  # guardrails that stopped a winner
    reach: Reach | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "variant": self.variant,
            "reason": self.reason,
            "metric": self.metric,
            "days_needed": self.days_needed,
            "users_needed": self.users_needed,
            "blocking": list(self.blocking),
            "reach": None if self.reach is None else self.reach.to_dict(),
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
    ``p_value``, ``p_adjusted``, ``variant_n`` and ``non_inferior`` (None without a margin), and
    optionally ``control_mean`` (for the relative MDE of ``Decision.reach``). Inconclusive: the
    days / users to detect the observed lift of the undecided variant closest to it, and whether
    that is out of reach within ``horizon_days`` (then the report advises stopping and gives the
    MDE reachable by the horizon instead of a number of days).
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
    control_mean = getattr(best, "control_mean", None)
    return Decision(
        "inconclusive",
        best.variant,
        "not_significant",
        metric,
        days_needed=best_days,
        users_needed=best_users,
        reach=reach(
            best.abs_lift,
            best.abs_se,
            control_mean=None if pd.isna(control_mean) else float(control_mean),
            days_run=days_run,
            users=best.variant_n,
            alpha=alpha,
            power=power,
            alternative=alternative,
        ),
    )
