"""Treatment vs control on one metric: the effect, its intervals and p-value.

``compare_means``, ``compare_ratios`` and ``cuped`` share one machinery: each kind of statistics
becomes a pair of arms (an estimate with its per-user variance; the delta method for ratios,
the pooled θ for CUPED), and ``_infer`` turns the pair into an ``EffectResult`` by Welch, z or
the always-valid normal mixture (``method="sequential"``, see ``confidence_sequence``).

One test per result: each method is a test of |z| (or z) against a critical value (Welch's t
quantile, the normal quantile, the mixture boundary); the p-value, the absolute interval and
the relative interval (Fieller, ``_relative_interval``) all invert that one test, so
significant ⇔ either interval excludes 0, two- and one-sided. ``EffectResult.at_level`` gives
the intervals of the same test at another level (``adjust_effects`` uses it for a family).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Literal

from opsbook.stats._common import (
    Alternative,
    Method,
    MetricKind,
    _check_alpha,
    _check_choice,
    _check_positive,
    _Result,
    _t_cdf,
    _t_ppf,
)
from opsbook.stats.sufficient import (
    AnyStats,
    CupedStats,
    RatioStats,
    SampleStats,
    _centered,
)

DEFAULT_TUNING_N = 10_000


@dataclass(frozen=True)
class EffectResult(_Result):
    """Treatment vs control on one metric.

    ``abs_lift = treatment_mean - control_mean``; ``rel_lift = treatment_mean/control_mean - 1``.
    For a ratio metric the means are the ratios Σnum/Σden, for CUPED the adjusted means.
    ``p_value`` tests H0: abs_lift = 0 (equivalently rel_lift = 0) against ``alternative``
    ("greater": treatment higher). Both intervals invert that same test at ``interval_alpha``
    (see ``_relative_interval``), so ``significant`` ⇔ ``abs_ci`` excludes 0 ⇔ ``rel_ci``
    excludes 0. ``rel_se`` is the delta-method standard error (descriptive only).
    One-sided intervals have an infinite open end. ``df`` is None for normal-based methods.
    ``theta``/``variance_reduction`` are set by ``cuped``, ``tuning_n`` and ``mixture_ratio``
    (τ²/V) by the sequential method. ``control_se``/``treatment_se``: each arm's standard error.
    ``p_adjusted``/``interval_alpha`` are set by ``adjust_effects`` (a multiple-testing
    family): the intervals are then at the level at which the raw p-value is judged.
    """

    metric_kind: MetricKind
    method: Method
    alternative: Alternative
    alpha: float
    control_n: int
    treatment_n: int
    control_mean: float
    treatment_mean: float
    abs_lift: float
    abs_se: float
    abs_ci: tuple[float, float]
    rel_lift: float
    rel_se: float
    rel_ci: tuple[float, float]
    statistic: float
    df: float | None
    p_value: float
    flag: str | None
    valid: bool
    theta: float | None = None
    variance_reduction: float | None = None
    tuning_n: float | None = None
    control_se: float = math.nan
    treatment_se: float = math.nan
    mixture_ratio: float | None = None
    interval_alpha: float | None = None
    p_adjusted: float | None = None

    @property
    def significant(self) -> bool:
        """Valid and ``p_adjusted`` (or, outside a family, ``p_value``) ``< alpha``."""
        p = self.p_value if self.p_adjusted is None else self.p_adjusted
        return bool(self.valid and p < self.alpha)

    def at_level(self, interval_alpha: float) -> EffectResult:
        """The same test with its intervals at ``interval_alpha`` (same df, same mixture τ²):
        the interval excludes 0 exactly when ``p_value < interval_alpha``."""
        interval_alpha = _check_alpha(interval_alpha, "interval_alpha")
        if not math.isfinite(self.abs_se):
            return replace(self, interval_alpha=interval_alpha)
        crit = _critical(self.method, self.alternative, interval_alpha, self.df, self.mixture_ratio)
        abs_ci = _interval(self.abs_lift, crit * self.abs_se, self.alternative)
        rel_ci = self.rel_ci
        if self.flag is None:
            rel_ci = _relative_interval(
                self.control_mean,
                self.control_se**2,
                self.treatment_mean,
                self.treatment_se**2,
                crit,
                self.alternative,
            )
        return replace(self, abs_ci=abs_ci, rel_ci=rel_ci, interval_alpha=interval_alpha)

    def conf_int(self, scale: Literal["abs", "rel"] = "abs") -> tuple[float, float]:
        return (
            self.abs_ci
            if _check_choice(scale, Literal["abs", "rel"], "scale") == "abs"
            else self.rel_ci
        )


# --------------------------------------------------------------------------------------------
# the shared inference machinery


@dataclass(frozen=True)
class _Arm:
    """An estimate (a mean, a ratio, an adjusted mean) with per-user variance: var = unit_var/n."""

    n: int
    mean: float
    unit_var: float


@dataclass(frozen=True)
class _Pair:
    kind: MetricKind
    control: _Arm
    treatment: _Arm
    flag: str | None = None
    theta: float | None = None
    variance_reduction: float | None = None


def _arm_from_sample(stats: SampleStats) -> _Arm:
    return _Arm(stats.n, stats.mean, stats.variance)


def _pair_means(control: SampleStats, treatment: SampleStats) -> _Pair:
    return _Pair("mean", _arm_from_sample(control), _arm_from_sample(treatment))


def _arm_from_ratio(stats: RatioStats) -> tuple[_Arm, bool]:
    den_mean = stats.den_mean
    if stats.n == 0 or den_mean == 0 or not math.isfinite(den_mean):
        return _Arm(stats.n, math.nan, math.nan), stats.n > 0
    ratio = stats.num_sum / stats.den_sum
    # delta method: Var(R̂)·n ≈ (σ²_num − 2R σ_num,den + R² σ²_den) / μ²_den
    unit_var = (
        stats.num_variance - 2 * ratio * stats.covariance + ratio**2 * stats.den_variance
    ) / den_mean**2
    return _Arm(stats.n, ratio, max(unit_var, 0.0) if math.isfinite(unit_var) else unit_var), False


def _pair_ratios(control: RatioStats, treatment: RatioStats) -> _Pair:
    arm_c, zero_c = _arm_from_ratio(control)
    arm_t, zero_t = _arm_from_ratio(treatment)
    return _Pair("ratio", arm_c, arm_t, flag="zero_denominator" if zero_c or zero_t else None)


def _pair_cuped(control: CupedStats, treatment: CupedStats) -> _Pair:
    # θ from pooled within-arm sums = the OLS slope of y ~ treatment + x
    sxx = sum(_centered(s.x_sum_squares, s.x_sum, s.x_sum, s.n) for s in (control, treatment))
    sxy = sum(_centered(s.xy_sum, s.x_sum, s.y_sum, s.n) for s in (control, treatment))
    theta = sxy / sxx if sxx > 0 else 0.0
    total_n = control.n + treatment.n
    x_bar = (control.x_sum + treatment.x_sum) / total_n if total_n > 0 else math.nan

    def adjusted(s: CupedStats) -> _Arm:
        if s.n == 0:
            return _Arm(0, math.nan, math.nan)
        mean = s.y_mean - theta * (s.x_mean - x_bar)
        if s.n < 2:
            return _Arm(s.n, mean, math.nan)
        var = s.y_variance - 2 * theta * s.covariance + theta**2 * s.x_variance
        return _Arm(s.n, mean, max(var, 0.0))

    arm_c, arm_t = adjusted(control), adjusted(treatment)
    reduction = math.nan
    if control.n >= 2 and treatment.n >= 2:
        raw = control.y_variance / control.n + treatment.y_variance / treatment.n
        adj = arm_c.unit_var / arm_c.n + arm_t.unit_var / arm_t.n
        reduction = 1 - adj / raw if raw > 0 else math.nan
    return _Pair("cuped", arm_c, arm_t, theta=theta, variance_reduction=reduction)


def _pair_any(control: AnyStats, treatment: AnyStats) -> _Pair:
    if type(control) is not type(treatment):
        raise TypeError(
            f"control and treatment must be the same kind of statistics, got "
            f"{type(control).__name__} and {type(treatment).__name__}"
        )
    if isinstance(control, SampleStats):
        return _pair_means(control, treatment)  # type: ignore[arg-type]
    if isinstance(control, RatioStats):
        return _pair_ratios(control, treatment)  # type: ignore[arg-type]
    if isinstance(control, CupedStats):
        return _pair_cuped(control, treatment)  # type: ignore[arg-type]
    raise TypeError(f"expected SampleStats, RatioStats or CupedStats, got {type(control).__name__}")


def _sequential_ratio(n_per_variant: float, tuning_n: float, alpha: float) -> float:
    """τ²/V: the mixture variance relative to the estimate's current variance.

    Fixing τ² = V(tuning_n)·c makes the boundary tightest at ``tuning_n`` users per variant
    (Waudby-Smith et al. 2023, ρ² = (−2 ln α + ln(1 − 2 ln α)) / t*); τ² must not depend on
    the data's size, so with V ∝ 1/n the ratio grows linearly with n.
    """
    c = -2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))
    return c * n_per_variant / tuning_n


def _sequential_critical(ratio: float, alpha: float) -> float:
    # {θ0 : Λ(θ0) < 1/α} for the normal-mixture likelihood ratio Λ (see confidence_sequence)
    # is {θ0 : |θ̂ − θ0|/sqrt(V) < c}: the mixture test is a z-test with this critical value
    return math.sqrt(2 * (1 + ratio) / ratio * math.log(math.sqrt(1 + ratio) / alpha))


def _critical(
    method: str, alternative: str, alpha: float, df: float | None, ratio: float | None
) -> float:
    """The critical value of |z| (two-sided) or z (one-sided) of the test that was run."""
    if method == "sequential":
        # one-sided: one side of the two-sided boundary (valid, slightly conservative)
        return _sequential_critical(float(ratio), alpha)  # type: ignore[arg-type]
    return _t_ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha, df)


def _relative_interval(
    control_mean: float,
    var_c: float,
    treatment_mean: float,
    var_t: float,
    crit: float,
    alternative: str,
) -> tuple[float, float]:
    """Fieller's interval for rel = m_t/m_c − 1: every r at which the *same* test is not
    rejected when run on H0: μ_t − (1 + r)·μ_c = 0, i.e. z(s) = (m_t − s·m_c)/sqrt(v_t + s²v_c)
    with s = 1 + r against the same critical value. At r = 0 this is exactly the test behind
    the p-value, so the interval excludes 0 ⇔ the test is significant.

    The boundary solves (m_t − s·m_c)² = crit²(v_t + s²v_c). When the control mean is itself
    well away from 0 (m_c² > crit²·v_c, practically always) the set is one interval. Otherwise
    the set is unbounded: we report the piece that holds the estimate, or (−∞, ∞) when that
    piece would leave out 0 although the test is not significant.
    """
    a, b = treatment_mean, control_mean

    def accepted(s: float) -> bool:
        var = var_t + s * s * var_c
        diff = a - b * s
        z = diff / math.sqrt(var) if var > 0 else math.copysign(math.inf, diff) if diff else 0.0
        if alternative == "greater":
            return z < crit
        if alternative == "less":
            return z > -crit
        return abs(z) < crit

    qa, qb, qc = b * b - crit**2 * var_c, -2 * a * b, a * a - crit**2 * var_t
    roots: list[float] = []
    if qa == 0:
        if qb != 0:
            roots = [-qc / qb]
    else:
        disc = qb * qb - 4 * qa * qc
        if disc >= 0:
            q = -0.5 * (qb + math.copysign(math.sqrt(disc), qb))
            roots = sorted({q / qa, qc / q} if q != 0 else {0.0})
    edges = [-math.inf, *roots, math.inf]
    pieces = []
    for lo, hi in itertools.pairwise(edges):
        if math.isinf(lo) and math.isinf(hi):
            probe = a / b
        elif math.isinf(lo):
            probe = hi - max(1.0, abs(hi))
        elif math.isinf(hi):
            probe = lo + max(1.0, abs(lo))
        else:
            probe = (lo + hi) / 2
        pieces.append((lo, hi, accepted(probe)))
    estimate = a / b
    holding = [i for i, (lo, hi, ok) in enumerate(pieces) if lo <= estimate <= hi and ok]
    if not holding:
        # a zero-variance arm at 0 (e.g. no conversions): the set is the estimate alone
        return (estimate - 1, estimate - 1)
    k = holding[0]
    first = last = k
    while first > 0 and pieces[first - 1][2]:
        first -= 1
    while last < len(pieces) - 1 and pieces[last + 1][2]:
        last += 1
    low, high = pieces[first][0], pieces[last][1]
    if not low < 1 < high and accepted(1.0):
        low, high = -math.inf, math.inf
    return (low - 1, high - 1)


def _welch_df(var_c: float, n_c: int, var_t: float, n_t: int) -> float:
    denominator = var_c**2 / (n_c - 1) + var_t**2 / (n_t - 1)
    return (var_c + var_t) ** 2 / denominator if denominator > 0 else math.nan


def _interval(estimate: float, half_width: float, alternative: Alternative) -> tuple[float, float]:
    if alternative == "greater":
        return (estimate - half_width, math.inf)
    if alternative == "less":
        return (-math.inf, estimate + half_width)
    return (estimate - half_width, estimate + half_width)


def _check_method_params(
    alpha: float, alternative: str, method: str, tuning_n: float
) -> tuple[float, Alternative, Method]:
    alpha = _check_alpha(alpha)
    _check_choice(alternative, Alternative, "alternative")
    _check_choice(method, Method, "method")
    _check_positive(tuning_n, "tuning_n")
    return alpha, alternative, method  # type: ignore[return-value]


def _infer(
    pair: _Pair,
    *,
    alpha: float,
    alternative: Alternative,
    method: Method,
    tuning_n: float,
) -> EffectResult:
    c, t = pair.control, pair.treatment
    nan_ci = (math.nan, math.nan)
    inputs = (c.mean, t.mean, c.unit_var, t.unit_var)
    flag = pair.flag
    if flag is None and (c.n < 2 or t.n < 2):
        flag = "too_few_users"
    if flag is None and not all(math.isfinite(v) for v in inputs):
        flag = "non_finite_input"

    abs_lift = t.mean - c.mean
    rel_lift = t.mean / c.mean - 1 if c.mean != 0 else math.nan
    var_c = c.unit_var / c.n if c.n > 0 else math.nan
    var_t = t.unit_var / t.n if t.n > 0 else math.nan
    se2 = var_c + var_t
    if flag is None and not se2 > 0:
        flag = "zero_variance"

    common = {
        "metric_kind": pair.kind,
        "method": method,
        "alternative": alternative,
        "alpha": alpha,
        "control_n": c.n,
        "treatment_n": t.n,
        "control_mean": c.mean,
        "treatment_mean": t.mean,
        "abs_lift": abs_lift,
        "theta": pair.theta,
        "variance_reduction": pair.variance_reduction,
        "tuning_n": float(tuning_n) if method == "sequential" else None,
    }
    if flag is not None:
        return EffectResult(
            **common,
            abs_se=math.nan,
            abs_ci=nan_ci,
            rel_lift=rel_lift if math.isfinite(rel_lift) else math.nan,
            rel_se=math.nan,
            rel_ci=nan_ci,
            statistic=math.nan,
            df=None,
            p_value=math.nan,
            flag=flag,
            valid=False,
            interval_alpha=alpha,
        )

    se = math.sqrt(se2)
    statistic = abs_lift / se
    rel_se = math.nan
    if c.mean != 0:
        # delta method on the ratio of two independent means
        rel_se = math.sqrt(var_t / c.mean**2 + t.mean**2 * var_c / c.mean**4)
    else:
        flag = "zero_control_mean"

    df: float | None = None
    ratio: float | None = None
    if method == "sequential":
        ratio = _sequential_ratio((c.n + t.n) / 2, tuning_n, alpha)
        tau2 = se2 * ratio
        log_lr = 0.5 * math.log(se2 / (se2 + tau2)) + tau2 * abs_lift**2 / (2 * se2 * (se2 + tau2))
        p_value = min(1.0, math.exp(-log_lr))
        # one-sided: the two-sided boundary's one side (valid, slightly conservative)
        if (alternative == "greater" and abs_lift <= 0) or (
            alternative == "less" and abs_lift >= 0
        ):
            p_value = 1.0
    else:
        if method == "welch":
            df = _welch_df(var_c, c.n, var_t, t.n)
        if alternative == "two-sided":
            p_value = 2 * _t_cdf(-abs(statistic), df)
        else:
            p_value = _t_cdf(-statistic if alternative == "greater" else statistic, df)
    crit = _critical(method, alternative, alpha, df, ratio)
    rel_ci = nan_ci
    if flag is None:
        rel_ci = _relative_interval(c.mean, var_c, t.mean, var_t, crit, alternative)

    return EffectResult(
        **common,
        abs_se=se,
        abs_ci=_interval(abs_lift, crit * se, alternative),
        rel_lift=rel_lift,
        rel_se=rel_se,
        rel_ci=rel_ci,
        statistic=statistic,
        df=df,
        p_value=p_value,
        flag=flag,
        valid=flag is None,
        control_se=math.sqrt(var_c),
        treatment_se=math.sqrt(var_t),
        mixture_ratio=ratio,
        interval_alpha=alpha,
    )


# --------------------------------------------------------------------------------------------
# public tests


def compare_means(
    control: SampleStats,
    treatment: SampleStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "welch",
    tuning_n: float = DEFAULT_TUNING_N,
) -> EffectResult:
    """Is the treatment's per-user mean different from control's?

    H0: μ_t = μ_c. ``method="welch"``: Welch's t-test with Welch–Satterthwaite df (matches
    ``scipy.stats.ttest_ind(equal_var=False)``); ``"z"``: the same statistic with normal
    quantiles; ``"sequential"``: the always-valid normal-mixture confidence sequence of
    ``confidence_sequence`` (``tuning_n`` users per variant is where it is tightest).
    Proportions: ``SampleStats(n, conversions, conversions)``.

    The relative interval is Fieller's: the relative lifts r at which the same test of
    H0: μ_t = (1 + r)·μ_c is not rejected (asymmetric; it excludes 0 exactly when p < alpha).
    ``rel_se`` is the delta-method standard error on the ratio of means,
    var(rel) ≈ var_t/(n_t m_c²) + m_t² var_c/(n_c m_c⁴). Degenerate data → ``valid=False``.
    """
    alpha, alternative, method = _check_method_params(alpha, alternative, method, tuning_n)
    if not isinstance(control, SampleStats) or not isinstance(treatment, SampleStats):
        raise TypeError("compare_means takes two SampleStats")
    return _infer(
        _pair_means(control, treatment),
        alpha=alpha,
        alternative=alternative,
        method=method,
        tuning_n=tuning_n,
    )


def compare_ratios(
    control: RatioStats,
    treatment: RatioStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "welch",
    tuning_n: float = DEFAULT_TUNING_N,
) -> EffectResult:
    """Is the treatment's ratio Σnum/Σden (e.g. revenue per order) different from control's?

    The user is the randomisation unit, so numerator and denominator are correlated within a
    user; the delta method keeps the covariance:
    n·Var(R̂) ≈ (σ²_num − 2R·σ_num,den + R²·σ²_den) / μ²_den. The difference of the two ratios
    then goes through the same Welch / z / sequential machinery as ``compare_means`` (Welch df
    from the delta variances; Fieller's relative interval on the two ratios). A variant whose denominator sums to 0 → flag "zero_denominator".
    """
    alpha, alternative, method = _check_method_params(alpha, alternative, method, tuning_n)
    if not isinstance(control, RatioStats) or not isinstance(treatment, RatioStats):
        raise TypeError("compare_ratios takes two RatioStats")
    return _infer(
        _pair_ratios(control, treatment),
        alpha=alpha,
        alternative=alternative,
        method=method,
        tuning_n=tuning_n,
    )


def cuped(
    control: CupedStats,
    treatment: CupedStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "welch",
    tuning_n: float = DEFAULT_TUNING_N,
) -> EffectResult:
    """Treatment vs control on ``y``, variance reduced with the pre-period covariate ``x``.

    θ = Σ_arms S_xy / Σ_arms S_xx from within-arm centred sums (one θ for both arms: the OLS
    slope of y ~ treatment + x). Adjusted mean per arm: ȳ − θ(x̄_arm − x̄_all); adjusted variance:
    σ²_y − 2θσ_xy + θ²σ²_x. The adjusted means then go through the same Welch/delta-method
    machinery as ``compare_means`` (θ is treated as known, which is negligible at online sizes).
    ``variance_reduction`` = 1 − Var(adjusted diff)/Var(raw diff) ≈ ρ²(x, y).

    Users without pre-period data must be passed with ``x = 0`` (see ``CupedStats``).
    A constant covariate gives θ = 0, i.e. the unadjusted test.
    """
    alpha, alternative, method = _check_method_params(alpha, alternative, method, tuning_n)
    if not isinstance(control, CupedStats) or not isinstance(treatment, CupedStats):
        raise TypeError("cuped takes two CupedStats")
    return _infer(
        _pair_cuped(control, treatment),
        alpha=alpha,
        alternative=alternative,
        method=method,
        tuning_n=tuning_n,
    )
