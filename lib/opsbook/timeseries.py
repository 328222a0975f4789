"""Daily series: fill the calendar, flag anomalous days.

An anomaly is a day far from its local normal: the residual from a centred rolling median
(robust to the anomaly itself), scaled by the series' median absolute deviation (x 1.4826, so it
is comparable to a standard deviation under normal noise). Zero days inside a busy series are
always flagged as gaps.
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


def robust_z(series: pd.Series, window: int = 7) -> pd.Series:
    """Robust z-score of each day against the centred rolling median of ``window`` days."""
    baseline = series.rolling(window, center=True, min_periods=max(3, window // 2)).median()
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
    baseline = series.rolling(window, center=True, min_periods=max(3, window // 2)).median()
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
