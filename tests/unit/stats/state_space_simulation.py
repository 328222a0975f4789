"""Daily metrics simulated from causal_impact's own model, and whether its intervals cover them.

Shared by the coverage test (tests/unit/stats/test_state_space.py) and the full simulation
(bench/causal_impact_coverage.py). A metric is 200 + a local level (a random walk whose daily
step has variance ``ratio`` × the noise variance) + a fixed weekly pattern (±16) + N(0, 10²)
noise, optionally + 1.5 × a control series (a random walk with its own weekly pattern) that the
model gets as a regressor. With ``ratio=None`` the ratio is drawn from the model's prior, which
makes the series a draw from the very model that is fitted: its 95 % intervals must then cover
95 % of the time, whatever the pre-period's length.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from opsbook.stats._state_space_posterior import (
    RATIO_PRIOR_LOG_SD,
    RATIO_PRIOR_MEDIAN,
    PosteriorForecast,
    posterior_forecast,
)

WEEKLY = np.array([0.0, 8.0, 16.0, 8.0, 0.0, -16.0, -16.0])
NOISE_SD = 10.0
LEVEL = 0.95  # the intervals' nominal coverage (alpha 0.05)


def simulated_metric(
    rng: np.random.Generator, days: int, ratio: float | None, *, control: bool = False
) -> tuple[pd.Series, pd.DataFrame | None, float]:
    """A daily metric over ``days`` days from 2023-01-02, its control (or None), and the
    level-to-noise variance ratio used."""
    if ratio is None:
        ratio = math.exp(rng.normal(math.log(RATIO_PRIOR_MEDIAN), RATIO_PRIOR_LOG_SD))
    index = pd.date_range("2023-01-02", periods=days, freq="D")
    level = 200 + np.cumsum(rng.normal(0, NOISE_SD * math.sqrt(ratio), days))
    y = level + WEEKLY[index.dayofweek] + rng.normal(0, NOISE_SD, days)
    controls = None
    if control:
        market = 100 + np.cumsum(rng.normal(0, 3.0, days)) + WEEKLY[::-1][index.dayofweek]
        y = y + 1.5 * (market - 100)
        controls = pd.DataFrame({"market": market}, index=index)
    return pd.Series(y, index=index, name="orders"), controls, ratio


def standardised(
    series: pd.Series, controls: pd.DataFrame | None, n_pre: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The metric and the controls standardised as causal_impact does: by the mean and sd of
    the first ``n_pre`` days."""
    pre = series.iloc[:n_pre]
    exog = None
    if controls is not None:
        exog = ((controls - controls.iloc[:n_pre].mean()) / controls.iloc[:n_pre].std()).to_numpy()
    return ((series - pre.mean()) / pre.std()).to_numpy(), exog


def counterfactual_posterior(
    series: pd.Series, controls: pd.DataFrame | None, n_pre: int
) -> tuple[PosteriorForecast, np.ndarray]:
    """causal_impact's posterior forecast for the days after the first ``n_pre``, and those
    days' standardised values. causal_impact's intervals are this mixture's quantiles (tested),
    without the maximum-likelihood fit that only gives its point forecast."""
    values, exog = standardised(series, controls, n_pre)
    pre, future = (None, None) if exog is None else (exog[:n_pre], exog[n_pre:])
    return posterior_forecast(values[:n_pre], pre, 7, future, len(series) - n_pre), values[n_pre:]


def covered(posterior: PosteriorForecast, actual: np.ndarray) -> tuple[bool, float]:
    """Does the 95 % interval of the post-period total cover the actual total, and which share
    of the days' 95 % intervals cover their day? (A value is inside the central interval
    exactly when the mixture's CDF at it lies between 2.5 % and 97.5 %.)"""
    steps = len(actual)
    combinations = np.vstack([np.ones(steps), np.eye(steps)])
    location, scale = posterior.sums(combinations)
    values = np.concatenate([[actual.sum()], actual])
    probability = posterior.cdf(location, scale, values)
    inside = (probability >= (1 - LEVEL) / 2) & (probability <= (1 + LEVEL) / 2)
    return bool(inside[0]), float(inside[1:].mean())
