"""What did a campaign add when there was no holdout? Difference-in-differences.

:func:`diff_in_diff`: difference-in-differences on a unit × time panel, OLS of the outcome on
treated, post and treated × post with cluster-robust standard errors, plus a pre-trend check. It
returns a typed, immutable result with ``to_frame()`` and ``metrics()``.

Degenerate data (an empty treated or control group) gives a flagged result with ``reason`` set
and NaN numbers; bad parameters (unknown columns, alpha outside (0, 1)) raise ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from opsbook.stats._counterfactual import _check_alpha, _nan_to_none

DID_ASSUMPTIONS: tuple[str, ...] = (
    "Parallel trends: without the campaign, treated and control units would have moved in "
    "parallel (the pre-trend check tests this in the pre-period; passing it does not prove it).",
    "The campaign did not affect the control units (no spill-over) and the treated group's "
    "composition did not change because of it.",
    "Observations within a cluster may be correlated; clusters are independent of each other "
    "(standard errors are cluster-robust, reliable with a few dozen clusters or more).",
)


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
