"""Campaign review, analysis: what the campaign really added -- the lift against the holdout
(Welch, Fieller's interval for the relative lift, Holm across the metrics, intervals at the
Holm level), incremental conversions and revenue, iROI and the cost per incremental conversion,
per channel too; without a holdout, the counterfactual of the site's daily series."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from opsbook.campaigns.queries.events import _div, _finite
from opsbook.campaigns.queries.settings import Settings
from opsbook.stats import (
    CausalImpactResult,
    SampleStats,
    adjust_effects,
    causal_impact,
    compare_means,
)

METRICS_EVENTS: tuple[str, ...] = ("conversion", "revenue", "orders")
PROPORTIONS = ("conversion", "visit")


def _sample(frame: pd.DataFrame, metric: str) -> SampleStats:
    """The summed statistics of ``frame``'s rows (a group's channels). The engine returns the
    rows in any order: ``math.fsum`` rounds the exact sum once, so the order does not change
    the last digit (as a running float sum did, between two runs of the same data)."""
    n = int(frame["n"].sum())
    return SampleStats(
        n=n, sum=math.fsum(frame[metric]), sum_squares=math.fsum(frame[f"{metric}_sq"])
    )


def lift_table(
    sums: pd.DataFrame, metrics: Sequence[str], *, alpha: float, holdout: str = "holdout"
) -> pd.DataFrame:
    """Treatment (every group but ``holdout``, summed) vs holdout on each metric: means,
    absolute and relative lift with intervals, Welch p-value and Holm-adjusted p-value.

    The metrics are one Holm family: ``significant`` is ``p_holm < alpha`` and both intervals
    are at the level at which the metric's raw p-value is judged (``stats.adjust_effects``:
    alpha·p/p_holm), so an interval excludes 0 exactly when the row is significant; the
    relative interval inverts the same Welch test (Fieller). ``interval_alpha`` is that level.
    """
    control = sums[sums["grp"] == holdout]
    treated = sums[sums["grp"] != holdout]
    effects = [
        compare_means(_sample(control, metric), _sample(treated, metric), alpha=alpha)
        for metric in metrics
    ]
    # metrics without a p-value pass through as NaN and do not count in the family
    rows = []
    for metric, effect in zip(metrics, adjust_effects(effects, "holm"), strict=True):
        rows.append(
            {
                "metric": metric,
                "treatment_n": effect.treatment_n,
                "holdout_n": effect.control_n,
                "treatment_mean": effect.treatment_mean,
                "holdout_mean": effect.control_mean,
                "abs_lift": effect.abs_lift,
                "abs_low": effect.abs_ci[0],
                "abs_high": effect.abs_ci[1],
                "abs_se": effect.abs_se,
                "rel_lift": effect.rel_lift,
                "rel_low": effect.rel_ci[0],
                "rel_high": effect.rel_ci[1],
                "p_value": effect.p_value,
                "flag": effect.flag,
                "p_holm": effect.p_adjusted,
                "significant": effect.significant,
                "interval_alpha": effect.interval_alpha,
            }
        )
    return pd.DataFrame(rows)


def incremental(lifts: pd.DataFrame, spend: float | None) -> dict[str, Any]:
    """Incremental conversions and revenue (absolute lift × treatment users, same interval),
    iROI = incremental revenue / spend with its interval, and the cost per incremental
    conversion (interval by inverting the conversion interval; None where unbounded)."""
    by = lifts.set_index("metric")
    out: dict[str, Any] = {}
    for metric, name in (("conversion", "conversions"), ("revenue", "revenue")):
        if metric not in by.index:
            out[f"incremental_{name}"] = None
            out[f"incremental_{name}_ci"] = [None, None]
            continue
        r = by.loc[metric]
        n = r["treatment_n"]
        out[f"incremental_{name}"] = _finite(r["abs_lift"] * n)
        out[f"incremental_{name}_ci"] = [_finite(r["abs_low"] * n), _finite(r["abs_high"] * n)]
    rev, (rev_lo, rev_hi) = out["incremental_revenue"], out["incremental_revenue_ci"]
    out["iroi"] = _div(rev, spend)
    out["iroi_ci"] = [_div(rev_lo, spend), _div(rev_hi, spend)]
    out["iroi_net"] = out["iroi"] - 1 if out["iroi"] is not None else None
    conv, (lo, hi) = out["incremental_conversions"], out["incremental_conversions_ci"]
    cost = _div(spend, conv) if conv and conv > 0 else None
    out["cost_per_incremental_conversion"] = cost
    out["cost_per_incremental_conversion_ci"] = [
        _div(spend, hi) if cost is not None and hi and hi > 0 else None,
        _div(spend, lo) if cost is not None and lo and lo > 0 else None,
    ]
    return out


def _channel_roi(sums: pd.DataFrame, spend: float | None, alpha: float) -> pd.DataFrame:
    """Per first-exposure channel: its treatment users against the whole holdout -- revenue per
    user lift, incremental revenue and iROI, spend split by the channel's share of the exposed
    (the data has no per-channel cost)."""
    holdout = sums[sums["grp"] == "holdout"]
    treated = sums[sums["grp"] != "holdout"]
    total = treated["n"].sum()
    rows = []
    for channel, part in treated.groupby("channel"):
        effect = compare_means(_sample(holdout, "revenue"), _sample(part, "revenue"), alpha=alpha)
        n = int(part["n"].sum())
        share = n / total if total else math.nan
        channel_spend = spend * share if spend is not None else None
        inc = effect.abs_lift * n
        rows.append(
            {
                "channel": channel,
                "users": n,
                "spend_share": share,
                "revenue_per_user": effect.treatment_mean,
                "incremental_revenue": inc,
                "measure": "iroi",
                "value": _div(inc, channel_spend),
                "low": _div(effect.abs_ci[0] * n, channel_spend),
                "high": _div(effect.abs_ci[1] * n, channel_spend),
            }
        )
    return pd.DataFrame(rows).sort_values("value", ascending=False, na_position="last")


def impact_series(
    days: pd.DataFrame,
    column: str,
    first: pd.Timestamp,
    last: pd.Timestamp,
    baseline_days: int,
    mask: pd.Series,
) -> tuple[pd.Series, tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """The daily ``column`` from the pre-period start to ``last`` (at most the data's last day)
    with masked pre-period days (other campaigns, anomalies) set to NaN, and the (pre, post)
    periods."""
    data_first = days.index.min() + pd.Timedelta(days=1)  # the first day is usually partial
    last = min(last, days.index.max())
    pre_start = max(first - pd.Timedelta(days=int(baseline_days)), data_first)
    pre_end = first - pd.Timedelta(days=1)
    series = days.loc[pre_start:last, column].astype(float).copy()
    hidden = mask.reindex(series.index, fill_value=False) & (series.index <= pre_end)
    series[hidden] = np.nan
    return series, (pre_start, pre_end), (first, last)


def _impact(
    site: pd.DataFrame,
    column: str,
    first: pd.Timestamp,
    last: pd.Timestamp,
    settings: Settings,
    mask: pd.Series,
) -> CausalImpactResult | None:
    """The counterfactual of the site's daily ``column``; None when the campaign lies outside
    the data (no day before it or none of its days)."""
    if site.empty or first > site.index.max() or first <= site.index.min() + pd.Timedelta(days=1):
        return None
    series, pre, post = impact_series(site, column, first, last, settings.baseline_days, mask)
    return causal_impact(series, pre, post, alpha=settings.alpha)


def _pre_mask(
    days: pd.DataFrame, periods: Sequence[tuple[pd.Timestamp, pd.Timestamp, str]], key: str
) -> pd.Series:
    """Days to leave out of a pre-period: other campaigns' days and anomalous days."""
    index = pd.DatetimeIndex(days["date"])
    mask = pd.Series(False, index=index)
    for first, last, other in periods:
        if other != key:
            mask[(index >= first) & (index <= last)] = True
    flagged = (days["flag"] != "").to_numpy() & (days["campaign"] == "").to_numpy()
    mask[flagged] = True
    return mask
