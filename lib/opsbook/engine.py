"""The engine a source runs on: the embedded DuckDB, or Apache Spark through Ibis's pyspark backend.

Every number a report computes is a portable Ibis expression; this module holds the few things
that differ per engine: opening a connection with the config's settings, reading a file into a
table, keeping an intermediate result, and the engine's own functions for time zones.

``engine.backend`` in the config (or ``opsbook run --engine``, or the ``OPSBOOK_ENGINE``
environment variable) picks the engine for a folder or DuckDB-file source; a URL source
(``postgres://``, ``trino://``, ...) runs on the engine the URL names.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from opsbook.config import Config
from opsbook.settings import ENGINES

# engines on which an intermediate result can be kept for the session (a Parquet file or
# Spark's cache); on a warehouse reached by URL the workbook never writes
KEEPING_ENGINES = frozenset(ENGINES)
# the folder of each DuckDB connection opened here, where :func:`keep` writes; tables are
# numbered in the order kept
_KEPT: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_KEPT_COUNT = itertools.count()


# the thread pools of the numeric libraries a kernel loads: OpenMP (scikit-learn's gradient
# boosting) and BLAS (numpy, scipy)
NATIVE_POOLS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def native_threads(processes: int) -> dict[str, str]:
    """The environment that gives each of ``processes`` processes running at once its share of
    the cores for its numeric libraries' threads; a pool the user sized is left as set. OpenMP
    threads that outnumber the free cores wait on each other: beside the other reports at 1M
    users, the user-insight report took 131 s with a thread per core and 59 s with its share."""
    share = str(max(1, (os.cpu_count() or 1) // max(1, processes)))
    return {name: share for name in NATIVE_POOLS if name not in os.environ}


class EngineError(ValueError):
    """An engine that is not installed, or cannot read this source."""


def connect(config: Config, database: str = ":memory:", read_only: bool = False) -> Any:
    """A connection to the config's engine (``database``: a DuckDB file, for DuckDB only)."""
    backend = config.engine
    if backend == "duckdb":
        return connect_duckdb(config, database, read_only)
    if database != ":memory:":
        raise EngineError(
            f"the {backend} engine reads folders of files, not the DuckDB file {database}"
        )
    return connect_spark(config)


def connect_duckdb(config: Config, database: str = ":memory:", read_only: bool = False) -> Any:
    engine = config.section("engine")
    con = ibis.duckdb.connect(database, read_only=read_only)
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")  # it would print into the runner's terminal
    if engine.get("threads"):
        con.raw_sql(f"SET threads = {int(engine['threads'])}")
    if engine.get("memory_limit"):
        con.raw_sql(f"SET memory_limit = '{engine['memory_limit']}'")
    folder = spill_directory(config)
    con.raw_sql(f"SET temp_directory = '{folder.replace(chr(39), chr(39) * 2)}'")
    _KEPT[con] = folder
    return con


def spill_directory(config: Config) -> str:
    """A folder of one connection's own for DuckDB to spill to beyond its memory limit: under
    ``engine.temp_directory`` (relative to the config's folder; default: the system's temporary
    folder), removed at exit.

    DuckDB's default, ``.tmp`` in the working directory, is shared by the kernels a run executes
    side by side: two engines spilling into the same files corrupt each other's blocks (at 5M
    users with a 1 GB limit, two reports failed with "Corrupt temporary file")."""
    base = config.section("engine").get("temp_directory") or None
    if base is not None:
        base = config.path_of(str(base))
        base.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=f"opsbook-duckdb-{os.getpid()}-", dir=base)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def spark_settings(config: Config) -> dict[str, str]:
    """The SparkSession settings: the config's ``engine.spark`` map; in local mode the driver
    also binds to the loopback address only (a run opens no port to the network), shuffles
    into one partition per core (Spark's 200 suit a cluster) and logs errors only."""
    settings = {key: _spark_value(value) for key, value in config.spark_settings.items()}
    if settings.get("spark.master", "local[*]").startswith("local"):
        settings.setdefault("spark.driver.host", "127.0.0.1")
        settings.setdefault("spark.driver.bindAddress", "127.0.0.1")
        settings.setdefault("spark.sql.shuffle.partitions", str(os.cpu_count() or 1))
        log_config = resources.files("opsbook").joinpath("spark-log4j2.properties")
        settings.setdefault(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_config}"
        )
    return settings


def _spark_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def connect_spark(config: Config) -> Any:
    """A pyspark connection: the running SparkSession of this process if there is one (a
    notebook on a Databricks or EMR cluster), else one built from the config's settings."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "engine pyspark needs Apache Spark's Python package: pip install '.[spark]' "
            "(and a Java 17+ runtime)"
        ) from None
    session = SparkSession.getActiveSession()
    if session is None:
        builder = SparkSession.builder.appName("opsbook")
        for key, value in spark_settings(config).items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    # the backend sets the session's time zone to UTC: naive timestamps are UTC instants.
    # Spark cannot read Parquet's nanosecond timestamps (pandas' default): as integers, then
    # converted by read_file
    return ibis.pyspark.connect(session, **{"spark.sql.legacy.parquet.nanosAsLong": "true"})


def read_file(
    con: Any,
    name: str,
    files: Sequence[Path],
    kind: str,
    options: Mapping[str, Any],
    folder: Path | None = None,
) -> ir.Table:
    """The table ``name`` of ``files`` (one file, or the part files of a Spark/Hive output
    ``folder``, its ``key=value`` subfolders read as columns) in the format ``kind`` (parquet,
    csv, tsv, json). Parquet is scanned in place; a text file is parsed once and kept (a view
    would parse the whole file again for every query of a report).

    ``options`` go to the engine's own reader (DuckDB's ``read_csv``, Spark's
    ``DataFrameReader.csv``): they are named as that engine names them."""
    table_name = f"src_{name}"
    duckdb = con.name == "duckdb"
    if duckdb:
        paths: Any = [str(f) for f in files] if folder else str(files[0])
        options = ({"hive_partitioning": True} if folder else {}) | dict(options)
    else:
        paths = str(folder or files[0])  # Spark reads a folder with its partitions itself
    if kind == "parquet":
        table = con.read_parquet(paths, table_name=table_name, **options)
        nanos = _nanosecond_timestamps(files[0]) if not duckdb else []
        return table.mutate(**{c: _spark_timestamp_micros(table[c] // 1000) for c in nanos})
    if duckdb:
        if kind in ("csv", "tsv"):
            # sniff types from every row: a bad value late in the file must not abort the read
            # (it becomes text, and validation names it) -- override with read: {sample_size: N}
            parsed = con.read_csv(paths, **({"sample_size": -1} | dict(options)))
        else:
            parsed = con.read_json(paths, **options)
        return con.create_table(table_name, parsed, temp=True)
    if kind in ("csv", "tsv"):
        defaults = {"sep": "\t"} if kind == "tsv" else {}
        parsed = con.read_csv(paths, **(defaults | dict(options)))
    else:
        parsed = con.read_json(paths, **options)
    return parsed.cache()


def _nanosecond_timestamps(path: Path) -> list[str]:
    """The columns of a Parquet file that hold nanosecond timestamps."""
    schema = pq.read_schema(path)
    return [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]


def keep(table: ir.Table) -> ir.Table:
    """``table`` computed once and kept for the session where the engine can keep it (a
    compressed Parquet file in the connection's own folder on DuckDB, Spark's cache); elsewhere
    the expression itself.

    DuckDB holds a temporary table uncompressed in memory: the user-insight report's daily
    activity took 1.6 GB at 1M users, 16 GB at 10M, which a 4 GB limit spilled and read back
    block by block for every question. The same rows as zstd Parquet take 49 MB and are read as
    fast (columns and row groups in parallel, cached by DuckDB's file cache)."""
    return keep_parts([table])


def keep_parts(parts: Sequence[ir.Table]) -> ir.Table:
    """Tables of the same columns computed one after another and kept as one, their union (see
    :func:`keep`): on DuckDB each part into a Parquet file of its own, so that one part's work
    is in memory at a time, and the files read as one table."""
    first = parts[0]
    backend = backend_name(first)
    con = first._find_backend() if backend == "duckdb" else None
    folder = _KEPT.get(con) if con is not None else None
    if folder is not None:
        paths = [str(Path(folder) / f"kept-{next(_KEPT_COUNT)}.parquet") for _ in parts]
        for part, path in zip(parts, paths, strict=True):
            con.to_parquet(part, path, compression="zstd")
        return con.read_parquet(paths)
    whole = ibis.union(*parts, distinct=False) if len(parts) > 1 else first
    return whole.cache() if backend in KEEPING_ENGINES else whole


def memory_limit_bytes(con: Any) -> int | None:
    """The memory limit of a DuckDB connection in bytes (None: another engine)."""
    if getattr(con, "name", None) != "duckdb":
        return None
    setting = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()
    number, _, unit = str(setting[0]).partition(" ")
    scale = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
    scale |= {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    return int(float(number) * scale.get(unit, 1))


# -- sums that do not depend on the order of the rows -----------------------------------------
# An engine adds a float column's values in the order its threads happen to finish (DuckDB's
# parallel aggregation, Spark's partitions), and float addition is not associative: the last
# digits of a sum, and of every number computed from it, differed between two runs of the same
# report on the same data. A float is therefore summed as a decimal of SUM_SCALE places: integer
# additions, exact in any order, cast back to float64 once. Each value is rounded to 1e-12 before
# it is added (an amount's cents are kept exactly); the sum holds 26 digits before the point.
SUM_SCALE = 12
SUM_TYPE = dt.Decimal(38, SUM_SCALE)
# the largest magnitude a value may have to be summed; beyond it (and NaN, +-inf) it is left out,
# as a null is: the contract checks name such amounts
SUM_LIMIT = 1e26


def exact_sum(value: ir.NumericValue, where: ir.BooleanValue | None = None) -> ir.NumericScalar:
    """The sum of ``value`` (the rows where ``where`` holds), the same whatever order the engine
    adds the rows in: a float column is summed as an exact decimal (:data:`SUM_TYPE`) and the
    result is a float64. Integers, booleans and decimals are summed as they are (exactly).
    Portable Ibis: DuckDB, Spark and SQL warehouses all add decimals exactly."""
    total = exact_total(value, where)
    return total.cast("float64") if value.type().is_floating() else total


def exact_total(value: ir.NumericValue, where: ir.BooleanValue | None = None) -> ir.NumericScalar:
    """:func:`exact_sum` before its cast to float64: a float column's sum as the exact decimal
    (:data:`SUM_TYPE`). Partial totals (per user and day, :mod:`opsbook.rollup`) add up to the
    whole's to the last digit, and :func:`exact_sum` of them gives the float of the whole."""
    if not value.type().is_floating():
        return value.sum(where=where)
    finite = value.between(-SUM_LIMIT, SUM_LIMIT)  # false for NaN and +-inf on every engine
    exact = ibis.ifelse(finite, value, ibis.null()).cast(SUM_TYPE)
    return exact.sum(where=where)


def exact_mean(value: ir.NumericValue, where: ir.BooleanValue | None = None) -> ir.FloatingScalar:
    """The mean of ``value`` over the values :func:`exact_sum` adds (the same for any order of
    the rows); integers' mean as the engine takes it (from an exact integer sum)."""
    if not value.type().is_floating():
        return value.mean(where=where)
    counted = value.between(-SUM_LIMIT, SUM_LIMIT).cast("int64").sum(where=where)
    return exact_sum(value, where) / counted.cast("float64")


def backend_name(table: ir.Expr) -> str | None:
    """The name of the engine an expression is bound to (None: an unbound expression)."""
    try:
        return table._find_backend().name
    except Exception:  # an unbound table (tests, memtables before execution)
        return None


# -- the engine's own time functions ----------------------------------------------------------
@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_local_time(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():  # type: ignore[valid-type]
    """DuckDB's timezone(zone, timestamptz): the wall-clock time in ``zone``."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_local_time(ts: dt.Timestamp(), zone: str) -> dt.Timestamp():  # type: ignore[valid-type]
    """Spark's from_utc_timestamp(ts, zone)."""


@ibis.udf.scalar.builtin(name="timestamp_micros")
def _spark_timestamp_micros(us: dt.int64) -> dt.Timestamp():  # type: ignore[valid-type]
    """Spark's timestamp from microseconds since the epoch."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's microseconds since the epoch of an instant."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.Timestamp()) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's microseconds since the epoch of a naive timestamp (its wall clock as UTC)."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_epoch_us(ts: dt.Timestamp()) -> dt.int64:  # type: ignore[valid-type]
    """Spark's microseconds since the epoch."""


@ibis.udf.scalar.builtin(name="divide")
def _duckdb_integer_divide(a: dt.int64, b: dt.int64) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's integer division (the ``//`` operator: truncates towards zero)."""


@ibis.udf.scalar.builtin(name="make_timestamp")
def _timestamp_from_epoch_us(us: dt.int64) -> dt.Timestamp():  # type: ignore[valid-type]
    """DuckDB's naive timestamp from microseconds since the epoch."""


def local_time(ts: ir.TimestampValue, zone: str, backend: str | None) -> ir.TimestampValue | None:
    """Wall-clock time in ``zone`` of a naive-UTC timestamp by the engine's zone rules (None:
    the engine has no conversion here)."""
    if backend == "duckdb":
        return _duckdb_local_time(zone, ts.cast(dt.Timestamp(timezone="UTC")))
    if backend == "pyspark":
        return _spark_local_time(ts, zone)
    return None


def instant_epoch_microseconds(
    value: ir.TimestampValue, backend: str | None
) -> ir.IntegerValue | None:
    """Microseconds since the epoch of a zoned timestamp as stored, read straight off the
    instant (None: the engine has no direct way, or ``value`` is naive)."""
    if backend == "duckdb" and value.type().timezone is not None:
        return _epoch_us(value)
    return None


def epoch_microseconds(ts: ir.TimestampValue, backend: str | None) -> ir.IntegerValue:
    """Microseconds from 1970-01-01 00:00 to the wall clock of a naive timestamp, an integer."""
    if backend == "duckdb":
        return _duckdb_epoch_us(ts)
    if backend == "pyspark":
        return _spark_epoch_us(ts)
    return (ts.epoch_seconds() * 1_000_000).cast("int64")


# integer floor division by truncation: shifted by a multiple of the divisor above any
# microsecond timestamp's magnitude (year 1 is -6.2e16 us), every numerator is positive
_FLOOR_SHIFT = 10**17


def floor_divide(value: ir.IntegerValue, divisor: int, backend: str | None) -> ir.IntegerValue:
    """``floor(value / divisor)`` of an integer column by a positive integer, in integer
    arithmetic where the engine has it (Ibis' ``//`` is the floor of a float division, a
    third slower per row in DuckDB than its integer division)."""
    if backend == "duckdb":
        k = _FLOOR_SHIFT // divisor + 1
        return _duckdb_integer_divide(value + k * divisor, divisor) - k
    return (value // divisor).cast("int64")


def timestamp_from_epoch_microseconds(
    us: ir.IntegerValue, backend: str | None
) -> ir.TimestampValue:
    """The naive timestamp (UTC wall clock) ``us`` microseconds after 1970-01-01 00:00."""
    if backend == "duckdb":
        return _timestamp_from_epoch_us(us)
    if backend == "pyspark":
        return _spark_timestamp_micros(us)
    return us.as_timestamp("us")


def utc_wall_clock(value: ir.TimestampValue, backend: str | None) -> ir.TimestampValue:
    """A zoned timestamp as a naive timestamp holding its UTC wall clock."""
    if backend == "duckdb":
        # DuckDB casts a zoned timestamp through its time-zone library row by row (twice the
        # cost of a whole aggregate); epoch arithmetic gives the same UTC wall clock
        return _timestamp_from_epoch_us(_epoch_us(value))
    # with the session in UTC (DuckDB and Spark both), dropping the zone keeps the UTC wall clock
    return value.cast(dt.Timestamp())
