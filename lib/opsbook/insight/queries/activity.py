"""The user-insight report's shared engine step: each user's active local days (events and paid
orders, counted per event type, with the day's paid revenue), kept on the engine once per
report, and the day numbers every other question is asked at.

Days are local calendar days in the configured zone, numbered from 1970-01-01 (as retention
numbers them). An analysis "at day c" sees the rows of the days before c only: c is the local
date ``as_of`` itself, whose own rows are not counted (as segmentation's window ends at the
start of as_of).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.data import Source
from opsbook.engine import exact_sum
from opsbook.errors import InputError
from opsbook.parts import Within, input_rows, kept_by_user
from opsbook.retention.queries import data_end, paid_orders

# event types counted per user by default: the daily table is kept once for both the stages and
# the churn model when they ask with the same number
EVENT_TYPES = 6


def source_of(report: Any) -> Source:
    """The :class:`Source` of a Report (or the Source itself)."""
    inner = getattr(report, "source", None)
    return inner if isinstance(inner, Source) else report


def as_date(value: date | str | None) -> date | None:
    """A local date from a date, a datetime or text (None or "": not given)."""
    if value is None or value == "":
        return None
    return pd.Timestamp(value).date()


def day_number(day: date) -> int:
    """The local day ``day`` as days since 1970-01-01."""
    return (pd.Timestamp(day) - pd.Timestamp("1970-01-01")).days


def day_of(number: int) -> date:
    """The local date of a day number."""
    return date(1970, 1, 1) + timedelta(days=int(number))


def default_as_of(source: Source) -> date:
    """The day after the newest timestamp of events, orders and signups (local): the data's end,
    so that the last day with data is counted."""
    return data_end(source).date() + timedelta(days=1)


def top_event_types(source: Source, until_day: int, limit: int) -> tuple[str, ...]:
    """The ``limit`` most frequent event names before local day ``until_day`` (ties by name):
    their per-type counts become features. Empty without an events table."""
    if not source.has("events") or limit < 1:
        return ()
    return source.once(
        ("insight_types", until_day, limit), lambda: _top_types(source, until_day, limit)
    )


def _top_types(source: Source, until_day: int, limit: int) -> tuple[str, ...]:
    events = source.table("events", until=_utc_of_day(source, until_day))
    events = events.filter(events.event.notnull())
    counts = events.group_by("event").aggregate(n=events.count())
    top = counts.order_by([ibis.desc("n"), "event"]).limit(limit).execute()
    return tuple(str(name) for name in top["event"])


def _utc_of_day(source: Source, number: int) -> Any:
    """The naive-UTC instant at which local day ``number`` starts."""
    return source.utc_from_local(pd.Timestamp(day_of(number)))


def type_column(i: int) -> str:
    """The engine's name of the count of the i-th top event type (names of the data's event
    types can hold any character)."""
    return f"type_{i}"


def report_activity(
    source: Source, until_day: int, event_types: int = EVENT_TYPES
) -> tuple[ir.Table, tuple[str, ...]]:
    """The kept daily activity before ``until_day`` with the counts of the ``event_types`` most
    frequent events (:func:`daily_activity`), and those events' names."""
    types = top_event_types(source, until_day, event_types)
    return daily_activity(source, until_day, types), types


def daily_activity(source: Source, until_day: int, event_types: tuple[str, ...]) -> ir.Table:
    """``user_id, day, events, type_0.., orders, revenue``: one row per user and local day
    before ``until_day`` with an event or a paid order. ``revenue`` is the day's paid amount of
    orders with a positive amount (summed exactly); orders with a zero, negative or missing
    amount count neither as orders nor as activity (:func:`excluded_orders` counts them).

    Kept on the engine once per open source and (until_day, event types): every cutoff of the
    churn model, the lifecycle stages at two dates and the value summaries read it instead of
    the events. Computed range of users by range when the events outgrow the engine's memory
    (:func:`opsbook.parts.kept_by_user`)."""
    key = ("insight_daily", until_day, event_types)
    return source.once(key, lambda: _kept_daily(source, until_day, event_types))


def _kept_daily(source: Source, until_day: int, event_types: tuple[str, ...]) -> ir.Table:
    rows = input_rows(source, "events", "orders")
    return kept_by_user(source, rows, partial(_daily, source, until_day, event_types))


def _daily(
    source: Source, until_day: int, event_types: tuple[str, ...], within: Within
) -> ir.Table:
    until = _utc_of_day(source, until_day)
    types = [type_column(i) for i in range(len(event_types))]
    active = None
    if source.has("events"):
        events = source.table("events", until=until, local_day=True)
        # a table bounded in time holds no null time: asking the converted time again would
        # convert every row (a second per 69M rows)
        events = within(events.filter(events.user_id.notnull()))
        # counted with a filter: DuckDB sums integers into 128-bit totals, twice the time here
        by_type = {
            type_column(i): events.count(where=events.event == name)
            for i, name in enumerate(event_types)
        }
        active = events.group_by("user_id", day=events.local_day).aggregate(
            events=events.count(), **by_type
        )
    bought = None
    if source.has("orders"):
        orders = paid_orders(source, until=until, local_day=True)
        orders = within(orders.filter(orders.amount > 0))
        bought = orders.group_by("user_id", day=orders.local_day).aggregate(
            orders=orders.count(), revenue=exact_sum(orders.amount)
        )
    columns = ["user_id", "day", "events", *types, "orders", "revenue"]
    if active is None and bought is None:
        raise InputError("user_insight.error.no_activity")
    if bought is None:
        zero = {"orders": ibis.literal(0, "int64"), "revenue": ibis.literal(0.0, "float64")}
        return active.mutate(**zero).select(*columns)
    if active is None:
        zero = {c: ibis.literal(0, "int64") for c in ["events", *types]}
        return bought.mutate(**zero).select(*columns)
    # the days with events and the days with orders, matched by an outer join (a hash table of
    # the order days): grouping their union again cost as much as grouping every event
    b = bought.rename(buyer="user_id", bought_day="day")
    both = active.outer_join(b, (active.user_id == b.buyer) & (active.day == b.bought_day))
    return both.select(
        user_id=both.user_id.fill_null(both.buyer),
        day=both.day.fill_null(both.bought_day),
        events=both.events.fill_null(0),
        **{c: both[c].fill_null(0) for c in types},
        orders=both.orders.fill_null(0),
        revenue=both.revenue.fill_null(0.0),
    )


def first_activity_day(daily: ir.Table) -> int | None:
    """The first local day with any activity (None: none)."""
    value = daily.day.min().execute()
    return None if value is None or pd.isna(value) else int(value)


def excluded_orders(source: Source, until_day: int) -> dict[str, int]:
    """Orders before ``until_day`` left out of every value and activity: paid orders with a
    zero, negative or missing amount (``non_positive_amount``), and orders of another status
    (``not_paid``: refunded, cancelled, ...)."""
    if not source.has("orders"):
        return {"non_positive_amount": 0, "not_paid": 0}
    orders = source.table("orders", until=_utc_of_day(source, until_day))
    orders = orders.filter(orders.user_id.notnull() & orders.ts.notnull())
    paid = paid_orders(source, until=_utc_of_day(source, until_day))
    bad = paid.filter(paid.amount.isnull() | (paid.amount <= 0)).count().execute()
    return {
        "non_positive_amount": int(bad),
        "not_paid": int(orders.count().execute()) - int(paid.count().execute()),
    }
