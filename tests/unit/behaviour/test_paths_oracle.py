"""Paths against a brute-force oracle over each user's whole log: the engine sessionises only
the rows near each anchor and reads the whole log again for the users whose session may run on
(:func:`opsbook.behaviour.queries.paths._around`); the oracle always reads everything."""

from __future__ import annotations

from collections import Counter

import pytest

from opsbook.behaviour.queries import paths as paths_module
from opsbook.behaviour.queries.paths import PathRules, path_counts
from opsbook.behaviour.queries.steps import Funnel
from tests.unit.behaviour.logs import log_source, random_log

NAMES = ("a", "b", "c")


def oracle_paths(rows, anchor, direction, steps, gap_minutes, collapse):
    """Per user: events by (minute, name); a new session after more than ``gap_minutes`` idle;
    a repeat of the previous name within a session dropped (``collapse``); the first kept
    ``anchor`` row and up to ``steps`` kept rows on ``direction``'s side in its session, in
    time order. Users per path."""
    per_user: dict[int, list[tuple[int, str]]] = {}
    for user, minute, name in rows:
        per_user.setdefault(user, []).append((minute, name))
    found = Counter()
    for events in per_user.values():
        kept, session, prev = [], 0, None
        for minute, name in sorted(events):
            fresh = prev is None or minute - prev[0] > gap_minutes
            session += fresh
            if not (collapse and not fresh and name == prev[1]):
                kept.append((session, name))
            prev = (minute, name)
        at = next((i for i, (_, name) in enumerate(kept) if name == anchor), None)
        if at is None:
            continue
        home = kept[at][0]
        if direction == "after":
            part = [n for s, n in _while_same(kept[at : at + steps + 1], home)]
        else:
            part = [n for s, n in _while_same(kept[max(0, at - steps) : at + 1][::-1], home)][::-1]
        found[tuple(part)] += 1
    return found


def _while_same(rows, session):
    out = []
    for s, n in rows:
        if s != session:
            break
        out.append((s, n))
    return out


def engine_paths(source, **kwargs):
    counts = path_counts(source, top=10**6, **kwargs)
    return Counter(dict(zip(counts.top["path"], counts.top["users"], strict=True)))


def spread_log(folder, stretch):
    """Events over 600 * ``stretch`` minutes in whole minutes: ties, repeats, short and long
    sessions."""
    rows = random_log(5, users=80, names=NAMES, per_user=30)
    rows = [(u, m * stretch, n) for u, m, n in rows]
    return rows, log_source(folder, rows)


@pytest.fixture
def widely_spread(tmp_path):
    return spread_log(tmp_path, 24)  # ten days


@pytest.fixture(scope="module", params=[24, 2])
def spread(request, tmp_path_factory):
    return spread_log(tmp_path_factory.mktemp("log"), request.param)


@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("gap_minutes", [30, 600])
@pytest.mark.parametrize("reach_gaps", [0, 4])
def test_paths_equal_the_oracle_over_whole_logs(
    spread, monkeypatch, direction, collapse, gap_minutes, reach_gaps
):
    rows, source = spread
    # rows first read within this many session gaps of the anchor (the report's: a day or 4)
    reach = reach_gaps * gap_minutes * 60 * 1_000_000
    monkeypatch.setattr(paths_module, "reach_of", lambda rules: reach)
    rules = PathRules(collapse_repeats=collapse, session_gap_seconds=gap_minutes * 60)
    found = engine_paths(source, anchor="b", direction=direction, steps=4, rules=rules)
    assert found == oracle_paths(rows, "b", direction, 4, gap_minutes, collapse)


def test_users_whose_session_runs_past_the_reach_are_read_again(widely_spread, monkeypatch):
    rows, source = widely_spread
    monkeypatch.setattr(paths_module, "REACH_SECONDS", 0)  # the reach: four session gaps
    around = paths_module._around
    reaches = []

    def spied(*args):
        reaches.append(args[-1])
        return around(*args)

    monkeypatch.setattr(paths_module, "_around", spied)
    rules = PathRules(session_gap_seconds=1200 * 60)  # sessions of days: some run past the reach
    found = engine_paths(source, anchor="a", steps=12, rules=rules)
    assert reaches == [4 * 1200 * 60 * 1_000_000, None]
    assert found == oracle_paths(rows, "a", "after", 12, 1200, True)


def test_drop_off_paths_do_not_depend_on_the_reach(widely_spread, monkeypatch):
    _, source = widely_spread
    funnel = Funnel(("a", "c"), window_seconds=3 * 3600)
    rules = PathRules(session_gap_seconds=120 * 60)
    found = {}
    for reach in (0, 10**15):  # the session gap only; more than the whole log
        monkeypatch.setattr(paths_module, "reach_of", lambda rules, reach=reach: reach)
        found[reach] = engine_paths(source, funnel=funnel, dropoff_step=1, steps=3, rules=rules)
    assert found[0] == found[10**15] and sum(found[0].values()) > 0
