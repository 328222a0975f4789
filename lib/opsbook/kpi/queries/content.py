"""The content area's engine work: items published, views, interactions and the paid orders
credited (last touch) to content views, per period, per type and per item."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd

from opsbook.data import Source
from opsbook.engine import exact_sum
from opsbook.kpi.queries.periods import Periods, _period_of
from opsbook.kpi.queries.rows import _key_like, _Part, _ratio, _rows
from opsbook.retention.queries import paid_orders

CONTENT_EVENTS = {
    "content_view": "views",
    "content_like": "likes",
    "content_comment": "comments",
    "content_share": "shares",
}


def content_performance(
    source: Source, periods: Periods, *, window_hours: float = 24, top: int = 10
) -> _Part:
    """Content operations per period: items published by type, reach (views per item viewed),
    interaction rate, content conversion and ROI; per type and per item for the current period."""
    names = ("content_articles", "content_videos", "content_reach", "content_interaction_rate")
    names += ("content_conversion", "content_roi")
    if not source.has("events") or "content_id" not in source.columns("events"):
        return _Part([], {n: "kpi_dashboard.na.no_content_events" for n in names})
    notes: dict[str, str] = {}
    count = periods.count
    lo, hi = periods.span().utc_bounds(source)
    events = source.table("events", since=lo, until=hi)
    events = events.filter(events.content_id.notnull() & events.user_id.notnull())
    events = periods.number(source, events.filter(events.event.isin(list(CONTENT_EVENTS))))
    per_item = (
        events.group_by("k", "content_id")
        .aggregate(
            **{
                column: events.count(where=events.event == name)
                for name, column in CONTENT_EVENTS.items()
            },
            viewers=events.user_id.nunique(where=events.event == "content_view"),
        )
        .execute()
    )
    credited = _credited_orders(source, periods, window_hours)
    if credited.empty:  # keep the merge keys' types when nothing was credited
        credited = per_item[["k", "content_id"]].iloc[:0].assign(orders=0.0, revenue=0.0)
    per_item = per_item.merge(credited, on=["k", "content_id"], how="outer")
    catalogue_frame = _content_catalogue(source, periods)
    has_catalogue = catalogue_frame is not None
    if has_catalogue:
        per_item["content_id"] = _as_catalogue_ids(per_item["content_id"], catalogue_frame)
        per_item = per_item.merge(
            catalogue_frame[["content_id", "type", "published", "cost", "k_published"]],
            on="content_id",
            how="left",
        )
    else:
        per_item["type"] = "(unknown)"
        per_item["published"] = pd.NaT
        per_item["cost"] = math.nan
        # views, interactions and conversion need the events only
        notes |= dict.fromkeys(
            ("content_articles", "content_videos", "content_roi"),
            "kpi_dashboard.na.no_content_table",
        )
    counts = ["views", "likes", "comments", "shares", "viewers", "orders"]
    per_item[counts] = per_item[counts].fillna(0)
    per_item["revenue"] = per_item["revenue"].fillna(0.0)
    per_item["type"] = per_item["type"].fillna("(unknown)").astype(str)
    per_item["interactions"] = per_item[["likes", "comments", "shares"]].sum(axis=1)

    totals = per_item.groupby("k")[["views", "interactions", "orders", "revenue"]].sum()
    totals = totals.reindex(range(count), fill_value=0.0)
    viewed = per_item[per_item["views"] > 0].groupby("k")["content_id"].nunique()
    viewed = viewed.reindex(range(count), fill_value=0).astype(float)
    rows = _rows("content_reach", _ratio(totals["views"], viewed), totals["views"], viewed)
    rows += _rows(
        "content_interaction_rate",
        _ratio(totals["interactions"], totals["views"]),
        totals["interactions"],
        totals["views"],
    )
    rows += _rows(
        "content_conversion",
        _ratio(totals["orders"], totals["views"]),
        totals["orders"],
        totals["views"],
    )
    volume = pd.DataFrame(columns=["k", "start", "end", "type", "items"])
    by_type = _content_types(per_item, catalogue_frame, has_catalogue)
    if has_catalogue:
        published = catalogue_frame.dropna(subset=["k_published"]).astype({"k_published": "int64"})
        volume = (
            published.groupby(["k_published", "type"])
            .size()
            .rename("items")
            .reset_index()
            .rename(columns={"k_published": "k"})
        )
        dates = periods.frame()
        volume["start"] = volume["k"].map(dates["start"])
        volume["end"] = volume["k"].map(dates["end"])
        for name, kind in (("content_articles", "article"), ("content_videos", "video")):
            n = published[published["type"] == kind].groupby("k_published").size()
            rows += _rows(name, n.reindex(range(count), fill_value=0).astype(float))
        if catalogue_frame["cost"].notna().any():
            cost = published.groupby("k_published")["cost"].sum().reindex(range(count))
            rows += _rows("content_roi", _ratio(totals["revenue"], cost), totals["revenue"], cost)
        else:
            notes["content_roi"] = "kpi_dashboard.na.no_content_cost"
    items = _top_and_bottom(per_item, catalogue_frame, top)
    return _Part(rows, notes, by_type=by_type, items=items, volume=volume)


def _credited_orders(source: Source, periods: Periods, window_hours: float) -> pd.DataFrame:
    """Paid orders credited (last touch) to content views: per view period and item, the
    orders and their amount. A paid order is credited to the user's latest content view in the
    ``window_hours`` before it (view time < order time <= view time + window). Views up to the
    window after the last period take part, so an order just after the end that has a later
    view is not credited to an earlier one."""
    if not source.has("orders"):
        return pd.DataFrame(columns=["k", "content_id", "orders", "revenue"])
    seconds = round(window_hours * 3600)
    window = ibis.interval(seconds=seconds)
    lo, hi = periods.span().utc_bounds(source)
    after = hi + timedelta(seconds=seconds)
    events = source.table("events", since=lo, until=after)
    views = events.filter(
        (events.event == "content_view") & events.content_id.notnull() & events.user_id.notnull()
    )
    views = views.select(
        v_user=views.user_id,
        v_ts=views.ts,
        content_id=views.content_id,
        k=periods.index(source, views.ts),
    )
    # an order credited to a view of the periods lies in (lo, hi + window)
    orders = paid_orders(source, since=lo, until=after)
    orders = orders.filter(orders.ts > lo)
    orders = orders.select(
        order_id=orders.order_id,
        o_user=_key_like(orders.user_id, views.v_user),
        o_ts=orders.ts,
        amount=orders.amount,
    )
    joined = orders.inner_join(
        views,
        [
            orders.o_user == views.v_user,
            views.v_ts < orders.o_ts,
            views.v_ts >= orders.o_ts - window,
        ],
    )
    latest = ibis.row_number().over(
        group_by=joined.order_id, order_by=[ibis.desc(joined.v_ts), ibis.desc(joined.content_id)]
    )
    joined = joined.mutate(touch=latest)
    credited = joined.filter((joined.touch == 0) & (joined.k >= 0) & (joined.k < periods.count))
    return (
        credited.group_by("k", "content_id")
        .aggregate(orders=credited.count(), revenue=exact_sum(credited.amount))
        .execute()
    )


def _content_catalogue(source: Source, periods: Periods) -> pd.DataFrame | None:
    """The content table (small: one row per item) with each item's publication period."""
    if not source.has("content"):
        return None
    content = source.table("content")
    columns = {"content_id": content.content_id}
    columns["published_ts"] = content.published_ts
    columns["type"] = (
        content.type.cast("string") if "type" in content.columns else ibis.literal("(all)")
    )
    columns["cost"] = content.cost if "cost" in content.columns else ibis.null("float64")
    table = content.select(**columns).filter(content.content_id.notnull())
    table = table.mutate(published=source.local_date(table.published_ts))
    frame = table.execute()
    frame["published"] = pd.to_datetime(frame["published"]).dt.date
    frame["type"] = frame["type"].fillna("(unknown)").astype(str)
    frame["k_published"] = _period_of(
        frame["published"].where(frame["published"].notna(), periods.end + timedelta(days=1)),
        periods,
    )
    return frame.drop(columns="published_ts")


def _as_catalogue_ids(ids: pd.Series, catalogue_frame: pd.DataFrame) -> pd.Series:
    """Event content ids in the content table's dtype (float ids from Parquet become ints)."""
    target = catalogue_frame["content_id"]
    if pd.api.types.is_integer_dtype(target) and pd.api.types.is_numeric_dtype(ids):
        return ids.round().astype("int64")
    if pd.api.types.is_numeric_dtype(target) and pd.api.types.is_numeric_dtype(ids):
        return ids.astype(target.dtype)
    return ids.map(_id_text)


def _id_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _content_types(
    per_item: pd.DataFrame, catalogue_frame: pd.DataFrame | None, has_catalogue: bool
) -> pd.DataFrame:
    """Per content type, the current period (k = 0) and the previous one's views."""
    current = per_item[per_item["k"] == 0]
    grouped = current.groupby("type").agg(
        views=("views", "sum"),
        interactions=("interactions", "sum"),
        orders=("orders", "sum"),
        revenue=("revenue", "sum"),
        items_viewed=("views", lambda v: int((v > 0).sum())),
    )
    previous = per_item[per_item["k"] == 1].groupby("type")["views"].sum()
    if has_catalogue:
        published = catalogue_frame[catalogue_frame["k_published"] == 0]
        pub = published.groupby("type").agg(items_published=("content_id", "size"))
        pub["cost"] = published.groupby("type")["cost"].sum(min_count=1)
        grouped = grouped.join(pub, how="outer")
    else:
        grouped["items_published"] = math.nan
        grouped["cost"] = math.nan
    grouped = grouped.fillna({"views": 0, "interactions": 0, "orders": 0, "revenue": 0.0})
    grouped["items_viewed"] = grouped["items_viewed"].fillna(0)
    grouped["previous_views"] = previous.reindex(grouped.index).fillna(0)
    grouped["reach"] = grouped["views"] / grouped["items_viewed"].where(grouped["items_viewed"] > 0)
    grouped["interaction_rate"] = grouped["interactions"] / grouped["views"].where(
        grouped["views"] > 0
    )
    grouped["conversion"] = grouped["orders"] / grouped["views"].where(grouped["views"] > 0)
    grouped["roi"] = grouped["revenue"] / grouped["cost"].where(grouped["cost"] > 0)
    columns = ["type", "items_published", "items_viewed", "views", "previous_views", "reach"]
    columns += ["interaction_rate", "orders", "conversion", "revenue", "cost", "roi"]
    return grouped.reset_index().rename(columns={"index": "type"})[columns]


def _top_and_bottom(
    per_item: pd.DataFrame, catalogue_frame: pd.DataFrame | None, top: int
) -> pd.DataFrame:
    """The ``top`` most viewed items of the period, and the ``top`` least viewed of the items
    published in it (an item nobody opened shows with 0 views)."""
    columns = ["rank", "content_id", "type", "published", "views", "viewers", "interaction_rate"]
    columns += ["orders", "conversion", "revenue", "cost"]
    current = per_item[per_item["k"] == 0].copy()
    if catalogue_frame is not None:
        fresh = catalogue_frame[catalogue_frame["k_published"] == 0]
        missing = fresh[~fresh["content_id"].isin(current["content_id"])]
        if not missing.empty:
            zero = missing[["content_id", "type", "published", "cost"]].assign(
                k=0,
                views=0.0,
                likes=0.0,
                comments=0.0,
                shares=0.0,
                viewers=0.0,
                orders=0.0,
                revenue=0.0,
                interactions=0.0,
            )
            current = pd.concat([current, zero], ignore_index=True)
    if current.empty:
        return pd.DataFrame(columns=columns)
    current["interaction_rate"] = current["interactions"] / current["views"].where(
        current["views"] > 0
    )
    current["conversion"] = current["orders"] / current["views"].where(current["views"] > 0)
    current["content_id"] = current["content_id"].map(_id_text)
    ordered = current.sort_values(["views", "content_id"], ascending=[False, True])
    best = ordered.head(top).assign(rank="top")
    pool = ordered
    if catalogue_frame is not None:
        fresh_ids = set(
            catalogue_frame.loc[catalogue_frame["k_published"] == 0, "content_id"].map(_id_text)
        )
        pool = ordered[ordered["content_id"].isin(fresh_ids)]
    worst = (
        pool[~pool["content_id"].isin(best["content_id"])]
        .sort_values(["views", "content_id"], ascending=[True, True])
        .head(top)
        .assign(rank="bottom")
    )
    return pd.concat([best, worst], ignore_index=True)[columns]
