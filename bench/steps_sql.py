"""The floor: each step as one hand-written DuckDB query set on the Parquet files."""

from __future__ import annotations

from datetime import date, timedelta
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
    OFFSET,
    PATH_ANCHOR,
    PATH_STEPS,
    PATH_TOP,
    SESSION_GAP_SECONDS,
    WINDOW_DAYS,
    _tz,
    _utc,
)


def local_day(column: str) -> str:
    """The Shanghai calendar day of a TIMESTAMPTZ column as days since 1970-01-01: integer
    arithmetic on the epoch (date_trunc / CAST AS DATE of a TIMESTAMPTZ go through ICU's
    calendar, about 5x slower per row: the floor should be the fast way to write it)."""
    return f"((epoch_us({column}) + 28800000000) // 86400000000)"


def sql_step(step: str, folder: Path, p: dict[str, Any], memory_limit: str | None):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")

    def f(name: str) -> str:
        return f"read_parquet('{folder / f'{name}.parquet'}')"

    if step == "rfm":
        lo, hi = _tz(_utc(AS_OF - timedelta(days=LOOKBACK))), _tz(_utc(AS_OF))
        valid = "ts IS NOT NULL AND amount IS NOT NULL AND amount >= 0"
        inside = f"ts >= {lo} AND ts < {hi}"
        status = "coalesce(status, 'paid')"
        customers = f"""
            SELECT user_id, count(*) AS orders, sum(amount) AS revenue,
                   date_diff('day', CAST(max(ts) + {OFFSET} AS DATE), DATE '{AS_OF}') AS recency
            FROM {f("orders")}
            WHERE {status} = 'paid' AND user_id IS NOT NULL AND {valid} AND {inside}
            GROUP BY user_id
        """
        summary = f"""
            SELECT CASE WHEN NOT ({valid}) THEN 'invalid'
                        WHEN NOT coalesce({inside}, false) THEN 'outside_window'
                        WHEN {status} IN ('cancelled', 'refunded') THEN {status}
                        WHEN {status} <> 'paid' THEN 'other_status'
                        WHEN user_id IS NULL THEN 'no_user'
                        ELSE 'included' END AS key,
                   count(*) AS value
            FROM {f("orders")} GROUP BY 1
            UNION ALL
            SELECT 'without_paid', count(*) FROM (
                SELECT DISTINCT user_id FROM {f("orders")}
                WHERE {status} <> 'paid' AND user_id IS NOT NULL AND {valid} AND {inside}
                EXCEPT
                SELECT user_id FROM {f("orders")}
                WHERE {status} = 'paid' AND user_id IS NOT NULL AND {valid} AND {inside})
        """

        def run():
            return {"customers": con.sql(customers).df(), "summary": con.sql(summary).df()}
    elif step == "retention":
        as_of = _tz(_utc(AS_OF))
        monday = "{d} - ({d} + 3) % 7"  # day numbers; 1970-01-01 was a Thursday
        cohort = monday.format(d=local_day("signup_ts"))
        users = f"SELECT user_id, {cohort} AS cohort FROM {f('users')} WHERE signup_ts <= {as_of}"
        sizes = f"""
            SELECT strftime(DATE '1970-01-01' + CAST(cohort AS INTEGER), '%Y-%m-%d') AS cohort,
                   count(*) AS users
            FROM ({users}) GROUP BY ALL
        """
        cells = f"""
            WITH u AS ({users}), a AS (
                SELECT DISTINCT user_id, {monday.format(d=local_day("ts"))} AS week
                FROM {f("events")} WHERE ts <= {as_of}
            )
            SELECT strftime(DATE '1970-01-01' + CAST(cohort AS INTEGER), '%Y-%m-%d') AS cohort,
                   period, retained
            FROM (SELECT cohort, (week - cohort) // 7 AS period, count(*) AS retained
                  FROM a JOIN u USING (user_id) WHERE week > cohort GROUP BY ALL)
        """

        def run():
            return {"sizes": con.sql(sizes).df(), "cells": con.sql(cells).df()}
    elif step == "experiment":
        query = f"""
            WITH a AS (
                SELECT user_id, CAST(variant AS VARCHAR) AS variant, ts FROM {f("assignments")}
                WHERE CAST(experiment AS VARCHAR) = '{p["experiment"]}'
                  AND user_id IS NOT NULL AND variant IS NOT NULL AND ts IS NOT NULL
            ), data_end AS (   -- the local midnight after the newest order, as UTC
                SELECT date_trunc('day', max(ts) + {OFFSET}) + INTERVAL 1 DAY - {OFFSET} AS e
                FROM {f("orders")}
            ), kept AS (     -- one variant only; the whole window observed
                SELECT user_id, min(variant) AS variant, min(ts) AS xts
                FROM a GROUP BY user_id HAVING min(variant) = max(variant)
                   AND min(ts) + INTERVAL {WINDOW_DAYS} DAY <= (SELECT e FROM data_end)
            ), paid AS (
                SELECT user_id, ts, amount FROM {f("orders")}
                WHERE status IS NULL OR status = 'paid'
            ), per_user AS (
                SELECT k.user_id, k.variant, k.xts, count(p.ts) AS orders,
                       coalesce(sum(p.amount), 0) AS revenue
                FROM kept k LEFT JOIN paid p
                  ON p.user_id = k.user_id AND p.ts >= k.xts
                 AND p.ts < k.xts + INTERVAL {WINDOW_DAYS} DAY
                GROUP BY ALL
            )
            SELECT variant, strftime(xts + {OFFSET}, '%Y-%m-%d') AS day, count(*) AS users,
                   count(*) AS m0_n, sum((orders > 0)::DOUBLE) AS m0_a,
                   sum((orders > 0)::DOUBLE) AS m0_aa, count(revenue) AS m1_n,
                   sum(revenue) AS m1_a, sum(revenue * revenue) AS m1_aa
            FROM per_user GROUP BY ALL
        """

        def run():
            return {"sums": con.sql(query).df()}
    elif step == "campaign":
        cid = p["campaign"]
        query = f"""
            WITH m AS (
                SELECT DISTINCT user_id,
                       coalesce(trim(lower(CAST("group" AS VARCHAR))), 'treatment') AS grp
                FROM {f("campaign_members")}
                WHERE campaign_id = {cid} AND user_id IS NOT NULL AND inviter_id IS NULL
            ), o AS (
                SELECT user_id, count(*) AS n_orders, sum(amount) AS revenue
                FROM {f("orders")}
                WHERE user_id IS NOT NULL AND ts IS NOT NULL
                  AND (status IS NULL OR status = 'paid')
                  AND ts >= TIMESTAMPTZ '{p["start"]}+00' AND ts <= TIMESTAMPTZ '{p["end"]}+00'
                GROUP BY user_id
            ), x AS (
                SELECT user_id, arg_min(channel, ts) AS channel FROM {f("events")}
                WHERE event = 'campaign_view' AND campaign_id = {cid}
                  AND user_id IS NOT NULL AND ts IS NOT NULL
                GROUP BY user_id
            ), j AS (
                SELECT m.grp,
                       CASE WHEN m.grp = 'holdout' THEN '-'
                            ELSE coalesce(CAST(x.channel AS VARCHAR), '(unknown)') END AS channel,
                       coalesce(o.n_orders, 0)::DOUBLE AS n_orders,
                       coalesce(o.revenue, 0)::DOUBLE AS revenue
                FROM m LEFT JOIN o USING (user_id) LEFT JOIN x USING (user_id)
            )
            SELECT grp, channel, count(*) AS n, sum((n_orders > 0)::DOUBLE) AS conversion,
                   sum(revenue) AS revenue, sum(revenue * revenue) AS revenue_sq,
                   sum(n_orders) AS orders, sum(n_orders * n_orders) AS orders_sq
            FROM j GROUP BY ALL
        """

        def run():
            return {"sums": con.sql(query).df()}
    elif step == "kpi":
        first = END - timedelta(days=7 * KPI_WEEKS - 1)
        lo, hi = _tz(_utc(first)), _tz(_utc(AS_OF))
        end_day = (END - date(1970, 1, 1)).days
        k = f"({end_day} - {local_day('ts')}) // 7"
        query = f"""
            WITH o AS (
                SELECT user_id, amount, {k} AS k FROM {f("orders")}
                WHERE user_id IS NOT NULL AND ts >= {lo} AND ts < {hi}
                  AND (status IS NULL OR status = 'paid')
            ), e AS (
                SELECT user_id, {k} AS k FROM {f("events")}
                WHERE user_id IS NOT NULL AND ts >= {lo} AND ts < {hi}
            ), money AS (
                SELECT k, sum(amount) AS revenue, count(DISTINCT user_id) AS paying
                FROM o GROUP BY k
            ), act AS (
                SELECT k, count(DISTINCT user_id) AS active
                FROM (SELECT user_id, k FROM o UNION ALL SELECT user_id, k FROM e) GROUP BY k
            )
            SELECT k, coalesce(revenue, 0) AS revenue, coalesce(paying, 0) AS paying, active
            FROM act LEFT JOIN money USING (k)
        """

        def run():
            return {"weeks": con.sql(query).df()}

    elif step == "funnel":
        queries = funnel_queries(f("events"))

        def run():
            con.execute(queries["reached"])
            return {
                "steps": con.sql(queries["steps"]).df(),
                "times": con.sql(queries["times"]).df(),
            }
    elif step == "paths":

        def run():
            queries = paths_queries(f("events"), con)  # the event names are read in the timing
            con.execute(queries["paths"])
            return {name: con.sql(queries[name]).df() for name in ("nodes", "transitions", "top")}
    elif step == "insight_features":

        def run():
            return {"features": con.sql(features_query(f, con)).df()}

    return None, run


def funnel_queries(events: str) -> dict[str, str]:
    """The ordered funnel: each user's first entry event, then step by step the earliest event of
    the next step after the previous one (events at the same microsecond ordered by name) within
    the window of the entry; users per step, and the seconds between steps (and entry to the
    last step) with the engine's interpolated quantiles."""
    window = FUNNEL_WINDOW_DAYS * 86_400_000_000
    names = ", ".join(f"'{n}'" for n in FUNNEL_STEPS)
    parts = [
        f"e AS (SELECT user_id, epoch_us(ts) AS us, event FROM {events} "
        f"WHERE event IN ({names}) AND user_id IS NOT NULL AND ts IS NOT NULL)",
        f"c0 AS (SELECT user_id, min(us) AS t0 FROM e WHERE event = '{FUNNEL_STEPS[0]}' GROUP BY 1)",
    ]
    for k in range(1, len(FUNNEL_STEPS)):
        prev = [f"t{j}" for j in range(k)]
        after = ">=" if FUNNEL_STEPS[k] > FUNNEL_STEPS[k - 1] else ">"  # ties: by event name
        parts.append(
            f"n{k} AS (SELECT c.user_id, min(e.us) AS t{k} FROM c{k - 1} c JOIN e "
            f"ON e.user_id = c.user_id AND e.event = '{FUNNEL_STEPS[k]}' "
            f"AND e.us {after} c.t{k - 1} AND e.us <= c.t0 + {window} GROUP BY 1)"
        )
        parts.append(
            f"c{k} AS (SELECT c.user_id, {', '.join(f'c.{t}' for t in prev)}, n.t{k} "
            f"FROM c{k - 1} c LEFT JOIN n{k} n USING (user_id))"
        )
    last = len(FUNNEL_STEPS) - 1
    reached = (
        f"CREATE OR REPLACE TEMP TABLE reached AS WITH {', '.join(parts)} SELECT * FROM c{last}"
    )
    steps = " UNION ALL ".join(
        f"SELECT {k} AS step, count(t{k}) AS users FROM reached" for k in range(last + 1)
    )
    gaps = [f"SELECT '{k}' AS step, (t{k} - t{k - 1}) / 1e6 AS s FROM reached WHERE t{k} IS NOT NULL"
            for k in range(1, last + 1)]  # fmt: skip
    gaps.append(f"SELECT 'overall', (t{last} - t0) / 1e6 FROM reached WHERE t{last} IS NOT NULL")
    times = f"""
        SELECT step, count(*) AS users, avg(s) AS mean, quantile_cont(s, 0.25) AS p25,
               quantile_cont(s, 0.5) AS median, quantile_cont(s, 0.75) AS p75,
               quantile_cont(s, 0.9) AS p90
        FROM ({" UNION ALL ".join(gaps)}) GROUP BY step
    """
    return {"reached": reached, "steps": steps, "times": times}


def paths_queries(events: str, con) -> dict[str, str]:
    """Paths of PATH_STEPS events after each user's first anchor event: the user's events ordered
    by time then name (an integer key: microseconds times the name's rank), a new session after
    SESSION_GAP_SECONDS idle, a repeat of the previous name within a session dropped; the anchor
    row, and the rows 1..PATH_STEPS after it in its session, pivoted to one row per user.

    Only the rows from one session gap before each user's first anchor to a day (REACH) and a
    gap after it are sessionised; the users whose anchor session may run past that (no path of
    all its steps, no later session read, a row read after the day) are sessionised again from
    all their rows after the anchor. Sessionising every row of every user gives the same paths
    at three times the cost."""
    names = [r[0] for r in con.sql(f"SELECT DISTINCT event FROM {events} ORDER BY 1").fetchall()]
    names = [n for n in names if n is not None]
    bits = len(names).bit_length()
    rank = f"list_position({[str(n) for n in names]}, event)"
    gap = SESSION_GAP_SECONDS * 1_000_000
    reach = max(86_400, 4 * SESSION_GAP_SECONDS) * 1_000_000
    last = f"e{PATH_STEPS}"

    def pivoted(rows: str) -> str:
        """Sessionised ``rows`` (user_id, event, us, key, start) pivoted from each user's
        first anchor: e0..eN, the anchor's session, the user's sessions and last time read."""
        pivot = ", ".join(
            f"max(CASE WHEN n.row - a.a_row = {j} THEN n.event END) AS e{j}"
            for j in range(PATH_STEPS + 1)
        )
        return f"""
            WITH marked AS (
                SELECT user_id, event, us, key, lag(us) OVER w AS prev, lag(event) OVER w AS prev_event
                FROM {rows} WINDOW w AS (PARTITION BY user_id ORDER BY key)
            ), kept AS (
                SELECT user_id, event, key, prev IS NULL OR us - prev > {gap} AS fresh
                FROM marked WHERE prev IS NULL OR us - prev > {gap} OR event <> prev_event
            ), numbered AS (
                SELECT user_id, event, sum(fresh::INT) OVER w AS session, row_number() OVER w AS row
                FROM kept WINDOW w AS (PARTITION BY user_id ORDER BY key ROWS UNBOUNDED PRECEDING)
            ), anchors AS (
                SELECT user_id, arg_min(session, row) FILTER (event = '{PATH_ANCHOR}') AS a_session,
                       min(row) FILTER (event = '{PATH_ANCHOR}') AS a_row, max(session) AS sessions
                FROM numbered GROUP BY user_id HAVING count(*) FILTER (event = '{PATH_ANCHOR}') > 0
            ), edge AS (
                SELECT user_id, max(us) AS last_us, any_value(start) AS start FROM {rows} GROUP BY 1
            )
            SELECT n.user_id, {pivot}, any_value(a.sessions > a.a_session) AS ended,
                   any_value(e.last_us <= e.start + {reach}) AS short
            FROM numbered n JOIN anchors a USING (user_id) JOIN edge e USING (user_id)
            WHERE n.session = a.a_session AND n.row BETWEEN a.a_row AND a.a_row + {PATH_STEPS}
            GROUP BY n.user_id
        """

    columns = ", ".join(f"e{j}" for j in range(PATH_STEPS + 1))
    paths = f"""
        CREATE OR REPLACE TEMP TABLE paths AS
        WITH t AS (
            SELECT user_id, event, epoch_us(ts) AS us, epoch_us(ts) * {2**bits} + {rank} AS key
            FROM {events} WHERE user_id IS NOT NULL AND ts IS NOT NULL AND event IS NOT NULL
        ), starts AS (
            SELECT user_id, min(us) AS start FROM t WHERE event = '{PATH_ANCHOR}' GROUP BY 1
        ), near_rows AS MATERIALIZED (
            SELECT t.*, s.start FROM t JOIN starts s USING (user_id)
            WHERE t.us BETWEEN s.start - {gap} AND s.start + {reach + gap}
        ), near AS MATERIALIZED ({pivoted("near_rows")}
        ), far_rows AS (
            SELECT t.*, s.start FROM t JOIN starts s USING (user_id)
            JOIN (SELECT user_id FROM near WHERE {last} IS NULL AND NOT ended AND NOT short) c
              USING (user_id)
            WHERE t.us >= s.start - {gap}
        )
        SELECT {columns} FROM near WHERE {last} IS NOT NULL OR ended OR short
        UNION ALL
        SELECT {columns} FROM ({pivoted("far_rows")})
    """
    nodes = " UNION ALL ".join(
        f"SELECT {j} AS step, e{j} AS event, count(*) AS users FROM paths "
        f"WHERE e{j} IS NOT NULL GROUP BY ALL"
        for j in range(PATH_STEPS + 1)
    )
    transitions = " UNION ALL ".join(
        f"SELECT {j} AS step, e{j} AS source, coalesce(e{j + 1}, '(end)') AS target, "
        f"count(*) AS users FROM paths WHERE e{j} IS NOT NULL GROUP BY ALL"
        for j in range(PATH_STEPS)
    )
    columns = ", ".join(f"e{j}" for j in range(PATH_STEPS + 1))
    top = f"""
        SELECT concat_ws(' > ', {columns}) AS path, users FROM (
            SELECT {columns}, count(*) AS users FROM paths GROUP BY ALL
            ORDER BY users DESC, {columns} LIMIT {PATH_TOP})
    """
    return {"paths": paths, "nodes": nodes, "transitions": transitions, "top": top}


def features_query(f, con) -> str:
    """The churn features at the evaluation cutoff c = AS_OF - horizon (definitions in
    opsbook.insight.queries.features): per user and local day before AS_OF the events (and those
    of the top event types) and the paid orders with a positive amount; per user active in the
    ACTIVE_DAYS before c the window sums, recencies, tenure and trends, and the label (no
    activity in [c, AS_OF))."""
    end = (AS_OF - date(1970, 1, 1)).days
    until = _tz(_utc(AS_OF))
    top = con.sql(
        f"SELECT event, count(*) AS n FROM {f('events')} WHERE ts < {until} AND event IS NOT NULL "
        f"GROUP BY 1 ORDER BY n DESC, event LIMIT {CHURN_EVENT_TYPES}"
    ).fetchall()
    types = [name for name, _ in top]
    c = end - CHURN_HORIZON_DAYS
    per_type = ", ".join(
        f"count(*) FILTER (event = '{t}') AS type_{i}" for i, t in enumerate(types)
    )
    fill_types = ", ".join(f"coalesce(type_{i}, 0) AS type_{i}" for i in range(len(types)))
    windows = sorted(CHURN_WINDOWS)
    aggs = [
        f"sum(events) FILTER (day >= {c - w}) AS events_{w}d, "
        f"count(*) FILTER (day >= {c - w}) AS active_days_{w}d, "
        f"sum(orders) FILTER (day >= {c - w}) AS orders_{w}d, "
        f"sum(revenue) FILTER (day >= {c - w}) AS revenue_{w}d"
        for w in windows
    ]
    aggs += [
        f"sum(type_{i}) FILTER (day >= {c - CHURN_TYPE_WINDOW}) AS type_{i}"
        for i in range(len(types))
    ]
    counts = [
        f"coalesce({k}_{w}d, 0) AS {k}_{w}d"
        for w in windows
        for k in ("events", "active_days", "orders")
    ]
    counts += [f"coalesce(revenue_{w}d, 0) AS revenue_{w}d" for w in windows]
    counts += [f"coalesce(type_{i}, 0) AS type_{i}" for i in range(len(types))]
    trends = []
    for short, long in pairwise(windows):
        trends.append(
            f"coalesce(events_{short}d, 0) / {short} - coalesce(events_{long}d, 0) / {long} "
            f"AS events_trend_{short}_{long}, "
            f"coalesce(active_days_{short}d, 0) / {short} - coalesce(active_days_{long}d, 0) / {long} "
            f"AS days_trend_{short}_{long}"
        )
    return f"""
        WITH active AS (
            SELECT user_id, {local_day("ts")} AS day, count(*) AS events, {per_type}
            FROM {f("events")} WHERE user_id IS NOT NULL AND ts < {until} GROUP BY ALL
        ), bought AS (
            SELECT user_id, {local_day("ts")} AS day, count(*) AS orders, sum(amount) AS revenue
            FROM {f("orders")}
            WHERE user_id IS NOT NULL AND ts < {until} AND (status IS NULL OR status = 'paid')
              AND amount > 0
            GROUP BY ALL
        ), daily AS (
            SELECT coalesce(a.user_id, b.user_id) AS user_id, coalesce(a.day, b.day) AS day,
                   coalesce(events, 0) AS events, {fill_types},
                   coalesce(orders, 0) AS orders, coalesce(revenue, 0) AS revenue
            FROM active a FULL OUTER JOIN bought b ON a.user_id = b.user_id AND a.day = b.day
        ), per AS (
            SELECT user_id, max(day) AS last_day, max(day) FILTER (orders > 0) AS last_order_day,
                   sum(orders) AS orders_all, sum(revenue) AS revenue_all, {", ".join(aggs)}
            FROM daily WHERE day < {c} GROUP BY user_id HAVING max(day) >= {c - CHURN_ACTIVE_DAYS}
        ), u AS (
            SELECT user_id, {local_day("signup_ts")} AS signup FROM {f("users")}
            WHERE user_id IS NOT NULL AND signup_ts < {_tz(_utc(AS_OF - timedelta(days=CHURN_HORIZON_DAYS)))}
        ), back AS (
            SELECT DISTINCT user_id FROM daily WHERE day >= {c} AND day < {c + CHURN_HORIZON_DAYS}
        )
        SELECT per.user_id, {c} - last_day AS recency_days,
               coalesce({c} - last_order_day, {c} - signup) AS order_recency_days,
               {c} - signup AS tenure_days, {", ".join(counts)},
               coalesce(orders_all, 0) AS orders_all, coalesce(revenue_all, 0) AS revenue_all,
               {", ".join(trends)}, back.user_id IS NULL AS churned
        FROM per JOIN u USING (user_id) LEFT JOIN back USING (user_id)
    """
