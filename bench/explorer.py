"""Benchmark: the retention explorer's redraw per control, in a Jupyter kernel, on the sample.

    .venv/bin/python bench/explorer.py                 # data/sample, 3 kernels, best of 3
    .venv/bin/python bench/explorer.py --repeat 5 --data path/to/source
    .venv/bin/python bench/explorer.py --checkout /tmp/before --checkout .   # two versions,
                                                      # their kernels taking turns

Each repeat starts a fresh kernel (the shared venv's ``python3``, with this checkout's
``PYTHONPATH``), runs what the retention page runs before its explorer (the page's own weekly
matrix by channel, its heatmap and curves shown; with ``--page`` the report notebook itself,
every code cell up to the explorer's, so the kernel holds all the page's results as an
analyst's does), opens the explorer seeded with that matrix, then changes the controls one
after another: every new setting first, then settings seen before.
Each step's CPU seconds are taken inside the kernel with ``time.process_time`` around the change
of the control's value (what a comm message from JupyterLab does: the redraw, the query, the
drawing, the PNG and its display message through the kernel's own channels), so the kernel's
whole work counts and nothing of this driver. The table gives per step the least CPU and wall
seconds over the repeats (per checkout when several are compared: their kernels take turns, so
a change in the machine's load falls on both), and the load average before and after. A script,
not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent

# what the page has done when the reader reaches its explorer
NOTEBOOK = ROOT / "notebooks" / "03_retention.ipynb"

# the garbage collector's CPU seconds, counted apart (a full pass lands on some step)
COLLECTOR = """
import gc, json, time
collecting = {"began": 0.0, "spent": 0.0}


def _collector(phase, info):
    if phase == "start":
        collecting["began"] = time.process_time()
    else:
        collecting["spent"] += time.process_time() - collecting["began"]


gc.callbacks.append(_collector)
"""

SETUP = """
from opsbook import retention
from opsbook.report import start
report = start("retention", params={{}}, lang={lang!r}, data={data!r})
group_by = retention.usable_breakdown(report, "channel")
retention.keep_active_days(report, return_event="any")
settings = dict(return_event="any", cohort_event=None, entry="first", window="calendar",
                brackets=None, start=None, end=None, as_of=None)
page = retention.retention_matrix(report, period="week", criterion="on", breakdown=group_by,
                                  **settings)
display(retention.heatmap(report, page.overall()))
display(retention.curves_chart(report, page))
collecting["spent"] = 0.0
began, wall = time.process_time(), time.perf_counter()
box = retention.explore(report, computed={{("week", "on", group_by): page}}, period="week",
                        criterion="on", breakdown=group_by, **settings)
print(json.dumps({{"step": "first draw", "cpu": time.process_time() - began,
                  "wall": time.perf_counter() - wall, "gc": collecting["spent"]}}))
"""

# the page's explorer cell, timed: its value is the explorer
PAGE_EXPLORER = """
collecting["spent"] = 0.0
began, wall = time.process_time(), time.perf_counter()
box = {cell}
print(json.dumps({{"step": "first draw", "cpu": time.process_time() - began,
                  "wall": time.perf_counter() - wall, "gc": collecting["spent"]}}))
"""

CONTROLS = """
controls = dict(zip(("period", "criterion", "breakdown"), box.children[0].children))
"""

# every new setting first, then back to settings seen before
STEPS = [
    ("period", "day"),
    ("criterion", "on_or_after"),
    ("breakdown", "device"),
    ("breakdown", None),
    ("period", "month"),
    ("criterion", "on"),
    ("breakdown", "group_by"),
    ("period", "week"),
    ("criterion", "on_or_after"),
    ("period", "day"),
    ("breakdown", "device"),
    ("period", "month"),
]

STEP = """
control = controls[{control!r}]
value = {value}
collecting["spent"] = 0.0
began, wall = time.process_time(), time.perf_counter()
control.value = value
print(json.dumps({{"step": f"{control} -> {{value}}", "cpu": time.process_time() - began,
                  "wall": time.perf_counter() - wall, "gc": collecting["spent"]}}))
"""


def run_in_kernel(kc, code: str) -> list[dict]:
    """Execute ``code``; the JSON lines it printed (an error stops the benchmark)."""
    printed: list[str] = []

    def collect(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            sys.exit("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(code, output_hook=collect, timeout=600)
    if reply["content"]["status"] != "ok":
        sys.exit(f"kernel: {reply['content']}")
    lines = "".join(printed).splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def run_page(kc, lang: str, data: str) -> list[dict]:
    """The report notebook's code cells up to its explorer, which is timed and kept as ``box``
    (the parameters cell as written, then ``lang`` and ``data`` as given)."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    run_in_kernel(kc, sources[0] + f"\nlang, data = {lang!r}, {data!r}")
    for source in sources[1:]:
        if source.startswith("retention.explore("):
            return run_in_kernel(kc, PAGE_EXPLORER.format(cell=source))
        run_in_kernel(kc, source)
    sys.exit(f"no explorer cell in {NOTEBOOK}")


def one_session(lang: str, data: str, checkout: Path, page: bool) -> list[dict]:
    """The first draw and every step's times, in a fresh kernel running ``checkout``'s code."""
    env = dict(os.environ, PYTHONPATH=f"{checkout / 'lib'}:{checkout}")
    env.pop("OPSBOOK_BATCH", None)
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ROOT))
    try:
        run_in_kernel(kc, COLLECTOR)
        if page:
            found = run_page(kc, lang, data)
        else:
            found = run_in_kernel(kc, SETUP.format(lang=lang, data=data))
        run_in_kernel(kc, CONTROLS)
        for control, value in STEPS:
            shown = "group_by" if value == "group_by" else repr(value)
            found += run_in_kernel(kc, STEP.format(control=control, value=shown))
        return found
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", default=str(ROOT / "data" / "sample"))
    parser.add_argument("--lang", default="en")
    parser.add_argument("--page", action="store_true", help="run the report notebook first")
    parser.add_argument(
        "--checkout",
        type=Path,
        action="append",
        help="a checkout whose lib/ to measure (repeatable; default: this one)",
    )
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkout or [ROOT]]
    load_before = os.getloadavg()
    sessions: dict[Path, list[list[dict]]] = {c: [] for c in checkouts}
    for _ in range(args.repeat):
        for checkout in checkouts:
            sessions[checkout].append(one_session(args.lang, args.data, checkout, args.page))
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    for checkout, runs in sessions.items():
        print(f"\n{checkout}")
        print(
            f"{'step':<28} {'CPU s (min)':>11} {'wall s (min)':>12}"
            "   CPU s of each repeat (of which garbage collection)"
        )
        for i, first in enumerate(runs[0]):
            steps = [run[i] for run in runs]
            each = " ".join(f"{r['cpu']:.2f} ({r['gc']:.2f})" for r in steps)
            print(
                f"{first['step']:<28} {min(r['cpu'] for r in steps):>11.2f}"
                f" {min(r['wall'] for r in steps):>12.2f}   {each}"
            )


if __name__ == "__main__":
    main()
