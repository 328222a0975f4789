"""Segmentation's engine step: Ibis expressions over the orders (per-customer RFM, the orders
left out, the customers without a paid order, the default as-of date) and the lifetimes-style
summary. They run where the data lives; pandas only ever holds their small results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.engine import exact_sum

Frequency = Literal["orders", "days"]
Monetary = Literal["total", "mean"]


def as_date(value: date | datetime | str | None) -> date | None:
    if value is None or value == "":
        return None
    return pd.Timestamp(value).date()


# -- the engine step ------------------------------------------------------------------------------
LocalDate = Callable[[ir.TimestampValue], ir.DateValue]


def _status(orders: ir.Table) -> ir.StringValue:
    # the contract's status is optional; a missing or null status means paid
    if "status" not in orders.columns:
        return ibis.literal("paid")
    return orders.status.fill_null("paid")


def _valid(orders: ir.Table) -> ir.BooleanValue:
    return orders.ts.notnull() & orders.amount.notnull() & (orders.amount >= 0)


def _in_window(orders: ir.Table, start_utc: datetime | None, end_utc: datetime) -> ir.BooleanValue:
    inside = orders.ts < end_utc
    return inside if start_utc is None else inside & (orders.ts >= start_utc)


def _window_orders(orders: ir.Table, start_utc: datetime | None, end_utc: datetime) -> ir.Table:
    """The valid orders with a user in the window, of any status."""
    return orders.filter(
        orders.user_id.notnull() & _valid(orders) & _in_window(orders, start_utc, end_utc)
    )


def rfm_expression(
    orders: ir.Table,
    *,
    as_of: date,
    start_utc: datetime | None,
    end_utc: datetime,
    local_date: LocalDate,
    frequency: Frequency = "orders",
) -> ir.Table:
    """Per customer: ``user_id, orders, [days,] revenue, recency`` as an Ibis expression.

    ``start_utc``/``end_utc`` are the naive-UTC instants of the window's local bounds (filtering
    on the stored column lets the engine prune files); ``local_date`` turns a timestamp into the
    configured zone's date. The local date is taken of each customer's latest order only (the
    date of the maximum is the maximum of the dates), so the 10M-row scan does no time-zone work
    unless ``frequency="days"``. ``days`` only when asked for."""
    window = _window_orders(orders, start_utc, end_utc)
    paid = window.filter(_status(window) == "paid")
    aggs: dict[str, Any] = {
        "orders": paid.count(),
        "revenue": exact_sum(paid.amount),
        "last_ts": paid.ts.max(),
    }
    if frequency == "days":
        aggs["days"] = local_date(paid.ts).nunique()
    per = paid.group_by("user_id").aggregate(**aggs)
    counts = ["orders", "days"] if frequency == "days" else ["orders"]
    last = local_date(per.last_ts)
    return per.select(
        "user_id", *counts, "revenue", recency=ibis.literal(as_of).delta(last, unit="day")
    )


def exclusions_expression(
    orders: ir.Table, *, start_utc: datetime | None, end_utc: datetime
) -> ir.Table:
    """Orders per (status, invalid, outside, no_user): a handful of rows for
    :func:`tally_exclusions`. Invalid = no time or no valid amount; outside = not in the window."""
    invalid = ~_valid(orders).fill_null(False)
    outside = ~_in_window(orders, start_utc, end_utc).fill_null(False)
    return orders.group_by(
        status=_status(orders), invalid=invalid, outside=outside, no_user=orders.user_id.isnull()
    ).aggregate(orders=orders.count())


def unpaid_customers_expression(
    orders: ir.Table, *, start_utc: datetime | None, end_utc: datetime
) -> ir.Scalar:
    """How many users had a valid order in the window and none of them paid (refunded,
    cancelled, ...): they are counted as not segmented. One number from one scan, no user list
    in pandas."""
    window = _window_orders(orders, start_utc, end_utc)
    users = window.group_by("user_id").aggregate(paid=(_status(window) == "paid").any())
    return users.filter(~users.paid).count()


def default_as_of(source: Any) -> date:
    """The day after the newest paid order with a user, in local time (today if none)."""
    orders = source.table("orders")
    paid = orders.filter((_status(orders) == "paid") & orders.user_id.notnull() & _valid(orders))
    newest = paid.aggregate(last=source.local_date(paid.ts.max())).execute()["last"].iloc[0]
    if newest is None or pd.isna(newest):
        return source.now_local().date()
    return pd.Timestamp(newest).date() + timedelta(days=1)


# -- lifetimes-style summary (CDNOW) --------------------------------------------------------------
def lifetimes_summary(
    transactions: ir.Table,
    *,
    user: str,
    day: str,
    observation_end: date | str,
    period_days: int = 7,
) -> pd.DataFrame:
    """The summary the BG/NBD and Pareto/NBD literature uses (as the lifetimes package builds it
    with daily purchase periods): per customer with a purchase on or before ``observation_end``,
    frequency = distinct purchase days - 1 (repeat purchases), recency = days from the first to
    the last purchase day, T = days from the first purchase day to ``observation_end``; recency
    and T divided by ``period_days`` (7: weeks). Computed in the engine."""
    end = as_date(observation_end)
    d = transactions[day].cast("date")
    kept = transactions.mutate(_d=d).filter(lambda t: t._d <= end)
    per = kept.group_by(user_id=kept[user]).aggregate(
        first=kept._d.min(), last=kept._d.max(), periods=kept._d.nunique()
    )
    per = per.select(
        "user_id",
        frequency=per.periods - 1,
        recency=per.last.delta(per.first, unit="day") / period_days,
        T=ibis.literal(end).delta(per.first, unit="day") / period_days,
    )
    return per.execute().sort_values("user_id", kind="stable").reset_index(drop=True)
