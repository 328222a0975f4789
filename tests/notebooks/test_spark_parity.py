"""Every report on Apache Spark (local mode, Ibis's pyspark backend) gives the DuckDB run's numbers.

The same notebooks run unchanged with ``--engine pyspark``; each metrics.json must equal the
DuckDB run's: counts exactly, other numbers to 1e-9 relative. Needs the ``spark`` extra and a
Java runtime, both installed by ``make test``; nothing here is skipped when they are missing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from opsbook.report import wall_clock_values, without_wall_clock
from opsbook.run import RunResult, discover, run_reports
from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two metrics documents differ: integers and text exactly, other numbers beyond
    1e-9 relative, structure (keys, list lengths) exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: only in one run" for k in sorted(set(a) ^ set(b))]
        for key in sorted(set(a) & set(b)):
            out += differences(a[key], b[key], f"{path}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = [f"{path}: {len(a)} vs {len(b)} items"] if len(a) != len(b) else []
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    exact = isinstance(a, bool | str | None) or (isinstance(a, int) and isinstance(b, int))
    if isinstance(a, int | float) and isinstance(b, int | float) and not exact:
        same = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    else:
        same = a == b and type(a) is type(b)
    return [] if same else [f"{path}: {a!r} vs {b!r}"]


def test_differences_catches_what_parity_forbids():
    assert differences({"n": 3, "x": 1.0}, {"n": 3, "x": 1.0 + 1e-12}) == []
    assert differences({"n": 3}, {"n": 4}) == ["/n: 3 vs 4"]
    assert differences({"x": 1.0}, {"x": 1.0 + 1e-6}) == ["/x: 1.0 vs 1.000001"]
    assert differences({"a": [1, 2]}, {"a": [1]}) == ["/a: 2 vs 1 items"]
    assert differences({"a": 1}, {"b": 1}) == ["/a: only in one run", "/b: only in one run"]
    assert differences({"s": "x"}, {"s": None}) == ["/s: 'x' vs None"]
    assert differences({"n": 2}, {"n": 2.0}) == []  # a count computed as a float on one side


def folder_of(engine: str, result: RunResult) -> Path:
    """The run's folder, once every report of it ran without an error on ``engine``."""
    errors = {n: e["error"] for n, e in result.manifest["reports"].items() if e["error"]}
    assert result.ok, f"{engine}: {errors}"
    assert result.manifest["engine"] == engine
    return result.folder


@pytest.fixture(scope="module")
def runs(sample_run: RunResult, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The session's DuckDB run of every report on the sample (tests/conftest.py) and the same
    run on Spark: the same project config and data, only the engine differs."""
    duckdb = folder_of("duckdb", sample_run)
    spark = run_reports(
        config=sample_run.manifest["config"],
        data=str(sample_dir),
        out=tmp_path_factory.mktemp("engines"),
        lang="en",
        engine="pyspark",
    )
    return {"duckdb": duckdb, "pyspark": folder_of("pyspark", spark)}


@pytest.mark.parametrize("report", sorted(discover(ROOT / "notebooks")))
def test_report_on_spark_equals_duckdb(runs: dict[str, Path], report: str):
    page = (runs["pyspark"] / f"{report}.html").read_text(encoding="utf-8")
    assert "engine Spark" in page, "the report's header names the engine it ran on"
    duck, spark = (
        json.loads((runs[e] / f"{report}.metrics.json").read_text()) for e in ("duckdb", "pyspark")
    )
    # values that depend on the wall clock at run time, not on the engine: the one list
    found = differences(without_wall_clock(report, duck), without_wall_clock(report, spark))
    assert not found, f"{report}: {len(found)} numbers differ on Spark:\n" + "\n".join(found[:30])
    # the clock-dependent numbers are there and plausible (hours or days, not a unit error)
    clock_duck, clock_spark = (wall_clock_values(report, m) for m in (duck, spark))
    assert clock_duck.keys() == clock_spark.keys()
    for path, value in clock_spark.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            assert abs(value - clock_duck[path]) < 1.0, path
