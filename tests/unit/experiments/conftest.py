"""Shared by the A/B test's unit tests: a hand-made shop full of hygiene problems, reports on it
and on the sample shop, and per-user window sums by plain pandas (independent of the engine)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from opsbook.report import start

UTC = "UTC"


def open_report(folder: Path, **kwargs):
    return start("ab_test", data=str(folder), lang="en", **kwargs)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A tiny shop with one experiment full of hygiene problems (times in UTC; Shanghai +8)."""
    folder = tmp_path_factory.mktemp("handmade")
    t0 = ts("2026-03-01 02:00")
    assignments = [("exp1", i, "control" if i % 2 else "treatment", t0 + pd.Timedelta(hours=i))
                   for i in range(1, 21)]  # fmt: skip
    assignments += [
        ("exp1", 21, "control", ts("2026-03-01 05:00")),
        ("exp1", 21, "control", ts("2026-03-02 05:00")),  # a duplicate: the first one is kept
        ("exp1", 22, "control", ts("2026-03-01 06:00")),
        ("exp1", 22, "treatment", ts("2026-03-01 07:00")),  # in both variants
        ("exp1", 23, "treatment", ts("2026-02-20 06:00")),  # before the start date
        ("exp1", 24, None, ts("2026-03-01 08:00")),  # a row without variant...
        ("exp1", 24, "control", ts("2026-03-01 09:00")),  # ...the user stays with this one
        ("exp1", 25, "treatment", ts("2026-03-25 06:00")),  # its window ends after the data
        ("exp2", 26, "A", ts("2026-03-01 06:00")),
    ]
    frame = pd.DataFrame(assignments, columns=["experiment", "user_id", "variant", "ts"])
    frame.to_parquet(folder / "assignments.parquet")
    x = {i: t0 + pd.Timedelta(hours=i) for i in range(1, 21)}
    day = pd.Timedelta(days=1)
    orders = [
        (1, 1, x[1] + day, 10.0, "paid"),
        (2, 1, x[1] + 20 * day, 99.0, "paid"),  # after the window
        (3, 1, x[1] - 3 * day, 7.0, "paid"),  # pre-period
        (4, 2, x[2] + day, 20.0, "paid"),
        (5, 2, x[2] + 2 * day, 30.0, "paid"),
        (6, 2, x[2] + 2 * day, 50.0, "refunded"),  # not paid: never counted
        (7, 3, x[3], 5.0, "paid"),  # at the exposure instant: counted
        (8, 4, x[4] + 14 * day, 8.0, "paid"),  # at ts + 14 days: outside [ts, ts + 14d)
        (9, 21, ts("2026-03-01 05:00") + day, 40.0, "paid"),  # from the FIRST exposure
        (10, 6, x[6] - 30 * day, 3.0, "paid"),  # before the 28-day pre-period
        (11, 8, x[8] - 27 * day, 4.0, "paid"),  # inside it
        (12, 30, ts("2026-03-30 10:00"), 1.0, "paid"),  # last order: data end 03-31 local
    ]
    pd.DataFrame(orders, columns=["order_id", "user_id", "ts", "amount", "status"]).to_parquet(
        folder / "orders.parquet"
    )
    events = [
        (1, x[1] + day, "add_to_cart"),
        (1, x[1] + 2 * day, "add_to_cart"),
        (1, x[1] - day, "add_to_cart"),  # pre-period
        (2, x[2] + day, "add_to_cart"),
        (2, x[2] + day, "view_item"),
    ]
    pd.DataFrame(events, columns=["user_id", "ts", "event"]).to_parquet(folder / "events.parquet")
    users = pd.DataFrame(
        {
            "user_id": range(1, 31),
            "signup_ts": ts("2026-01-01"),
            "channel": ["organic", "search", "social"] * 10,
        }
    )
    users.to_parquet(folder / "users.parquet")
    return folder


@pytest.fixture(scope="module")
def shop_report(shop):
    return open_report(shop, tables=("assignments", "orders"))


@pytest.fixture(scope="module")
def sample_report(sample_dir):
    return open_report(sample_dir, tables=("assignments", "orders"))


def pandas_window_sums(folder: Path, name: str, window=14, pre=28) -> pd.DataFrame:
    """Per variant: n, Σ, Σ² and cross-products of orders/revenue and their pre-period values,
    by plain pandas (independent of the engine code)."""
    a = pd.read_parquet(folder / "assignments.parquet")
    a = a[a.experiment == name][["user_id", "variant", "ts"]]
    assert a.user_id.is_unique
    o = pd.read_parquet(folder / "orders.parquet")
    o = o[o.status.isna() | (o.status == "paid")][["user_id", "ts", "amount"]]
    m = a.merge(o, on="user_id", suffixes=("", "_o"))
    post = (m.ts_o >= m.ts) & (m.ts_o < m.ts + pd.Timedelta(days=window))
    before = (m.ts_o >= m.ts - pd.Timedelta(days=pre)) & (m.ts_o < m.ts)
    m = m.assign(
        orders=post.astype(float),
        revenue=m.amount.where(post, 0.0),
        pre_orders=before.astype(float),
        pre_revenue=m.amount.where(before, 0.0),
    )
    per_user = m.groupby("user_id")[["orders", "revenue", "pre_orders", "pre_revenue"]].sum()
    users = a.set_index("user_id").join(per_user).fillna(0.0)
    users["converted"] = (users.orders > 0).astype(float)
    users["pre_converted"] = (users.pre_orders > 0).astype(float)
    return users
