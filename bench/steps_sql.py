"""The floor: each step as one hand-written DuckDB query set on the Parquet files."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common import END
from params import AS_OF, KPI_WEEKS, LOOKBACK, OFFSET, WINDOW_DAYS, _tz, _utc


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

    return None, run
