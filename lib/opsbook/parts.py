"""Per-user aggregates computed one range of users at a time, so that a large one fits the
engine's memory.

An aggregate by user and day holds one entry per user-day while it runs: 14M at 1M users, 140M
at 10M, each about a hundred bytes. Under a 4 GB DuckDB limit the user-insight daily activity at
10M users spilled 17 GB to disk and was still running after 8 minutes. Computed for one range
of user ids at a time (ranges cut at quantiles of the users table's ids) and written part by
part (:func:`opsbook.engine.keep_parts`), each part fits in memory; every user's rows fall in
exactly one range, so the parts together hold the same rows as the whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from itertools import pairwise
from typing import Any

import ibis
import ibis.expr.types as ir

from opsbook.data import Source
from opsbook.engine import keep_parts, memory_limit_bytes

# input rows one part may read per byte of the engine's memory limit: the daily activity of 69M
# events (1M users) peaked at 2.1 GB, about 30 bytes a row; at 48 a part of a 4 GB limit reads
# 83M rows (one part at 1M users, nine at 10M)
BYTES_PER_ROW = 48

Within = Callable[[ir.Table], ir.Table]
"""Keeps a table's rows of one range of users."""


def part_count(rows: int, limit: int | None) -> int:
    """How many ranges of users an aggregate over ``rows`` input rows is computed in under a
    memory limit of ``limit`` bytes (None: no limit known, one part)."""
    if not limit or rows <= 0:
        return 1
    return max(1, math.ceil(rows * BYTES_PER_ROW / limit))


def user_bounds(source: Source, parts: int) -> list[Any]:
    """The ``parts - 1`` user ids that cut the users table's distinct ids into ``parts`` ranges
    of about equal size, ascending (none without a users table or with one part)."""
    if parts < 2 or not source.has("users"):
        return []
    users = source.table("users")
    ids = users.filter(users.user_id.notnull()).select("user_id").distinct()
    step = math.ceil(int(ids.count().execute()) / parts)
    if step < 1:
        return []
    # each range starts at the id of rank 1 + k * step (ranks from 0: k * step)
    ranked = ids.mutate(rank=ibis.row_number().over(order_by="user_id"))
    cut = ranked.filter((ranked["rank"] % step == 0) & (ranked["rank"] > 0)).order_by("rank")
    return cut.user_id.to_pyarrow().to_pylist()


def _within(table: ir.Table, low: Any, high: Any) -> ir.Table:
    keep = ibis.literal(True)
    if low is not None:
        keep &= table.user_id >= low
    if high is not None:
        keep &= table.user_id < high
    return table.filter(keep)


def input_rows(source: Source, *names: str) -> int:
    """Rows of the tables ``names`` the source has: what a per-user question over them reads."""
    return sum(int(source.mapped(name).count().execute()) for name in names if source.has(name))


def user_ranges(source: Source, rows: int) -> list[Within]:
    """The ranges of users an aggregate over ``rows`` input rows of ``source`` is computed in
    under the engine's memory limit (:func:`part_count`), each as a :data:`Within`."""
    bounds = user_bounds(source, part_count(rows, memory_limit_bytes(source.con)))
    return [partial(_within, low=low, high=high) for low, high in pairwise([None, *bounds, None])]


def kept_by_user(source: Source, rows: int, build: Callable[[Within], ir.Table]) -> ir.Table:
    """The table ``build(within)`` computed and kept range by range of :func:`user_ranges`
    (``within`` keeps a table's rows of the range), as one table."""
    return keep_parts([build(within) for within in user_ranges(source, rows)])
