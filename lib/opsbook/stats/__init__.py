"""A/B-test and planning statistics on sufficient statistics.

The engine (DuckDB, Spark, ...) aggregates each variant to a handful of sums: ``n``, ``sum``,
``sum_squares`` and, for ratio and CUPED metrics, the second metric's sums and the cross-product.
This module never sees user rows; every function here is a pure function of those sums.

Conventions (``conventions()`` returns them as a dict a report can print):

- Randomisation unit = user. Every metric is a per-user value; a conversion rate is the mean of
  a 0/1 per-user value (``sum = sum_squares = conversions``) and goes through the same Welch test.
- Frequentist default: Welch's t-test on the difference of means, Welch–Satterthwaite degrees of
  freedom, two-sided, ``alpha = 0.05``. ``method="z"`` uses normal quantiles instead.
- Relative lift ``treatment_mean / control_mean - 1`` gets its own delta-method interval on the
  ratio of means: ``var(rel) ≈ var_t/(n_t m_c²) + m_t² var_c/(n_c m_c⁴)``. It is *not* the
  absolute interval divided by the control mean. The p-value always tests the absolute
  difference (the classical Welch test), so at the boundary the relative interval and the
  p-value can disagree slightly.
- Variances come from sums (``(sum_squares - sum²/n)/(n - 1)``); relative rounding noise below
  1e-12 is treated as zero variance. For metrics with a huge mean and a tiny spread, have the
  engine centre the values first.
- Winsorising (capping outliers at a percentile) is the caller's job and happens in the engine
  before the sums are taken; this module assumes the sums already describe capped values.
- Degenerate data (too few users, zero variance, zero control mean, non-finite sums) return a
  result with ``valid=False``, a ``flag`` naming the reason and NaN for what cannot be computed.
  Bad parameters (alpha outside (0, 1), unknown method, negative counts) raise ``ValueError``.
- ``to_dict()`` is JSON-safe: NaN and ±inf (the open end of a one-sided interval) become None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import special

__all__ = [
    "CONVENTIONS",
    "FLAGS",
    "BayesResult",
    "CovariateStats",
    "CupedStats",
    "EffectResult",
    "NonInferiorityResult",
    "RatioStats",
    "SampleStats",
    "SrmResult",
    "TwoProportionResult",
    "adjust_pvalues",
    "bayes_normal",
    "compare_means",
    "compare_ratios",
    "confidence_sequence",
    "conventions",
    "cuped",
    "days_needed",
    "mde_means",
    "mde_proportions",
    "non_inferiority",
    "plan",
    "power_means",
    "power_proportions",
    "sample_size_means",
    "sample_size_proportions",
    "srm_check",
    "two_proportion_test",
    "wilson_interval",
]

Alternative = Literal["two-sided", "greater", "less"]
Method = Literal["welch", "z", "sequential"]
Adjustment = Literal["holm", "bh", "none"]
SrmStatus = Literal["ok", "warn", "invalid"]
Direction = Literal["higher_is_better", "lower_is_better"]
MetricKind = Literal["mean", "ratio", "cuped"]
Flag = Literal[
    "too_few_users",
    "zero_variance",
    "zero_control_mean",
    "zero_denominator",
    "non_finite_input",
    "no_users",
]

#: Every reason a result can be flagged with, in the order they are checked.
FLAGS: tuple[str, ...] = get_args(Flag)

DEFAULT_TUNING_N = 10_000
_ZERO_TOLERANCE = 1e-12


# --------------------------------------------------------------------------------------------
# distributions (scipy.special ufuncs: ~100x faster than scipy.stats on scalars)


def _norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def _norm_ppf(p: float) -> float:
    return float(special.ndtri(p))


def _t_cdf(x: float, df: float | None) -> float:
    if df is None or math.isinf(df):
        return _norm_cdf(x)
    return float(special.stdtr(df, x))


def _t_ppf(p: float, df: float | None) -> float:
    if df is None or math.isinf(df):
        return _norm_ppf(p)
    return float(special.stdtrit(df, p))


# --------------------------------------------------------------------------------------------
# parameter checks: these raise, because a wrong parameter is a bug in the caller


def _check_alpha(alpha: float, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating):
        raise ValueError(f"{name} must be a number in (0, 1), got {alpha!r}")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {alpha!r}")
    return float(alpha)


def _check_choice(value: str, allowed: Any, name: str) -> str:
    options = get_args(allowed)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _check_count(value: Any, name: str) -> int:
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}") from None
    if not math.isfinite(as_float) or as_float < 0 or as_float != int(as_float):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(as_float)


def _check_positive(value: Any, name: str) -> float:
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(as_float) or as_float <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return as_float


def _as_sum(value: Any, n: int) -> float:
    # SQL SUM over no rows is NULL: an empty variant may arrive with None sums.
    if value is None:
        return 0.0 if n == 0 else math.nan
    return float(value)


# --------------------------------------------------------------------------------------------
# JSON-safe output


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, tuple | list | np.ndarray):
        return [_json_safe(v) for v in value]
    return value


class _Result:
    """Shared rendering for the frozen result dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict: NaN and ±inf become None, tuples become lists."""
        return {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame; an interval ``x_ci`` becomes ``x_ci_low`` and ``x_ci_high``."""
        row: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, tuple) and len(value) == 2:
                row[f"{f.name}_low"], row[f"{f.name}_high"] = value
            else:
                row[f.name] = value
        return pd.DataFrame([row])


# --------------------------------------------------------------------------------------------
# sufficient statistics


def _centered(sum_ab: float, sum_a: float, sum_b: float, n: int) -> float:
    """Σ(a - ā)(b - b̄) from raw sums; rounding noise around zero becomes exactly zero."""
    if n == 0:
        return 0.0
    centered = sum_ab - sum_a * sum_b / n
    if abs(centered) <= _ZERO_TOLERANCE * max(abs(sum_ab), abs(sum_a * sum_b / n)):
        return 0.0
    return centered


def _sample_cov(sum_ab: float, sum_a: float, sum_b: float, n: int) -> float:
    if n < 2:
        return math.nan
    return _centered(sum_ab, sum_a, sum_b, n) / (n - 1)


def _sample_var(sum_squares: float, sum_: float, n: int) -> float:
    if n < 2:
        return math.nan
    return max(_centered(sum_squares, sum_, sum_, n), 0.0) / (n - 1)


def _finite_values(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf; fill or drop them explicitly first")
    return array


class _Addable:
    def __add__(self, other: Any) -> Any:
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))  # type: ignore[arg-type]

    def __radd__(self, other: Any) -> Any:
        # lets builtin sum() start from 0
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True)
class SampleStats(_Addable):
    """Per-variant sums of a per-user metric: count, Σy and Σy².

    For a conversion rate pass ``sum = sum_squares = conversions`` (a 0/1 value squares to
    itself). ``None`` sums are read as 0 when ``n == 0`` (SQL SUM over no rows).
    """

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        n = _check_count(self.n, "n")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "sum", _as_sum(self.sum, n))
        object.__setattr__(self, "sum_squares", _as_sum(self.sum_squares, n))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof = 1); NaN below two users."""
        return _sample_var(self.sum_squares, self.sum, self.n)

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    @classmethod
    def from_values(cls, values: Any) -> SampleStats:
        """Sums of an array of per-user values (NaN is refused: decide on missing users first)."""
        array = _finite_values(values, "values")
        return cls(n=array.size, sum=float(array.sum()), sum_squares=float(array @ array))


@dataclass(frozen=True)
class RatioStats(_Addable):
    """Per-variant sums of a ratio metric Σnum / Σden, with the user as randomisation unit.

    Revenue per order: ``num`` = a user's revenue, ``den`` = a user's orders; ``cross_sum`` =
    Σ num·den over users.
    """

    n: int
    num_sum: float
    num_sum_squares: float
    den_sum: float
    den_sum_squares: float
    cross_sum: float

    def __post_init__(self) -> None:
        n = _check_count(self.n, "n")
        object.__setattr__(self, "n", n)
        for name in ("num_sum", "num_sum_squares", "den_sum", "den_sum_squares", "cross_sum"):
            object.__setattr__(self, name, _as_sum(getattr(self, name), n))

    @property
    def num_mean(self) -> float:
        return self.num_sum / self.n if self.n > 0 else math.nan

    @property
    def den_mean(self) -> float:
        return self.den_sum / self.n if self.n > 0 else math.nan

    @property
    def ratio(self) -> float:
        return self.num_sum / self.den_sum if self.den_sum != 0 else math.nan

    @property
    def num_variance(self) -> float:
        return _sample_var(self.num_sum_squares, self.num_sum, self.n)

    @property
    def den_variance(self) -> float:
        return _sample_var(self.den_sum_squares, self.den_sum, self.n)

    @property
    def covariance(self) -> float:
        return _sample_cov(self.cross_sum, self.num_sum, self.den_sum, self.n)

    @classmethod
    def from_values(cls, num: Any, den: Any) -> RatioStats:
        num_a, den_a = _finite_values(num, "num"), _finite_values(den, "den")
        if num_a.shape != den_a.shape:
            raise ValueError("num and den must have one value per user each")
        return cls(
            n=num_a.size,
            num_sum=float(num_a.sum()),
            num_sum_squares=float(num_a @ num_a),
            den_sum=float(den_a.sum()),
            den_sum_squares=float(den_a @ den_a),
            cross_sum=float(num_a @ den_a),
        )


@dataclass(frozen=True)
class CupedStats(_Addable):
    """Per-variant sums of an outcome ``y`` and its pre-period covariate ``x`` (usually the same
    metric measured before exposure).

    Users without pre-period data count with ``x = 0``: the caller fills 0 in the engine (and may
    run a separate analysis by an indicator of "had pre-period data"). Filling 0 keeps every
    user in the comparison; since θ is one number for everybody the adjustment stays unbiased
    under randomisation, it only reduces variance less for those users.
    """

    n: int
    y_sum: float
    y_sum_squares: float
    x_sum: float
    x_sum_squares: float
    xy_sum: float

    def __post_init__(self) -> None:
        n = _check_count(self.n, "n")
        object.__setattr__(self, "n", n)
        for name in ("y_sum", "y_sum_squares", "x_sum", "x_sum_squares", "xy_sum"):
            object.__setattr__(self, name, _as_sum(getattr(self, name), n))

    @property
    def y_mean(self) -> float:
        return self.y_sum / self.n if self.n > 0 else math.nan

    @property
    def x_mean(self) -> float:
        return self.x_sum / self.n if self.n > 0 else math.nan

    @property
    def y_variance(self) -> float:
        return _sample_var(self.y_sum_squares, self.y_sum, self.n)

    @property
    def x_variance(self) -> float:
        return _sample_var(self.x_sum_squares, self.x_sum, self.n)

    @property
    def covariance(self) -> float:
        return _sample_cov(self.xy_sum, self.x_sum, self.y_sum, self.n)

    def outcome(self) -> SampleStats:
        """The unadjusted outcome sums."""
        return SampleStats(self.n, self.y_sum, self.y_sum_squares)

    @classmethod
    def from_values(cls, y: Any, x: Any) -> CupedStats:
        y_a, x_a = _finite_values(y, "y"), _finite_values(x, "x")
        if y_a.shape != x_a.shape:
            raise ValueError("y and x must have one value per user each")
        return cls(
            n=y_a.size,
            y_sum=float(y_a.sum()),
            y_sum_squares=float(y_a @ y_a),
            x_sum=float(x_a.sum()),
            x_sum_squares=float(x_a @ x_a),
            xy_sum=float(x_a @ y_a),
        )


#: The same thing under its generic name.
CovariateStats = CupedStats

AnyStats = SampleStats | RatioStats | CupedStats


# --------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class EffectResult(_Result):
    """Treatment vs control on one metric.

    ``abs_lift = treatment_mean - control_mean``; ``rel_lift = treatment_mean/control_mean - 1``.
    For a ratio metric the means are the ratios Σnum/Σden, for CUPED the adjusted means.
    ``p_value`` tests H0: abs_lift = 0 against ``alternative`` ("greater": treatment higher).
    One-sided intervals have an infinite open end. ``df`` is None for normal-based methods.
    ``theta``/``variance_reduction`` are set by ``cuped``, ``tuning_n`` by the sequential method.
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

    @property
    def significant(self) -> bool:
        """Valid and ``p_value < alpha``."""
        return bool(self.valid and self.p_value < self.alpha)

    def conf_int(self, scale: Literal["abs", "rel"] = "abs") -> tuple[float, float]:
        return (
            self.abs_ci
            if _check_choice(scale, Literal["abs", "rel"], "scale") == "abs"
            else self.rel_ci
        )


@dataclass(frozen=True)
class SrmResult(_Result):
    """Sample-ratio-mismatch check: chi-square goodness of fit against the planned split."""

    chi2: float
    df: int
    p_value: float
    status: SrmStatus
    observed_shares: dict[str, float]
    expected_shares: dict[str, float]
    counts: dict[str, int]
    total: int
    warn_below: float
    invalid_below: float
    flag: str | None
    valid: bool

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per variant, the test's figures repeated on every row."""
        return pd.DataFrame(
            {
                "variant": list(self.counts),
                "count": list(self.counts.values()),
                "observed_share": [self.observed_shares[k] for k in self.counts],
                "expected_share": [self.expected_shares[k] for k in self.counts],
                "chi2": self.chi2,
                "df": self.df,
                "p_value": self.p_value,
                "status": self.status,
            }
        )


@dataclass(frozen=True)
class BayesResult(_Result):
    """Normal-approximation Bayesian read-out on the relative lift (GrowthBook style).

    ``chance_to_beat_control`` = P(treatment better | data); ``expected_loss`` = E[max(0, −Δ)]
    (the relative lift given up, in expectation, by shipping the treatment if it is worse);
    ``expected_loss_control`` the same for keeping control. "Better" follows
    ``higher_is_better``.
    """

    metric_kind: MetricKind
    control_mean: float
    treatment_mean: float
    rel_lift: float
    rel_se: float
    posterior_mean: float
    posterior_sd: float
    chance_to_beat_control: float
    expected_loss: float
    expected_loss_control: float
    credible_interval: tuple[float, float]
    alpha: float
    prior_mean: float
    prior_var: float | None
    higher_is_better: bool
    flag: str | None
    valid: bool


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


def _sequential_radius(variance: float, ratio: float, alpha: float) -> float:
    # {θ0 : Λ(θ0) < 1/α} for the normal-mixture likelihood ratio Λ, see confidence_sequence
    return math.sqrt(variance * 2 * (1 + ratio) / ratio * math.log(math.sqrt(1 + ratio) / alpha))


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
        abs_half = _sequential_radius(se2, ratio, alpha)
        rel_half = _sequential_radius(rel_se**2, ratio, alpha) if flag is None else math.nan
    else:
        if method == "welch":
            df = _welch_df(var_c, c.n, var_t, t.n)
        if alternative == "two-sided":
            p_value = 2 * _t_cdf(-abs(statistic), df)
            crit = _t_ppf(1 - alpha / 2, df)
        else:
            p_value = _t_cdf(-statistic if alternative == "greater" else statistic, df)
            crit = _t_ppf(1 - alpha, df)
        abs_half, rel_half = crit * se, crit * rel_se

    return EffectResult(
        **common,
        abs_se=se,
        abs_ci=_interval(abs_lift, abs_half, alternative),
        rel_lift=rel_lift,
        rel_se=rel_se,
        rel_ci=_interval(rel_lift, rel_half, alternative) if flag is None else nan_ci,
        statistic=statistic,
        df=df,
        p_value=p_value,
        flag=flag,
        valid=flag is None,
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

    The relative interval is the delta method on the ratio of means,
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
    from the delta variances). A variant whose denominator sums to 0 → flag "zero_denominator".
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


def confidence_sequence(
    control: AnyStats,
    treatment: AnyStats,
    *,
    alpha: float = 0.05,
    tuning_n: float = DEFAULT_TUNING_N,
    alternative: Alternative = "two-sided",
) -> EffectResult:
    """Always-valid interval and p-value for daily peeking (any of the three kinds of stats).

    Method: the normal-mixture sequential probability ratio test (mSPRT, Johari, Koomen,
    Pekelis & Walsh 2017/2022), equivalently Robbins' normal-mixture confidence sequence in the
    asymptotic form of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas (2023) / Howard et al.
    (2021). With the estimate θ̂ ~ N(θ, V) and a N(θ0, τ²) mixture over the alternative,

        Λ(θ0) = sqrt(V/(V+τ²)) · exp(τ²(θ̂−θ0)² / (2V(V+τ²))),

    the p-value is min(1, 1/Λ(0)) and the sequence is {θ0 : Λ(θ0) < 1/α}, i.e. θ̂ ± radius with
    radius² = 2V(V+τ²)/τ² · ln(sqrt((V+τ²)/V)/α). τ² is fixed so the interval is tightest at
    ``tuning_n`` users per variant (set it to the planned n from ``plan``). The variance is the
    plug-in estimate, so validity is asymptotic (fine at online sample sizes).

    P(the interval ever misses the truth, at any look) ≤ α: look as often as you like. Each
    look is valid on its own; a report may also keep the running minimum of the p-value and
    the running intersection of the intervals. One-sided alternatives use one side of the
    two-sided boundary (valid, slightly conservative). The relative interval applies the same
    boundary to the delta-method variance of the relative lift. ``statistic`` is the z value.
    """
    alpha = _check_alpha(alpha)
    _check_choice(alternative, Alternative, "alternative")
    _check_positive(tuning_n, "tuning_n")
    return _infer(
        _pair_any(control, treatment),
        alpha=alpha,
        alternative=alternative,
        method="sequential",
        tuning_n=tuning_n,
    )


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
    +margin). Uses the delta-method relative lift and its SE with the result's df (t) or the
    normal. The default one-sided α = 0.025 matches reading the lower end of a two-sided 95 %
    interval. Takes an ``EffectResult`` or a ``(control, treatment)`` pair of stats (then a Welch
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
    if direction == "higher_is_better":
        bound = rel - crit * se
        statistic = (rel + margin) / se
        p_value = _t_cdf(-statistic, df)
        verdict = bound > -margin
    else:
        bound = rel + crit * se
        statistic = (rel - margin) / se
        p_value = _t_cdf(statistic, df)
        verdict = bound < margin
    return NonInferiorityResult(
        rel, se, margin, direction, alpha, bound, statistic, df, p_value, bool(verdict), None, True
    )


def bayes_normal(
    control: AnyStats,
    treatment: AnyStats,
    *,
    prior_mean: float = 0.0,
    prior_var: float | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> BayesResult:
    """Chance to beat control and expected loss on the relative lift (normal approximation).

    Like GrowthBook's Bayesian engine: the data's relative lift and its delta-method variance
    act as a normal likelihood; with a N(prior_mean, prior_var) prior on the relative lift
    (``prior_var=None``: flat, so the posterior is the likelihood) the posterior is
    N(μ, σ²), μ = (rel/se² + m0/v0)/(1/se² + 1/v0). Chance to beat control = Φ(μ/σ);
    expected loss of shipping = E[max(0, −Δ)] = σφ(μ/σ) − μΦ(−μ/σ) (signs flip when lower is
    better). Credible interval: equal-tailed (1 − α).
    """
    alpha = _check_alpha(alpha)
    prior_mean = float(prior_mean)
    if not math.isfinite(prior_mean):
        raise ValueError(f"prior_mean must be finite, got {prior_mean!r}")
    if prior_var is not None:
        prior_var = _check_positive(prior_var, "prior_var")
    effect = _infer(
        _pair_any(control, treatment),
        alpha=alpha,
        alternative="two-sided",
        method="z",
        tuning_n=DEFAULT_TUNING_N,
    )
    rel, se = effect.rel_lift, effect.rel_se
    common = {
        "metric_kind": effect.metric_kind,
        "control_mean": effect.control_mean,
        "treatment_mean": effect.treatment_mean,
        "rel_lift": rel,
        "rel_se": se,
        "alpha": alpha,
        "prior_mean": prior_mean,
        "prior_var": prior_var,
        "higher_is_better": bool(higher_is_better),
    }
    flag = effect.flag
    if flag is None and not se > 0:
        flag = "zero_variance"
    if flag is not None:
        nan = math.nan
        return BayesResult(
            **common,
            posterior_mean=nan,
            posterior_sd=nan,
            chance_to_beat_control=nan,
            expected_loss=nan,
            expected_loss_control=nan,
            credible_interval=(nan, nan),
            flag=flag,
            valid=False,
        )
    precision = 1 / se**2 + (1 / prior_var if prior_var is not None else 0.0)
    post_mean = (
        rel / se**2 + (prior_mean / prior_var if prior_var is not None else 0.0)
    ) / precision
    post_sd = math.sqrt(1 / precision)
    # "gain" is the lift in the good direction
    gain = post_mean if higher_is_better else -post_mean
    z = gain / post_sd
    density = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    loss_ship = post_sd * density - gain * _norm_cdf(-z)
    loss_keep = post_sd * density + gain * _norm_cdf(z)
    half = _norm_ppf(1 - alpha / 2) * post_sd
    return BayesResult(
        **common,
        posterior_mean=post_mean,
        posterior_sd=post_sd,
        chance_to_beat_control=_norm_cdf(z),
        expected_loss=max(loss_ship, 0.0),
        expected_loss_control=max(loss_keep, 0.0),
        credible_interval=(post_mean - half, post_mean + half),
        flag=None,
        valid=True,
    )


def srm_check(
    counts: Mapping[str, int],
    planned: Mapping[str, float],
    *,
    warn_below: float = 0.01,
    invalid_below: float = 0.001,
) -> SrmResult:
    """Did users land in the variants in the planned proportions (sample ratio mismatch)?

    Pearson chi-square goodness of fit of the observed counts against ``planned`` weights
    (normalised to shares, so ``{"a": 50, "b": 50}`` and ``{"a": .5, "b": .5}`` agree), with
    k − 1 df. status: "invalid" when p < ``invalid_below``, "warn" when p < ``warn_below``,
    else "ok". A variant planned at 0 that received users → chi2 = inf, "invalid". No users at
    all → flag "no_users", status "ok", valid False.
    """
    warn_below = _check_alpha(warn_below, "warn_below")
    invalid_below = _check_alpha(invalid_below, "invalid_below")
    if invalid_below > warn_below:
        raise ValueError("invalid_below must not exceed warn_below")
    if set(counts) != set(planned):
        raise ValueError(
            f"counts and planned name different variants: {sorted(counts)} vs {sorted(planned)}"
        )
    if len(counts) < 2:
        raise ValueError("srm_check needs at least two variants")
    names = [str(k) for k in counts]
    observed = {str(k): _check_count(v, f"counts[{k!r}]") for k, v in counts.items()}
    weights = {}
    for k, v in planned.items():
        weight = float(v)
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"planned[{k!r}] must be a non-negative number, got {v!r}")
        weights[str(k)] = weight
    weight_total = sum(weights.values())
    if weight_total <= 0:
        raise ValueError("planned weights must not all be 0")
    expected_shares = {k: weights[k] / weight_total for k in names}
    total = sum(observed.values())
    common = {
        "expected_shares": expected_shares,
        "counts": observed,
        "total": total,
        "warn_below": warn_below,
        "invalid_below": invalid_below,
    }
    if total == 0:
        return SrmResult(
            math.nan,
            len(names) - 1,
            math.nan,
            "ok",
            {k: math.nan for k in names},
            **common,
            flag="no_users",
            valid=False,
        )
    observed_shares = {k: observed[k] / total for k in names}
    cells = [k for k in names if expected_shares[k] > 0]
    df = len(cells) - 1
    if any(observed[k] > 0 for k in names if expected_shares[k] == 0):
        chi2, p_value = math.inf, 0.0
    else:
        chi2 = sum(
            (observed[k] - total * expected_shares[k]) ** 2 / (total * expected_shares[k])
            for k in cells
        )
        p_value = float(special.chdtrc(df, chi2)) if df > 0 else 1.0
    status: SrmStatus = (
        "invalid" if p_value < invalid_below else "warn" if p_value < warn_below else "ok"
    )
    return SrmResult(chi2, df, p_value, status, observed_shares, **common, flag=None, valid=True)


def adjust_pvalues(pvalues: Any, method: Adjustment = "holm") -> np.ndarray:
    """Multiple-comparison adjustment across metrics/variants; NaN entries pass through.

    "holm": Holm's step-down (family-wise error rate); "bh": Benjamini–Hochberg step-up (false
    discovery rate); "none": unchanged. The family is the non-NaN entries (a degenerate metric
    does not count as a test). Same results as statsmodels ``multipletests`` ("holm",
    "fdr_bh"). Returns a float array of the input's shape.
    """
    _check_choice(method, Adjustment, "method")
    p = np.array(pvalues, dtype=float)
    present = ~np.isnan(p)
    values = p[present]
    if np.any((values < 0) | (values > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = values.size
    if method == "none" or m == 0:
        return p
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adjusted = np.maximum.accumulate((m - rank + 1) * ranked)
    else:
        adjusted = np.minimum.accumulate((m / rank * ranked)[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    p[present] = result
    return p


# --------------------------------------------------------------------------------------------
# quick proportion checks


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


# --------------------------------------------------------------------------------------------
# planning


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


# --------------------------------------------------------------------------------------------
# conventions


def conventions(
    *,
    method: Method = "welch",
    alternative: Alternative = "two-sided",
    alpha: float = 0.05,
    correction: Adjustment = "holm",
    prior_mean: float = 0.0,
    prior_var: float | None = None,
    tuning_n: float | None = None,
    srm_warn_below: float = 0.01,
    srm_invalid_below: float = 0.001,
) -> dict[str, Any]:
    """The conventions behind a report's numbers, as codes and figures a report can print
    (translate the codes through the i18n table; keys and codes are stable)."""
    _check_alpha(alpha)
    _check_choice(method, Method, "method")
    _check_choice(alternative, Alternative, "alternative")
    _check_choice(correction, Adjustment, "correction")
    test = {"welch": "welch_t", "z": "z", "sequential": "msprt_normal_mixture"}[method]
    return {
        "randomisation_unit": "user",
        "test": test,
        "sidedness": alternative,
        "alpha": float(alpha),
        "interval_absolute": "sequential_confidence_sequence" if method == "sequential" else test,
        "interval_relative": "delta_method_ratio_of_means",
        "proportions": "same_test_as_means",
        "ratio_metrics": "delta_method_with_covariance",
        "variance_reduction": "cuped_pooled_theta",
        "multiple_comparisons": correction,
        "bayesian_prior": (
            "flat" if prior_var is None else f"normal(mean={prior_mean:g}, var={prior_var:g})"
        ),
        "bayesian_scale": "relative_lift",
        "sequential_tuning_n": tuning_n if method == "sequential" else None,
        "srm": {
            "test": "chi_square",
            "warn_below": srm_warn_below,
            "invalid_below": srm_invalid_below,
        },
        "planning": "two_proportion_h0_baseline_variance; bonferroni_over_variants",
    }


#: The defaults, for a report that does not override any.
CONVENTIONS: dict[str, Any] = conventions()
