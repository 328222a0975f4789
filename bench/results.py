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
                "peak RSS opsbook MiB",
                "SQL MiB",
                "pandas MiB",
                "polars MiB",
                "pandas/opsbook RSS",
                "polars/opsbook RSS",
                "same numbers",
            ]
        ),
        fmt_row(["---"] + ["---:"] * 14 + ["---"]),
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
