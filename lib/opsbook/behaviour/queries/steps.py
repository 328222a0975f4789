"""Behaviour, engine step: what a funnel is (its steps, order, window, entry and exclusions) and
how an event row matches a step -- an event name plus optional filters on the events' own columns
-- with the check that every named event exists (a typo would give an empty funnel)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from opsbook.data import Source
from opsbook.engine import epoch_microseconds

Order = Literal["strict", "ordered", "any"]
EntryMode = Literal["first", "every"]
ORDERS = ("strict", "ordered", "any")
ENTRY_MODES = ("first", "every")
DAY_SECONDS = 86_400
DEFAULT_WINDOW_SECONDS = 14 * DAY_SECONDS


def _filters(where: Mapping[str, Any] | Sequence[tuple[str, Any]] | None) -> tuple:
    """``{column: value or list of values}`` as a sorted, hashable tuple of (column, values)."""
    if not where:
        return ()
    items = where.items() if isinstance(where, Mapping) else where
    out = []
    for column, values in items:
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, set, frozenset)):
            values = (values,)
        out.append((str(column), tuple(values)))
    return tuple(sorted(out))


@dataclass(frozen=True)
class Step:
    """One funnel step: an event name, and optional filters on the events' columns (``where``:
    column -> accepted values; a row matches when every column holds one of its values)."""

    event: str
    where: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    label: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "where", _filters(self.where))
        if not str(self.event):
            raise ValueError("a funnel step needs an event name")

    @classmethod
    def of(cls, spec: Any) -> Step:
        """A step from an event name, a Step, or a mapping ``{event, where, label}``."""
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, str):
            return cls(spec)
        if isinstance(spec, Mapping):
            return cls(str(spec["event"]), spec.get("where") or (), spec.get("label"))
        raise TypeError(f"a funnel step is an event name or a mapping; got {spec!r}")

    @property
    def name(self) -> str:
        """The step as a reader sees it: its label, or the event with its filters."""
        if self.label:
            return str(self.label)
        if not self.where:
            return self.event
        cond = ", ".join(f"{c}={'|'.join(map(str, v))}" for c, v in self.where)
        return f"{self.event}[{cond}]"


@dataclass(frozen=True)
class Exclusion:
    """An event that ends an attempt: done between step ``from_step`` and a later step up to
    ``to_step`` (0-based; None: the last step), the attempt stops at the step before it."""

    event: str
    where: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    from_step: int = 0
    to_step: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "where", _filters(self.where))

    @classmethod
    def of(cls, spec: Any) -> Exclusion:
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, str):
            return cls(spec)
        return cls(
            str(spec["event"]),
            spec.get("where") or (),
            int(spec.get("from_step", 0)),
            None if spec.get("to_step") is None else int(spec["to_step"]),
        )

    def covers(self, step: int, last: int) -> bool:
        """Does this exclusion guard the link from step ``step - 1`` to step ``step``?"""
        top = last if self.to_step is None else self.to_step
        return self.from_step < step <= top


@dataclass(frozen=True)
class Funnel:
    """A funnel definition.

    - ``order``: ``ordered`` (each step after the previous one, anything in between),
      ``strict`` (each step the user's very next event after the previous one; exclusions have
      nothing to act on) or ``any`` (PostHog's unordered funnel: an attempt starts at any step's
      event, and position k counts users who did k + 1 different steps within the window).
    - ``window_seconds``: every step of an attempt within this many seconds of its entry.
    - ``entry``: ``first`` -- one attempt per user, from the first entry event in the period;
      ``every`` -- every entry event starts an attempt, and a user counts once at each step that
      any attempt reaches (their furthest attempt, the earliest of equals, gives the times).
    - ``exclusions``: see :class:`Exclusion` (ordered funnels only).
    - Ties: a user's events are ordered by time, then event name, then the steps they match
      (lower first); rows equal in all three are interchangeable.
    """

    steps: tuple[Step, ...]
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    order: Order = "ordered"
    entry: EntryMode = "first"
    exclusions: tuple[Exclusion, ...] = ()
    name: str = "funnel"

    def __post_init__(self) -> None:
        steps = tuple(Step.of(s) for s in self.steps)
        exclusions = tuple(Exclusion.of(x) for x in self.exclusions)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "exclusions", exclusions)
        if not steps:
            raise ValueError("a funnel needs at least one step")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}; got {self.order!r}")
        if self.entry not in ENTRY_MODES:
            raise ValueError(f"entry must be one of {', '.join(ENTRY_MODES)}; got {self.entry!r}")
        if int(self.window_seconds) <= 0:
            raise ValueError("window_seconds must be > 0")
        if self.order == "any" and len(set(steps)) < len(steps):
            raise ValueError("an any-order funnel needs different steps (a step repeats)")
        if exclusions and self.order != "ordered":
            raise ValueError("exclusions apply to ordered funnels only")
        for x in exclusions:
            top = len(steps) - 1 if x.to_step is None else x.to_step
            if not 0 <= x.from_step < top <= len(steps) - 1:
                raise ValueError(
                    f"exclusion {x.event!r}: need 0 <= from_step < to_step <= {len(steps) - 1}"
                )

    @classmethod
    def of(cls, spec: Mapping[str, Any], name: str | None = None) -> Funnel:
        """A funnel from a config mapping (``steps``, ``window_seconds`` or ``window_days``,
        ``order``, ``entry``, ``exclusions``)."""
        window = spec.get("window_seconds")
        if window is None:
            window = float(spec.get("window_days", DEFAULT_WINDOW_SECONDS / DAY_SECONDS))
            window *= DAY_SECONDS
        return cls(
            steps=tuple(spec["steps"]),
            window_seconds=int(window),
            order=spec.get("order", "ordered"),
            entry=spec.get("entry", "first"),
            exclusions=tuple(spec.get("exclusions") or ()),
            name=str(name or spec.get("name") or "funnel"),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)


def matches(events: ir.Table, event: str, where: tuple) -> ir.BooleanValue:
    """Rows of ``events`` that are ``event`` and pass every filter of ``where``."""
    cond = events.event == event
    for column, values in where:
        if column not in events.columns:
            raise ValueError(
                f"filter column {column!r} is not an events column; columns are: "
                f"{', '.join(events.columns)}"
            )
        col = events[column]
        accepted = [str(v) for v in values] if col.type().is_string() else list(values)
        cond = cond & col.isin(accepted)
    return cond


def event_names(source: Source) -> list[str]:
    """Every event name of the source's events table (once per open source)."""

    def compute() -> list[str]:
        events = source.table("events")
        names = events.select("event").distinct().execute()["event"]
        return sorted(str(n) for n in names.dropna())

    return source.once("behaviour.event_names", compute)


def check_events(source: Source, names: Sequence[str]) -> None:
    """Raise a clear error for an event name the source does not hold: the events present and
    the closest ones ("did you mean")."""
    if not source.has("events"):
        raise ValueError("funnels and paths need an events table; the source has none")
    present = event_names(source)
    known = set(present)
    for name in dict.fromkeys(names):
        if name not in known:
            close = difflib.get_close_matches(name, present, n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"no event {name!r} in events.{hint} Events are: {', '.join(present)}")


def matched_events(
    source: Source, funnel: Funnel, *, every_event: bool = False
) -> tuple[ir.Table, tuple[str, ...]]:
    """The source's events tagged for ``funnel``: ``user_id, ts, event``, the steps (``s0``..)
    and exclusions (``x0``..) each row matches, ``us`` (microseconds since the epoch); and the
    columns that order a user's rows (time, then event name, then the steps matched). Only the
    rows that match a step or an exclusion, unless ``every_event`` (a strict funnel needs every
    event between two steps)."""
    check_events(source, [s.event for s in funnel.steps] + [x.event for x in funnel.exclusions])
    events = source.table("events")
    events = events.filter(events.user_id.notnull() & events.ts.notnull() & events.event.notnull())
    names = sorted({s.event for s in funnel.steps} | {x.event for x in funnel.exclusions})
    if not every_event:
        events = events.filter(events.event.isin(names))
    flags = {f"s{i}": matches(events, s.event, s.where) for i, s in enumerate(funnel.steps)}
    flags |= {f"x{i}": matches(events, x.event, x.where) for i, x in enumerate(funnel.exclusions)}
    bits = [flag.cast("int64") * (2**i) for i, flag in enumerate(flags.values())]
    mask = bits[0]
    for bit in bits[1:]:
        mask = mask + bit
    backend = getattr(source.con, "name", None)
    tagged = events.select("user_id", "ts", "event", **flags)
    tagged = tagged.mutate(us=epoch_microseconds(tagged.ts, backend), mask=mask)
    if every_event:
        return tagged, ("us", "event", "mask")
    # the event's rank among the few names kept: an integer sorts faster than the name
    rank = ibis.cases(*[(tagged.event == n, i) for i, n in enumerate(names)], else_=0)
    tagged = tagged.mutate(tie=rank.cast("int64") * 2 ** len(flags) + tagged.mask)
    return tagged, ("us", "tie")
