"""Run report notebooks with papermill into a new run folder.

``reports/<run-id>/`` gets, per report, ``<name>.ipynb`` (the executed notebook: the immutable
record), ``<name>.html`` (the reader's page) and ``<name>.metrics.json`` (headline numbers), plus
``manifest.json`` and ``index.html`` for the run. The folder is built under a hidden name and
renamed when complete, so a run folder never appears half-written, and ``reports/latest`` then
points at it. Reports run in parallel, bounded by the cores; a failing notebook does not stop the
others. Earlier runs are never touched.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import papermill
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from opsbook import __version__
from opsbook.config import (
    ENGINE_ENV,
    ENV_PREFIX,
    SOURCE_ENV,
    Config,
    is_reference,
    load_config,
    resolve_reference,
)
from opsbook.data import Source, open_source
from opsbook.engine import native_threads
from opsbook.errors import InputError, UsageError, first_line
from opsbook.formats import use_currency
from opsbook.i18n import catalogue, t
from opsbook.parameters import ParameterError, check_in_data, check_parameters, suggestion
from opsbook.progress import RunProgress, previous_durations, start_order
from opsbook.render import history_html, index_html, notebook_html
from opsbook.report import BATCH_ENV, CHECKS_ENV, METRICS_MIME, RUN_DIR_ENV, dumps
from opsbook.rollup import NO_CACHE_ENV
from opsbook.rollup import prepare as prepare_rollup
from opsbook.validation import check_source

NOTEBOOK_NAME = re.compile(r"^(\d+)_(\w+)\.ipynb$")
# a run folder being written, and the temporary folders of a run's process
PARTIAL_NAME = re.compile(r"^\.(?P<run>.+)\.(?P<pid>\d+)\.partial$")
TEMPORARY_NAME = re.compile(r"^opsbook-(checks|duckdb|kernel)-(?P<pid>\d+)-")
CHECKS_PREFIX = "opsbook-checks-"
PROCESS_STARTED = time.time()  # this module loads as a run's process starts
# parameters every report takes, injected by the runner
COMMON_PARAMETERS = ("config", "data", "lang")


# longest wait on a kernel channel before looking at the socket itself (see SlicedChannel)
CHANNEL_POLL_SECONDS = 1.0


class SlicedChannel(AsyncZMQSocketChannel):
    """A kernel channel whose waits look at the socket at least once a second.

    An asyncio wait on a ZeroMQ socket wakes on an edge-triggered descriptor; when anything in
    the process drains that edge first, the wait sleeps until its timeout although the message
    has arrived (a ten-minute stall after a cell that took seconds, seen in test runs). Each
    slice ends with a direct look at the socket, so such a message is read within a slice."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = CHANNEL_POLL_SECONDS if left is None else min(left, CHANNEL_POLL_SECONDS)
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()
            if left is not None and left <= wait:
                raise Empty


class SlicedKernelClient(AsyncKernelClient):
    """An async kernel client whose message channels are :class:`SlicedChannel`."""

    shell_channel_class = Type(SlicedChannel)
    iopub_channel_class = Type(SlicedChannel)
    stdin_channel_class = Type(SlicedChannel)
    control_channel_class = Type(SlicedChannel)


class QuietKernelManager(AsyncKernelManager):
    """A batch kernel talking over IPC sockets in a private folder, not TCP ports: processes
    starting kernels at the same moment (parallel runs, test workers) cannot race for a port and
    end up talking to each other's kernels. Its own log lines stay out of the runner's output;
    a notebook's errors reach the executed notebook and the run's manifest. Its clients are
    :class:`SlicedKernelClient`: a lost wake-up costs a second, not the cell timeout."""

    client_factory = Type(SlicedKernelClient, klass=AsyncKernelClient)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socket_dir = Path(tempfile.mkdtemp(prefix=f"opsbook-kernel-{os.getpid()}-"))
        self.transport = "ipc"
        self.ip = str(self._socket_dir / "kernel")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


class RunError(ValueError):
    """A run refused before anything ran (unknown report or parameter)."""


@dataclass(frozen=True)
class ReportNotebook:
    name: str
    path: Path
    parameters: dict[str, Any]  # name -> default value of the notebook's parameters cell


def _literal(source: str | None) -> Any:
    """A parameters cell's default (papermill gives its source text) as its Python value; an
    expression that is not a literal stays text."""
    try:
        return ast.literal_eval(source) if source is not None else None
    except (ValueError, SyntaxError):
        return source


def discover(notebooks: Path) -> dict[str, ReportNotebook]:
    """The report notebooks ``NN_name.ipynb`` in ``notebooks``, in their numbered order."""
    found = {}
    for path in sorted(notebooks.glob("*.ipynb")):
        match = NOTEBOOK_NAME.match(path.name)
        if not match:
            continue
        inspected = papermill.inspect_notebook(str(path))
        params = {k: _literal(v.get("default")) for k, v in inspected.items()}
        found[match.group(2)] = ReportNotebook(match.group(2), path, params)
    return found


def parse_assignments(items: Sequence[str], lang: str = "en") -> dict[str, str]:
    """``NAME=VALUE`` pairs, the values as text: each is read by its parameter's type when the
    run is checked (:mod:`opsbook.parameters`), so ``criterion=on`` stays the text "on"."""
    parsed = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise RunError(t("run.not_assignment", lang, item=repr(item)))
        parsed[name.strip()] = value.strip()
    return parsed


# settings a report's config section may hold per value of one parameter
SCOPED_SETTINGS = {"ab_test": ("experiment", "experiments")}


def resolve_parameters(
    report: ReportNotebook, config: Config, given: Mapping[str, Any]
) -> dict[str, Any]:
    """Config defaults for the report, then the settings of the one thing it is run on where
    the config has them (``reports.ab_test.experiments.<name>``: an experiment's own α, metrics,
    power ...), then ``given``; each read by its type and checked against what the report
    accepts; unknown names and refused values raise RunError."""
    lang = config.lang
    defaults = config.report_defaults(report.name)
    scope = SCOPED_SETTINGS.get(report.name)
    if scope and scope[1] in defaults:
        parameter, section = scope
        entries = defaults.pop(section) or {}
        chosen = dict(given).get(
            parameter, defaults.get(parameter, report.parameters.get(parameter))
        )
        entry = entries.get(chosen, {}) if isinstance(entries, Mapping) else None
        if not isinstance(entry, Mapping):
            raise RunError(t("run.scoped_not_mapping", lang, report=report.name, section=section))
        defaults |= entry
    merged = defaults | dict(given)
    valid = sorted(set(report.parameters) - set(COMMON_PARAMETERS))
    unknown = sorted(set(merged) - set(valid))
    if unknown:
        raise RunError(
            t(
                "run.report_unknown_parameter",
                lang,
                report=report.name,
                names=", ".join(unknown),
                valid=", ".join(valid) or "(none)",
            )
            + suggestion(unknown[0], valid, lang)
        )
    try:
        return check_parameters(report.name, merged, lang, defaults=report.parameters)
    except ParameterError as exc:
        raise RunError(str(exc)) from None


@dataclass
class ReportOutcome:
    name: str
    title: str
    parameters: dict[str, Any]
    status: str = "ok"
    duration_seconds: float = 0.0
    error: str | None = None
    html: str | None = None
    ipynb: str | None = None
    metrics: str | None = None
    metrics_data: dict[str, Any] | None = field(default=None, repr=False)

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "parameters": self.parameters,
            "status": self.status,
            "duration_seconds": round(self.duration_seconds, 3),
            "error": self.error,
            "html": self.html,
            "ipynb": self.ipynb,
            "metrics": self.metrics,
        }


def report_title(name: str, lang: str) -> str:
    key = f"{name}.title"
    return t(key, lang) if key in catalogue() else name


def _metrics_of(nb: nbformat.NotebookNode) -> dict[str, Any] | None:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if METRICS_MIME in output.get("data", {}):
                return dict(output["data"][METRICS_MIME])
    return None


def _error_of(exc: BaseException) -> str:
    """The failure for the manifest and the index card: the message, in words (a bare Python
    exception class name only when there is no message)."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", str(exc))).strip()
    return evalue or ename


def execute_report(
    report: ReportNotebook,
    parameters: dict[str, Any],
    injected: dict[str, Any],
    folder: Path,
    *,
    lang: str,
    timeout: int,
) -> ReportOutcome:
    """Execute one notebook into ``folder``; a failure is recorded, never raised."""
    outcome = ReportOutcome(report.name, report_title(report.name, lang), parameters)
    ipynb = folder / f"{report.name}.ipynb"
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(report.path),
            str(ipynb),
            parameters=injected | parameters,
            kernel_name="python3",
            kernel_manager_class=QuietKernelManager,
            # the kernel starts in the notebooks folder; papermill's own cwd= would chdir this
            # whole process, which parallel threads undo in the wrong order
            resources={"metadata": {"path": str(report.path.parent)}},
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
            report_mode=False,
        )
    except Exception as exc:  # the notebook's own error: keep going, show it on the card
        outcome.status = "failed"
        outcome.error = _error_of(exc)
    outcome.duration_seconds = time.perf_counter() - started
    if ipynb.exists():
        outcome.ipynb = ipynb.name
        nb = nbformat.read(ipynb, as_version=4)
        outcome.metrics_data = _metrics_of(nb)
        if outcome.metrics_data is not None:
            path = folder / f"{report.name}.metrics.json"
            path.write_text(dumps(outcome.metrics_data), encoding="utf-8")
            outcome.metrics = path.name
        elif outcome.status == "ok":
            outcome.status = "failed"
            outcome.error = "the notebook recorded no metrics (report.record was not called)"
        page = folder / f"{report.name}.html"
        page.write_text(notebook_html(nb, title=outcome.title, lang=lang), encoding="utf-8")
        outcome.html = page.name
    return outcome


def _watched(progress: RunProgress | None, report: ReportNotebook, *args, **kw) -> ReportOutcome:
    """:func:`execute_report`, telling ``progress`` when the report starts and ends."""
    if progress:
        progress.started(report.name)
    outcome = execute_report(report, *args, **kw)
    if progress:
        progress.finished(outcome)
    return outcome


def _git_version(folder: Path) -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() or None


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def _point_latest(out: Path, run_id: str) -> None:
    link = out / "latest"
    temp = out / f".latest-{run_id}"
    temp.symlink_to(run_id, target_is_directory=True)
    os.replace(temp, link)  # atomic: readers see the old or the new run, never none


@dataclass(frozen=True)
class RunResult:
    folder: Path
    manifest: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.manifest["status"] == "ok"


def run_reports(
    names: Sequence[str] = (),
    *,
    config: str | Path | None = None,
    data: str | None = None,
    out: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    lang: str | None = None,
    engine: str | None = None,
    workers: int | None = None,
    progress: RunProgress | None = None,
    no_cache: bool = False,
) -> RunResult:
    """Run ``names`` (default: every report) and return the completed run folder.

    ``parameters`` apply to every selected report that declares them; a name no selected report
    declares is refused before anything runs, with the valid names. ``progress`` is told when
    each report starts and ends (a terminal's live display). ``no_cache``: the reports
    compute the activity rollup from the rows, nothing is read from or written to the cache
    folder (:mod:`opsbook.rollup`)."""
    cfg = load_config(config, data=data, lang=lang, engine=engine)
    settings = cfg.section("run")
    available = discover(cfg.path_of(settings["notebooks"]))
    unknown = [n for n in names if n not in available]
    if unknown or not available:
        valid = ", ".join(available) or f"(no notebooks in {settings['notebooks']})"
        raise RunError(
            t(
                "run.unknown_report",
                cfg.lang,
                names=", ".join(unknown) or "(none found)",
                valid=valid,
            )
            + (suggestion(unknown[0], list(available), cfg.lang) if unknown else "")
        )
    selected = [available[n] for n in (names or available)]
    given = dict(parameters or {})
    declared = {p for r in selected for p in r.parameters} - set(COMMON_PARAMETERS)
    stray = sorted(set(given) - declared)
    if stray:
        raise RunError(
            t(
                "run.unknown_parameter",
                cfg.lang,
                names=", ".join(stray),
                reports=", ".join(r.name for r in selected),
                valid=", ".join(sorted(declared)),
            )
            + suggestion(stray[0], sorted(declared), cfg.lang)
        )
    plans = {
        r.name: resolve_parameters(r, cfg, {k: v for k, v in given.items() if k in r.parameters})
        for r in selected
    }
    out_dir = output_folder(cfg, out)
    # values that must name something in the data (an experiment, campaign, event, column)
    source = open_source(cfg)
    try:
        for r in selected:
            check_in_data(r.name, plans[r.name], r.parameters, source, cfg.lang)
    except ParameterError as exc:
        raise RunError(str(exc)) from None
    # the notebooks get the source by reference where it is a URL (which may hold a secret):
    # the kernels resolve env:OPSBOOK_SOURCE, and the executed notebook records only the name
    location = resolve_reference(cfg.source)
    injected = {
        "config": str(cfg.path) if cfg.path else None,
        "data": f"{ENV_PREFIX}{SOURCE_ENV}" if is_reference(location) else location,
        "lang": cfg.lang,
    }
    remove_leftovers(out_dir)
    run_id = new_run_id()
    partial = out_dir / f".{run_id}.{os.getpid()}.partial"
    partial.mkdir()
    try:
        return _complete_run(
            cfg,
            source,
            selected,
            plans,
            injected,
            out_dir,
            run_id,
            partial,
            location,
            workers,
            progress,
            no_cache,
        )
    except BaseException:  # a failed or interrupted run leaves nothing half-written behind
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _complete_run(
    cfg: Config,
    source: Source,
    selected: list[ReportNotebook],
    plans: dict[str, dict[str, Any]],
    injected: dict[str, Any],
    out_dir: Path,
    run_id: str,
    partial: Path,
    location: str,
    workers: int | None,
    progress: RunProgress | None = None,
    no_cache: bool = False,
) -> RunResult:
    """Execute the planned reports into ``partial`` and rename it to the run folder."""
    settings = cfg.section("run")
    started = datetime.now(UTC)
    # the contract checks and the fingerprint of the source, once for every report of the run
    checks = check_source(source)
    temporary = tempfile.mkdtemp(prefix=f"{CHECKS_PREFIX}{os.getpid()}-")
    checks_file = checks.save(Path(temporary) / "checks.pickle")
    # the activity rollups, built or refreshed in the cache folder for every kernel; without a
    # usable cache (said once) each kernel computes its own from the rows
    say = functools.partial(print, file=sys.stderr)
    shared = not no_cache and prepare_rollup(source, cfg.lang, [r.name for r in selected], say)
    if source.engine == "duckdb":  # the kernels open their own: give the engine's memory back
        source.con.disconnect()
    timeout = int(settings["cell_timeout_seconds"])
    pool = workers or settings.get("workers") or os.cpu_count() or 1
    kernels = max(1, min(pool, len(selected)))  # running at once
    # kernels inherit these: notebooks skip their widgets, write files into the run folder,
    # open the source (by reference) on the engine of this run and share the cores
    exported = {
        BATCH_ENV: "1",
        RUN_DIR_ENV: str(partial),
        ENGINE_ENV: cfg.engine,
        CHECKS_ENV: str(checks_file),
        SOURCE_ENV: location,
        **native_threads(kernels),
    } | ({} if shared else {NO_CACHE_ENV: "1"})
    saved = {name: os.environ.get(name) for name in exported}
    os.environ.update(exported)
    if progress:
        progress.begin([r.name for r in selected], out_dir)
    order = start_order(selected, previous_durations(out_dir, [r.name for r in selected]))
    try:
        with ThreadPoolExecutor(max_workers=kernels) as executor:
            # started in this order (the pool takes them first come, first served)
            submitted = {
                r.name: executor.submit(
                    _watched,
                    progress,
                    r,
                    plans[r.name],
                    injected,
                    partial,
                    lang=cfg.lang,
                    timeout=timeout,
                )
                for r in order
            }
            outcomes = {r.name: submitted[r.name].result() for r in selected}
    finally:
        if progress:
            progress.end()
        shutil.rmtree(checks_file.parent, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    failed = [o.name for o in outcomes.values() if o.status != "ok"]
    manifest = {
        "run_id": run_id,
        "status": "failed" if failed else "ok",
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "lang": cfg.lang,
        "config": str(cfg.path) if cfg.path else None,
        "engine": cfg.engine,
        "data": checks.fingerprint,
        "versions": {
            "opsbook": __version__,
            "python": sys.version.split()[0],
            "git": _git_version(cfg.base_dir),
        },
        "reports": {name: o.manifest_entry() for name, o in outcomes.items()},
    }
    (partial / "manifest.json").write_text(dumps(manifest), encoding="utf-8")
    metrics = {name: o.metrics_data for name, o in outcomes.items() if o.metrics_data}
    use_currency(cfg.raw.get("currency"))
    (partial / "index.html").write_text(index_html(manifest, metrics, cfg.lang), encoding="utf-8")
    folder = out_dir / run_id
    partial.rename(folder)
    _point_latest(out_dir, run_id)
    write_history(out_dir, cfg.lang)
    return RunResult(folder, manifest)


def output_folder(cfg: Config, out: str | Path | None) -> Path:
    """The folder of run folders, made if absent: ``--out`` relative to the working directory
    (as ``--data`` is), the config's ``run.out`` relative to the config's folder."""
    folder = Path(out).expanduser().resolve() if out else cfg.path_of(cfg.section("run")["out"])
    refusal = UsageError if out else InputError
    if folder.exists() and not folder.is_dir():
        raise refusal("core.bad.out_file", out=str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise refusal("core.bad.out_folder", out=str(folder), detail=first_line(exc)) from None
    return folder


def remove_leftovers(out_dir: Path) -> None:
    """Remove what killed or failed runs left: hidden ``.<run-id>.<pid>.partial`` folders in
    ``out_dir`` and this package's temporary folders (the checks handed to kernels, DuckDB's
    spill folders, kernel sockets) whose process has ended. A run in progress in another
    process keeps its own; a partial folder without a process id (written before they had
    one) is removed when it is older than this process."""
    for path in out_dir.glob(".*.partial"):
        match = PARTIAL_NAME.match(path.name)
        stale = (
            not _alive(int(match.group("pid"))) if match else path.stat().st_mtime < PROCESS_STARTED
        )
        if stale:
            shutil.rmtree(path, ignore_errors=True)
    for path in Path(tempfile.gettempdir()).glob("opsbook-*-*"):
        match = TEMPORARY_NAME.match(path.name)
        if match and path.is_dir() and not _alive(int(match.group("pid"))):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def write_history(out_dir: Path, lang: str) -> Path:
    """Rebuild ``<out>/index.html``, the run history, atomically."""
    page = out_dir / "index.html"
    temp = out_dir / f".index-{secrets.token_hex(4)}.html"
    temp.write_text(history_html(out_dir, lang), encoding="utf-8")
    os.replace(temp, page)
    return page
