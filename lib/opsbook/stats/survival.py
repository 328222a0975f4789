"""Survival analysis on right-censored durations: the Kaplan–Meier estimate of S(t) with its
log(-log) interval, the median survival time, and the log-rank (Mantel–Cox) test across groups.
Pure functions on small (optionally aggregated, weighted) arrays; no engine, no display."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special


def kaplan_meier(
    durations: Any, events: Any, weights: Any = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Kaplan–Meier estimate of S(t) = P(T > t) from right-censored data.

    ``events``: 1 = the event (churn) was observed at ``durations``, 0 = censored there;
    ``weights``: how many users each row stands for (aggregated input). Returns one row per
    distinct time: time, at_risk, events, censored, survival, low, high -- the interval is the
    log(-log) ("exponential Greenwood") one at level 1 - alpha. At a tie, events come before
    censoring (a user censored at t was at risk at t)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=float)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    if not (len(t) == len(e) == len(w)):
        raise ValueError("durations, events and weights need the same length")
    columns = ["time", "at_risk", "events", "censored", "survival", "low", "high"]
    if len(t) == 0 or w.sum() == 0:
        return pd.DataFrame(columns=columns)
    times, inverse = np.unique(t, return_inverse=True)
    died = np.bincount(inverse, weights=w * (e > 0), minlength=len(times))
    total = np.bincount(inverse, weights=w, minlength=len(times))
    at_risk = total[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(at_risk > 0, 1 - died / at_risk, 1.0)
        survival = np.cumprod(step)
        green = np.cumsum(
            np.where((at_risk > died) & (died > 0), died / (at_risk * (at_risk - died)), 0.0)
        )
        z = special.ndtri(1 - alpha / 2)
        log_s = np.log(survival)
        spread = z * np.sqrt(green) / np.abs(log_s)
        loglog = np.log(-log_s)
        low = np.exp(-np.exp(loglog + spread))
        high = np.exp(-np.exp(loglog - spread))
    low = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, low))
    high = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, high))
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "events": died,
            "censored": total - died,
            "survival": survival,
            "low": low,
            "high": high,
        }
    )


def median_survival(curve: pd.DataFrame) -> float:
    """The first time at which the survival curve is at or below 0.5 (inf if never)."""
    below = curve[curve["survival"] <= 0.5]
    return float(below["time"].iloc[0]) if not below.empty else math.inf


@dataclass(frozen=True)
class LogRankResult:
    """The log-rank test of H0: the groups share one survival function (two-sided, chi-square
    with groups - 1 degrees of freedom). ``table``: group, observed, expected."""

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame


def logrank_test(durations: Any, events: Any, groups: Any, weights: Any = None) -> LogRankResult:
    """Log-rank (Mantel–Cox) test across any number of groups on right-censored data.

    At each distinct event time with n at risk and d events, group k expects d x n_k / n; the
    statistic is (O - E)' V^-1 (O - E) over the first K - 1 groups, V the hypergeometric
    covariance d (n - d) / (n - 1) x n_k / n x (1[k=l] - n_l / n)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=float) > 0
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    labels, g = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    k = len(labels)
    if k < 2:
        table = pd.DataFrame({"group": labels, "observed": [w[e].sum()], "expected": [w[e].sum()]})
        return LogRankResult(math.nan, 0, math.nan, table)
    times, inverse = np.unique(t, return_inverse=True)
    m = len(times)
    n_kt = np.zeros((k, m))
    d_kt = np.zeros((k, m))
    np.add.at(n_kt, (g, inverse), w)
    np.add.at(d_kt, (g, inverse), w * e)
    at_risk_kt = n_kt[:, ::-1].cumsum(axis=1)[:, ::-1]
    n_t = at_risk_kt.sum(axis=0)
    d_t = d_kt.sum(axis=0)
    use = (d_t > 0) & (n_t > 0)
    share = at_risk_kt[:, use] / n_t[use]
    expected = (d_t[use] * share).sum(axis=1)
    observed = d_kt.sum(axis=1)
    factor = np.where(
        n_t[use] > 1, d_t[use] * (n_t[use] - d_t[use]) / np.maximum(n_t[use] - 1, 1), 0.0
    )
    cov = np.einsum("t,kt,lt->kl", factor, share, -share)
    cov[np.diag_indices(k)] += (factor * share).sum(axis=1)
    diff = (observed - expected)[: k - 1]
    statistic = float(diff @ np.linalg.pinv(cov[: k - 1, : k - 1]) @ diff)
    p_value = float(special.chdtrc(k - 1, statistic))
    table = pd.DataFrame({"group": labels, "observed": observed, "expected": expected})
    return LogRankResult(statistic, k - 1, p_value, table)
