"""The polars references: what a newcomer would write today instead of the workbook. Each step
is one lazy query (``pl.scan_parquet``, only the columns it reads) collected by the streaming
engine; the same numbers as the pandas and SQL references (``steps_pandas.py``), handed back as
pandas frames so the comparison and the parent process need no polars.

Times are compared as epoch microseconds and local days as ``(µs + 8 h) // 1 day``: Shanghai has
been UTC+8 all year since 1991, as in the SQL floor.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from common import END
from params import (
    AS_OF,
    CHURN_ACTIVE_DAYS,
    CHURN_EVENT_TYPES,
    CHURN_HORIZON_DAYS,
    CHURN_TYPE_WINDOW,
    CHURN_WINDOWS,
    FUNNEL_STEPS,
    FUNNEL_WINDOW_DAYS,
    KPI_WEEKS,
    LOOKBACK,
    PATH_ANCHOR,
    PATH_STEPS,
    PATH_TOP,
    SESSION_GAP_SECONDS,
    WINDOW_DAYS,
    _utc,
)

DAY_US = 86_400_000_000
SHIFT_US = 8 * 3_600_000_000  # Asia/Shanghai: UTC+8
EPOCH = date(1970, 1, 1)


def _us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive UTC instant."""
    return (moment - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def polars_step(step: str, folder: Path, p: dict[str, Any], memory_limit: str | None):
    import polars as pl

    def scan(name: str, columns: list[str]) -> pl.LazyFrame:
        return pl.scan_parquet(folder / f"{name}.parquet").select(columns)

    def collect(*frames: pl.LazyFrame) -> list[pl.DataFrame]:
        return pl.collect_all(frames, engine="streaming")

    us = pl.col("ts").dt.epoch("us")
    local_day = (us + SHIFT_US) // DAY_US
    paid = pl.col("status").is_null() | (pl.col("status") == "paid")
    as_of_days = (AS_OF - EPOCH).days

    def day_text(days: pl.Expr) -> pl.Expr:
        return (pl.lit(EPOCH) + pl.duration(days=days)).dt.strftime("%Y-%m-%d")

    if step == "rfm":
        lo, hi = _us(_utc(AS_OF - timedelta(days=LOOKBACK))), _us(_utc(AS_OF))

        def run():
            o = scan("orders", ["user_id", "ts", "amount", "status"])
            status = pl.col("status").fill_null("paid")
            valid = pl.col("ts").is_not_null() & pl.col("amount").is_not_null()
            valid = valid & (pl.col("amount") >= 0)
            inside = (us >= lo) & (us < hi)
            o = o.with_columns(
                reason=pl.when(~valid)
                .then(pl.lit("invalid"))
                .when(~inside)
                .then(pl.lit("outside_window"))
                .when(status.is_in(["cancelled", "refunded"]))
                .then(status)
                .when(status != "paid")
                .then(pl.lit("other_status"))
                .when(pl.col("user_id").is_null())
                .then(pl.lit("no_user"))
                .otherwise(pl.lit("included"))
            )
            customers = (
                o.filter(pl.col("reason") == "included")
                .group_by("user_id")
                .agg(orders=pl.len(), revenue=pl.col("amount").sum(), last=pl.col("ts").max())
                .with_columns(
                    recency=as_of_days - ((pl.col("last").dt.epoch("us") + SHIFT_US) // DAY_US)
                )
                .drop("last")
            )
            other = o.filter(valid & inside & (status != "paid") & pl.col("user_id").is_not_null())
            without = other.select("user_id").unique().join(customers, on="user_id", how="anti")
            summary = o.group_by("reason").agg(value=pl.len()).rename({"reason": "key"})
            c, s, w = collect(customers, summary, without.select(pl.len()))
            s = s.vstack(
                pl.DataFrame({"key": ["without_paid"], "value": [w.item()]}, schema=s.schema)
            )
            return {"customers": c.to_pandas(), "summary": s.to_pandas()}

    elif step == "retention":
        as_of = _us(_utc(AS_OF))

        def monday(days: pl.Expr) -> pl.Expr:
            return days - (days + 3) % 7  # 1970-01-01 was a Thursday

        def run():
            u = scan("users", ["user_id", "signup_ts"]).filter(
                pl.col("signup_ts").dt.epoch("us") <= as_of
            )
            u = u.select(
                "user_id", cohort=monday((pl.col("signup_ts").dt.epoch("us") + SHIFT_US) // DAY_US)
            )
            a = (
                scan("events", ["user_id", "ts"])
                .filter(us <= as_of)
                .select("user_id", week=monday(local_day))
                .unique()
                .join(u, on="user_id")
                .filter(pl.col("week") > pl.col("cohort"))
            )
            cells = a.group_by("cohort", period=(pl.col("week") - pl.col("cohort")) // 7).agg(
                retained=pl.len()
            )
            sizes = u.group_by("cohort").agg(users=pl.len())
            cells, sizes = collect(
                cells.with_columns(cohort=day_text(pl.col("cohort"))),
                sizes.with_columns(cohort=day_text(pl.col("cohort"))),
            )
            return {"sizes": sizes.to_pandas(), "cells": cells.to_pandas()}

    elif step == "experiment":
        window = WINDOW_DAYS * DAY_US

        def run():
            a = scan("assignments", ["experiment", "user_id", "variant", "ts"])
            a = a.filter(pl.col("experiment") == p["experiment"]).drop_nulls(
                ["user_id", "variant", "ts"]
            )
            o = scan("orders", ["user_id", "ts", "amount", "status"])
            (last_day,) = collect(o.select(local_day.max()))
            data_end = (last_day.item() + 1) * DAY_US - SHIFT_US
            k = (
                a.group_by("user_id")
                .agg(lo=pl.col("variant").min(), hi=pl.col("variant").max(), xts=us.min())
                .filter((pl.col("lo") == pl.col("hi")) & (pl.col("xts") + window <= data_end))
                .select("user_id", "xts", variant=pl.col("lo"))
            )
            per = (
                k.join(o.filter(paid).select("user_id", "amount", t=us), on="user_id")
                .filter((pl.col("t") >= pl.col("xts")) & (pl.col("t") < pl.col("xts") + window))
                .group_by("user_id")
                .agg(orders=pl.len(), revenue=pl.col("amount").sum())
            )
            k = k.join(per, on="user_id", how="left").with_columns(
                orders=pl.col("orders").fill_null(0),
                revenue=pl.col("revenue").fill_null(0.0),
                day=day_text((pl.col("xts") + SHIFT_US) // DAY_US),
            )
            conv = (pl.col("orders") > 0).cast(pl.Float64)
            sums = k.group_by("variant", "day").agg(
                users=pl.len(),
                m0_n=conv.count(),
                m0_a=conv.sum(),
                m0_aa=conv.sum(),
                m1_n=pl.col("revenue").count(),
                m1_a=pl.col("revenue").sum(),
                m1_aa=(pl.col("revenue") ** 2).sum(),
            )
            return {"sums": collect(sums)[0].to_pandas()}

    elif step == "campaign":
        start = _us(datetime.fromisoformat(p["start"]))
        end = _us(datetime.fromisoformat(p["end"]))

        def run():
            m = scan("campaign_members", ["campaign_id", "user_id", "group", "inviter_id"])
            m = m.filter(
                (pl.col("campaign_id") == p["campaign"])
                & pl.col("user_id").is_not_null()
                & pl.col("inviter_id").is_null()
            )
            grp = pl.col("group").str.strip_chars().str.to_lowercase().fill_null("treatment")
            m = m.select("user_id", grp=grp).unique()
            o = scan("orders", ["user_id", "ts", "amount", "status"])
            o = o.filter(pl.col("user_id").is_not_null() & pl.col("ts").is_not_null() & paid)
            per = (
                o.filter((us >= start) & (us <= end))
                .group_by("user_id")
                .agg(n_orders=pl.len(), revenue=pl.col("amount").sum())
            )
            e = scan("events", ["user_id", "ts", "event", "campaign_id", "channel"]).filter(
                (pl.col("event") == "campaign_view")
                & (pl.col("campaign_id") == p["campaign"])
                & pl.col("user_id").is_not_null()
                & pl.col("ts").is_not_null()
            )
            first = e.group_by("user_id").agg(
                pl.col("channel").sort_by("ts", maintain_order=True).first()
            )
            j = m.join(per, on="user_id", how="left").join(first, on="user_id", how="left")
            n = pl.col("n_orders").fill_null(0).cast(pl.Float64)
            revenue = pl.col("revenue").fill_null(0.0)
            j = j.with_columns(
                n_orders=n,
                revenue=revenue,
                channel=pl.when(pl.col("grp") == "holdout")
                .then(pl.lit("-"))
                .otherwise(pl.col("channel").fill_null("(unknown)")),
            )
            out = j.group_by("grp", "channel").agg(
                n=pl.len(),
                conversion=(pl.col("n_orders") > 0).cast(pl.Float64).sum(),
                revenue=pl.col("revenue").sum(),
                revenue_sq=(pl.col("revenue") ** 2).sum(),
                orders=pl.col("n_orders").sum(),
                orders_sq=(pl.col("n_orders") ** 2).sum(),
            )
            return {"sums": collect(out)[0].to_pandas()}

    elif step == "kpi":
        first = END - timedelta(days=7 * KPI_WEEKS - 1)
        lo, hi = _us(_utc(first)), _us(_utc(AS_OF))
        end_days = (END - EPOCH).days
        week = (end_days - local_day) // 7

        def run():
            inside = pl.col("user_id").is_not_null() & (us >= lo) & (us < hi)
            o = scan("orders", ["user_id", "ts", "amount", "status"]).filter(inside & paid)
            o = o.select("user_id", "amount", k=week)
            e = scan("events", ["user_id", "ts"]).filter(inside).select("user_id", k=week)
            money = o.group_by("k").agg(
                revenue=pl.col("amount").sum(), paying=pl.col("user_id").n_unique()
            )
            active = (
                pl.concat([o.select("user_id", "k"), e])
                .group_by("k")
                .agg(active=pl.col("user_id").n_unique())
            )
            out = money.join(active, on="k", how="full", coalesce=True).fill_null(0)
            return {"weeks": collect(out)[0].to_pandas()}

    elif step == "funnel":

        def run():
            return funnel_frames(folder)

    elif step == "paths":

        def run():
            return paths_frames(folder)

    elif step == "insight_features":

        def run():
            return {"features": features_frame(folder)}

    return None, run


def _events(folder: Path, *, with_event: bool = True):
    """The events with a user and a time: ``user_id``, ``us`` (epoch µs) and ``event``."""
    import polars as pl

    columns = ["user_id", "ts", "event"] if with_event else ["user_id", "ts"]
    e = pl.scan_parquet(folder / "events.parquet").select(columns)
    e = e.filter(pl.col("user_id").is_not_null() & pl.col("ts").is_not_null())
    return e.with_columns(us=pl.col("ts").dt.epoch("us")).drop("ts")


def funnel_frames(folder: Path) -> dict:
    """The ordered funnel by joins: the first entry, then per step the earliest later event of
    the step (ties by name) within the window of the entry."""
    import pandas as pd
    import polars as pl

    window = FUNNEL_WINDOW_DAYS * DAY_US
    e = _events(folder).filter(pl.col("event").is_in(list(FUNNEL_STEPS)))
    chain = (
        e.filter(pl.col("event") == FUNNEL_STEPS[0]).group_by("user_id").agg(t0=pl.col("us").min())
    )
    for k in range(1, len(FUNNEL_STEPS)):
        prev = f"t{k - 1}"
        step = e.filter(pl.col("event") == FUNNEL_STEPS[k]).select("user_id", "us")
        reached = chain.select(list(dict.fromkeys(["user_id", "t0", prev]))).drop_nulls()
        later = pl.col("us") >= pl.col(prev)
        if FUNNEL_STEPS[k] < FUNNEL_STEPS[k - 1]:  # at the same microsecond: by name
            later = pl.col("us") > pl.col(prev)
        hit = (
            step.join(reached, on="user_id")
            .filter(later & (pl.col("us") <= pl.col("t0") + window))
            .group_by("user_id")
            .agg(pl.col("us").min().alias(f"t{k}"))
        )
        chain = chain.join(hit, on="user_id", how="left")
    chain = chain.collect(engine="streaming")
    last = len(FUNNEL_STEPS) - 1
    steps = pd.DataFrame(
        {"step": range(last + 1), "users": [chain[f"t{k}"].count() for k in range(last + 1)]}
    )
    gaps = {str(k): (pl.col(f"t{k}") - pl.col(f"t{k - 1}")) / 1e6 for k in range(1, last + 1)}
    gaps["overall"] = (pl.col(f"t{last}") - pl.col("t0")) / 1e6
    rows = []
    for name, gap in gaps.items():
        s = chain.select(gap.alias("s")).drop_nulls()["s"]
        q = [s.quantile(x, interpolation="linear") for x in (0.25, 0.5, 0.75, 0.9)]
        rows.append((name, s.len(), s.mean(), *q))
    times = pd.DataFrame(rows, columns=["step", "users", "mean", "p25", "median", "p75", "p90"])
    return {"steps": steps, "times": times}


def paths_frames(folder: Path) -> dict:
    """Paths after each user's first anchor: events sorted per user by time then name, sessions
    split after the idle gap, repeats within a session dropped, the anchor's next rows taken."""
    import polars as pl

    gap = SESSION_GAP_SECONDS * 1_000_000
    e = _events(folder).drop_nulls("event").sort("user_id", "us", "event")
    new_user = pl.col("user_id") != pl.col("user_id").shift(1)
    fresh = new_user.fill_null(True) | ((pl.col("us") - pl.col("us").shift(1)) > gap).fill_null(
        True
    )
    repeat = ~pl.col("fresh") & (pl.col("event") == pl.col("event").shift(1)).fill_null(False)
    # the row's place in its user's events (rows are sorted by user): no window per user needed
    index = pl.int_range(pl.len())
    first_of_user = pl.when(new_user.fill_null(True)).then(index).forward_fill()
    e = (
        e.with_columns(fresh=fresh)
        .filter(~repeat)
        .with_columns(session=pl.col("fresh").cum_sum(), row=index - first_of_user)
    )
    anchors = (
        e.filter(pl.col("event") == PATH_ANCHOR)
        .group_by("user_id")
        .agg(pl.col("session").first(), a_row=pl.col("row").first())
    )
    near = (
        e.join(anchors, on=["user_id", "session"])
        .with_columns(away=pl.col("row") - pl.col("a_row"))
        .filter((pl.col("away") >= 0) & (pl.col("away") <= PATH_STEPS))
    )
    names = [f"e{j}" for j in range(PATH_STEPS + 1)]
    # one row per user and position: small, so collected once and pivoted in memory
    near = near.select("user_id", "away", "event").collect(engine="streaming")
    wide = near.pivot("away", index="user_id", values="event").lazy()
    wide = wide.rename({str(j): f"e{j}" for j in range(PATH_STEPS + 1)})
    nodes, links = [], []
    for j in range(PATH_STEPS + 1):
        here = wide.filter(pl.col(f"e{j}").is_not_null())
        nodes.append(
            here.group_by(event=pl.col(f"e{j}")).agg(users=pl.len()).with_columns(step=pl.lit(j))
        )
        if j < PATH_STEPS:
            links.append(
                here.group_by(source=pl.col(f"e{j}"), target=pl.col(f"e{j + 1}").fill_null("(end)"))
                .agg(users=pl.len())
                .with_columns(step=pl.lit(j))
            )
    ranked = (
        wide.group_by(names)
        .agg(users=pl.len())
        .sort(["users", *names], descending=[True] + [False] * len(names), nulls_last=True)
        .head(PATH_TOP)
        .select(path=pl.concat_str(names, separator=" > ", ignore_nulls=True), users="users")
    )
    done = pl.collect_all([pl.concat(nodes), pl.concat(links), ranked], engine="streaming")
    return {k: f.to_pandas() for k, f in zip(("nodes", "transitions", "top"), done, strict=True)}


def features_frame(folder: Path):
    """The churn features at the evaluation cutoff (see steps_sql.features_query)."""
    import polars as pl

    end = (AS_OF - EPOCH).days
    c = end - CHURN_HORIZON_DAYS
    until = _us(_utc(AS_OF))
    day = (pl.col("us") + SHIFT_US) // DAY_US
    e = _events(folder).filter(pl.col("us") < until).with_columns(day=day)
    counts = (
        e.drop_nulls("event")
        .group_by("event")
        .agg(n=pl.len())
        .sort(["n", "event"], descending=[True, False])
        .head(CHURN_EVENT_TYPES)
        .collect(engine="streaming")
    )
    types = counts["event"].to_list()
    type_cols = [f"type_{i}" for i in range(len(types))]
    ev = e.group_by("user_id", "day").agg(
        *[(pl.col("event") == t).sum().alias(col) for t, col in zip(types, type_cols, strict=True)],
        events=pl.len(),
    )
    o = (
        pl.scan_parquet(folder / "orders.parquet")
        .select("user_id", "ts", "amount", "status")
        .with_columns(us=pl.col("ts").dt.epoch("us"))
        .filter(
            pl.col("user_id").is_not_null()
            & (pl.col("us") < until)
            & (pl.col("status").is_null() | (pl.col("status") == "paid"))
            & (pl.col("amount") > 0)
        )
        .with_columns(day=day)
    )
    od = o.group_by("user_id", "day").agg(orders=pl.len(), revenue=pl.col("amount").sum())
    daily = ev.join(od, on=["user_id", "day"], how="full", coalesce=True).fill_null(0)
    seen = daily.filter(pl.col("day") < c)
    per = seen.group_by("user_id").agg(
        last_day=pl.col("day").max(),
        orders_all=pl.col("orders").sum(),
        revenue_all=pl.col("revenue").sum(),
        last_order_day=pl.col("day").filter(pl.col("orders") > 0).max(),
    )
    windows = sorted(CHURN_WINDOWS)
    for w in windows:
        inside = seen.filter(pl.col("day") >= c - w).group_by("user_id")
        per = per.join(
            inside.agg(
                pl.col("events").sum().alias(f"events_{w}d"),
                pl.len().alias(f"active_days_{w}d"),
                pl.col("orders").sum().alias(f"orders_{w}d"),
                pl.col("revenue").sum().alias(f"revenue_{w}d"),
            ),
            on="user_id",
            how="left",
        )
    typed = seen.filter(pl.col("day") >= c - CHURN_TYPE_WINDOW).group_by("user_id")
    per = per.join(typed.agg(pl.col(type_cols).sum()), on="user_id", how="left")
    per = per.filter(pl.col("last_day") >= c - CHURN_ACTIVE_DAYS)
    signup_before = _us(_utc(AS_OF)) - CHURN_HORIZON_DAYS * DAY_US
    u = (
        pl.scan_parquet(folder / "users.parquet")
        .select("user_id", us=pl.col("signup_ts").dt.epoch("us"))
        .filter(pl.col("user_id").is_not_null() & (pl.col("us") < signup_before))
        .select("user_id", signup=day)
    )
    t = per.join(u, on="user_id", how="inner")
    kept = ("user_id", "last_order_day", "signup")
    t = t.with_columns(pl.exclude(kept).fill_null(0))
    computed = [col for col in t.collect_schema().names() if col not in (*kept, "last_day")]
    trends = []
    for short, long in pairwise(windows):
        events = pl.col(f"events_{short}d") / short - pl.col(f"events_{long}d") / long
        days = pl.col(f"active_days_{short}d") / short - pl.col(f"active_days_{long}d") / long
        trends += [
            events.alias(f"events_trend_{short}_{long}"),
            days.alias(f"days_trend_{short}_{long}"),
        ]
    out = t.select(
        "user_id",
        (c - pl.col("last_day")).alias("recency_days"),
        (c - pl.col("signup")).alias("tenure_days"),
        (c - pl.col("last_order_day")).fill_null(c - pl.col("signup")).alias("order_recency_days"),
        *computed,
        *trends,
    )
    ahead = daily.filter((pl.col("day") >= c) & (pl.col("day") < c + CHURN_HORIZON_DAYS))
    ahead = ahead.select("user_id").unique().with_columns(back=pl.lit(True))
    out = (
        out.join(ahead, on="user_id", how="left")
        .with_columns(churned=pl.col("back").is_null())
        .drop("back")
    )
    return out.collect(engine="streaming").to_pandas()
