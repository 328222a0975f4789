"""The run command's own inputs: --out, -p, report names, and what killed runs left behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from opsbook.config import load_config
from opsbook.run import output_folder, remove_leftovers

from .conftest import Shop


@pytest.fixture
def runnable(shop: Shop, repo_root: Path) -> Shop:
    shop.write_config(
        f"data: {{source: data}}\nrun: {{notebooks: {repo_root / 'notebooks'}}}\nlang: en\n"
    )
    (shop.root / "a-file").write_text("not a folder")
    return shop


RUNS = {
    "out is a file": (["data_quality", "--out", "a-file"], "--out", 2),
    "out under a file": (
        ["data_quality", "--out", "a-file/reports"],
        "cannot make the output folder",
        2,
    ),
    "not an assignment": (["data_quality", "-p", "novalue"], "is not NAME=VALUE", 1),
    "unknown parameter": (
        ["data_quality", "-p", "acuracy_threshold=0.9"],
        "did you mean accuracy_threshold?",
        1,
    ),
    "wrong parameter type": (
        ["data_quality", "-p", "accuracy_threshold=high"],
        "expected a number",
        1,
    ),
    "unknown report": (["dataquality"], "did you mean data_quality?", 1),
    "workers not a number": (["data_quality", "--workers", "many"], "invalid int value", 2),
    "unknown option": (["data_quality", "--outt", "x"], "unrecognized arguments", 2),
}


@pytest.mark.parametrize("case", RUNS, ids=list(RUNS))
def test_a_bad_run_is_refused_before_anything_runs(runnable: Shop, case: str):
    args, fragment, code = RUNS[case]
    runnable.refused(["run", *args], fragment, code)
    assert not (runnable.root / "reports").exists()


def test_out_and_data_resolve_against_the_working_directory(shop: Shop, monkeypatch):
    elsewhere = shop.root / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(shop.config, data="../data")
    assert cfg.source == str(shop.root / "data")
    assert output_folder(cfg, "out") == elsewhere / "out"
    assert output_folder(cfg, None) == shop.root / "reports"  # run.out: from the config's folder


def test_leftovers_of_ended_processes_are_removed(tmp_path: Path):
    dead = 2**22 + 12345  # above the kernel's largest process id: no such process
    stale = tmp_path / f".20200101T000000Z-dead.{dead}.partial"
    live = tmp_path / f".20200101T000000Z-live.{os.getpid()}.partial"
    old = tmp_path / ".20200101T000000Z-old.partial"
    for folder in (stale, live, old):
        folder.mkdir()
    os.utime(old, (0, 0))
    checks = Path(tempfile.mkdtemp(prefix=f"opsbook-checks-{dead}-"))
    mine = Path(tempfile.mkdtemp(prefix=f"opsbook-checks-{os.getpid()}-"))
    try:
        remove_leftovers(tmp_path)
        assert not stale.exists() and not old.exists() and not checks.exists()
        assert live.exists() and mine.exists()
    finally:
        mine.rmdir()


def test_a_run_that_fails_after_it_started_leaves_no_partial_folder(runnable: Shop, monkeypatch):
    def broken(source):
        raise RuntimeError("the engine went away")

    monkeypatch.setattr("opsbook.run.check_source", broken)
    outcome = runnable.refused(["run", "data_quality"], "the engine went away")
    assert "RuntimeError" in outcome.err
    assert not list((runnable.root / "reports").glob(".*"))
