"""The per-customer RFM table: the engine step's queries run, their frames finished in pandas,
and every order left out counted by reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from opsbook.segmentation.queries import (
    Frequency,
    Monetary,
    exclusions_expression,
    rfm_expression,
    unpaid_customers_expression,
)

EXCLUSION_REASONS = (
    "invalid",
    "outside_window",
    "cancelled",
    "refunded",
    "other_status",
    "no_user",
)


def tally_exclusions(groups: pd.DataFrame) -> tuple[dict[str, int], int]:
    """Every order counted once under the first reason that applies, in the order of
    :data:`EXCLUSION_REASONS` (invalid time or amount; outside the window; cancelled; refunded;
    another status; no user); and the paid orders that are counted."""
    excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
    included = 0
    for row in groups.to_dict("records"):
        n = int(row["orders"])
        if row["invalid"]:
            excluded["invalid"] += n
        elif row["outside"]:
            excluded["outside_window"] += n
        elif row["status"] in ("cancelled", "refunded"):
            excluded[row["status"]] += n
        elif row["status"] != "paid":
            excluded["other_status"] += n
        elif row["no_user"]:
            excluded["no_user"] += n
        else:
            included += n
    return excluded, included


@dataclass(frozen=True)
class RFMTable:
    """The engine's per-customer result (``customers``) and the orders it left out."""

    # user_id, orders, [days,] revenue, recency, last_order, frequency, monetary
    customers: pd.DataFrame
    excluded: dict[str, int]  # reason -> orders
    included_orders: int
    customers_without_paid_orders: int  # had orders in the window, none of them counted
    as_of: date
    window_start: date | None
    frequency: Frequency
    monetary: Monetary


def _utc(source: Any, day: date | None) -> datetime | None:
    return (
        None if day is None else source.utc_from_local(datetime.combine(day, datetime.min.time()))
    )


def compute_rfm(
    source: Any,
    *,
    as_of: date,
    lookback_days: int | None = 365,
    frequency: Frequency = "orders",
    monetary: Monetary = "total",
) -> RFMTable:
    """Run the RFM engine step on ``source``'s orders (an :class:`opsbook.data.Source`)."""
    orders = source.table("orders")
    start = None if lookback_days is None else as_of - timedelta(int(lookback_days))
    bounds = {"start_utc": _utc(source, start), "end_utc": _utc(source, as_of)}
    expression = rfm_expression(
        orders, as_of=as_of, local_date=source.local_date, frequency=frequency, **bounds
    )
    # Arrow's conversion: Ibis' own pandas conversion costs more than the query on 1M customers
    per = expression.to_pyarrow().to_pandas()
    customers = finish_rfm(per, as_of=as_of, frequency=frequency, monetary=monetary)
    del per  # the unsorted frame: freed before the next queries
    excluded, included = tally_exclusions(exclusions_expression(orders, **bounds).execute())
    return RFMTable(
        customers=customers,
        excluded=excluded,
        included_orders=included,
        customers_without_paid_orders=int(unpaid_customers_expression(orders, **bounds).execute()),
        as_of=as_of,
        window_start=start,
        frequency=frequency,
        monetary=monetary,
    )


def finish_rfm(
    per: pd.DataFrame, *, as_of: date, frequency: Frequency, monetary: Monetary
) -> pd.DataFrame:
    """The engine's per-customer frame with the last order's local date, ``frequency`` and
    ``monetary`` chosen, sorted by id."""
    if not per["user_id"].is_monotonic_increasing:
        per = per.sort_values("user_id", kind="stable").reset_index(drop=True)
    ids = per["user_id"]
    if ids.dtype.kind == "f" and bool((ids == ids.round()).all()):
        # integer ids stored as floats (a column with nulls): 17850, not 17850.0, in exports
        per["user_id"] = ids.astype("int64")
    for column, dtype in (("orders", "int64"), ("recency", "int64"), ("revenue", "float64")):
        per[column] = per[column].astype(dtype, copy=False)
    per["last_order"] = pd.Timestamp(as_of) - pd.to_timedelta(per["recency"], unit="D")
    per["frequency"] = per["days" if frequency == "days" else "orders"].astype("int64")
    per["monetary"] = per["revenue"] / per["orders"] if monetary == "mean" else per["revenue"]
    return per
