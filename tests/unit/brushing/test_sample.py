"""The brushing rules on the sample shop against plain pandas (merge_asof, rolling counts), and
the data-quality report's section: counts on the page, no id anywhere in it."""

from __future__ import annotations

import pandas as pd
import pytest

from opsbook.brushing import BrushingRules, brushing
from opsbook.config import load_config
from opsbook.data import open_source


@pytest.fixture(scope="module")
def shop(sample_dir):
    source = open_source(load_config(data=str(sample_dir), overrides={"timezone": "Asia/Shanghai"}))
    orders = pd.read_parquet(sample_dir / "orders.parquet")
    events = pd.read_parquet(sample_dir / "events.parquet", columns=["user_id", "ts"])
    return source, orders[orders.status == "paid"], events


def test_no_browsing_equals_pandas_merge_asof(shop):
    source, orders, events = shop
    result = brushing(source, BrushingRules(burst_orders=0, new_account_minutes=0,
                                            repeated_orders=0, refund_min_refunds=0))  # fmt: skip
    got = set(result.flags.execute().order_id)
    left = orders.sort_values("ts")[["order_id", "user_id", "ts"]]
    right = events.sort_values("ts").rename(columns={"ts": "seen"})
    right["at"] = right["seen"]
    last = pd.merge_asof(left, right, left_on="ts", right_on="at", by="user_id",
                         allow_exact_matches=False)  # fmt: skip
    quiet = last.seen.isna() | (last.ts - last.seen > pd.Timedelta(minutes=30))
    assert got == set(last.order_id[quiet])
    assert result.per_rule["no_browsing"]["orders"] == quiet.sum() > 0


def test_bursts_equal_pandas_rolling_counts(shop):
    source, orders, _ = shop
    result = brushing(source, BrushingRules(burst_orders=3, burst_minutes=24 * 60,
                                            no_browsing_minutes=0, new_account_minutes=0,
                                            repeated_orders=0, refund_min_refunds=0))  # fmt: skip
    got = set(result.flags.execute().order_id)
    expected = {key: set() for key in ("user_id", "device_id")}  # the sample's orders have both
    for key, found in expected.items():
        for _, own in orders.sort_values("ts").groupby(key):
            times = own.ts.to_numpy()
            for start in times:
                inside = (times >= start) & (
                    times <= start + pd.Timedelta(hours=24).to_timedelta64()
                )
                if inside.sum() >= 3:
                    found |= set(own.order_id[inside])
    # a ring's accounts order once each: only their shared device bursts
    assert expected["device_id"] - expected["user_id"]
    assert got == expected["user_id"] | expected["device_id"] and got
