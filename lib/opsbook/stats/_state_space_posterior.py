"""The counterfactual forecast of :func:`opsbook.stats.state_space.causal_impact` with the
uncertainty of the model's variances carried in, not plugged in.

The model on the standardised pre-period: y_t = level_t + season_t + β·x_t + e_t with
e_t ~ N(0, σ²) and level_{t+1} = level_t + η_t, η_t ~ N(0, r·σ²); the initial level, the
seasonal pattern and β are diffuse (flat priors), as in statsmodels' exact diffuse filter.

Priors on the two variances, in terms of σ² and the level-to-noise ratio r:

* σ²: an inverse gamma worth 0.01 observations centred on the pre-period's variance (bsts' weakly
  informative default, nearly Jeffreys' 1/σ²). Given r it is conjugate: σ² | r, data is inverse
  gamma and the forecast is a multivariate Student t, exactly (the scale uncertainty is
  integrated out, not approximated).
* log r ~ N(log 0.02, 2.5²): a day's level change is typically 14 % of the day's noise (an
  exponential-smoothing weight near 0.13), and between a nearly constant level (r = 1.5e-4,
  weight 0.012) and one that moves as much as the noise (r = 2.7, weight 0.78) with 95 %
  probability. It is proper, so r cannot collapse to 0 (a constant level whose forecast is
  certain for ever) when a short pre-period cannot tell a steady level from a drifting one.
  (CausalImpact's default is narrower: σ_level near 1 % of the series' sd, worth 32
  observations; simulated drifting levels then get intervals far too narrow.)

The posterior of log r is one-dimensional: it is evaluated on a grid (a coarse pass over the
prior's ±5 sd finds where the mass is, a fine pass of equally spaced nodes integrates it), one
Kalman filter per node. The forecast is the weighted mixture of the nodes' Student t
distributions, each with its exact joint covariance over the forecast days, so intervals of any
sum of days (a day, the running total, the whole period) are quantiles of a mixture of univariate
t distributions, found by bisection. No random numbers: the result is a function of the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

RATIO_PRIOR_MEDIAN = 0.02
RATIO_PRIOR_LOG_SD = 2.5
NOISE_PRIOR_WEIGHT = 0.01  # prior observations; the guess is the standardised series' sd, 1
COARSE_NODES = 17
FINE_NODES = 25
# the posterior of log r is "mostly the prior" when its sd is above this share of the prior's
# (21-28 days of data leave about 0.8; 84 days of a drifting level about 0.3)
PRIOR_DOMINATED_SHARE = 0.7


@dataclass(frozen=True)
class PosteriorForecast:
    """The forecast of the next days as a mixture over the level-to-noise ratio's posterior.

    Node k has probability ``weights[k]``, ratio ``ratios[k]``, and a multivariate Student t
    forecast with ``dof`` degrees of freedom, location ``means[k]`` and scale matrix
    ``scales[k]`` (standardised units). ``log_ratio_sd`` is the posterior sd of log r.
    """

    ratios: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    dof: float
    log_ratio_sd: float

    @property
    def prior_dominated(self) -> bool:
        """Did the pre-period say little about how fast the level moves?"""
        return self.log_ratio_sd > PRIOR_DOMINATED_SHARE * RATIO_PRIOR_LOG_SD

    def covariance(self) -> np.ndarray:
        """The posterior predictive covariance of the forecast days (standardised units):
        within-node covariances (t scale × dof / (dof − 2)) plus the spread of node means."""
        inflation = self.dof / (self.dof - 2)
        mean = self.weights @ self.means
        spread = self.means - mean
        within = np.einsum("k,kst->st", self.weights * inflation, self.scales)
        return within + np.einsum("k,ks,kt->st", self.weights, spread, spread)

    def sums(self, combinations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Location and scale, per node, of each row of ``combinations`` (D × days) applied to
        the forecast: arrays of shape (nodes, D)."""
        location = self.means @ combinations.T
        variance = np.einsum("ds,kst,dt->kd", combinations, self.scales, combinations)
        return location, np.sqrt(np.maximum(variance, 0.0))

    def cdf(self, location: np.ndarray, scale: np.ndarray, value: np.ndarray) -> np.ndarray:
        """P(sum ≤ value) under the mixture, per column (a sum of no day is 0 for certain)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            standardised = (value - location) / scale
        certain = np.where(value >= location, np.inf, -np.inf)
        return self.weights @ special.stdtr(self.dof, np.where(scale > 0, standardised, certain))

    def quantiles(
        self, location: np.ndarray, scale: np.ndarray, probabilities: tuple[float, ...]
    ) -> np.ndarray:
        """Quantiles of the mixture per column: shape (len(probabilities), D). Bisection
        between the smallest and largest node quantile, which bracket the mixture's."""
        out = []
        for probability in probabilities:
            node_quantiles = location + scale * special.stdtrit(self.dof, probability)
            low, high = node_quantiles.min(axis=0), node_quantiles.max(axis=0)
            for _ in range(60):
                middle = (low + high) / 2
                below = self.cdf(location, scale, middle) < probability
                low, high = np.where(below, middle, low), np.where(below, high, middle)
            out.append((low + high) / 2)
        return np.array(out)


def forecast_design(model: Any, future_exog: np.ndarray | None, steps: int) -> np.ndarray:
    """Rows g_h = Z_h T^h: forecast day h's observation as a function of the first forecast
    state (the controls of day h in the regression states' place)."""
    design = model.ssm["design"]
    base = design[0, :, 0] if design.ndim == 3 else design[0]
    transition = model.ssm["transition"]
    transition = transition[:, :, 0] if transition.ndim == 3 else transition
    states = transition.shape[0]
    rows = np.empty((steps, states))
    power = np.eye(states)
    for h in range(steps):
        row = base.copy()
        if future_exog is not None:
            row[states - future_exog.shape[1] :] = future_exog[h]
        rows[h] = row @ power
        power = transition @ power
    return rows


def forecast_moments(
    rows: np.ndarray, state: np.ndarray, state_cov: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and joint covariance (in units of the noise variance σ²) of the forecast days
    given the first forecast state ~ N(state, σ²·state_cov).

    Cov(y_i, y_j) = g_i P g_j' + r·min(i, j) + [i = j]: the level is the only state with noise,
    every observation loads 1 on it and the transition keeps it, so the level steps between
    the first forecast day and day i add r per step shared by days i and j.
    """
    steps = rows.shape[0]
    days = np.arange(steps)
    covariance = rows @ state_cov @ rows.T + ratio * np.minimum.outer(days, days)
    covariance[days, days] += 1.0
    return rows @ state, covariance


def structural_model(
    standardised: np.ndarray,
    exog: np.ndarray | None,
    seasonal_period: int | None,
    *,
    exact_diffuse: bool = False,
) -> Any:
    """The model on the standardised pre-period: local level + fixed seasonal pattern +
    controls as regressors. statsmodels' default start (``exact_diffuse=False``) gives the
    states a variance of 1e6 and skips the first (number of states) days, observed or not; the
    posterior needs the exact diffuse start, whose likelihood scales with the noise variance and
    skips exactly the days spent learning the states (more when the first days are missing)."""
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    return UnobservedComponents(
        standardised,
        level="local level",
        seasonal=seasonal_period,
        stochastic_seasonal=False,
        exog=exog,
        # Coefficients as states: the filter carries their uncertainty into the forecast.
        mle_regression=False,
        use_exact_diffuse=exact_diffuse,
    )


def posterior_forecast(
    standardised: np.ndarray,
    exog: np.ndarray | None,
    seasonal_period: int | None,
    future_exog: np.ndarray | None,
    steps: int,
) -> PosteriorForecast:
    """The posterior forecast mixture for the ``steps`` days after the standardised pre-period
    (controls ``exog`` in it, ``future_exog`` after it). Raises ``ValueError`` when the
    pre-period's observed days do not pin down the model's states."""
    model = structural_model(standardised, exog, seasonal_period, exact_diffuse=True)
    observed = np.isfinite(standardised)
    noise_shape = NOISE_PRIOR_WEIGHT / 2
    noise_rate = NOISE_PRIOR_WEIGHT / 2
    prior_centre = math.log(RATIO_PRIOR_MEDIAN)

    def node(log_ratio: float) -> tuple[float, float, float, Any]:
        """log posterior density of log r (up to a constant), the inverse gamma's shape and
        rate for σ², and the filter output."""
        ratio = math.exp(log_ratio)
        values = {"sigma2.irregular": 1.0, "sigma2.level": ratio}
        model.update(np.array([values[name] for name in model.param_names]))
        output = model.ssm.filter()
        if output.nobs_diffuse >= standardised.size:
            raise ValueError("the pre-period's observed days do not identify the model's states")
        # days whose prediction still had a diffuse part say nothing about the variances
        learning = np.zeros(standardised.size, dtype=bool)
        start = output.forecasts_error_diffuse_cov[0, 0, : output.nobs_diffuse]
        learning[: output.nobs_diffuse] = start > 1e-9
        used = observed & ~learning
        error = output.forecasts_error[0, used]
        variance = output.forecasts_error_cov[0, 0, used]
        shape = used.sum() / 2 + noise_shape
        rate = float(error @ (error / variance)) / 2 + noise_rate
        log_density = (
            -0.5 * ((log_ratio - prior_centre) / RATIO_PRIOR_LOG_SD) ** 2
            - 0.5 * float(np.log(variance).sum())
            - shape * math.log(rate)
        )
        return log_density, shape, rate, output

    coarse = prior_centre + RATIO_PRIOR_LOG_SD * np.linspace(-5, 5, COARSE_NODES)
    coarse_density = np.array([node(x)[0] for x in coarse])
    supported = coarse[coarse_density > coarse_density.max() - 25]
    spacing = coarse[1] - coarse[0]
    fine = np.linspace(supported.min() - spacing, supported.max() + spacing, FINE_NODES)
    nodes = [node(x) for x in fine]
    log_density = np.array([n[0] for n in nodes])
    weights = np.exp(log_density - log_density.max())
    weights /= weights.sum()
    mean_log = float(weights @ fine)
    log_ratio_sd = math.sqrt(float(weights @ (fine - mean_log) ** 2))
    kept = np.flatnonzero(weights > 1e-10)  # the rest cannot move a quantile

    rows = forecast_design(model, future_exog, steps)
    means, scales = [], []
    for k in kept:
        _, shape, rate, output = nodes[k]
        mean, covariance = forecast_moments(
            rows,
            output.predicted_state[:, -1],
            output.predicted_state_cov[:, :, -1],
            math.exp(fine[k]),
        )
        means.append(mean)
        scales.append(covariance * (rate / shape))  # σ² | r ~ IG(shape, rate) → t scale
    return PosteriorForecast(
        ratios=np.exp(fine[kept]),
        weights=weights[kept] / weights[kept].sum(),
        means=np.array(means),
        scales=np.array(scales),
        dof=2 * nodes[0][1],
        log_ratio_sd=log_ratio_sd,
    )
