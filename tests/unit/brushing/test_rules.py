"""The brushing rules on hand-made shops with known answers, and the burst rule against a brute
force over every window on random orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from opsbook.brushing.analysis import brushing, refund_outlier_pairs
from opsbook.brushing.queries import BrushingRules, _orders, burst_orders
from tests.unit.retention.sources import source_of, users_of

T0 = pd.Timestamp("2026-03-02 08:00")
OFF = dict(
    burst_orders=0, no_browsing_minutes=0, new_account_minutes=0, repeated_orders=0,
    refund_min_refunds=0,
)  # fmt: skip


def at(minutes: float) -> str:
    return str(T0 + pd.Timedelta(minutes=minutes))


def order(oid, user, minutes, amount=10.0, **extra):
    return {"order_id": oid, "user_id": user, "ts": at(minutes), "amount": amount} | extra


def flagged(result, rule):
    frame = result.flags.filter(result.flags.rule == rule).execute()
    return set(frame.order_id)


def shop(tmp_path, orders, events=None, users=None, name="shop"):
    ids = sorted({o["user_id"] for o in orders})
    people = users or users_of(*[(u, at(-10_000)) for u in ids])
    return source_of(tmp_path / name, people, events, orders)


def test_burst_flags_every_order_of_a_dense_window_and_nothing_else(tmp_path):
    # user 1: five orders in 50 minutes (a burst of 5 in 60), then one a day later
    # user 2: five orders spread over five hours
    orders = [order(f"a{i}", 1, 10 * i) for i in range(5)] + [order("a9", 1, 1440)]
    orders += [order(f"b{i}", 2, 70 * i) for i in range(5)]
    rules = BrushingRules(**OFF | {"burst_orders": 5, "burst_minutes": 60})
    result = brushing(shop(tmp_path, orders), rules)
    assert flagged(result, "burst") == {f"a{i}" for i in range(5)}
    assert result.per_rule["burst"]["users"] == 1
    assert result.per_rule["burst"]["amount"] == pytest.approx(50.0)
    assert result.all["share_orders"] == pytest.approx(5 / 11)


def test_burst_by_device_catches_many_accounts_on_one_phone(tmp_path):
    orders = [order(f"d{i}", 10 + i, 5 * i, device_id="phone-x") for i in range(5)]
    orders += [order("e1", 30, 0, device_id="phone-y")]
    rules = BrushingRules(**OFF | {"burst_orders": 5, "burst_minutes": 60})
    result = brushing(shop(tmp_path, orders), rules)
    assert flagged(result, "burst") == {f"d{i}" for i in range(5)}
    assert result.per_rule["burst"]["users"] == 5


def test_an_order_flagged_by_two_keys_of_a_rule_counts_once(tmp_path):
    # one account's five orders from one phone within the hour: a burst of the user and of the
    # device -- the rule flags each order twice, the counts and amount take it once
    orders = [order(f"d{i}", 1, 5 * i, amount=10.0 + i, device_id="phone-x") for i in range(5)]
    orders += [order("e1", 2, 0, device_id="phone-y")]
    rules = BrushingRules(**OFF | {"burst_orders": 5, "burst_minutes": 60})
    result = brushing(shop(tmp_path, orders), rules)
    assert len(result.flags.filter(result.flags.rule == "burst").execute()) == 10
    for counted in (result.per_rule["burst"], result.all):
        assert (counted["orders"], counted["users"]) == (5, 1)
        assert counted["amount"] == pytest.approx(60.0)
        assert counted["share_amount"] == pytest.approx(60.0 / 70.0)


def brute_force_bursts(times: dict[str, list[tuple[float, str]]], count: int, window: float):
    out = set()
    for seq in times.values():
        for start, _ in seq:
            inside = [oid for t, oid in seq if start <= t <= start + window]
            if len(inside) >= count:
                out |= set(inside)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_burst_equals_a_brute_force_over_every_window(tmp_path, seed):
    rng = np.random.default_rng(seed)
    orders, times = [], {}
    for i in range(400):
        user = int(rng.integers(0, 25))
        minutes = int(rng.integers(0, 3000))  # whole minutes: many ties
        orders.append(order(f"o{i}", user, minutes))
        times.setdefault(user, []).append((minutes, f"o{i}"))
    source = shop(tmp_path, orders)
    got = set(burst_orders(_orders(source), ["user_id"], 4, 90 * 60_000_000).execute().order_id)
    assert got == brute_force_bursts(times, 4, 90)
    assert got  # the draw holds bursts at all


def test_no_browsing_needs_an_event_strictly_before_within_the_window(tmp_path):
    orders = [order("o1", 1, 100), order("o2", 2, 100), order("o3", 3, 100), order("o4", 4, 100)]
    events = [
        {"user_id": 1, "ts": at(95), "event": "view_item"},  # 5 minutes before: browsed
        {"user_id": 2, "ts": at(40), "event": "view_item"},  # an hour before: not within 30
        {"user_id": 3, "ts": at(100), "event": "purchase"},  # the order's own instant
    ]  # user 4: no events at all
    rules = BrushingRules(**OFF | {"no_browsing_minutes": 30})
    result = brushing(shop(tmp_path, orders, events), rules)
    assert flagged(result, "no_browsing") == {"o2", "o3", "o4"}


def test_new_accounts_ordering_at_once_through_a_campaign(tmp_path):
    users = users_of((1, at(0)), (2, at(0)), (3, at(0)))
    orders = [
        order("o1", 1, 5, campaign_id=7),  # 5 minutes after signup, through a campaign
        order("o2", 2, 30, campaign_id=7),  # 30 minutes after
        order("o3", 3, 2),  # at once, but not through a campaign
    ]
    rules = BrushingRules(**OFF | {"new_account_minutes": 10})
    result = brushing(shop(tmp_path, orders, users=users), rules)
    assert flagged(result, "new_account") == {"o1"}


def test_the_same_amount_repeated(tmp_path):
    orders = [order(f"r{i}", 1, 60 * i, amount=9.99) for i in range(3)]  # 3 in 2 hours
    orders += [order(f"s{i}", 2, 60 * 24 * 2 * i, amount=9.99) for i in range(3)]  # 2 days apart
    orders += [order("t0", 3, 0, amount=9.99), order("t1", 3, 5, amount=10.0)]
    rules = BrushingRules(**OFF | {"repeated_orders": 3, "repeated_hours": 24})
    result = brushing(shop(tmp_path, orders), rules)
    assert flagged(result, "repeated_amount") == {"r0", "r1", "r2"}


def test_refund_outliers_against_their_peers_with_bonferroni(tmp_path):
    # 60 honest users with 10 orders and 1 refund each (10 %), one with 8 of 10 refunded
    orders, n = [], 0
    for user in range(61):
        refunds = 8 if user == 0 else 1
        for k in range(10):
            status = "refunded" if k < refunds else "paid"
            orders.append(order(f"o{n}", user, 10 * n, status=status))
            n += 1
    rules = BrushingRules(**OFF | {"refund_min_refunds": 3, "refund_alpha": 0.001})
    result = brushing(shop(tmp_path, orders), rules)
    assert flagged(result, "refund_outlier") == {f"o{k}" for k in range(10)}
    # the test's p-value: the peers' rate pools every user's orders, the outlier's too
    rate = (8 + 60) / 610
    assert stats.binom.sf(7, 10, rate) < 0.001 / 1


def test_refund_pairs_against_scipy_and_the_minimum():
    counts = pd.DataFrame(
        {"peer": ["", "", "", ""], "orders": [10, 10, 4, 3], "refunds": [1, 6, 3, 3],
         "users": [1000, 2, 5, 1]}
    )  # fmt: skip
    pairs = refund_outlier_pairs(counts, BrushingRules(refund_min_refunds=3, refund_alpha=0.01))
    rate = (1000 * 1 + 2 * 6 + 5 * 3 + 3) / (1000 * 10 + 2 * 10 + 5 * 4 + 3)
    level = 0.01 / 8  # users with at least 3 refunds are the ones tested
    expected = [
        (o, r) for o, r in [(10, 6), (4, 3), (3, 3)] if stats.binom.sf(r - 1, o, rate) < level
    ]
    assert list(zip(pairs.orders, pairs.refunds, strict=True)) == expected
    assert expected  # at least one pair is far enough above the peers


def test_rules_without_their_inputs_say_they_did_not_run(tmp_path):
    orders = [order("o1", 1, 0)]
    people = users_of((1, at(-100)))
    source = source_of(tmp_path / "bare", people, None, orders)
    result = brushing(source)
    assert result.skipped == {
        "no_browsing": "brushing.skip.no_events",
        "new_account": "brushing.skip.no_campaign_id",
        "refund_outlier": "brushing.skip.no_status",
    }
    assert result.metrics()["brushing"]["rules"]["no_browsing"] == {
        "skipped": "brushing.skip.no_events"
    }


def test_flagged_orders_can_be_left_out_of_every_question(tmp_path):
    orders = [order(f"a{i}", 1, 10 * i, amount=100.0) for i in range(5)]
    orders += [order("b0", 2, 0, amount=30.0)]
    source = shop(tmp_path, orders)
    result = brushing(source, BrushingRules(**OFF | {"burst_orders": 5}))
    clean = source.without("orders", result.flags, "order_id")
    assert clean.table("orders").amount.sum().execute() == 30.0
    assert source.table("orders").amount.sum().execute() == 530.0  # the original is untouched
