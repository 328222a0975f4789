"""Hand-made event logs for the behaviour tests, and a plain-pandas oracle for funnel counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.unit.retention.sources import source_of, users_of

T0 = pd.Timestamp("2026-03-02 08:00")  # a Monday


def at(minutes: float) -> str:
    """UTC text ``minutes`` after T0."""
    return str(T0 + pd.Timedelta(minutes=minutes))


def log_source(folder, rows, users=None, **extra_columns):
    """A source from rows ``(user, minutes after T0, event[, {column: value}])``; every user
    signs up at T0 (channel ``organic`` unless ``users`` gives (user, channel) pairs)."""
    events = []
    for row in rows:
        record = {"user_id": row[0], "ts": at(row[1]), "event": row[2]}
        record |= row[3] if len(row) > 3 else {}
        events.append(record)
    ids = sorted({r[0] for r in rows} | {u for u, _ in users or ()})
    channel = dict(users or ())
    people = users_of(*[(u, str(T0), channel.get(u, "organic")) for u in ids])
    return source_of(folder, people, events)


def random_log(seed: int, users: int = 40, names=("a", "b", "c", "d"), per_user: int = 12):
    """Rows ``(user, minutes, event)`` with many ties in time (whole minutes)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(1, users + 1):
        for _ in range(rng.integers(0, per_user)):
            rows.append((u, int(rng.integers(0, 600)), str(rng.choice(names))))
    return rows


def oracle_counts(rows, steps, window_min, order="ordered", entry="first"):
    """Users reaching each step, by brute force over each user's sorted events (ties: minutes,
    then event name -- the funnel's documented order)."""
    per_user: dict[int, list[tuple[float, str]]] = {}
    for u, m, e, *_ in rows:
        per_user.setdefault(u, []).append((m, e))
    reached = [0] * len(steps)
    for seq in per_user.values():
        seq.sort()
        if order == "any":
            starts = [i for i, (_, e) in enumerate(seq) if e in steps]
        else:
            starts = [i for i, (_, e) in enumerate(seq) if e == steps[0]]
        if entry == "first":
            starts = starts[:1]
        best = 0
        for s in starts:
            best = max(best, _attempt(seq, s, steps, window_min, order))
        for k in range(best):
            reached[k] += 1
    return reached


def _attempt(seq, s, steps, window_min, order):
    t0 = seq[s][0]
    if order == "any":
        done = {e for m, e in seq[s:] if m <= t0 + window_min and e in steps}
        return len(done)
    if order == "strict":
        level = 1
        while (
            level < len(steps)
            and s + level < len(seq)
            and seq[s + level][1] == steps[level]
            and seq[s + level][0] <= t0 + window_min
        ):
            level += 1
        return level
    level, i = 1, s + 1
    while level < len(steps) and i < len(seq):  # greedy: the earliest next step
        m, e = seq[i]
        if m > t0 + window_min:
            break
        if e == steps[level]:
            level += 1
        i += 1
    return level
