"""Is the treatment no worse than control by more than a margin? One-sided non-inferiority."""

from __future__ import annotations

import math
from dataclasses import dataclass

from opsbook.stats._common import (
    Direction,
    _check_alpha,
    _check_choice,
    _check_positive,
    _Result,
    _t_cdf,
    _t_ppf,
)
from opsbook.stats.effects import (
    DEFAULT_TUNING_N,
    EffectResult,
    _infer,
    _pair_any,
    _relative_interval,
)
from opsbook.stats.sufficient import AnyStats


@dataclass(frozen=True)
class NonInferiorityResult(_Result):
    """One-sided test that the treatment is not worse than control by more than ``margin``
    (relative)."""

    rel_lift: float
    rel_se: float
    margin: float
    direction: Direction
    alpha: float
    bound: float
    statistic: float
    df: float | None
    p_value: float
    non_inferior: bool
    flag: str | None
    valid: bool


def non_inferiority(
    result_or_stats: EffectResult | tuple[AnyStats, AnyStats],
    margin: float,
    direction: Direction = "higher_is_better",
    *,
    alpha: float = 0.025,
) -> NonInferiorityResult:
    """Is the treatment no worse than control by more than ``margin`` (relative, e.g. 0.02)?

    higher_is_better: H0 rel_lift ≤ −margin vs H1 rel_lift > −margin; non-inferior when the
    one-sided (1 − α) lower bound exceeds −margin. lower_is_better mirrors it (upper bound below
    +margin). The test is the one behind the result's relative interval (Fieller): the
    statistic (m_t − (1 ∓ margin)·m_c)/sqrt(v_t + (1 ∓ margin)²·v_c) with the result's df (t) or
    the normal, and the bound is the one-sided Fieller end, so non-inferior ⇔ p < α ⇔ the bound
    clears the margin. ``rel_se`` is the delta-method standard error (descriptive). The default
    one-sided α = 0.025 matches reading the lower end of a two-sided 95 % interval. Takes an ``EffectResult`` or a ``(control, treatment)`` pair of stats (then a Welch
    comparison is run). The bound is fixed-horizon even for a sequential result.
    """
    alpha = _check_alpha(alpha)
    margin = _check_positive(margin, "margin")
    _check_choice(direction, Direction, "direction")
    if isinstance(result_or_stats, EffectResult):
        result = result_or_stats
    elif isinstance(result_or_stats, tuple) and len(result_or_stats) == 2:
        result = _infer(
            _pair_any(*result_or_stats),
            alpha=alpha,
            alternative="two-sided",
            method="welch",
            tuning_n=DEFAULT_TUNING_N,
        )
    else:
        raise TypeError("non_inferiority takes an EffectResult or a (control, treatment) pair")

    rel, se = result.rel_lift, result.rel_se
    df = result.df if result.method == "welch" else None
    flag = result.flag
    if flag is None and not (math.isfinite(rel) and math.isfinite(se) and se > 0):
        flag = "zero_variance"
    if flag is not None:
        return NonInferiorityResult(
            rel, se, margin, direction, alpha, math.nan, math.nan, df, math.nan, False, flag, False
        )
    crit = _t_ppf(1 - alpha, df)
    var_c, var_t = result.control_se**2, result.treatment_se**2
    m_c, m_t = result.control_mean, result.treatment_mean
    if direction == "higher_is_better":
        # H0: μ_t ≤ (1 − margin)·μ_c, the same test as the relative interval (Fieller)
        s0 = 1 - margin
        bound = _relative_interval(m_c, var_c, m_t, var_t, crit, "greater")[0]
        statistic = (m_t - s0 * m_c) / math.sqrt(var_t + s0**2 * var_c)
        p_value = _t_cdf(-statistic, df)
    else:
        s0 = 1 + margin
        bound = _relative_interval(m_c, var_c, m_t, var_t, crit, "less")[1]
        statistic = (m_t - s0 * m_c) / math.sqrt(var_t + s0**2 * var_c)
        p_value = _t_cdf(statistic, df)
    verdict = p_value < alpha
    return NonInferiorityResult(
        rel, se, margin, direction, alpha, bound, statistic, df, p_value, bool(verdict), None, True
    )
