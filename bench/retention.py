"""Benchmark: the retention report's matrix engine step against a hand-written DuckDB query.

    .venv/bin/python bench/retention.py                    # 1M users, 50M events
    .venv/bin/python bench/retention.py --events 5e6 --users 1e5   # quick
    .venv/bin/python bench/retention.py --extra            # and the report's other engine steps

Generates once (reused while size and seed match) ``users.parquet`` and ``events.parquet`` under
``bench/data/retention-<users>-<events>/`` (gitignored) with DuckDB's own generators, in a child
process so the memory printed below is the measured steps' own: signups spread over 180 days,
each event of a user drawn between signup and the end with a density falling away from the
signup (so retention decays), event names from five kinds.

Then, in one process and alternately (best of ``--repeat``): :func:`opsbook.retention.
retention_matrix` (weekly calendar cohorts of signup in Asia/Shanghai, any event, criterion
"on"; the engine step through opsbook.data, Parquet files scanned, never loaded into pandas) and a
hand-written DuckDB SQL query for the same cohort sizes and cell counts. The numbers are compared
cell by cell; the times, their ratio and the peak resident memory of each step are printed. A
script, not a test.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from pathlib import Path

from common import DATA, END, ZONE, ensure_generated, peak_rss_mib, reset_peak

SIGNUP_DAYS = 180
EVENTS = ("app_open", "view_item", "add_to_cart", "share", "content_view")


def generate(folder: Path, users: int, events: int, seed: int, threads: int) -> None:
    """users.parquet and events.parquet, written by DuckDB straight from its generators."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {threads}")
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    # the end of END in Shanghai, as naive UTC; signups fall in the SIGNUP_DAYS before it
    end = f"TIMESTAMP '{END + timedelta(days=1)} 00:00:00' - INTERVAL 8 HOUR"
    span = SIGNUP_DAYS * 86_400
    # a user's signup offset is a hash of the id: events get it without a join
    signup = f"({end}) - to_seconds(CAST(1 + hash(user_id, {seed}) % {span} AS BIGINT))"
    con.execute(
        f"""
        COPY (
            SELECT user_id,
                   {signup} AS signup_ts,
                   ['organic', 'search', 'social', 'referral', 'kol'][
                       CAST(1 + hash(user_id, {seed + 1}) % 5 AS BIGINT)] AS channel
            FROM range(1, {users + 1}) r(user_id)
        ) TO '{folder / "users.parquet.partial"}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    kinds = "[" + ", ".join(f"'{e}'" for e in EVENTS) + "]"
    # the i-th event belongs to a hashed user; its time lies between the user's signup and the
    # end, at a fraction u^3 of the way (most events soon after signup: decaying retention)
    con.execute(
        f"""
        COPY (
            SELECT user_id,
                   signup_ts + to_microseconds(CAST(
                       pow(random(), 3) * epoch_us(({end}) - signup_ts) AS BIGINT)) AS ts,
                   {kinds}[1 + CAST(floor(random() * {len(EVENTS)}) AS INTEGER)] AS event
            FROM (
                SELECT user_id, {signup} AS signup_ts
                FROM (SELECT CAST(1 + hash(i, {seed + 2}) % {users} AS BIGINT) AS user_id
                      FROM range({events}) r(i))
            )
        ) TO '{folder / "events.parquet.partial"}'
          (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
        """
    )
    for name in ("users", "events"):
        (folder / f"{name}.parquet.partial").rename(folder / f"{name}.parquet")


def reference_sql(folder: Path, as_of_utc: str) -> tuple[str, str]:
    """What an analyst would type: cohort sizes, and users per (cohort week, weeks after)."""
    week = "date_trunc('week', {} + INTERVAL 8 HOUR)"  # Shanghai wall clock, Monday weeks
    sizes = f"""
        SELECT {week.format("signup_ts")} AS cohort, count(*) AS users
        FROM read_parquet('{folder / "users.parquet"}')
        WHERE signup_ts <= TIMESTAMP '{as_of_utc}'
        GROUP BY ALL
    """
    cells = f"""
        WITH u AS (
            SELECT user_id, {week.format("signup_ts")} AS cohort
            FROM read_parquet('{folder / "users.parquet"}')
            WHERE signup_ts <= TIMESTAMP '{as_of_utc}'
        ), a AS (
            SELECT DISTINCT user_id, {week.format("ts")} AS week
            FROM read_parquet('{folder / "events.parquet"}')
            WHERE ts <= TIMESTAMP '{as_of_utc}'
        )
        SELECT cohort, date_diff('day', cohort, week) // 7 AS n, count(*) AS retained
        FROM a JOIN u USING (user_id)
        WHERE week > cohort
        GROUP BY ALL
    """
    return sizes, cells


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=float, default=1e6)
    parser.add_argument("--events", type=float, default=5e7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--extra",
        action="store_true",
        help="also time (once, no reference) on_or_after, D1/D7/D30, stickiness and lifecycle",
    )
    parser.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    users, events = int(args.users), int(args.events)
    if args.generate_only:
        generate(args.generate_only, users, events, args.seed, args.threads)
        return

    folder = DATA / f"retention-{users}-{events}"
    wanted = {"users": users, "events": events, "seed": args.seed, "end": END.isoformat()}
    ensure_generated(
        folder,
        wanted,
        [__file__, "--users", str(users), "--events", str(events), "--seed", str(args.seed),
         "--threads", str(args.threads), "--generate-only", str(folder)],
    )  # fmt: skip

    import duckdb
    import pandas as pd

    from opsbook import retention
    from opsbook.config import load_config
    from opsbook.data import open_source

    config = load_config(
        data=str(folder), overrides={"timezone": ZONE, "engine": {"threads": args.threads}}
    )
    source = open_source(config)
    as_of = pd.Timestamp(END + timedelta(days=1))  # the midnight after the last day (local)
    as_of_utc = source.utc_from_local(as_of)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {args.threads}")
    sizes_sql, cells_sql = reference_sql(folder, f"{as_of_utc:%Y-%m-%d %H:%M:%S}")

    def engine_step():
        return retention.retention_matrix(source, period="week", as_of=as_of)

    def sql_step():
        return con.sql(sizes_sql).df(), con.sql(cells_sql).df()

    reset_peak()
    baseline = peak_rss_mib()
    engine_times, sql_times, engine_peak, sql_peak = [], [], 0.0, 0.0
    for _ in range(args.repeat):
        reset_peak()
        t0 = time.perf_counter()
        result = engine_step()
        engine_times.append(time.perf_counter() - t0)
        engine_peak = max(engine_peak, peak_rss_mib())
        reset_peak()
        t0 = time.perf_counter()
        ref_sizes, ref_cells = sql_step()
        sql_times.append(time.perf_counter() - t0)
        sql_peak = max(sql_peak, peak_rss_mib())

    # the same numbers, cell by cell (complete cells; period 0 is the cohort itself)
    got_sizes = result.cohorts.set_index("cohort")["users"].to_dict()
    ref_sizes = {
        f"{c:%Y-%m-%d}": int(n) for c, n in zip(ref_sizes.cohort, ref_sizes.users, strict=True)
    }
    done = result.cells[result.cells["complete"] & (result.cells["period"] > 0)]
    got_cells = {(r.cohort, int(r.period)): int(r.retained) for r in done.itertuples()}
    ref_all = {(f"{c:%Y-%m-%d}", int(n)): int(k) for c, n, k in ref_cells.itertuples(index=False)}
    ref_done = {key: ref_all.get(key, 0) for key in got_cells}
    same = got_sizes == ref_sizes and got_cells == ref_done
    extra = {k for k in ref_all if k not in got_cells}
    last_complete = retention.number_of(as_of, "week") - 1
    only_incomplete = all(
        retention.number_of(pd.Timestamp(c), "week") + n > last_complete for c, n in extra
    )

    t_engine, t_sql = min(engine_times), min(sql_times)
    print(f"data: {users:,} users, {events:,} events ({folder})")
    print(f"cohorts: {len(got_sizes)} weekly, complete cells: {len(got_cells)}")
    print(
        f"opsbook retention_matrix (engine step): {t_engine:6.2f} s   peak RSS {engine_peak:,.0f} MiB"
    )
    print(f"hand-written DuckDB SQL:                {t_sql:6.2f} s   peak RSS {sql_peak:,.0f} MiB")
    print(f"(resident before the steps: {baseline:,.0f} MiB; events are never held in pandas)")
    print(
        f"ratio opsbook / SQL: {t_engine / t_sql:.2f}   (best of {args.repeat}, {args.threads} threads)"
    )
    print(f"same numbers: {same and only_incomplete}")
    if not (same and only_incomplete):
        raise SystemExit("the engine step and the reference query disagree")
    if args.extra:
        steps = {
            "retention_matrix(criterion='on_or_after')": lambda: retention.retention_matrix(
                source, period="week", criterion="on_or_after", as_of=as_of
            ),
            "day_n_retention((1, 7, 30))": lambda: retention.day_n_retention(
                source, (1, 7, 30), as_of=as_of
            ),
            "stickiness()": lambda: retention.stickiness(source, as_of=as_of),
            "lifecycle('week')": lambda: retention.lifecycle(source, "week", as_of=as_of),
        }
        for label, step in steps.items():
            reset_peak()
            t0 = time.perf_counter()
            step()
            print(
                f"  {label:45s} {time.perf_counter() - t0:6.2f} s   peak RSS {peak_rss_mib():,.0f} MiB"
            )


if __name__ == "__main__":
    main()
