"""Choosing the engine: config, command line and environment; Spark's session settings."""

from __future__ import annotations

import threading
from pathlib import Path

import ibis
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from opsbook.config import ENGINE_ENV, load_config
from opsbook.engine import EngineError, connect, keep, spark_settings


def test_engine_from_config_argument_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_config().engine == "duckdb"
    (tmp_path / "opsbook.yml").write_text(yaml.safe_dump({"engine": {"backend": "pyspark"}}))
    assert load_config().engine == "pyspark"
    assert load_config(engine="duckdb").engine == "duckdb"
    # the runner hands its engine to the kernels through the environment
    monkeypatch.setenv(ENGINE_ENV, "duckdb")
    assert load_config().engine == "duckdb"
    assert load_config(engine="pyspark").engine == "pyspark"


def test_unknown_engine_is_refused_with_the_valid_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ValueError, match=r"engine.backend: expected one of duckdb, pyspark.*Ibis URL.*'spark'"
    ):
        load_config(engine="spark")


def test_local_spark_binds_to_loopback_and_a_cluster_keeps_its_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = spark_settings(load_config())
    assert local["spark.master"] == "local[*]"
    assert local["spark.driver.bindAddress"] == local["spark.driver.host"] == "127.0.0.1"
    assert local["spark.ui.enabled"] == "false"  # YAML's false, as Spark spells it
    assert "spark-log4j2.properties" in local["spark.driver.extraJavaOptions"]
    cluster = spark_settings(
        load_config(
            overrides={
                "engine": {
                    "spark": {"spark.master": "spark://head:7077", "spark.executor.memory": "8g"}
                }
            }
        )
    )
    assert cluster["spark.master"] == "spark://head:7077"
    assert cluster["spark.executor.memory"] == "8g"
    assert not {"spark.driver.host", "spark.driver.bindAddress"} & set(cluster)
    assert "spark.sql.shuffle.partitions" not in cluster  # the cluster's own default


def test_spark_does_not_open_duckdb_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EngineError, match="reads folders of files, not the DuckDB file"):
        connect(load_config(engine="pyspark"), str(tmp_path / "shop.duckdb"))


def test_integer_floor_division_and_epoch_microseconds_on_duckdb():
    """DuckDB's integer division truncates; the shift makes it a floor for every timestamp from
    year 1 on. Oracle: Python's // and datetime arithmetic."""
    import ibis
    import pandas as pd

    from opsbook.engine import epoch_microseconds, floor_divide

    con = ibis.duckdb.connect()
    values = [-62_135_596_800_000_000, -86_400_000_001, -1, 0, 1, 86_399_999_999, 86_400_000_000]
    values += [1_793_491_199_999_999, 253_402_300_799_999_999]  # 2026-10-31 end, year 9999
    table = con.create_table("v", pd.DataFrame({"x": values}))
    for divisor in (1_000_000, 86_400_000_000, 7 * 86_400_000_000):
        got = table.select(q=floor_divide(table.x, divisor, "duckdb")).execute()["q"].tolist()
        assert got == [x // divisor for x in values], divisor
    stamps = pd.DataFrame(
        {"ts": pd.to_datetime(["1969-12-31 23:59:59.999999", "2026-10-31 16:00:00.000000"])}
    )
    table = con.create_table("s", stamps)
    got = table.select(us=epoch_microseconds(table.ts, "duckdb")).execute()["us"].tolist()
    epoch = pd.Timestamp("1970-01-01")
    assert got == [(t - epoch) // pd.Timedelta(microseconds=1) for t in stamps["ts"]]


def test_duckdb_connections_spill_into_folders_of_their_own(tmp_path, monkeypatch):
    """Two engines spilling side by side (the runner's parallel kernels) under a memory limit:
    with DuckDB's default folder (``.tmp`` in the working directory, shared) they corrupt each
    other's temporary files; each in its own folder, both get the exact answer."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "opsbook.yml").write_text(
        yaml.safe_dump(
            {"engine": {"memory_limit": "80MB", "threads": 1, "temp_directory": "spill"}}
        )
    )
    config = load_config()
    n = 5_000_000  # 7919 is prime to n: i -> i * 7919 % n is a permutation of 0..n-1
    query = (
        f"SELECT count(*) AS k, sum(v) AS s FROM (SELECT DISTINCT (i * 7919) % {n} AS v, "
        f"i % 3 AS j FROM range({n}) t(i))"
    )
    cons = [connect(config) for _ in range(2)]
    folders = [
        con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0] for con in cons
    ]
    assert len(set(folders)) == 2
    assert all(Path(f).parent == tmp_path / "spill" for f in folders)

    results: dict[int, object] = {}

    def run(i: int) -> None:
        try:
            results[i] = tuple(cons[i].sql(query).execute().iloc[0])
        except Exception as error:  # reported below, with the engine's message
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: (n, n * (n - 1) // 2), 1: (n, n * (n - 1) // 2)}
    assert any(Path(f).exists() for f in folders)
    assert not (tmp_path / ".tmp").exists()


def test_kept_tables_are_compressed_files_in_the_connections_own_folder(tmp_path, monkeypatch):
    """A kept table is computed once into a zstd Parquet file in the connection's folder (a
    quote in its name included) and read from there: the same rows and types, and no table held
    in DuckDB's memory; a connection opened elsewhere keeps a temporary table as before."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "opsbook.yml").write_text(yaml.safe_dump({"engine": {"temp_directory": "o'k"}}))
    con = connect(load_config())
    folder = Path(con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0])
    assert folder.parent == tmp_path / "o'k"
    n = 200_000
    query = (
        f"SELECT i AS user_id, (i % 7)::INT AS day, i * 0.25 AS revenue, "
        f"TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS ts, "
        f"CASE WHEN i % 5 = 0 THEN NULL ELSE 'x''' || (i % 3) END AS name FROM range({n}) t(i)"
    )
    kept = keep(con.sql(query))
    assert kept.schema() == con.sql(query).schema()
    files = list(folder.glob("kept-*.parquet"))
    assert len(files) == 1
    meta = pq.read_metadata(files[0])
    assert meta.num_rows == n
    assert meta.row_group(0).column(0).compression == "ZSTD"
    expected = con.sql(query).execute().sort_values("user_id", ignore_index=True)
    got = kept.execute().sort_values("user_id", ignore_index=True)
    pd.testing.assert_frame_equal(got, expected)
    assert (got["name"] == "x'1").sum() == expected["name"].eq("x'1").sum() > 0
    in_memory = "SELECT count(*) FROM duckdb_tables() WHERE temporary"
    assert con.raw_sql(in_memory).fetchone()[0] == 0

    elsewhere = ibis.duckdb.connect()
    cached = keep(elsewhere.sql("SELECT 1 AS a"))
    assert cached.execute()["a"].tolist() == [1]
    assert elsewhere.raw_sql(in_memory).fetchone()[0] == 1


def test_float_sums_are_exact_and_the_same_in_any_order_of_the_rows():
    """``exact_sum`` adds floats as decimals: the same result for the rows in any order and on
    any number of threads (DuckDB's own float sum differs in the last digits between orders),
    equal to the correctly rounded sum of the values rounded to 12 places (Python's fsum).
    NaN and infinities are left out like nulls; integers are summed as they are."""
    import math

    import ibis
    import numpy as np
    import pandas as pd

    from opsbook.engine import exact_mean, exact_sum

    rng = np.random.default_rng(17)
    n = 50_000
    x = np.round(rng.lognormal(3, 1.5, n), 2) * rng.choice([1, -1, 1, 1], n)
    frame = pd.DataFrame({"g": rng.integers(0, 3, n), "x": x, "i": rng.integers(0, 10**6, n)})
    con = ibis.duckdb.connect()
    con.raw_sql("SET threads = 4")
    plain, exact = set(), set()
    for seed in range(4):
        t = con.create_table(f"t{seed}", frame.sample(frac=1.0, random_state=seed))
        plain.add(float(t.x.sum().execute()))
        got = t.aggregate(s=exact_sum(t.x), q=exact_sum(t.x * t.x), m=exact_mean(t.x))
        exact.add(tuple(got.execute().iloc[0]))
    assert len(plain) > 1  # the engine's own float sum depends on the order of the rows
    assert len(exact) == 1
    total, squares, mean = exact.pop()
    assert total == math.fsum(round(v, 12) for v in x)
    assert squares == math.fsum(round(v * v, 12) for v in x)
    assert mean == total / n
    by = t.group_by("g").aggregate(s=exact_sum(t.x), i=exact_sum(t.i)).order_by("g").execute()
    assert by["s"].tolist() == [math.fsum(x[frame.g == g]) for g in range(3)]
    assert by["i"].dtype == "int64"
    assert by["i"].tolist() == [int(frame.i[frame.g == g].sum()) for g in range(3)]

    odd = con.sql(  # a NaN of the engine's own (pandas' NaN arrives as null)
        "SELECT unnest([1.5, 'nan'::DOUBLE, 'inf'::DOUBLE, '-inf'::DOUBLE, 2.25, NULL]) AS x"
    )
    odd_sums = odd.aggregate(s=exact_sum(odd.x), m=exact_mean(odd.x)).execute().iloc[0]
    assert odd_sums.tolist() == [3.75, 1.875]
