"""Planning an experiment: sample size, power and minimum detectable effect, for rates and
means, days needed, and ``plan`` (what ``opsbook plan`` prints)."""

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


def _check_plan(alpha: float, power: float, alternative: str, variants: int) -> tuple[float, float]:
    """(z for α per comparison, z for power)."""
    alpha = _check_alpha(alpha)
    power = _check_alpha(power, "power")
    _check_choice(alternative, Alternative, "alternative")
    variants = _check_count(variants, "variants")
    if variants < 2:
        raise ValueError("variants counts control too and must be at least 2")
    per_comparison = alpha / (variants - 1)
    z_alpha = _norm_ppf(
        1 - per_comparison / 2 if alternative == "two-sided" else 1 - per_comparison
    )
    return z_alpha, _norm_ppf(power)


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


def _n_proportions(p1: float, p2: float, z_alpha: float, z_beta: float) -> float:
    # H0 spread from the baseline alone (both arms at p1), H1 spread from both arms
    spread_h0 = math.sqrt(2 * p1 * (1 - p1))
    spread_h1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return (z_alpha * spread_h0 + z_beta * spread_h1) ** 2 / (p2 - p1) ** 2


def _ceil(x: float) -> int:
    # guard against 3623.0000000001 from floating point
    return math.ceil(x - 1e-9)


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
    """Users per variant to detect a change from ``baseline`` to ``baseline + mde`` (or
    ``baseline·(1 + mde)`` when ``relative``) in a conversion rate.

    The common online-calculator convention (the H0 spread from the baseline alone):

        n = (z_{1−α/2}·sqrt(2·p1(1−p1)) + z_{1−β}·sqrt(p1(1−p1) + p2(1−p2)))² / (p2 − p1)²,

    rounded up (z_{1−α} for one-sided). 0.10 → 0.12, α = 0.05 two-sided, power 0.8: 3,623.
    With ``variants`` > 2 (control included) α is Bonferroni-split over the variants − 1
    comparisons against control. Power ignores the far rejection tail (negligible).

    Caveat, kept because it is what calculators print and what readers compare against: the
    Welch/unpooled test that ``compare_means`` runs has a null spread from both arms, so its
    real power at this n is Φ((δ√n − z·s1)/s1), s1² = p1q1 + p2q2 — 0.777 at the example, not
    0.80 (confirmed by simulation). A 2·p̄(1−p̄) null spread (Fleiss, no continuity correction)
    would give 3,841 and 0.80.
    """
    z_alpha, z_beta = _check_plan(alpha, power, alternative, variants)
    p1, p2 = _treatment_rate(baseline, mde, relative)
    return _ceil(_n_proportions(p1, p2, z_alpha, z_beta))


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
    """Power with ``n`` users per variant; the inverse of ``sample_size_proportions``."""
    z_alpha, _ = _check_plan(alpha, 0.5, alternative, variants)
    p1, p2 = _treatment_rate(baseline, mde, relative)
    n = _check_positive(n, "n")
    spread_h0 = math.sqrt(2 * p1 * (1 - p1))
    spread_h1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return _norm_cdf((abs(p2 - p1) * math.sqrt(n) - z_alpha * spread_h0) / spread_h1)


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
    """Smallest upward change detectable with ``n`` users per variant (absolute, or relative to
    the baseline when ``relative``). Solves the ``sample_size_proportions`` formula for p2;
    NaN when no rate below 1 is detectable with so few users."""
    z_alpha, z_beta = _check_plan(alpha, power, alternative, variants)
    p1 = _check_rate(baseline)
    n = _check_positive(n, "n")

    def gap(delta: float) -> float:
        return _n_proportions(p1, p1 + delta, z_alpha, z_beta) - n

    upper = (1 - p1) * (1 - 1e-12)
    if gap(upper) > 0:
        return math.nan
    from scipy import optimize  # a root finder for this one function: not at import

    delta = optimize.brentq(gap, 1e-12, upper, xtol=1e-14, rtol=1e-12)
    return delta / p1 if relative else delta


def _mean_effect(mde: float, baseline_mean: float | None, relative: bool) -> float:
    mde = float(mde)
    if mde == 0 or not math.isfinite(mde):
        raise ValueError(f"mde must be a non-zero number, got {mde!r}")
    if not relative:
        return abs(mde)
    if (
        baseline_mean is None
        or float(baseline_mean) == 0
        or not math.isfinite(float(baseline_mean))
    ):
        raise ValueError("a relative mde needs a non-zero baseline_mean")
    return abs(mde * float(baseline_mean))


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
    """Users per variant to detect a change ``mde`` in a mean with per-user standard deviation
    ``sd`` (equal in both arms): n = 2·sd²·(z_{1−α/2} + z_{1−β})² / δ², rounded up; δ = mde, or
    mde·baseline_mean when ``relative``. Bonferroni over variants − 1 comparisons."""
    z_alpha, z_beta = _check_plan(alpha, power, alternative, variants)
    sd = _check_positive(sd, "sd")
    delta = _mean_effect(mde, baseline_mean, relative)
    return _ceil(2 * sd**2 * (z_alpha + z_beta) ** 2 / delta**2)


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
    """Power with ``n`` users per variant; the inverse of ``sample_size_means``."""
    z_alpha, _ = _check_plan(alpha, 0.5, alternative, variants)
    sd = _check_positive(sd, "sd")
    n = _check_positive(n, "n")
    delta = _mean_effect(mde, baseline_mean, relative)
    return _norm_cdf(delta * math.sqrt(n / 2) / sd - z_alpha)


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
    """Smallest detectable change in a mean with ``n`` users per variant:
    (z_{1−α/2} + z_{1−β})·sd·sqrt(2/n), divided by ``baseline_mean`` when ``relative``."""
    z_alpha, z_beta = _check_plan(alpha, power, alternative, variants)
    sd = _check_positive(sd, "sd")
    n = _check_positive(n, "n")
    delta = (z_alpha + z_beta) * sd * math.sqrt(2 / n)
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
    return _ceil(n * variants / daily)


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
    (``sample_size_means``). Keys: metric_type, baseline, mde_absolute, mde_relative, alpha,
    alpha_per_comparison, power, alternative, variants, n_per_variant, total_n, formula and, with
    ``daily_users``, daily_users and days.
    """
    settings = {"alpha": alpha, "power": power, "alternative": alternative, "variants": variants}
    if sd is None:
        p1, p2 = _treatment_rate(baseline, mde, relative)
        n = sample_size_proportions(p1, p2 - p1, **settings)
        metric_type = "proportion"
        absolute = p2 - p1
        formula = "n = (z_alpha*sqrt(2*p1*(1-p1)) + z_beta*sqrt(p1*(1-p1)+p2*(1-p2)))^2 / (p2-p1)^2"
    else:
        baseline = float(baseline)
        n = sample_size_means(sd, mde, baseline_mean=baseline, relative=relative, **settings)
        metric_type = "mean"
        absolute = mde * baseline if relative else float(mde)
        formula = "n = 2*sd^2*(z_alpha + z_beta)^2 / mde^2"
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
        "alternative": alternative,
        "variants": int(variants),
        "n_per_variant": n,
        "total_n": n * int(variants),
        "formula": formula,
    }
    if daily_users is not None:
        result["daily_users"] = float(daily_users)
        result["days"] = days_needed(n, variants, daily_users)
    return _json_safe(result)
