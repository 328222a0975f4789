"""The report suite: ``opsbook run`` of every report vs its floor (one full read of every table
it reads, plus the same number of empty notebooks executed the same way: ``run.py --floor``),
and a re-run after one more day of data appended as new part files (:mod:`rerun`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import DATA, HERE
from params import RUN


def opsbook_run(folder: Path, memory_limit: str | None) -> dict[str, Any]:
    """One ``opsbook run`` of every report on ``folder``: wall seconds, status, the runner's own
    duration per report; ``memory_limit``: every report's engine capped (the project's config
    plus ``engine.memory_limit``)."""
    import yaml

    out = DATA / "reports"
    command = [str(Path(sys.executable).parent / "opsbook"), "run", "--data", str(folder),
               "--out", str(out), "--lang", "en"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        if memory_limit:
            config = yaml.safe_load((HERE.parent / "opsbook.yml").read_text(encoding="utf-8"))
            config.setdefault("engine", {})["memory_limit"] = memory_limit
            # paths in a config are relative to its file: this one lives elsewhere
            config.setdefault("run", {})["notebooks"] = str(HERE.parent / "notebooks")
            capped = Path(tmp) / "opsbook.yml"
            capped.write_text(yaml.safe_dump(config), encoding="utf-8")
            command += ["--config", str(capped)]
        t0 = time.perf_counter()
        with open(Path(tmp) / "stderr", "w+") as err:
            child = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=err, cwd=HERE.parent
            )
            # the largest peak RSS of the run's process and the kernels it waited for
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - t0
            err.seek(0)
            stderr = err.read()
    code = os.waitstatus_to_exitcode(status)
    statuses = {}
    latest = out / "latest" / "manifest.json"
    if latest.exists() and latest.stat().st_mtime >= time.time() - wall:  # this run's
        manifest = json.loads(latest.read_text())
        reports = manifest.get("reports", {})
        items = reports.items() if isinstance(reports, dict) else [(r["name"], r) for r in reports]
        statuses = {name: (r.get("status"), r.get("duration_seconds")) for name, r in items}
    return {
        "wall": wall,
        "ok": code == 0,
        "peak_mib": usage.ru_maxrss / 1024,
        # CPU seconds of the runner and every kernel it waited for: on a shared machine the
        # wall time grows with the others' load, the CPU time far less
        "cpu": usage.ru_utime + usage.ru_stime,
        "statuses": statuses,
        "stderr": stderr.strip().splitlines()[-3:] if code else [],
    }


def suite(
    folder: Path,
    workers: int | None,
    memory_limit: str | None,
    measured: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``opsbook run`` on ``folder`` against its floor: one full read of the tables
    (:func:`scan_floor`) plus the kernels' own cost, the same number of empty notebooks run the
    same way (``run.py --floor``). ``measured``: a run of the same data already timed (the
    re-run's cold run), not repeated."""
    from opsbook.run import discover

    notebooks = discover(HERE.parent / "notebooks")
    result = measured or opsbook_run(folder, memory_limit)
    command = [sys.executable, str(RUN), "--floor", str(len(notebooks))]
    if workers:
        command += ["--workers", str(workers)]
    t0 = time.perf_counter()
    child = subprocess.Popen(command, cwd=HERE.parent)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), command)
    kernels = time.perf_counter() - t0
    scans, scans_cpu = scan_floor(folder, memory_limit)
    return result | {
        "reports": len(notebooks),
        "kernels": kernels,
        "kernels_cpu": usage.ru_utime + usage.ru_stime,
        "scans": scans,
        "scans_cpu": scans_cpu,
    }


def scan_floor(folder: Path, memory_limit: str | None) -> tuple[dict[str, float], float]:
    """Per contract table in ``folder``, the seconds of one full read of all its columns on
    DuckDB (every thread; each column decoded and hashed, so neither the row count nor a
    column's minimum can come from the Parquet footer): what no report can avoid reading once;
    and the CPU seconds of all those reads."""
    import duckdb

    from opsbook.contract import TABLES

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    seconds = {}
    cpu = time.process_time()
    for name in TABLES:
        path = folder / f"{name}.parquet"
        if not path.exists() and (folder / name).is_dir():
            path = folder / name / "**" / "*.parquet"
        elif not path.exists():
            continue
        relation = f"read_parquet('{path}')"
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        sums = ", ".join(f'sum(hash("{c}"))' for c in columns)
        t0 = time.perf_counter()
        con.execute(f"SELECT count(*), {sums} FROM {relation}").fetchall()
        seconds[name] = time.perf_counter() - t0
    return seconds, time.process_time() - cpu


def floor(n: int, workers: int | None) -> None:
    """Execute ``n`` empty notebooks (one ``parameters`` cell) as the runner executes reports."""
    from concurrent.futures import ThreadPoolExecutor

    import nbformat
    import papermill

    from opsbook.run import QuietKernelManager

    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("data = None")
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [cell]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        path = Path(tmp) / "empty.ipynb"
        nbformat.write(nb, path)

        def one(i: int) -> None:
            papermill.execute_notebook(
                str(path),
                str(Path(tmp) / f"out{i}.ipynb"),
                parameters={"data": "x"},
                kernel_name="python3",
                kernel_manager_class=QuietKernelManager,
                cwd=tmp,
                progress_bar=False,
                log_output=False,
            )

        pool = workers or os.cpu_count() or 1
        with ThreadPoolExecutor(max_workers=max(1, min(pool, n))) as ex:
            list(ex.map(one, range(n)))
