"""Daily series: fill the calendar, flag anomalous days.

An anomaly is a day far from its local normal: the residual from the median of its neighbours
(the centred window without the day itself, so an anomaly neither pulls its own baseline nor
shrinks its residual), scaled by the median absolute deviation of those residuals (x 1.4826, so
it is comparable to a standard deviation under normal noise). Zero days inside a busy series are
always flagged as gaps.

With the day inside its own window, a rolling median of 7 follows each day a third of the way:
every residual shrank, their MAD understated the noise by about a third, and a 4-sigma rule
flagged about 0.7 ordinary days in 150 of plain normal noise (50 times the 0.01 expected):
tests/unit/stats/test_timeseries.py simulates it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def complete_days(counts: pd.Series, start=None, end=None) -> pd.Series:
    """``counts`` indexed by date, with missing days in [start, end] filled with 0."""
    if counts.empty and (start is None or end is None):
        return counts.astype(float)
    index = pd.to_datetime(counts.index)
    first = pd.Timestamp(start) if start is not None else index.min()
    last = pd.Timestamp(end) if end is not None else index.max()
    days = pd.date_range(first.normalize(), last.normalize(), freq="D")
    return pd.Series(counts.to_numpy(), index=index).reindex(days, fill_value=0).astype(float)


def neighbour_median(series: pd.Series, window: int = 7) -> pd.Series:
    """Per day, the median of the other days of the centred ``window`` (NaN where fewer than
    ``max(3, window // 2)`` of them are known)."""
    half = window // 2
    values = np.pad(series.to_numpy(dtype=float), half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(values, 2 * half + 1)
    others = np.delete(windows, half, axis=1)
    known = np.isfinite(others).sum(axis=1)
    with np.errstate(all="ignore"):
        others = np.where(known[:, None] > 0, others, 0.0)  # no warning for an empty window
        median = np.nanmedian(others, axis=1)
    median[known < max(3, window // 2)] = np.nan
    return pd.Series(median, index=series.index)


def robust_z(series: pd.Series, window: int = 7) -> pd.Series:
    """Robust z-score of each day against the median of its neighbours in the centred window
    of ``window`` days."""
    baseline = neighbour_median(series, window)
    residual = series - baseline
    mad = float(np.nanmedian(np.abs(residual - np.nanmedian(residual))))
    scale = 1.4826 * mad
    if not np.isfinite(scale) or scale == 0:
        # a flat series: fall back to a share of the typical level so tiny wiggles never alarm
        scale = max(float(np.nanmedian(series)) * 0.05, 1.0)
    return residual / scale


def flag_anomalies(
    series: pd.Series, threshold: float = 4.0, window: int = 7, edges_partial: bool = True
) -> pd.DataFrame:
    """Per day: value, baseline, robust z, and a flag ``gap`` (zero in a busy series), ``spike``
    or ``drop`` when |z| > ``threshold``; empty string otherwise."""
    z = robust_z(series, window)
    baseline = neighbour_median(series, window)
    busy = float(np.nanmedian(series)) >= 5
    flag = np.where(
        (series == 0) & busy,
        "gap",
        np.where(z > threshold, "spike", np.where(z < -threshold, "drop", "")),
    )
    if edges_partial and len(flag) > 2:
        # an export usually starts and ends mid-day: its first and last days are not judged
        flag[[0, -1]] = ""
    return pd.DataFrame({"value": series, "baseline": baseline, "z": z, "flag": flag})


def weekday_factors(series: pd.Series, exclude: np.ndarray | pd.Series | None = None) -> pd.Series:
    """Per day, the usual ratio of its weekday to the surrounding week: the median over the
    weeks of value / centred 7-day mean, normalised to mean 1 (clipped to 0.5-2). Days in
    ``exclude`` (campaigns, known outages) do not shape the pattern. 1 for series shorter than
    four weeks, where a weekday pattern cannot be told from noise. ``series`` may leave out
    closed days (see :func:`closed_days`): a week is then its open weekdays."""
    ones = pd.Series(1.0, index=series.index)
    weekday = pd.Series(pd.DatetimeIndex(series.index).dayofweek, index=series.index)
    # a series of open days only (closed weekdays left out) has fewer weekdays per week
    week = max(int(weekday.nunique()), 1)
    if len(series) < 4 * week:
        return ones
    values = series.astype(float)
    if exclude is not None:
        values = values.where(~np.asarray(exclude, dtype=bool))
    level = values.rolling(week, center=True, min_periods=week).mean()
    ratio = (values / level.where(level > 0)).replace([np.inf, -np.inf], np.nan)
    by_day = ratio.groupby(weekday).median()
    if by_day.notna().sum() < week:
        return ones
    by_day = (by_day / by_day.mean()).clip(0.5, 2.0)
    return weekday.map(by_day).astype(float)


def flag_daily(
    series: pd.Series,
    threshold: float = 4.0,
    *,
    noise: pd.Series | str | None = "poisson",
    exclude: np.ndarray | pd.Series | None = None,
    edges_partial: bool = False,
) -> pd.DataFrame:
    """:func:`flag_anomalies` on a daily series with its weekday pattern taken out first, so
    busy weekends are not spikes; ``baseline`` is on the original scale.

    A flagged day must also lie ``threshold`` sampling standard deviations from its baseline (a
    rolling median follows small counts so closely that their MAD understates the noise):
    ``noise="poisson"`` for counts (sqrt of the baseline), a Series of per-day standard
    deviations (e.g. revenue), or None. Gaps (zero days in a busy series) always stay flagged."""
    factor = weekday_factors(series, exclude)
    flagged = flag_anomalies(series / factor, threshold=threshold, edges_partial=edges_partial)
    flagged["value"] = series
    flagged["baseline"] = flagged["baseline"] * factor
    if isinstance(noise, str):
        noise = np.sqrt(flagged["baseline"].clip(lower=1.0))
    if noise is not None:
        sd = pd.Series(noise, index=series.index).fillna(0.0)
        quiet = (flagged["value"] - flagged["baseline"]).abs() < threshold * sd
        flagged.loc[quiet & (flagged["flag"] != "gap"), "flag"] = ""
    return flagged


def closed_days(
    series: pd.Series, *, near_empty: float = 0.1, share: float = 0.75, min_weeks: int = 4
) -> pd.Series:
    """Per day of a complete daily series, True where the day is closed by a recurring pattern
    learned from the data, not by an outage:

    - a weekday that is empty or near-empty (below ``near_empty`` x its week's mean day) in at
      least ``share`` of the weeks (a shop closed on Saturdays), given ``min_weeks`` weeks;
    - a calendar date (month and day) that is near-empty in every year of at least two years of
      data (a shop closed on 25 December).
    """
    closed = pd.Series(False, index=series.index)
    if series.empty:
        return closed
    index = pd.DatetimeIndex(series.index)
    values = series.astype(float)
    level = values.rolling(7, center=True, min_periods=7).mean()
    empty = (values <= near_empty * level).where(level > 0)  # NaN where the week is unknown
    weekday = pd.Series(index.dayofweek, index=series.index)
    judged = empty.groupby(weekday).count()
    rate = empty.groupby(weekday).mean()
    pattern = rate[(judged >= min_weeks) & (rate >= share)].index
    closed |= weekday.isin(pattern)
    year = pd.Series(index.year, index=series.index)
    if year.nunique() >= 2:
        date = pd.Series(index.strftime("%m-%d"), index=series.index)
        by_date = empty.groupby(date)
        annual = by_date.count().ge(2) & by_date.min().eq(1)
        closed |= date.isin(annual[annual].index)
    return closed
