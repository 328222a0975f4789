"""Pieces shared by the benchmark scripts: the data calendar, timing and peak-memory helpers, and
"generate once in a child process" (so the generator's memory never counts as a step's).

Imported by the bench scripts (``run.py`` and its modules, ``rfm.py``, ``retention.py``; run as
scripts: this folder is on ``sys.path``). Standard library only, so a child that imports it for a
pandas or a plain-DuckDB measurement carries nothing of opsbook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # generated Parquet, run folders, spill files (gitignored)
END = date(2026, 10, 31)  # the newest local day of every generated data set
ZONE = "Asia/Shanghai"  # UTC+8 all year: the data layer shifts by a fixed offset


def best_of(
    repeat: int, fn: Callable[..., Any], prepare: Callable[[], Any] | None = None
) -> tuple[float, Any]:
    """The shortest of ``repeat`` timed calls of ``fn`` (seconds) and the last result; with
    ``prepare``, each call is ``fn(prepare())`` and only ``fn`` is timed."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        result = None  # freed first: a call's peak memory never holds the previous call's result
        args = () if prepare is None else (prepare(),)
        t0 = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), result


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM, Linux) since start or :func:`reset_peak`."""
    return _status_mib("VmHWM")


def rss_mib() -> float:
    """This process's resident memory now (VmRSS)."""
    return _status_mib("VmRSS")


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def ensure_generated(folder: Path, wanted: dict[str, Any], command: Sequence[str]) -> None:
    """Run ``command`` (a child process that writes ``folder``) unless ``folder/meta.json``
    already equals ``wanted``; then write ``meta.json``, and ``generated.json``: the child's
    wall seconds and peak RSS (its own, from ``wait4``)."""
    meta = folder / "meta.json"
    if meta.exists() and json.loads(meta.read_text()) == wanted:
        return
    print(f"generating {folder.name} ({wanted}) ...", flush=True)
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, *command])
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    seconds = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps(wanted))
    cost = {"seconds": round(seconds, 1), "peak_mib": round(usage.ru_maxrss / 1024)}
    (folder / "generated.json").write_text(json.dumps(cost))
    print(f"  generated in {seconds:.1f} s, peak RSS {cost['peak_mib']:,} MiB", flush=True)


def generation_cost(folder: Path) -> dict[str, Any] | None:
    """What generating ``folder`` cost (``generated.json``), when this bench generated it."""
    path = folder / "generated.json"
    return json.loads(path.read_text()) if path.exists() else None
