"""The ``forecast`` step (issue 22): the KPI dashboard's forecasts -- the weekly history of new
users, active users (any event or paid order), paid orders and GMV over every complete week of
the data up to the end day, then :func:`opsbook.stats.forecast.forecast` of each series.

Every method computes the weekly series its own way and then runs the same forecasting function
(statsmodels on about 25 numbers per KPI: the same cost everywhere), so the step compares the
engine work while the time shown is the whole forecast. The series are compared (week 0 is the
oldest).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from common import END

SERIES = ("new_users", "active_users", "orders", "gmv")
HORIZON = 8
DAY_US = 86_400_000_000
SHIFT_US = 8 * 3_600_000_000


def _weeks(folder: Path) -> int:
    """Complete weeks ending on END since the first local day of events and orders."""
    import duckdb

    first = duckdb.sql(
        f"SELECT least((SELECT min(ts) FROM '{folder}/events.parquet'), "
        f"(SELECT min(ts) FROM '{folder}/orders.parquet'))"
    ).fetchone()[0]
    first_day = date.fromordinal(
        date(1970, 1, 1).toordinal() + (int(first.timestamp() * 1_000_000) + SHIFT_US) // DAY_US
    )
    return min(156, ((END - first_day).days + 1) // 7)


def _forecasts(series) -> None:
    """The same model for every method: each series forecast ``HORIZON`` weeks ahead."""
    from opsbook.stats.forecast import forecast

    for name in SERIES:
        forecast(series[name].to_numpy(float), HORIZON, season=52, simulate_steps=14)


def forecast_step(method: str, folder: Path, memory_limit: str | None):
    """(prepare, run) of the forecast step for ``method``."""
    weeks = _weeks(folder)
    if method == "opsbook":
        from steps_opsbook import _source

        from opsbook.kpi.queries.history import weekly_history
        from opsbook.kpi.queries.periods import Periods

        def run(source):
            history = weekly_history(source, Periods(end=END, days=7, count=weeks))
            series = history[list(SERIES)].rename_axis("k").reset_index()
            _forecasts(series)
            return {"series": series}

        return lambda: _source(folder, memory_limit), run

    series_of = {"sql": _sql, "pandas": _pandas, "polars": _polars}[method]

    def run():
        series = series_of(folder, weeks, memory_limit)
        series = series.set_index("k").reindex(range(weeks), fill_value=0)
        series = series[list(SERIES)].rename_axis("k").reset_index()
        _forecasts(series)
        return {"series": series}

    return None, run


def _bounds(weeks: int) -> tuple[int, int, int]:
    """The span's UTC bounds in epoch µs and the local day number of END."""
    end_day = (END - date(1970, 1, 1)).days
    hi = (end_day + 1) * DAY_US - SHIFT_US
    return hi - weeks * 7 * DAY_US, hi, end_day


def _sql(folder: Path, weeks: int, memory_limit: str | None):
    import duckdb

    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    lo, hi, end_day = _bounds(weeks)
    k = f"{weeks - 1} - ({end_day} - (epoch_us(ts) + {SHIFT_US}) // {DAY_US}) // 7"
    inside = f"epoch_us(ts) >= {lo} AND epoch_us(ts) < {hi}"
    return con.sql(
        f"""
        WITH paid AS (
            SELECT user_id, amount, {k} AS k FROM '{folder}/orders.parquet'
            WHERE {inside} AND (status IS NULL OR status = 'paid')),
        money AS (SELECT k, count(*) AS orders, sum(amount) AS gmv FROM paid GROUP BY k),
        active AS (
            SELECT k, count(DISTINCT user_id) AS active_users FROM (
                SELECT user_id, k FROM paid WHERE user_id IS NOT NULL
                UNION ALL
                SELECT user_id, {k} FROM '{folder}/events.parquet'
                WHERE {inside} AND user_id IS NOT NULL)
            GROUP BY k),
        signups AS (
            SELECT {k.replace("ts", "signup_ts")} AS k, count(*) AS new_users
            FROM '{folder}/users.parquet'
            WHERE {inside.replace("ts", "signup_ts")} GROUP BY 1)
        SELECT k, coalesce(new_users, 0) AS new_users, active_users,
               coalesce(orders, 0) AS orders, coalesce(gmv, 0) AS gmv
        FROM active FULL JOIN money USING (k) FULL JOIN signups USING (k)
        """
    ).df()


def _pandas(folder: Path, weeks: int, memory_limit: str | None):
    import pandas as pd

    lo, hi, end_day = _bounds(weeks)

    def read(name: str, columns: list[str], ts: str = "ts") -> pd.DataFrame:
        frame = pd.read_parquet(folder / f"{name}.parquet", columns=columns)
        us = (frame[ts] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
        frame = frame[(us >= lo) & (us < hi)].drop(columns=ts)
        frame["k"] = weeks - 1 - (end_day - (us + SHIFT_US) // DAY_US) // 7
        return frame

    o = read("orders", ["user_id", "ts", "amount", "status"])
    o = o[o["status"].isna() | (o["status"] == "paid")]
    money = o.groupby("k").agg(orders=("amount", "size"), gmv=("amount", "sum"))
    e = read("events", ["user_id", "ts"])
    both = pd.concat([o[["user_id", "k"]], e], ignore_index=True).dropna(subset=["user_id"])
    active = both.groupby("k")["user_id"].nunique().rename("active_users")
    u = read("users", ["user_id", "signup_ts"], ts="signup_ts")
    signups = u.groupby("k").size().rename("new_users")
    return pd.concat([signups, active, money], axis=1).fillna(0).rename_axis("k").reset_index()


def _polars(folder: Path, weeks: int, memory_limit: str | None):
    import polars as pl

    lo, hi, end_day = _bounds(weeks)

    def scan(name: str, columns: list[str], ts: str = "ts") -> pl.LazyFrame:
        us = pl.col(ts).dt.epoch("us")
        frame = pl.scan_parquet(folder / f"{name}.parquet").select(columns)
        frame = frame.filter((us >= lo) & (us < hi))
        return frame.with_columns(k=weeks - 1 - (end_day - (us + SHIFT_US) // DAY_US) // 7)

    o = scan("orders", ["user_id", "ts", "amount", "status"])
    o = o.filter(pl.col("status").is_null() | (pl.col("status") == "paid"))
    money = o.group_by("k").agg(orders=pl.len(), gmv=pl.col("amount").sum())
    e = scan("events", ["user_id", "ts"]).select("user_id", "k")
    active = (
        pl.concat([o.select("user_id", "k"), e])
        .drop_nulls("user_id")
        .group_by("k")
        .agg(active_users=pl.col("user_id").n_unique())
    )
    signups = (
        scan("users", ["user_id", "signup_ts"], ts="signup_ts")
        .group_by("k")
        .agg(new_users=pl.len())
    )
    out = active.join(money, on="k", how="full", coalesce=True)
    out = out.join(signups, on="k", how="full", coalesce=True).fill_null(0)
    return out.collect(engine="streaming").to_pandas()
