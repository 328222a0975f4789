"""Quick checks on proportions: the Wilson interval and the two-proportion z-test (e.g. this
week's rate against last week's)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from opsbook.stats._common import (
    Alternative,
    _check_alpha,
    _check_choice,
    _check_count,
    _norm_cdf,
    _norm_ppf,
    _Result,
)


@dataclass(frozen=True)
class TwoProportionResult(_Result):
    """Second proportion vs first (``diff = p2 - p1``; "greater" means p2 > p1)."""

    p1: float
    p2: float
    diff: float
    rel_change: float
    ci: tuple[float, float]
    statistic: float
    p_value: float
    alpha: float
    alternative: Alternative
    flag: str | None
    valid: bool


def wilson_interval(successes: Any, n: Any, alpha: float = 0.05) -> tuple[Any, Any]:
    """Wilson score interval for a proportion (vectorised; n = 0 gives NaN).

    centre = (x + z²/2)/(n + z²), half-width = z/(n + z²)·sqrt(x(n − x)/n + z²/4), z = z_{1−α/2}.
    Scalars in → floats out; arrays in → arrays out.
    """
    alpha = _check_alpha(alpha)
    x = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if np.any(x < 0) or np.any(total < 0) or np.any(x > total):
        raise ValueError("need 0 <= successes <= n")
    z = _norm_ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (x + z * z / 2) / (total + z * z)
        half = z / (total + z * z) * np.sqrt(x * (total - x) / total + z * z / 4)
        low = np.where(total > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(total > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def two_proportion_test(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> TwoProportionResult:
    """Did the proportion change from (x1 of n1) to (x2 of n2)? e.g. last week → this week.

    Pooled two-proportion z-test (as statsmodels ``proportions_ztest``; there the sign is
    p1 − p2, here p2 − p1). The interval for p2 − p1 is Newcombe's hybrid score interval (from
    the two Wilson intervals), which behaves at 0 and 100 %.
    """
    alpha = _check_alpha(alpha)
    _check_choice(alternative, Alternative, "alternative")
    x1, n1 = _check_count(x1, "x1"), _check_count(n1, "n1")
    x2, n2 = _check_count(x2, "x2"), _check_count(n2, "n2")
    if x1 > n1 or x2 > n2:
        raise ValueError("successes cannot exceed trials")
    nan = math.nan
    p1 = x1 / n1 if n1 else nan
    p2 = x2 / n2 if n2 else nan
    diff = p2 - p1
    rel = p2 / p1 - 1 if n1 and p1 > 0 else nan
    if not (n1 and n2):
        return TwoProportionResult(
            p1, p2, diff, rel, (nan, nan), nan, nan, alpha, alternative, "too_few_users", False
        )
    # Newcombe's method 10; the Wilson intervals are two-sided at α (one-sided: 2α)
    level = alpha if alternative == "two-sided" else 2 * alpha
    l1, u1 = wilson_interval(x1, n1, level)
    l2, u2 = wilson_interval(x2, n2, level)
    low = diff - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = diff + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    if alternative == "greater":
        high = math.inf
    elif alternative == "less":
        low = -math.inf
    ci = (low, high)
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return TwoProportionResult(
            p1, p2, diff, rel, ci, nan, nan, alpha, alternative, "zero_variance", False
        )
    z = diff / se
    if alternative == "two-sided":
        p_value = 2 * _norm_cdf(-abs(z))
    else:
        p_value = _norm_cdf(-z if alternative == "greater" else z)
    return TwoProportionResult(p1, p2, diff, rel, ci, z, p_value, alpha, alternative, None, True)


@dataclass(frozen=True)
class NpsResult(_Result):
    """A net promoter score on the -100..100 scale, its interval, and its respondents."""

    score: float  # 100 x (promoters - detractors) / respondents
    low: float
    high: float
    respondents: int
    promoters: int
    detractors: int
    alpha: float
    flag: str | None  # "too_few_users": fewer respondents than the minimum, no score
    valid: bool


def net_promoter_score(
    promoters: int, detractors: int, respondents: int, *, alpha: float = 0.05, minimum: int = 30
) -> NpsResult:
    """NPS = 100 x (share of promoters, scores 9-10 - share of detractors, scores 0-6) of the
    survey's ``respondents``, with a Wald interval from the multinomial variance of the
    difference of two shares of one sample (promoters, passives, detractors):
    Var(p_P - p_D) = (p_P + p_D - (p_P - p_D)^2) / n. Fewer than ``minimum`` respondents give
    no score (flag ``too_few_users``): a handful of answers says little, and may identify
    the people who gave them."""
    alpha = _check_alpha(alpha)
    promoters = _check_count(promoters, "promoters")
    detractors = _check_count(detractors, "detractors")
    n = _check_count(respondents, "respondents")
    if promoters + detractors > n:
        raise ValueError("promoters and detractors cannot exceed respondents")
    nan = math.nan
    if n < max(int(minimum), 1):
        return NpsResult(nan, nan, nan, n, promoters, detractors, alpha, "too_few_users", False)
    p, d = promoters / n, detractors / n
    half = _norm_ppf(1 - alpha / 2) * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return NpsResult(
        100 * (p - d),
        100 * max(p - d - half, -1.0),
        100 * min(p - d + half, 1.0),
        n,
        promoters,
        detractors,
        alpha,
        None,
        True,
    )
