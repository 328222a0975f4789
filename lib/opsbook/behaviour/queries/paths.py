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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.behaviour.queries.funnel import kept_funnel_users
from opsbook.behaviour.queries.steps import Funnel, check_events, event_names
from opsbook.data import Source, between_utc
from opsbook.engine import epoch_microseconds, keep
from opsbook.parts import Within, input_rows, kept_by_user

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


def _events(source: Source, *, since: Any = None, until: Any = None) -> ir.Table:
    """``user_id, event, us``: the events in [since, until) with a user, a time and a name."""
    if not source.has("events"):
        raise ValueError("paths need an events table; the source has none")
    events = source.table("events")
    events = events.filter(events.user_id.notnull() & events.ts.notnull() & events.event.notnull())
    if since is not None or until is not None:
        events = events.filter(between_utc(events.ts, since, until))
    backend = getattr(source.con, "name", None)
    return events.select("user_id", "event", us=epoch_microseconds(events.ts, backend))


def sessionised(t: ir.Table, order: tuple[str, ...], rules: PathRules) -> ir.Table:
    """``user_id, us, event, name, session, row`` of the rows ``t``: repeats collapsed, the
    ``session`` number (a new one after ``session_gap_seconds`` idle) and ``row`` (the user's
    kept rows numbered 1, 2, ...: within a session, consecutive), in the order of ``order``."""
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


_RANK_BITS = 12  # names an int64 key can rank beside microseconds since 1970 (51 bits to 2041)


def _ordered(source: Source, t: ir.Table, rules: PathRules) -> tuple[ir.Table, tuple[str, ...]]:
    """``t`` with the cleaned ``name``, and the columns that order a user's rows by time then
    cleaned name: one integer ``key`` (microseconds * 2^b + the name's rank among all cleaned
    names) where the names fit in b bits -- sorting a string per row costs several times an
    integer's -- else (us, name)."""
    t = t.mutate(name=rules.clean(t.event))
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
    two, ... events away in ``direction`` within the anchor's session; null past its edge), and
    the anchor's session ``asession``."""
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
    return joined.group_by("user_id").aggregate(**named, asession=joined.asession.max())


# a query over a table: the anchors' instants from the events, their rows from the
# sessionised rows
Query = Callable[[ir.Table], ir.Table]


def event_anchor(source: Source, anchor: str, rules: PathRules) -> tuple[Query, Query]:
    """Each user's first event whose cleaned name is ``anchor``: its instant among the events
    (``user_id, start``), and its row among the sessionised rows (the least row number: rows
    are numbered in time order)."""
    raw = [n for n in event_names(source) if rules.clean_name(n) == anchor]

    def starts(t: ir.Table) -> ir.Table:
        hits = t.filter(t.event.isin(raw))  # the raw names it cleans from: no expression run
        return hits.group_by("user_id").aggregate(start=hits.us.min())

    def locate(rows: ir.Table) -> ir.Table:
        hits = rows.filter(rows.name == anchor)
        return hits.group_by("user_id").aggregate(
            session=hits.session.argmin(hits.row), row=hits.row.min()
        )

    return starts, locate


def dropoff_anchor(source: Source, funnel: Funnel, step: int, **period: Any) -> tuple[Query, Query]:
    """The users who reached step ``step - 1`` of ``funnel`` but not step ``step``, anchored at
    their event of step ``step - 1``: its instant (``user_id, start``), and its row among the
    sessionised rows (the first row of that event at that instant)."""
    if not 1 <= int(step) < len(funnel.steps):
        raise ValueError(f"drop-off step must lie in 1..{len(funnel.steps) - 1}; got {step}")
    users = kept_funnel_users(source, funnel, **period)
    dropped = users.filter(users.level == int(step))
    dropped = dropped.select("user_id", start=dropped[f"t{int(step) - 1}"])
    event = funnel.steps[int(step) - 1].event

    def locate(rows: ir.Table) -> ir.Table:
        d = dropped.rename(did="user_id", dus="start")
        hits = rows.join(d, (rows.user_id == d.did) & (rows.us == d.dus))
        hits = hits.filter(hits.event == event)
        w = ibis.window(group_by=hits.user_id, order_by=[hits.session, hits.row])
        hits = hits.mutate(first=ibis.row_number().over(w))
        return hits.filter(hits.first == 0).select("user_id", "session", "row")

    return (lambda _: dropped), locate


# How far from each user's anchor the rows are read first (at least this, and four session
# gaps): the paths whose session may run past it are read again without a bound
REACH_SECONDS = 86_400


def reach_of(rules: PathRules) -> int:
    """How far from the anchor (microseconds) :func:`path_counts` reads the rows first."""
    return max(REACH_SECONDS, 4 * int(rules.session_gap_seconds)) * 1_000_000


def _around(
    source: Source,
    t: ir.Table,
    starts: ir.Table,
    locate: Query,
    direction: str,
    steps: int,
    rules: PathRules,
    reach: int | None,
) -> ir.Table:
    """The pivoted paths (:func:`_pivot`) of the users of ``starts`` (``user_id, start``: the
    anchor's instant) from their rows within ``reach`` microseconds of the start in
    ``direction`` (None: all their rows on that side), and one session gap beyond it: each
    row's predecessor is read with it, so its session and repeat flags are the full log's.

    With a reach, kept with a column ``whole``: false for the paths that may go on past what
    was read. After the anchor, a path is whole when it has all its steps, its session ended inside the
    rows read, or the user's last row read lies within the reach (nothing follows it within a
    session gap). Before the anchor, symmetrically, with the first row read: its predecessor
    was not read, so it starts a session (perhaps wrongly: the path is whole only when it has
    all its steps, or a later row starts the anchor's session) and is kept (perhaps a repeat:
    then the row it repeats has its name, and the path's names are the same)."""
    gap = int(rules.session_gap_seconds) * 1_000_000
    s = starts.select(sid="user_id", start="start")
    j = t.join(s, t.user_id == s.sid)
    if direction == "after":
        inside = j.us >= j.start - gap
        if reach is not None:
            inside &= j.us <= j.start + reach + gap
    else:
        inside = j.us <= j.start
        if reach is not None:
            inside &= j.us >= j.start - reach - gap
    # cleaned and ordered once read: the name's expressions run on these rows only
    read, order = _ordered(source, j.filter(inside).select(*t.columns, "start"), rules)
    read = keep(read)
    rows = keep(sessionised(read, order, rules))
    paths = _pivot(rows, locate(rows), direction, steps)
    if reach is None:
        return paths
    edge = read.group_by("user_id").aggregate(
        first=read.us.min(), last=read.us.max(), start=read.start.max()
    )
    sessions = rows.group_by("user_id").aggregate(sessions=rows.session.max())
    p = paths.join(edge, "user_id").join(sessions, "user_id")
    n = int(steps)
    if direction == "after":
        whole = p[f"e{n}"].notnull() | (p.sessions > p.asession) | (p.last <= p.start + reach)
    else:
        whole = p[f"e{n}"].notnull() | (p.asession > 1) | (p.first >= p.start - reach)
    return keep(p.select(*paths.columns, whole=whole))


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
    before they dropped off. Unique users per node and per transition; the ``top`` paths.

    Only the rows near each user's anchor are sessionised (:func:`_around`: a day, or four
    session gaps, on its side), then, for the few users whose session may run on, all their
    rows on that side: the same paths as sessionising every user's whole log."""
    rules = rules or PathRules()
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    if int(steps) < 1:
        raise ValueError("steps must be >= 1")
    if funnel is not None:
        if dropoff_step is None:
            raise ValueError("a funnel's paths need the drop-off step")
        starts_of, locate = dropoff_anchor(source, funnel, dropoff_step, since=since, until=until)
        direction = "after"
    else:
        if anchor is None:
            raise ValueError("paths need an anchor event or a funnel drop-off step")
        _check_anchor(source, anchor, rules)
        starts_of, locate = event_anchor(source, anchor, rules)
    t = _events(source, since=since, until=until)
    n = int(steps)
    names = [f"e{j}" for j in range(n + 1)]

    def build(within: Within) -> ir.Table:
        """``user_id, e0 .. e{steps}`` of one range of users: first from their rows near the
        anchor, then, for the users whose path may run past them, from all their rows on that
        side."""
        rows = within(t)  # and the starts within too: a drop-off's come from the funnel's users
        starts = keep(within(starts_of(rows)))  # read by both passes
        near = _around(source, rows, starts, locate, direction, n, rules, reach_of(rules))
        paths = near.filter(near.whole).select("user_id", *names)
        cut = near.filter(~near.whole).select(cut="user_id")
        if not int(cut.count().execute()):
            return paths
        again = starts.join(cut, starts.user_id == cut.cut).select("user_id", "start")
        rest = _around(source, rows, again, locate, direction, n, rules, None)
        return ibis.union(paths, rest.select("user_id", *names), distinct=False)

    # one range of users at a time when the events outgrow the engine's memory: a user's path
    # depends on their own rows alone (at 10M users the rows near every anchor, sorted at once,
    # spilled to disk)
    paths = kept_by_user(source, input_rows(source, "events"), build)
    return _counts(paths, n, direction, int(top))


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
