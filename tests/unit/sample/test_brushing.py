"""Order brushing planted by the generator (``truth.json["brushing"]``): rings on one device with
one amount within minutes, refund abusers, the accounts chosen so no other truth moves, and a
device on every order."""

from __future__ import annotations

import pandas as pd
import pytest

from opsbook.sample.brushing import planted_counts
from opsbook.sample.parameters import DEVICE_SLOTS, REPEAT_EVERY


@pytest.mark.parametrize(("users", "rings", "abusers"), [(3000, 3, 3), (20_000, 9, 10)])
def test_counts_scale_with_the_users_with_a_few_on_a_small_sample(users, rings, abusers):
    assert planted_counts(users) == (rings, abusers)
    assert planted_counts(1_000_000) == (429, 500)  # 0.3 % of users in rings of 7 on average


@pytest.fixture(scope="module", params=["small", "default"])
def shop(request):
    sample = request.getfixturevalue(request.param)
    truth = sample.truth["brushing"]
    orders = sample["orders"].merge(sample["users"][["user_id", "signup_ts"]], on="user_id")
    return sample, truth, orders


def test_rings_share_a_device_and_an_amount_within_minutes(shop):
    sample, truth, orders = shop
    ring = orders[orders.order_id.isin(truth["ring_orders"])]
    assert truth["rings"] == planted_counts(sample.truth["params"]["users"])[0]
    assert sorted(ring.user_id.unique()) == truth["ring_users"] and ring.user_id.is_unique
    assert set(ring.device_id) == set(truth["ring_devices"])
    by_device = ring.groupby("device_id").agg(
        n=("order_id", "size"),
        amounts=("amount", "nunique"),
        span=("ts", lambda t: t.max() - t.min()),
    )
    assert by_device.n.between(5, 9).all() and (by_device.amounts == 1).all()
    assert (by_device.span <= pd.Timedelta(minutes=40)).all()
    assert (ring.status == "paid").all() and ring.campaign_id.isna().all()
    # nobody else orders on a ring's device
    assert set(orders.order_id[orders.device_id.isin(truth["ring_devices"])]) == set(ring.order_id)


def test_abusers_order_often_and_refund_most_and_nothing_else(shop):
    _, truth, orders = shop
    mine = orders[orders.user_id.isin(truth["abuser_users"])]
    assert sorted(mine.order_id) == truth["abuser_orders"]
    per_user = mine.groupby("user_id").agg(
        n=("order_id", "size"),
        refunds=("status", lambda s: (s == "refunded").sum()),
        span=("ts", lambda t: t.max() - t.min()),
    )
    assert (per_user.n == 8).all() and (per_user.refunds == 6).all()
    assert (per_user.span < pd.Timedelta(days=28)).all()


def test_planted_accounts_touch_no_other_truth(shop):
    sample, truth, orders = shop
    planted = orders[orders.order_id.isin(truth["ring_orders"] + truth["abuser_orders"])]
    accounts = set(planted.user_id)
    for name in ("assignments", "campaign_members"):
        assert not accounts & set(sample[name].user_id), name
    assert not [u for u in accounts if u % REPEAT_EVERY == 0]  # not the BG/NBD repeat buyers
    assert (planted.ts - planted.signup_ts >= pd.Timedelta(days=31)).all()
    params = truth["parameters"]
    day = planted.ts.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d")
    assert day.between(params["first_day"], params["last_day"]).all()
    assert sample.truth["anomalies"]["outage_day"] not in set(day)


def test_every_order_has_a_device_of_its_own_user_but_a_rings(shop):
    _, truth, orders = shop
    honest = orders[~orders.order_id.isin(truth["ring_orders"])]
    assert orders.device_id.notna().all()
    assert (honest.device_id // DEVICE_SLOTS == honest.user_id).all()
    assert (honest.device_id % DEVICE_SLOTS < DEVICE_SLOTS - 1).all()
    devices = honest.groupby("user_id").device_id.nunique()
    assert devices.max() <= 3 and 0.01 < (devices > 1).mean() < 0.25


def test_the_orders_truth_counts_the_planted_orders(shop):
    sample, _, orders = shop
    totals = sample.truth["orders"]
    assert totals["count"] == len(orders)
    paid = orders[orders.status == "paid"]
    assert totals["paid_revenue"] == pytest.approx(paid.amount.sum(), abs=0.01)
    assert totals["buyers"] == paid.user_id.nunique()
