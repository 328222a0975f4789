"""Behaviour, engine step: paths -- what users do in the N events after a start event, before an
end event, or after dropping off at a funnel step -- counted in unique users per node (step,
event) and per transition, so a node's users equal its outgoing transitions and a funnel's users
who continue equal the path's.

The events are cleaned first (regular expressions give a name: ``view_item_\\d+`` ->
``view_item``), ordered per user by time then cleaned name, split into sessions by inactivity,
and consecutive repeats within a session collapse into one (a parameter). Each user follows one
path: from their first anchor in the period, within the anchor's session. Every sequence step
runs in the engine (window functions); only the per-step counts come back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.behaviour.queries.funnel import kept_funnel_users
from opsbook.behaviour.queries.steps import Funnel, check_events, event_names
from opsbook.data import Source, between_utc
from opsbook.engine import epoch_microseconds, keep

Direction = Literal["after", "before"]
DIRECTIONS = ("after", "before")
OTHER = "(other)"
END = "(end)"  # the path stops: the session ends (after) or begins (before)
DEFAULT_SESSION_GAP_SECONDS = 30 * 60


@dataclass(frozen=True)
class PathRules:
    """How events become path nodes: ``cleaning`` rules (regular expression matching the whole
    event name -> a name; the first rule that matches wins), consecutive repeats collapsed, and
    sessions split after ``session_gap_seconds`` of inactivity."""

    cleaning: tuple[tuple[str, str], ...] = ()
    collapse_repeats: bool = True
    session_gap_seconds: int = DEFAULT_SESSION_GAP_SECONDS

    def __post_init__(self) -> None:
        rules = self.cleaning.items() if isinstance(self.cleaning, Mapping) else self.cleaning
        rules = tuple((str(p), str(n)) for p, n in rules)
        for pattern, _ in rules:
            re.compile(pattern)  # a bad expression fails here, not in the engine
        object.__setattr__(self, "cleaning", rules)
        if int(self.session_gap_seconds) <= 0:
            raise ValueError("session_gap_seconds must be > 0")

    def clean(self, event: ir.StringValue) -> ir.StringValue:
        """The cleaned name of an event column."""
        if not self.cleaning:
            return event
        return ibis.cases(
            *[(event.re_search(f"^(?:{p})$"), ibis.literal(n)) for p, n in self.cleaning],
            else_=event,
        )

    def clean_name(self, event: str) -> str:
        """The cleaned name of one event name, in Python (for an anchor given by name)."""
        for pattern, name in self.cleaning:
            if re.fullmatch(pattern, event):
                return name
        return event


def path_events(
    source: Source, rules: PathRules, *, since: Any = None, until: Any = None
) -> ir.Table:
    """``user_id, us, event, name, session, row``: each user's events in [since, until) with
    their cleaned ``name``, repeats collapsed, ``session`` number and ``row`` (the user's kept
    rows numbered 1, 2, ...: within a session, consecutive), ordered by time then name."""
    if not source.has("events"):
        raise ValueError("paths need an events table; the source has none")
    events = source.table("events")
    events = events.filter(events.user_id.notnull() & events.ts.notnull() & events.event.notnull())
    if since is not None or until is not None:
        events = events.filter(between_utc(events.ts, since, until))
    backend = getattr(source.con, "name", None)
    t = events.select(
        "user_id",
        "event",
        us=epoch_microseconds(events.ts, backend),
        name=rules.clean(events.event),
    )
    t, order = _ordered(source, t, rules)
    w = ibis.window(group_by=t.user_id, order_by=[t[c] for c in order])
    gap = int(rules.session_gap_seconds) * 1_000_000
    prev_us, prev_name = t.us.lag().over(w), t.name.lag().over(w)
    fresh = prev_us.isnull() | (t.us - prev_us > gap)
    t = t.mutate(fresh=fresh, repeat=~fresh & (t.name == prev_name))
    if rules.collapse_repeats:
        t = t.filter(~t.repeat)
    upto = ibis.window(group_by=t.user_id, order_by=[t[c] for c in order], rows=(None, 0))
    return t.select(
        "user_id",
        "us",
        "event",
        "name",
        session=t.fresh.cast("int64").sum().over(upto),
        row=ibis.row_number().over(upto) + 1,
    )


def kept_path_events(
    source: Source, rules: PathRules, *, since: Any = None, until: Any = None
) -> ir.Table:
    """:func:`path_events` computed once per open source and kept on the engine: the drop-off
    paths, the anchored paths and the explorer's redraws all read the same sessionised rows
    (each computation is a full pass over the events with two window functions)."""
    key = ("behaviour.path_events", rules, since, until)
    return source.once(key, lambda: keep(path_events(source, rules, since=since, until=until)))


_RANK_BITS = 12  # names an int64 key can rank beside microseconds since 1970 (51 bits to 2041)


def _ordered(source: Source, t: ir.Table, rules: PathRules) -> tuple[ir.Table, tuple[str, ...]]:
    """``t`` and the columns that order a user's rows by time then cleaned name: one integer
    ``key`` (microseconds * 2^b + the name's rank among all cleaned names) where the names fit
    in b bits -- sorting a string per row costs several times an integer's -- else (us, name)."""
    raw = event_names(source)
    cleaned = sorted({rules.clean_name(n) for n in raw})
    bits = len(cleaned).bit_length()
    if not cleaned or bits > _RANK_BITS:
        return t, ("us", "name")
    rank_of = {name: i + 1 for i, name in enumerate(cleaned)}
    # ranked by the raw event: the cleaning's regular expressions are not run a second time
    rank = ibis.cases(*[(t.event == n, rank_of[rules.clean_name(n)]) for n in raw], else_=0)
    return t.mutate(key=t.us * 2**bits + rank.cast("int64")), ("key",)


def _pivot(rows: ir.Table, anchors: ir.Table, direction: str, steps: int) -> ir.Table:
    """One row per anchored user: ``e0`` (the anchor's name) .. ``e{steps}`` (the names one,
    two, ... events away in ``direction`` within the anchor's session; null past its edge)."""
    a = anchors.select(aid="user_id", asession="session", arow="row")
    near = (
        (rows.row >= a.arow) & (rows.row <= a.arow + int(steps))
        if direction == "after"
        else (rows.row <= a.arow) & (rows.row >= a.arow - int(steps))
    )
    joined = rows.join(a, [rows.user_id == a.aid, rows.session == a.asession, near])
    away = joined.row - joined.arow if direction == "after" else joined.arow - joined.row
    joined = joined.mutate(away=away)
    named = {
        f"e{j}": ibis.ifelse(joined.away == j, joined.name, ibis.null("string")).max()
        for j in range(int(steps) + 1)
    }
    return joined.group_by("user_id").aggregate(**named)


def event_anchors(rows: ir.Table, anchor: str) -> ir.Table:
    """Each user's first row whose cleaned name is ``anchor`` (its row number is the least:
    rows are numbered in time order)."""
    hits = rows.filter(rows.name == anchor)
    return hits.group_by("user_id").aggregate(
        session=hits.session.argmin(hits.row), row=hits.row.min()
    )


def dropoff_anchors(
    source: Source, rows: ir.Table, funnel: Funnel, step: int, **period: Any
) -> ir.Table:
    """The users who reached step ``step - 1`` of ``funnel`` but not step ``step``, anchored at
    their event of step ``step - 1`` (its time; the first such row at that time)."""
    if not 1 <= int(step) < len(funnel.steps):
        raise ValueError(f"drop-off step must lie in 1..{len(funnel.steps) - 1}; got {step}")
    users = kept_funnel_users(source, funnel, **period)
    dropped = users.filter(users.level == int(step))
    dropped = dropped.select(did="user_id", dus=dropped[f"t{int(step) - 1}"])
    event = funnel.steps[int(step) - 1].event
    hits = rows.join(dropped, (rows.user_id == dropped.did) & (rows.us == dropped.dus))
    hits = hits.filter(hits.event == event)
    w = ibis.window(group_by=hits.user_id, order_by=[hits.session, hits.row])
    hits = hits.mutate(first=ibis.row_number().over(w))
    return hits.filter(hits.first == 0).select("user_id", "session", "row")


@dataclass(frozen=True)
class PathCounts:
    """The engine's answer: ``nodes`` (step, event, users), ``transitions`` (step, source,
    target, users: from step ``step`` to ``step + 1``; target ``(end)`` where the path stops)
    and ``top`` (path as a tuple of names in time order, users), before any threshold."""

    nodes: pd.DataFrame
    transitions: pd.DataFrame
    top: pd.DataFrame


def path_counts(
    source: Source,
    *,
    anchor: str | None = None,
    direction: Direction = "after",
    steps: int = 5,
    rules: PathRules | None = None,
    funnel: Funnel | None = None,
    dropoff_step: int | None = None,
    top: int = 20,
    since: Any = None,
    until: Any = None,
) -> PathCounts:
    """Paths ``steps`` events away from the anchor: an event name (``anchor``, after cleaning)
    in ``direction``, or -- with ``funnel`` and ``dropoff_step`` -- after the users' last step
    before they dropped off. Unique users per node and per transition; the ``top`` paths."""
    rules = rules or PathRules()
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    if int(steps) < 1:
        raise ValueError("steps must be >= 1")
    rows = kept_path_events(source, rules, since=since, until=until)
    if funnel is not None:
        if dropoff_step is None:
            raise ValueError("a funnel's paths need the drop-off step")
        anchors = dropoff_anchors(source, rows, funnel, dropoff_step, since=since, until=until)
        direction = "after"
    else:
        if anchor is None:
            raise ValueError("paths need an anchor event or a funnel drop-off step")
        _check_anchor(source, anchor, rules)
        anchors = event_anchors(rows, anchor)
    paths = keep(_pivot(rows, anchors, direction, int(steps)))
    return _counts(paths, int(steps), direction, int(top))


def _check_anchor(source: Source, anchor: str, rules: PathRules) -> None:
    """An anchor that names a raw event must exist; a cleaned name must be some rule's name."""
    if anchor not in {name for _, name in rules.cleaning}:
        check_events(source, [anchor])


def _counts(paths: ir.Table, steps: int, direction: str, top: int) -> PathCounts:
    nodes, links = [], []
    for j in range(steps + 1):
        here = paths.filter(paths[f"e{j}"].notnull())
        step = ibis.literal(j, "int64")
        nodes.append(
            here.group_by(event=here[f"e{j}"]).aggregate(users=here.count()).mutate(step=step)
        )
        if j < steps:
            pairs = here.group_by(source=here[f"e{j}"], target=here[f"e{j + 1}"].fill_null(END))
            links.append(pairs.aggregate(users=here.count()).mutate(step=step))
    node_frame = ibis.union(*nodes, distinct=False).execute()
    link_frame = ibis.union(*links, distinct=False).execute()
    names = [f"e{j}" for j in range(steps + 1)]
    ranked = paths.group_by(names).aggregate(users=paths.count())
    ranked = ranked.order_by([ibis.desc("users"), *names]).limit(top).execute()
    order = names if direction == "after" else names[::-1]
    top_frame = pd.DataFrame(
        {
            "path": [tuple(n for n in row if isinstance(n, str)) for row in ranked[order].values],
            "users": ranked["users"].astype("int64"),
        }
    )
    return PathCounts(
        nodes=node_frame[["step", "event", "users"]].sort_values(["step", "users", "event"],
                                                                 ascending=[True, False, True])
        .reset_index(drop=True),
        transitions=link_frame[["step", "source", "target", "users"]]
        .sort_values(["step", "users", "source", "target"], ascending=[True, False, True, True])
        .reset_index(drop=True),
        top=top_frame,
    )  # fmt: skip
