"""Trends: which weekly KPI values and which days stand out from their own baseline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import numpy as np
import pandas as pd

from opsbook.data import Source
from opsbook.kpi.queries.daily import daily_counts
from opsbook.kpi.queries.periods import Periods
from opsbook.stats.timeseries import complete_days, flag_anomalies, flag_daily

# a weekly KPI is flagged only when it is both far from its robust baseline (|z| > threshold) and
# at least this far from it in relative terms: short smooth series have a tiny MAD
TREND_MIN_CHANGE = 0.10
DAILY_METRICS = ("active_users", "paid_orders", "revenue", "new_users")


def flag_trend(
    series: pd.DataFrame,
    threshold: float = 4.0,
    min_change: float = TREND_MIN_CHANGE,
    units: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per KPI, periods whose value is far from the series' robust baseline: robust z-score
    against the median of its neighbours in a centred window of 5
    (:func:`opsbook.stats.timeseries.flag_anomalies`) with
    |z| > ``threshold``, at least ``min_change`` relative distance from the baseline, and beyond
    sampling noise where it is known: for a rate with its denominator n, ``threshold`` binomial
    standard errors sqrt(b(1 - b)/n) of the baseline b; for a count (``units[kpi] == "count"``
    with whole values), ``threshold`` Poisson standard deviations sqrt(b). A short series is
    smooth by chance, and its MAD alone would flag ordinary sampling noise."""
    found = []
    units = dict(units or {})
    for name, part in series.groupby("kpi", sort=False):
        part = part.sort_values("k", ascending=False).set_index("end")
        values = part["value"].astype(float)
        if values.notna().sum() < 5:
            continue
        flagged = flag_anomalies(values, threshold=threshold, window=5, edges_partial=False)
        base = flagged["baseline"]
        relative = (flagged["value"] / base - 1).abs()
        far = relative.where(base != 0, np.inf) >= min_change
        noise = pd.Series(0.0, index=flagged.index)
        if units.get(name) == "rate":
            n = part["den"].astype(float)
            noise = np.sqrt((base * (1 - base)).clip(lower=0) / n.where(n > 0)).fillna(0.0)
        elif units.get(name) == "count" and np.allclose(values.dropna() % 1, 0):
            noise = np.sqrt(base.clip(lower=1.0))
        beyond = (flagged["value"] - base).abs() >= threshold * noise
        keep = (flagged["flag"] == "gap") | ((flagged["flag"] != "") & far & beyond)
        for end, row in flagged[keep].iterrows():
            found.append(
                {
                    "kpi": name,
                    "k": int(part.loc[end, "k"]),
                    "end": end,
                    "value": row["value"],
                    "baseline": row["baseline"],
                    "z": row["z"],
                    "flag": row["flag"],
                }
            )
    return pd.DataFrame(found, columns=["kpi", "k", "end", "value", "baseline", "z", "flag"])


def daily_pulse(source: Source, periods: Periods, threshold: float = 4.0) -> pd.DataFrame:
    """Daily active users, paid orders, revenue and new users over the trend's days, each day
    flagged by :func:`opsbook.stats.timeseries.flag_daily` (weekday-adjusted median of the
    neighbouring days and sampling noise; gaps: a zero day in a busy series)."""
    span = periods.span()
    frames, squares = daily_counts(source, periods)
    revenue_sd = None
    if squares is not None:
        squares = complete_days(squares, span.start, span.end)
        # compound Poisson: a day's revenue varies by sqrt(sum of squared amounts); the centred
        # rolling median keeps one extreme day from widening its own band
        revenue_sd = np.sqrt(squares.rolling(7, center=True, min_periods=3).median())
    parts = []
    for metric in DAILY_METRICS:
        if metric not in frames:
            continue
        counts = frames[metric].set_index("day")["value"].astype(float)
        counts.index = pd.to_datetime(counts.index)
        filled = complete_days(counts, span.start, span.end)
        noise = revenue_sd if metric == "revenue" else "poisson"
        flagged = flag_daily(filled, threshold=threshold, noise=noise)
        flagged.index.name = "date"
        parts.append(flagged.reset_index().assign(metric=metric))
    columns = ["metric", "date", "value", "baseline", "z", "flag"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def what_ran_then(
    flagged: pd.DataFrame, column: str, days: int, ran: pd.DataFrame, gaps: set
) -> list[list[tuple[str, str]]]:
    """For each flagged row (its day in ``column``; a period of ``days`` days ending on it),
    what ran then: the campaigns and experiments of ``ran`` (:func:`queries.context.what_ran`)
    overlapping it, after the days with no data (``gaps``) inside it -- the likeliest cause
    first --, as (kind, name) pairs."""
    out = []
    for day in pd.to_datetime(flagged[column]).dt.date:
        start = day - timedelta(days=days - 1)
        hits = ran[(ran["first"] <= day) & (ran["last"] >= start)]
        found = [("data_gap", f"{g:%Y-%m-%d}") for g in sorted(gaps) if start <= g <= day]
        found += [(r.kind, r.name) for r in hits.itertuples()]
        out.append(found)
    return out
