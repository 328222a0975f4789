"""Who was active when: paid orders, the rows that count as activity, each user's active periods
(kept on the engine once per report), the signups every cohort starts from, breakdown groups,
and the check that an event name exists."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from opsbook.data import Source, inclusive_end
from opsbook.engine import keep
from opsbook.errors import InputError
from opsbook.retention.queries.periods import (
    _local_range,
    _src,
    month_of_day,
    period_number,
    resolve_as_of,
    week_of_day,
)
from opsbook.rollup import active_days, is_paid

MISSING_GROUP = "(missing)"


def paid_orders(
    source: Source, since: Any = None, until: Any = None, *, local_day: bool = False
) -> ir.Table:
    """Orders that count as paid: status ``paid`` or no status at all (every order without a
    status column); ``since``/``until``/``local_day``: see :meth:`Source.table`."""
    orders = source.table("orders", since=since, until=until, local_day=local_day)
    return orders.filter(_known(orders, since, until) & is_paid(orders))


def _known(table: ir.Table, since: Any, until: Any) -> ir.BooleanValue:
    """Rows with a user and a time. A table bounded in time (:meth:`Source.table`) holds no
    null time already, and asking the converted time again would convert every row twice."""
    known = table.user_id.notnull()
    return known if since is not None or until is not None else known & table.ts.notnull()


def activity(
    source: Source, event: str = "any", until: Any = None, *, local_day: bool = False
) -> ir.Table:
    """``user_id, ts`` of the rows that count as activity: ``any`` event (orders when the source
    has no events table), ``order`` (paid orders) or one event name; before ``until`` (naive
    UTC, see :meth:`Source.table`) when given. ``local_day`` adds the local day number
    (:meth:`Source.table`)."""
    columns = ("user_id", "ts", "local_day") if local_day else ("user_id", "ts")
    if event == "order":
        return paid_orders(source, until=until, local_day=local_day).select(*columns)
    if not source.has("events"):
        if event == "any":
            orders = source.table("orders", until=until, local_day=local_day)
            return orders.filter(_known(orders, None, until)).select(*columns)
        raise InputError("retention.error.no_events", event=repr(event))
    events = source.table("events", until=until, local_day=local_day)
    events = events.filter(_known(events, None, until))
    if event != "any":
        events = events.filter(events.event == event)
    return events.select(*columns)


def active_periods(
    source: Source, event: str, until_utc: Any, period: str, users: Any = None
) -> ir.Table:
    """Distinct ``user_id, p``: the local periods (:func:`period_number`) in which a user was
    active (``event``) no later than ``until_utc``, limited to ``users``.

    A report that asks several questions (the matrix and lifecycle: weeks; D-N, stickiness and
    churn: days) keeps the active days first (:func:`keep_active_days`): days are read from
    them, weeks derive from them and other periods are computed once, all kept on the engine.
    Without kept days, a question reads the events in its own query, as a hand-written one
    would: nothing is written to the engine for a single question."""
    days = kept_active_days(source, event, until_utc)
    if days is None:
        return _restrict(_active(source, event, until_utc, period), users)
    if period == "day":
        return _restrict(days, users)

    def compute() -> ir.Table:
        if period == "week":  # a fraction of the events' rows
            return keep(days.select("user_id", p=week_of_day(source, days.p)).distinct())
        return keep(_active(source, event, until_utc, period))

    return _restrict(source.once(_kept_as(event, period, until_utc), compute), users)


def _kept_as(event: str, period: str, until_utc: Any) -> tuple:
    """The key under which the source keeps the active periods of ``event`` up to ``until_utc``."""
    return ("active_periods", event, period, until_utc)


def _active(source: Source, event: str, until_utc: Any, period: str) -> ir.Table:
    rolled = active_days(source, event, inclusive_end(until_utc))
    if rolled is not None:  # one row per user and day already
        if period == "day":
            return rolled.select("user_id", p=rolled.day)
        grouped = week_of_day if period == "week" else month_of_day
        return rolled.select("user_id", p=grouped(source, rolled.day)).distinct()
    if period == "month":
        acts = activity(source, event, until=inclusive_end(until_utc))
        return acts.select("user_id", p=period_number(source, acts.ts, period)).distinct()
    acts = activity(source, event, until=inclusive_end(until_utc), local_day=True)
    day = acts.local_day if period == "day" else week_of_day(source, acts.local_day)
    return acts.select("user_id", p=day).distinct()


def kept_active_days(source: Source, event: str, until_utc: Any) -> ir.Table | None:
    """The active days of ``event`` up to ``until_utc`` kept by :func:`keep_active_days`
    (None: not kept)."""
    return source.known(_kept_as(event, "day", until_utc))


def keep_active_days(source: Any, *, return_event: str = "any", as_of: Any = None) -> None:
    """Keep the users' active local days on the engine before a report's first question: the
    weeks of the matrix and the lifecycle then derive from them, and the events are scanned
    once for every section instead of once per question."""
    src = _src(source)
    check_event(src, return_event)
    until = resolve_as_of(src, as_of).utc
    src.once(
        _kept_as(return_event, "day", until),
        lambda: keep(_active(src, return_event, until, "day")),
    )


def activity_label(source: Source, event: str) -> str:
    """What counted as activity, for the report's definitions table."""
    if event == "any" and not source.has("events"):
        return "any order (no events table)"
    return event


def check_event(source: Source, event: str) -> None:
    """Raise when ``event`` names no event of the source (a typo would give empty cohorts)."""
    if event in ("any", "order"):
        return
    if not source.has("events"):
        raise InputError("retention.error.no_events", event=repr(event))
    events = source.table("events")
    if int(events.filter(events.event == event).limit(1).count().execute()) == 0:
        names = sorted(events.select("event").distinct().limit(50).execute()["event"].astype(str))
        raise InputError("retention.error.no_event", event=repr(event), found=", ".join(names))


def _restrict(table: ir.Table, users: Any) -> ir.Table:
    """``table`` limited to the user ids in ``users`` (a table with user_id, a column, or ids)."""
    if users is None:
        return table
    if isinstance(users, ir.Table):
        ids = (
            users.select("user_id")
            if "user_id" in users.columns
            else users.select(user_id=users[users.columns[0]])
        )
    elif isinstance(users, ir.Column):
        ids = users.name("user_id").as_table()
    else:
        ids = ibis.memtable({"user_id": list(users)})
    ids = ids.mutate(user_id=ids.user_id.cast(table.user_id.type())).distinct()
    return table.semi_join(ids, "user_id")


def breakdown_columns(source: Any) -> list[str]:
    """User attributes a report can break down by (every users column but id and signup)."""
    source = _src(source)
    if not source.has("users"):
        return []
    return [c for c in source.columns("users") if c not in ("user_id", "signup_ts")]


def usable_breakdown(source: Any, breakdown: str | None) -> str | None:
    """``breakdown`` when the users table has that column, else None (the report says so)."""
    return breakdown if breakdown and breakdown in breakdown_columns(source) else None


def breakdown_values(source: Any, breakdown: str | None) -> list[str]:
    """Every value of the users' ``breakdown`` column as the sections group it (text, a missing
    value as its own group), sorted: the whole set, so a group keeps its colour in every chart."""
    if breakdown is None:
        return []
    users = _src(source).table("users")
    values = users.select(grp=users[breakdown].cast("string").fill_null(MISSING_GROUP)).distinct()
    return sorted(str(v) for v in values.execute()["grp"])


def _with_group(table: ir.Table, source: Source, breakdown: str | None) -> ir.Table:
    """``table`` (with user_id) plus ``grp``: the user's ``breakdown`` attribute as text."""
    if breakdown is None:
        return table.mutate(grp=ibis.literal("all"))
    if breakdown not in breakdown_columns(source):
        raise InputError(
            "retention.error.breakdown",
            breakdown=repr(breakdown),
            valid=", ".join(breakdown_columns(source)) or "—",
        )
    users = source.table("users")
    attrs = users.select(uid=users.user_id, grp=users[breakdown].cast("string"))
    joined = table.left_join(attrs, table.user_id == attrs.uid)
    return joined.drop("uid").mutate(grp=joined.grp.fill_null(MISSING_GROUP))


def _signups(
    src: Source, until_utc: Any, users: Any = None, cohort_start: Any = None, cohort_end: Any = None
) -> ir.Table:
    """Users with an id and a signup no later than ``until_utc``, limited to ``users`` and to
    signups in the local dates [cohort_start, cohort_end]: every cohort's starting population."""
    people = src.table("users", until=inclusive_end(until_utc))
    people = _restrict(people.filter(people.user_id.notnull()), users)
    window = _local_range(src, people.signup_ts, cohort_start, cohort_end)
    return people if window is None else people.filter(window)
