"""A re-run after one more day of data: the suite on a copy of a scale's data whose events and
orders are part-file folders (``events/part-0.parquet``), then the newest local day's events and
orders again one day later appended as ``part-1.parquet`` (new order ids), then the suite again.
The ratio of the second run to the first is what a Monday re-run costs against a first run.

The copy is made anew each time (new files, new modification times), so the first run finds no
cache of an earlier bench run and is cold; the users and the other tables are unchanged.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import DATA, END
from params import _utc
from suite import opsbook_run

APPENDED = ("events", "orders")  # the tables that grow by part files


def copy_as_parts(source: Path, target: Path) -> None:
    """``target``: every Parquet table of ``source``, the growing ones as part-file folders."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.parquet")):
        name = path.stem
        if name in APPENDED:
            (target / name).mkdir()
            shutil.copyfile(path, target / name / "part-0.parquet")
        else:
            shutil.copyfile(path, target / path.name)


def append_day(target: Path) -> dict[str, int]:
    """The last local day's events and orders again one day later, as each table's
    ``part-1.parquet`` (orders renumbered after the largest id); the rows added per table."""
    import duckdb

    lo, hi = _utc(END), _utc(END + timedelta(days=1))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    added = {}
    for name in APPENDED:
        part = target / name / "part-0.parquet"
        shifted = "ts + INTERVAL 1 DAY AS ts"
        if name == "orders":
            top = con.execute(f"SELECT max(order_id) FROM read_parquet('{part}')").fetchone()[0]
            shifted += f", order_id + {int(top)} AS order_id"
        day = (
            f"SELECT * REPLACE ({shifted}) FROM read_parquet('{part}') "
            f"WHERE ts >= TIMESTAMPTZ '{lo:%Y-%m-%d %H:%M:%S}+00' "
            f"AND ts < TIMESTAMPTZ '{hi:%Y-%m-%d %H:%M:%S}+00'"
        )
        out = target / name / "part-1.parquet"
        con.execute(f"COPY ({day}) TO '{out}' (FORMAT parquet)")
        added[name] = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    return added


def rerun(folder: Path, memory_limit: str | None) -> dict[str, Any]:
    """The suite on a part-file copy of ``folder`` (cold), then after one more day (warm)."""
    target = DATA / f"rerun-{folder.name}"
    copy_as_parts(folder, target)
    cold = opsbook_run(target, memory_limit)
    added = append_day(target)
    warm = opsbook_run(target, memory_limit)
    return {"cold": cold, "warm": warm, "added": added}
