"""The report suite: ``opsbook run`` of every report vs the floor, the same number of empty
notebooks executed the same way (``run.py --floor``).
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


def suite(folder: Path, workers: int | None, memory_limit: str | None) -> dict[str, Any]:
    """``opsbook run`` on ``folder`` vs the same number of empty notebooks run the same way;
    ``memory_limit``: every report's engine capped (the project's config plus
    ``engine.memory_limit``)."""
    import yaml

    from opsbook.run import discover

    notebooks = discover(HERE.parent / "notebooks")
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
        proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=HERE.parent)
        wall = time.perf_counter() - t0
    statuses = {}
    latest = out / "latest" / "manifest.json"
    if latest.exists() and latest.stat().st_mtime >= time.time() - wall:  # this run's
        manifest = json.loads(latest.read_text())
        reports = manifest.get("reports", {})
        items = reports.items() if isinstance(reports, dict) else [(r["name"], r) for r in reports]
        statuses = {name: (r.get("status"), r.get("duration_seconds")) for name, r in items}
    command = [sys.executable, str(RUN), "--floor", str(len(notebooks))]
    if workers:
        command += ["--workers", str(workers)]
    t0 = time.perf_counter()
    subprocess.run(command, check=True, cwd=HERE.parent)
    floor = time.perf_counter() - t0
    return {
        "reports": len(notebooks),
        "wall": wall,
        "floor": floor,
        "ok": proc.returncode == 0,
        "statuses": statuses,
        "stderr": proc.stderr.strip().splitlines()[-3:] if proc.returncode else [],
    }


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
