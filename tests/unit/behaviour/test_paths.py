"""Paths on hand-made logs: known transitions, repeats collapsed, sessions split, cleaning
rules, the "other" bucket, and reconciliation with the funnel."""

from __future__ import annotations

import pytest

from opsbook.behaviour.analysis.paths import bucket_rare, paths_analysis
from opsbook.behaviour.queries.funnel import funnel_counts
from opsbook.behaviour.queries.paths import END, OTHER, PathRules, path_counts
from opsbook.behaviour.queries.steps import Funnel
from tests.unit.behaviour.logs import log_source, random_log

ROWS = [
    (1, 0, "home"), (1, 1, "view_item_1"), (1, 2, "view_item_2"), (1, 3, "cart"),
    (2, 0, "home"), (2, 1, "search"), (2, 100, "cart"),  # cart in a new session
    (3, 0, "search"), (3, 1, "home"), (3, 2, "view_item_9"),
]  # fmt: skip
CLEAN = PathRules(cleaning=((r"view_item_\d+", "view_item"),))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return log_source(tmp_path_factory.mktemp("shop"), ROWS)


def links(counts):
    return {(r.step, r.source, r.target): r.users for r in counts.transitions.itertuples()}


def test_known_transitions_with_cleaning_and_repeats_collapsed(shop):
    counts = path_counts(shop, anchor="home", steps=3, rules=CLEAN)
    assert links(counts) == {
        (0, "home", "view_item"): 2,
        (0, "home", "search"): 1,
        (1, "view_item", "cart"): 1,
        (1, "view_item", END): 1,
        (1, "search", END): 1,  # the cart 99 minutes later is another session
        (2, "cart", END): 1,
    }
    top = dict(zip(counts.top["path"], counts.top["users"], strict=True))
    assert top == {
        ("home", "view_item", "cart"): 1,
        ("home", "view_item"): 1,
        ("home", "search"): 1,
    }


def test_repeats_kept_when_not_collapsed_and_raw_names_without_cleaning(shop):
    counts = path_counts(shop, anchor="home", steps=2, rules=PathRules(collapse_repeats=False))
    assert links(counts)[(1, "view_item_1", "view_item_2")] == 1
    rules = PathRules(cleaning=CLEAN.cleaning, collapse_repeats=False)
    cleaned = path_counts(shop, anchor="home", steps=2, rules=rules)
    assert links(cleaned)[(1, "view_item", "view_item")] == 1


def test_a_longer_session_gap_joins_the_sessions(shop):
    rules = PathRules(cleaning=CLEAN.cleaning, session_gap_seconds=3 * 3600)
    assert links(path_counts(shop, anchor="home", steps=2, rules=rules))[(1, "search", "cart")] == 1


def test_paths_before_an_end_event_read_backwards(shop):
    counts = path_counts(shop, anchor="cart", direction="before", steps=3, rules=CLEAN)
    assert links(counts) == {
        (0, "cart", "view_item"): 1,
        (0, "cart", END): 1,
        (1, "view_item", "home"): 1,
        (2, "home", END): 1,
    }
    assert ("home", "view_item", "cart") in set(counts.top["path"])


def test_nodes_equal_their_outgoing_transitions(shop):
    counts = path_counts(shop, anchor="home", steps=3, rules=CLEAN)
    out = counts.transitions.groupby(["step", "source"])["users"].sum()
    for r in counts.nodes.itertuples():
        if r.step < 3:
            assert out[(r.step, r.event)] == r.users


def test_rare_nodes_go_to_an_explicit_other_bucket_and_still_reconcile(shop):
    counts = bucket_rare(path_counts(shop, anchor="home", steps=3, rules=CLEAN), min_users=2)
    nodes = {(r.step, r.event): r.users for r in counts.nodes.itertuples()}
    assert nodes[(1, "view_item")] == 2 and nodes[(1, OTHER)] == 1
    assert links(counts)[(1, OTHER, END)] == 1
    into = counts.transitions[counts.transitions["target"] != END]
    into = into.groupby(["step", "target"])["users"].sum()
    for (step, event), users in nodes.items():
        if step >= 1:
            assert into[(step - 1, event)] == users


def test_unknown_anchor_is_named(shop):
    with pytest.raises(ValueError, match="Did you mean 'home'"):
        path_counts(shop, anchor="hom")


def test_users_at_a_funnel_step_who_continue_equal_the_paths_transitions(tmp_path):
    rows = random_log(7, users=60, names=("a", "b", "c"))
    source = log_source(tmp_path, rows)
    funnel = Funnel(("a", "b"), order="strict", window_seconds=10**8)
    reached = funnel_counts(source, funnel).set_index("step")["users"]
    rules = PathRules(collapse_repeats=False, session_gap_seconds=10**8)
    counts = path_counts(source, anchor="a", steps=1, rules=rules)
    assert links(counts)[(0, "a", "b")] == reached[1]
    assert counts.nodes.set_index(["step", "event"]).loc[(0, "a"), "users"] == reached[0]


def test_paths_after_a_drop_off_start_from_the_users_who_left(shop):
    funnel = Funnel(("home", "cart"), window_seconds=3600)
    result = paths_analysis(shop, funnel=funnel, dropoff_step=1, steps=3, rules=CLEAN)
    dropped = funnel_counts(shop, funnel).set_index("step")["users"]
    assert result.users == dropped[0] - dropped[1] == 2
    assert set(result.next_events()["target"]) == {"view_item", "search"}
    assert result.metrics()["anchor"] == "home"
