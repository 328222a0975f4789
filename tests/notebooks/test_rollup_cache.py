"""Every report's numbers are the same whether the activity rollup is read from the cache folder
(the session's shared run, ``sample_run``: the runner builds the cache, every kernel reads it) or
computed by each report from the rows (``opsbook run --no-cache``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsbook.report import without_wall_clock
from opsbook.run import RunResult, discover, run_reports
from tests.conftest import ROOT, sample_project

REPORTS = list(discover(ROOT / "notebooks"))


@pytest.fixture(scope="module")
def uncached(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    out = tmp_path_factory.mktemp("no_cache")
    result = run_reports(
        config=sample_project(out),
        data=str(sample_dir),
        out=out / "reports",
        lang="en",
        engine="duckdb",
        no_cache=True,
    )
    failed = {n: r.get("error") for n, r in result.manifest["reports"].items() if r.get("error")}
    assert result.ok, failed
    assert not (out / ".opsbook-cache").exists()  # nothing read or written
    return result


def test_the_shared_run_read_the_cache(sample_run: RunResult):
    manifests = list((sample_run.folder.parents[1] / ".opsbook-cache").glob("*/manifest.json"))
    assert len(manifests) == 1
    assert set(json.loads(manifests[0].read_text())["tables"]) == {"events", "orders"}


@pytest.mark.parametrize("report", REPORTS)
def test_metrics_with_the_cache_equal_metrics_without(sample_run, uncached, report):
    cached, computed = (
        without_wall_clock(report, json.loads((run.folder / f"{report}.metrics.json").read_text()))
        for run in (sample_run, uncached)
    )
    assert json.dumps(cached) == json.dumps(computed)
