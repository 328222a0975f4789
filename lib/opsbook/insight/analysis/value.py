"""Predicted customer value: BG/NBD for repeat purchases and Gamma-Gamma for spend
(:mod:`opsbook.stats.clv`), fitted on the engine's pooled customer summary (in days), the
calibration/holdout check, discounted CLV per customer and the value tiers.

Without orders (or without a paid order with a positive amount) the section is flagged
``no_orders`` and the rest of the report runs; a fit that does not converge is flagged with its
reason and predicts nothing (NaN), never raises. One-purchase customers (frequency 0) enter
BG/NBD; Gamma-Gamma uses the repeat customers and gives the others the population's mean spend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from opsbook.insight.analysis.settings import ValueSettings
from opsbook.insight.queries import (
    EVENT_TYPES,
    as_date,
    day_number,
    default_as_of,
    excluded_orders,
    pooled_holdout_summary,
    pooled_summary,
    report_activity,
    source_of,
)
from opsbook.stats.clv import (
    BgNbdFit,
    GammaGammaFit,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_check,
    predicted_clv,
)

VALUE_TIERS = ("high", "medium", "low", "none")  # none: no paid order yet


@dataclass(frozen=True)
class PredictedValue:
    """The value models at ``as_of`` and what they predict (see the module)."""

    settings: ValueSettings
    as_of: date
    summary: pd.DataFrame  # frequency, recency, T, monetary, customers (pooled), clv per row
    excluded: dict[str, int]  # orders left out, by reason
    bgnbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    holdout: pd.DataFrame | None  # holdout_check by calibration frequency
    holdout_fit: BgNbdFit | None
    cuts: tuple[float, float] | None  # CLV at or above: (medium, high)
    reason: str | None  # no_orders, or why a fit is flagged

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def customers(self) -> int:
        return int(self.summary["customers"].sum()) if len(self.summary) else 0

    @property
    def one_purchase_customers(self) -> int:
        s = self.summary
        return int(s.loc[s["frequency"] == 0, "customers"].sum()) if len(s) else 0

    @property
    def clv_total(self) -> float | None:
        if not self.available:
            return None
        return float((self.summary["clv"] * self.summary["customers"]).sum())

    def clv(self, frequency: Any, recency: Any, T: Any, monetary: Any) -> np.ndarray:
        """Predicted CLV per customer (NaN where unknown: no purchase, or no model)."""
        x = np.asarray(frequency, dtype=float)
        if not self.available or len(x) == 0:
            return np.full(len(x), np.nan)
        known = ~np.isnan(x)
        out = np.full(len(x), np.nan)
        s = self.settings
        out[known] = predicted_clv(
            self.bgnbd,
            self.gamma_gamma,
            x[known],
            np.asarray(recency, dtype=float)[known],
            np.asarray(T, dtype=float)[known],
            np.asarray(monetary, dtype=float)[known],
            steps=s.horizon_months,
            step_length=s.period_days,
            discount_rate=s.discount_rate,
            margin=s.margin,
        )
        return out

    def tier(self, clv: Any) -> np.ndarray:
        """The value tier of each predicted CLV (``none`` for NaN: no purchase or no model)."""
        v = np.asarray(clv, dtype=float)
        if self.cuts is None:
            return np.full(len(v), "none", dtype=object)
        medium, high = self.cuts
        return np.select(
            [np.isnan(v), v >= high, v >= medium], ["none", "high", "medium"], default="low"
        ).astype(object)

    def metrics(self) -> dict[str, Any]:
        def params(fit: Any, names: tuple[str, ...]) -> dict[str, Any] | None:
            if fit is None or not fit.converged:
                return None
            return {name: float(getattr(fit, name)) for name in names}

        return {
            "bgnbd": params(self.bgnbd, ("r", "alpha", "a", "b")),
            "gamma_gamma": params(self.gamma_gamma, ("p", "q", "v")),
            "predicted_clv_total": self.clv_total,
            "value_reason": self.reason,
            "value_customers": self.customers,
            "one_purchase_customers": self.one_purchase_customers,
            "excluded_orders": dict(self.excluded),
        }


def weighted_cut(values: np.ndarray, weights: np.ndarray, top: float) -> float:
    """The value at or above which the top ``top`` share of the weight lies (from the highest)."""
    order = np.argsort(-values, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    at = min(int(np.searchsorted(cumulative, top - 1e-12)), len(order) - 1)
    return float(values[order][at])


def fit_value(summary: pd.DataFrame, settings: ValueSettings) -> tuple[Any, Any, str | None]:
    """The two fits on a pooled summary and the first reason one is flagged (None: both fine)."""
    if summary.empty:
        return None, None, "no_orders"
    w = summary["customers"].to_numpy(dtype=float)
    purchases = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"], weights=w)
    spend = fit_gamma_gamma(summary["frequency"], summary["monetary"], weights=w)
    reason = None
    if not purchases.converged:
        reason = f"bgnbd_{purchases.reason}"
    elif not spend.converged:
        reason = f"gamma_gamma_{spend.reason}"
    return purchases, spend, reason


def predicted_value(
    report: Any,
    *,
    as_of: date | str | None = None,
    settings: ValueSettings | None = None,
    event_types: int = EVENT_TYPES,
) -> PredictedValue:
    """Fit the value models on the summary at ``as_of`` (default: the day after the data's
    end), check BG/NBD on the last ``holdout_days`` days, and cut the value tiers."""
    s = settings or ValueSettings()
    source = source_of(report)
    end = as_date(as_of) or default_as_of(source)
    e = day_number(end)
    excluded = excluded_orders(source, e)
    columns = ["frequency", "recency", "T", "monetary", "customers", "clv"]
    if not source.has("orders"):
        empty = pd.DataFrame(columns=columns)
        return PredictedValue(s, end, empty, excluded, None, None, None, None, None, "no_orders")
    daily, _ = report_activity(source, e, event_types)
    summary = pooled_summary(daily, e)
    purchases, spend, reason = fit_value(summary, s)
    holdout, holdout_fit = None, None
    if purchases is not None and purchases.converged:  # BG/NBD's check needs no spend model
        calibration = pooled_holdout_summary(daily, e - s.holdout_days, e)
        if len(calibration):
            w = calibration["customers"].to_numpy(dtype=float)
            holdout_fit = fit_bgnbd(
                calibration["frequency"], calibration["recency"], calibration["T"], weights=w
            )
            if holdout_fit.converged:
                holdout = holdout_check(
                    holdout_fit,
                    calibration["frequency"],
                    calibration["recency"],
                    calibration["T"],
                    calibration["holdout"],
                    s.holdout_days,
                    weights=w,
                )
    result = PredictedValue(
        s,
        end,
        summary.assign(clv=math.nan),
        excluded,
        purchases,
        spend,
        holdout,
        holdout_fit,
        None,
        reason,
    )
    if reason is not None:
        return result
    clv = result.clv(summary["frequency"], summary["recency"], summary["T"], summary["monetary"])
    w = summary["customers"].to_numpy(dtype=float)
    cuts = (
        weighted_cut(clv, w, s.high_share + s.medium_share),
        weighted_cut(clv, w, s.high_share),
    )
    return PredictedValue(
        s,
        end,
        summary.assign(clv=clv),
        excluded,
        purchases,
        spend,
        holdout,
        holdout_fit,
        cuts,
        None,
    )
