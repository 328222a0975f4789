"""Churn-warning features (流失预警) per user at a cutoff day, computed in the engine from the
kept daily activity (:func:`opsbook.insight.queries.activity.daily_activity`), and the label.

At cutoff day c a user is *active* with an event or a paid order in the ``active_days`` days
before c; only active users are in the population. Features use the days before c only:

* ``recency_days``: c - the last active day; ``order_recency_days``: c - the last paid-order
  day (``tenure_days`` when the user never ordered: the time without an order since signup);
* per window w (``windows``, e.g. 7/30/90 days before c): ``events_{w}d``,
  ``active_days_{w}d``, ``orders_{w}d``, ``revenue_{w}d``; ``orders_all``, ``revenue_all``;
* trends between consecutive windows: events per day and active days per day of the shorter
  window minus those of the longer one (``events_trend_7_30``, ``days_trend_7_30``, ...);
* ``tenure_days``: c - the signup day;
* ``type_i``: events of the i-th top event type in the ``type_window`` days before c;
* the users table's other columns (channel, region, ...), as they are.

The label (``churned``): active at c and no event or paid order in the days [c, c + H). It reads
the days after c, which is why a model is trained at a cutoff whose next H days lie in the past.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import ibis
import ibis.expr.types as ir

from opsbook.data import Source
from opsbook.engine import exact_sum, keep
from opsbook.insight.queries.activity import _utc_of_day, type_column

LABEL = "churned"
# columns of the features frame that are not features
KEYS = ("user_id", LABEL)


def user_columns(source: Source) -> list[str]:
    """The users table's attribute columns (every column but the id and the signup)."""
    if not source.has("users"):
        return []
    return [c for c in source.columns("users") if c not in ("user_id", "signup_ts")]


def features_expression(
    source: Source,
    daily: ir.Table,
    cutoff_day: int,
    *,
    windows: Sequence[int],
    active_days: int,
    type_window: int,
    types: int,
    horizon_days: int | None,
) -> ir.Table:
    """One row per user active at ``cutoff_day``: ``user_id``, the features of the module and,
    when ``horizon_days`` is given, the label ``churned`` (see the module)."""
    c = int(cutoff_day)
    windows = sorted(int(w) for w in windows)
    seen = daily.filter(daily.day < c)
    aggs: dict[str, Any] = {
        "last_day": seen.day.max(),
        "last_order_day": seen.day.max(where=seen.orders > 0),
        "orders_all": seen.orders.sum(),
        "revenue_all": exact_sum(seen.revenue),
    }
    for w in windows:
        inside = seen.day >= c - w
        aggs[f"events_{w}d"] = seen.events.sum(where=inside)
        aggs[f"active_days_{w}d"] = seen.count(where=inside)
        aggs[f"orders_{w}d"] = seen.orders.sum(where=inside)
        aggs[f"revenue_{w}d"] = exact_sum(seen.revenue, where=inside)
    for i in range(types):
        aggs[type_column(i)] = seen[type_column(i)].sum(where=seen.day >= c - int(type_window))
    per = seen.group_by("user_id").aggregate(**aggs)
    per = per.filter(per.last_day >= c - int(active_days))

    users = source.table("users", until=_utc_of_day(source, c))
    users = users.filter(users.user_id.notnull())
    attributes = user_columns(source)
    users = users.select("user_id", *attributes, signup=source.local_day(users.signup_ts))
    t = per.join(users, "user_id")

    counts = [f"{kind}_{w}d" for w in windows for kind in ("events", "active_days", "orders")]
    filled = {name: t[name].fill_null(0) for name in counts + ["orders_all"]}
    filled |= {type_column(i): t[type_column(i)].fill_null(0) for i in range(types)}
    filled |= {f"revenue_{w}d": t[f"revenue_{w}d"].fill_null(0.0) for w in windows}
    t = t.mutate(**filled, revenue_all=t.revenue_all.fill_null(0.0))
    tenure = c - t.signup
    trends = {}
    for short, long in pairwise(windows):
        trends[f"events_trend_{short}_{long}"] = (
            t[f"events_{short}d"] / short - t[f"events_{long}d"] / long
        )
        trends[f"days_trend_{short}_{long}"] = (
            t[f"active_days_{short}d"] / short - t[f"active_days_{long}d"] / long
        )
    features = t.select(
        "user_id",
        recency_days=c - t.last_day,
        order_recency_days=(c - t.last_order_day).fill_null(tenure),
        tenure_days=tenure,
        **{name: t[name] for name in counts},
        **{f"revenue_{w}d": t[f"revenue_{w}d"] for w in windows},
        orders_all=t.orders_all,
        revenue_all=t.revenue_all,
        **trends,
        **{type_column(i): t[type_column(i)] for i in range(types)},
        **{name: t[name] for name in attributes},
    )
    if horizon_days is None:
        return features
    ahead = daily.filter((daily.day >= c) & (daily.day < c + int(horizon_days)))
    came_back = ahead.select("user_id").distinct().mutate(back=ibis.literal(True))
    labelled = features.left_join(came_back, "user_id").drop("user_id_right")
    return labelled.mutate(churned=~labelled.back.fill_null(False)).drop("back")


def sample_order(table: ir.Table, seed: int) -> ir.Table:
    """``table`` in a deterministic pseudo-random order of its users: by a hash of the id and
    the seed (the engine's own hash function: the same sample on every run of one engine), ties
    by id. Its first n rows are a hash-based sample of n users."""
    key = (table.user_id.cast("string") + ibis.literal(f":{int(seed)}")).hash()
    return table.order_by([key, table.user_id])


def population(features: ir.Table) -> dict[str, int]:
    """Users in the population and, with a label, how many of them churned (one aggregate)."""
    aggs: dict[str, Any] = {"users": features.count()}
    if LABEL in features.columns:
        aggs["churned"] = features[LABEL].cast("int64").sum()
    row = features.aggregate(**aggs).execute().iloc[0]
    return {key: int(row[key] or 0) for key in aggs}


def bounded_sample(features: ir.Table, max_users: int, seed: int) -> tuple[Any, dict[str, int]]:
    """The population's size (and churners) and a hash-based sample of at most ``max_users``
    of its users as a pandas frame, sorted by id. The features are kept on the engine for the
    two questions."""
    kept = keep(features)
    sizes = population(kept)
    sample = sample_order(kept, seed).limit(int(max_users)).to_pyarrow().to_pandas()
    return sample.sort_values("user_id", kind="stable").reset_index(drop=True), sizes


def batches(table: ir.Table, chunk_rows: int) -> Iterator[Any]:
    """``table`` ordered by user id as pandas frames of at most ``chunk_rows`` rows: a whole
    population scored chunk by chunk, never held at once."""
    reader = table.order_by("user_id").to_pyarrow_batches(chunk_size=int(chunk_rows))
    # in the expression's types: DuckDB sums integers into 128-bit ones, which would reach
    # pandas as Python objects (at 10M users a quarter of the scoring's time went to them)
    schema = table.schema().to_pyarrow()
    for batch in reader:
        if batch.num_rows:
            yield batch.cast(schema).to_pandas()
