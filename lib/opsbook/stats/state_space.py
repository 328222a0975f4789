"""What did a campaign add when there was no holdout? A counterfactual from the pre-period.

:func:`causal_impact`: a CausalImpact-style structural time series. A model of the daily metric
(local level + fixed weekly pattern, plus control series as regressors) is fitted on the
pre-period only and forecast over the post-period; the forecast is the counterfactual ("what
would have happened without the campaign") and actual − forecast is the effect. The intervals
carry the uncertainty of the model's noise variances: they are quantiles of the Bayesian
posterior forecast, a mixture over the level-to-noise ratio's posterior (see
:mod:`opsbook.stats._state_space_posterior` for the priors and why), not the forecast at the
fitted variances, which on short pre-periods covered the truth far less often than stated. It
returns a typed, immutable result with ``to_frame()`` and ``metrics()``.

Degenerate data (a pre-period too short to learn a weekly pattern, a constant series) gives a
flagged result with ``reason`` set and NaN numbers; bad parameters (unknown columns, periods
outside the data, alpha outside (0, 1)) raise ``ValueError``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from opsbook.stats._counterfactual import _check_alpha, _nan_to_none
from opsbook.stats._state_space_posterior import posterior_forecast, structural_model

PeriodLike = tuple[Any, Any]


CAUSAL_IMPACT_ASSUMPTIONS: tuple[str, ...] = (
    "The campaign had no effect during the pre-period (the model learns the normal behaviour "
    "of the metric from it).",
    "The control series, if any, were not affected by the campaign.",
    "The relationship between the metric and the control series, its level dynamics and its "
    "weekly pattern stay the same from the pre-period into the post-period; nothing else "
    "unusual happened in the post-period.",
    "Intervals include the uncertainty of the noise variances and of the control series' "
    "coefficients. How fast the level drifts is learned from the pre-period within a prior "
    "range (a day's level change typically 14 % of the day's noise, from about 1 % to 160 %); "
    "on a short pre-period that range, not the data, sets the width: the intervals are right "
    "on average over metrics, too narrow for one that drifts unusually fast.",
)


@dataclass(frozen=True)
class CausalImpactResult:
    """Counterfactual forecast and campaign effect over the post-period.

    Effects are actual − predicted. The point forecast is the model's at its maximum-likelihood
    variances (statsmodels' ``get_forecast``). Intervals are two-sided at level ``1 − alpha``:
    the ``alpha / 2`` and ``1 − alpha / 2`` quantiles of the posterior predictive distribution,
    which carries the uncertainty of the variances (a mixture over the level-to-noise ratio's
    posterior of Student t forecasts, each with the exact joint covariance of the forecast days,
    whose errors are correlated through the level); computed on a grid, not by simulation, so
    they are deterministic and need not be symmetric about the point. ``p_value`` is the
    two-sided posterior probability of a predicted total beyond the actual one (2 × the smaller
    tail; < alpha exactly when the cumulative interval excludes 0); ``tail_probability`` is that
    smaller tail, CausalImpact's "posterior tail-area probability". Totals cover the
    post-period days with an observed value (``n_post_days``). ``forecast_covariance`` is the
    posterior predictive covariance over every forecast day (gap and post); the intervals are
    the mixture's quantiles, wider-tailed than a Gaussian with it. ``level_posterior`` lists
    the grid's level-to-noise variance ratios and their posterior probabilities.
    ``level_collapsed``: maximum likelihood put the level's variance at 0 (the intervals do not).
    ``drift_from_prior``: the pre-period said little about the ratio (its posterior sd above
    70 % of the prior's), so the prior's range sets the intervals' width (see the assumptions).
    One-step-ahead predictions in the pre-period and their bounds are at the fitted variances.
    ``relative_effect`` is the cumulative effect / the predicted total; its interval is
    ``actual / predicted bound − 1`` and is NaN when the predicted total's interval reaches 0.
    """

    pre_period: tuple[pd.Timestamp, pd.Timestamp]
    post_period: tuple[pd.Timestamp, pd.Timestamp]
    alpha: float
    n_pre_days: int
    n_post_days: int
    actual_total: float
    predicted_total: float
    predicted_total_lower: float
    predicted_total_upper: float
    cumulative_effect: float
    cumulative_effect_lower: float
    cumulative_effect_upper: float
    average_effect: float
    average_effect_lower: float
    average_effect_upper: float
    relative_effect: float
    relative_effect_lower: float
    relative_effect_upper: float
    p_value: float
    tail_probability: float
    daily: pd.DataFrame = field(repr=False)
    controls: tuple[str, ...] = ()
    seasonal_period: int | None = 7
    converged: bool = True
    parameters: dict[str, float] = field(default_factory=dict)
    coefficients: dict[str, float] = field(default_factory=dict)
    forecast_covariance: pd.DataFrame | None = field(default=None, repr=False)
    level_posterior: pd.DataFrame | None = field(default=None, repr=False)
    level_collapsed: bool = False
    drift_from_prior: bool = False
    model_results: Any = field(default=None, repr=False, compare=False)
    standardisation: tuple[float, float] = (0.0, 1.0)
    reason: str | None = None
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = CAUSAL_IMPACT_ASSUMPTIONS
    method: str = (
        "Structural time series (statsmodels UnobservedComponents): local level + fixed "
        "seasonal pattern + control series as regressors (coefficients as time-invariant "
        "states), fitted on the standardised pre-period and forecast over the post-period: the "
        "point at the maximum-likelihood variances, the intervals from the posterior over the "
        "variances (weakly informative priors, grid over the level-to-noise ratio)."
    )

    @property
    def significant(self) -> bool:
        """Does the cumulative effect's interval exclude 0 (equivalently p_value < alpha)?"""
        return bool(self.p_value < self.alpha) if math.isfinite(self.p_value) else False

    def to_frame(self) -> pd.DataFrame:
        """One row per day: date, period (pre / gap / post), actual, predicted (one-step-ahead
        in the pre-period, the counterfactual forecast afterwards), its lower/upper bounds,
        effect with bounds, and the running cumulative effect with bounds (post-period only).
        Predictions during the model's diffuse start-up are NaN."""
        return self.daily.copy()

    def summary(self) -> pd.DataFrame:
        """CausalImpact's summary table: the post-period average per day and the cumulative
        total, actual vs predicted, absolute and relative effect with intervals."""
        n = self.n_post_days or np.nan
        rows = {
            "average": {
                "actual": self.actual_total / n,
                "predicted": self.predicted_total / n,
                "predicted_lower": self.predicted_total_lower / n,
                "predicted_upper": self.predicted_total_upper / n,
                "effect": self.average_effect,
                "effect_lower": self.average_effect_lower,
                "effect_upper": self.average_effect_upper,
            },
            "cumulative": {
                "actual": self.actual_total,
                "predicted": self.predicted_total,
                "predicted_lower": self.predicted_total_lower,
                "predicted_upper": self.predicted_total_upper,
                "effect": self.cumulative_effect,
                "effect_lower": self.cumulative_effect_lower,
                "effect_upper": self.cumulative_effect_upper,
            },
        }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        for column in ("relative_effect", "relative_effect_lower", "relative_effect_upper"):
            frame[column] = getattr(self, column)  # identical for average and cumulative
        frame["p_value"] = self.p_value
        return frame

    def metrics(self) -> dict[str, float | int | bool | str | None]:
        """Headline numbers as plain JSON values (NaN → None)."""
        numbers = {
            name: _nan_to_none(getattr(self, name))
            for name in (
                "actual_total",
                "predicted_total",
                "cumulative_effect",
                "cumulative_effect_lower",
                "cumulative_effect_upper",
                "average_effect",
                "average_effect_lower",
                "average_effect_upper",
                "relative_effect",
                "relative_effect_lower",
                "relative_effect_upper",
                "p_value",
                "tail_probability",
            )
        }
        return {
            **numbers,
            "n_pre_days": self.n_pre_days,
            "n_post_days": self.n_post_days,
            "alpha": self.alpha,
            "significant": self.significant,
            "reason": self.reason,
            "drift_from_prior": self.drift_from_prior,
            "level_collapsed": self.level_collapsed,
        }


def _timestamp(value: Any, name: str, tz: Any) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not a date: {value!r}") from error
    if stamp is pd.NaT:
        raise ValueError(f"{name} is not a date: {value!r}")
    if tz is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz)
    elif tz is None and stamp.tzinfo is not None:
        raise ValueError(f"{name} has a timezone but the series' index does not")
    return stamp


def _period(value: PeriodLike, name: str, tz: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"{name} must be a (start, end) pair, got {value!r}")
    start = _timestamp(value[0], f"{name} start", tz)
    end = _timestamp(value[1], f"{name} end", tz)
    if start > end:
        raise ValueError(f"{name} starts after it ends: {start} > {end}")
    return start, end


def _daily_index(index: pd.Index, name: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"{name} must have a DatetimeIndex (one row per day)")
    if index.has_duplicates:
        raise ValueError(f"{name} has duplicate dates, e.g. {index[index.duplicated()][0]}")
    if not (index == index.normalize()).all():
        raise ValueError(f"{name} must be daily: its dates carry a time of day")
    return index


def causal_impact(
    series: pd.Series,
    pre_period: PeriodLike,
    post_period: PeriodLike,
    controls: pd.DataFrame | None = None,
    *,
    alpha: float = 0.05,
    seasonal_period: int | None = 7,
) -> CausalImpactResult:
    """How much did the campaign change a daily metric, against what the pre-period predicts?

    ``series`` is a daily metric (DatetimeIndex at day resolution; missing days are treated as
    missing observations). ``pre_period`` and ``post_period`` are inclusive ``(start, end)``
    dates, the pre-period strictly before the post-period (days between them, e.g. a ramp-up,
    are forecast but left out of the effect). ``controls`` are daily series not affected by the
    campaign (other regions, other products, market indicators), complete over both periods;
    they enter as regressors. ``seasonal_period`` is the period of the fixed repeating pattern
    (7: weekly; None: none).

    The model (statsmodels ``UnobservedComponents``): a local level (random walk) + a fixed
    seasonal pattern + β · controls + noise, on the pre-period after standardising the metric
    and each control with their pre-period mean and standard deviation; the point forecast at
    the maximum-likelihood variances, the intervals from their posterior. Conventions: see
    :class:`CausalImpactResult`; assumptions are in ``result.assumptions``. A pre-period shorter
    than three seasonal cycles (or 14 days without seasonality), or than the model's states + 10
    days (the noise variance's degrees of freedom), and a constant pre-period are flagged
    (``reason``), not raised; a pre-period too short to learn how fast the level drifts gets a
    note and ``drift_from_prior`` (see the simulation in bench/causal_impact_coverage.py).
    """
    _check_alpha(alpha)
    if seasonal_period is not None and (
        not isinstance(seasonal_period, int | np.integer) or seasonal_period < 2
    ):
        raise ValueError(
            f"seasonal_period must be an integer >= 2 or None, got {seasonal_period!r}"
        )
    if not isinstance(series, pd.Series):
        raise ValueError(f"series must be a pandas Series, got {type(series).__name__}")
    index = _daily_index(series.index, "series")
    tz = index.tz
    pre_start, pre_end = _period(pre_period, "pre_period", tz)
    post_start, post_end = _period(post_period, "post_period", tz)
    if pre_end >= post_start:
        raise ValueError(
            f"pre_period must end before post_period starts ({pre_end} >= {post_start})"
        )
    if len(index) == 0 or pre_start < index.min() or post_end > index.max():
        raise ValueError(
            f"the periods {pre_start.date()}..{post_end.date()} reach outside the series "
            f"({index.min()}..{index.max()})"
        )
    values = pd.to_numeric(series, errors="coerce").sort_index().astype(float)
    days = pd.date_range(pre_start, post_end, freq="D", tz=tz)
    y = values.reindex(days)
    in_pre = days <= pre_end
    in_post = days >= post_start

    exog: pd.DataFrame | None = None
    notes: list[str] = []
    if controls is not None:
        if not isinstance(controls, pd.DataFrame):
            raise ValueError(f"controls must be a DataFrame, got {type(controls).__name__}")
        _daily_index(controls.index, "controls")
        exog = controls.apply(pd.to_numeric, errors="coerce").reindex(days).astype(float)
        for column in exog.columns:
            if exog[column].isna().any():
                first = exog.index[exog[column].isna()][0]
                raise ValueError(
                    f"control {column!r} must be complete over both periods; missing on "
                    f"{first.date()}"
                )
        constant = [c for c in exog.columns if exog.loc[in_pre, c].std() == 0]
        if constant:
            notes.append(f"controls constant in the pre-period dropped: {constant}")
            exog = exog.drop(columns=constant)
        if exog.shape[1] == 0:
            exog = None
    control_names = tuple(str(c) for c in exog.columns) if exog is not None else ()

    pre_y = y[in_pre]
    n_pre = int(pre_y.notna().sum())
    n_post = int(y[in_post].notna().sum())
    minimum = 3 * seasonal_period if seasonal_period else 14
    reason = None
    states = (seasonal_period or 1) + len(control_names)  # level + seasonal + coefficients
    if n_pre < max(minimum, states + 10):
        reason = "pre_period_too_short"
    elif not np.isfinite(pre_y.std()) or pre_y.std() == 0:
        reason = "constant_pre_period"
    elif n_post == 0:
        reason = "no_post_observations"
    common = dict(
        pre_period=(pre_start, pre_end),
        post_period=(post_start, post_end),
        alpha=float(alpha),
        n_pre_days=n_pre,
        n_post_days=n_post,
        controls=control_names,
        seasonal_period=seasonal_period,
    )
    if reason is not None:
        return _flagged_impact(y, in_pre, in_post, reason, notes, common)

    mean, scale = float(pre_y.mean()), float(pre_y.std())
    x = None
    if exog is not None:
        control_sd = exog[in_pre].std()
        x = (exog - exog[in_pre].mean()) / control_sd
    # statsmodels (about 100 MiB) is imported by the analyses that fit a model, not with the
    # package: a holdout review or a dashboard never needs it
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    standardised = ((pre_y - mean) / scale).to_numpy()
    pre_exog = None if x is None else x[in_pre].to_numpy()
    model = structural_model(standardised, pre_exog, seasonal_period)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = model.fit(disp=False, maxiter=500)
    except (np.linalg.LinAlgError, ValueError) as error:
        notes.append(f"model fit failed: {error}")
        return _flagged_impact(y, in_pre, in_post, "fit_failed", notes, common)
    converged = bool(results.mle_retvals.get("converged", True))
    if not converged or any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append("maximum likelihood did not fully converge; the point forecast may be off")
    parameters = {
        str(name): float(value)
        for name, value in zip(results.model.param_names, results.params, strict=True)
    }
    level_collapsed = parameters["sigma2.level"] < 1e-6 * parameters["sigma2.irregular"]
    if level_collapsed:
        notes.append(
            "maximum likelihood puts the level's variance at 0 (a constant level); the "
            "intervals do not assume it: they average over the level variances the data allow"
        )

    steps = len(days) - int(in_pre.sum())
    future_exog = None if x is None else x[~in_pre].to_numpy()
    forecast_mean = np.asarray(results.get_forecast(steps, exog=future_exog).predicted_mean)
    forecast_mean = forecast_mean * scale + mean
    try:
        posterior = posterior_forecast(standardised, pre_exog, seasonal_period, future_exog, steps)
    except (np.linalg.LinAlgError, ValueError) as error:
        notes.append(f"posterior over the variances failed: {error}")
        return _flagged_impact(y, in_pre, in_post, "fit_failed", notes, common)
    if posterior.prior_dominated:
        notes.append(
            f"the pre-period ({n_pre} days) says little about how fast the level drifts: the "
            "intervals lean on the prior range of drift; they are too narrow for a metric "
            "that drifts unusually fast, too wide for an unusually steady one"
        )
    in_sample = results.get_prediction()
    in_sample_mean = np.asarray(in_sample.predicted_mean) * scale + mean
    in_sample_sd = np.sqrt(np.asarray(in_sample.var_pred_mean)) * scale
    burn = int(results.loglikelihood_burn)
    in_sample_mean[:burn] = np.nan
    in_sample_sd[:burn] = np.nan
    z = float(special.ndtri(1 - alpha / 2))
    probabilities = (alpha / 2, 1 - alpha / 2)
    # forecast days: quantiles of the posterior mixture, one column per day
    location, spread = posterior.sums(np.eye(steps))
    daily_bounds = posterior.quantiles(location, spread, probabilities) * scale + mean
    predicted = np.concatenate([in_sample_mean, forecast_mean])
    lower = np.concatenate([in_sample_mean - z * in_sample_sd, daily_bounds[0]])
    upper = np.concatenate([in_sample_mean + z * in_sample_sd, daily_bounds[1]])
    actual = y.to_numpy()

    # Post-period totals over observed days: weights pick them out of the forecast horizon.
    horizon_post = in_post[~in_pre]
    observed = horizon_post & np.isfinite(actual[~in_pre])
    weights = observed.astype(float)
    # row d sums the observed post-period days up to forecast day d; the last row is the total
    running = np.tril(np.ones((steps, steps))) * weights[None, :]
    location, spread = posterior.sums(running)
    offset = np.cumsum(weights) * mean  # the standardisation's mean, once per summed day
    running_bounds = posterior.quantiles(location, spread, probabilities) * scale + offset
    actual_total = float(np.nansum(actual[~in_pre] * weights))
    predicted_total = float(forecast_mean @ weights)
    predicted_lower, predicted_upper = running_bounds[0, -1], running_bounds[1, -1]
    effect_total = actual_total - predicted_total
    below = float(
        posterior.cdf(location[:, -1:], spread[:, -1:], (actual_total - offset[-1]) / scale)[0]
    )
    tail = min(below, 1.0 - below)
    if predicted_lower > 0:
        relative_bounds = (actual_total / predicted_upper - 1, actual_total / predicted_lower - 1)
    else:
        relative_bounds = (math.nan, math.nan)
        notes.append(
            "the predicted total's interval reaches 0: no interval for the relative effect"
        )

    # Running cumulative effect (post-period days only) with its own interval.
    running_effect = np.cumsum(np.where(observed, actual[~in_pre] - forecast_mean, 0.0))
    running_actual = np.cumsum(np.where(observed, actual[~in_pre], 0.0))
    post_rows = np.flatnonzero(~in_pre)[horizon_post]
    cumulative, cumulative_lower, cumulative_upper = np.full((3, len(days)), np.nan)
    cumulative[post_rows] = running_effect[horizon_post]
    cumulative_lower[post_rows] = (running_actual - running_bounds[1])[horizon_post]
    cumulative_upper[post_rows] = (running_actual - running_bounds[0])[horizon_post]

    daily = _daily_frame(days, in_pre, in_post, actual, predicted, lower, upper)
    daily["cumulative_effect"] = cumulative
    daily["cumulative_lower"] = cumulative_lower
    daily["cumulative_upper"] = cumulative_upper

    horizon_days = days[~in_pre]
    covariance = posterior.covariance() * scale**2
    return CausalImpactResult(
        **common,
        actual_total=actual_total,
        predicted_total=predicted_total,
        predicted_total_lower=predicted_lower,
        predicted_total_upper=predicted_upper,
        cumulative_effect=effect_total,
        cumulative_effect_lower=actual_total - predicted_upper,
        cumulative_effect_upper=actual_total - predicted_lower,
        average_effect=effect_total / n_post,
        average_effect_lower=(actual_total - predicted_upper) / n_post,
        average_effect_upper=(actual_total - predicted_lower) / n_post,
        relative_effect=effect_total / predicted_total if predicted_total else math.nan,
        relative_effect_lower=relative_bounds[0],
        relative_effect_upper=relative_bounds[1],
        p_value=min(1.0, 2 * tail),
        tail_probability=tail,
        daily=daily,
        converged=converged,
        parameters=parameters,
        coefficients=_coefficients(results, control_names, scale, control_sd)
        if x is not None
        else {},
        forecast_covariance=pd.DataFrame(covariance, index=horizon_days, columns=horizon_days),
        level_posterior=pd.DataFrame(
            {"level_to_noise": posterior.ratios, "probability": posterior.weights}
        ),
        level_collapsed=level_collapsed,
        drift_from_prior=posterior.prior_dominated,
        model_results=results,
        standardisation=(mean, scale),
        notes=tuple(notes),
    )


def _coefficients(
    results: Any, names: tuple[str, ...], scale: float, control_sd: pd.Series
) -> dict[str, float]:
    """The controls' coefficients given the whole pre-period, in the data's units."""
    state = results.filtered_state[-len(names) :, -1]
    return {name: float(state[i] * scale / control_sd.iloc[i]) for i, name in enumerate(names)}


def _daily_frame(
    days: pd.DatetimeIndex,
    in_pre: np.ndarray,
    in_post: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": days,
            "period": np.where(in_pre, "pre", np.where(in_post, "post", "gap")),
            "actual": actual,
            "predicted": predicted,
            "lower": lower,
            "upper": upper,
            "effect": actual - predicted,
            "effect_lower": actual - upper,
            "effect_upper": actual - lower,
        }
    )


def _flagged_impact(
    y: pd.Series,
    in_pre: np.ndarray,
    in_post: np.ndarray,
    reason: str,
    notes: list[str],
    common: dict[str, Any],
) -> CausalImpactResult:
    nan = math.nan
    actual = y.to_numpy()
    empty = np.full(len(actual), nan)
    daily = _daily_frame(y.index, in_pre, in_post, actual, empty, empty, empty)
    daily["cumulative_effect"] = daily["cumulative_lower"] = daily["cumulative_upper"] = nan
    post = actual[in_post]
    return CausalImpactResult(
        **common,
        actual_total=float(np.nansum(post)) if np.isfinite(post).any() else nan,
        **dict.fromkeys(
            (
                "predicted_total",
                "predicted_total_lower",
                "predicted_total_upper",
                "cumulative_effect",
                "cumulative_effect_lower",
                "cumulative_effect_upper",
                "average_effect",
                "average_effect_lower",
                "average_effect_upper",
                "relative_effect",
                "relative_effect_lower",
                "relative_effect_upper",
                "p_value",
                "tail_probability",
            ),
            nan,
        ),
        daily=daily,
        converged=False,
        reason=reason,
        notes=tuple(notes),
    )
