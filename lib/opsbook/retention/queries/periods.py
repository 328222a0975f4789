"""Periods and the moment an analysis stands at: local calendar days, Monday-first weeks and
months as numbers (on the engine and in Python), the newest timestamp of the data, and local
date ranges as filters on naive-UTC times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.data import Source
from opsbook.errors import InputError

Period = Literal["day", "week", "month"]
Criterion = Literal["on", "on_or_after"]
Entry = Literal["first", "recurring"]
Window = Literal["calendar", "rolling"]

PERIODS = ("day", "week", "month")
CRITERIA = ("on", "on_or_after")
ENTRIES = ("first", "recurring")
WINDOWS = ("calendar", "rolling")
DAY_SECONDS = 86_400
ROLLING_SECONDS = {"day": DAY_SECONDS, "week": 7 * DAY_SECONDS, "month": 30 * DAY_SECONDS}
PERIOD_LETTER = {"day": "D", "week": "W", "month": "M"}


def _src(source: Any) -> Source:
    """A :class:`Source` from a Source or a Report."""
    inner = getattr(source, "source", None)
    return inner if isinstance(inner, Source) else source


def _check(value: Any, allowed: Sequence[Any], name: str) -> Any:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def period_number(source: Source, ts: ir.TimestampValue, period: str) -> ir.IntegerValue:
    """The local calendar period of a naive-UTC timestamp as an integer: days since 1970-01-01,
    Monday-first weeks since then, or months since year 0 (year x 12 + month - 1)."""
    if period == "month":
        local = source.local(ts)
        return local.year().cast("int64") * 12 + local.month().cast("int64") - 1
    day = source.local_day(ts)
    return day if period == "day" else week_of_day(source, day)


def week_of_day(source: Source, day: ir.IntegerValue) -> ir.IntegerValue:
    """The Monday-first week number of a day number (both since 1970-01-01, a Thursday: the
    shift by 3 days makes every week start on a Monday)."""
    return source.floor_divide(day + 3, 7)


def month_of_day(source: Source, day: ir.IntegerValue) -> ir.IntegerValue:
    """The month number (year x 12 + month - 1) of a day number since 1970-01-01, in integer
    arithmetic: the proleptic Gregorian calendar counted in 400-year eras of 146097 days from
    0000-03-01 (a year starting in March puts the leap day last)."""
    shifted = day + 719_468  # days from 0000-03-01
    era = source.floor_divide(shifted, 146_097)
    of_era = shifted - era * 146_097  # 0 .. 146096
    year_of_era = source.floor_divide(
        of_era
        - source.floor_divide(of_era, 1_460)
        + source.floor_divide(of_era, 36_524)
        - source.floor_divide(of_era, 146_096),
        365,
    )
    of_year = of_era - (
        365 * year_of_era
        + source.floor_divide(year_of_era, 4)
        - source.floor_divide(year_of_era, 100)
    )
    march_month = source.floor_divide(5 * of_year + 2, 153)  # 0 = March .. 11 = February
    year = era * 400 + year_of_era + (march_month >= 10).cast("int64")
    month = ibis.ifelse(march_month < 10, march_month + 2, march_month - 10)  # 0 = January
    return year * 12 + month


def number_of(moment: pd.Timestamp | date, period: str) -> int:
    """:func:`period_number` of a local date/time, in Python."""
    day = pd.Timestamp(moment)
    if period == "month":
        return day.year * 12 + day.month - 1
    days = (day.normalize() - pd.Timestamp("1970-01-01")).days
    return days if period == "day" else (days + 3) // 7


def period_start(number: int, period: str) -> pd.Timestamp:
    """The local date on which period ``number`` starts."""
    number = int(number)
    if period == "month":
        return pd.Timestamp(year=number // 12, month=number % 12 + 1, day=1)
    days = number if period == "day" else 7 * number - 3
    return pd.Timestamp("1970-01-01") + pd.Timedelta(days=days)


def period_label(number: int, period: str) -> str:
    start = period_start(number, period)
    return f"{start:%Y-%m}" if period == "month" else f"{start:%Y-%m-%d}"


# ================================================================================ as of
@dataclass(frozen=True)
class AsOf:
    """The moment the analysis stands at: naive UTC and local wall-clock time."""

    utc: datetime
    local: pd.Timestamp

    @property
    def last_complete_day(self) -> int:
        """Day number (local) of the last day that has fully elapsed."""
        return number_of(self.local, "day") - 1

    def last_complete(self, period: str) -> int:
        """Number of the last calendar period that has fully elapsed (the one holding ``as_of``
        is not, unless as_of is exactly its end -- then it is the previous one's end)."""
        return number_of(self.local, period) - 1


def data_end(source: Any) -> pd.Timestamp:
    """The newest timestamp (local wall clock) in events, orders and users.signup_ts, once per
    open source: every function of a report asks for it, and on a CSV export each question
    would re-read the file."""
    source = _src(source)
    return source.once("data_end", lambda: _newest_local(source))


def _newest_local(source: Source) -> pd.Timestamp:
    latest = []
    for name, column in (("events", "ts"), ("orders", "ts"), ("users", "signup_ts")):
        if source.has(name) and column in source.columns(name):
            value = source.latest(name, column)
            if value is not None:
                latest.append(value)
    if not latest:
        raise InputError("retention.error.no_timestamps")
    utc = max(latest)
    return utc.tz_localize("UTC").tz_convert(source.timezone).tz_localize(None)


def resolve_as_of(source: Any, as_of: Any = None) -> AsOf:
    """``as_of`` (a local date or time in the configured zone; None: the end of the data)."""
    source = _src(source)
    local = data_end(source) if as_of is None else pd.Timestamp(as_of)
    if local.tzinfo is not None:
        local = local.tz_convert(source.timezone).tz_localize(None)
    return AsOf(utc=source.utc_from_local(local), local=local)


def trailing_window(source: Any, days: int, as_of: Any = None) -> tuple[date, date]:
    """The last ``days`` complete local days before ``as_of``: (first, last), inclusive."""
    point = resolve_as_of(source, as_of)
    last = period_start(point.last_complete_day, "day").date()
    return last - timedelta(days=int(days) - 1), last


def _local_range(
    source: Source, ts: ir.TimestampValue, start: Any, end: Any
) -> ir.BooleanValue | None:
    """``start <= local date of ts <= end`` (inclusive local dates), as a filter on naive UTC."""
    parts = []
    if start is not None:
        parts.append(ts >= source.utc_from_local(pd.Timestamp(start).normalize()))
    if end is not None:
        stop = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
        parts.append(ts < source.utc_from_local(stop))
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = out & part
    return out
