"""Benchmark (``make bench``): the engine work behind every report vs hand-written DuckDB SQL and
vs plain pandas, at one or more data scales, with each measurement's peak memory.

    .venv/bin/python bench/run.py                          # small: 100k users (a few minutes)
    .venv/bin/python bench/run.py --scales small,medium    # and 1M users
    .venv/bin/python bench/run.py --scales large           # 5M users (~300M events on disk)
    .venv/bin/python bench/run.py --scales large --memory-limit 1GB --methods opsbook,sql \
        --repeat 1 --out bench/results-memory-limit.md     # DuckDB capped: every step and report?
    .venv/bin/python bench/run.py --steps rfm,kpi --no-suite

Data: the sample shop of :func:`opsbook.sample.generate_sample` (every contract table, the same
generator as ``opsbook sample``) written once per scale to ``bench/data/sample-<users>/``
(gitignored) by a child process, and reused while the size and seed match.

Steps (each: opsbook's engine function / one hand-written DuckDB query set / pandas reading only
the Parquet columns it needs and grouping):

* ``rfm`` -- :func:`opsbook.segmentation.compute_rfm` (per-customer orders, revenue, recency, the
  exclusion tallies and the customers without a paid order), 365 days to 2026-10-31;
* ``retention`` -- :func:`opsbook.retention.retention_matrix`, weekly signup cohorts, any event;
* ``experiment`` -- :func:`opsbook.experiments.prepare` (hygiene, first exposure, paid orders in
  the 14 days after it, per variant and exposure day the sufficient sums of conversion and
  revenue per user);
* ``campaign`` -- :func:`opsbook.campaigns.holdout_sums` of the largest campaign with a holdout;
* ``kpi`` -- :func:`opsbook.kpi.revenue_rows` (12 weeks of revenue, paying and active users).

The hand-written SQL is the floor: one query per result, and local days taken by integer
arithmetic on the epoch (``date_trunc`` / ``CAST(... AS DATE)`` of a TIMESTAMPTZ go through ICU's
calendar and cost about 5x per row, which would flatter the engine).

Every (step, method) runs in its own child process (best of ``--repeat`` calls there; opsbook's on
a source opened anew before each, outside the timing, so nothing an open source keeps carries
over), so one step's memory never hides another's: the child reports its peak RSS (VmHWM, imports included)
and its RSS after imports. The numbers of the three methods are compared (counts exactly, sums
to 1e-9 relative); a mismatch is reported and makes the exit status 1.

The report suite: ``opsbook run`` of every report at the smallest chosen scale (or
``--suite-scales``; with ``--memory-limit``, every report's engine capped), against the floor:
the same number of empty notebooks executed the same way (papermill, the runner's kernel manager,
as many in parallel as the runner uses).

Results: printed, and written to ``bench/results.md`` with the machine and the versions.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from common import DATA, END, HERE, ZONE, best_of, ensure_generated, peak_rss_mib, rss_mib

SCALES = {"small": 100_000, "medium": 1_000_000, "large": 5_000_000}
STEPS = ("rfm", "retention", "experiment", "campaign", "kpi")
METHODS = ("opsbook", "sql", "pandas")
SEED = 7
DAYS = 180
AS_OF = END + timedelta(days=1)  # local midnight after the last day
OFFSET = "INTERVAL 8 HOUR"  # Asia/Shanghai, fixed since 1991
LOOKBACK = 365
WINDOW_DAYS = 14
KPI_WEEKS = 12


# ================================================================================= parameters
def _utc(day: date) -> datetime:
    """The naive-UTC instant of local midnight starting ``day`` (Shanghai, UTC+8)."""
    return datetime.combine(day, datetime.min.time()) - timedelta(hours=8)


def _tz(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment:%Y-%m-%d %H:%M:%S}+00'"


def step_params(folder: Path) -> dict[str, Any]:
    """What every method of a step needs to agree on: the experiment and the campaign."""
    import duckdb

    con = duckdb.connect()
    names = [
        r[0]
        for r in con.sql(
            f"SELECT DISTINCT experiment FROM '{folder}/assignments.parquet' "
            "WHERE experiment IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    experiment = "checkout_button" if "checkout_button" in names else names[0]
    cid, start, end = con.sql(
        f"""
        SELECT c.campaign_id,
               strftime(timezone('UTC', c.start_ts), '%Y-%m-%d %H:%M:%S.%f'),
               strftime(timezone('UTC', c.end_ts), '%Y-%m-%d %H:%M:%S.%f')
        FROM '{folder}/campaigns.parquet' c
        JOIN (SELECT campaign_id, count(*) AS n, bool_or(lower(trim("group")) = 'holdout') AS h
              FROM '{folder}/campaign_members.parquet' GROUP BY 1) m USING (campaign_id)
        WHERE m.h ORDER BY m.n DESC, 1 LIMIT 1
        """
    ).fetchone()
    return {"experiment": experiment, "campaign": int(cid), "start": start, "end": end}


# ================================================================================= opsbook
def _source(folder: Path, memory_limit: str | None):
    from opsbook.config import load_config
    from opsbook.data import open_source

    engine = {"memory_limit": memory_limit} if memory_limit else {}
    return open_source(
        load_config(data=str(folder), overrides={"timezone": ZONE, "engine": engine})
    )


def opsbook_step(step: str, folder: Path, p: dict[str, Any], memory_limit: str | None):
    import pandas as pd

    if step == "rfm":
        from opsbook import segmentation as sg

        def run(source):
            r = sg.compute_rfm(source, as_of=AS_OF, lookback_days=LOOKBACK)
            summary = dict(r.excluded) | {
                "included": r.included_orders,
                "without_paid": r.customers_without_paid_orders,
            }
            return {
                "customers": r.customers[["user_id", "orders", "revenue", "recency"]],
                "summary": pd.DataFrame({"key": list(summary), "value": list(summary.values())}),
            }
    elif step == "retention":
        from opsbook import retention

        def run(source):
            r = retention.retention_matrix(source, period="week", as_of=pd.Timestamp(AS_OF))
            cells = r.cells[r.cells["complete"] & (r.cells["period"] > 0)]
            return {
                "sizes": pd.DataFrame(
                    {"cohort": r.cohorts["cohort"].astype(str), "users": r.cohorts["users"]}
                ),
                "cells": pd.DataFrame(
                    {
                        "cohort": cells["cohort"].astype(str),
                        "period": cells["period"].astype("int64"),
                        "retained": cells["retained"],
                    }
                ),
            }
    elif step == "experiment":
        from opsbook import experiments as ex
        from opsbook.report import Report

        def run(source):
            report = Report(name="ab_test", config=source.config, source=source, validation=None)
            exp = ex.prepare(
                report,
                experiment=p["experiment"],
                metrics=["conversion", "revenue_per_user"],
                window_days=WINDOW_DAYS,
                pre_days=None,
                segments=(),
            )
            sums = exp.sums.copy()
            sums["day"] = sums["day"].dt.strftime("%Y-%m-%d")
            return {"sums": sums[["variant", "day", *EXPERIMENT_VALUES]]}
    elif step == "campaign":
        from opsbook import campaigns

        row = {"key": str(p["campaign"]), "start": pd.Timestamp(p["start"])}
        row["end"] = pd.Timestamp(p["end"])

        def run(source):
            return {"sums": campaigns.holdout_sums(source, row)[["grp", "channel", *CAMPAIGN]]}
    elif step == "kpi":
        from opsbook import kpi

        periods = kpi.Periods(end=END, days=7, count=KPI_WEEKS)

        def run(source):
            rows = pd.DataFrame(kpi.revenue_rows(source, periods))
            rate = rows[rows.kpi == "paying_rate"].set_index("k")
            gmv = rows[rows.kpi == "gmv"].set_index("k")
            out = pd.DataFrame(
                {"revenue": gmv["value"], "paying": rate["num"], "active": rate["den"]}
            )
            return {"weeks": out.fillna(0).reset_index()}

    # each call gets a source opened anew, outside the timing: what an open source keeps (the
    # data's end, active periods) must not make a repeat faster than a report's first question
    return lambda: _source(folder, memory_limit), run


EXPERIMENT_VALUES = ("users", "m0_n", "m0_a", "m0_aa", "m1_n", "m1_a", "m1_aa")
CAMPAIGN = ("n", "conversion", "revenue", "revenue_sq", "orders", "orders_sq")


# ================================================================================= DuckDB SQL
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


# ================================================================================= pandas
def pandas_step(step: str, folder: Path, p: dict[str, Any], memory_limit: str | None):
    import numpy as np
    import pandas as pd

    def read(name: str, columns: list[str], **kw: Any) -> pd.DataFrame:
        return pd.read_parquet(folder / f"{name}.parquet", columns=columns, **kw)

    def ts(moment: datetime) -> pd.Timestamp:
        return pd.Timestamp(moment, tz="UTC")

    def local_days(col: pd.Series) -> pd.Series:
        """Days since 1970-01-01 of the Shanghai wall-clock date."""
        return (col.dt.tz_convert(ZONE).dt.tz_localize(None).dt.normalize() - EPOCH).dt.days

    EPOCH = pd.Timestamp("1970-01-01")
    as_of_days = (pd.Timestamp(AS_OF) - EPOCH).days

    if step == "rfm":
        lo, hi = ts(_utc(AS_OF - timedelta(days=LOOKBACK))), ts(_utc(AS_OF))

        def run():
            o = read("orders", ["user_id", "ts", "amount", "status"])
            status = o["status"].fillna("paid")
            valid = o["ts"].notna() & o["amount"].notna() & (o["amount"] >= 0)
            inside = (o["ts"] >= lo) & (o["ts"] < hi)
            reason = np.select(
                [
                    ~valid,
                    ~inside,
                    status.isin(["cancelled", "refunded"]),
                    status != "paid",
                    o["user_id"].isna(),
                ],
                ["invalid", "outside_window", status, "other_status", "no_user"],
                "included",
            )
            paid = o[reason == "included"]
            c = paid.groupby("user_id").agg(
                orders=("amount", "size"), revenue=("amount", "sum"), last=("ts", "max")
            )
            c["recency"] = as_of_days - local_days(c["last"])
            other = o[valid & inside & (status != "paid") & o["user_id"].notna()]
            without = len(set(other["user_id"].unique()) - set(c.index))
            summary = pd.Series(reason).value_counts()
            summary["without_paid"] = without
            return {
                "customers": c.drop(columns="last").reset_index(),
                "summary": summary.rename_axis("key").rename("value").reset_index(),
            }
    elif step == "retention":
        as_of = ts(_utc(AS_OF))

        def monday(days: pd.Series) -> pd.Series:
            return days - (days + 3) % 7  # 1970-01-01 was a Thursday

        def run():
            u = read("users", ["user_id", "signup_ts"])
            u = u[u["signup_ts"] <= as_of]
            u["cohort"] = monday(local_days(u["signup_ts"]))
            e = read("events", ["user_id", "ts"])
            e = e[e["ts"] <= as_of]
            a = pd.DataFrame({"user_id": e["user_id"], "week": monday(local_days(e["ts"]))})
            del e
            a = a.drop_duplicates().merge(u[["user_id", "cohort"]], on="user_id")
            a = a[a["week"] > a["cohort"]]
            a["period"] = (a["week"] - a["cohort"]) // 7
            cells = a.groupby(["cohort", "period"]).size().rename("retained").reset_index()
            sizes = u.groupby("cohort").size().rename("users").reset_index()
            for frame in (cells, sizes):
                frame["cohort"] = (EPOCH + pd.to_timedelta(frame["cohort"], unit="D")).dt.strftime(
                    "%Y-%m-%d"
                )
            return {"sizes": sizes, "cells": cells}
    elif step == "experiment":

        def run():
            a = read("assignments", ["experiment", "user_id", "variant", "ts"])
            a = a[(a["experiment"].astype(str) == p["experiment"])]
            a = a.dropna(subset=["user_id", "variant", "ts"])
            a["variant"] = a["variant"].astype(str)
            o = read("orders", ["user_id", "ts", "amount", "status"])
            data_end = ts(_utc(EPOCH.date() + timedelta(days=int(local_days(o["ts"]).max()) + 1)))
            g = a.groupby("user_id").agg(
                lo=("variant", "min"), hi=("variant", "max"), xts=("ts", "min")
            )
            k = g[(g["lo"] == g["hi"]) & (g["xts"] + pd.Timedelta(days=WINDOW_DAYS) <= data_end)]
            k = k.rename(columns={"lo": "variant"})[["variant", "xts"]].reset_index()
            o = o[o["status"].isna() | (o["status"] == "paid")]
            j = k.merge(o[["user_id", "ts", "amount"]], on="user_id")
            j = j[(j["ts"] >= j["xts"]) & (j["ts"] < j["xts"] + pd.Timedelta(days=WINDOW_DAYS))]
            per = j.groupby("user_id").agg(orders=("ts", "size"), revenue=("amount", "sum"))
            k = k.merge(per, on="user_id", how="left").fillna({"orders": 0, "revenue": 0.0})
            k["day"] = (k["xts"].dt.tz_convert(ZONE)).dt.strftime("%Y-%m-%d")
            k["conv"] = (k["orders"] > 0).astype(float)
            k["rev2"] = k["revenue"] ** 2
            sums = k.groupby(["variant", "day"]).agg(
                users=("user_id", "size"),
                m0_n=("conv", "count"),
                m0_a=("conv", "sum"),
                m0_aa=("conv", "sum"),
                m1_n=("revenue", "count"),
                m1_a=("revenue", "sum"),
                m1_aa=("rev2", "sum"),
            )
            return {"sums": sums.reset_index()}
    elif step == "campaign":
        start, end = ts(p["start"]), ts(p["end"])

        def run():
            m = read("campaign_members", ["campaign_id", "user_id", "group", "inviter_id"])
            m = m[(m["campaign_id"] == p["campaign"]) & m["user_id"].notna()]
            m = m[m["inviter_id"].isna()]
            m["grp"] = m["group"].astype("string").str.lower().str.strip().fillna("treatment")
            m = m[["user_id", "grp"]].drop_duplicates()
            o = read("orders", ["user_id", "ts", "amount", "status"])
            o = o[o["user_id"].notna() & o["ts"].notna()]
            o = o[(o["status"].isna() | (o["status"] == "paid"))]
            o = o[(o["ts"] >= start) & (o["ts"] <= end)]
            per = o.groupby("user_id").agg(n_orders=("ts", "size"), revenue=("amount", "sum"))
            # the one row filter pushed into the reader: all events' strings would not fit
            e = read(
                "events",
                ["user_id", "ts", "campaign_id", "channel"],
                filters=[("event", "==", "campaign_view")],
            )
            e = e[(e["campaign_id"] == p["campaign"]) & e["user_id"].notna() & e["ts"].notna()]
            first = e.sort_values("ts", kind="stable").drop_duplicates("user_id")
            j = m.merge(per, on="user_id", how="left").merge(
                first[["user_id", "channel"]], on="user_id", how="left"
            )
            j["n_orders"] = j["n_orders"].fillna(0).astype(float)
            j["revenue"] = j["revenue"].fillna(0.0)
            j["channel"] = np.where(
                j["grp"] == "holdout", "-", j["channel"].astype("string").fillna("(unknown)")
            )
            j["conversion"] = (j["n_orders"] > 0).astype(float)
            j["revenue_sq"] = j["revenue"] ** 2
            j["orders_sq"] = j["n_orders"] ** 2
            out = j.groupby(["grp", "channel"]).agg(
                n=("user_id", "size"),
                conversion=("conversion", "sum"),
                revenue=("revenue", "sum"),
                revenue_sq=("revenue_sq", "sum"),
                orders=("n_orders", "sum"),
                orders_sq=("orders_sq", "sum"),
            )
            return {"sums": out.reset_index()}
    elif step == "kpi":
        first = END - timedelta(days=7 * KPI_WEEKS - 1)
        lo, hi = ts(_utc(first)), ts(_utc(AS_OF))
        end_days = (pd.Timestamp(END) - EPOCH).days

        def run():
            o = read("orders", ["user_id", "ts", "amount", "status"])
            o = o[o["user_id"].notna() & (o["ts"] >= lo) & (o["ts"] < hi)]
            o = o[o["status"].isna() | (o["status"] == "paid")]
            o["k"] = (end_days - local_days(o["ts"])) // 7
            e = read("events", ["user_id", "ts"])
            e = e[e["user_id"].notna() & (e["ts"] >= lo) & (e["ts"] < hi)]
            e = pd.DataFrame({"user_id": e["user_id"], "k": (end_days - local_days(e["ts"])) // 7})
            money = o.groupby("k").agg(revenue=("amount", "sum"), paying=("user_id", "nunique"))
            both = pd.concat([o[["user_id", "k"]], e], ignore_index=True)
            active = both.groupby("k")["user_id"].nunique().rename("active")
            out = money.join(active, how="outer").fillna(0)
            return {"weeks": out.reset_index()}

    return None, run


BUILDERS = {"opsbook": opsbook_step, "sql": sql_step, "pandas": pandas_step}


def child(args: argparse.Namespace) -> None:
    """One measurement: build, run best of ``repeat``, write the result, print time and RSS."""
    p = json.loads(args.params)
    folder = Path(args.data)
    prepare, run = BUILDERS[args.method](args.step, folder, p, args.memory_limit)
    base = rss_mib()
    seconds, result = best_of(args.repeat, run, prepare)
    with open(args.result, "wb") as fh:
        pickle.dump(result, fh)
    print(json.dumps({"seconds": seconds, "peak_mib": peak_rss_mib(), "base_mib": base}))


# ================================================================================= comparison
def _prepare(step: str, name: str, frame, as_of_week: int | None):
    import pandas as pd

    frame = frame.copy()
    if step == "retention" and name == "cells":
        from opsbook.retention import number_of

        last = as_of_week - 1
        keep = [
            number_of(pd.Timestamp(c), "week") + int(n) <= last and int(n) > 0
            for c, n in zip(frame["cohort"], frame["period"], strict=True)
        ]
        frame = frame[keep]
    return frame


KEYS = {
    ("rfm", "customers"): ["user_id"],
    ("rfm", "summary"): ["key"],
    ("retention", "sizes"): ["cohort"],
    ("retention", "cells"): ["cohort", "period"],
    ("experiment", "sums"): ["variant", "day"],
    ("campaign", "sums"): ["grp", "channel"],
    ("kpi", "weeks"): ["k"],
}


def same(step: str, got: dict, ref: dict) -> str | None:
    """None when ``got`` holds the numbers of ``ref``; else what differs."""
    import numpy as np
    import pandas as pd

    from opsbook.retention import number_of

    week = number_of(pd.Timestamp(AS_OF), "week")
    for name in ref:
        keys = KEYS[(step, name)]
        a = _prepare(step, name, got[name], week)
        b = _prepare(step, name, ref[name], week)
        for frame in (a, b):
            for k in keys:
                frame[k] = frame[k].astype(str) if frame[k].dtype == object else frame[k]
            if frame[keys[0]].dtype.kind == "f":
                frame[keys[0]] = frame[keys[0]].astype("int64")
        m = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"))
        values = [c for c in a.columns if c not in keys]
        for c in values:
            x = pd.to_numeric(m[f"{c}_a"]).fillna(0).to_numpy(float)
            y = pd.to_numeric(m[f"{c}_b"]).fillna(0).to_numpy(float)
            if not np.allclose(x, y, rtol=1e-9, atol=1e-6):
                bad = int((~np.isclose(x, y, rtol=1e-9, atol=1e-6)).sum())
                return f"{name}.{c}: {bad} of {len(m)} rows differ"
    return None


# ================================================================================= parent
def measure(step, method, folder, params, args) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(dir=DATA, suffix=".pkl", delete=False) as fh:
        result_path = Path(fh.name)
    command = [
        sys.executable, __file__, "--child", "--step", step, "--method", method,
        "--data", str(folder), "--params", json.dumps(params), "--result", str(result_path),
        "--repeat", str(args.repeat),
    ]  # fmt: skip
    if args.memory_limit:
        command += ["--memory-limit", args.memory_limit]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, cwd=DATA)
        capped = watch_rss(proc, args.rss_cap_gib * 1024, args.timeout)
        stdout.seek(0)
        stderr.seek(0)
        out_text, err_text = stdout.read(), stderr.read()
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"ok": proc.returncode == 0 and not capped, "wall": wall}
    if out["ok"]:
        out |= json.loads(out_text.strip().splitlines()[-1])
        with open(result_path, "rb") as fh:
            out["result"] = pickle.load(fh)
    elif capped:
        out |= {"capped": True, "peak_mib": capped, "error": f"stopped above {capped:,.0f} MiB"}
    else:
        out["error"] = (err_text.strip().splitlines() or ["?"])[-1][:200]
    result_path.unlink(missing_ok=True)
    return out


def watch_rss(proc: subprocess.Popen, cap_mib: float, timeout: float) -> float | None:
    """Wait for ``proc``; stop it when its RSS passes ``cap_mib`` (the machine would start
    swapping or kill something else) and return the cap, else None."""
    status = Path(f"/proc/{proc.pid}/status")
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            rss = next(
                int(line.split()[1]) / 1024
                for line in status.read_text().splitlines()
                if line.startswith("VmRSS:")
            )
        except (OSError, StopIteration):
            rss = 0.0
        if rss > cap_mib or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return cap_mib if rss > cap_mib else None
        time.sleep(0.05)
    return None


def suite(folder: Path, workers: int | None, memory_limit: str | None) -> dict[str, Any]:
    """``opsbook run`` on ``folder`` vs the same number of empty notebooks run the same way;
    ``memory_limit``: every report's engine capped (the project's config plus
    ``engine.memory_limit``)."""
    import yaml

    from opsbook.run import discover

    notebooks = discover(HERE.parent / "notebooks")
    out = DATA / "reports"
    command = [str(Path(sys.executable).parent / "opsbook"), "run", "--data", str(folder),
               "--out", str(out), "--lang", "en"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        if memory_limit:
            config = yaml.safe_load((HERE.parent / "opsbook.yml").read_text(encoding="utf-8"))
            config.setdefault("engine", {})["memory_limit"] = memory_limit
            # paths in a config are relative to its file: this one lives elsewhere
            config.setdefault("run", {})["notebooks"] = str(HERE.parent / "notebooks")
            capped = Path(tmp) / "opsbook.yml"
            capped.write_text(yaml.safe_dump(config), encoding="utf-8")
            command += ["--config", str(capped)]
        t0 = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=HERE.parent)
        wall = time.perf_counter() - t0
    statuses = {}
    latest = out / "latest" / "manifest.json"
    if latest.exists() and latest.stat().st_mtime >= time.time() - wall:  # this run's
        manifest = json.loads(latest.read_text())
        reports = manifest.get("reports", {})
        items = reports.items() if isinstance(reports, dict) else [(r["name"], r) for r in reports]
        statuses = {name: (r.get("status"), r.get("duration_seconds")) for name, r in items}
    command = [sys.executable, __file__, "--floor", str(len(notebooks))]
    if workers:
        command += ["--workers", str(workers)]
    t0 = time.perf_counter()
    subprocess.run(command, check=True, cwd=HERE.parent)
    floor = time.perf_counter() - t0
    return {
        "reports": len(notebooks),
        "wall": wall,
        "floor": floor,
        "ok": proc.returncode == 0,
        "statuses": statuses,
        "stderr": proc.stderr.strip().splitlines()[-3:] if proc.returncode else [],
    }


def floor(n: int, workers: int | None) -> None:
    """Execute ``n`` empty notebooks (one ``parameters`` cell) as the runner executes reports."""
    from concurrent.futures import ThreadPoolExecutor

    import nbformat
    import papermill

    from opsbook.run import QuietKernelManager

    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("data = None")
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [cell]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        path = Path(tmp) / "empty.ipynb"
        nbformat.write(nb, path)

        def one(i: int) -> None:
            papermill.execute_notebook(
                str(path),
                str(Path(tmp) / f"out{i}.ipynb"),
                parameters={"data": "x"},
                kernel_name="python3",
                kernel_manager_class=QuietKernelManager,
                cwd=tmp,
                progress_bar=False,
                log_output=False,
            )

        pool = workers or os.cpu_count() or 1
        with ThreadPoolExecutor(max_workers=max(1, min(pool, n))) as ex:
            list(ex.map(one, range(n)))


def machine() -> list[str]:
    import duckdb
    import ibis
    import pandas as pd

    mem = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {mem} memory, {platform.platform()}",
        f"- python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"ibis {ibis.__version__}, pandas {pd.__version__}",
    ]


def fmt_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(scale: str, users: int, rows: list[dict[str, Any]], sizes: dict[str, int]) -> list[str]:
    def s(m):
        if m.get("capped"):
            return "stopped"
        return (
            f"{m['seconds']:.2f}"
            if m["ok"]
            else ("FAILED" if "--methods" not in m["error"] else "-")
        )

    def r(m):
        if m.get("capped"):
            return f"> {m['peak_mib']:,.0f}"
        return f"{m['peak_mib']:,.0f}" if m["ok"] else "-"

    def ratio(a, b):
        return f"{a['seconds'] / b['seconds']:.2f}×" if a["ok"] and b["ok"] else "-"

    lines = [
        f"### {scale}: {users:,} users "
        + ", ".join(f"{n:,} {t}" for t, n in sizes.items() if t in ("events", "orders")),
        "",
        fmt_row(
            [
                "step",
                "opsbook s",
                "SQL s",
                "pandas s",
                "opsbook/SQL",
                "pandas/opsbook",
                "peak RSS opsbook MiB",
                "SQL MiB",
                "pandas MiB",
                "pandas/opsbook RSS",
                "same numbers",
            ]
        ),
        fmt_row(["---"] + ["---:"] * 9 + ["---"]),
    ]
    for row in rows:
        o, q, p = row["opsbook"], row["sql"], row["pandas"]
        rss = (
            f"{'> ' if p.get('capped') else ''}{p['peak_mib'] / o['peak_mib']:.1f}×"
            if o["ok"] and (p["ok"] or p.get("capped"))
            else "-"
        )
        lines.append(
            fmt_row(
                [
                    row["step"],
                    s(o),
                    s(q),
                    s(p),
                    ratio(o, q),
                    ratio(p, o),
                    r(o),
                    r(q),
                    r(p),
                    rss,
                    row["same"],
                ]
            )
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="small", help="small,medium,large (100k/1M/5M users)")
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--methods", default=",".join(METHODS), help="opsbook,sql,pandas")
    parser.add_argument("--repeat", type=int, default=2, help="best of N calls per measurement")
    parser.add_argument(
        "--memory-limit", help="DuckDB memory limit (engine.memory_limit), e.g. 1GB"
    )
    parser.add_argument("--no-suite", action="store_true", help="skip the report-suite timing")
    parser.add_argument(
        "--suite-scales", help="scales of the report-suite timing (default: the smallest chosen)"
    )
    parser.add_argument(
        "--rss-cap-gib",
        type=float,
        default=16,
        help="stop a measurement whose RSS passes this (pandas at 5M users needs more than the "
        "machine has); shown as 'stopped' with '> cap' MiB",
    )
    parser.add_argument("--workers", type=int, help="parallel notebooks (default: the runner's)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    # internal: one measurement / generation / the floor, in a child process
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.generate:
        from opsbook.sample import generate_sample

        generate_sample(args.data, users=args.generate, days=DAYS, seed=SEED, end=str(END))
        return 0
    if args.floor:
        floor(args.floor, args.workers)
        return 0

    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in scales if s not in SCALES] + [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown scale or step {unknown}; scales {list(SCALES)}, steps {STEPS}")
    DATA.mkdir(exist_ok=True)
    import pyarrow.parquet as pq

    lines = ["# Benchmark results", "", *machine()]
    lines += [
        f"- `bench/run.py --scales {args.scales} --steps {args.steps} --repeat {args.repeat}"
        + (f" --memory-limit {args.memory_limit}" if args.memory_limit else "")
        + f"` on {datetime.now():%Y-%m-%d %H:%M}; DuckDB threads: all cores; "
        "time = best of the repeats, in a fresh child process per (step, method); peak RSS = "
        "that child's VmHWM (imports included: see the baseline below)",
        "",
    ]
    failed = False
    for scale in scales:
        users = SCALES[scale]
        folder = DATA / f"sample-{users}"
        wanted = {"users": users, "days": DAYS, "seed": SEED, "end": str(END)}
        ensure_generated(
            folder, wanted, [__file__, "--generate", str(users), "--data", str(folder)]
        )
        sizes = {
            t: pq.read_metadata(folder / f"{t}.parquet").num_rows
            for t in ("users", "events", "orders", "assignments")
        }
        params = step_params(folder)
        print(f"\n== {scale}: {sizes} {params}", flush=True)
        rows, bases = [], {}
        for step in steps:
            row: dict[str, Any] = {"step": step}
            skipped = {"ok": False, "error": "not run (--methods)"}
            for method in METHODS:
                if method not in args.methods.split(","):
                    row[method] = skipped
                    continue
                m = measure(step, method, folder, params, args)
                row[method] = m
                bases.setdefault(method, m.get("base_mib"))
                state = (
                    f"{m['seconds']:7.2f} s  peak {m['peak_mib']:7,.0f} MiB"
                    if m["ok"]
                    else f"FAILED {m['error']}"
                )
                print(f"  {step:11s} {method:8s} {state}", flush=True)
            checks = []
            if row["sql"]["ok"]:
                for method in ("opsbook", "pandas"):
                    if row[method]["ok"]:
                        diff = same(step, row[method]["result"], row["sql"]["result"])
                        checks.append(f"{method}: {diff}" if diff else None)
            bad = [c for c in checks if c]
            row["same"] = "yes" if checks and not bad else ("NO: " + "; ".join(bad) if bad else "?")
            ran = [m for m in METHODS if m in args.methods.split(",")]
            failed |= bool(bad) or not all(row[m]["ok"] or row[m].get("capped") for m in ran)
            print(f"  {step:11s} same numbers: {row['same']}", flush=True)
            rows.append(row)
        lines += table(scale, users, rows, sizes)
        lines += [
            "",
            "RSS of a child after its imports, before any work: "
            + ", ".join(f"{k} {v:,.0f} MiB" for k, v in bases.items() if v),
            "",
        ]
        if args.memory_limit:
            done = all(r[m]["ok"] for r in rows for m in ("opsbook", "sql") if m in ran)
            lines += [
                f"DuckDB memory limit {args.memory_limit} (opsbook: engine.memory_limit; SQL: SET "
                "memory_limit): every step "
                + ("finished." if done else "did NOT finish (see FAILED).")
                + " Pandas has no such limit.",
                "",
            ]
    suite_scales = [] if args.no_suite else (args.suite_scales or min(scales, key=SCALES.get))
    for scale in suite_scales.split(",") if suite_scales else []:
        folder = DATA / f"sample-{SCALES[scale]}"
        print(f"\n== report suite at {scale} ...", flush=True)
        sr = suite(folder, args.workers, args.memory_limit)
        ratio = sr["wall"] / sr["floor"]
        lines += [
            f"### Report suite: `opsbook run` at {scale} ({SCALES[scale]:,} users)"
            + (f", engine.memory_limit {args.memory_limit}" if args.memory_limit else ""),
            "",
            fmt_row(["reports", "opsbook run s", "floor s (empty notebooks)", "ratio", "status"]),
            fmt_row(["---:", "---:", "---:", "---:", "---"]),
            fmt_row(
                [
                    str(sr["reports"]),
                    f"{sr['wall']:.1f}",
                    f"{sr['floor']:.1f}",
                    f"{ratio:.2f}×",
                    "ok" if sr["ok"] else "FAILED " + " ".join(sr["stderr"]),
                ]
            ),
            "",
            "Per report (runner's own duration, s): "
            + ", ".join(
                f"{n} {d:.1f}" + ("" if st == "ok" else f" ({st})")
                for n, (st, d) in sr["statuses"].items()
                if d is not None
            ),
            "",
        ]
        failed |= not sr["ok"]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
