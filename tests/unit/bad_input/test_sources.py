"""Sources as real exports come: Spark/Hive folders read as one table, ids of different types
that still join, and refusals naming the source, the table or the command-line value."""

from __future__ import annotations

import io
import re

import duckdb
import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.validation import validate

from .conftest import ORDERS, USERS, Shop


def _frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_a_spark_folder_of_part_files_is_one_table(shop: Shop):
    (shop.data / "orders.csv").unlink()
    folder = shop.data / "orders.parquet"
    folder.mkdir()
    orders = _frame(ORDERS)
    orders.iloc[:2].to_parquet(folder / "part-00000-abc.snappy.parquet")
    orders.iloc[2:].to_parquet(folder / "part-00001-abc.snappy.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000-abc.snappy.parquet.crc").write_bytes(b"crc")
    source = open_source(load_config(shop.config))
    assert source.table("orders").count().execute() == 3
    assert shop.run("validate").code == 0


def test_a_partitioned_folder_reads_its_keys_as_columns(shop: Shop):
    (shop.data / "orders.csv").unlink()
    orders = _frame(ORDERS)
    for day, rows in orders.groupby(orders.ts.str[:10]):
        part = shop.data / "orders" / f"day={day}"
        part.mkdir(parents=True)
        rows.drop(columns="ts").assign(ts=rows.ts).to_parquet(part / "part-0.parquet")
    table = open_source(load_config(shop.config)).table("orders")
    assert table.count().execute() == 3
    assert "day" in table.columns
    assert sorted(table.day.cast("string").execute()) == ["2026-01-05", "2026-01-06", "2026-01-07"]


def test_integer_ids_in_one_table_join_text_ids_in_another(shop: Shop):
    (shop.data / "users.csv").write_text(USERS.replace("\nu", "\n"), encoding="utf-8")  # 1, 2, 3
    (shop.data / "orders.csv").write_text(
        re.sub(r",u(\d)", r",\1", ORDERS).replace("o1,1,", "o1,001x,"), encoding="utf-8"
    )  # text ids: 001x, 2, 1
    source = open_source(load_config(shop.config))
    result = validate(source)
    unknown = [f for f in result.findings if f.rule == "user_known"]
    assert [f.rows for f in unknown] == [1]  # only 001x is unknown; 2 and 1 join as text
    assert source.table("users").user_id.type().is_string()


def test_integer_ids_everywhere_stay_integers(shop: Shop):
    (shop.data / "users.csv").write_text(USERS.replace("\nu", "\n"), encoding="utf-8")
    (shop.data / "orders.csv").write_text(re.sub(r",u(\d)", r",\1", ORDERS), encoding="utf-8")
    source = open_source(load_config(shop.config))
    assert source.table("orders").user_id.type().is_integer()
    assert validate(source).ok


def test_a_header_only_csv_is_an_empty_table_and_a_finding(shop: Shop):
    """Read as a table of no rows (no crash), and refused: a header without rows is a failed
    export far more often than a shop without orders (see test_files.py)."""
    (shop.data / "orders.csv").write_text("order_id,user_id,ts,amount\n", encoding="utf-8")
    outcome = shop.refused(["validate"], "orders.csv has no rows")
    assert "orders: 0 rows" in outcome.out


def test_the_file_named_in_the_config_wins_over_two_files(shop: Shop):
    _frame(ORDERS).to_parquet(shop.data / "orders.parquet")
    shop.write_config(
        "data: {source: data, tables: {orders: {file: orders.parquet}}}\ntimezone: UTC\nlang: en\n"
    )
    assert shop.run("validate").code == 0


def test_zh_refusal(shop: Shop):
    (shop.data / "orders.parquet").write_bytes(b"")
    shop.refused(["validate", "--lang", "zh"], "表 orders 有多个文件")


@pytest.fixture
def garbage_duckdb(shop: Shop):
    path = shop.root / "shop.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    return path


SOURCES = {
    "missing folder": (["--data", "nowhere"], "does not exist", 1),
    "missing folder zh": (["--data", "nowhere", "--lang", "zh"], "不存在", 1),
    "a text file": (
        ["--data", "opsbook.yml"],
        "neither a folder, a DuckDB file nor an Ibis URL",
        1,
    ),
    "folder without tables": (["--data", "."], "holds no table files", 1),
    "unset environment reference": (
        ["--data", "env:OPSBOOK_NO_SUCH_VAR"],
        "OPSBOOK_NO_SUCH_VAR",
        1,
    ),
    "unknown URL scheme": (["--data", "nosuch://host/db"], "cannot connect to nosuch://host/db", 1),
    "garbage duckdb file": (["--data", "shop.duckdb"], "is not a readable DuckDB database", 1),
    "missing config": (["--config", "nope.yml", "--lang", "en"], "config file not found: nope", 1),
    "missing config zh": (["--config", "nope.yml"], "找不到配置文件：nope.yml", 1),
    "table typo": (["--table", "ordrs"], "did you mean orders?", 2),
    "table typo zh": (["--table", "ordrs", "--lang", "zh"], "是否想输入 orders", 2),
    "table not in source": (
        ["--table", "campaigns"],
        "--table campaigns: the source has no such table",
        2,
    ),
    "unknown engine": (["--engine", "spark"], "invalid choice: 'spark'", 2),
    "unknown language": (["--lang", "fr"], "invalid choice: 'fr'", 2),
}


@pytest.mark.parametrize("case", SOURCES, ids=list(SOURCES))
def test_a_bad_source_or_option_is_refused(shop: Shop, garbage_duckdb, case: str):
    args, fragment, code = SOURCES[case]
    shop.refused(["validate", *args], fragment, code)


def test_a_garbage_duckdb_file_via_url(shop: Shop, garbage_duckdb):
    shop.refused(
        ["validate", "--data", f"duckdb://{garbage_duckdb}"], "cannot connect to duckdb://"
    )


def test_a_duckdb_file_missing_a_table_names_it(shop: Shop):
    path = shop.root / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE users AS SELECT 'u1' AS user_id, TIMESTAMP '2026-01-01' AS signup_ts")
    con.close()
    shop.refused(
        ["validate", "--data", str(path), "--table", "orders"],
        "--table orders: the source has no such table (it has: users)",
        2,
    )
