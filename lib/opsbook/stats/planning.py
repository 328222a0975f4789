"""Planning an experiment: sample size, power and minimum detectable effect, for rates and
means, days needed, and ``plan`` (what ``opsbook plan`` prints).

One model gives all three, and it is the test the A/B report runs: ``compare_means`` (Welch,
each arm's own variance; a rate is the mean of a 0/1 value), in its large-sample normal form.
With n users per variant, per-user variances v1 (control) and v2 (treatment) and a true
difference d = μ2 − μ1, the report's statistic (x̄2 − x̄1) / sqrt((s²1 + s²2)/n) is close to
normal with mean λ = d·sqrt(n)/s, s² = v1 + v2, and variance 1. It rejects beyond
z = z_{1−α'/2} (two-sided) or z = z_{1−α'} (one-sided), α' = α/(variants − 1) (Bonferroni over
the comparisons with control). So

    power(n) = Φ(λ − z) + Φ(−λ − z)    two-sided (both rejection tails)
    power(n) = Φ(λ − z)                 "greater"        power(n) = Φ(−λ − z)     "less"

with v1 = p1(1 − p1), v2 = p2(1 − p2) for a rate and v1 = v2 = sd² for a mean.
``sample_size_*`` is the smallest whole n with power(n) ≥ power, about ((z + z_{1−β})·s/|d|)²;
``power_*`` is power(n); ``mde_*`` is the d with power(n) = power. They are one set:
power(sample_size) ≥ power > power(sample_size − 1), and power(n, mde(n)) = power. This is
statsmodels' ``NormalIndPower`` with the effect size d / sqrt(s²/2).

Not the online-calculator convention, which takes the null spread from the baseline alone
(z·sqrt(2·p1(1 − p1)) + z_β·s): 3,623 users for 10 % → 12 %, at which the report's test has
power 0.777, not 0.80. This model gives 3,839 (power 0.800, confirmed by simulation of
``compare_means``). Below ~30 users per variant the Welch test's t quantiles make its real
power a little lower than stated.
"""

from __future__ import annotations

import math
from typing import Any

from opsbook.stats._common import (
    Alternative,
    _check_alpha,
    _check_choice,
    _check_count,
    _check_positive,
    _json_safe,
    _norm_cdf,
    _norm_ppf,
)

_TOLERANCE = 1e-12  # power(n) ≥ power up to floating point


def _z_alpha(alpha: float, alternative: str, variants: int) -> tuple[float, float]:
    """(z of the test for α per comparison, α per comparison)."""
    alpha = _check_alpha(alpha)
    _check_choice(alternative, Alternative, "alternative")
    variants = _check_count(variants, "variants")
    if variants < 2:
        raise ValueError("variants counts control too and must be at least 2")
    per_comparison = alpha / (variants - 1)
    z = _norm_ppf(1 - per_comparison / 2 if alternative == "two-sided" else 1 - per_comparison)
    return z, per_comparison


def _power_at(drift: float, z: float, alternative: str) -> float:
    """Power of the test when its statistic has mean ``drift`` = d·sqrt(n)/s (signed)."""
    if alternative == "greater":
        return _norm_cdf(drift - z)
    if alternative == "less":
        return _norm_cdf(-drift - z)
    return _norm_cdf(drift - z) + _norm_cdf(-drift - z)


def _drift_for(power: float, alpha: float, alternative: str, variants: int) -> tuple[float, float]:
    """(z of the test, the |λ| at which the test reaches ``power``): z + z_{1−β} one-sided; for
    two-sided the root of Φ(λ − z) + Φ(−λ − z) = power (the far tail moves it by ~1e-6)."""
    z, per_comparison = _z_alpha(alpha, alternative, variants)
    power = _check_alpha(power, "power")
    if power <= per_comparison:
        raise ValueError(f"power must exceed alpha per comparison ({per_comparison:g}): {power}")
    one_tail = z + _norm_ppf(power)
    if alternative != "two-sided":
        return z, one_tail
    from scipy import optimize  # a root finder for this one function: not at import

    lam = optimize.brentq(
        lambda x: _power_at(x, z, "two-sided") - power,
        0.0,
        one_tail,
        xtol=1e-14,
        rtol=1e-15,
    )
    return z, lam


def _check_direction(delta: float, alternative: str) -> None:
    if (alternative == "greater" and delta < 0) or (alternative == "less" and delta > 0):
        way = "an increase" if alternative == "greater" else "a decrease"
        raise ValueError(
            f"alternative {alternative!r} tests for {way}; an mde of {delta:+g} goes the other way"
        )


def _smallest_n(
    spread: float, delta: float, z: float, lam: float, alternative: str, power: float
) -> int:
    """The smallest whole n ≥ 2 (the test needs two users per arm) with power(n) ≥ power."""

    def reached(n: int) -> bool:
        return _power_at(delta * math.sqrt(n) / spread, z, alternative) >= power - _TOLERANCE

    n = max(math.ceil((lam * spread / abs(delta)) ** 2 - 1e-9), 2)
    while not reached(n):
        n += 1
    while n > 2 and reached(n - 1):
        n -= 1
    return n


# --------------------------------------------------------------------------------------------
# rates


def _check_rate(baseline: float) -> float:
    baseline = float(baseline)
    if not 0 < baseline < 1:
        raise ValueError(f"baseline must be a rate in (0, 1), got {baseline!r}")
    return baseline


def _treatment_rate(baseline: float, mde: float, relative: bool) -> tuple[float, float]:
    baseline = _check_rate(baseline)
    mde = float(mde)
    if mde == 0 or not math.isfinite(mde):
        raise ValueError(f"mde must be a non-zero number, got {mde!r}")
    target = baseline * (1 + mde) if relative else baseline + mde
    if not 0 < target < 1:
        raise ValueError(f"baseline {baseline} with mde {mde} leaves (0, 1): {target}")
    return baseline, target


def _rate_spread(p1: float, p2: float) -> float:
    """s = sqrt(p1(1 − p1) + p2(1 − p2)): the per-user spread of the difference, both arms'
    own variances, as in the Welch/unpooled test."""
    return math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))


def sample_size_proportions(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    variants: int = 2,
) -> int:
    """Users per variant at which the report's test detects a change of a conversion rate from
    p1 = ``baseline`` to p2 = ``baseline + mde`` (``baseline·(1 + mde)`` when ``relative``) with
    ``power``: the smallest whole n with power(n) ≥ power, where (see the module)

        power(n) = Φ(λ − z) + Φ(−λ − z),  λ = (p2 − p1)·sqrt(n) / sqrt(p1(1 − p1) + p2(1 − p2)),

    z = z_{1−α'/2}; one-sided Φ(λ − z) ("greater") or Φ(−λ − z) ("less"), z = z_{1−α'};
    α' = α/(variants − 1). Close to n = (z + z_{1−β})²·(p1q1 + p2q2)/(p2 − p1)².
    0.10 → 0.12, α = 0.05 two-sided, power 0.8: 3,839 (power 0.8001). A one-sided ``mde`` must
    point the way of ``alternative`` (negative for "less").
    """
    z, lam = _drift_for(power, alpha, alternative, variants)
    p1, p2 = _treatment_rate(baseline, mde, relative)
    _check_direction(p2 - p1, alternative)
    return _smallest_n(_rate_spread(p1, p2), p2 - p1, z, lam, alternative, power)


def power_proportions(
    baseline: float,
    mde: float,
    n: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    variants: int = 2,
) -> float:
    """Power of the report's test with ``n`` users per variant against the change ``mde``:
    power(n) of ``sample_size_proportions`` (both tails when two-sided; a one-sided test
    against a change the other way has power below α)."""
    z, _ = _z_alpha(alpha, alternative, variants)
    p1, p2 = _treatment_rate(baseline, mde, relative)
    n = _check_positive(n, "n")
    return _power_at((p2 - p1) * math.sqrt(n) / _rate_spread(p1, p2), z, alternative)


def mde_proportions(
    baseline: float,
    n: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    variants: int = 2,
) -> float:
    """The change the report's test detects with ``power`` at ``n`` users per variant: the d with
    power(n) = power (absolute, or relative to the baseline when ``relative``). Upward for
    two-sided and "greater", downward (negative) for "less". With λ the drift at which the test
    reaches ``power`` (z + z_{1−β}, two-sided a hair less) d solves d·sqrt(n) = λ·s(d):

        |d| = (λ²·u + sqrt(λ⁴u² + 8(n + λ²)·λ²·p1(1 − p1))) / (2(n + λ²)),

    u = 1 − 2p1 upward, 2p1 − 1 downward. NaN when no rate inside (0, 1) is detectable."""
    _, lam = _drift_for(power, alpha, alternative, variants)
    p1 = _check_rate(baseline)
    n = _check_positive(n, "n")
    sign = -1.0 if alternative == "less" else 1.0
    u = sign * (1 - 2 * p1)
    lam2 = lam * lam
    size = (lam2 * u + math.sqrt(lam2 * lam2 * u * u + 8 * (n + lam2) * lam2 * p1 * (1 - p1))) / (
        2 * (n + lam2)
    )
    delta = sign * size
    if not 0 < p1 + delta < 1:
        return math.nan
    return delta / p1 if relative else delta


# --------------------------------------------------------------------------------------------
# means


def _mean_effect(mde: float, baseline_mean: float | None, relative: bool) -> float:
    """The planned difference of means, signed: ``mde``, or ``mde·|baseline_mean|``."""
    mde = float(mde)
    if mde == 0 or not math.isfinite(mde):
        raise ValueError(f"mde must be a non-zero number, got {mde!r}")
    if not relative:
        return mde
    if (
        baseline_mean is None
        or float(baseline_mean) == 0
        or not math.isfinite(float(baseline_mean))
    ):
        raise ValueError("a relative mde needs a non-zero baseline_mean")
    return mde * abs(float(baseline_mean))


def sample_size_means(
    sd: float,
    mde: float,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    variants: int = 2,
) -> int:
    """Users per variant at which the report's test detects a change d = ``mde`` in a mean
    (d = mde·|baseline_mean| when ``relative``) with per-user standard deviation ``sd`` in both
    arms: the smallest whole n with power(n) ≥ power, power(n) as in ``sample_size_proportions``
    with λ = d·sqrt(n)/(sd·sqrt(2)); close to n = 2·sd²·(z + z_{1−β})²/d². Bonferroni over
    variants − 1 comparisons; a one-sided ``mde`` must point the way of ``alternative``."""
    z, lam = _drift_for(power, alpha, alternative, variants)
    sd = _check_positive(sd, "sd")
    delta = _mean_effect(mde, baseline_mean, relative)
    _check_direction(delta, alternative)
    return _smallest_n(sd * math.sqrt(2), delta, z, lam, alternative, power)


def power_means(
    sd: float,
    mde: float,
    n: float,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    variants: int = 2,
) -> float:
    """Power of the report's test with ``n`` users per variant: power(n) of
    ``sample_size_means``, λ = d·sqrt(n)/(sd·sqrt(2))."""
    z, _ = _z_alpha(alpha, alternative, variants)
    sd = _check_positive(sd, "sd")
    n = _check_positive(n, "n")
    delta = _mean_effect(mde, baseline_mean, relative)
    return _power_at(delta * math.sqrt(n / 2) / sd, z, alternative)


def mde_means(
    sd: float,
    n: float,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    variants: int = 2,
) -> float:
    """The change in a mean the report's test detects with ``power`` at ``n`` users per variant:
    λ·sd·sqrt(2/n), λ = z + z_{1−β} (two-sided: a hair less, the far tail counted), divided by
    |baseline_mean| when ``relative``; negative for "less"."""
    _, lam = _drift_for(power, alpha, alternative, variants)
    sd = _check_positive(sd, "sd")
    n = _check_positive(n, "n")
    delta = (-1.0 if alternative == "less" else 1.0) * lam * sd * math.sqrt(2 / n)
    if relative:
        if baseline_mean is None or float(baseline_mean) == 0:
            raise ValueError("a relative mde needs a non-zero baseline_mean")
        return delta / abs(float(baseline_mean))
    return delta


def days_needed(n_per_variant: int, variants: int, daily_users: float) -> int:
    """Whole days until every variant has ``n_per_variant`` users, when ``daily_users`` new
    eligible users enter the experiment per day, split evenly: ceil(n·variants/daily_users)."""
    n = _check_positive(n_per_variant, "n_per_variant")
    variants = _check_count(variants, "variants")
    if variants < 1:
        raise ValueError("variants must be at least 1")
    daily = _check_positive(daily_users, "daily_users")
    return math.ceil(n * variants / daily - 1e-9)


_POWER_TEXT = {
    "two-sided": "power(n) = Phi(lambda - z) + Phi(-lambda - z), z = z_(1 - alpha_per_comparison/2)",
    "greater": "power(n) = Phi(lambda - z), z = z_(1 - alpha_per_comparison)",
    "less": "power(n) = Phi(-lambda - z), z = z_(1 - alpha_per_comparison)",
}


def _formula(alternative: str, metric_type: str) -> str:
    if metric_type == "proportion":
        effect = "lambda = (p2 - p1)*sqrt(n)/s, s^2 = p1*(1-p1) + p2*(1-p2)"
        approx = "n ~ (z + z_power)^2 * s^2 / (p2 - p1)^2"
    else:
        effect = "lambda = mde*sqrt(n)/s, s^2 = 2*sd^2"
        approx = "n ~ (z + z_power)^2 * 2*sd^2 / mde^2"
    return (
        f"n = smallest whole n with power(n) >= power; {_POWER_TEXT[alternative]}; {effect} "
        f"(the Welch/unpooled test the A/B report runs, normal approximation); {approx}"
    )


def plan(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
    sd: float | None = None,
    daily_users: float | None = None,
    alternative: Alternative = "two-sided",
) -> dict[str, Any]:
    """Sample size (and duration) for an experiment, as a JSON-safe dict for ``opsbook plan``.

    Without ``sd`` the metric is a conversion rate and ``baseline`` its current value
    (``sample_size_proportions``); with ``sd`` it is a mean, ``baseline`` its current mean
    (``sample_size_means``). Keys: metric_type, baseline, mde_absolute, mde_relative, sd, alpha,
    alpha_per_comparison, correction, power, achieved_power (power at n_per_variant, ≥ power),
    alternative, variants, n_per_variant, total_n, test, formula and, with ``daily_users``,
    daily_users and days.
    """
    settings = {"alpha": alpha, "power": power, "alternative": alternative, "variants": variants}
    if sd is None:
        p1, p2 = _treatment_rate(baseline, mde, relative)
        n = sample_size_proportions(p1, p2 - p1, **settings)
        achieved = power_proportions(
            p1, p2 - p1, n, alpha=alpha, alternative=alternative, variants=variants
        )
        metric_type = "proportion"
        absolute = p2 - p1
    else:
        baseline = float(baseline)
        n = sample_size_means(sd, mde, baseline_mean=baseline, relative=relative, **settings)
        achieved = power_means(
            sd,
            mde,
            n,
            baseline_mean=baseline,
            relative=relative,
            alpha=alpha,
            alternative=alternative,
            variants=variants,
        )
        metric_type = "mean"
        absolute = _mean_effect(mde, baseline, relative)
    result: dict[str, Any] = {
        "metric_type": metric_type,
        "baseline": float(baseline),
        # rounded so 0.1 + 0.02 − 0.1 prints as 0.02
        "mde_absolute": round(absolute, 12),
        "mde_relative": round(absolute / float(baseline), 12) if float(baseline) != 0 else None,
        "sd": None if sd is None else float(sd),
        "alpha": float(alpha),
        "alpha_per_comparison": float(alpha) / (variants - 1),
        "correction": "bonferroni" if variants > 2 else "none",
        "power": float(power),
        "achieved_power": achieved,
        "alternative": alternative,
        "variants": int(variants),
        "n_per_variant": n,
        "total_n": n * int(variants),
        "test": "welch_unpooled_normal_approximation",
        "formula": _formula(alternative, metric_type),
    }
    if daily_users is not None:
        result["daily_users"] = float(daily_users)
        result["days"] = days_needed(n, variants, daily_users)
    return _json_safe(result)
