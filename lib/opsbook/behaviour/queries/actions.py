"""Behaviour, engine step: key actions (关键行为) -- for each event and frequency threshold in the
new users' first D days, how many users reached it and how many of them (and of everyone) were
retained on day 7 and day 30. Retention is the retention report's D-N retention: active (any
event, or ``return_event``) on the local day signup + N, over the users whose day N has fully
elapsed (the retention topic's signups, active days and periods)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from opsbook.behaviour.queries.steps import check_events
from opsbook.data import Source
from opsbook.engine import keep
from opsbook.retention.queries.active import _signups, active_periods
from opsbook.retention.queries.periods import period_number, resolve_as_of

DEFAULT_THRESHOLDS = (1, 2, 3, 5, 10)
RETENTION_DAYS = (7, 30)


def key_action_counts(
    source: Source,
    *,
    first_days: int = 3,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    events: Sequence[str] | None = None,
    retention_days: Sequence[int] = RETENTION_DAYS,
    return_event: str = "any",
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """``event, threshold, users, above, retained_d{N}, retained_d{N}_above`` for each
    ``retention_days`` N: among the users who signed up in [cohort_start, cohort_end] (local
    dates) and whose day max(N) is complete at ``as_of``, how many did ``event`` at least
    ``threshold`` times on their local days 0 .. first_days - 1, and how many were retained.
    ``users`` and ``retained_d{N}`` are the whole cohort's (the same on every row)."""
    if not source.has("users"):
        raise ValueError("key actions need a users table (signups); the source has none")
    if not source.has("events"):
        raise ValueError("key actions need an events table; the source has none")
    first_days = int(first_days)
    days = sorted({int(d) for d in retention_days})
    if first_days < 1 or first_days > days[0]:
        raise ValueError(f"first_days must lie in 1..{days[0]} (before the first retention day)")
    thresholds = sorted({int(t) for t in thresholds})
    if not thresholds or thresholds[0] < 1:
        raise ValueError("thresholds must be >= 1")
    if events:
        check_events(source, list(events))
    point = resolve_as_of(source, as_of)
    people = _signups(source, point.utc, None, cohort_start, cohort_end)
    people = people.select("user_id", sday=period_number(source, people.signup_ts, "day"))
    people = people.filter(people.sday + days[-1] <= point.last_complete_day)
    active = active_periods(source, return_event, point.utc, "day")
    for n in days:
        hit = active.filter(active.p >= 0).select(rid="user_id", rday=active.p)
        joined = people.left_join(hit, (people.user_id == hit.rid) & (hit.rday == people.sday + n))
        people = joined.mutate(**{f"d{n}": joined.rid.notnull().cast("int64")}).drop("rid", "rday")
    people = keep(people)  # read twice: the early events' join and the totals
    ev = source.table("events", local_day=True)
    ev = ev.filter(ev.user_id.notnull() & ev.event.notnull())
    if events:
        ev = ev.filter(ev.event.isin(list(events)))
    cohort = people.select("sday", *[f"d{n}" for n in days], eid=people.user_id)
    early = ev.join(cohort, ev.user_id == cohort.eid)
    early = early.filter(
        (early.local_day >= early.sday) & (early.local_day < early.sday + first_days)
    )
    per_user = early.group_by("eid", "event", *[f"d{n}" for n in days]).aggregate(c=early.count())
    aggs: dict[str, Any] = {}
    for t in thresholds:  # filtered counts: DuckDB sums integers into 128-bit totals
        above = per_user.c >= t
        aggs[f"above_{t}"] = per_user.count(where=above)
        for n in days:
            aggs[f"retained_d{n}_above_{t}"] = per_user.count(
                where=above & (per_user[f"d{n}"] == 1)
            )
    wide = per_user.group_by("event").aggregate(**aggs).execute()
    totals = people.aggregate(
        users=people.count(), **{f"retained_d{n}": people[f"d{n}"].sum() for n in days}
    ).execute()
    return _long(wide, totals, thresholds, days)


def _long(
    wide: pd.DataFrame, totals: pd.DataFrame, thresholds: list[int], days: list[int]
) -> pd.DataFrame:
    """One row per (event, threshold) from the engine's one row per event."""
    total = {k: int(v or 0) for k, v in totals.iloc[0].items()} if not totals.empty else {}
    rows = []
    for record in wide.to_dict("records"):
        for t in thresholds:
            row = {"event": str(record["event"]), "threshold": t, "users": total.get("users", 0)}
            row["above"] = int(record[f"above_{t}"] or 0)
            for n in days:
                row[f"retained_d{n}"] = total.get(f"retained_d{n}", 0)
                row[f"retained_d{n}_above"] = int(record[f"retained_d{n}_above_{t}"] or 0)
            rows.append(row)
    columns = ["event", "threshold", "users", "above"]
    columns += [c for n in days for c in (f"retained_d{n}", f"retained_d{n}_above")]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["event", "threshold"]).reset_index(drop=True)
