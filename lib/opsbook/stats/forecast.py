"""Forecasts of a KPI series with a stated accuracy: exponential smoothing and SARIMAX chosen by a
rolling-origin backtest, a seasonal-naive baseline beside them, prediction intervals, and the
probability of reaching a period's target.

Conventions:

* **Models** (statsmodels, Gaussian errors): ``ets`` -- additive exponential
  smoothing with a damped trend (and additive seasonality of period ``season`` when the history
  holds at least two full seasons plus the horizon); ``sarimax`` -- ARIMA(1,1,0) with drift (and
  a seasonal difference with a seasonal MA(1) under the same condition); ``naive`` -- the seasonal
  naive baseline (the value one season earlier; the last value without a season) with the
  textbook interval sigma x sqrt(number of seasons ahead), sigma from the seasonal differences.
  Fewer than :data:`MIN_TREND_POINTS` points: simple exponential smoothing (level only, named
  ``ses``) instead of the trend models; fewer than :data:`MIN_POINTS`: no forecast, with a reason.
* **Backtest** (rolling origin): at up to ``origins`` cut points spread over the history's second
  half (the last one ``horizon`` steps before the end, each with at least :data:`MIN_TREND_POINTS`
  points before it) every candidate is refitted on the points before the cut and forecasts the
  next ``horizon`` points. Over all those (actual, forecast) pairs: WAPE = sum|a - f| / sum|a|,
  accuracy = 1 - WAPE, MAPE = mean |a - f| / |a| over the non-zero actuals, and the coverage of
  the 80 % and 95 % intervals (the share of actuals inside them). The chosen model has the lowest
  backtest WAPE; the baseline competes too, so a model that adds nothing is not chosen.
* **Target probability**: futures are simulated from the chosen model (``paths`` sample paths,
  fixed seed, so the result is deterministic); a volume KPI reaches a period's target when the
  actual so far plus the simulated remaining steps sum to at least it; a rate KPI when the mean
  of the period's steps (actual and simulated) does -- the mean of weekly rates standing in for
  the period's own ratio (exact when every week has the same denominator). Parameter
  uncertainty is not simulated, only the innovations.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX
from threadpoolctl import threadpool_limits

Model = Literal["ets", "sarimax", "ses", "naive"]
TargetKind = Literal["volume", "rate"]

#: below this many points there is no forecast
MIN_POINTS = 6
#: below this many points the trend models give way to simple exponential smoothing
MIN_TREND_POINTS = 12
#: the interval levels reported
LEVELS = (0.80, 0.95)
#: most origins a backtest uses (each one refits every candidate)
MAX_ORIGINS = 4


@dataclass(frozen=True)
class Backtest:
    """A model's rolling-origin backtest: ``points`` (actual, forecast) pairs over ``origins``
    cut points."""

    model: str
    origins: int
    points: int
    wape: float
    mape: float
    coverage_80: float
    coverage_95: float

    @property
    def accuracy(self) -> float:
        """1 - WAPE (NaN without a backtest)."""
        return 1 - self.wape


@dataclass(frozen=True)
class Forecast:
    """A series' forecast ``horizon`` steps ahead from the chosen ``model`` (None: no forecast,
    ``reason`` says why), its intervals, the baseline's forecast and every candidate's backtest.
    ``reason`` also names why a simpler model or no backtest was used."""

    model: Model | None
    horizon: int
    point: tuple[float, ...] = ()
    low_80: tuple[float, ...] = ()
    high_80: tuple[float, ...] = ()
    low_95: tuple[float, ...] = ()
    high_95: tuple[float, ...] = ()
    baseline: tuple[float, ...] = ()
    backtests: dict[str, Backtest] = field(default_factory=dict)
    season: int | None = None
    reason: str | None = None
    paths: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def chosen(self) -> Backtest | None:
        return self.backtests.get(self.model) if self.model else None

    @property
    def accuracy(self) -> float:
        chosen = self.chosen
        return chosen.accuracy if chosen else math.nan

    def target_probability(
        self,
        target: float | None,
        *,
        steps: int,
        actual: Sequence[float] = (),
        kind: TargetKind = "volume",
        direction: Literal["higher", "lower"] = "higher",
    ) -> float | None:
        """The probability that the period made of the ``actual`` values so far and the next
        ``steps`` forecast steps reaches ``target`` (see the module's conventions); None without
        a forecast, a target or a simulated step."""
        if self.paths is None or target is None or not math.isfinite(target) or steps < 1:
            return None
        return target_probability(
            self.paths, target, steps=steps, actual=actual, kind=kind, direction=direction
        )


def target_probability(
    paths: np.ndarray,
    target: float,
    *,
    steps: int,
    actual: Sequence[float] = (),
    kind: TargetKind = "volume",
    direction: Literal["higher", "lower"] = "higher",
) -> float:
    """Share of the simulated ``paths`` (repetitions x steps) on which the period reaches
    ``target``: volume -- sum(actual) + the sum of the first ``steps`` simulated steps; rate --
    their mean over len(actual) + ``steps`` steps."""
    if steps > paths.shape[1]:
        raise ValueError(f"{steps} steps asked, {paths.shape[1]} simulated")
    total = float(np.sum(actual)) + paths[:, :steps].sum(axis=1)
    if kind == "rate":
        total = total / (len(actual) + steps)
    reached = total >= target if direction == "higher" else total <= target
    return float(np.mean(reached))


# ============================================================================== the models
def _seasonal(n: int, season: int | None, horizon: int) -> int | None:
    """The season a history of ``n`` points supports: two full seasons and the horizon."""
    if season is None or season < 2 or n < 2 * season + horizon:
        return None
    return season


def _state_space(model: Model, y: np.ndarray, season: int | None):
    """The statsmodels model of ``model`` on ``y`` (not fitted)."""
    if model in ("ets", "ses"):
        # a pandas series: ETS's prediction results need an index for their rows
        y = pd.Series(y)
    if model == "ets":
        return ETSModel(
            y,
            trend="add",
            damped_trend=True,
            seasonal="add" if season else None,
            seasonal_periods=season,
        )
    if model == "ses":
        return ETSModel(y)
    seasonal = (0, 1, 1, season) if season else (0, 0, 0, 0)
    return SARIMAX(y, order=(1, 1, 0), seasonal_order=seasonal, trend="t")


def fit_model(model: Model, y: np.ndarray, season: int | None = None):
    """The fitted statsmodels results of a state-space ``model`` on ``y`` (quietly: a short
    series often stops the optimiser at its iteration limit, which the backtest then judges).
    One BLAS thread: the matrices are tiny, and threads only contend on a busy machine."""
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return _state_space(model, y, season).fit(disp=False)


def _naive(y: np.ndarray, horizon: int, season: int | None) -> dict[str, np.ndarray]:
    """Seasonal naive forecast with intervals sigma x sqrt(k + 1), k the number of whole
    seasons before step h, sigma the root mean square of the seasonal differences."""
    m = season or 1
    steps = np.arange(horizon)
    point = y[len(y) - m + steps % m]
    diffs = y[m:] - y[:-m]
    sigma = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else math.nan
    scale = sigma * np.sqrt(steps // m + 1)
    out = {"point": point.astype(float)}
    for level in LEVELS:
        z = _z(level)
        out[f"low_{round(level * 100)}"] = point - z * scale
        out[f"high_{round(level * 100)}"] = point + z * scale
    out["sigma"] = np.full(horizon, sigma)
    return out


def _z(level: float) -> float:
    return float(ndtri(0.5 + level / 2))


def predict(model: Model, y: np.ndarray, horizon: int, season: int | None = None) -> dict:
    """``model``'s point forecast and 80 % / 95 % intervals ``horizon`` steps after ``y``
    (arrays), and for a state-space model its fitted results (``results``)."""
    if model == "naive":
        return _naive(y, horizon, season)
    results = fit_model(model, y, season)
    if model == "sarimax":
        found = results.get_forecast(horizon)
        point = found.predicted_mean
        bounds = {level: found.conf_int(alpha=1 - level) for level in LEVELS}
    else:
        found = results.get_prediction(start=len(y), end=len(y) + horizon - 1)
        point = found.predicted_mean
        bounds = {level: found.pred_int(alpha=1 - level) for level in LEVELS}
    out = {"point": np.asarray(point, dtype=float), "results": results}
    for level, pair in bounds.items():
        pair = np.asarray(pair, dtype=float)
        out[f"low_{round(level * 100)}"] = pair[:, 0]
        out[f"high_{round(level * 100)}"] = pair[:, 1]
    return out


# ============================================================================== the backtest
def backtest_origins(n: int, horizon: int, origins: int = MAX_ORIGINS) -> list[int]:
    """The cut points (numbers of points fitted) of a rolling-origin backtest on ``n`` points:
    up to ``origins`` evenly spread from the later of the history's middle and
    :data:`MIN_TREND_POINTS` to ``n - horizon``; empty when no cut leaves ``horizon`` points."""
    last = n - horizon
    first = max(MIN_TREND_POINTS, n // 2)
    if last < first:
        return [last] if last >= MIN_POINTS else []
    count = min(origins, last - first + 1)
    return sorted({round(float(c)) for c in np.linspace(first, last, count)})


def backtest(
    model: Model, y: np.ndarray, horizon: int, season: int | None, cuts: Sequence[int]
) -> Backtest:
    """``model``'s accuracy, MAPE and interval coverage over the cut points ``cuts``."""
    actual, point, inside_80, inside_95 = [], [], [], []
    for cut in cuts:
        train, test = y[:cut], y[cut : cut + horizon]
        found = predict(model, train, len(test), _seasonal(cut, season, len(test)))
        actual.append(test)
        point.append(found["point"])
        inside_80.append((test >= found["low_80"]) & (test <= found["high_80"]))
        inside_95.append((test >= found["low_95"]) & (test <= found["high_95"]))
    if not actual:
        return Backtest(model, 0, 0, math.nan, math.nan, math.nan, math.nan)
    a, f = np.concatenate(actual), np.concatenate(point)
    return Backtest(
        model=model,
        origins=len(cuts),
        points=len(a),
        wape=wape(a, f),
        mape=mape(a, f),
        coverage_80=float(np.mean(np.concatenate(inside_80))),
        coverage_95=float(np.mean(np.concatenate(inside_95))),
    )


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error sum|a - f| / sum|a| (NaN when the actuals are all 0)."""
    scale = float(np.sum(np.abs(actual)))
    return float(np.sum(np.abs(actual - forecast))) / scale if scale > 0 else math.nan


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error over the non-zero actuals (NaN when there are none)."""
    keep = actual != 0
    if not keep.any():
        return math.nan
    return float(np.mean(np.abs((actual[keep] - forecast[keep]) / actual[keep])))


# ============================================================================== the forecast
def forecast(
    values: Sequence[float],
    horizon: int,
    *,
    season: int | None = None,
    origins: int = MAX_ORIGINS,
    simulate_steps: int | None = None,
    paths: int = 2000,
    seed: int = 0,
) -> Forecast:
    """Forecast ``values`` (a regular series, oldest first, no gaps) ``horizon`` steps ahead
    with the candidate that backtests best, and simulate ``simulate_steps`` (default the
    horizon) steps of ``paths`` futures for target probabilities (see the module's
    conventions). Too short a series gives a simpler model or no forecast, with a reason
    (``too_short``: fewer than :data:`MIN_POINTS`; ``no_trend``: simple exponential smoothing;
    ``no_backtest``: too short for a backtest, accuracy unknown)."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    y = np.asarray(values, dtype=float)
    if not np.isfinite(y).all():
        raise ValueError("values must be finite (fill or cut gaps first)")
    n = len(y)
    if n < MIN_POINTS:
        return Forecast(model=None, horizon=horizon, reason="too_short")
    usable = _seasonal(n, season, horizon)
    reason = None
    candidates: tuple[Model, ...] = ("ets", "sarimax", "naive")
    if n < MIN_TREND_POINTS:
        candidates, reason = ("ses", "naive"), "no_trend"
    cuts = backtest_origins(n, horizon, origins)
    backtests = {m: backtest(m, y, horizon, season, cuts) for m in candidates}
    if cuts:
        model = min(candidates, key=lambda m: (_score(backtests[m].wape), candidates.index(m)))
    else:
        model, reason = candidates[0], reason or "no_backtest"
    steps = max(horizon, simulate_steps or horizon)
    found = predict(model, y, steps, usable)
    baseline = _naive(y, horizon, usable)["point"]
    return Forecast(
        model=model,
        horizon=horizon,
        point=_tuple(found["point"][:horizon]),
        low_80=_tuple(found["low_80"][:horizon]),
        high_80=_tuple(found["high_80"][:horizon]),
        low_95=_tuple(found["low_95"][:horizon]),
        high_95=_tuple(found["high_95"][:horizon]),
        baseline=_tuple(baseline),
        backtests=backtests,
        season=usable,
        reason=reason,
        paths=_simulate(model, found, y, steps, usable, paths, seed),
    )


def _score(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def _tuple(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _simulate(
    model: Model,
    found: dict,
    y: np.ndarray,
    steps: int,
    season: int | None,
    paths: int,
    seed: int,
) -> np.ndarray:
    """``paths`` x ``steps`` simulated futures of the fitted model (innovations only)."""
    rng = np.random.default_rng(seed)
    if model == "naive":
        m = season or 1
        sigma = float(found["sigma"][0]) if math.isfinite(found["sigma"][0]) else 0.0
        shocks = rng.normal(0.0, sigma, size=(paths, steps))
        out = np.empty((paths, steps))
        for h in range(steps):
            before = out[:, h - m] if h >= m else np.full(paths, y[len(y) - m + h])
            out[:, h] = before + shocks[:, h]
        return out
    with threadpool_limits(1):
        drawn = found["results"].simulate(
            steps, anchor="end", repetitions=paths, rng=np.random.default_rng(seed)
        )
    return np.asarray(drawn, dtype=float).reshape(steps, paths).T
