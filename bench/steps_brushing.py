"""The ``brushing`` step (issue 22): the order-brushing rules on the paid orders -- bursts of a
user's orders and of a device's (the sample's orders carry a ``device_id``), orders with no browsing before them, campaign orders right after signup, the
same amount repeated -- counted per rule (orders, users, amount) and for all rules together,
and the refund rule's input (users per peer channel and (orders, refunds) pair).

Every method writes the rules as one would by hand; the bench data have no order without a
user or a time, so none of the methods treats them.

* opsbook: :func:`opsbook.brushing.queries.flagged_orders`, ``flag_counts`` and
  ``refund_counts``;
* SQL: two window passes per burst rule (count forward from each order, look back for a
  start), a correlated NOT EXISTS for the browsing, a join for new accounts;
* pandas and polars: the orders sorted per key, each order's (k-1)-th successor compared for a
  burst start and the latest start before it for membership (no window per group), an as-of
  join for the last event before each order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MINUTE_US = 60_000_000
BURST = (5, 60 * MINUTE_US)  # orders, window: opsbook's defaults
NO_BROWSING_US = 30 * MINUTE_US
NEW_ACCOUNT_US = 10 * MINUTE_US
REPEATED = (3, 24 * 60 * MINUTE_US)


def burst_keys(folder: Path) -> list[str]:
    """The burst rule's keys: the user, and the device where the orders carry one (the sample's
    do: its brushing rings share a device), as opsbook's rule reads them."""
    import pyarrow.parquet as pq

    columns = pq.read_schema(folder / "orders.parquet").names
    return ["user_id", *[c for c in ("device_id",) if c in columns]]


def brushing_step(method: str, folder: Path, memory_limit: str | None):
    """(prepare, run) of the brushing step for ``method``."""
    if method == "opsbook":
        return _opsbook(folder, memory_limit)
    runs = {"sql": _sql, "pandas": _pandas, "polars": _polars}
    return None, lambda: runs[method](folder, memory_limit)


def _opsbook(folder: Path, memory_limit: str | None):
    from steps_opsbook import _source

    from opsbook.brushing.queries import BrushingRules, flag_counts, flagged_orders, refund_counts
    from opsbook.engine import keep_parts

    rules = BrushingRules(
        burst_orders=BURST[0],
        burst_minutes=BURST[1] // MINUTE_US,
        no_browsing_minutes=NO_BROWSING_US // MINUTE_US,
        new_account_minutes=NEW_ACCOUNT_US // MINUTE_US,
        repeated_orders=REPEATED[0],
        repeated_hours=REPEATED[1] // (60 * MINUTE_US),
    )

    def run(source):
        parts, _ = flagged_orders(source, rules)
        # kept, as the report keeps them (brushing.analysis): counted twice (per rule, all)
        counts = flag_counts(keep_parts(parts))[["rule", "orders", "users", "amount"]]
        return {
            "flags": counts.astype({"amount": float}),
            "refunds": refund_counts(source).execute(),
        }

    return lambda: _source(folder, memory_limit), run


def _sql(folder: Path, memory_limit: str | None) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    orders, events, users = (
        f"read_parquet('{folder / f'{t}.parquet'}')" for t in ("orders", "events", "users")
    )
    keys = burst_keys(folder)

    def burst(keys: str, count: int, window: int, rule: str) -> str:
        return f"""
            SELECT order_id, user_id, amount, '{rule}' AS rule FROM (
                SELECT *, bool_or(start) OVER (PARTITION BY {keys} ORDER BY us
                    RANGE BETWEEN {window} PRECEDING AND CURRENT ROW) AS hit
                FROM (SELECT *, count(order_id) OVER (PARTITION BY {keys} ORDER BY us
                          RANGE BETWEEN CURRENT ROW AND {window} FOLLOWING) >= {count} AS start
                      FROM paid))
            WHERE hit"""

    flags = f"""
        WITH paid AS (
            SELECT order_id, {", ".join(keys)}, amount, campaign_id, epoch_us(ts) AS us
            FROM {orders} WHERE status IS NULL OR status = 'paid'),
        flags AS (
            {" UNION ".join(burst(key, *BURST, "burst") for key in keys)}
            UNION
            {burst("user_id, amount", *REPEATED, "repeated_amount")}
            UNION
            SELECT order_id, user_id, amount, 'no_browsing' FROM paid o WHERE NOT EXISTS (
                SELECT 1 FROM {events} e WHERE e.user_id = o.user_id
                AND epoch_us(e.ts) < o.us AND epoch_us(e.ts) >= o.us - {NO_BROWSING_US})
            UNION
            SELECT o.order_id, o.user_id, o.amount, 'new_account'
            FROM paid o JOIN {users} u USING (user_id)
            WHERE o.campaign_id IS NOT NULL AND o.us >= epoch_us(u.signup_ts)
              AND o.us - epoch_us(u.signup_ts) <= {NEW_ACCOUNT_US})
        SELECT rule, count(DISTINCT order_id) AS orders, count(DISTINCT user_id) AS users,
               sum(amount) AS amount FROM flags GROUP BY rule
        UNION ALL
        SELECT 'all', count(*), count(DISTINCT user_id), sum(amount)
        FROM (SELECT DISTINCT order_id, user_id, amount FROM flags)
    """
    refunds = f"""
        WITH per AS (
            SELECT user_id, count(order_id) AS orders,
                   sum(CAST(status = 'refunded' AS BIGINT)) AS refunds
            FROM {orders} GROUP BY user_id)
        SELECT coalesce(u.channel, '') AS peer, orders, refunds, count(*) AS users
        FROM per LEFT JOIN {users} u USING (user_id) GROUP BY ALL
    """
    return {"flags": con.sql(flags).df(), "refunds": con.sql(refunds).df()}


def _pandas(folder: Path, memory_limit: str | None) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    def read(name: str, columns: list[str]) -> pd.DataFrame:
        return pd.read_parquet(folder / f"{name}.parquet", columns=columns)

    def us(col: pd.Series) -> np.ndarray:
        return ((col - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)).to_numpy()

    keys = burst_keys(folder)
    o = read("orders", ["order_id", *keys, "ts", "amount", "status", "campaign_id"])
    o["us"] = us(o["ts"])
    paid = o[o["status"].isna() | (o["status"] == "paid")].drop(columns=["ts", "status"])

    def burst(keys: list[str], count: int, window: int) -> pd.DataFrame:
        d = paid.sort_values([*keys, "us"], kind="stable").reset_index(drop=True)
        t = d["us"].to_numpy()
        new_key = np.zeros(len(d), bool)
        new_key[0] = True
        for k in keys:
            v = d[k].to_numpy()
            new_key[1:] |= v[1:] != v[:-1]
        group = np.cumsum(new_key)
        idx = np.arange(len(d))
        new_time = new_key | np.r_[True, t[1:] != t[:-1]]
        first = np.maximum.accumulate(np.where(new_time, idx, 0))  # first of equal times
        ahead = np.minimum(first + count - 1, len(d) - 1)
        start = (first + count - 1 < len(d)) & (group[ahead] == group) & (t[ahead] - t <= window)
        last = np.maximum.accumulate(np.where(start, idx, -1))
        at = np.maximum(last, 0)
        return d[(last >= 0) & (group[at] == group) & (t - t[at] <= window)]

    parts = [burst([key], *BURST).assign(rule="burst") for key in keys]
    parts.append(burst(["user_id", "amount"], *REPEATED).assign(rule="repeated_amount"))
    e = read("events", ["user_id", "ts"])
    seen = pd.DataFrame({"user_id": e["user_id"].to_numpy(), "seen": us(e["ts"])})
    del e
    last = pd.merge_asof(
        paid.sort_values("us"),
        seen.sort_values("seen"),
        left_on="us",
        right_on="seen",
        by="user_id",
        allow_exact_matches=False,
    )
    parts.append(
        last[last["seen"].isna() | (last["seen"] < last["us"] - NO_BROWSING_US)].assign(
            rule="no_browsing"
        )
    )
    u = read("users", ["user_id", "signup_ts", "channel"])
    u["signup"] = us(u["signup_ts"])
    j = paid[paid["campaign_id"].notna()].merge(u[["user_id", "signup"]], on="user_id")
    quick = (j["us"] >= j["signup"]) & (j["us"] - j["signup"] <= NEW_ACCOUNT_US)
    parts.append(j[quick].assign(rule="new_account"))
    flags = pd.concat([p[["order_id", "user_id", "amount", "rule"]] for p in parts])
    flags = flags.drop_duplicates()
    per = flags.groupby("rule").agg(
        orders=("order_id", "nunique"), users=("user_id", "nunique"), amount=("amount", "sum")
    )
    every = flags.drop_duplicates(["order_id", "user_id", "amount"])
    per.loc["all"] = [len(every), every["user_id"].nunique(), every["amount"].sum()]
    o["refunded"] = (o["status"] == "refunded").astype("int64")
    profile = o.groupby("user_id", dropna=False).agg(
        orders=("order_id", "count"), refunds=("refunded", "sum")
    )
    profile = profile.join(u.set_index("user_id")["channel"])
    profile["peer"] = profile["channel"].fillna("")
    refunds = profile.groupby(["peer", "orders", "refunds"]).size().rename("users")
    return {"flags": per.reset_index(), "refunds": refunds.reset_index()}


def _polars(folder: Path, memory_limit: str | None) -> dict[str, Any]:
    import polars as pl

    def scan(name: str, columns: list[str]) -> pl.LazyFrame:
        return pl.scan_parquet(folder / f"{name}.parquet").select(columns)

    keys = burst_keys(folder)
    o = scan("orders", ["order_id", *keys, "ts", "amount", "status", "campaign_id"])
    o = o.with_columns(us=pl.col("ts").dt.epoch("us"))
    paid = o.filter(pl.col("status").is_null() | (pl.col("status") == "paid"))
    paid = paid.select("order_id", *keys, "amount", "campaign_id", "us")

    def burst(keys: list[str], count: int, window: int, rule: str) -> pl.LazyFrame:
        idx = pl.int_range(pl.len())
        new_key = pl.any_horizontal([pl.col(k) != pl.col(k).shift(1) for k in keys]).fill_null(True)
        new_time = new_key | (pl.col("us") != pl.col("us").shift(1)).fill_null(True)
        d = paid.sort([*keys, "us"]).with_columns(group=new_key.cum_sum(), idx=idx)
        d = d.with_columns(first=pl.when(new_time).then(idx).forward_fill())
        ahead = pl.col("first") + count - 1
        at = ahead.clip(upper_bound=pl.len() - 1)
        d = d.with_columns(
            start=(ahead < pl.len())
            & (pl.col("group").gather(at) == pl.col("group"))
            & (pl.col("us").gather(at) - pl.col("us") <= window)
        )
        d = d.with_columns(last=pl.when("start").then("idx").forward_fill())
        back = pl.col("last").fill_null(0)
        hit = (
            pl.col("last").is_not_null()
            & (pl.col("group").gather(back) == pl.col("group"))
            & (pl.col("us") - pl.col("us").gather(back) <= window)
        )
        return d.filter(hit).select("order_id", "user_id", "amount", rule=pl.lit(rule))

    seen = scan("events", ["user_id", "ts"]).select("user_id", seen=pl.col("ts").dt.epoch("us"))
    last = paid.sort("us").join_asof(
        seen.sort("seen"),
        left_on="us",
        right_on="seen",
        by="user_id",
        allow_exact_matches=False,
    )
    unbrowsed = last.filter(
        pl.col("seen").is_null() | (pl.col("seen") < pl.col("us") - NO_BROWSING_US)
    )
    u = scan("users", ["user_id", "signup_ts", "channel"])
    signups = u.select("user_id", signup=pl.col("signup_ts").dt.epoch("us"))
    quick = paid.filter(pl.col("campaign_id").is_not_null()).join(signups, on="user_id")
    quick = quick.filter(
        (pl.col("us") >= pl.col("signup")) & (pl.col("us") - pl.col("signup") <= NEW_ACCOUNT_US)
    )
    columns = ["order_id", "user_id", "amount"]
    flags = pl.concat(
        [
            *[burst([key], *BURST, "burst") for key in keys],
            burst(["user_id", "amount"], *REPEATED, "repeated_amount"),
            unbrowsed.select(*columns, rule=pl.lit("no_browsing")),
            quick.select(*columns, rule=pl.lit("new_account")),
        ]
    ).unique()
    per = flags.group_by("rule").agg(
        orders=pl.col("order_id").n_unique(),
        users=pl.col("user_id").n_unique(),
        amount=pl.col("amount").sum(),
    )
    every = flags.select(columns).unique()
    every = every.select(
        rule=pl.lit("all"),
        orders=pl.len().cast(per.collect_schema()["orders"]),
        users=pl.col("user_id").n_unique(),
        amount=pl.col("amount").sum(),
    )
    profile = o.group_by("user_id").agg(
        orders=pl.col("order_id").count(),
        refunds=(pl.col("status") == "refunded").cast(pl.Int64).sum(),
    )
    profile = profile.join(u.select("user_id", "channel"), on="user_id", how="left")
    profile = profile.with_columns(peer=pl.col("channel").fill_null(""))
    refunds = profile.group_by("peer", "orders", "refunds").agg(users=pl.len())
    flags_frame, refunds_frame = pl.collect_all(
        [pl.concat([per, every]), refunds], engine="streaming"
    )
    return {"flags": flags_frame.to_pandas(), "refunds": refunds_frame.to_pandas()}
