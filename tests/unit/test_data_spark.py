"""The data layer on Apache Spark (local mode): files of each format, zoned timestamps, local
days in fixed-offset and daylight-saving zones, and an aggregating mapping of a CSV export --
each against the same source read by DuckDB."""

from __future__ import annotations

import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from tests.unit.test_data import LINES, RETAIL_ORDERS, USERS, write_users

pytestmark = [pytest.mark.spark]
ENGINES = ("duckdb", "pyspark")


def sources(folder, tables=None, **cfg):
    overrides = {"data": {"tables": tables or {}}, **cfg}
    return {
        engine: open_source(load_config(data=str(folder), overrides=overrides, engine=engine))
        for engine in ENGINES
    }


@pytest.mark.parametrize("suffix", ["parquet", "csv", "csv.gz"])
def test_files_of_each_format(tmp_path, suffix):
    write_users(tmp_path, suffix)
    frames = {e: s.table("users").execute() for e, s in sources(tmp_path).items()}
    assert frames["pyspark"].signup_ts.tolist() == frames["duckdb"].signup_ts.tolist()
    assert frames["pyspark"].signup_ts.iloc[0] == pd.Timestamp("2026-01-01 15:30")
    assert frames["pyspark"].user_id.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Shanghai", ["2026-01-01", "2026-01-02", "2026-07-02"]),
        # the engine's own zone rules: London is UTC+0 in winter, UTC+1 in summer
        ("Europe/London", ["2026-01-01", "2026-01-01", "2026-07-02"]),
    ],
)
def test_local_days_follow_the_zone(tmp_path, zone, expected):
    USERS.assign(signup_ts=USERS.signup_ts.astype("datetime64[ns, UTC]")).to_parquet(
        tmp_path / "users.parquet"
    )
    for engine, source in sources(tmp_path, timezone=zone).items():
        users = source.table("users")
        days = users.select(d=source.local_date(users.signup_ts)).execute()["d"]
        assert [str(pd.Timestamp(d).date()) for d in days] == expected, engine
        assert source.engine == engine


def test_aggregating_mapping_of_a_csv_export(tmp_path):
    LINES.to_csv(tmp_path / "retail.csv.gz", index=False)
    tables = {"orders": RETAIL_ORDERS}
    results = {}
    for engine, source in sources(tmp_path, tables).items():
        orders = source.table("orders").order_by("order_id").execute()
        results[engine] = (orders.to_dict("list"), source.exclusions().to_dict("list"))
    assert results["pyspark"] == results["duckdb"]
    orders, exclusions = results["pyspark"]
    assert orders["order_id"] == ["A1", "A4", "C2"]
    assert orders["amount"] == [25.0, 3.0, 10.0]
    assert exclusions == {"table": ["orders"], "rule": ["no customer id"], "rows": [1]}
