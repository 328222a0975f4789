"""What ``opsbook run`` shows while its reports run.

On a terminal: a live table (rich) of every report waiting, running, done or failed, with its
elapsed time and an estimate, the time the same report took in the newest earlier run of the
same output folder where it succeeded (``manifest.json``'s ``duration_seconds``). Anywhere else
(CI, cron, ``| tee``) nothing is shown while the reports run: the command prints one line per
report when the run ends, as logs and scripts expect (:func:`terminal_progress` returns None).

The same durations order the run (:func:`start_order`: the longest reports first).

The runner calls :meth:`TerminalProgress.begin` once, then ``started`` / ``finished`` from its
worker threads (reports run in parallel), then ``end``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from opsbook.i18n import t

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from opsbook.run import ReportNotebook, ReportOutcome

State = Literal["waiting", "running", "ok", "failed"]
# earlier runs read for estimates: the newest first, enough to find each report once
RUNS_LOOKED_AT = 20
STYLES = {"waiting": "dim", "running": "bold cyan", "ok": "green", "failed": "bold red"}


class RunProgress(Protocol):
    """What the runner tells a display (see :func:`opsbook.run.run_reports`)."""

    def begin(self, names: Sequence[str], out_dir: Path) -> None: ...
    def started(self, name: str) -> None: ...
    def finished(self, outcome: ReportOutcome) -> None: ...
    def end(self) -> None: ...


def previous_durations(out_dir: Path, names: Sequence[str]) -> dict[str, float]:
    """Per report of ``names``, its duration in seconds in the newest earlier run folder of
    ``out_dir`` where it succeeded; reports never run well before are absent. Run folders are
    named by their start time (UTC), so the newest sort last; an unreadable manifest is skipped."""
    wanted = set(names)
    found: dict[str, float] = {}
    runs = sorted(
        (p for p in out_dir.iterdir() if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
        reverse=True,
    )
    for run in runs[:RUNS_LOOKED_AT]:
        try:
            reports = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["reports"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for name, entry in reports.items():
            seconds = entry.get("duration_seconds") if isinstance(entry, dict) else None
            if (
                name in wanted
                and name not in found
                and entry.get("status") == "ok"
                and isinstance(seconds, int | float)
            ):
                found[name] = float(seconds)
        if wanted <= set(found):
            break
    return found


def start_order(
    reports: Sequence[ReportNotebook], durations: Mapping[str, float]
) -> list[ReportNotebook]:
    """The order in which a run starts ``reports``: those without an earlier duration first (in
    their own order: they may be long), then the others by their duration in the last run,
    longest first -- with fewer workers than reports, the longest then do not start last and
    run on alone at the end while the other cores idle."""
    new = [r for r in reports if r.name not in durations]
    timed = sorted((r for r in reports if r.name in durations), key=lambda r: -durations[r.name])
    return new + timed


@dataclass
class ReportState:
    """One report's line: its state, when it started and how long it took."""

    state: State = "waiting"
    started: float | None = None
    seconds: float | None = None
    error: str | None = None


def seconds_text(seconds: float) -> str:
    """``42 s`` under a minute, ``3:07`` (minutes:seconds) above."""
    whole = round(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60}:{whole % 60:02d}"


class TerminalProgress:
    """A live table of the run's reports on ``console`` (texts in ``lang``)."""

    def __init__(self, console: Console, lang: str) -> None:
        self.console = console
        self.lang = lang
        self.reports: dict[str, ReportState] = {}
        self.estimates: dict[str, float] = {}
        self.began = time.monotonic()
        self._lock = threading.Lock()
        self._live = None

    def begin(self, names: Sequence[str], out_dir: Path) -> None:
        from rich.live import Live

        self.reports = {name: ReportState() for name in names}
        self.estimates = previous_durations(out_dir, names) if out_dir.is_dir() else {}
        self.began = time.monotonic()
        self._live = Live(console=self.console, get_renderable=self.table, refresh_per_second=4)
        self._live.start()

    def started(self, name: str) -> None:
        with self._lock:
            self.reports[name] = ReportState("running", started=time.monotonic())

    def finished(self, outcome: ReportOutcome) -> None:
        with self._lock:
            report = self.reports[outcome.name]
            report.state = "ok" if outcome.status == "ok" else "failed"
            report.seconds = outcome.duration_seconds
            report.error = outcome.error

    def end(self) -> None:
        if self._live is not None:
            self._live.stop()  # draws the final table once more; it stays on the screen
            self._live = None

    def table(self) -> RenderableType:
        """The table as it stands now: one row per report, and a line with the counts below."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        lang, now = self.lang, time.monotonic()
        table = Table(title=t("run.progress.title", lang), title_justify="left")
        table.add_column(t("run.progress.report", lang))
        table.add_column(t("run.progress.status", lang))
        table.add_column(t("run.progress.elapsed", lang), justify="right")
        table.add_column(t("run.progress.estimate", lang), justify="right")
        with self._lock:
            rows = [(name, ReportState(**vars(r))) for name, r in self.reports.items()]
        for name, report in rows:
            if report.seconds is not None:
                elapsed = seconds_text(report.seconds)
            elif report.started is not None:
                elapsed = seconds_text(now - report.started)
            else:
                elapsed = ""
            estimate = self.estimates.get(name)
            status = Text(t(f"run.progress.{report.state}", lang), style=STYLES[report.state])
            if report.error:
                status.append(f" - {report.error}")
            table.add_row(
                name,
                status,
                elapsed,
                t("run.progress.about", lang, time=seconds_text(estimate))
                if estimate is not None
                else t("run.progress.no_estimate", lang),
            )
        return Group(table, Text(self._summary(now)))

    def _summary(self, now: float) -> str:
        with self._lock:
            states = [r.state for r in self.reports.values()]
        return t(
            "run.progress.summary",
            self.lang,
            done=sum(s in ("ok", "failed") for s in states),
            total=len(states),
            failed=states.count("failed"),
            elapsed=seconds_text(now - self.began),
        )


def terminal_progress(lang: str) -> TerminalProgress | None:
    """The live display when standard output is an interactive terminal, else None (logs keep
    the plain lines printed after the run)."""
    if not sys.stdout.isatty() or os.environ.get("TERM") == "dumb":
        return None
    from rich.console import Console

    return TerminalProgress(Console(), lang)
