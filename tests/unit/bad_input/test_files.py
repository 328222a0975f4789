"""Files an export may hold that the engine cannot read as they are: each refused with the file
named, what was expected and what was found (exit 1, no traceback)."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from .conftest import ORDERS, Shop


def _parquet_bytes(rows: int | None = None) -> bytes:
    frame = pd.read_csv(io.StringIO(ORDERS)).head(rows)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _replace_orders(data: Path, name: str, content: bytes) -> None:
    (data / "orders.csv").unlink()
    (data / name).write_bytes(content)


# each case: how the orders file is spoilt, and the words the refusal must hold
SPOILT: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty parquet": (lambda d: _replace_orders(d, "orders.parquet", b""), "is empty (0 bytes)"),
    "garbage parquet": (
        lambda d: _replace_orders(d, "orders.parquet", b"not parquet at all\n" * 20),
        "is not a readable Parquet file",
    ),
    "truncated parquet": (
        lambda d: _replace_orders(d, "orders.parquet", _parquet_bytes()[:300]),
        "is not a readable Parquet file",
    ),
    "parquet without its footer": (
        lambda d: _replace_orders(d, "orders.parquet", _parquet_bytes()[:-8]),
        "is not a readable Parquet file",
    ),
    "csv named parquet": (
        lambda d: _replace_orders(d, "orders.parquet", ORDERS.encode() * 10),
        "is not a readable Parquet file",
    ),
    "gbk csv": (
        lambda d: _replace_orders(
            d, "orders.csv", (ORDERS + "o4,张三,2026-01-08,1\n").encode("gbk")
        ),
        "is not UTF-8 text",
    ),
    "gbk header": (
        lambda d: _replace_orders(
            d, "orders.csv", ("订单,user_id,ts,amount\no1,u1,2026-01-05,1\n").encode("gbk")
        ),
        "is not UTF-8 text",
    ),
    "latin-1 csv": (
        lambda d: _replace_orders(
            d, "orders.csv", (ORDERS + "o4,Zoë,2026-01-08,1\n").encode("latin-1")
        ),
        "is not UTF-8 text",
    ),
    "bad json line": (
        lambda d: _replace_orders(
            d,
            "orders.jsonl",
            b'{"order_id": "o1", "user_id": "u1", "ts": "2026-01-05", "amount": 1}\n{"order_id": \n',
        ),
        "is not valid JSON",
    ),
    "json that is not json": (
        lambda d: _replace_orders(d, "orders.json", b"order_id,user_id\no1,u1\n"),
        "is not valid JSON",
    ),
    "ragged csv": (
        lambda d: _replace_orders(
            d,
            "orders.csv",
            b"order_id,user_id,ts,amount\no1,u1\no2\no3,u1,2026-01-05,1,extra\no4,u2,2026-01-05,1,x\n",
        ),
        "first",
    ),
    "empty csv": (lambda d: _replace_orders(d, "orders.csv", b""), "is empty (0 bytes)"),
    "empty csv.gz": (lambda d: _replace_orders(d, "orders.csv.gz", b""), "is empty (0 bytes)"),
    "truncated csv.gz": (
        lambda d: _replace_orders(d, "orders.csv.gz", gzip.compress(ORDERS.encode() * 50)[:60]),
        "is not a complete gzip file",
    ),
    "csv.gz that is not gzip": (
        lambda d: _replace_orders(d, "orders.csv.gz", ORDERS.encode()),
        "is not a complete gzip file",
    ),
    "no contract column": (
        lambda d: _replace_orders(d, "orders.csv", b"a,b,c\n1,2,3\n4,5,6\n"),
        "none of the data contract's columns",
    ),
    "one column of noise": (
        lambda d: _replace_orders(d, "orders.csv", b"hello\nworld\n"),
        "none of the data contract's columns",
    ),
    "boolean amounts": (
        lambda d: _replace_orders(
            d,
            "orders.csv",
            b"order_id,user_id,ts,amount\no1,u1,2026-01-05,true\no2,u2,2026-01-06,false\n",
        ),
        "true/false",
    ),
    "two files for orders": (
        lambda d: (d / "orders.parquet").write_bytes(_parquet_bytes()),
        "orders.csv, orders.parquet",
    ),
    "a file and a spark folder for orders": (
        lambda d: (
            (d / "orders").mkdir(),
            (d / "orders" / "part-00000.parquet").write_bytes(_parquet_bytes()),
        ),
        "more than one file",
    ),
    "empty spark folder beside nothing": (
        lambda d: (
            (d / "orders.csv").unlink(),
            (d / "orders.parquet").mkdir(),
            (d / "orders.parquet" / "part-00000.parquet").write_bytes(b""),
        ),
        "is empty (0 bytes)",
    ),
    "header-only csv": (
        lambda d: _replace_orders(d, "orders.csv", b"order_id,user_id,ts,amount\n"),
        "orders.csv has no rows",
    ),
    "header-only csv without a newline": (
        lambda d: _replace_orders(d, "orders.csv", b"order_id,user_id,ts,amount"),
        "orders.csv has no rows",
    ),
    "header-only csv.gz": (
        lambda d: _replace_orders(
            d, "orders.csv.gz", gzip.compress(b"order_id,user_id,ts,amount\n")
        ),
        "orders.csv.gz has no rows",
    ),
    "header-only tsv": (
        lambda d: _replace_orders(d, "orders.tsv", b"order_id\tuser_id\tts\tamount\n"),
        "orders.tsv has no rows",
    ),
    "parquet of no rows": (
        lambda d: _replace_orders(d, "orders.parquet", _parquet_bytes(rows=0)),
        "orders.parquet has no rows",
    ),
    "header-only users beside orders": (
        lambda d: (d / "users.csv").write_text("user_id,signup_ts\n"),
        "users.csv has no rows",
    ),
    "users file is garbage": (
        lambda d: ((d / "users.csv").unlink(), (d / "users.parquet").write_bytes(b"PAR1garbage")),
        "users.parquet is not a readable Parquet file",
    ),
}


@pytest.mark.parametrize("case", SPOILT, ids=list(SPOILT))
def test_a_spoilt_file_is_refused_with_its_name(shop: Shop, case: str):
    spoil, fragment = SPOILT[case]
    spoil(shop.data)
    shop.refused(["validate"], fragment)


def test_a_header_only_orders_file_fails_the_reports_that_need_it(shop: Shop, repo_root: Path):
    """A header and no rows is a failed export far more often than a shop without orders: a
    report of zeros would read as "no sales". The reports that need the table fail with the
    finding (in the run's language); data quality, whose subject it is, shows it."""
    (shop.data / "orders.csv").write_text("order_id,user_id,ts,amount\n", encoding="utf-8")
    shop.write_config(f"data: {{source: data}}\nrun: {{notebooks: {repo_root / 'notebooks'}}}\n")
    outcome = shop.run("run", "data_quality", "segmentation", "--lang", "zh")
    assert outcome.code == 1, outcome.text
    assert "Traceback" not in outcome.text
    failed = next(line for line in outcome.out.splitlines() if line.startswith("segmentation"))
    assert "failed" in failed and "订单表：文件" in failed and "orders.csv 没有任何数据行" in failed
    assert "data_quality: ok" in outcome.out
    page = (shop.root / "reports" / "latest" / "data_quality.html").read_text(encoding="utf-8")
    assert "orders.csv 没有任何数据行" in page
