"""No secret of a source is ever printed: not by a message, the pages, the manifest, the index,
the executed notebooks (which get a reference, env:OPSBOOK_SOURCE, not the URL), nor the
metrics. Every test plants a traceable secret and searches everything written for it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from opsbook.sources import redact, scrub

from .conftest import Shop

TRACE = "TRACE-7f3a-SECRET"

URLS = {
    "userinfo": f"postgres://alice:{TRACE}@db.internal:5432/shop",
    "slash in password": f"postgres://alice:{TRACE}/x@db.internal/shop",
    "hash in password": f"postgres://alice:{TRACE}#x@db.internal/shop",
    "at in password": f"postgres://alice:{TRACE}@x@db.internal/shop",
    "query password": f"postgres://alice@db.internal/shop?password={TRACE}",
    "query PASSWORD": f"postgres://alice@db.internal/shop?sslmode=require&PASSWORD={TRACE}",
    "query pwd": f"mssql://alice@db/shop?Pwd={TRACE}",
    "query token": f"trino://alice@host:8080/hive?access_token={TRACE}",
    "query key": f"clickhouse://host/db?key={TRACE}",
    "query api key": f"https://host/x?api_key={TRACE}&format=csv",
    "query secret": f"snowflake://alice@acct/db/schema?warehouse=wh&client_secret={TRACE}",
    "query access key": f"duckdb:///tmp/x.duckdb?s3_access_key_id=AKIA&s3_secret_access_key={TRACE}",
    "query private key": f"snowflake://alice@acct/db?private_key={TRACE}",
    "query credentials": f"bigquery://project/dataset?credentials_info={TRACE}",
    "query signature": f"https://bucket.s3.amazonaws.com/x.parquet?X-Amz-Signature={TRACE}",
    "query sas": f"abfs://container/x?sv=2021&sig={TRACE}",
    "semicolon separated": f"postgres://alice@host/db?sslmode=require;password={TRACE}",
    "encoded": f"postgres://alice:{TRACE}%2Fx@host/db",
}


@pytest.mark.parametrize("case", URLS, ids=list(URLS))
def test_redact_removes_every_kind_of_secret(case: str):
    url = URLS[case]
    shown = redact(url)
    assert TRACE not in shown
    assert "***" in shown
    assert shown.split("://")[0] == url.split("://")[0]  # the scheme stays, to say what it is
    assert "alice" in shown or "alice" not in url  # so does the user name


def test_redact_keeps_what_is_no_secret():
    assert (
        redact("postgres://alice@db/shop?sslmode=require")
        == "postgres://alice@db/shop?sslmode=require"
    )
    assert redact("/data/shop") == "/data/shop"
    assert redact("duckdb:///tmp/x.duckdb") == "duckdb:///tmp/x.duckdb"


def test_scrub_removes_a_known_secret_from_any_text():
    url = f"postgres://alice:{TRACE}@host/db"
    assert TRACE not in scrub(f"could not connect to {url}: password {TRACE} refused", url)


@pytest.mark.parametrize("case", ["userinfo", "slash in password", "query password", "query token"])
def test_validate_prints_no_secret(shop: Shop, case: str):
    url = URLS[case].replace("postgres://", "nosuch://").replace("trino://", "nosuch://")
    outcome = shop.run("validate", "--data", url)
    assert outcome.code == 1 and "Traceback" not in outcome.text
    assert "cannot connect to nosuch://" in outcome.err
    assert TRACE not in outcome.text


@pytest.fixture
def secret_duckdb(sample_dir: Path, tmp_path: Path) -> str:
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    for file in sample_dir.glob("*.parquet"):
        con.execute(f"CREATE TABLE {file.stem} AS SELECT * FROM read_parquet('{file}')")
    con.close()
    return f"duckdb://{path}?read_only=true&password={TRACE}"


def test_a_run_writes_no_secret_anywhere(shop: Shop, secret_duckdb: str, repo_root: Path):
    shop.write_config(f"run: {{notebooks: {repo_root / 'notebooks'}}}\nlang: en\n")
    out = shop.root / "reports"
    outcome = shop.run("run", "data_quality", "--data", secret_duckdb, "--out", str(out))
    assert "Traceback" not in outcome.text
    assert TRACE not in outcome.text
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {
        "data_quality.html",
        "data_quality.ipynb",
        "manifest.json",
        "index.html",
    }, outcome.text
    for path in written:
        assert TRACE not in path.read_text(encoding="utf-8", errors="replace"), path
    notebook = (out / "latest" / "data_quality.ipynb").read_text(encoding="utf-8")
    assert "env:OPSBOOK_SOURCE" in notebook  # the kernel resolved the reference
    assert "password=***" in (out / "latest" / "manifest.json").read_text(encoding="utf-8")
    assert outcome.code == 0, outcome.text
