"""Shared fixtures: a small generated sample shop, one run of every report on it, the repository
root, the real datasets; and the order in which xdist's workers take the test modules."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

# small enough to keep notebook tests quick, large enough for every report section
SAMPLE_USERS = 3000
SAMPLE_DAYS = 150
# the shared run's project targets file (tests/notebooks/test_kpi_dashboard.py reads ARPU's)
SAMPLE_RUN_TARGETS = {"kpis": {"arpu": {"target": 40}}}

# A test's Spark driver lives a minute or two: the optimising JIT compiler and the parallel
# garbage collector cost it about twice the CPU of the quick compiler and the serial collector
# (measured here: 51 s against 27 s for opening the sample and checking it). JVM options change
# how fast Spark runs, never what it computes. Every driver the tests start takes them: the
# workers' own sessions and, through the environment, each notebook kernel of a pyspark run.
SPARK_TEST_SUBMIT_ARGS = (
    '--conf "spark.driver.defaultJavaOptions=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" '
    "pyspark-shell"
)

# Modules that run every report, longest first: each xdist worker takes the next module when it
# is nearly done, so the long ones start at once and the unit tests fill in around them. Then the
# other modules that run notebooks, then the unit tests (pytest-xdist by default sends the
# modules with the most tests first, which left Spark's seven tests of four minutes for last).
LONGEST_FIRST = (
    "tests/notebooks/test_spark_parity.py",  # every report on Spark (after the shared run)
    "tests/notebooks/test_determinism.py",  # every report in Chinese, shuffled, without the cache
    "tests/notebooks/test_interactive.py",  # every notebook on the default-size sample
)
RUN_NOTEBOOKS = ("tests/notebooks/", "tests/browser/")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", SPARK_TEST_SUBMIT_ARGS)
    if hasattr(config.option, "loadscopereorder"):  # the order below, not the largest first
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0]
        if module in LONGEST_FIRST:
            return LONGEST_FIRST.index(module)
        return len(LONGEST_FIRST) + (not module.startswith(RUN_NOTEBOOKS))

    items.sort(key=rank)


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder ``name`` filled by ``build(folder)`` once per test session, shared by the
    xdist workers: the first worker to ask builds it under a file lock while the others wait
    (pytest-xdist's documented pattern). A build that fails is tried again by the next test
    that asks, which then fails with its own error."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = factory.mktemp(name)
        build(folder)
        return folder
    root = factory.getbasetemp().parent  # this session's folder, above each worker's own
    folder, done = root / name, root / f"{name}.done"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample shop, generated once per test session."""
    from opsbook.sample import generate_sample

    return built_once(
        tmp_path_factory,
        "sample",
        lambda folder: generate_sample(folder, users=SAMPLE_USERS, days=SAMPLE_DAYS, seed=11),
    )


def sample_project(folder: Path, **settings: Any) -> Path:
    """The project config of the shared sample runs in ``folder``: the shop's zone, the
    repository's notebooks, a targets file of its own; ``settings`` are added on top (e.g.
    ``engine={"threads": 4}``). Returns the config's path."""
    (folder / "my_targets.yml").write_text(yaml.safe_dump(SAMPLE_RUN_TARGETS))
    config = folder / "opsbook.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "timezone": "Asia/Shanghai",
                "run": {"notebooks": str(ROOT / "notebooks")},
                "reports": {"kpi_dashboard": {"targets": "my_targets.yml"}},
            }
            | settings
        )
    )
    return config


# the Chinese run reads the sample rewritten in another row order and in small Parquet row groups,
# on another number of DuckDB threads than the English run (one per core), without the rollup's
# cache folder: tests/notebooks/test_determinism.py compares the two runs' numbers
PIECES = 32  # row groups per table
THREADS = 3


def sample_in_pieces(sample_dir: Path, factory: pytest.TempPathFactory) -> Path:
    """The sample shop with each Parquet file's rows shuffled and cut into :data:`PIECES` row
    groups, so that DuckDB reads every table in many pieces on all its threads. The first row
    stays first: the A/B report's default experiment is, by its rule, the one of the source's
    first row."""
    import numpy as np
    import pyarrow.parquet as pq

    def shuffle(out: Path) -> None:
        rng = np.random.default_rng(5)
        for path in sorted(sample_dir.iterdir()):
            if path.suffix == ".parquet":
                table = pq.read_table(path)
                table = table.take(np.concatenate([[0], 1 + rng.permutation(table.num_rows - 1)]))
                size = max(16, -(-table.num_rows // PIECES))
                pq.write_table(table, out / path.name, row_group_size=size)
            elif path.is_file():
                shutil.copy(path, out / path.name)

    return built_once(factory, "sample_in_pieces", shuffle)


def every_report(sample_dir: Path, factory: pytest.TempPathFactory, lang: str):
    """Every report on the sample shop in ``lang``, on DuckDB, with :func:`sample_project`'s
    config: one run per language and test session, shared by the xdist workers. English reads
    the sample as generated with the rollup's cache folder; Chinese the same shop in pieces
    (:func:`sample_in_pieces`) on :data:`THREADS` threads with no cache. The result is not
    asserted here: each reader asserts its own report's."""
    from opsbook.run import RunResult, run_reports

    def run_every_report(folder: Path) -> None:
        if lang == "en":
            data, settings, no_cache = sample_dir, {}, False
        else:
            data = sample_in_pieces(sample_dir, factory)
            settings, no_cache = {"engine": {"threads": THREADS}}, True
        run_reports(
            config=sample_project(folder, **settings),
            data=str(data),
            out=folder / "reports",
            lang=lang,
            engine="duckdb",
            no_cache=no_cache,
        )

    name = "sample_run" if lang == "en" else f"sample_run_{lang}"
    run = (built_once(factory, name, run_every_report) / "reports" / "latest").resolve()
    return RunResult(run, json.loads((run / "manifest.json").read_text()))


@pytest.fixture(scope="session")
def sample_run(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Every report on the sample in English (:func:`every_report`): read by the report modules
    that check a default run, by the Spark parity (its DuckDB side) and the browser tests."""
    return every_report(sample_dir, tmp_path_factory, "en")


@pytest.fixture(scope="session")
def sample_run_zh(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Every report on the sample in Chinese (:func:`every_report`): the browser tests, and the
    determinism test's second run."""
    return every_report(sample_dir, tmp_path_factory, "zh")


def dataset(*parts: str) -> Path:
    """A file of ../shared/datasets, or skip the test when the folder is absent."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"real dataset {path} is absent (it lives in ../shared/datasets beside the repo)"
        )
    return path
