"""Identical inputs give identical numbers: every report, run on the same data in another row
order and on another number of DuckDB threads than the session's shared run (``sample_run``),
writes the same ``<report>.metrics.json`` byte for byte, but for the values that read the wall
clock (``opsbook.report.WALL_CLOCK_METRICS``).

DuckDB adds a float column's values in the order its threads finish; float addition is not
associative, so before the engine's float sums were exact (``opsbook.engine.exact_sum``) the
last digits of GMV, ARPU, ROI, intervals and p-values differed between two such runs. The sample
is rewritten with its rows in a random order (a week's orders are spread over the whole file)
and in small Parquet row groups, so that DuckDB reads every table in many pieces on all its
threads; the shared run reads the sample as generated, with DuckDB's default threads (one per
core), this one the shuffled pieces on :data:`THREADS` threads. A sum that depends on the order its rows
are added in is all but certain to come out different (today's code failed 5 times in 5).

The same comparison proves the activity rollup changes no number: the shared run reads it from the
cache folder (the runner builds it, every kernel reads it), this one runs with ``no_cache`` (each
report computes it from the rows; nothing is read from or written to a cache folder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from opsbook.report import WALL_CLOCK_METRICS, wall_clock_values
from opsbook.report import without_wall_clock as blank
from opsbook.run import RunResult, discover, run_reports
from tests.conftest import ROOT, sample_project

PIECES = 32  # row groups per table
REPORTS = list(discover(ROOT / "notebooks"))
THREADS = 3  # not the shared run's (one per core: 2 in CI)


@pytest.fixture(scope="module")
def pieces(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample shop with each Parquet file's rows shuffled and cut into :data:`PIECES` row
    groups (the same files for both runs). The first row stays first: the A/B report's default
    experiment is, by its rule, the one of the source's first row (the shuffle kept it by chance
    before the sample changed)."""
    out = tmp_path_factory.mktemp("sample_in_pieces")
    rng = np.random.default_rng(5)
    for path in sorted(sample_dir.iterdir()):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            table = table.take(np.concatenate([[0], 1 + rng.permutation(table.num_rows - 1)]))
            size = max(16, -(-table.num_rows // PIECES))
            pq.write_table(table, out / path.name, row_group_size=size)
        elif path.is_file():
            shutil.copy(path, out / path.name)
    return out


@pytest.fixture(scope="module")
def runs(
    pieces: Path, sample_run: RunResult, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, bytes]]:
    """The shared run's metrics and this module's run's, report by report."""
    out = tmp_path_factory.mktemp("determinism")
    config = sample_project(out, engine={"threads": THREADS})
    result = run_reports(
        config=config, data=str(pieces), out=out / "reports", lang="en", no_cache=True
    )
    failed = {n: r.get("error") for n, r in result.manifest["reports"].items() if r.get("error")}
    assert result.ok, failed
    assert not (out / ".opsbook-cache").exists()  # nothing read or written
    return [
        {
            name: (run.folder / f"{name}.metrics.json").read_bytes()
            for name in run.manifest["reports"]
        }
        for run in (sample_run, result)
    ]


def test_the_shared_run_read_the_cache(sample_run: RunResult):
    manifests = list((sample_run.folder.parents[1] / ".opsbook-cache").glob("*/manifest.json"))
    assert len(manifests) == 1
    assert set(json.loads(manifests[0].read_text())["tables"]) == {"events", "orders"}


def without_wall_clock(report: str, text: bytes) -> Any:
    """The metrics with the wall-clock values of ``report`` set to None."""
    metrics = json.loads(text)
    assert report not in WALL_CLOCK_METRICS or wall_clock_values(report, metrics), (
        f"{report}: its wall-clock metrics are gone"
    )
    return blank(report, metrics)


def test_every_report_is_in_both_runs(runs):
    assert sorted(runs[0]) == sorted(runs[1]) == sorted(REPORTS)


@pytest.mark.parametrize("report", REPORTS)
def test_two_runs_write_the_same_metrics(runs, report):
    first, second = (run[report] for run in runs)
    if report not in WALL_CLOCK_METRICS:
        assert first == second, f"{report}: {differences(report, first, second)}"
        return
    # the same bytes once the wall clock's values are blanked (floats round-trip through JSON)
    a, b = without_wall_clock(report, first), without_wall_clock(report, second)
    assert json.dumps(a) == json.dumps(b), f"{report}: {differences(report, first, second)}"


def differences(report: str, first: bytes, second: bytes) -> list[str]:
    """Where two metrics files differ (for the failure message)."""
    out: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict) and list(a) == list(b):
            for key in a:
                walk(a[key], b[key], f"{path}.{key}" if path else key)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{path}[{i}]")
        elif a != b:
            out.append(f"{path}: {a!r} != {b!r}")

    walk(without_wall_clock(report, first), without_wall_clock(report, second), "")
    return out[:10]


def test_cards_say_what_they_describe_and_one_label_is_one_number(runs):
    """Every card of the run's index names what it describes (cohorts, period, experiment,
    campaign, window, tables), and the same label on two cards of one run is the same number."""
    from opsbook.i18n import t

    values: dict[str, set[str]] = {}
    for text in runs[0].values():
        metrics = json.loads(text)
        scope = metrics["scope"]
        assert t(scope["key"], "en", **scope["fields"]) and t(scope["key"], "zh", **scope["fields"])
        for entry in metrics["headline"]:
            values.setdefault(entry["label"], set()).add(json.dumps(entry["value"]))
    assert {label: v for label, v in values.items() if len(v) > 1} == {}
