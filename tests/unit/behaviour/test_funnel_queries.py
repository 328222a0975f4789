"""The funnel's engine step on hand-made logs with known answers, and against a brute-force
pandas oracle on random logs."""

from __future__ import annotations

import pytest

from opsbook.behaviour.queries.funnel import (
    funnel_by_week,
    funnel_counts,
    funnel_users,
    time_to_convert,
)
from opsbook.behaviour.queries.steps import Funnel
from tests.unit.behaviour.logs import log_source, oracle_counts, random_log

HOUR = 3600


def users_per_step(source, *steps, **options):
    counts = funnel_counts(source, Funnel(tuple(steps), **options))
    return counts.sort_values("step")["users"].tolist()


@pytest.fixture
def three(tmp_path):
    # 1: a b c in a row; 2: a x b (something between); 3: b then a (reverse order)
    rows = [
        (1, 0, "a"), (1, 5, "b"), (1, 6, "c"),
        (2, 0, "a"), (2, 1, "x"), (2, 5, "b"),
        (3, 0, "b"), (3, 5, "a"),
    ]  # fmt: skip
    return log_source(tmp_path, rows)


def test_ordered_counts_each_user_once_per_step(three):
    assert users_per_step(three, "a", "b", "c") == [3, 2, 1]


def test_strict_needs_the_very_next_event(three):
    assert users_per_step(three, "a", "b", "c", order="strict") == [3, 1, 1]


def test_any_order_counts_distinct_steps_within_the_window(three):
    # user 3 did b then a: two different steps
    assert users_per_step(three, "a", "b", "c", order="any") == [3, 3, 1]


def test_a_step_no_one_reaches_is_zero_not_a_crash(three):
    assert users_per_step(three, "a", "c", "x") == [3, 1, 0]


def test_a_one_step_funnel_counts_the_entrants(three):
    assert users_per_step(three, "b") == [3]
    summary, histogram = time_to_convert(three, Funnel(("b",)))
    assert summary.empty and histogram.empty


def test_the_window_is_inclusive_at_its_edge(tmp_path):
    source = log_source(tmp_path, [(1, 0, "a"), (1, 60, "b"), (2, 0, "a"), (2, 61, "b")])
    assert users_per_step(source, "a", "b", window_seconds=HOUR) == [2, 1]
    assert users_per_step(source, "a", "b", window_seconds=HOUR + 60) == [2, 2]


def test_first_entry_follows_only_the_first_attempt_every_entry_any(tmp_path):
    # the first a is too early for b; a later a converts
    source = log_source(tmp_path, [(1, 0, "a"), (1, 200, "a"), (1, 230, "b")])
    assert users_per_step(source, "a", "b", window_seconds=HOUR) == [1, 0]
    assert users_per_step(source, "a", "b", window_seconds=HOUR, entry="every") == [1, 1]


def test_every_entry_times_come_from_the_furthest_attempt(tmp_path):
    source = log_source(tmp_path, [(1, 0, "a"), (1, 200, "a"), (1, 230, "b")])
    funnel = Funnel(("a", "b"), window_seconds=HOUR, entry="every")
    summary, _ = time_to_convert(source, funnel)
    assert summary.set_index("step").loc["1", "median"] == 30 * 60


def test_an_excluded_event_between_two_steps_stops_the_attempt_there(tmp_path):
    rows = [
        (1, 0, "a"), (1, 1, "x"), (1, 2, "b"), (1, 3, "c"),  # x between a and b: stops at a
        (2, 0, "a"), (2, 1, "b"), (2, 2, "x"), (2, 3, "c"),  # x between b and c: stops at b
        (3, 0, "x"), (3, 1, "a"), (3, 2, "b"), (3, 3, "c"),  # x before the funnel: no effect
    ]  # fmt: skip
    source = log_source(tmp_path, rows)
    assert users_per_step(source, "a", "b", "c", exclusions=("x",)) == [3, 2, 1]
    # guarding only the link b -> c
    only_last = ({"event": "x", "from_step": 1, "to_step": 2},)
    assert users_per_step(source, "a", "b", "c", exclusions=only_last) == [3, 3, 2]


def test_a_step_repeated_after_an_exclusion_starts_a_clean_chain(tmp_path):
    # a, x, b is blocked, but a second b... needs an a after x: a, x, a, b converts (every)
    rows = [(1, 0, "a"), (1, 1, "x"), (1, 2, "a"), (1, 3, "b")]
    source = log_source(tmp_path, rows)
    assert users_per_step(source, "a", "b", exclusions=("x",)) == [1, 0]
    assert users_per_step(source, "a", "b", exclusions=("x",), entry="every") == [1, 1]


def test_ties_are_ordered_by_time_then_event_name(tmp_path):
    # b and a at the same minute: a sorts first, so a -> b holds and b -> a does not
    source = log_source(tmp_path, [(1, 0, "b"), (1, 0, "a")])
    assert users_per_step(source, "a", "b") == [1, 1]
    assert users_per_step(source, "b", "a") == [1, 0]
    assert users_per_step(source, "a", "b", order="strict") == [1, 1]


def test_the_same_event_twice_needs_two_occurrences(tmp_path):
    source = log_source(tmp_path, [(1, 0, "a"), (2, 0, "a"), (2, 1, "a")])
    assert users_per_step(source, "a", "a") == [2, 1]


def test_property_filters_on_event_columns(tmp_path):
    rows = [
        (1, 0, "view", {"channel": "ad"}), (1, 1, "buy", {"channel": "ad"}),
        (2, 0, "view", {"channel": "seo"}), (2, 1, "buy", {"channel": "seo"}),
    ]  # fmt: skip
    source = log_source(tmp_path, rows)
    steps = ({"event": "view", "where": {"channel": "ad"}}, "buy")
    assert users_per_step(source, *steps) == [1, 1]
    with pytest.raises(ValueError, match="not an events column"):
        users_per_step(source, {"event": "view", "where": {"colour": "red"}})


def test_an_unknown_event_lists_the_events_and_the_closest(three):
    with pytest.raises(ValueError, match=r"no event 'bb'.*Did you mean 'b'.*Events are: a, b, c"):
        users_per_step(three, "a", "bb")


def test_breakdown_by_a_users_column(tmp_path):
    rows = [(1, 0, "a"), (1, 1, "b"), (2, 0, "a"), (3, 0, "a"), (3, 2, "b")]
    source = log_source(tmp_path, rows, users=[(1, "ad"), (2, "ad"), (3, "seo")])
    counts = funnel_counts(source, Funnel(("a", "b")), breakdown="channel")
    got = {(r.grp, r.step): r.users for r in counts.itertuples()}
    assert got == {("ad", 0): 2, ("ad", 1): 1, ("seo", 0): 1, ("seo", 1): 1}
    with pytest.raises(ValueError, match="not a users column"):
        funnel_counts(source, Funnel(("a", "b")), breakdown="planet")


def test_time_to_convert_per_step_and_overall(tmp_path):
    rows = [(1, 0, "a"), (1, 10, "b"), (1, 40, "c"), (2, 0, "a"), (2, 20, "b")]
    source = log_source(tmp_path, rows)
    summary, histogram = time_to_convert(
        source, Funnel(("a", "b", "c"), window_seconds=HOUR), bins=6
    )
    by = summary.set_index("step")
    assert by.loc["1", "users"] == 2 and by.loc["1", "median"] == 15 * 60
    assert by.loc["2", "median"] == 30 * 60 and by.loc["overall", "median"] == 40 * 60
    # bins of 10 minutes: 10 and 20 minutes fall in bins 1 and 2
    first = histogram[histogram["step"] == "1"]
    assert dict(zip(first["bin"], first["users"], strict=True)) == {1: 1, 2: 1}


def test_entry_week_and_entry_period(tmp_path):
    rows = [(1, 0, "a"), (1, 1, "b"), (2, 7 * 24 * 60, "a")]
    source = log_source(tmp_path, rows)
    weeks = funnel_by_week(source, Funnel(("a", "b")))
    got = {(r.week, r.step): r.users for r in weeks.itertuples()}
    first = min(weeks["week"])
    assert got == {(first, 0): 1, (first, 1): 1, (first + 1, 0): 1, (first + 1, 1): 0}
    users = funnel_users(source, Funnel(("a", "b")), until=weeks.pipe(lambda _: None)).execute()
    assert sorted(users["level"]) == [1, 2]


@pytest.fixture(scope="module")
def random_logs(tmp_path_factory):
    """Three random logs in one source (user ids kept apart), and their rows."""
    rows = [(seed * 1000 + u, m, e) for seed in (1, 2, 3) for u, m, e in random_log(seed)]
    return log_source(tmp_path_factory.mktemp("random"), rows), rows


@pytest.mark.parametrize("order", ["ordered", "strict", "any"])
@pytest.mark.parametrize("entry", ["first", "every"])
def test_counts_match_a_brute_force_oracle_on_random_logs(random_logs, order, entry):
    source, rows = random_logs
    steps = ("a", "b", "c", "a") if order != "any" else ("a", "b", "c", "d")
    got = users_per_step(source, *steps, window_seconds=120 * 60, order=order, entry=entry)
    assert got == oracle_counts(rows, steps, 120, order=order, entry=entry)
