"""The runner: parallel execution, failure isolation, refused names, atomic run folders, kernel
channels that survive a lost wake-up."""

import asyncio
import json
import re
import time
from io import StringIO
from pathlib import Path
from queue import Empty

import duckdb
import nbformat
import pandas as pd
import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session
from nbformat.v4 import new_code_cell, new_notebook
from rich.console import Console

from opsbook import progress, run
from opsbook.cli import main
from opsbook.run import (
    QuietKernelManager,
    RunError,
    SlicedChannel,
    SlicedKernelClient,
    parse_assignments,
    run_reports,
)

RECORD = """
import time
from IPython.display import display
started = time.time()
time.sleep(2)
display({"application/vnd.opsbook.metrics+json": {"x": x, "started": started, "ended": time.time(),
         "headline": [{"label": "X", "value": x, "format": "int"}]}, "text/plain": ""}, raw=True)
print("<b>data</b> & more")
"""


def notebook(path: Path, body: str, params: str = "x = 1") -> None:
    nb = new_notebook()
    cell = new_code_cell(f'config = None\ndata = None\nlang = "zh"\n{params}')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture
def workbook(tmp_path):
    (tmp_path / "nbs").mkdir()
    (tmp_path / "data").mkdir()
    pd.DataFrame(
        {"user_id": [1], "signup_ts": pd.to_datetime(["2026-01-01"]).tz_localize("UTC")}
    ).to_parquet(tmp_path / "data" / "users.parquet")
    notebook(tmp_path / "nbs" / "01_alpha.ipynb", RECORD, "x = 1\ny = None")
    notebook(tmp_path / "nbs" / "02_beta.ipynb", RECORD, "x = 2\ny = 3")
    notebook(tmp_path / "nbs" / "03_boom.ipynb", "raise ValueError('boom')")
    (tmp_path / "opsbook.yml").write_text(
        "data: {source: data}\nrun: {notebooks: nbs, out: reports}\nlang: en\n"
    )
    return tmp_path


def test_parallel_runs_isolate_failures(workbook):
    result = run_reports(config=workbook / "opsbook.yml", workers=3)
    manifest = result.manifest
    assert manifest["status"] == "failed" and not result.ok
    reports = manifest["reports"]
    assert [reports[n]["status"] for n in ("alpha", "beta", "boom")] == ["ok", "ok", "failed"]
    # changed on purpose: the card says what failed in words, not the Python class (issue 18)
    assert reports["boom"]["error"] == "boom"
    # the failing notebook is still exported: partial notebook and page, linked from its card
    assert (result.folder / "boom.ipynb").exists() and (result.folder / "boom.html").exists()
    alpha = json.loads((result.folder / "alpha.metrics.json").read_text())
    beta = json.loads((result.folder / "beta.metrics.json").read_text())
    assert (alpha["x"], beta["x"]) == (1, 2)
    # both slept 2 s: in parallel their execution windows overlap
    assert alpha["started"] < beta["ended"] and beta["started"] < alpha["ended"]
    index = (result.folder / "index.html").read_text()
    assert (
        'href="boom.ipynb"' in index
        and '<p class="error">boom</p>' in index
        and 'href="alpha.html"' in index
    )
    assert manifest["data"]["tables"]["users"]["rows"] == 1
    assert {"opsbook", "python", "git"} <= set(manifest["versions"])
    assert manifest["started_utc"] <= manifest["finished_utc"]
    page = (result.folder / "alpha.html").read_text()
    assert "&lt;b&gt;data&lt;/b&gt; &amp; more" in page and "<b>data</b>" not in page
    assert "time.sleep" not in page  # code cells are not shown
    # a failed report's page reads as a message: what failed and where the notebook is, no
    # traceback, nothing after the failed cell
    failed = (result.folder / "boom.html").read_text()
    assert "This report could not be completed: boom." in failed and "boom.ipynb" in failed
    assert "Traceback" not in failed and "ValueError" not in failed
    assert "raise ValueError" not in failed and "An Exception was encountered" not in failed


def test_unknown_names_are_refused_before_anything_runs(workbook):
    with pytest.raises(RunError, match="unknown report.*nope.*valid: alpha, beta, boom"):
        run_reports(["nope"], config=workbook / "opsbook.yml")
    with pytest.raises(RunError, match="unknown parameter.*zeta.*valid: x, y"):
        run_reports(["alpha", "beta"], config=workbook / "opsbook.yml", parameters={"zeta": 1})
    with pytest.raises(RunError, match="report alpha: unknown parameter.*zz"):
        (workbook / "opsbook.yml").write_text(
            "data: {source: data}\nrun: {notebooks: nbs, out: reports}\nlang: en\n"
            "reports: {alpha: {zz: 1}}\n"
        )
        run_reports(["alpha"], config=workbook / "opsbook.yml")
    assert not (workbook / "reports").exists() or not any((workbook / "reports").iterdir())


def test_runs_are_atomic_and_never_overwrite(workbook):
    config = workbook / "opsbook.yml"
    first = run_reports(["alpha"], config=config)
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    second = run_reports(["alpha"], config=config, parameters={"x": 7, "y": "2026-10-18"})
    assert first.folder != second.folder
    assert {p.name: p.read_bytes() for p in first.folder.iterdir()} == before
    latest = workbook / "reports" / "latest"
    assert latest.resolve() == second.folder.resolve()
    assert not list((workbook / "reports").glob(".*"))  # no partial folder left behind
    assert second.manifest["reports"]["alpha"]["parameters"] == {"x": 7, "y": "2026-10-18"}
    assert json.loads((second.folder / "alpha.metrics.json").read_text())["x"] == 7


class Recorder:
    """A progress display that notes what the runner tells it."""

    def __init__(self):
        self.told = []

    def begin(self, names, out_dir):
        self.told.append(("begin", tuple(names), out_dir.name))

    def started(self, name):
        self.told.append(("started", name))

    def finished(self, outcome):
        self.told.append(("finished", outcome.name, outcome.status))

    def end(self):
        self.told.append(("end",))


def test_progress_is_told_when_each_report_starts_and_ends(workbook):
    recorder = Recorder()
    run_reports(["alpha", "boom"], config=workbook / "opsbook.yml", workers=1, progress=recorder)
    assert recorder.told == [
        ("begin", ("alpha", "boom"), "reports"),
        ("started", "alpha"),
        ("finished", "alpha", "ok"),
        ("started", "boom"),
        ("finished", "boom", "failed"),
        ("end",),
    ]


def test_the_longest_reports_by_the_last_run_start_first(workbook):
    earlier = workbook / "reports" / "20260101T000000Z-aaaa"
    earlier.mkdir(parents=True)
    reports = {"alpha": 5.0, "beta": 50.0}  # boom never ran: it may be long, it starts first
    manifest = {n: {"status": "ok", "duration_seconds": d} for n, d in reports.items()}
    (earlier / "manifest.json").write_text(json.dumps({"reports": manifest}))
    recorder = Recorder()
    result = run_reports(
        ["alpha", "beta", "boom"], config=workbook / "opsbook.yml", workers=1, progress=recorder
    )
    started = [told[1] for told in recorder.told if told[0] == "started"]
    assert started == ["boom", "beta", "alpha"]
    assert list(result.manifest["reports"]) == ["alpha", "beta", "boom"]  # listed as asked


THREADS = """
import os
from IPython.display import display
pools = {n: os.environ.get(n) for n in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
display({"application/vnd.opsbook.metrics+json": pools, "text/plain": ""}, raw=True)
"""


def test_kernels_running_together_share_the_cores_for_their_native_threads(workbook, monkeypatch):
    # two kernels on four cores: OpenMP and BLAS get two threads each, not four (a pool that
    # outnumbers the free cores waits on itself: the user-insight report took twice as long);
    # a pool the user sized is left as set, and the runner's environment is as before
    notebook(workbook / "nbs" / "04_pools.ipynb", THREADS)
    monkeypatch.setattr(run.os, "cpu_count", lambda: 4)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    result = run_reports(["alpha", "pools"], config=workbook / "opsbook.yml", workers=2)
    pools = json.loads((result.folder / "pools.metrics.json").read_text())
    assert pools == {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "3"}
    assert "OMP_NUM_THREADS" not in run.os.environ and run.os.environ["MKL_NUM_THREADS"] == "3"
    # alone, a kernel has every core
    alone = run_reports(["pools"], config=workbook / "opsbook.yml", workers=2)
    assert json.loads((alone.folder / "pools.metrics.json").read_text())["OMP_NUM_THREADS"] == "4"


def test_the_runner_gives_its_engine_memory_back_before_the_kernels_start(workbook, monkeypatch):
    # the runner's DuckDB kept what it read for the checks and the rollup (1.6 GB at 10M users)
    # while the kernels ran; it closes its connection before the first kernel starts
    opened, told = [], []

    def open_and_keep(cfg):
        opened.append(run_open_source(cfg))
        return opened[-1]

    def execute(*args, **kw):
        with pytest.raises(duckdb.ConnectionException, match="closed"):
            opened[0].con.raw_sql("SELECT 1")
        told.append(args[0].name)
        return execute_report(*args, **kw)

    run_open_source, execute_report = run.open_source, run.execute_report
    monkeypatch.setattr(run, "open_source", open_and_keep)
    monkeypatch.setattr(run, "execute_report", execute)
    assert run_reports(["alpha"], config=workbook / "opsbook.yml").ok
    assert told == ["alpha"] and len(opened) == 1


def test_cli_log_lines_and_terminal_table(workbook, capsys, monkeypatch):
    config = str(workbook / "opsbook.yml")
    # not a terminal (captured): one line per report after the run, as before the live display
    assert main(["run", "alpha", "boom", "--config", config]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"alpha: ok \(\d+\.\d s\)", lines[0])
    assert re.fullmatch(r"boom: failed \(\d+\.\d s\) - boom", lines[1])
    assert lines[2].endswith("index.html") and len(lines) == 3
    # a terminal: the live table, with the time alpha took in the run above as its estimate
    before = json.loads((workbook / "reports" / "latest" / "manifest.json").read_text())
    took = progress.seconds_text(before["reports"]["alpha"]["duration_seconds"])
    screen = Console(file=StringIO(), force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(
        progress, "terminal_progress", lambda lang: progress.TerminalProgress(screen, lang)
    )
    assert main(["run", "alpha", "boom", "--config", config]) == 1
    assert capsys.readouterr().out.strip().endswith("index.html")  # no log lines
    shown = screen.file.getvalue()
    assert f"about {took}" in shown and "done" in shown and "failed - boom" in shown
    assert "2 of 2 reports finished (1 failed)" in shown


def test_cli_exit_codes(workbook, capsys):
    config = str(workbook / "opsbook.yml")
    assert main(["run", "alpha", "--config", config, "-p", "x=3"]) == 0
    assert capsys.readouterr().out.strip().endswith("index.html")
    assert main(["run", "boom", "--config", config]) == 1
    assert main(["run", "nope", "--config", config]) == 1
    assert "valid: alpha, beta, boom" in capsys.readouterr().err


def test_parameter_values_are_read_by_the_notebooks_types(workbook):
    given = parse_assignments(["x=7", "y=2026-10-18"])
    assert given == {"x": "7", "y": "2026-10-18"}  # text until the run reads it by its type
    result = run_reports(["alpha"], config=workbook / "opsbook.yml", parameters=given)
    # x's default is 1: a whole number; y's is None: read as YAML, a date kept as ISO text
    assert result.manifest["reports"]["alpha"]["parameters"] == {"x": 7, "y": "2026-10-18"}
    with pytest.raises(RunError, match="parameter x = 'seven': expected a whole number"):
        run_reports(["alpha"], config=workbook / "opsbook.yml", parameters={"x": "seven"})
    with pytest.raises(RunError, match="NAME=VALUE"):
        parse_assignments(["novalue"])


def test_run_history_lists_every_run_and_survives_broken_folders(workbook):
    config = workbook / "opsbook.yml"
    first = run_reports(["alpha", "boom"], config=config, parameters={"x": 4})
    (workbook / "reports" / "20000101T000000Z-dead").mkdir()  # a folder without a manifest
    for name, text in (
        ("20000102T000000Z-half", '{"reports": {}}'),
        ("20000103T000000Z-list", "[]"),
    ):
        (workbook / "reports" / name).mkdir()  # manifests another hand wrote, half or wrong
        (workbook / "reports" / name / "manifest.json").write_text(text)
    (workbook / "reports" / ".20990101T000000Z-beef.partial").mkdir()  # a run being written
    second = run_reports(["alpha"], config=config, parameters={"x": 9})
    page = (workbook / "reports" / "index.html").read_text()
    runs = [second.folder.name, first.folder.name, "20000103T000000Z-list", "20000101T000000Z-dead"]
    positions = [page.index(r) for r in runs]
    assert positions == sorted(positions)  # newest first
    assert "beef" not in page
    assert page.count('class="chip failed"') >= 2  # the failed run and its failed report
    assert "Incomplete" in page
    from opsbook.render import headline_trends, read_runs

    # changed on purpose (issue 18): a line joins only runs of one source with the same
    # parameters -- the runs with x=4 and x=9 are two lines, a third run with x=9 joins its line
    run_reports(["alpha"], config=config, parameters={"x": 9})
    page = (workbook / "reports" / "index.html").read_text()
    trends = [s for s in headline_trends(read_runs(workbook / "reports")) if s["report"] == "alpha"]
    lines = {(s["parameters"], s["source"]): [v for _, v in s["points"]] for s in trends}
    source = str(workbook / "data")
    assert lines == {("x=4", source): [4.0], ("x=9", source): [9.0, 9.0]}
    assert "x=9" in page and source in page  # each run names its source and parameters
    assert "<polyline" in page and "<script" not in page


def test_a_parallel_run_leaves_the_working_directory_alone(workbook, monkeypatch):
    monkeypatch.chdir(workbook)
    run_reports(["alpha", "beta"], config=workbook / "opsbook.yml", workers=2)
    assert Path.cwd() == workbook


async def _wait_after_a_lost_wakeup(channel_class, timeout: float) -> tuple[dict, float]:
    """A message arrives while a channel waits, and something else drains the socket's
    edge-triggered descriptor first (reading zmq.EVENTS does): the wait's wake-up is lost."""
    context = zmq.asyncio.Context()
    kernel, client = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    client.bind("inproc://lost-wakeup")
    kernel.connect("inproc://lost-wakeup")
    session = Session(key=b"")
    channel = channel_class(client, session)
    started = time.monotonic()
    waiting = asyncio.ensure_future(channel.get_msg(timeout=timeout))
    await asyncio.sleep(0.05)
    session.send(zmq.Socket.shadow(kernel.underlying), "execute_reply", {"status": "ok"})
    time.sleep(0.1)  # blocks the loop: the reply is in the socket before the loop looks
    assert zmq.Socket.shadow(client.underlying).getsockopt(zmq.EVENTS) & zmq.POLLIN
    message = await waiting
    elapsed = time.monotonic() - started
    kernel.close(linger=0)
    client.close(linger=0)
    context.term()
    return message, elapsed


def test_a_lost_wakeup_costs_a_slice_not_the_cell_timeout(monkeypatch):
    timeout = 3.0
    message, stock = asyncio.run(_wait_after_a_lost_wakeup(AsyncZMQSocketChannel, timeout))
    if stock < timeout - 0.5:
        pytest.skip("this pyzmq no longer loses the wake-up: nothing to recover")
    assert message["msg_type"] == "execute_reply"  # it was there all along

    monkeypatch.setattr(run, "CHANNEL_POLL_SECONDS", 0.2)
    message, sliced = asyncio.run(_wait_after_a_lost_wakeup(SlicedChannel, timeout))
    assert message["msg_type"] == "execute_reply"
    assert sliced < 1.0, f"the sliced channel waited {sliced:.2f} s"

    client = QuietKernelManager().client()
    assert isinstance(client, SlicedKernelClient)
    assert client.shell_channel_class is SlicedChannel
    assert client.iopub_channel_class is SlicedChannel


def test_a_sliced_wait_still_times_out(monkeypatch):
    monkeypatch.setattr(run, "CHANNEL_POLL_SECONDS", 0.2)

    async def wait() -> float:
        context = zmq.asyncio.Context()
        socket = context.socket(zmq.PAIR)
        socket.bind("inproc://silent")
        started = time.monotonic()
        with pytest.raises(Empty):
            await SlicedChannel(socket, Session(key=b"")).get_msg(timeout=0.7)
        socket.close(linger=0)
        context.term()
        return time.monotonic() - started

    assert 0.65 < asyncio.run(wait()) < 1.2


def test_an_experiment_gets_its_own_settings_from_the_config(tmp_path):
    """``reports.ab_test.experiments.<name>``: the settings of the experiment the run is on,
    between the report's defaults and the command line's."""
    from opsbook.config import load_config
    from opsbook.run import discover, resolve_parameters
    from tests.conftest import ROOT

    ab = discover(ROOT / "notebooks")["ab_test"]
    (tmp_path / "opsbook.yml").write_text(
        "reports:\n  ab_test:\n    alpha: 0.05\n    power: 0.8\n"
        "    experiments:\n      price_display: {alpha: 0.01, metrics: [revenue_per_user]}\n"
    )
    config = load_config(str(tmp_path / "opsbook.yml"))
    chosen = resolve_parameters(ab, config, {"experiment": "price_display"})
    assert (chosen["alpha"], chosen["metrics"], chosen["power"]) == (
        0.01,
        ["revenue_per_user"],
        0.8,
    )
    other = resolve_parameters(ab, config, {"experiment": "checkout_button"})
    assert other["alpha"] == 0.05 and "metrics" not in other
    given = resolve_parameters(ab, config, {"experiment": "price_display", "alpha": "0.1"})
    assert given["alpha"] == 0.1  # the command line wins
    (tmp_path / "opsbook.yml").write_text(
        "lang: en\nreports:\n  ab_test:\n    experiments:\n      price_display: 0.01\n"
    )
    with pytest.raises(RunError, match="experiments in the config must map each name"):
        resolve_parameters(
            ab, load_config(str(tmp_path / "opsbook.yml")), {"experiment": "price_display"}
        )
