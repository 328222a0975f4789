"""Bayesian read-out (normal approximation): chance to beat control and expected loss."""

from __future__ import annotations

import math
from dataclasses import dataclass

from opsbook.stats._common import (
    MetricKind,
    _check_alpha,
    _check_positive,
    _norm_cdf,
    _norm_ppf,
    _Result,
)
from opsbook.stats.effects import DEFAULT_TUNING_N, _infer, _pair_any
from opsbook.stats.sufficient import AnyStats


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
