"""What did a campaign add when there was no holdout? Counterfactuals from the pre-period.

Two estimators, each returning a typed, immutable result with ``to_frame()`` and ``metrics()``:

- :func:`causal_impact`: a CausalImpact-style structural time series. A model of the daily
  metric (local level + fixed weekly pattern, plus control series as regressors) is fitted on
  the pre-period only and forecast over the post-period; the forecast is the counterfactual
  ("what would have happened without the campaign") and actual − forecast is the effect.
- :func:`diff_in_diff`: difference-in-differences on a unit × time panel, OLS of the outcome on
  treated, post and treated × post with cluster-robust standard errors, plus a pre-trend check.

Degenerate data (a pre-period too short to learn a weekly pattern, a constant series, an empty
treated or control group) gives a flagged result with ``reason`` set and NaN numbers; bad
parameters (unknown columns, periods outside the data, alpha outside (0, 1)) raise ``ValueError``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

PeriodLike = tuple[Any, Any]

CAUSAL_IMPACT_ASSUMPTIONS: tuple[str, ...] = (
    "The campaign had no effect during the pre-period (the model learns the normal behaviour "
    "of the metric from it).",
    "The control series, if any, were not affected by the campaign.",
    "The relationship between the metric and the control series, its level dynamics and its "
    "weekly pattern stay the same from the pre-period into the post-period; nothing else "
    "unusual happened in the post-period.",
    "Intervals are conditional on the fitted noise variances (their estimation uncertainty is "
    "not included); the uncertainty of the control series' coefficients is included.",
)

DID_ASSUMPTIONS: tuple[str, ...] = (
    "Parallel trends: without the campaign, treated and control units would have moved in "
    "parallel (the pre-trend check tests this in the pre-period; passing it does not prove it).",
    "The campaign did not affect the control units (no spill-over) and the treated group's "
    "composition did not change because of it.",
    "Observations within a cluster may be correlated; clusters are independent of each other "
    "(standard errors are cluster-robust, reliable with a few dozen clusters or more).",
)


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


# --- CausalImpact-style structural time series ------------------------------------------------


@dataclass(frozen=True)
class CausalImpactResult:
    """Counterfactual forecast and campaign effect over the post-period.

    Effects are actual − predicted. Intervals are two-sided at level ``1 − alpha`` from the
    Gaussian forecast distribution of the fitted state-space model. The cumulative interval uses
    the exact joint covariance of the post-period forecasts (the errors of successive days are
    correlated through the level), not a simulation, so it is deterministic. ``p_value`` is the
    two-sided probability, under the model, of a cumulative effect at least this far from 0;
    ``tail_probability`` is its one-sided half, CausalImpact's "posterior tail-area probability".
    Totals cover the post-period days with an observed value (``n_post_days``).
    ``forecast_covariance`` is that joint covariance over every forecast day (gap and post).
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
    model_results: Any = field(default=None, repr=False, compare=False)
    standardisation: tuple[float, float] = (0.0, 1.0)
    reason: str | None = None
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = CAUSAL_IMPACT_ASSUMPTIONS
    method: str = (
        "Structural time series (statsmodels UnobservedComponents): local level + fixed "
        "seasonal pattern + control series as regressors (coefficients as time-invariant "
        "states), fitted by maximum likelihood on the standardised pre-period, forecast over "
        "the post-period."
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


def _forecast_covariance(results: Any, future_exog: np.ndarray | None, steps: int) -> np.ndarray:
    """Joint covariance of the next ``steps`` observations given the fitted sample.

    For the system y_t = Z_t a_t + e_t, a_{t+1} = T a_t + R n_t, with the first forecast state
    a_{T+1} ~ N(a, P_1): Cov(y_i, y_j) = Z_j T^(j−i) P_i Z_i' (+ H when i = j), where
    P_{i+1} = T P_i T' + R Q R'. Regression coefficients are the last states, so Z_t is the
    fitted design with the controls of day t in their place. The diagonal equals statsmodels'
    forecast variance (tested).
    """
    system = results.filter_results
    base = system.design[:, :, 0]
    if future_exog is None:
        designs = np.repeat(base[None], steps, axis=0)
    else:
        designs = np.repeat(base[None], steps, axis=0).copy()
        designs[:, 0, base.shape[1] - future_exog.shape[1] :] = future_exog
    transition = system.transition[:, :, 0]
    selection = system.selection[:, :, 0]
    state_noise = selection @ system.state_cov[:, :, 0] @ selection.T
    observation_noise = float(system.obs_cov[0, 0, 0])
    state_cov = results.predicted_state_cov[:, :, -1]
    covariance = np.zeros((steps, steps))
    for i in range(steps):
        propagated = state_cov @ designs[i].T
        for j in range(i, steps):
            covariance[i, j] = covariance[j, i] = float((designs[j] @ propagated)[0, 0])
            propagated = transition @ propagated
        covariance[i, i] += observation_noise
        state_cov = transition @ state_cov @ transition.T + state_noise
    return covariance


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
    seasonal pattern + β · controls + noise, fitted by maximum likelihood on the pre-period after
    standardising the metric and each control with their pre-period mean and standard deviation.
    Conventions: see :class:`CausalImpactResult`; assumptions are in ``result.assumptions``.
    A pre-period shorter than three seasonal cycles (or 14 days without seasonality) and a
    constant pre-period are flagged (``reason``), not raised.
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
    if n_pre < max(minimum, 3 + len(control_names)):
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
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    model = UnobservedComponents(
        ((pre_y - mean) / scale).to_numpy(),
        level="local level",
        seasonal=seasonal_period,
        stochastic_seasonal=False,
        exog=None if x is None else x[in_pre].to_numpy(),
        # Coefficients as states: the filter carries their uncertainty into the forecast.
        mle_regression=False,
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = model.fit(disp=False, maxiter=500)
    except (np.linalg.LinAlgError, ValueError) as error:
        notes.append(f"model fit failed: {error}")
        return _flagged_impact(y, in_pre, in_post, "fit_failed", notes, common)
    converged = bool(results.mle_retvals.get("converged", True))
    if not converged or any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append("maximum likelihood did not fully converge; read the intervals with care")

    steps = len(days) - int(in_pre.sum())
    future_exog = None if x is None else x[~in_pre].to_numpy()
    forecast = results.get_forecast(steps, exog=future_exog)
    forecast_mean = np.asarray(forecast.predicted_mean) * scale + mean
    covariance = _forecast_covariance(results, future_exog, steps) * scale**2
    in_sample = results.get_prediction()
    predicted = np.concatenate([np.asarray(in_sample.predicted_mean) * scale + mean, forecast_mean])
    variance = np.concatenate([np.asarray(in_sample.var_pred_mean) * scale**2, np.diag(covariance)])
    burn = int(results.loglikelihood_burn)
    predicted[:burn] = np.nan
    variance[:burn] = np.nan

    z = float(special.ndtri(1 - alpha / 2))
    actual = y.to_numpy()
    sd = np.sqrt(variance)
    lower, upper = predicted - z * sd, predicted + z * sd

    # Post-period totals over observed days: weights pick them out of the forecast horizon.
    horizon_post = in_post[~in_pre]
    observed = horizon_post & np.isfinite(actual[~in_pre])
    weights = observed.astype(float)
    actual_total = float(np.nansum(actual[~in_pre] * weights))
    predicted_total = float(forecast_mean @ weights)
    total_sd = math.sqrt(float(weights @ covariance @ weights))
    predicted_lower, predicted_upper = (
        predicted_total - z * total_sd,
        predicted_total + z * total_sd,
    )
    effect_total = actual_total - predicted_total
    # (a noiseless model makes any difference certain)
    noiseless = 0.0 if effect_total == 0 else math.inf
    statistic = effect_total / total_sd if total_sd > 0 else noiseless
    tail = float(special.ndtr(-abs(statistic)))
    if predicted_lower > 0:
        relative_bounds = (actual_total / predicted_upper - 1, actual_total / predicted_lower - 1)
    else:
        relative_bounds = (math.nan, math.nan)
        notes.append(
            "the predicted total's interval reaches 0: no interval for the relative effect"
        )

    # Running cumulative effect (post-period days only) with its own interval.
    running = np.cumsum(weights[:, None] * weights[None, :] * covariance, axis=0)
    running = np.cumsum(running, axis=1)
    running_sd = np.sqrt(np.diag(running))
    running_effect = np.cumsum(np.where(observed, actual[~in_pre] - forecast_mean, 0.0))
    cumulative = np.full(len(days), np.nan)
    cumulative_sd = np.full(len(days), np.nan)
    post_rows = np.flatnonzero(~in_pre)[horizon_post]
    cumulative[post_rows] = running_effect[horizon_post]
    cumulative_sd[post_rows] = running_sd[horizon_post]

    daily = _daily_frame(days, in_pre, in_post, actual, predicted, lower, upper)
    daily["cumulative_effect"] = cumulative
    daily["cumulative_lower"] = cumulative - z * cumulative_sd
    daily["cumulative_upper"] = cumulative + z * cumulative_sd

    horizon_days = days[~in_pre]
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
        parameters={
            str(name): float(value)
            for name, value in zip(results.model.param_names, results.params, strict=True)
        },
        coefficients=_coefficients(results, control_names, scale, control_sd)
        if x is not None
        else {},
        forecast_covariance=pd.DataFrame(covariance, index=horizon_days, columns=horizon_days),
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


# --- difference-in-differences ----------------------------------------------------------------


@dataclass(frozen=True)
class DidResult:
    """Difference-in-differences estimate and a pre-trend check.

    ``estimate`` is the coefficient of treated × post in OLS ``outcome ~ 1 + treated + post +
    treated × post`` (in a 2 × 2 design: (treated post − treated pre) − (control post − control
    pre) of the cell means). Standard errors are cluster-robust (CR1, statsmodels'
    small-sample correction) with t inference on (clusters − 1) degrees of freedom; the interval
    is two-sided at ``1 − alpha``; the p-value tests estimate = 0 two-sided.
    ``pre_trend_*`` is the treated × time coefficient of ``outcome ~ 1 + treated + time +
    treated × time`` on the pre-period rows (time in days for dates, otherwise the ordinal of
    the period), same standard errors: the difference between the groups' pre-period slopes.
    A small ``pre_trend_p_value`` is evidence against parallel trends.
    """

    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    p_value: float
    alpha: float
    n_obs: int
    n_units: int
    n_clusters: int
    cell_means: pd.DataFrame = field(repr=False)
    pre_trend_estimate: float = math.nan
    pre_trend_std_error: float = math.nan
    pre_trend_p_value: float = math.nan
    pre_trend_ci_lower: float = math.nan
    pre_trend_ci_upper: float = math.nan
    pre_trend_periods: int = 0
    time_unit: str = "period"
    reason: str | None = None
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = DID_ASSUMPTIONS

    @property
    def significant(self) -> bool:
        return bool(self.p_value < self.alpha) if math.isfinite(self.p_value) else False

    @property
    def pre_trend_detected(self) -> bool:
        """Do the groups' pre-period slopes differ at level alpha?"""
        p = self.pre_trend_p_value
        return bool(p < self.alpha) if math.isfinite(p) else False

    def to_frame(self) -> pd.DataFrame:
        """Rows ``did`` (the effect) and ``pre_trend`` (slope difference per time unit): estimate,
        std_error, ci_lower, ci_upper, p_value."""
        return pd.DataFrame(
            {
                "estimate": [self.estimate, self.pre_trend_estimate],
                "std_error": [self.std_error, self.pre_trend_std_error],
                "ci_lower": [self.ci_lower, self.pre_trend_ci_lower],
                "ci_upper": [self.ci_upper, self.pre_trend_ci_upper],
                "p_value": [self.p_value, self.pre_trend_p_value],
            },
            index=pd.Index(["did", "pre_trend"], name="term"),
        )

    def metrics(self) -> dict[str, float | int | bool | str | None]:
        """Headline numbers as plain JSON values (NaN → None)."""
        return {
            "estimate": _nan_to_none(self.estimate),
            "ci_lower": _nan_to_none(self.ci_lower),
            "ci_upper": _nan_to_none(self.ci_upper),
            "p_value": _nan_to_none(self.p_value),
            "pre_trend_p_value": _nan_to_none(self.pre_trend_p_value),
            "pre_trend_detected": self.pre_trend_detected,
            "n_obs": self.n_obs,
            "n_clusters": self.n_clusters,
            "alpha": self.alpha,
            "reason": self.reason,
        }


def _indicator(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=float)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = ~numbers.isin([0, 1])
    if bad.any():
        raise ValueError(
            f"column {column!r} must be 0/1 or boolean; e.g. {values[bad].iloc[0]!r} is not"
        )
    return numbers.to_numpy(dtype=float)


def _cluster_ols(y: np.ndarray, design: np.ndarray, groups: np.ndarray) -> Any:
    import statsmodels.api as sm

    return sm.OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


def diff_in_diff(
    panel: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    post: str,
    cluster: str | None = None,
    alpha: float = 0.05,
) -> DidResult:
    """By how much did the outcome of treated units change beyond the change of control units?

    ``panel`` has one row per unit and time period; ``treated`` and ``post`` are 0/1 (or boolean)
    columns: whether the unit got the campaign, and whether the period is after its start.
    ``cluster`` names the column whose groups may be correlated (default: ``unit``; use a
    coarser one such as region when units within it share shocks). Rows with a missing value in
    a used column are dropped and counted in ``notes``. Conventions: see :class:`DidResult`.
    A missing treated/control or pre/post group, or fewer than two clusters, is flagged
    (``reason``); unknown columns and non-0/1 indicators raise ``ValueError``.
    """
    _check_alpha(alpha)
    if not isinstance(panel, pd.DataFrame):
        raise ValueError(f"panel must be a DataFrame, got {type(panel).__name__}")
    cluster = unit if cluster is None else cluster
    used = list(dict.fromkeys([unit, time, outcome, treated, post, cluster]))
    missing = [c for c in used if c not in panel.columns]
    if missing:
        raise ValueError(f"panel is missing the column(s) {', '.join(map(repr, missing))}")
    notes: list[str] = []
    data = panel[used].copy()
    data[outcome] = pd.to_numeric(data[outcome], errors="coerce")
    complete = data.notna().all(axis=1)
    if not complete.all():
        notes.append(f"{int((~complete).sum())} row(s) with missing values dropped")
        data = data[complete]
    d = _indicator(data, treated)
    p = _indicator(data, post)
    y = data[outcome].to_numpy(dtype=float)
    groups = pd.factorize(data[cluster])[0]
    n_clusters = int(groups.max() + 1) if len(groups) else 0
    n_units = int(data[unit].nunique())

    cells = pd.DataFrame({"treated": d, "post": p, "y": y})
    means = cells.pivot_table(index="treated", columns="post", values="y", aggfunc="mean")
    means = means.reindex(index=[0.0, 1.0], columns=[0.0, 1.0])
    means.index = pd.Index(["control", "treated"], name="group")
    means.columns = pd.Index(["pre", "post"], name="period")

    if (data.groupby(unit)[treated].nunique() > 1).any():
        notes.append("some units switch between treated and control; treated should be fixed")

    reason = None
    if means.isna().to_numpy().any():
        reason = "empty_cell"
    elif n_clusters < 2:
        reason = "too_few_clusters"
    nan = math.nan
    base = dict(alpha=float(alpha), n_obs=len(y), n_units=n_units, n_clusters=n_clusters)
    if reason is not None:
        return DidResult(
            estimate=nan, std_error=nan, ci_lower=nan, ci_upper=nan, p_value=nan,
            cell_means=means, reason=reason, notes=tuple(notes), **base,
        )  # fmt: skip
    if n_clusters < 20:
        notes.append(f"only {n_clusters} clusters: cluster-robust standard errors can be too small")

    design = np.column_stack([np.ones_like(y), d, p, d * p])
    fit = _cluster_ols(y, design, groups)
    low, high = fit.conf_int(alpha=alpha)[3]

    # Pre-trend: difference of the groups' slopes over the pre-period.
    times = data[time]
    if pd.api.types.is_datetime64_any_dtype(times):
        clock = ((times - times.min()) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        time_unit = "day"
    elif pd.api.types.is_numeric_dtype(times):
        clock = times.to_numpy(dtype=float)
        time_unit = "period"
    else:
        order = np.sort(times.unique())
        clock = pd.Index(order).get_indexer(times).astype(float)
        time_unit = "period"
    before = p == 0
    pre_periods = int(pd.Series(clock[before]).nunique())
    pre_trend = (nan, nan, nan, nan, nan)
    pre_groups = pd.Series(d[before]).nunique()
    if pre_periods >= 2 and pre_groups == 2:
        t = clock[before] - clock[before].mean()
        pre_design = np.column_stack([np.ones(before.sum()), d[before], t, d[before] * t])
        pre_clusters = pd.factorize(groups[before])[0]
        if pre_clusters.max() >= 1:
            pre_fit = _cluster_ols(y[before], pre_design, pre_clusters)
            pre_low, pre_high = pre_fit.conf_int(alpha=alpha)[3]
            pre_trend = (pre_fit.params[3], pre_fit.bse[3], pre_fit.pvalues[3], pre_low, pre_high)
    else:
        notes.append("pre-trend not checked: fewer than two pre-period times or one group only")

    return DidResult(
        estimate=float(fit.params[3]),
        std_error=float(fit.bse[3]),
        ci_lower=float(low),
        ci_upper=float(high),
        p_value=float(fit.pvalues[3]),
        cell_means=means,
        pre_trend_estimate=float(pre_trend[0]),
        pre_trend_std_error=float(pre_trend[1]),
        pre_trend_p_value=float(pre_trend[2]),
        pre_trend_ci_lower=float(pre_trend[3]),
        pre_trend_ci_upper=float(pre_trend[4]),
        pre_trend_periods=pre_periods,
        time_unit=time_unit,
        notes=tuple(notes),
        **base,
    )
