"""Closed days learned from the data: a weekday empty in most weeks, a date empty every year."""

from __future__ import annotations

import pandas as pd

from opsbook.stats.timeseries import closed_days
from tests.unit.quality.shop import day_counts


def test_a_weekday_empty_in_most_weeks_is_closed_and_one_empty_wednesday_is_not():
    counts = day_counts(40, closed_weekdays=(5,), zero_days=["2026-04-08"])
    closed = closed_days(counts)
    assert set(counts.index[closed].dayofweek) == {5}
    assert closed[counts.index.dayofweek == 5].all()
    assert not closed[pd.Timestamp("2026-04-08")]


def test_a_date_empty_in_every_year_is_closed():
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    counts = pd.Series(50.0, index=days)
    christmas = days[(days.month == 12) & (days.day == 25)]
    counts[christmas] = 0
    counts[pd.Timestamp("2024-07-03")] = 0  # once: an outage, not a pattern
    closed = closed_days(counts)
    assert list(counts.index[closed]) == list(christmas)


def test_short_or_open_series_have_no_closed_days():
    assert not closed_days(day_counts(40)).any()
    assert not closed_days(day_counts(40, closed_weekdays=(5,), weeks=3)).any()
