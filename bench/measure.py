"""One measurement in a child process (``run.py --child``): the child builds the step, times
the best of the repeats and reports its peak RSS; the parent watches the child's RSS.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import DATA, best_of, peak_rss_mib, rss_mib
from params import RUN
from steps_brushing import brushing_step
from steps_forecast import forecast_step
from steps_opsbook import opsbook_step
from steps_pandas import pandas_step
from steps_polars import polars_step
from steps_sql import sql_step

# steps written for every method in one file of their own
SHARED = {"brushing": brushing_step, "forecast": forecast_step}
BUILDERS = {
    "opsbook": opsbook_step,
    "sql": sql_step,
    "pandas": pandas_step,
    "polars": polars_step,
}


def child(args: argparse.Namespace) -> None:
    """One measurement: build, run best of ``repeat``, write the result, print time and RSS."""
    p = json.loads(args.params)
    folder = Path(args.data)
    if args.step in SHARED:
        prepare, run = SHARED[args.step](args.method, folder, args.memory_limit)
    else:
        prepare, run = BUILDERS[args.method](args.step, folder, p, args.memory_limit)
    base = rss_mib()
    cpu: list[float] = []

    def timed(*source):
        """One call, its CPU seconds (every thread of the process) noted: on a machine shared
        with other work the wall time of a call grows with the others' load, its CPU time far
        less, so the CPU ratio of two methods is the steadier comparison."""
        start = time.process_time()
        out = run(*source)
        cpu.append(time.process_time() - start)
        return out

    seconds, result = best_of(args.repeat, timed, prepare)
    with open(args.result, "wb") as fh:
        pickle.dump(result, fh)
    report = {"seconds": seconds, "cpu": min(cpu), "peak_mib": peak_rss_mib(), "base_mib": base}
    print(json.dumps(report))


def measure(step, method, folder, params, args) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(dir=DATA, suffix=".pkl", delete=False) as fh:
        result_path = Path(fh.name)
    command = [
        sys.executable, str(RUN), "--child", "--step", step, "--method", method,
        "--data", str(folder), "--params", json.dumps(params), "--result", str(result_path),
        "--repeat", str(args.repeat),
    ]  # fmt: skip
    if args.memory_limit:
        command += ["--memory-limit", args.memory_limit]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, cwd=DATA)
        capped = watch_rss(proc, args.rss_cap_gib * 1024, args.timeout)
        stdout.seek(0)
        stderr.seek(0)
        out_text, err_text = stdout.read(), stderr.read()
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"ok": proc.returncode == 0 and not capped, "wall": wall}
    if out["ok"]:
        out |= json.loads(out_text.strip().splitlines()[-1])
        with open(result_path, "rb") as fh:
            out["result"] = pickle.load(fh)
    elif capped:
        out |= {"capped": True, "peak_mib": capped, "error": f"stopped above {capped:,.0f} MiB"}
    else:
        out["error"] = (err_text.strip().splitlines() or ["?"])[-1][:200]
    result_path.unlink(missing_ok=True)
    return out


def watch_rss(proc: subprocess.Popen, cap_mib: float, timeout: float) -> float | None:
    """Wait for ``proc``; stop it when its RSS passes ``cap_mib`` (the machine would start
    swapping or kill something else) and return the cap, else None."""
    status = Path(f"/proc/{proc.pid}/status")
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            rss = next(
                int(line.split()[1]) / 1024
                for line in status.read_text().splitlines()
                if line.startswith("VmRSS:")
            )
        except (OSError, StopIteration):
            rss = 0.0
        if rss > cap_mib or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return cap_mib if rss > cap_mib else None
        time.sleep(0.05)
    return None
