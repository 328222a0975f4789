"""Identical inputs give identical numbers: every report, run on the same data in another row
order, on another number of DuckDB threads and in the other language than the session's English
run (``sample_run``), writes the same ``<report>.metrics.json`` but for the values that read the
wall clock (``opsbook.report.WALL_CLOCK_METRICS``) and the headline's labels and words, which are
in the run's language.
DuckDB adds a float column's values in the order its threads finish; float addition is not
associative, so before the engine's float sums were exact (``opsbook.engine.exact_sum``) the
last digits of GMV, ARPU, ROI, intervals and p-values differed between two such runs. The second
run is the session's Chinese run (``sample_run_zh``, tests/conftest.py): it reads the sample
rewritten with its rows in a random order (a week's orders are spread over the whole file) and in
small Parquet row groups on :data:`tests.conftest.THREADS` threads; the English run reads the
sample as generated, with DuckDB's default threads (one per core). A sum that depends on the order
its rows are added in is all but certain to come out different (the code before exact sums failed
5 times in 5).
The same comparison proves the activity rollup changes no number: the English run reads it from
the cache folder (the runner builds it, every kernel reads it), the Chinese one runs with
``no_cache`` (each report computes it from the rows; nothing is read from or written to a cache
folder). And it proves the language changes no number."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opsbook.report import WALL_CLOCK_METRICS, wall_clock_values
from opsbook.report import without_wall_clock as blank
from opsbook.run import RunResult, discover
from tests.conftest import ROOT

REPORTS = list(discover(ROOT / "notebooks"))


@pytest.fixture(scope="module")
def runs(sample_run: RunResult, sample_run_zh: RunResult) -> list[dict[str, bytes]]:
    """The English run's metrics and the Chinese run's, report by report."""
    failed = {
        n: r.get("error") for n, r in sample_run_zh.manifest["reports"].items() if r.get("error")
    }
    assert sample_run_zh.ok, failed
    project = sample_run_zh.folder.parents[1]
    assert not (project / ".opsbook-cache").exists()  # nothing read or written
    return [
        {
            name: (run.folder / f"{name}.metrics.json").read_bytes()
            for name in run.manifest["reports"]
        }
        for run in (sample_run, sample_run_zh)
    ]


def test_the_shared_run_read_the_cache(sample_run: RunResult):
    manifests = list((sample_run.folder.parents[1] / ".opsbook-cache").glob("*/manifest.json"))
    assert len(manifests) == 1
    assert set(json.loads(manifests[0].read_text())["tables"]) == {"events", "orders"}


def without_wall_clock(report: str, text: bytes) -> Any:
    """The metrics with the wall-clock values of ``report`` and the headline's labels and
    words (the run's language) set to None."""
    metrics = json.loads(text)
    assert report not in WALL_CLOCK_METRICS or wall_clock_values(report, metrics), (
        f"{report}: its wall-clock metrics are gone"
    )
    assert all(entry["label"] for entry in metrics["headline"]), f"{report}: a card without label"
    metrics["headline"] = [
        entry | {"label": None} | ({"value": None} if isinstance(entry["value"], str) else {})
        for entry in metrics["headline"]
    ]  # a card's words (a decision) are in the run's language; its numbers are not
    return blank(report, metrics)


def test_every_report_is_in_both_runs(runs):
    assert sorted(runs[0]) == sorted(runs[1]) == sorted(REPORTS)


@pytest.mark.parametrize("report", REPORTS)
def test_two_runs_write_the_same_metrics(runs, report):
    first, second = (run[report] for run in runs)
    # the same document once the wall clock's values and the labels are blanked (floats
    # round-trip through JSON exactly)
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
