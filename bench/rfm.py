"""Benchmark: the segmentation report's RFM engine step against hand-written DuckDB SQL.

    .venv/bin/python bench/rfm.py                 # 1M customers, 10M orders (about 1 minute)
    .venv/bin/python bench/rfm.py --orders 2e6    # smaller, quicker

Generates (once; reused while the size and seed match) a shop of ``--customers`` customers and
``--orders`` orders as Parquet under ``bench/data/rfm-<customers>-<orders>/`` (gitignored): user
ids with a heavy-tailed purchase propensity, a year of UTC timestamps, lognormal amounts, statuses
paid / refunded / cancelled (93 / 5 / 2 %). Generation runs in a child process so the peak memory
printed below is the measured steps' own.

Then, in this one process and alternately (best of ``--repeat``): the opsbook engine step
(:func:`opsbook.segmentation.rfm_expression` through :mod:`opsbook.data`, executed to pandas) and
one hand-written DuckDB query returning the same per-customer numbers (orders, revenue, last local
date, recency) to pandas. The results are compared row for row; the ratio and the peak RSS are
printed. Also timed: the exclusion counts (a second pass) and the scoring in pandas. A script,
not a test: nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from common import DATA, END, ZONE, best_of, ensure_generated, peak_rss_mib

CHUNK = 1_000_000


def generate(folder: Path, customers: int, orders: int, seed: int) -> None:
    """Write ``orders.parquet`` in chunks with numpy + pyarrow (bounded memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    # heavy-tailed propensity: a few customers place many orders, most a handful
    weights = rng.gamma(0.6, 1.0, size=customers)
    cumulative = np.cumsum(weights / weights.sum())
    end_us = int(
        (np.datetime64(END + timedelta(days=1)) - np.datetime64("1970-01-01"))
        / np.timedelta64(1, "us")
    )
    end_us -= 8 * 3600 * 1_000_000  # the end of END in Shanghai, as UTC
    span_us = 365 * 86_400 * 1_000_000
    schema = pa.schema(
        [
            ("order_id", pa.int64()),
            ("user_id", pa.int64()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("amount", pa.float64()),
            ("status", pa.dictionary(pa.int8(), pa.string())),
        ]
    )
    statuses = pa.array(["paid", "refunded", "cancelled"])
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "orders.parquet.partial"
    with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
        for start in range(0, orders, CHUNK):
            n = min(CHUNK, orders - start)
            user = np.searchsorted(cumulative, rng.random(n), side="right").clip(0, customers - 1)
            ts = end_us - rng.integers(1, span_us, size=n)
            amount = np.round(rng.lognormal(np.log(85.0), 0.8, size=n), 2)
            status = rng.choice(3, size=n, p=[0.93, 0.05, 0.02]).astype(np.int8)
            table = pa.table(
                {
                    "order_id": np.arange(start + 1, start + n + 1, dtype=np.int64),
                    "user_id": (user + 1).astype(np.int64),
                    "ts": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
                    "amount": amount,
                    "status": pa.DictionaryArray.from_arrays(pa.array(status), statuses),
                },
                schema=schema,
            )
            writer.write_table(table)
    partial.rename(folder / "orders.parquet")


def reference_sql(path: Path, as_of: date, start: date) -> str:
    """The hand-written query: what an analyst would type for the same numbers."""
    return f"""
        SELECT user_id,
               count(*) AS orders,
               sum(amount) AS revenue,
               CAST(max(ts) AT TIME ZONE '{ZONE}' AS DATE) AS last_order,
               date_diff('day', CAST(max(ts) AT TIME ZONE '{ZONE}' AS DATE), DATE '{as_of}')
                   AS recency
        FROM read_parquet('{path}')
        WHERE status = 'paid'
          AND user_id IS NOT NULL
          AND amount >= 0
          AND ts >= TIMESTAMPTZ '{start} 00:00:00+08'
          AND ts <  TIMESTAMPTZ '{as_of} 00:00:00+08'
        GROUP BY user_id
    """


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=float, default=1e6)
    parser.add_argument("--orders", type=float, default=1e7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lookback", type=int, default=365)
    parser.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    customers, orders = int(args.customers), int(args.orders)
    if args.generate_only:
        generate(args.generate_only, customers, orders, args.seed)
        return

    folder = DATA / f"rfm-{customers}-{orders}"
    wanted = {"customers": customers, "orders": orders, "seed": args.seed, "end": END.isoformat()}
    ensure_generated(
        folder,
        wanted,
        [__file__, "--customers", str(customers), "--orders", str(orders),
         "--seed", str(args.seed), "--generate-only", str(folder)],
    )  # fmt: skip

    import duckdb
    import pandas as pd

    from opsbook import segmentation as sg
    from opsbook.config import load_config
    from opsbook.data import open_source

    config = load_config(data=str(folder), overrides={"timezone": ZONE})
    source = open_source(config)
    as_of = END + timedelta(days=1)
    start = as_of - timedelta(days=args.lookback)
    bounds = {
        "start_utc": source.utc_from_local(str(start)),
        "end_utc": source.utc_from_local(str(as_of)),
    }
    orders_table = source.table("orders")  # what compute_rfm scans
    engine_expr = sg.rfm_expression(
        orders_table, as_of=as_of, local_date=source.local_date, **bounds
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = reference_sql(folder / "orders.parquet", as_of, start)

    # warm the file cache once each, then alternate
    def engine_step():
        # as compute_rfm runs it: the per-customer expression to pandas (through Arrow) and the
        # last order's local date derived from recency
        per = engine_expr.to_pyarrow().to_pandas()
        return sg.finish_rfm(per, as_of=as_of, frequency="orders", monetary="total")

    engine_step()
    con.sql(sql).df()
    engine_times, sql_times = [], []
    for _ in range(args.repeat):
        t_engine, engine = best_of(1, engine_step)
        t_sql, reference = best_of(1, lambda: con.sql(sql).df())
        engine_times.append(t_engine)
        sql_times.append(t_sql)
    t_engine, t_sql = min(engine_times), min(sql_times)

    got = engine.sort_values("user_id").reset_index(drop=True)
    ref = reference.sort_values("user_id").reset_index(drop=True)
    same = (
        len(got) == len(ref)
        and (got["user_id"].to_numpy() == ref["user_id"].to_numpy()).all()
        and (got["orders"].to_numpy() == ref["orders"].to_numpy()).all()
        and (got["recency"].to_numpy() == ref["recency"].to_numpy()).all()
        and (pd.to_datetime(got["last_order"]) == pd.to_datetime(ref["last_order"])).all()
        and np.allclose(got["revenue"], ref["revenue"], rtol=1e-9)
    )

    def exclusion_counts():
        sg.tally_exclusions(sg.exclusions_expression(orders_table, **bounds).execute())
        sg.unpaid_customers_expression(orders_table, **bounds).execute()

    t_excl, _ = best_of(args.repeat, exclusion_counts)
    rfm = sg.compute_rfm(source, as_of=as_of, lookback_days=args.lookback)
    t_score, result = best_of(1, lambda: sg.segment_customers(rfm, sg.Settings(as_of=as_of)))

    ratio = t_engine / t_sql
    print(f"orders: {orders:,}   customers: {customers:,}   with paid orders: {len(got):,}")
    print(f"window: {start} .. {as_of - timedelta(days=1)} ({ZONE}), best of {args.repeat}")
    print(f"opsbook RFM engine step (Ibis -> DuckDB -> pandas): {t_engine:6.2f} s")
    print(f"hand-written DuckDB SQL (-> pandas):                {t_sql:6.2f} s")
    print(f"ratio opsbook / SQL:                                {ratio:6.2f}x")
    print(f"same numbers:                                       {'yes' if same else 'NO'}")
    print(f"exclusion counts, unpaid customers (2 more passes): {t_excl:6.2f} s")
    print(f"scores, 8 classes, tiers, profiles (pandas):        {t_score:6.2f} s")
    print(f"customers scored: {result.customers:,}")
    print(f"peak RSS: {peak_rss_mib():,.0f} MiB")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
