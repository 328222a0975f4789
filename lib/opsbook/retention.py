"""Cohort retention: do the users we acquire come back, buy again, and stay?

Every definition is explicit, because each one changes the numbers (DOMAIN.md, "Retention"):

* **Cohort entry** -- ``cohort_event=None``: the signup (``users.signup_ts``); an event name: its
  occurrences in ``events``; ``"order"``: paid orders. ``entry="first"`` puts a user in the cohort
  of their first occurrence only; ``entry="recurring"`` enters them again in every period in which
  the start event happens (each entry is measured on its own).
* **Return event** -- ``"any"`` (any row of ``events``; a source without events falls back to
  its orders), ``"order"`` (a paid order: status ``paid`` or no status; refunded and cancelled
  orders are not paid) or an event name.
* **Periods** -- ``window="calendar"``: local calendar days, ISO weeks (Monday first) or months
  in the configured time zone, period N = bucket(return) - bucket(entry); ``window="rolling"``:
  N = floor((return time - entry time) / length), with a length of 24 hours, 7 x 24 hours or
  30 x 24 hours (a rolling "month").
* **Criterion** -- ``"on"``: active in period N; ``"on_or_after"``: active in N or any later
  period, taken from each user's last active period (never by summing cells).
* **Completeness** -- a cell whose period has not fully elapsed at ``as_of`` for every member of
  the cohort is incomplete: masked (NaN), never shown as 0. ``as_of`` defaults to the newest
  timestamp in the data, so a day still in progress is incomplete.
* **Period 0** is the entry period itself: 100 % of the cohort by definition.
* **Means across cohorts** -- weighted by cohort size (pooled: retained / users over the cohorts
  complete in that period) and the simple mean of the cohort rates, with the counts behind them.

The heavy work (joins and group-bys over events and orders) is one Ibis expression per question,
run where the data lives; pandas receives per cohort x period counts, per-day counts or per
(group, duration) counts, never events.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import special

from opsbook.data import Source, inclusive_end
from opsbook.engine import keep
from opsbook.plots import PALETTE, STATUS_COLOURS, figure, integer_ticks, percent_ticks
from opsbook.stats import wilson_interval
from opsbook.targets import DEFAULT_TARGETS, retention_targets  # noqa: F401 (the notebook calls them here)

Period = Literal["day", "week", "month"]
Criterion = Literal["on", "on_or_after"]
Entry = Literal["first", "recurring"]
Window = Literal["calendar", "rolling"]

PERIODS = ("day", "week", "month")
CRITERIA = ("on", "on_or_after")
ENTRIES = ("first", "recurring")
WINDOWS = ("calendar", "rolling")
DAY_SECONDS = 86_400
ROLLING_SECONDS = {"day": DAY_SECONDS, "week": 7 * DAY_SECONDS, "month": 30 * DAY_SECONDS}
PERIOD_LETTER = {"day": "D", "week": "W", "month": "M"}
MISSING_GROUP = "(missing)"
PAID = "paid"


# ================================================================================ small helpers
def _src(source: Any) -> Source:
    """A :class:`Source` from a Source or a Report."""
    inner = getattr(source, "source", None)
    return inner if isinstance(inner, Source) else source


def _check(value: Any, allowed: Sequence[Any], name: str) -> Any:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def period_number(source: Source, ts: ir.TimestampValue, period: str) -> ir.IntegerValue:
    """The local calendar period of a naive-UTC timestamp as an integer: days since 1970-01-01,
    Monday-first weeks since then, or months since year 0 (year x 12 + month - 1)."""
    if period == "month":
        local = source.local(ts)
        return local.year().cast("int64") * 12 + local.month().cast("int64") - 1
    day = source.local_day(ts)
    return day if period == "day" else week_of_day(source, day)


def week_of_day(source: Source, day: ir.IntegerValue) -> ir.IntegerValue:
    """The Monday-first week number of a day number (both since 1970-01-01, a Thursday: the
    shift by 3 days makes every week start on a Monday)."""
    return source.floor_divide(day + 3, 7)


def number_of(moment: pd.Timestamp | date, period: str) -> int:
    """:func:`period_number` of a local date/time, in Python."""
    day = pd.Timestamp(moment)
    if period == "month":
        return day.year * 12 + day.month - 1
    days = (day.normalize() - pd.Timestamp("1970-01-01")).days
    return days if period == "day" else (days + 3) // 7


def period_start(number: int, period: str) -> pd.Timestamp:
    """The local date on which period ``number`` starts."""
    number = int(number)
    if period == "month":
        return pd.Timestamp(year=number // 12, month=number % 12 + 1, day=1)
    days = number if period == "day" else 7 * number - 3
    return pd.Timestamp("1970-01-01") + pd.Timedelta(days=days)


def period_label(number: int, period: str) -> str:
    start = period_start(number, period)
    return f"{start:%Y-%m}" if period == "month" else f"{start:%Y-%m-%d}"


def _is_paid(orders: ir.Table) -> ir.BooleanValue:
    if "status" not in orders.columns:
        return ibis.literal(True)
    return orders.status.isnull() | (orders.status == PAID)


def paid_orders(
    source: Source, since: Any = None, until: Any = None, *, local_day: bool = False
) -> ir.Table:
    """Orders that count as paid: status ``paid`` or no status at all (every order without a
    status column); ``since``/``until``/``local_day``: see :meth:`Source.table`."""
    orders = source.table("orders", since=since, until=until, local_day=local_day)
    return orders.filter(_known(orders, since, until) & _is_paid(orders))


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
        raise ValueError(f"event {event!r} needs an events table; the source has none")
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
        raise ValueError(f"event {event!r} needs an events table; the source has none")
    events = source.table("events")
    if int(events.filter(events.event == event).limit(1).count().execute()) == 0:
        names = sorted(events.select("event").distinct().limit(50).execute()["event"].astype(str))
        raise ValueError(f"no event {event!r} in events; events are: {', '.join(names)}")


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


def _with_group(table: ir.Table, source: Source, breakdown: str | None) -> ir.Table:
    """``table`` (with user_id) plus ``grp``: the user's ``breakdown`` attribute as text."""
    if breakdown is None:
        return table.mutate(grp=ibis.literal("all"))
    if breakdown not in breakdown_columns(source):
        raise ValueError(
            f"breakdown {breakdown!r} is not a users column; choose one of "
            f"{', '.join(breakdown_columns(source)) or '(none)'}"
        )
    users = source.table("users")
    attrs = users.select(uid=users.user_id, grp=users[breakdown].cast("string"))
    joined = table.left_join(attrs, table.user_id == attrs.uid)
    return joined.drop("uid").mutate(grp=joined.grp.fill_null(MISSING_GROUP))


# ================================================================================ as of
@dataclass(frozen=True)
class AsOf:
    """The moment the analysis stands at: naive UTC and local wall-clock time."""

    utc: datetime
    local: pd.Timestamp

    @property
    def last_complete_day(self) -> int:
        """Day number (local) of the last day that has fully elapsed."""
        return number_of(self.local, "day") - 1

    def last_complete(self, period: str) -> int:
        """Number of the last calendar period that has fully elapsed (the one holding ``as_of``
        is not, unless as_of is exactly its end -- then it is the previous one's end)."""
        return number_of(self.local, period) - 1


def data_end(source: Any) -> pd.Timestamp:
    """The newest timestamp (local wall clock) in events, orders and users.signup_ts, once per
    open source: every function of a report asks for it, and on a CSV export each question
    would re-read the file."""
    source = _src(source)
    return source.once("data_end", lambda: _newest_local(source))


def _newest_local(source: Source) -> pd.Timestamp:
    latest = []
    for name, column in (("events", "ts"), ("orders", "ts"), ("users", "signup_ts")):
        if source.has(name) and column in source.columns(name):
            value = source.latest(name, column)
            if value is not None:
                latest.append(value)
    if not latest:
        raise ValueError("the source has no timestamps in events, orders or users")
    utc = max(latest)
    return utc.tz_localize("UTC").tz_convert(source.timezone).tz_localize(None)


def resolve_as_of(source: Any, as_of: Any = None) -> AsOf:
    """``as_of`` (a local date or time in the configured zone; None: the end of the data)."""
    source = _src(source)
    local = data_end(source) if as_of is None else pd.Timestamp(as_of)
    if local.tzinfo is not None:
        local = local.tz_convert(source.timezone).tz_localize(None)
    return AsOf(utc=source.utc_from_local(local), local=local)


def trailing_window(source: Any, days: int, as_of: Any = None) -> tuple[date, date]:
    """The last ``days`` complete local days before ``as_of``: (first, last), inclusive."""
    point = resolve_as_of(source, as_of)
    last = period_start(point.last_complete_day, "day").date()
    return last - timedelta(days=int(days) - 1), last


def _signups(
    src: Source, until_utc: Any, users: Any = None, cohort_start: Any = None, cohort_end: Any = None
) -> ir.Table:
    """Users with an id and a signup no later than ``until_utc``, limited to ``users`` and to
    signups in the local dates [cohort_start, cohort_end]: every cohort's starting population."""
    people = src.table("users", until=inclusive_end(until_utc))
    people = _restrict(people.filter(people.user_id.notnull()), users)
    window = _local_range(src, people.signup_ts, cohort_start, cohort_end)
    return people if window is None else people.filter(window)


def _local_range(
    source: Source, ts: ir.TimestampValue, start: Any, end: Any
) -> ir.BooleanValue | None:
    """``start <= local date of ts <= end`` (inclusive local dates), as a filter on naive UTC."""
    parts = []
    if start is not None:
        parts.append(ts >= source.utc_from_local(pd.Timestamp(start).normalize()))
    if end is not None:
        stop = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
        parts.append(ts < source.utc_from_local(stop))
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = out & part
    return out


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
            raise ValueError(f"bracket {item!r}: need 1 <= first <= last")
        if parsed and lo <= parsed[-1].hi:
            raise ValueError(f"bracket {item!r} overlaps or precedes the one before it")
        label = f"{letter}{lo}" if lo == hi else f"{letter}{lo}–{hi}"
        parsed.append(Bracket(lo, hi, label))
    if not parsed:
        raise ValueError("brackets is empty; use None for one column per period")
    return tuple(parsed)


# ================================================================================ the matrix
@dataclass(frozen=True)
class RetentionResult:
    """A retention matrix and what it rests on.

    ``cells`` (long): [group,] cohort (label), cohort_start (local date), period (int, or the
    bracket label), users, retained, rate, complete -- retained and rate are NaN where the cell's
    period has not fully elapsed. ``cohorts``: [group,] cohort, cohort_start, users. ``mean``:
    [group,] period, cohorts, users, retained, weighted (pooled rate over the cohorts complete in
    that period), simple (mean of their rates)."""

    cells: pd.DataFrame
    cohorts: pd.DataFrame
    mean: pd.DataFrame
    periods: tuple
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def grouped(self) -> bool:
        return "group" in self.cells.columns

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(self.cells["group"])) if self.grouped else []

    @property
    def users(self) -> int:
        return int(self.cohorts["users"].sum())

    def wide(self, value: str = "rate", group: str | None = None) -> pd.DataFrame:
        """Cohorts x periods of ``value`` (rate, retained); incomplete cells NaN."""
        cells = self.cells
        if self.grouped:
            cells = cells[cells["group"] == (group if group is not None else self.groups[0])]
        wide = cells.pivot(index="cohort", columns="period", values=value)
        return wide.reindex(columns=[p for p in self.periods if p in wide.columns])

    def long(self) -> pd.DataFrame:
        return self.cells.copy()

    def curve(self, kind: str = "weighted") -> pd.DataFrame:
        """The mean retention per period ([group,] period, rate)."""
        cols = (["group"] if self.grouped else []) + ["period", kind]
        return self.mean[cols].rename(columns={kind: "rate"})

    def matrix_records(self) -> list[dict[str, Any]]:
        """Complete cells as ``{cohort, period, users, retained, rate}`` (for metrics.json)."""
        done = self.cells[self.cells["complete"]]
        cols = (["group"] if self.grouped else []) + ["cohort", "period", "users", "retained"]
        out = []
        for row in done[[*cols, "rate"]].itertuples(index=False):
            record = dict(zip([*cols, "rate"], row, strict=True))
            record["users"] = int(record["users"])
            record["retained"] = int(record["retained"])
            record["period"] = (
                int(record["period"]) if not isinstance(record["period"], str) else record["period"]
            )
            out.append(record)
        return out

    def overall(self) -> RetentionResult:
        """The matrix of all groups together. Exact: every entry belongs to one group, so cohort
        sizes and retained counts add up (for "on_or_after" too)."""
        if not self.grouped:
            return self
        keys = ["cohort", "cohort_start", "period"]
        cells = (
            self.cells.groupby(keys, sort=False)
            .agg(users=("users", "sum"), retained=("retained", "sum"), complete=("complete", "all"))
            .reset_index()
        )
        cells["retained"] = cells["retained"].where(cells["complete"])
        cells["rate"] = cells["retained"] / cells["users"]
        order = {p: i for i, p in enumerate(self.periods)}
        cells = cells.assign(_o=cells["period"].map(order)).sort_values(["cohort_start", "_o"])
        cells = cells.drop(columns="_o").reset_index(drop=True)
        cells = cells[["cohort", "cohort_start", "period", "users", "retained", "rate", "complete"]]
        cohorts = (
            self.cohorts.groupby(["cohort", "cohort_start"], sort=False)["users"]
            .sum()
            .reset_index()
            .sort_values("cohort_start")
            .reset_index(drop=True)
        )
        settings = dict(self.settings) | {"breakdown": None}
        return RetentionResult(cells, cohorts, _means(cells, None), self.periods, settings)

    def metrics(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "cohorts": int(self.cohorts["cohort"].nunique()),
            "period": self.settings.get("period"),
            "criterion": self.settings.get("criterion"),
            "matrix": self.matrix_records(),
        }


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


def retention_matrix(
    source: Any,
    *,
    period: Period = "week",
    criterion: Criterion = "on",
    return_event: str = "any",
    cohort_event: str | None = None,
    entry: Entry = "first",
    window: Window = "calendar",
    brackets: Any = None,
    breakdown: str | None = None,
    users: Any = None,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
) -> RetentionResult:
    """Who of each cohort comes back in each later period? See the module docstring for every
    definition. ``start``/``end``: local dates (inclusive) bounding the cohort entries;
    ``users``: an Ibis table (user_id) or column restricting both entries and returns."""
    src = _src(source)
    _check(period, PERIODS, "period")
    _check(criterion, CRITERIA, "criterion")
    _check(entry, ENTRIES, "entry")
    _check(window, WINDOWS, "window")
    bracket_list = parse_brackets(brackets, period)
    check_event(src, return_event)
    if cohort_event is not None:
        check_event(src, cohort_event)
    point = resolve_as_of(src, as_of)

    entries = _entries(src, cohort_event, entry, period, users, start, end, point)
    entries = _with_group(entries, src, breakdown)
    sizes = entries.group_by("grp", "cohort").aggregate(users=entries.count()).execute()
    returns = _entry_periods(src, entries, return_event, period, window, point, users)

    if bracket_list and criterion == "on":
        cases = [(returns.n.between(b.lo, b.hi), i) for i, b in enumerate(bracket_list)]
        tagged = returns.mutate(b=ibis.cases(*cases, else_=None)).filter(lambda t: t.b.notnull())
        tagged = tagged.select("user_id", "cohort", "grp", "b").distinct()
        counts = tagged.group_by("grp", "cohort", "b").aggregate(k=tagged.count()).execute()
    elif criterion == "on":
        on = returns.filter(returns.n >= 1)
        counts = on.group_by("grp", "cohort", "n").aggregate(k=on.count()).execute()
    else:
        last = returns.group_by("user_id", "cohort", "grp").aggregate(last=returns.n.max())
        counts = last.group_by("grp", "cohort", "last").aggregate(k=last.count()).execute()

    cells = _assemble(sizes, counts, criterion, bracket_list, period, window, point, src)
    settings = {
        "period": period,
        "criterion": criterion,
        "return_event": return_event,
        "activity": activity_label(src, return_event),
        "cohort_event": cohort_event,
        "entry": entry if cohort_event is not None else "first",
        "window": window,
        "brackets": [[b.lo, b.hi] for b in bracket_list] or None,
        "breakdown": breakdown,
        "timezone": src.timezone,
        "as_of": point.local,
        "start": start,
        "end": end,
    }
    return _result(cells, sizes, bracket_list, breakdown, period, settings)


def _complete(
    cohort: np.ndarray, n: np.ndarray, period: str, window: str, point: AsOf, src: Source
) -> np.ndarray:
    """Has period ``n`` after entry fully elapsed at ``as_of`` for every member of the cohort?"""
    if window == "calendar":
        return cohort + n <= point.last_complete(period)
    # rolling: the cohort's last possible entry is just before the next period starts
    nexts = {c: src.utc_from_local(period_start(c + 1, period)) for c in np.unique(cohort)}
    length = timedelta(seconds=ROLLING_SECONDS[period])
    return np.array(
        [nexts[c] + (k + 1) * length <= point.utc for c, k in zip(cohort, n, strict=True)],
        dtype=bool,
    )


def _assemble(
    sizes: pd.DataFrame,
    counts: pd.DataFrame,
    criterion: str,
    brackets: tuple[Bracket, ...],
    period: str,
    window: str,
    point: AsOf,
    src: Source,
) -> pd.DataFrame:
    """Every cohort x period cell (retained counts and completeness) from the engine's counts."""
    sizes = sizes.astype({"cohort": "int64", "users": "int64"})
    if sizes.empty:
        return pd.DataFrame(
            columns=["grp", "cohort", "period", "hi", "users", "retained", "complete"]
        )
    if brackets:
        grid_n = pd.DataFrame(
            {
                "period": [b.label for b in brackets],
                "lo": [b.lo for b in brackets],
                "hi": [b.hi for b in brackets],
                "b": range(len(brackets)),
            }
        )
    else:
        max_n = point.last_complete(period) - int(sizes["cohort"].min()) + 1
        ns = np.arange(0, max(max_n, 0) + 1)
        grid_n = pd.DataFrame({"period": ns, "lo": ns, "hi": ns, "b": ns})
    grid = sizes.merge(grid_n, how="cross")
    counts = counts.rename(columns={"k": "count"})
    if criterion == "on":
        key = "b" if brackets else "n"
        counts = counts.rename(columns={key: "b"}).astype({"b": "int64", "cohort": "int64"})
        grid = grid.merge(
            counts[["grp", "cohort", "b", "count"]], on=["grp", "cohort", "b"], how="left"
        )
        grid["retained"] = grid["count"].fillna(0).astype("int64")
    else:
        # users whose last active period is >= lo: a suffix sum of the last-period histogram
        counts = counts.astype({"last": "int64", "cohort": "int64"})
        keys = pd.MultiIndex.from_frame(grid[["grp", "cohort"]].drop_duplicates())
        width = int(max(counts["last"].max() if not counts.empty else 0, grid["lo"].max())) + 1
        histogram = np.zeros((len(keys), width + 1))
        where = keys.get_indexer(pd.MultiIndex.from_frame(counts[["grp", "cohort"]]))
        np.add.at(histogram, (where, counts["last"].to_numpy()), counts["count"].to_numpy())
        at_least = histogram[:, ::-1].cumsum(axis=1)[:, ::-1]
        rows = keys.get_indexer(pd.MultiIndex.from_frame(grid[["grp", "cohort"]]))
        retained = at_least[rows, grid["lo"].to_numpy()].astype("int64")
        grid["retained"] = retained
    if not brackets:
        grid.loc[grid["period"] == 0, "retained"] = grid.loc[grid["period"] == 0, "users"]
    grid["complete"] = _complete(
        grid["cohort"].to_numpy(), grid["hi"].to_numpy(), period, window, point, src
    )
    return grid[["grp", "cohort", "period", "hi", "users", "retained", "complete"]]


def _means(cells: pd.DataFrame, group: str | None) -> pd.DataFrame:
    """Per [group and] period over the complete cohorts: cohorts, users, retained, weighted
    (pooled: retained / users) and simple (mean of the cohort rates)."""
    keys = ([group] if group else []) + ["period"]
    done = cells[cells["complete"]]
    mean = (
        done.groupby(keys, sort=False)
        .agg(
            cohorts=("cohort", "size"),
            users=("users", "sum"),
            retained=("retained", "sum"),
            simple=("rate", "mean"),
        )
        .reset_index()
    )
    mean["weighted"] = mean["retained"] / mean["users"]
    return mean[[*keys, "cohorts", "users", "retained", "weighted", "simple"]]


def _result(
    cells: pd.DataFrame,
    sizes: pd.DataFrame,
    brackets: tuple[Bracket, ...],
    breakdown: str | None,
    period: str,
    settings: dict[str, Any],
) -> RetentionResult:
    cells = cells.copy()
    if not cells.empty:
        # drop trailing period columns that no cohort has completed yet
        done_hi = cells.loc[cells["complete"], "hi"]
        limit = done_hi.max() if not done_hi.empty else 0
        cells = cells[(cells["hi"] <= limit) | bool(brackets)]
    cells["retained"] = cells["retained"].astype(float).where(cells["complete"])
    cells["rate"] = cells["retained"] / cells["users"]
    cells["cohort_start"] = [period_start(c, period) for c in cells["cohort"]]
    cells["cohort"] = [period_label(c, period) for c in cells["cohort"]]
    cells = cells.sort_values(["grp", "cohort_start", "hi"], kind="stable").reset_index(drop=True)
    periods = (
        tuple(b.label for b in brackets)
        if brackets
        else tuple(int(p) for p in sorted(cells["period"].unique()))
    )
    mean = _means(cells, "grp")
    cohorts = sizes.astype({"cohort": "int64"}).sort_values(["grp", "cohort"])
    cohorts = cohorts.assign(
        cohort_start=[period_start(c, period) for c in cohorts["cohort"]],
        cohort=[period_label(c, period) for c in cohorts["cohort"]],
    )[["grp", "cohort", "cohort_start", "users"]].reset_index(drop=True)
    cell_cols = ["grp", "cohort", "cohort_start", "period", "users", "retained", "rate", "complete"]
    cells = cells[cell_cols]
    frames = [cells, cohorts, mean]
    if breakdown is None:
        frames = [f.drop(columns="grp") for f in frames]
    else:
        frames = [f.rename(columns={"grp": "group"}) for f in frames]
    return RetentionResult(*frames, periods=periods, settings=settings)


# ================================================================================ D1 / D7 / D30
def day_n_retention(
    source: Any,
    days: Iterable[int] = (1, 7, 30),
    *,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
    breakdown: str | None = None,
    cohort_period: str | None = None,
    return_event: str = "any",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """D-N retention (the KPI): the share of users active on local calendar day signup + N.

    Active = any event that local day (``return_event``). Only users whose day N has fully
    elapsed by ``as_of`` are eligible. Columns: [group,] [cohort,] day, eligible, retained, rate,
    low, high (Wilson interval at ``alpha``). ``cohort_period`` (day/week/month) adds one row per
    signup cohort; ``cohort_start``/``cohort_end`` bound the signups (local dates, inclusive)."""
    src = _src(source)
    days = sorted({int(d) for d in days})
    if not days or days[0] < 1:
        raise ValueError("days must be integers >= 1")
    if cohort_period is not None:
        _check(cohort_period, PERIODS, "cohort_period")
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    last_day = point.last_complete_day

    users_t = _signups(src, point.utc, users, cohort_start, cohort_end)
    signups = users_t.select(
        "user_id",
        sday=period_number(src, users_t.signup_ts, "day"),
        cohort=(
            period_number(src, users_t.signup_ts, cohort_period)
            if cohort_period
            else ibis.literal(0, type="int64")
        ),
    )
    signups = _with_group(signups, src, breakdown)
    acts = active_periods(src, return_event, point.utc, "day")
    acts = acts.select("user_id", day=acts.p)
    joined = signups.join(acts, "user_id")
    joined = joined.mutate(k=joined.day - joined.sday)
    joined = joined.filter(joined.k.isin(days) & (joined.day <= last_day))
    retained = joined.group_by("grp", "cohort", "k").aggregate(retained=joined.count()).execute()
    per_day = signups.group_by("grp", "cohort", "sday").aggregate(n=signups.count()).execute()

    rows = []
    for (grp, cohort), part in per_day.groupby(["grp", "cohort"]):
        for k in days:
            eligible = int(part.loc[part["sday"] + k <= last_day, "n"].sum())
            rows.append({"grp": grp, "cohort": cohort, "day": k, "eligible": eligible})
    frame = pd.DataFrame(rows, columns=["grp", "cohort", "day", "eligible"])
    frame = frame.merge(
        retained.rename(columns={"k": "day"}), on=["grp", "cohort", "day"], how="left"
    )
    frame["retained"] = frame["retained"].fillna(0).astype("int64")
    frame["eligible"] = frame["eligible"].astype("int64")
    frame["rate"] = frame["retained"] / frame["eligible"].where(frame["eligible"] > 0)
    low, high = wilson_interval(frame["retained"].to_numpy(), frame["eligible"].to_numpy(), alpha)
    frame["low"], frame["high"] = low, high
    frame = frame.sort_values(["grp", "cohort", "day"]).reset_index(drop=True)
    if cohort_period:
        frame["cohort"] = [period_label(c, cohort_period) for c in frame["cohort"]]
    else:
        frame = frame.drop(columns="cohort")
    if breakdown is None:
        frame = frame.drop(columns="grp")
    else:
        frame = frame.rename(columns={"grp": "group"})
    frame.attrs.update(as_of=point.local, return_event=return_event, timezone=src.timezone)
    return frame


def day_n_by(day_n: pd.DataFrame, by: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`day_n_retention` rows pooled over everything but ``by`` (``cohort``, ``group`` or
    None for overall): eligible and retained add up across disjoint groups of users, so one
    engine query with a breakdown and cohorts gives every view. Rates and Wilson intervals are
    recomputed; the result has the columns of a day_n_retention frame."""
    keys = ([by] if by else []) + ["day"]
    if by is not None and by not in day_n.columns:
        raise ValueError(f"day_n has no column {by!r}")
    frame = day_n.groupby(keys, sort=True)[["eligible", "retained"]].sum().reset_index()
    frame["rate"] = frame["retained"] / frame["eligible"].where(frame["eligible"] > 0)
    low, high = wilson_interval(frame["retained"].to_numpy(), frame["eligible"].to_numpy(), alpha)
    frame["low"], frame["high"] = low, high
    frame.attrs.update(day_n.attrs)
    return frame


def against_targets(day_n: pd.DataFrame, targets: Mapping[str, float]) -> pd.DataFrame:
    """``day_n`` (overall rows) with the target of each day and whether the rate meets it."""
    frame = day_n.copy()
    frame["target"] = [targets.get(f"d{d}", np.nan) for d in frame["day"]]
    frame["met"] = [
        bool(r >= t) if pd.notna(r) and pd.notna(t) else None
        for r, t in zip(frame["rate"], frame["target"], strict=True)
    ]
    return frame


# ================================================================================ rates
@dataclass(frozen=True)
class RateResult:
    """A proportion with its counts and Wilson interval, overall and per group.

    ``groups``: group, successes, n, rate, low, high (empty without a breakdown)."""

    name: str
    successes: int
    n: int
    low: float
    high: float
    definition: dict[str, Any]
    groups: pd.DataFrame

    @property
    def value(self) -> float | None:
        return self.successes / self.n if self.n else None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "successes": self.successes,
                    "n": self.n,
                    "rate": self.value,
                    "low": self.low,
                    "high": self.high,
                }
            ]
        )

    def metrics(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "successes": self.successes,
            "n": self.n,
            "low": self.low,
            "high": self.high,
            **self.definition,
        }


def _rate(name: str, counts: pd.DataFrame, definition: dict, alpha: float, grouped: bool):
    """A RateResult from per-group ``grp, successes, n``."""
    s, n = int(counts["successes"].sum()), int(counts["n"].sum())
    low, high = wilson_interval(s, n, alpha)
    groups = pd.DataFrame(columns=["group", "successes", "n", "rate", "low", "high"])
    if grouped and not counts.empty:
        groups = counts.rename(columns={"grp": "group"}).astype(
            {"successes": "int64", "n": "int64"}
        )
        groups["rate"] = groups["successes"] / groups["n"].where(groups["n"] > 0)
        g_low, g_high = wilson_interval(
            groups["successes"].to_numpy(), groups["n"].to_numpy(), alpha
        )
        groups["low"], groups["high"] = g_low, g_high
        groups = groups.sort_values("group").reset_index(drop=True)
    return RateResult(name, s, n, low, high, definition, groups)


def first_order_conversion(
    source: Any,
    *,
    within_days: int = 30,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
    breakdown: str | None = None,
    alpha: float = 0.05,
) -> RateResult:
    """新用户首单转化率: new users with a paid order in [signup, signup + within_days x 24 h) /
    new users. Only users whose window has fully elapsed by ``as_of`` count; signups bounded by
    ``cohort_start``/``cohort_end`` (local dates, inclusive)."""
    src = _src(source)
    point = resolve_as_of(src, as_of)
    counts = first_order_counts(
        src,
        within_days=within_days,
        cohorts=[(cohort_start, cohort_end, point.local)],
        users=users,
        breakdown=breakdown,
    )
    definition = {
        "within_days": int(within_days),
        "cohort_start": _iso(cohort_start),
        "cohort_end": _iso(cohort_end),
        "as_of": _iso(point.local),
    }
    return _rate("first_order_conversion", counts, definition, alpha, breakdown is not None)


def first_order_counts(
    source: Any,
    *,
    within_days: int,
    cohorts: Sequence[tuple[Any, Any, Any]],
    users: Any = None,
    breakdown: str | None = None,
) -> pd.DataFrame:
    """``cohort, grp, n, successes`` of :func:`first_order_conversion` for several cohorts in
    one query: ``cohort`` is the position in ``cohorts``, each ``(cohort_start, cohort_end,
    as_of)`` (a weekly dashboard asks for twelve)."""
    src = _src(source)
    if int(within_days) < 1:
        raise ValueError("within_days must be >= 1")
    span = timedelta(days=int(within_days))
    parts = []
    for i, (start, end, as_of) in enumerate(cohorts):
        # only users whose whole conversion window has elapsed
        until = resolve_as_of(src, as_of).utc - span
        part = _signups(src, until, users, start, end)
        parts.append(part.select("user_id", "signup_ts", cohort=ibis.literal(i, "int64")))
    new = _with_group(ibis.union(*parts, distinct=False), src, breakdown)
    paid = paid_orders(src).select(buyer=lambda t: t.user_id, ts=lambda t: t.ts)
    joined = new.join(paid, new.user_id == paid.buyer)
    joined = joined.filter((joined.ts >= joined.signup_ts) & (joined.ts < joined.signup_ts + span))
    converted = joined.select(cid=joined.user_id, c=joined.cohort, hit=ibis.literal(1)).distinct()
    flagged = new.left_join(converted, (new.user_id == converted.cid) & (new.cohort == converted.c))
    counts = (
        flagged.group_by("cohort", "grp")
        .aggregate(n=flagged.count(), successes=flagged.hit.fill_null(0).sum())
        .execute()
    )
    return counts.sort_values(["cohort", "grp"]).reset_index(drop=True)


def repeat_purchase_rate(
    source: Any,
    *,
    start: Any,
    end: Any,
    users: Any = None,
    breakdown: str | None = None,
    min_orders: int = 2,
    alpha: float = 0.05,
) -> RateResult:
    """老用户复购率: buyers of the window with >= ``min_orders`` paid orders / buyers of the
    window (at least one paid order). The window is [start, end], local dates inclusive."""
    if start is None or end is None:
        raise ValueError("repeat_purchase_rate needs the window: start and end (local dates)")
    counts = repeat_purchase_counts(
        source, windows=[(start, end)], users=users, breakdown=breakdown, min_orders=min_orders
    )
    definition = {"start": _iso(start), "end": _iso(end), "min_orders": int(min_orders)}
    return _rate("repeat_purchase_rate", counts, definition, alpha, breakdown is not None)


def repeat_purchase_counts(
    source: Any,
    *,
    windows: Sequence[tuple[Any, Any]],
    users: Any = None,
    breakdown: str | None = None,
    min_orders: int = 2,
) -> pd.DataFrame:
    """``window, grp, n, successes`` of :func:`repeat_purchase_rate` for several windows in one
    query: ``window`` is the position in ``windows``, each ``(start, end)``."""
    src = _src(source)
    paid = _restrict(paid_orders(src), users)
    parts = [
        paid.filter(_local_range(src, paid.ts, start, end)).select(
            "user_id", window=ibis.literal(i, "int64")
        )
        for i, (start, end) in enumerate(windows)
    ]
    paid = ibis.union(*parts, distinct=False)
    per_user = paid.group_by("window", "user_id").aggregate(orders=paid.count())
    per_user = _with_group(per_user, src, breakdown)
    counts = (
        per_user.group_by("window", "grp")
        .aggregate(n=per_user.count(), successes=(per_user.orders >= int(min_orders)).sum())
        .execute()
    )
    counts["successes"] = counts["successes"].fillna(0)
    return counts.sort_values(["window", "grp"]).reset_index(drop=True)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()


# ================================================================================ stickiness
@dataclass(frozen=True)
class StickinessResult:
    """``daily``: date, dau, wau, mau, dau_mau -- WAU/MAU = distinct actives in the trailing 7/30
    local days; dau_mau = mean DAU over those 30 days / MAU (NaN while fewer than 30 days of data
    lie behind a day). ``histogram``: active_days (1..28), users, share -- active days of each
    user active in the last 28 complete days."""

    daily: pd.DataFrame
    histogram: pd.DataFrame
    as_of: pd.Timestamp

    @property
    def latest(self) -> pd.Series | None:
        valid = self.daily.dropna(subset=["dau_mau"])
        return valid.iloc[-1] if not valid.empty else None

    @property
    def dau_mau(self) -> float | None:
        latest = self.latest
        return float(latest["dau_mau"]) if latest is not None else None

    def metrics(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "dau_mau": self.dau_mau,
            "date": None if latest is None else latest["date"].date().isoformat(),
            "dau": None if latest is None else int(latest["dau"]),
            "mau": None if latest is None else int(latest["mau"]),
        }


def _trailing_steps(days: ir.Table, widths: Sequence[int]) -> ir.Table:
    """Per width and local day d: +1/-1 steps (``w, d, k``) whose running sum over d counts the
    distinct users active in [d - width + 1, d]. Each user-day covers [day, day + width - 1];
    only the part not already covered by the user's previous active day is new, so each user
    is counted once. Width 1 gives DAU. One query for every width."""
    w = ibis.window(group_by="user_id", order_by="day")
    lagged = days.mutate(prev=days.day.lag().over(w))
    parts = []
    for width in widths:
        steps = lagged.select(
            on=ibis.greatest(lagged.day, (lagged.prev + width).fill_null(lagged.day)),
            off=lagged.day + width,
        )
        parts.append(
            steps.group_by(d=steps.on).aggregate(k=steps.count()).mutate(w=ibis.literal(width))
        )
        parts.append(
            steps.group_by(d=steps.off).aggregate(k=-steps.count()).mutate(w=ibis.literal(width))
        )
    return ibis.union(*parts, distinct=False)


def stickiness(
    source: Any,
    *,
    as_of: Any = None,
    users: Any = None,
    return_event: str = "any",
    start: Any = None,
) -> StickinessResult:
    """DAU, WAU, MAU per complete local day up to ``as_of``; DAU/MAU (the KPI: mean daily
    actives over the trailing 30 days / distinct actives of those 30 days); and the histogram of
    active days among the last 28 complete days."""
    src = _src(source)
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    last = point.last_complete_day
    days = active_periods(src, return_event, point.utc, "day", users)
    days = days.select("user_id", day=days.p).filter(lambda t: t.day <= last)
    shown = days
    if start is not None:  # the days from ``start`` need the 29 before it, no earlier ones
        shown = days.filter(days.day >= number_of(pd.Timestamp(start), "day") - 29)
    steps = _trailing_steps(shown, (1, 7, 30)).execute()
    if steps.empty:
        empty = pd.DataFrame(columns=["date", "dau", "wau", "mau", "dau_mau"])
        hist = pd.DataFrame(columns=["active_days", "users", "share"])
        return StickinessResult(empty, hist, point.local)
    first = int(steps["d"].min())
    index = np.arange(first, last + 1)
    out = pd.DataFrame({"day": index})
    for name, width in (("dau", 1), ("wau", 7), ("mau", 30)):
        mine = steps[steps["w"] == width].groupby("d")["k"].sum()
        running = mine.reindex(np.arange(first, last + width + 1), fill_value=0).cumsum()
        out[name] = running.reindex(index).to_numpy().astype("int64")
    warm = out["day"] - first >= 29
    mean_dau = out["dau"].rolling(30, min_periods=30).mean()
    out["dau_mau"] = (mean_dau / out["mau"].where(out["mau"] > 0)).where(warm)
    out["date"] = [period_start(d, "day") for d in out["day"]]
    if start is not None:
        out = out[out["date"] >= pd.Timestamp(start)]
    daily = out[["date", "dau", "wau", "mau", "dau_mau"]].reset_index(drop=True)

    recent = days.filter(days.day >= last - 27)
    per_user = recent.group_by("user_id").aggregate(k=recent.count())
    hist = per_user.group_by("k").aggregate(users=per_user.count()).execute()
    hist = (
        hist.rename(columns={"k": "active_days"})
        .set_index("active_days")
        .reindex(range(1, 29), fill_value=0)
        .reset_index()
    )
    total = hist["users"].sum()
    hist["share"] = hist["users"] / total if total else np.nan
    return StickinessResult(daily, hist, point.local)


# ================================================================================ lifecycle
@dataclass(frozen=True)
class LifecycleResult:
    """Growth accounting per period: new (signed up in the period), retained (active in the
    period and the one before), resurrected (active, not new, inactive in the period before),
    dormant (active in the period before, not in this one; shown negative in charts).
    active = new + retained + resurrected; quick_ratio = (new + resurrected) / dormant."""

    frame: pd.DataFrame
    period: str

    def metrics(self) -> dict[str, Any]:
        if self.frame.empty:
            return {}
        last = self.frame.iloc[-1]
        return {
            "period": self.period,
            "latest": last["period_start"].date().isoformat(),
            **{k: int(last[k]) for k in ("new", "retained", "resurrected", "dormant", "active")},
            "quick_ratio": None if pd.isna(last["quick_ratio"]) else float(last["quick_ratio"]),
        }


def lifecycle(
    source: Any,
    period: Period = "week",
    *,
    as_of: Any = None,
    users: Any = None,
    return_event: str = "any",
) -> LifecycleResult:
    """New, retained, resurrected and dormant users per complete local period. A user is active
    in a period with a ``return_event`` in it, and in the period of their signup."""
    src = _src(source)
    _check(period, PERIODS, "period")
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    last = point.last_complete(period)
    people = _signups(src, point.utc, users)
    signup = people.select("user_id", sp=period_number(src, people.signup_ts, period))
    acts = active_periods(src, return_event, point.utc, period, users)
    active = acts.union(signup.select("user_id", p=signup.sp)).distinct()
    active = active.join(signup, "user_id")
    w = ibis.window(group_by="user_id", order_by="p")
    active = active.mutate(prev=active.p.lag().over(w), next=active.p.lead().over(w))
    status = ibis.cases(
        (active.p == active.sp, "new"),
        (active.prev == active.p - 1, "retained"),
        else_="resurrected",
    )
    tagged = active.mutate(status=status)
    gone = tagged.filter(tagged.next.isnull() | (tagged.next != tagged.p + 1))
    counts = ibis.union(
        tagged.group_by("p", "status").aggregate(k=tagged.count()),
        gone.group_by(p=gone.p + 1, status=ibis.literal("dormant")).aggregate(k=gone.count()),
        distinct=False,
    ).execute()
    wide = counts.pivot_table(index="p", columns="status", values="k", fill_value=0)
    wide = wide.reindex(columns=["new", "retained", "resurrected", "dormant"], fill_value=0)
    wide = wide[wide.index <= last]
    if wide.empty:
        frame = pd.DataFrame(
            columns=[
                "period_start",
                "new",
                "retained",
                "resurrected",
                "dormant",
                "active",
                "quick_ratio",
            ]
        )
        return LifecycleResult(frame, period)
    index = np.arange(int(wide.index.min()), last + 1)
    wide = wide.reindex(index, fill_value=0).astype("int64")
    wide["active"] = wide["new"] + wide["retained"] + wide["resurrected"]
    wide["quick_ratio"] = (wide["new"] + wide["resurrected"]) / wide["dormant"].where(
        wide["dormant"] > 0
    )
    wide["period_start"] = [period_start(p, period) for p in wide.index]
    frame = wide.reset_index(drop=True)[
        ["period_start", "new", "retained", "resurrected", "dormant", "active", "quick_ratio"]
    ]
    return LifecycleResult(frame, period)


# ================================================================================ revenue
@dataclass(frozen=True)
class LtvResult:
    """Cumulative paid revenue per user by cohort age (calendar periods since signup).

    ``cells``: [group,] cohort, cohort_start, age, users, revenue (in that age), cumulative, ltv
    (cumulative / users); only ages that have fully elapsed. ``curve``: [group,] age, cohorts,
    users, revenue_per_user, ltv -- revenue_per_user is the revenue at that age / users, pooled
    over the cohorts complete at that age, and ltv its running sum, so the curve never falls
    when older ages rest on fewer cohorts."""

    cells: pd.DataFrame
    curve: pd.DataFrame
    period: str

    def ltv_at(self, age: int, group: str | None = None) -> float | None:
        curve = self.curve
        if group is not None and "group" in curve.columns:
            curve = curve[curve["group"] == group]
        row = curve[curve["age"] == age]
        return float(row["ltv"].iloc[0]) if not row.empty else None


def ltv_curves(
    source: Any,
    *,
    period: Period = "month",
    breakdown: str | None = None,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
) -> LtvResult:
    """LTV (用户生命周期价值): cumulative paid revenue per user of each signup cohort at age N
    (N = local calendar periods since the signup period; orders before signup are ignored)."""
    src = _src(source)
    _check(period, PERIODS, "period")
    point = resolve_as_of(src, as_of)
    people = _signups(src, point.utc, users, cohort_start, cohort_end)
    cohorts = people.select(
        "user_id", "signup_ts", cohort=period_number(src, people.signup_ts, period)
    )
    cohorts = _with_group(cohorts, src, breakdown)
    sizes = cohorts.group_by("grp", "cohort").aggregate(users=cohorts.count()).execute()
    paid = paid_orders(src, until=inclusive_end(point.utc))
    paid = paid.select(buyer=paid.user_id, ts=paid.ts, amount=paid.amount)
    joined = cohorts.join(paid, cohorts.user_id == paid.buyer)
    joined = joined.filter(joined.ts >= joined.signup_ts)
    joined = joined.mutate(age=period_number(src, joined.ts, period) - joined.cohort)
    revenue = (
        joined.group_by("grp", "cohort", "age").aggregate(revenue=joined.amount.sum()).execute()
    )
    last = point.last_complete(period)
    columns = ["grp", "cohort", "age", "users", "revenue", "cumulative", "ltv", "complete"]
    if sizes.empty:
        cells = pd.DataFrame(columns=columns)
    else:
        sizes = sizes.astype({"cohort": "int64"})
        ages = pd.DataFrame({"age": np.arange(0, max(last - int(sizes["cohort"].min()), 0) + 1)})
        cells = sizes.merge(ages, how="cross").merge(
            revenue.astype({"cohort": "int64", "age": "int64"}),
            on=["grp", "cohort", "age"],
            how="left",
        )
        cells["revenue"] = cells["revenue"].fillna(0.0)
        cells = cells.sort_values(["grp", "cohort", "age"])
        cells["cumulative"] = cells.groupby(["grp", "cohort"])["revenue"].cumsum()
        cells["complete"] = cells["cohort"] + cells["age"] <= last
        cells = cells[cells["complete"]].copy()
        cells["ltv"] = cells["cumulative"] / cells["users"]
    curve = (
        cells.groupby(["grp", "age"])
        .agg(cohorts=("cohort", "size"), users=("users", "sum"), revenue=("revenue", "sum"))
        .reset_index()
        .sort_values(["grp", "age"])
    )
    curve["revenue_per_user"] = curve["revenue"] / curve["users"]
    curve["ltv"] = curve.groupby("grp")["revenue_per_user"].cumsum()
    curve = curve[["grp", "age", "cohorts", "users", "revenue_per_user", "ltv"]]
    cells = cells.assign(
        cohort_start=[period_start(c, period) for c in cells["cohort"]],
        cohort=[period_label(c, period) for c in cells["cohort"]],
    )[["grp", "cohort", "cohort_start", "age", "users", "revenue", "cumulative", "ltv"]]
    frames = [cells.reset_index(drop=True), curve]
    if breakdown is None:
        frames = [f.drop(columns="grp") for f in frames]
    else:
        frames = [f.rename(columns={"grp": "group"}) for f in frames]
    return LtvResult(frames[0], frames[1], period)


def cac_payback(source: Any, ltv: LtvResult, *, channel: str = "channel") -> pd.DataFrame:
    """CAC and its payback per acquisition channel with spend.

    CAC = spend of the channel over the spend table's dates / users of that channel who signed
    up on those (local) dates. Payback = the first cohort age at which the channel's LTV (gross
    paid revenue per user, not margin) reaches the CAC; None when not yet reached.
    ``ltv`` must be broken down by ``channel``. Columns: channel, spend, new_users, cac,
    ltv_latest, age_latest, payback_age."""
    src = _src(source)
    columns = ["channel", "spend", "new_users", "cac", "ltv_latest", "age_latest", "payback_age"]
    if not src.has("spend") or "group" not in ltv.curve.columns:
        return pd.DataFrame(columns=columns)
    spend = src.table("spend")
    totals = (
        spend.group_by("channel")
        .aggregate(spend=spend.cost.sum(), first=spend.date.min(), last=spend.date.max())
        .execute()
    )
    people = src.table("users")
    rows = []
    for row in totals.itertuples():
        if pd.isna(row.first):
            continue
        mine = people.filter(people[channel].cast("string") == str(row.channel))
        mine = mine.filter(_local_range(src, mine.signup_ts, row.first, row.last))
        new_users = int(mine.count().execute())
        cac = float(row.spend) / new_users if new_users else np.nan
        curve = ltv.curve[ltv.curve["group"] == str(row.channel)].sort_values("age")
        reached = curve[curve["ltv"] >= cac] if np.isfinite(cac) else curve.iloc[0:0]
        rows.append(
            {
                "channel": str(row.channel),
                "spend": float(row.spend),
                "new_users": new_users,
                "cac": cac,
                "ltv_latest": float(curve["ltv"].iloc[-1]) if not curve.empty else np.nan,
                "age_latest": int(curve["age"].iloc[-1]) if not curve.empty else None,
                "payback_age": int(reached["age"].iloc[0]) if not reached.empty else None,
            }
        )
    return pd.DataFrame(rows, columns=columns)


# ================================================================================ survival
def kaplan_meier(
    durations: Any, events: Any, weights: Any = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Kaplan–Meier estimate of S(t) = P(T > t) from right-censored data.

    ``events``: 1 = the event (churn) was observed at ``durations``, 0 = censored there;
    ``weights``: how many users each row stands for (aggregated input). Returns one row per
    distinct time: time, at_risk, events, censored, survival, low, high -- the interval is the
    log(-log) ("exponential Greenwood") one at level 1 - alpha. At a tie, events come before
    censoring (a user censored at t was at risk at t)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=float)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    if not (len(t) == len(e) == len(w)):
        raise ValueError("durations, events and weights need the same length")
    columns = ["time", "at_risk", "events", "censored", "survival", "low", "high"]
    if len(t) == 0 or w.sum() == 0:
        return pd.DataFrame(columns=columns)
    times, inverse = np.unique(t, return_inverse=True)
    died = np.bincount(inverse, weights=w * (e > 0), minlength=len(times))
    total = np.bincount(inverse, weights=w, minlength=len(times))
    at_risk = total[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(at_risk > 0, 1 - died / at_risk, 1.0)
        survival = np.cumprod(step)
        green = np.cumsum(
            np.where((at_risk > died) & (died > 0), died / (at_risk * (at_risk - died)), 0.0)
        )
        z = special.ndtri(1 - alpha / 2)
        log_s = np.log(survival)
        spread = z * np.sqrt(green) / np.abs(log_s)
        loglog = np.log(-log_s)
        low = np.exp(-np.exp(loglog + spread))
        high = np.exp(-np.exp(loglog - spread))
    low = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, low))
    high = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, high))
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "events": died,
            "censored": total - died,
            "survival": survival,
            "low": low,
            "high": high,
        }
    )


def median_survival(curve: pd.DataFrame) -> float:
    """The first time at which the survival curve is at or below 0.5 (inf if never)."""
    below = curve[curve["survival"] <= 0.5]
    return float(below["time"].iloc[0]) if not below.empty else math.inf


@dataclass(frozen=True)
class LogRankResult:
    """The log-rank test of H0: the groups share one survival function (two-sided, chi-square
    with groups - 1 degrees of freedom). ``table``: group, observed, expected."""

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame


def logrank_test(durations: Any, events: Any, groups: Any, weights: Any = None) -> LogRankResult:
    """Log-rank (Mantel–Cox) test across any number of groups on right-censored data.

    At each distinct event time with n at risk and d events, group k expects d x n_k / n; the
    statistic is (O - E)' V^-1 (O - E) over the first K - 1 groups, V the hypergeometric
    covariance d (n - d) / (n - 1) x n_k / n x (1[k=l] - n_l / n)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=float) > 0
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    labels, g = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    k = len(labels)
    if k < 2:
        table = pd.DataFrame({"group": labels, "observed": [w[e].sum()], "expected": [w[e].sum()]})
        return LogRankResult(math.nan, 0, math.nan, table)
    times, inverse = np.unique(t, return_inverse=True)
    m = len(times)
    n_kt = np.zeros((k, m))
    d_kt = np.zeros((k, m))
    np.add.at(n_kt, (g, inverse), w)
    np.add.at(d_kt, (g, inverse), w * e)
    at_risk_kt = n_kt[:, ::-1].cumsum(axis=1)[:, ::-1]
    n_t = at_risk_kt.sum(axis=0)
    d_t = d_kt.sum(axis=0)
    use = (d_t > 0) & (n_t > 0)
    share = at_risk_kt[:, use] / n_t[use]
    expected = (d_t[use] * share).sum(axis=1)
    observed = d_kt.sum(axis=1)
    factor = np.where(
        n_t[use] > 1, d_t[use] * (n_t[use] - d_t[use]) / np.maximum(n_t[use] - 1, 1), 0.0
    )
    cov = np.einsum("t,kt,lt->kl", factor, share, -share)
    cov[np.diag_indices(k)] += (factor * share).sum(axis=1)
    diff = (observed - expected)[: k - 1]
    statistic = float(diff @ np.linalg.pinv(cov[: k - 1, : k - 1]) @ diff)
    p_value = float(special.chdtrc(k - 1, statistic))
    table = pd.DataFrame({"group": labels, "observed": observed, "expected": expected})
    return LogRankResult(statistic, k - 1, p_value, table)


@dataclass(frozen=True)
class SurvivalResult:
    """Time to churn per group (Kaplan–Meier) and the log-rank test between the groups.

    Lifetime = days from the signup day to the last active day; churned = no activity for
    ``churn_days`` complete days after it by ``as_of``; users not churned are censored at
    (last complete day - churn_days - signup day), what the churn rule can know of them
    (users who signed up fewer than ``churn_days`` days ago are not yet at risk and left out).
    ``counts``: [group,] duration, event, users (the engine's aggregate). ``curves``: group plus
    the :func:`kaplan_meier` columns. ``summary``: group, users, churned, censored,
    median_lifetime (days; inf if over half are still active)."""

    counts: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    logrank: LogRankResult | None
    churn_days: int
    breakdown: str | None

    def metrics(self) -> dict[str, Any]:
        overall = self.summary[self.summary["group"] == "all"]
        return {
            "churn_days": self.churn_days,
            "median_lifetime_days": (
                float(overall["median_lifetime"].iloc[0]) if not overall.empty else None
            ),
            "logrank_p": None if self.logrank is None else self.logrank.p_value,
        }


def churn_survival(
    source: Any,
    *,
    churn_days: int = 30,
    breakdown: str | None = None,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    as_of: Any = None,
    return_event: str = "any",
    alpha: float = 0.05,
) -> SurvivalResult:
    """Churn as survival: Kaplan–Meier curves of lifetime per group, medians, and log-rank.
    The engine returns counts per (group, duration, event); see :class:`SurvivalResult`."""
    src = _src(source)
    churn_days = int(churn_days)
    if churn_days < 1:
        raise ValueError("churn_days must be >= 1")
    check_event(src, return_event)
    point = resolve_as_of(src, as_of)
    last = point.last_complete_day
    people = _signups(src, point.utc, users, cohort_start, cohort_end)
    signup = people.select("user_id", sday=period_number(src, people.signup_ts, "day"))
    signup = signup.filter(signup.sday <= last - churn_days)
    signup = _with_group(signup, src, breakdown)
    acts = active_periods(src, return_event, point.utc, "day")
    acts = acts.filter(acts.p <= last)
    latest = acts.group_by(aid="user_id").aggregate(last_day=acts.p.max())
    joined = signup.left_join(latest, signup.user_id == latest.aid)
    last_active = ibis.greatest(joined.sday, joined.last_day.fill_null(joined.sday))
    churned = last_active <= last - churn_days
    per_user = joined.select(
        "grp",
        event=churned.cast("int64"),
        duration=ibis.ifelse(churned, last_active - joined.sday, last - churn_days - joined.sday),
    )
    counts = (
        per_user.group_by("grp", "duration", "event")
        .aggregate(users=per_user.count())
        .execute()
        .sort_values(["grp", "duration", "event"])
        .reset_index(drop=True)
    )
    curves, summary = [], []
    parts = [("all", counts)]
    if breakdown is not None:
        parts += list(counts.groupby("grp"))
    for name, part in parts:
        curve = kaplan_meier(part["duration"], part["event"], part["users"], alpha)
        curves.append(curve.assign(group=name))
        churned_n = int(part.loc[part["event"] == 1, "users"].sum())
        summary.append(
            {
                "group": name,
                "users": int(part["users"].sum()),
                "churned": churned_n,
                "censored": int(part["users"].sum()) - churned_n,
                "median_lifetime": median_survival(curve) if not curve.empty else np.nan,
            }
        )
    test = None
    if breakdown is not None and counts["grp"].nunique() > 1:
        test = logrank_test(counts["duration"], counts["event"], counts["grp"], counts["users"])
    curves_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    if not curves_frame.empty:
        curves_frame = curves_frame[["group", *[c for c in curves_frame.columns if c != "group"]]]
    counts = counts.rename(columns={"grp": "group"})
    if breakdown is None:
        counts = counts.drop(columns="group")
    return SurvivalResult(counts, curves_frame, pd.DataFrame(summary), test, churn_days, breakdown)


# ================================================================================ report pieces
def report_metrics(
    matrix: RetentionResult,
    day_n: pd.DataFrame,
    targets: Mapping[str, float],
    stick: StickinessResult | None = None,
    conversion: RateResult | None = None,
    repeat: RateResult | None = None,
    lifecycle_result: LifecycleResult | None = None,
    survival: SurvivalResult | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """metrics.json (issue 4, item 9) and the 3-5 headline numbers of the run's index."""
    rates = {f"d{int(r.day)}": r for r in day_n.itertuples()}
    base = matrix.metrics()
    metrics: dict[str, Any] = {
        "users": base["users"],
        "cohorts": base["cohorts"],
        "period": base["period"],
        "criterion": base["criterion"],
    }
    for key in ("d1", "d7", "d30"):
        metrics[key] = float(rates[key].rate) if key in rates else None
    metrics["targets_met"] = {
        key: (
            bool(metrics[key] >= targets[key])
            if metrics[key] is not None and not math.isnan(metrics[key])
            else None
        )
        for key in ("d1", "d7", "d30")
    }
    metrics["dau_mau"] = stick.dau_mau if stick is not None else None
    metrics["first_order_conversion"] = conversion.value if conversion is not None else None
    metrics["repeat_purchase_rate"] = repeat.value if repeat is not None else None
    metrics["matrix"] = base["matrix"]
    metrics["targets"] = dict(targets)
    metrics["day_n"] = {
        key: {
            "eligible": int(r.eligible),
            "retained": int(r.retained),
            "low": r.low,
            "high": r.high,
        }
        for key, r in rates.items()
    }
    metrics["settings"] = {k: v for k, v in matrix.settings.items() if k != "as_of"}
    metrics["as_of"] = matrix.settings.get("as_of")
    if conversion is not None:
        metrics["first_order"] = conversion.metrics()
    if repeat is not None:
        metrics["repeat_purchase"] = repeat.metrics()
    if lifecycle_result is not None:
        metrics["lifecycle"] = lifecycle_result.metrics()
    if survival is not None:
        metrics["survival"] = survival.metrics()

    def status(key: str, value: float | None, high: float | None = None) -> str | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if value >= targets[key]:
            return "green"
        return "amber" if high is not None and high >= targets[key] else "red"

    headline = [
        {
            "label": f"retention.h.{key}",
            "value": metrics[key],
            "format": "pct",
            "status": status(key, metrics[key], rates[key].high if key in rates else None),
        }
        for key in ("d1", "d7", "d30")
    ]
    headline.append(
        {
            "label": "retention.h.dau_mau",
            "value": metrics["dau_mau"],
            "format": "float",
            "status": status("dau_mau", metrics["dau_mau"]),
        }
    )
    if conversion is not None:
        headline.append(
            {
                "label": "retention.h.first_order_conversion",
                "value": conversion.value,
                "format": "pct",
                "status": status("first_order_conversion", conversion.value, conversion.high),
            }
        )
    return metrics, headline


def _period_header(report: Any, period: Any, unit: str) -> str:
    if isinstance(period, str):
        return period
    return report.t(f"retention.unit.{unit}", n=int(period))


def show_definitions(report: Any, matrix: RetentionResult, **extra: Any) -> None:
    """The definitions in force, so no reader has to guess them (DOMAIN.md)."""
    s = matrix.settings
    tr = report.t
    cohort = (
        tr("retention.def.cohort_signup")
        if s["cohort_event"] is None
        else tr(f"retention.def.cohort_{s['entry']}", event=s["cohort_event"])
    )
    rows = [
        (tr("retention.def.cohort"), cohort),
        (tr("retention.def.period"), tr(f"retention.period.{s['period']}")),
        (tr("retention.def.window"), tr(f"retention.window.{s['window']}", tz=s["timezone"])),
        (tr("retention.def.criterion"), tr(f"retention.criterion.{s['criterion']}")),
        (tr("retention.def.return_event"), _event_text(report, s["activity"])),
        (tr("retention.def.as_of"), f"{pd.Timestamp(s['as_of']):%Y-%m-%d %H:%M} ({s['timezone']})"),
        (tr("retention.def.incomplete"), tr("retention.def.incomplete_text")),
        (tr("retention.def.mean"), tr("retention.def.mean_text")),
    ]
    if s.get("brackets"):
        rows.append((tr("retention.def.brackets"), ", ".join(str(p) for p in matrix.periods)))
    for key, value in extra.items():
        rows.append((tr(f"retention.def.{key}"), str(value)))
    report.show(pd.DataFrame(rows, columns=[tr("core.field"), tr("core.value")]))


def _event_text(report: Any, event: str) -> str:
    known = {"any", "order", "any order (no events table)"}
    if event in known:
        key = {"any": "any", "order": "order"}.get(event, "any_order")
        return report.t(f"retention.event.{key}")
    return report.t("retention.event.named", event=event)


def _small(report: Any, users: Any) -> bool:
    return 0 < users < report.min_cell


MAX_LINES = 8  # groups drawn in one chart: the largest ones
MAX_ROWS = 20  # groups listed in one table: the largest ones


def _ci_text(report: Any, low: Any, high: Any, *counts: Any) -> str:
    """A Wilson interval as text, or a dash where it is undefined or rests on a small group."""
    if low is None or pd.isna(low) or any(_small(report, n) for n in counts):
        return "—"
    return f"{low:.1%} – {high:.1%}"


def _drawn(report: Any, sizes: Mapping[Any, Any]) -> list[Any]:
    """The groups a chart draws: the largest MAX_LINES, none below the privacy threshold."""
    ranked = sorted(sizes.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [g for g, n in ranked if not _small(report, n)][:MAX_LINES]


def show_matrix(report: Any, matrix: RetentionResult, max_periods: int = 12) -> None:
    """The matrix as a table: cohort, users, one column per period (masked cells as a dash),
    then the weighted and simple means with the counts behind them."""
    tr = report.t
    unit = matrix.settings["period"]
    periods = list(matrix.periods)[: max_periods + 1]
    if matrix.cells.empty:
        report.say("retention.empty")
        return
    wide = matrix.wide().reindex(columns=periods)
    sizes = matrix.cohorts.set_index("cohort")["users"]
    headers = {p: _period_header(report, p, unit) for p in periods}
    table = wide.rename(columns=headers)
    table.insert(0, tr("retention.col.users"), sizes.reindex(table.index).to_numpy())
    table.insert(0, tr("retention.col.cohort"), table.index)
    table = table.reset_index(drop=True)
    mean = matrix.mean.set_index("period").reindex(periods)
    extra = []
    for kind in ("weighted", "simple"):
        row = {
            tr("retention.col.cohort"): tr(f"retention.row.{kind}"),
            tr("retention.col.users"): np.nan,
        }
        row |= {
            headers[p]: np.nan if _small(report, mean.loc[p, "users"]) else mean.loc[p, kind]
            for p in periods
        }
        extra.append(row)
    table = pd.concat([table, pd.DataFrame(extra)], ignore_index=True)
    formats = {headers[p]: "pct" for p in periods} | {tr("retention.col.users"): "int"}
    report.show(
        table,
        formats=formats,
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.users")],
    )
    # the counts behind the means, in the same columns (small counts suppressed)
    counts = [
        {tr("retention.col.cohort"): tr(f"retention.row.{kind}")}
        | {headers[p]: _count_text(report, mean.loc[p, kind], kind == "users") for p in periods}
        for kind in ("cohorts", "users")
    ]
    report.show(pd.DataFrame(counts))


def _count_text(report: Any, value: Any, private: bool) -> str:
    if value is None or pd.isna(value):
        return "—"
    if private and _small(report, value):
        return report.t("core.suppressed", min_cell=report.min_cell)
    return f"{int(value):,}"


def heatmap(report: Any, matrix: RetentionResult, max_periods: int = 12, max_cohorts: int = 24):
    """Annotated heatmap of the matrix; incomplete cells hatched grey, never 0; cohorts smaller
    than the privacy threshold left blank."""
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.patches import Rectangle

    if matrix.cells.empty:
        return None
    unit = matrix.settings["period"]
    periods = list(matrix.periods)[: max_periods + 1]
    wide = matrix.wide().reindex(columns=periods).tail(max_cohorts)
    sizes = matrix.cohorts.set_index("cohort")["users"].reindex(wide.index)
    values = wide.to_numpy(dtype=float)
    small = np.array([_small(report, n) for n in sizes])
    values[small, :] = np.nan
    fig, ax = figure(min(1.2 + 0.62 * len(periods), 13), 1.2 + 0.32 * len(wide))
    cmap = LinearSegmentedColormap.from_list("ret", ["#f4f8fc", PALETTE[0]])
    cmap.set_bad("#ececec")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.grid(False)
    top = np.nanmax(values) if np.isfinite(values).any() else 1.0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if np.isfinite(v):
                colour = "white" if v > 0.55 * max(top, 0.01) and v > 0.35 else "#222222"
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7, color=colour)
            else:
                hatch = Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", lw=0)
                ax.add_patch(hatch)
                hatch.set_edgecolor("#c8c8c8")
    labels = [
        f"{c} ({report.t('core.suppressed', min_cell=report.min_cell) if s else int(n)})"
        for c, n, s in zip(wide.index, sizes, small, strict=True)
    ]
    ax.set_yticks(range(len(wide)), labels, fontsize=8)
    ax.set_xticks(
        range(len(periods)), [_period_header(report, p, unit) for p in periods], fontsize=8
    )
    ax.xaxis.tick_top()
    ax.set_title(report.t("retention.chart.heatmap"), pad=24)
    fig.colorbar(image, ax=ax, fraction=0.025, shrink=0.5, format=percent_ticks(0))
    return fig


def curves_chart(report: Any, matrix: RetentionResult, max_periods: int = 12):
    """The weighted mean retention curve, per group when the matrix has a breakdown."""
    if matrix.mean.empty:
        return None
    unit = matrix.settings["period"]
    periods = list(matrix.periods)[: max_periods + 1]
    fig, ax = figure(8, 4)
    mean = matrix.mean
    groups = [None]
    if matrix.grouped:
        drawn = set(_drawn(report, matrix.cohorts.groupby("group")["users"].sum().to_dict()))
        groups = [g for g in matrix.groups if g in drawn]
    for i, group in enumerate(groups):
        part = mean if group is None else mean[mean["group"] == group]
        part = part.set_index("period").reindex(periods)
        # privacy: a point resting on fewer users than the threshold is not drawn
        part.loc[part["users"].map(lambda n: _small(report, n)), "weighted"] = np.nan
        ax.plot(
            range(len(periods)),
            part["weighted"].to_numpy(dtype=float),
            marker="o",
            ms=3,
            color=PALETTE[i % len(PALETTE)],
            label=report.t("retention.chart.all") if group is None else str(group),
        )
    ax.set_xticks(range(len(periods)), [_period_header(report, p, unit) for p in periods])
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_ylim(0, None)
    ax.set_ylabel(report.t("retention.chart.rate"))
    ax.set_title(report.t("retention.chart.curves"))
    ax.legend(fontsize=8)
    return fig


def show_day_n(report: Any, day_n: pd.DataFrame) -> None:
    """D1/D7/D30 overall: eligible, retained, rate, Wilson interval, target, met."""
    tr = report.t
    frame = day_n.copy()
    status = [
        "ob-green" if m else ("ob-red" if m is False else "")
        for m in frame.get("met", [None] * len(frame))
    ]
    shown = pd.DataFrame(
        {
            tr("retention.col.kpi"): [tr("retention.kpi.dn", n=int(d)) for d in frame["day"]],
            tr("retention.col.eligible"): frame["eligible"],
            tr("retention.col.retained"): frame["retained"],
            tr("retention.col.rate"): frame["rate"],
            tr("retention.col.ci"): [
                _ci_text(report, lo, hi, n, k)
                for lo, hi, n, k in zip(
                    frame["low"], frame["high"], frame["eligible"], frame["retained"], strict=True
                )
            ],
        }
    )
    if "target" in frame.columns:
        shown[tr("retention.col.target")] = frame["target"]
        shown[tr("retention.col.met")] = [
            "—" if m is None else tr("core.yes") if m else tr("core.no") for m in frame["met"]
        ]
    report.show(
        shown,
        formats={
            tr("retention.col.rate"): "pct",
            tr("retention.col.target"): "pct",
            tr("retention.col.eligible"): "int",
            tr("retention.col.retained"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.eligible"), tr("retention.col.retained")],
        classes={tr("retention.col.rate"): status, tr("retention.col.met"): status},
    )


def show_day_n_by(report: Any, day_n: pd.DataFrame, by: str, last: int = 26) -> None:
    """D-N per cohort or per group (``by``), pooled from a :func:`day_n_retention` frame that
    has that column: one row per value, a rate and its eligible users per day. A cell with no
    eligible user is a dash, not 0 %; one with fewer than the privacy threshold shows "<10"
    users and no rate. Cohorts: the ``last`` most recent; groups: the MAX_ROWS largest."""
    tr = report.t
    if by not in day_n.columns or day_n.empty:
        return
    pooled = day_n_by(day_n, by)
    if by == "cohort":
        keep = sorted(pooled["cohort"].unique())[-last:]
    else:  # the largest groups first
        sizes = pooled.groupby(by)["eligible"].max().reset_index()
        keep = sizes.sort_values(["eligible", by], ascending=[False, True])[by].tolist()[:MAX_ROWS]
    pooled = pooled[pooled[by].isin(keep)]
    rows = []
    for key in keep:
        part = pooled[pooled[by] == key]
        row = {tr(f"retention.col.{by}"): key}
        for r in part.itertuples():
            small = _small(report, r.eligible)
            row[tr("retention.kpi.dn", n=int(r.day))] = np.nan if small else r.rate
            row[tr("retention.col.n_dn", n=int(r.day))] = _count_text(report, r.eligible, True)
        rows.append(row)
    days = sorted(pooled["day"].unique())
    report.show(pd.DataFrame(rows), formats={tr("retention.kpi.dn", n=int(d)): "pct" for d in days})


def show_rates(
    report: Any,
    conversion: RateResult | None,
    repeat: RateResult | None,
    targets: Mapping[str, float],
) -> None:
    """First-order conversion and repeat purchase rate against their targets, with windows."""
    tr = report.t
    rows, status = [], []
    for key, rate in (("first_order_conversion", conversion), ("repeat_purchase_rate", repeat)):
        if rate is None:
            continue
        d = rate.definition
        window = (
            tr("retention.window_first_order", days=d["within_days"])
            if key == "first_order_conversion"
            else tr("retention.window_repeat", start=d["start"], end=d["end"])
        )
        met = None if rate.value is None else rate.value >= targets[key]
        status.append("ob-green" if met else ("ob-red" if met is False else ""))
        rows.append(
            {
                tr("retention.col.kpi"): tr(f"retention.kpi.{key}"),
                tr("retention.col.definition"): window,
                tr("retention.col.denominator"): rate.n,
                tr("retention.col.numerator"): rate.successes,
                tr("retention.col.rate"): rate.value,
                tr("retention.col.ci"): _ci_text(
                    report, rate.low, rate.high, rate.n, rate.successes
                ),
                tr("retention.col.target"): targets[key],
                tr("retention.col.met"): "—"
                if met is None
                else tr("core.yes" if met else "core.no"),
            }
        )
    if not rows:
        report.say("retention.no_orders")
        return
    report.show(
        pd.DataFrame(rows),
        formats={
            tr("retention.col.rate"): "pct",
            tr("retention.col.target"): "pct",
            tr("retention.col.denominator"): "int",
            tr("retention.col.numerator"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.denominator")],
        classes={tr("retention.col.rate"): status, tr("retention.col.met"): status},
    )


def show_rate_groups(report: Any, rate: RateResult) -> None:
    """A rate per breakdown group (the MAX_ROWS largest groups)."""
    if rate is None or rate.groups.empty:
        return
    tr = report.t
    g = rate.groups.sort_values(["n", "group"], ascending=[False, True]).head(MAX_ROWS)
    shown = pd.DataFrame(
        {
            tr("retention.col.group"): g["group"],
            tr("retention.col.denominator"): g["n"],
            tr("retention.col.numerator"): g["successes"],
            tr("retention.col.rate"): g["rate"],
            tr("retention.col.ci"): [
                _ci_text(report, lo, hi, n, k)
                for lo, hi, n, k in zip(g["low"], g["high"], g["n"], g["successes"], strict=True)
            ],
        }
    )
    report.show(
        shown,
        formats={
            tr("retention.col.rate"): "pct",
            tr("retention.col.denominator"): "int",
            tr("retention.col.numerator"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.denominator"), tr("retention.col.numerator")],
    )


def ltv_chart(
    report: Any, ltv: LtvResult, payback: pd.DataFrame | None = None, max_periods: int = 12
):
    """LTV curves (cumulative paid revenue per user by cohort age), per group; dashed lines at
    each channel's CAC when spend exists. Ages resting on fewer users than the privacy
    threshold are left out."""
    if ltv is None:
        return None
    curve = ltv.curve[ltv.curve["age"] <= max_periods]
    curve = curve[~curve["users"].map(lambda n: _small(report, n))]
    if curve.empty:
        return None
    fig, ax = figure(8, 4)
    grouped = "group" in curve.columns
    groups = [None]
    if grouped:
        drawn = set(_drawn(report, curve.groupby("group")["users"].max().to_dict()))
        groups = [g for g in dict.fromkeys(curve["group"]) if g in drawn]
    for i, group in enumerate(groups):
        part = curve if group is None else curve[curve["group"] == group]
        colour = PALETTE[i % len(PALETTE)]
        label = report.t("retention.chart.all") if group is None else str(group)
        ax.plot(part["age"], part["ltv"], marker="o", ms=3, color=colour, label=label)
        if payback is not None and not payback.empty and group in set(payback["channel"]):
            cac = float(payback.loc[payback["channel"] == group, "cac"].iloc[0])
            ax.axhline(cac, color=colour, ls="--", lw=0.9)
    ax.xaxis.set_major_locator(integer_ticks())
    ax.set_xlabel(report.t(f"retention.chart.age_{ltv.period}"))
    ax.set_ylabel(report.t("retention.chart.ltv"))
    ax.set_title(report.t("retention.chart.ltv_title"))
    ax.set_ylim(0, None)
    ax.legend(fontsize=8)
    return fig


def show_payback(report: Any, payback: pd.DataFrame, period: str) -> None:
    if payback is None or payback.empty:
        report.say("retention.no_spend")
        return
    tr = report.t
    shown = pd.DataFrame(
        {
            tr("retention.col.channel"): payback["channel"],
            tr("retention.col.spend"): payback["spend"],
            tr("retention.col.new_users"): payback["new_users"],
            tr("retention.col.cac"): payback["cac"],
            tr("retention.col.ltv_latest"): payback["ltv_latest"],
            tr("retention.col.payback"): [
                tr("retention.payback_none")
                if a is None or pd.isna(a)
                else tr(f"retention.unit.{period}", n=int(a))
                for a in payback["payback_age"]
            ],
        }
    )
    report.show(
        shown,
        formats={
            tr("retention.col.spend"): "money",
            tr("retention.col.cac"): "money",
            tr("retention.col.ltv_latest"): "money",
            tr("retention.col.new_users"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.new_users")],
    )


def stickiness_chart(report: Any, stick: StickinessResult, target: float | None = None):
    """DAU, WAU, MAU (top) and DAU/MAU against its target (bottom)."""
    daily = stick.daily
    if daily.empty:
        return None
    fig, (top, bottom) = figure(9, 5.6, nrows=2, sharex=True)
    for i, name in enumerate(("dau", "wau", "mau")):
        top.plot(daily["date"], daily[name], lw=1.3, color=PALETTE[i], label=name.upper())
    top.set_title(report.t("retention.chart.actives"))
    top.legend(fontsize=8, loc="upper left")
    bottom.plot(daily["date"], daily["dau_mau"], lw=1.4, color=PALETTE[3], label="DAU/MAU")
    if target is not None:
        bottom.axhline(
            target,
            ls="--",
            lw=1,
            color=STATUS_COLOURS["green"],
            label=report.t("retention.chart.target", value=f"{target:.2f}"),
        )
    bottom.set_ylim(0, None)
    bottom.set_title(report.t("retention.chart.dau_mau"))
    bottom.legend(fontsize=8, loc="upper left")
    return fig


def active_days_chart(report: Any, stick: StickinessResult):
    """How many of the last 28 days each recently active user was active."""
    hist = stick.histogram
    if hist.empty or hist["users"].sum() == 0:
        return None
    fig, ax = figure(8, 3.2)
    ax.bar(hist["active_days"], hist["share"], color=PALETTE[0])
    ax.xaxis.set_major_locator(integer_ticks())
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel(report.t("retention.chart.active_days"))
    ax.set_ylabel(report.t("retention.chart.share_users"))
    ax.set_title(report.t("retention.chart.active_days_title"))
    return fig


def lifecycle_chart(report: Any, result: LifecycleResult, last: int = 26):
    """Stacked bars per period: new, retained, resurrected above zero, dormant below."""
    frame = result.frame.tail(last)
    if frame.empty:
        return None
    fig, ax = figure(9, 4)
    x = np.arange(len(frame))
    bottom = np.zeros(len(frame))
    for name, colour in (
        ("retained", PALETTE[0]),
        ("new", PALETTE[2]),
        ("resurrected", PALETTE[4]),
    ):
        ax.bar(x, frame[name], bottom=bottom, color=colour, label=report.t(f"retention.lc.{name}"))
        bottom += frame[name].to_numpy()
    ax.bar(
        x, -frame["dormant"], color=STATUS_COLOURS["red"], label=report.t("retention.lc.dormant")
    )
    ax.axhline(0, color="#555555", lw=0.8)
    step = max(1, len(frame) // 12)
    labels = [
        f"{d:%Y-%m-%d}" if result.period != "month" else f"{d:%Y-%m}" for d in frame["period_start"]
    ]
    ax.set_xticks(x[::step], labels[::step], rotation=30, ha="right", fontsize=8)
    ax.set_title(report.t("retention.chart.lifecycle"))
    ax.legend(fontsize=8, ncols=4, loc="upper left")
    return fig


def show_lifecycle(report: Any, result: LifecycleResult, last: int = 8) -> None:
    tr = report.t
    frame = result.frame.tail(last)
    if frame.empty:
        report.say("retention.empty")
        return
    cols = ["new", "retained", "resurrected", "dormant", "active"]
    shown = pd.DataFrame({tr("retention.col.period_start"): frame["period_start"]})
    # each count on its own: a small one shows as "<10" without hiding the rest of the row
    for c in cols:
        shown[tr(f"retention.lc.{c}")] = [_count_text(report, v, True) for v in frame[c]]
    shown[tr("retention.lc.quick_ratio")] = frame["quick_ratio"].to_numpy()
    report.show(shown, formats={tr("retention.lc.quick_ratio"): "float"})


def survival_chart(report: Any, result: SurvivalResult):
    """Kaplan–Meier curves of lifetime (share of users not yet churned) with their intervals."""
    curves = result.curves
    if curves.empty:
        return None
    fig, ax = figure(8, 4)
    sizes = result.summary.set_index("group")["users"].to_dict()
    drawn = set(_drawn(report, {g: n for g, n in sizes.items() if g != "all"}))
    drawn |= {"all"} if not _small(report, sizes.get("all", 0)) else set()
    for i, group in enumerate(dict.fromkeys(curves["group"])):
        if group not in drawn:
            continue
        part = curves[curves["group"] == group]
        colour = "#333333" if group == "all" else PALETTE[i % len(PALETTE)]
        label = report.t("retention.chart.all") if group == "all" else str(group)
        times = np.concatenate([[0.0], part["time"].to_numpy()])
        surv = np.concatenate([[1.0], part["survival"].to_numpy()])
        ax.step(
            times, surv, where="post", color=colour, lw=1.5 if group == "all" else 1.1, label=label
        )
        ax.fill_between(
            part["time"], part["low"], part["high"], step="post", color=colour, alpha=0.12, lw=0
        )
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel(report.t("retention.chart.lifetime_days"))
    ax.set_ylabel(report.t("retention.chart.surviving"))
    ax.set_title(report.t("retention.chart.survival", days=result.churn_days))
    ax.legend(fontsize=8)
    return fig


def show_survival(report: Any, result: SurvivalResult) -> None:
    tr = report.t
    s = result.summary
    if s.empty:
        report.say("retention.empty")
        return
    # all users first, then the largest groups
    groups = s[s["group"] != "all"].sort_values(["users", "group"], ascending=[False, True])
    s = pd.concat([s[s["group"] == "all"], groups.head(MAX_ROWS)], ignore_index=True)
    shown = pd.DataFrame(
        {
            tr("retention.col.group"): [
                tr("retention.chart.all") if g == "all" else g for g in s["group"]
            ],
            tr("retention.col.users"): s["users"],
            tr("retention.col.churned"): s["churned"],
            tr("retention.col.censored"): s["censored"],
            tr("retention.col.median_lifetime"): [
                tr("retention.median_not_reached") if not np.isfinite(m) else f"{m:.0f}"
                for m in s["median_lifetime"]
            ],
        }
    )
    report.show(
        shown,
        formats={
            tr("retention.col.users"): "int",
            tr("retention.col.churned"): "int",
            tr("retention.col.censored"): "int",
        },
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.users")],
    )
    if result.logrank is not None:
        lr = result.logrank
        report.say(
            "retention.logrank",
            chi2=f"{lr.statistic:.2f}",
            df=lr.df,
            p=f"{lr.p_value:.3g}",
            verdict=tr(
                "retention.logrank_differ" if lr.p_value < 0.05 else "retention.logrank_same"
            ),
        )


def conclusion(
    report: Any,
    day_n: pd.DataFrame,
    stick: StickinessResult | None,
    targets: Mapping[str, float],
) -> None:
    """One sentence per KPI: value against target."""
    for r in day_n.itertuples():
        if pd.isna(r.rate):
            continue
        key = f"d{int(r.day)}"
        if key not in targets:
            continue
        report.say(
            "retention.verdict.dn_met" if r.rate >= targets[key] else "retention.verdict.dn_missed",
            n=int(r.day),
            rate=f"{r.rate:.1%}",
            low=f"{r.low:.1%}",
            high=f"{r.high:.1%}",
            target=f"{targets[key]:.0%}",
        )
    if stick is not None and stick.dau_mau is not None:
        report.say(
            "retention.verdict.stickiness_met"
            if stick.dau_mau >= targets["dau_mau"]
            else "retention.verdict.stickiness_missed",
            value=f"{stick.dau_mau:.2f}",
            target=f"{targets['dau_mau']:.2f}",
        )


def notes(report: Any, breakdown: str | None) -> None:
    """Say what the source lacks: an events table (activity from orders), the breakdown column."""
    src = _src(report)
    if not src.has("events"):
        report.say("retention.no_events")
    if breakdown and usable_breakdown(src, breakdown) is None:
        report.say("retention.no_breakdown", column=breakdown)


def explore(report: Any, **defaults: Any):
    """In JupyterLab: dropdowns switching period, criterion and breakdown, redrawing the heatmap
    and the curves. Returns None in batch runs (``opsbook run``): published HTML stays static."""
    from opsbook.report import is_batch

    if is_batch():
        return None
    import ipywidgets as widgets
    from IPython.display import display

    period = widgets.Dropdown(
        options=list(PERIODS),
        value=defaults.get("period", "week"),
        description=report.t("retention.def.period"),
    )
    criterion = widgets.Dropdown(
        options=list(CRITERIA),
        value=defaults.get("criterion", "on"),
        description=report.t("retention.def.criterion"),
    )
    breakdown = widgets.Dropdown(
        options=[("—", None)] + [(c, c) for c in breakdown_columns(report)],
        value=defaults.get("breakdown"),
        description=report.t("retention.def.breakdown"),
    )
    out = widgets.Output()
    fixed = {k: v for k, v in defaults.items() if k not in ("period", "criterion", "breakdown")}

    def redraw(_: Any = None) -> None:
        with out:
            out.clear_output(wait=True)
            overall = retention_matrix(
                report, period=period.value, criterion=criterion.value, **fixed
            )
            display(heatmap(report, overall))
            if breakdown.value:
                by = retention_matrix(
                    report,
                    period=period.value,
                    criterion=criterion.value,
                    breakdown=breakdown.value,
                    **fixed,
                )
                display(curves_chart(report, by))
            else:
                display(curves_chart(report, overall))

    for control in (period, criterion, breakdown):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([period, criterion, breakdown]), out])
