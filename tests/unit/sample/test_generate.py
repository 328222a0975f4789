"""The generator: determinism, chunking, the period's minimum, schemas, truth.json."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opsbook.sample import TABLES, generate_sample
from tests.unit.sample.shop import TZ

FILES = [f"{name}.parquet" for name in TABLES] + ["truth.json"]
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "users": [
        ("user_id", pa.int64()),
        ("signup_ts", TS),
        ("channel", pa.string()),
        ("region", pa.string()),
        ("device", pa.string()),
        ("city_tier", pa.string()),
    ],
    "events": [
        ("user_id", pa.int64()),
        ("ts", TS),
        ("event", pa.string()),
        ("content_id", pa.int64()),
        ("campaign_id", pa.int64()),
        ("channel", pa.string()),
    ],
    "orders": [
        ("order_id", pa.int64()),
        ("user_id", pa.int64()),
        ("ts", TS),
        ("amount", pa.float64()),
        ("status", pa.string()),
        ("campaign_id", pa.int64()),
        ("device_id", pa.int64()),
    ],
    "assignments": [
        ("experiment", pa.string()),
        ("user_id", pa.int64()),
        ("variant", pa.string()),
        ("ts", TS),
    ],
    "campaigns": [
        ("campaign_id", pa.int64()),
        ("name", pa.string()),
        ("channel", pa.string()),
        ("start_ts", TS),
        ("end_ts", TS),
        ("spend", pa.float64()),
        ("target_participants", pa.float64()),
        ("target_conversion", pa.float64()),
        ("target_roi", pa.float64()),
        ("target_k", pa.float64()),
    ],
    "campaign_members": [
        ("campaign_id", pa.int64()),
        ("user_id", pa.int64()),
        ("group", pa.string()),
        ("ts", TS),
        ("inviter_id", pa.int64()),
    ],
    "spend": [("date", pa.date32()), ("channel", pa.string()), ("cost", pa.float64())],
    "content": [
        ("content_id", pa.int64()),
        ("published_ts", TS),
        ("type", pa.string()),
        ("cost", pa.float64()),
    ],
}


# ----------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_bytes(tmp_path):
    a = generate_sample(tmp_path / "a", users=3000, days=120, seed=3)
    b = generate_sample(tmp_path / "b", users=3000, days=120, seed=3)
    c = generate_sample(tmp_path / "c", users=3000, days=120, seed=4)
    assert sorted(p.name for p in a.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for name in ("users.parquet", "events.parquet", "orders.parquet", "truth.json"):
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_chunk_size_does_not_change_the_data(tmp_path):
    a = generate_sample(tmp_path / "a", users=11_000, days=120, chunk_size=5_000)
    b = generate_sample(tmp_path / "b", users=11_000, days=120, chunk_size=20_000)
    for name in TABLES:
        ta, tb = pq.read_table(a / f"{name}.parquet"), pq.read_table(b / f"{name}.parquet")
        assert ta.equals(tb), name
    # three blocks, so the smaller chunks really wrote several row groups
    assert pq.ParquetFile(a / "events.parquet").num_row_groups == 3
    assert (a / "truth.json").read_text() == (b / "truth.json").read_text()


def test_too_short_a_period_is_refused(tmp_path):
    with pytest.raises(ValueError, match="days"):
        generate_sample(tmp_path, users=100, days=60)


# ----------------------------------------------------------------------------- schemas


def test_schemas(small):
    for name, fields in SCHEMAS.items():
        schema = pq.read_schema(small.path / f"{name}.parquet")
        assert [(f.name, f.type) for f in schema] == fields, name


def test_truth_json_is_plain_sorted_json(small):
    text = (small.path / "truth.json").read_text(encoding="utf-8")

    def no_constants(name):
        raise AssertionError(f"non-finite number {name} in truth.json")

    truth = json.loads(text, parse_constant=no_constants)
    assert text == json.dumps(truth, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    for key in ("params", "retention", "retention_observed", "channels", "experiments"):
        assert key in truth
    for key in ("campaigns", "anomalies", "content"):
        assert key in truth
    assert truth["params"] == {
        "users": 4000,
        "days": 120,
        "seed": 7,
        "end": "2026-10-31",
        "start": "2026-07-04",
        "timezone": TZ,
    }
