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


# text timestamps as exports write them: the same cases as tests/unit/bad_input/test_times.py
TEXT_TIMES = {
    "offsets": ["2026-05-05T08:40:53+08:00", "2026-05-04T20:40:53-04:00"],
    "an offset beside a bad value": ["2026-05-05T08:40:53+08:00", "n/a", "2026-05-05T00:40:53Z"],
    "a zone name": ["2026-05-05 08:40:53 Asia/Shanghai", "n/a"],
    "offsets and naive text": ["2026-05-05T08:40:53+08:00", "2026-05-05 00:40:53", "soon"],
    "nothing parses": ["yesterday", "soon"],
}


@pytest.mark.parametrize("case", TEXT_TIMES, ids=list(TEXT_TIMES))
def test_text_timestamps_are_read_at_the_same_instants(tmp_path, case):
    """An offset or a zone name in the text is honoured on Spark as on DuckDB; a value that
    does not parse is null on both, and validation counts the same rows."""
    from opsbook.validation import validate

    write_users(tmp_path, "parquet")
    lines = [f"o{i},1,{ts},1" for i, ts in enumerate(TEXT_TIMES[case])]
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,ts,amount\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    read = {}
    for engine, source in sources(tmp_path).items():
        stamps = source.table("orders").order_by("order_id").ts.execute().tolist()
        findings = validate(source, ["orders"]).findings
        unparsed = sum(f.rows for f in findings if f.rule == "timestamp_parseable")
        read[engine] = ([None if pd.isna(v) else pd.Timestamp(v) for v in stamps], unparsed)
    assert read["pyspark"] == read["duckdb"]
    stamps, unparsed = read["duckdb"]
    assert unparsed == sum(v is None for v in stamps)
    assert {v for v in stamps if v is not None} <= {pd.Timestamp("2026-05-05 00:40:53")}


def test_a_name_too_long_to_read_is_shortened_alike(tmp_path):
    """The engine's short label of a 100,000-character name is the same on Spark."""
    channels = ["K" * 100_000, "K" * 99_999 + "S", "search"]
    USERS.head(3).assign(channel=channels).to_parquet(tmp_path / "users.parquet")
    read = {
        engine: source.table("users").order_by("user_id").channel.execute().tolist()
        for engine, source in sources(tmp_path).items()
    }
    assert read["pyspark"] == read["duckdb"] and len(set(read["duckdb"])) == 3
