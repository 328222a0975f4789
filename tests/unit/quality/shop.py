"""Hand-made shops for the data-quality tests, each with one planted truth: a closure of
consecutive days, a shop closed every Saturday with a real outage on a Wednesday, a table that
stops early, a missing required column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.report import Report
from opsbook.validation import validate

START = pd.Timestamp("2026-01-05")  # a Monday
WEEKS = 20


def day_counts(
    mean: float, *, closed_weekdays=(), zero_days=(), weeks: int = WEEKS, seed: int = 3
) -> pd.Series:
    """Rows per day: Poisson around ``mean`` (Sundays 30 % quieter), 0 on ``closed_weekdays``
    (0 = Monday) and on ``zero_days``."""
    days = pd.date_range(START, periods=7 * weeks, freq="D")
    rng = np.random.default_rng(seed)
    level = np.where(days.dayofweek == 6, 0.7 * mean, mean)
    counts = pd.Series(rng.poisson(level), index=days)
    counts[days.dayofweek.isin(list(closed_weekdays))] = 0
    counts[pd.DatetimeIndex(pd.to_datetime(list(zero_days)))] = 0
    return counts


def rows_of(counts: pd.Series) -> pd.Series:
    """One timestamp per row, spread over business hours of each day (UTC)."""
    stamps = [
        day + pd.Timedelta(hours=9) + pd.Timedelta(minutes=int(m))
        for day, n in counts.items()
        for m in np.linspace(0, 600, int(n), endpoint=False)
    ]
    return pd.Series(pd.DatetimeIndex(stamps).tz_localize("UTC"))


def write_shop(
    folder: Path,
    orders_per_day: pd.Series,
    *,
    orders_stop: str | None = None,
    drop_columns: tuple[str, ...] = (),
) -> Path:
    """users (one signup per order day's first hour, 5 a day) and orders of the given daily
    counts; orders after ``orders_stop`` are cut; ``drop_columns`` removed from orders."""
    folder.mkdir(parents=True, exist_ok=True)
    signups = rows_of(pd.Series(5, index=orders_per_day.index))
    users = pd.DataFrame({"user_id": range(len(signups)), "signup_ts": signups})
    ts = rows_of(orders_per_day)
    orders = pd.DataFrame(
        {
            "order_id": range(len(ts)),
            "user_id": np.arange(len(ts)) % len(users),
            "ts": ts,
            "amount": 10.0,
        }
    )
    if orders_stop is not None:
        orders = orders[orders.ts < pd.Timestamp(orders_stop, tz="UTC")]
    users.to_parquet(folder / "users.parquet")
    orders.drop(columns=list(drop_columns)).to_parquet(folder / "orders.parquet")
    return folder


def report_of(folder: Path, lang: str = "en") -> Report:
    config = load_config(data=str(folder), lang=lang, overrides={"timezone": "UTC"})
    source = open_source(config)
    return Report("data_quality", config, source, validate(source, ["users", "orders"]))
