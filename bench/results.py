"""The results page: the machine and the versions, and a scale's table of timings and peak
memory.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine() -> list[str]:
    import duckdb
    import ibis
    import pandas as pd

    mem = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {mem} memory, {platform.platform()}",
        f"- python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"ibis {ibis.__version__}, pandas {pd.__version__}, polars {_version('polars')}",
    ]


def fmt_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(scale: str, users: int, rows: list[dict[str, Any]], sizes: dict[str, int]) -> list[str]:
    def s(m):
        if m.get("capped"):
            return "stopped"
        return (
            f"{m['seconds']:.2f}"
            if m["ok"]
            else ("FAILED" if "--methods" not in m["error"] else "-")
        )

    def r(m):
        if m.get("capped"):
            return f"> {m['peak_mib']:,.0f}"
        return f"{m['peak_mib']:,.0f}" if m["ok"] else "-"

    def ratio(a, b, key="seconds"):
        if not (a["ok"] and b["ok"] and a.get(key) and b.get(key)):
            return "-"
        return f"{a[key] / b[key]:.2f}×"

    lines = [
        f"### {scale}: {users:,} users "
        + ", ".join(f"{n:,} {t}" for t, n in sizes.items() if t in ("events", "orders")),
        "",
        fmt_row(
            [
                "step",
                "opsbook s",
                "SQL s",
                "pandas s",
                "polars s",
                "opsbook/SQL",
                "opsbook/SQL CPU",
                "pandas/opsbook",
                "polars/opsbook",
                "polars/opsbook CPU",
                "peak RSS opsbook MiB",
                "SQL MiB",
                "pandas MiB",
                "polars MiB",
                "pandas/opsbook RSS",
                "polars/opsbook RSS",
                "same numbers",
            ]
        ),
        fmt_row(["---"] + ["---:"] * 15 + ["---"]),
    ]

    def rss_ratio(peer, o):
        if not (o["ok"] and (peer["ok"] or peer.get("capped"))):
            return "-"
        return f"{'> ' if peer.get('capped') else ''}{peer['peak_mib'] / o['peak_mib']:.1f}×"

    for row in rows:
        o, q, p, pl = row["opsbook"], row["sql"], row["pandas"], row["polars"]
        lines.append(
            fmt_row(
                [
                    row["step"],
                    s(o),
                    s(q),
                    s(p),
                    s(pl),
                    ratio(o, q),
                    ratio(o, q, "cpu"),
                    ratio(p, o),
                    ratio(pl, o),
                    ratio(pl, o, "cpu"),
                    r(o),
                    r(q),
                    r(p),
                    r(pl),
                    rss_ratio(p, o),
                    rss_ratio(pl, o),
                    row["same"],
                ]
            )
        )
    return lines


def _per_report(statuses: dict[str, tuple[str | None, float | None]]) -> str:
    return ", ".join(
        f"{n} {d:.1f}" + ("" if st == "ok" else f" ({st})")
        for n, (st, d) in statuses.items()
        if d is not None
    )


def suite_lines(scale: str, users: int, sr: dict[str, Any], memory_limit: str | None) -> list[str]:
    """The suite's table: ``opsbook run`` against its floor (the scans plus the kernels)."""
    scans = sum(sr["scans"].values())
    floor = scans + sr["kernels"]
    floor_cpu = sr["scans_cpu"] + sr["kernels_cpu"]
    kpi = sr["statuses"].get("kpi_dashboard", (None, None))[1]
    return [
        f"### Report suite: `opsbook run` at {scale} ({users:,} users)"
        + (f", engine.memory_limit {memory_limit}" if memory_limit else ""),
        "",
        fmt_row(
            [
                "reports",
                "suite s",
                "floor s",
                "ratio",
                "suite CPU s",
                "floor CPU s",
                "CPU ratio",
                "scans s",
                "kernels s",
                "kpi_dashboard s",
                "peak RSS MiB",
                "status",
            ]
        ),
        fmt_row(["---:"] * 11 + ["---"]),
        fmt_row(
            [
                str(sr["reports"]),
                f"{sr['wall']:.1f}",
                f"{floor:.1f}",
                f"{sr['wall'] / floor:.2f}×",
                f"{sr['cpu']:.1f}",
                f"{floor_cpu:.1f}",
                f"{sr['cpu'] / floor_cpu:.2f}×",
                f"{scans:.1f}",
                f"{sr['kernels']:.1f}",
                f"{kpi:.1f}" if kpi is not None else "-",
                f"{sr['peak_mib']:,.0f}",
                "ok" if sr["ok"] else "FAILED " + " ".join(sr["stderr"]),
            ]
        ),
        "",
        "Floor = scans + kernels; CPU: user + system seconds of the run's process and every "
        "kernel it waited for (steadier than wall time on a shared machine). Scans: one full read of every column of each table on DuckDB "
        "(each column decoded and hashed), s: "
        + ", ".join(f"{t} {v:.1f}" for t, v in sr["scans"].items())
        + ". Kernels: the same number of empty notebooks run as the runner runs reports. "
        "Peak RSS: the largest single process of the run (the runner or one report's kernel; "
        "reports run in parallel, so the machine held up to that times the workers).",
        "",
        "Per report (runner's own duration, s): " + _per_report(sr["statuses"]),
        "",
    ]


def rerun_lines(scale: str, users: int, rr: dict[str, Any]) -> list[str]:
    """The re-run after one more day: the suite cold, then with one more day appended."""
    cold, warm = rr["cold"], rr["warm"]
    return [
        f"### Re-run after one more day at {scale} ({users:,} users)",
        "",
        fmt_row(
            [
                "cold suite s",
                "after one more day s",
                "ratio",
                "cold CPU s",
                "after one more day CPU s",
                "CPU ratio",
                "rows added",
                "status",
            ]
        ),
        fmt_row(["---:"] * 7 + ["---"]),
        fmt_row(
            [
                f"{cold['wall']:.1f}",
                f"{warm['wall']:.1f}",
                f"{warm['wall'] / cold['wall']:.2f}",
                f"{cold['cpu']:.1f}",
                f"{warm['cpu']:.1f}",
                f"{warm['cpu'] / cold['cpu']:.2f}",
                ", ".join(f"{n:,} {t}" for t, n in rr["added"].items()),
                "ok"
                if cold["ok"] and warm["ok"]
                else "FAILED " + " ".join(cold["stderr"] + warm["stderr"]),
            ]
        ),
        "",
        "Cold, per report (s): " + _per_report(cold["statuses"]),
        "",
        "After one more day, per report (s): " + _per_report(warm["statuses"]),
        "",
    ]
