"""Which local days the dashboard reports: the period, the previous one and the trend's periods,
and the period number of a row (in the engine for tables, in pandas for small frames of dates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from opsbook.data import DAY_MICROSECONDS, Source
from opsbook.errors import InputError
from opsbook.retention.queries import number_of


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` .. ``end`` (inclusive)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def earlier(self, days: int) -> Period:
        return Period(self.start - timedelta(days=days), self.end - timedelta(days=days))

    def utc_bounds(self, source: Source) -> tuple[datetime, datetime]:
        """[lo, hi) in naive UTC: local midnight of ``start`` to local midnight after ``end``."""
        return (
            source.utc_from_local(pd.Timestamp(self.start)),
            source.utc_from_local(pd.Timestamp(self.end + timedelta(days=1))),
        )

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


@dataclass(frozen=True)
class Periods:
    """``count`` consecutive periods of ``days`` local days; number 0 ends on ``end`` (the
    current period), 1 is the previous one, and so on."""

    end: date
    days: int = 7
    count: int = 12

    def __post_init__(self) -> None:
        if int(self.days) < 1:
            raise ValueError(f"period_days must be at least 1, got {self.days}")
        if int(self.count) < 2:
            raise ValueError("trend_weeks must be at least 2 (this and the previous period)")

    def __getitem__(self, k: int) -> Period:
        last = self.end - timedelta(days=k * self.days)
        return Period(last - timedelta(days=self.days - 1), last)

    def __iter__(self):
        return (self[k] for k in range(self.count))

    @property
    def first(self) -> date:
        return self[self.count - 1].start

    def span(self) -> Period:
        return Period(self.first, self.end)

    def index(self, source: Source, ts: ir.TimestampValue) -> ir.IntegerValue:
        """The period number of a naive-UTC timestamp by its local date, floor((end's day -
        its day) / days); computed as floor((microseconds to the local midnight after ``end``
        - 1) / period length), the same integer in one integer division per row."""
        until = (self.end_day + 1) * DAY_MICROSECONDS - 1 - source.local_microseconds(ts)
        return source.floor_divide(until, self.days * DAY_MICROSECONDS)

    def day_index(self, source: Source, day: ir.IntegerValue) -> ir.IntegerValue:
        """:meth:`index` of a local day number (:meth:`Source.local_day`)."""
        return source.floor_divide(self.end_day - day, self.days)

    @property
    def end_day(self) -> int:
        """The local day number (:func:`opsbook.retention.period_number`) of ``end``."""
        return number_of(self.end, "day")

    def tag(self, source: Source, table: ir.Table, column: str = "ts") -> ir.Table:
        """Rows of ``table`` whose ``column`` falls in the periods, with their number ``k``."""
        lo, hi = self.span().utc_bounds(source)
        inside = table.filter(
            table[column].notnull() & (table[column] >= lo) & (table[column] < hi)
        )
        return self.number(source, inside, column)

    def number(self, source: Source, table: ir.Table, column: str = "ts") -> ir.Table:
        """``table``, already limited to the periods (``source.table(name, since=, until=)``
        with :meth:`Period.utc_bounds`), with each row's period number ``k``."""
        return table.mutate(k=self.index(source, table[column]))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"k": k, "start": p.start, "end": p.end} for k, p in enumerate(self)]
        ).set_index("k")


def newest_event(source: Source) -> pd.Timestamp | None:
    """The newest event time (naive UTC; orders when the source has no events)."""
    name = "events" if source.has("events") else "orders"
    return source.latest(name) if source.has(name) else None


def default_period_end(source: Source) -> date:
    """The Sunday ending the last complete local week of the data: the newest event's local
    date when that is a Sunday, else the Sunday before it."""
    newest = newest_event(source)
    if newest is None:
        raise InputError("kpi_dashboard.error.no_activity")
    local = newest.tz_localize("UTC").tz_convert(source.timezone).date()
    return local - timedelta(days=(local.weekday() + 1) % 7)


def _as_date(value: Any) -> date:
    return pd.Timestamp(value).date()


def _period_of(days: pd.Series, periods: Periods) -> pd.Series:
    """Period number of local dates (NaN outside the periods)."""
    delta = pd.Series([(periods.end - d).days for d in days], index=days.index)
    k = delta // periods.days
    return k.where((delta >= 0) & (k < periods.count))


def _days_in(source: Source, periods: Periods, days: ir.Table) -> ir.Table:
    """The active days (``user_id, p``) that fall in the periods, with their period number."""
    first = periods.end_day - (periods.span().days - 1)
    days = days.filter(days.p.between(first, periods.end_day))
    return days.mutate(k=periods.day_index(source, days.p))
