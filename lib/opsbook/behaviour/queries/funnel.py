"""Behaviour, engine step: a funnel's unique users per step, by a users column and by entry
week, and its times to convert -- every sequence computed with window functions in the engine,
one small frame out.

How an attempt is followed (see :class:`~opsbook.behaviour.queries.steps.Funnel` for the
definitions): for each event row ``r`` that matches step ``k``, ``r{k}_{j}`` is the earliest time
at which step ``j > k`` can be reached by a chain of steps ``k+1 .. j`` that starts after ``r``.
It is the minimum, over the later rows matching step ``k+1``, of their own ``r{k+1}_{j}``: one
window pass per step, from the last step back to the first. An exclusion that guards the link
``k -> k+1`` splits the user's rows into segments at each excluded event, and that pass looks
only within the segment, so no chain crosses an excluded event. A strict funnel takes the very
next row instead of the minimum. The attempt reaches step ``j`` when that earliest time lies
within the window of its entry.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.behaviour.queries.steps import Funnel, matched_events
from opsbook.data import Source, between_utc
from opsbook.engine import backend_name, floor_divide, timestamp_from_epoch_microseconds
from opsbook.parts import Within, input_rows, kept_by_user
from opsbook.retention.queries.active import _with_group
from opsbook.retention.queries.periods import period_number

US = 1_000_000
QUANTILES = (0.25, 0.5, 0.75, 0.9)


def funnel_users(
    source: Source,
    funnel: Funnel,
    *,
    since: Any = None,
    until: Any = None,
    within: Within | None = None,
) -> ir.Table:
    """One row per user who entered ``funnel`` in [since, until) (naive UTC; None: open):
    ``user_id``, ``entry_ts`` (the attempt's entry), ``level`` (how many positions it reached,
    1..n) and ``t0``..``t{n-1}``: microseconds since the epoch at which each step was reached
    (null: not reached within the window). In an ``any`` funnel ``t{i}`` is step ``i``'s time
    and positions are the distinct steps in the order they happened. ``within``: only the users
    of one range (:mod:`opsbook.parts`; a user's row depends on their own events alone)."""
    n = len(funnel.steps)
    strict = funnel.order == "strict"
    events, order = matched_events(source, funnel, every_event=strict)
    if within is not None:
        events = within(events)
    chained = _chained(events, order, funnel, since, until)
    if chained is not None:
        return chained
    if funnel.order == "any":
        attempts, times = _any_order(events, order, n)
    else:
        attempts, times = _in_order(events, order, funnel, strict)
    window = int(funnel.window_seconds) * US
    reached = {
        f"t{j}": ibis.ifelse(times[j] <= attempts.us + window, times[j], ibis.null("int64"))
        for j in range(n)
    }
    attempts = attempts.select("user_id", "us", *order[1:], entry_ts=attempts.ts, **reached)
    level = attempts[f"t{0}"].notnull().cast("int64")
    for j in range(1, n):
        level = level + attempts[f"t{j}"].notnull().cast("int64")
    attempts = attempts.mutate(level=level)
    if since is not None or until is not None:
        attempts = attempts.filter(between_utc(attempts.entry_ts, since, until))
    keys = [attempts[c] for c in order]
    if funnel.entry == "every":  # the furthest attempt, the earliest of equals
        keys = [attempts.level.desc(), *keys]
    pick = ibis.row_number().over(ibis.window(group_by=attempts.user_id, order_by=keys))
    best = attempts.mutate(pick=pick)
    best = best.filter(best.pick == 0)
    return best.select("user_id", "entry_ts", "level", *[f"t{j}" for j in range(n)])


def kept_funnel_users(
    source: Source, funnel: Funnel, *, since: Any = None, until: Any = None
) -> ir.Table:
    """:func:`funnel_users` computed once per open source and kept on the engine: the counts,
    the entry weeks, the times to convert and the drop-off paths all read it. Computed one range
    of users at a time when the events outgrow the engine's memory (:mod:`opsbook.parts`: at
    10M users under 4 GB the steps' keys of every event, held at once, spilled to disk)."""

    def build(within: Within) -> ir.Table:
        return funnel_users(source, funnel, since=since, until=until, within=within)

    def kept() -> ir.Table:
        return kept_by_user(source, input_rows(source, "events"), build)

    return source.once(("behaviour.funnel_users", funnel, since, until), kept)


# bits of the composite key (time, tie) an int64 can spare: microseconds since 1970 need 51
# bits until 2041
_TIE_BITS = 11


def _chained(
    events: ir.Table, order: tuple[str, ...], funnel: Funnel, since: Any, until: Any
) -> ir.Table | None:
    """The default funnel (ordered, first entry, no exclusion) as a chain of per-user minimums
    -- the earliest step k after the step k - 1 found -- with hash joins instead of sorts: the
    same users and times as the window passes (the earliest chain is the greedy one when nothing
    can break it), several times faster. None when the funnel is not of that kind."""
    if funnel.order != "ordered" or funnel.entry != "first" or funnel.exclusions:
        return None
    if order != ("us", "tie"):
        return None
    names = {st.event for st in funnel.steps}
    bits = (len(names) * 2 ** len(funnel.steps) - 1).bit_length()  # tie's bound (matched_events)
    if bits > _TIE_BITS:
        return None
    scale = 2**bits
    n = len(funnel.steps)
    window = int(funnel.window_seconds) * US
    # only what the levels read: the engine keeps this table for them (the event's name, its
    # flags and parts of the key would be kept for every row too)
    # (the engine writes this table once for every level: the user and the key, whose lowest
    # bits say which steps the row matches -- bit k, step k -- and whose high part is the time)
    keyed = events.select("user_id", key=events.us * scale + events.tie)
    entries = keyed.filter((keyed.key & 1) != 0)
    if since is not None:
        entries = entries.filter(entries.key >= _microseconds(since) * scale)
    if until is not None:
        entries = entries.filter(entries.key < _microseconds(until) * scale)
    first = entries.group_by("user_id").aggregate(k0=entries.key.min())
    backend = backend_name(events)
    entry_us = floor_divide(first.k0, scale, backend)
    first = first.mutate(entry_ts=timestamp_from_epoch_microseconds(entry_us, backend))
    # level k: the users who reached step k, their entry's key and step k's earliest key after
    # step k - 1 within the window (the step's time, the key's high part, <= the entry's +
    # window). Each level joins only the users of the level before, narrow -- user, entry,
    # last step -- as the reference query does: DuckDB builds its hash table on the side of
    # fewer rows times bytes per row, and so builds it on the users, not on every view_item
    # row (2.9 M rows at 100 k users: twice the join's time). Both bounds are in the join's
    # condition, so the engine never forms the pairs outside them.
    level = first.select("user_id", "k0")
    levels = []
    for k in range(1, n):
        step = keyed.filter((keyed.key & 2**k) != 0).select(sid="user_id", skey="key")
        limit = (floor_divide(level.k0, scale, backend) + window + 1) * scale
        hit = level.join(
            step,
            [level.user_id == step.sid, step.skey > level[f"k{k - 1}"], step.skey < limit],
        )
        level = hit.group_by("user_id", "k0").aggregate(**{f"k{k}": hit.skey.min()})
        levels.append(level)
    chain = first
    for k, found in enumerate(levels, start=1):
        found = found.select(hid="user_id", **{f"k{k}": found[f"k{k}"]})
        chain = chain.left_join(found, chain.user_id == found.hid).drop("hid")
    reached = chain.k0.notnull().cast("int64")
    for k in range(1, n):
        reached = reached + chain[f"k{k}"].notnull().cast("int64")
    times = {f"t{k}": floor_divide(chain[f"k{k}"], scale, backend) for k in range(n)}
    return chain.select("user_id", "entry_ts", level=reached, **times)


def _microseconds(moment: Any) -> int:
    """Microseconds from 1970-01-01 00:00 to a naive-UTC moment."""
    return (pd.Timestamp(moment) - pd.Timestamp(0)) // pd.Timedelta(microseconds=1)


def _in_order(
    events: ir.Table, order: tuple[str, ...], funnel: Funnel, strict: bool
) -> tuple[ir.Table, list[ir.IntegerValue]]:
    """Attempts (the rows of step 0) of an ordered or strict funnel and the earliest time of
    each step after them (before the window is applied)."""
    n = len(funnel.steps)
    t = events
    guards = {
        k: [f"x{i}" for i, x in enumerate(funnel.exclusions) if x.covers(k, n - 1)]
        for k in range(1, n)
    }
    segments = {}
    for k, names in guards.items():
        if names:
            hit = t[names[0]]
            for name in names[1:]:
                hit = hit | t[name]
            upto = ibis.window(group_by=t.user_id, order_by=[t[c] for c in order], rows=(None, 0))
            segments[f"g{k}"] = hit.cast("int64").sum().over(upto)
    if segments:
        t = t.mutate(**segments)
    for k in range(n - 2, -1, -1):
        group = [t.user_id] + ([t[f"g{k + 1}"]] if guards[k + 1] else [])
        keys = [t[c] for c in order]
        if strict:
            w = ibis.window(group_by=t.user_id, order_by=keys)
        else:
            w = ibis.window(group_by=group, order_by=keys, rows=(1, None))
        nxt = t[f"s{k + 1}"]
        cols = {}
        for j in range(k + 1, n):
            value = t.us if j == k + 1 else t[f"r{k + 1}_{j}"]
            candidate = ibis.ifelse(nxt, value, ibis.null("int64"))
            cols[f"r{k}_{j}"] = candidate.lead().over(w) if strict else candidate.min().over(w)
        t = t.mutate(**cols)
    attempts = t.filter(t.s0)
    return attempts, [attempts.us] + [attempts[f"r0_{j}"] for j in range(1, n)]


def _any_order(
    events: ir.Table, order: tuple[str, ...], n: int
) -> tuple[ir.Table, list[ir.IntegerValue]]:
    """Attempts (the rows of any step) of an unordered funnel and each step's first time at or
    after them."""
    w = ibis.window(group_by=events.user_id, order_by=[events[c] for c in order], rows=(0, None))
    first = {
        f"f{i}": ibis.ifelse(events[f"s{i}"], events.us, ibis.null("int64")).min().over(w)
        for i in range(n)
    }
    t = events.mutate(**first)
    any_step = t.s0
    for i in range(1, n):
        any_step = any_step | t[f"s{i}"]
    attempts = t.filter(any_step)
    return attempts, [attempts[f"f{i}"] for i in range(n)]


def _levels(
    source: Source,
    funnel: Funnel,
    by: dict[str, Any],
    since: Any,
    until: Any,
    breakdown: str | None,
) -> pd.DataFrame:
    users = kept_funnel_users(source, funnel, since=since, until=until)
    users = _with_group(users, source, breakdown)
    users = users.mutate(**{k: v(users) for k, v in by.items()})
    keys = ["grp", *by, "level"]
    return users.group_by(keys).aggregate(users=users.count()).execute()


def _cumulate(levels: pd.DataFrame, n: int, keys: list[str]) -> pd.DataFrame:
    """Users per level -> users reaching each step (level >= step + 1), zeros included."""
    rows = []
    for key, part in levels.groupby(keys, sort=True) if keys else [((), levels)]:
        key = key if isinstance(key, tuple) else (key,)
        per_level = part.groupby("level")["users"].sum()
        for step in range(n):
            reached = int(per_level[per_level.index >= step + 1].sum())
            rows.append((*key, step, reached))
    return pd.DataFrame(rows, columns=[*keys, "step", "users"])


def funnel_counts(
    source: Source,
    funnel: Funnel,
    *,
    breakdown: str | None = None,
    since: Any = None,
    until: Any = None,
) -> pd.DataFrame:
    """``grp, step, users``: unique users reaching each step (0-based position), per value of
    the users column ``breakdown`` (``all`` without one; a missing value is its own group)."""
    _need_users(source, breakdown)
    levels = _levels(source, funnel, {}, since, until, breakdown)
    if levels.empty:
        return pd.DataFrame({"grp": "all", "step": range(len(funnel.steps)), "users": 0})
    return _cumulate(levels, len(funnel.steps), ["grp"])


def funnel_by_week(
    source: Source, funnel: Funnel, *, since: Any = None, until: Any = None
) -> pd.DataFrame:
    """``week, step, users``: unique users reaching each step by the local Monday-first week of
    their entry (week numbers as :func:`period_number`)."""
    by = {"week": lambda u: period_number(source, u.entry_ts, "week")}
    levels = _levels(source, funnel, by, since, until, None)
    if levels.empty:
        return pd.DataFrame(columns=["week", "step", "users"])
    return _cumulate(levels, len(funnel.steps), ["week"])


def _need_users(source: Source, breakdown: str | None) -> None:
    if breakdown is not None and not source.has("users"):
        raise ValueError(f"breakdown {breakdown!r} needs a users table; the source has none")


def time_to_convert(
    source: Source,
    funnel: Funnel,
    *,
    bins: int = 20,
    since: Any = None,
    until: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seconds to each position from the previous one (``step`` 1..n-1) and from entry to the
    last position (``step`` = ``"overall"``), over the users who reached it: ``summary``
    (step, users, mean, p25, median, p75, p90; quantiles interpolated by the engine) and
    ``histogram`` (step, bin, users; ``bins`` equal bins over [0, window], the last closed)."""
    n = len(funnel.steps)
    users = kept_funnel_users(source, funnel, since=since, until=until)
    parts = [
        users.filter(users[f"t{j}"].notnull()).select("user_id", t=users[f"t{j}"]) for j in range(n)
    ]
    times = ibis.union(*parts, distinct=False) if n > 1 else parts[0]
    w = ibis.window(group_by=times.user_id, order_by=times.t)
    times = times.mutate(
        pos=ibis.row_number().over(w),
        gap=(times.t - times.t.lag().over(w)).cast("float64") / US,
        since_entry=(times.t - times.t.min().over(w)).cast("float64") / US,
    )
    steps = times.filter(times.pos >= 1).select(step=times.pos.cast("string"), s=times.gap)
    overall = times.filter(times.pos == n - 1).select(
        step=ibis.literal("overall"), s=times.since_entry
    )
    both = ibis.union(steps, overall, distinct=False) if n > 1 else steps
    summary = both.group_by("step").aggregate(
        users=both.count(),
        mean=both.s.mean(),
        **{_q(q): both.s.quantile(q) for q in QUANTILES},
    )
    width = funnel.window_seconds / int(bins)
    binned = both.mutate(bin=ibis.least((both.s / width).floor().cast("int64"), int(bins) - 1))
    histogram = binned.group_by("step", "bin").aggregate(users=binned.count())
    summary = summary.execute()
    if summary.empty:
        summary = pd.DataFrame(columns=["step", "users", "mean", *map(_q, QUANTILES)])
    histogram = histogram.execute()
    histogram["lower_s"] = histogram["bin"] * width
    histogram["upper_s"] = (histogram["bin"] + 1) * width
    return _by_step(summary, ["step"], n), _by_step(histogram, ["step", "bin"], n)


def _by_step(frame: pd.DataFrame, keys: list[str], n: int) -> pd.DataFrame:
    """``frame`` sorted by step 1..n-1, then "overall"."""
    rank = {str(k): k for k in range(1, n)} | {"overall": n}
    frame = frame.assign(_rank=frame["step"].map(rank))
    return frame.sort_values(["_rank", *keys[1:]]).drop(columns="_rank").reset_index(drop=True)


def _q(q: float) -> str:
    return "median" if q == 0.5 else f"p{round(q * 100)}"
