"""The customer summary the BG/NBD and Gamma-Gamma models take, in the engine, pooled.

Per customer with a paid order (positive amount) before day c, on local purchase days (several
orders on one day are one purchase, their amounts summed), in days -- the convention of
lifetimes and of :func:`opsbook.stats.clv.customer_summary` with ``as_of`` = the last day
before c: ``frequency`` = purchase days - 1, ``recency`` = last purchase day - first,
``T`` = (c - 1) - first purchase day, ``monetary`` = mean amount of the repeat purchase days
(0 without one). Pooled: identical (frequency, recency, T, monetary) rows are one row with the
number of customers, so only distinct rows reach pandas.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from opsbook.engine import exact_sum

SUMMARY = ("frequency", "recency", "T", "monetary")


def customer_summary_expression(daily: ir.Table, cutoff_day: int) -> ir.Table:
    """``user_id, frequency, recency, T, monetary`` per customer before ``cutoff_day``."""
    c = int(cutoff_day)
    days = daily.filter((daily.day < c) & (daily.orders > 0))
    days = days.mutate(first=days.day.min().over(group_by="user_id"))
    per = days.group_by("user_id").aggregate(
        first=days.first.min(),
        last=days.day.max(),
        purchase_days=days.count(),
        repeat_amount=exact_sum(days.revenue, where=days.day > days.first),
    )
    frequency = per.purchase_days - 1
    return per.select(
        "user_id",
        frequency=frequency,
        recency=per["last"] - per["first"],
        T=(c - 1) - per["first"],
        monetary=ibis.ifelse(
            frequency > 0, per.repeat_amount.fill_null(0.0) / frequency.cast("float64"), 0.0
        ),
    )


def pooled_summary(daily: ir.Table, cutoff_day: int) -> Any:
    """``frequency, recency, T, monetary, customers``: the distinct summary rows at
    ``cutoff_day`` with their number of customers, sorted."""
    per = customer_summary_expression(daily, cutoff_day)
    pooled = per.group_by(*SUMMARY).aggregate(customers=per.count())
    return pooled.order_by(list(SUMMARY)).execute()


def pooled_holdout_summary(daily: ir.Table, calibration_end_day: int, end_day: int) -> Any:
    """``frequency, recency, T, holdout, customers``: the summary at ``calibration_end_day`` of
    the customers who bought before it, with their purchase days in [calibration end, end)
    (``holdout``), pooled: the input of the calibration/holdout check."""
    calibration = customer_summary_expression(daily, calibration_end_day)
    later = daily.filter(
        (daily.day >= int(calibration_end_day)) & (daily.day < int(end_day)) & (daily.orders > 0)
    )
    holdout = later.group_by(uid=later.user_id).aggregate(holdout=later.count())
    joined = calibration.left_join(holdout, calibration.user_id == holdout.uid)
    joined = joined.mutate(holdout=joined.holdout.fill_null(0))
    keys = ["frequency", "recency", "T", "holdout"]
    pooled = joined.group_by(*keys).aggregate(customers=joined.count())
    return pooled.order_by(keys).execute()
