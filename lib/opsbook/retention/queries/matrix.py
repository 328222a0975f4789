"""The retention matrix's engine step: one row per cohort entry, the periods after entry with a
return, and the counts per cohort and period (or bracket of periods) that the matrix is built
from. The brackets that group periods are parsed here: they shape the query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from opsbook.data import Source, inclusive_end
from opsbook.errors import InputError
from opsbook.retention.queries.active import _restrict, _with_group, active_periods, activity
from opsbook.retention.queries.periods import (
    PERIOD_LETTER,
    ROLLING_SECONDS,
    AsOf,
    _local_range,
    period_number,
)


# ================================================================================ brackets
@dataclass(frozen=True)
class Bracket:
    lo: int
    hi: int
    label: str


def parse_brackets(brackets: Any, period: str = "day") -> tuple[Bracket, ...]:
    """Brackets like ``[[1, 1], [2, 7], [8, 30]]``, ``[1, [2, 7]]`` or ``["1", "2-7", "8-30"]``:
    inclusive period ranges, ascending and not overlapping, all >= 1."""
    if brackets is None:
        return ()
    letter = PERIOD_LETTER[period]
    parsed = []
    for item in brackets:
        if isinstance(item, str):
            lo_text, _, hi_text = item.replace("–", "-").partition("-")
            lo, hi = int(lo_text), int(hi_text or lo_text)
        elif isinstance(item, int | np.integer):
            lo = hi = int(item)
        else:
            lo, hi = (int(x) for x in item)
        if lo < 1 or hi < lo:
            raise InputError("retention.error.bracket_order", bracket=repr(item))
        if parsed and lo <= parsed[-1].hi:
            raise InputError("retention.error.bracket_overlap", bracket=repr(item))
        label = f"{letter}{lo}" if lo == hi else f"{letter}{lo}–{hi}"
        parsed.append(Bracket(lo, hi, label))
    if not parsed:
        raise InputError("retention.error.brackets_empty")
    return tuple(parsed)


# ================================================================================ the matrix
def _entries(
    source: Source,
    cohort_event: str | None,
    entry: str,
    period: str,
    users: Any,
    start: Any,
    end: Any,
    point: AsOf,
) -> ir.Table:
    """One row per cohort entry: user_id, entry_ts, cohort (period number of the entry)."""
    if cohort_event is None:
        table = source.table("users", until=inclusive_end(point.utc))
        table = table.filter(table.user_id.notnull()).select("user_id", ts=table.signup_ts)
    else:
        table = activity(source, cohort_event, until=inclusive_end(point.utc))
    table = _restrict(table, users)
    if entry == "first" or cohort_event is None:
        firsts = table.group_by("user_id").aggregate(entry_ts=table.ts.min())
        entries = firsts.mutate(cohort=period_number(source, firsts.entry_ts, period))
    else:
        keyed = table.mutate(cohort=period_number(source, table.ts, period))
        entries = keyed.group_by("user_id", "cohort").aggregate(entry_ts=keyed.ts.min())
    window = _local_range(source, entries.entry_ts, start, end)
    return entries.filter(window) if window is not None else entries


def _entry_periods(
    source: Source,
    entries: ir.Table,
    return_event: str,
    period: str,
    window: str,
    point: AsOf,
    users: Any,
) -> ir.Table:
    """Distinct (user_id, cohort, grp, n): the periods n >= 0 after entry with a return."""
    if window == "calendar":
        # one row per user and active period before the join keeps the join small; entries are
        # unique per (user, cohort), so the joined rows are already distinct
        keyed = active_periods(source, return_event, point.utc, period, users)
        joined = entries.join(keyed, "user_id")
        joined = joined.mutate(n=(joined.p - joined.cohort).cast("int64"))
        return joined.filter(joined.n >= 0).select("user_id", "cohort", "grp", "n")
    acts = _restrict(activity(source, return_event, until=inclusive_end(point.utc)), users)
    joined = entries.join(acts, "user_id")
    # to the microsecond on every engine (Spark's epoch seconds are whole seconds)
    elapsed = joined.ts.delta(joined.entry_ts, unit="microsecond")
    joined = joined.mutate(n=(elapsed // (ROLLING_SECONDS[period] * 1_000_000)).cast("int64"))
    return joined.filter(joined.n >= 0).select("user_id", "cohort", "grp", "n").distinct()


def matrix_counts(
    src: Source,
    point: AsOf,
    *,
    period: str,
    criteria: tuple[str, ...],
    return_event: str,
    cohort_event: str | None,
    entry: str,
    window: str,
    bracket_list: tuple[Bracket, ...],
    breakdown: str | None,
    users: Any,
    start: Any,
    end: Any,
    max_period: int | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The engine's counts behind the retention matrices of ``criteria``, in one query:
    ``sizes`` (grp, cohort, users: the entries of each cohort) and per criterion the counts of
    the returns -- "on": grp, cohort, n (n >= 1) or b (the bracket's position), k users;
    "on_or_after": grp, cohort, last (the last period after entry with a return), k users.
    ``max_period``: the periods after entry counted (None: all); a later last period counts as
    ``max_period``, so "on or after" stays exact up to it."""
    entries = _entries(src, cohort_event, entry, period, users, start, end, point)
    entries = _with_group(entries, src, breakdown)
    returns = _entry_periods(src, entries, return_event, period, window, point, users)
    # every part shares one shape (part, grp, cohort, key, k) and one execution: one compile
    # and one round trip per matrix, whatever the criteria asked
    parts = [_part("size", entries.group_by("grp", "cohort").aggregate(k=entries.count()), None)]
    if "on" in criteria and bracket_list:
        cases = [(returns.n.between(b.lo, b.hi), i) for i, b in enumerate(bracket_list)]
        tagged = returns.mutate(b=ibis.cases(*cases, else_=None)).filter(lambda t: t.b.notnull())
        tagged = tagged.select("user_id", "cohort", "grp", "b").distinct()
        parts.append(
            _part("on", tagged.group_by("grp", "cohort", "b").aggregate(k=tagged.count()), "b")
        )
    elif "on" in criteria:
        on = returns.filter(returns.n >= 1)
        if max_period is not None:
            on = on.filter(on.n <= max_period)
        parts.append(_part("on", on.group_by("grp", "cohort", "n").aggregate(k=on.count()), "n"))
    if "on_or_after" in criteria:
        last = returns.group_by("user_id", "cohort", "grp").aggregate(last=returns.n.max())
        if max_period is not None:
            last = last.mutate(last=ibis.least(last["last"], max_period))
        counts = last.group_by("grp", "cohort", "last").aggregate(k=last.count())
        parts.append(_part("on_or_after", counts, "last"))
    rows = ibis.union(*parts).execute() if len(parts) > 1 else parts[0].execute()
    frames = {
        part: rows[rows["part"] == part].drop(columns="part").reset_index(drop=True)
        for part in ("size", *criteria)
    }
    sizes = frames.pop("size").drop(columns="key").rename(columns={"k": "users"})
    keys = {"on": "b" if bracket_list else "n", "on_or_after": "last"}
    return sizes, {c: frame.rename(columns={"key": keys[c]}) for c, frame in frames.items()}


def _part(name: str, counts: ir.Table, key: str | None) -> ir.Table:
    """``counts`` (grp, cohort, [key,] k) in the shape every part of the matrix query shares."""
    key_value = counts[key] if key is not None else ibis.null()
    return counts.select(
        part=ibis.literal(name),
        grp=counts.grp.cast("string"),
        cohort=counts.cohort.cast("int64"),
        key=key_value.cast("int64"),
        k=counts.k.cast("int64"),
    )
