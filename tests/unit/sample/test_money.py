"""Anomalies and money: the outage day, spend and CAC, long-tailed concentrated orders."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.unit.sample.shop import local_day

# ----------------------------------------------------------------------------- anomalies, money


@pytest.mark.parametrize("fixture", ["small", "default"])
def test_outage_day(fixture, request):
    sample = request.getfixturevalue(fixture)
    outage = pd.Timestamp(sample.truth["anomalies"]["outage_day"])
    assert sample.last_day - pd.Timedelta(days=45) <= outage <= sample.last_day
    assert (local_day(sample["orders"].ts) == outage).sum() == 0
    daily = sample["events"].groupby(local_day(sample["events"].ts)).size()
    neighbours = pd.concat(
        [
            daily[outage - pd.Timedelta(days=7) : outage - pd.Timedelta(days=1)],
            daily[outage + pd.Timedelta(days=1) : outage + pd.Timedelta(days=7)],
        ]
    )
    assert 0.15 <= daily[outage] / neighbours.mean() <= 0.45


def test_spend_and_cac(default):
    spend = default["spend"]
    assert set(spend.channel) == {"search", "social", "kol"}
    users = default["users"].channel.value_counts()
    cac = spend.groupby("channel").cost.sum() / users.reindex(["kol", "search", "social"])
    truth = default.truth["channels"]
    for channel, value in cac.items():
        assert truth[channel]["cac"] == pytest.approx(value, rel=1e-4)
        assert value == pytest.approx(truth[channel]["cac_planted"], rel=0.1)
        assert truth[channel]["users"] == users[channel]
    assert cac["kol"] > cac["search"] > cac["social"]
    assert truth["organic"]["spend"] == 0 and truth["organic"]["cac"] is None


def test_orders_are_long_tailed_and_concentrated(default):
    orders = default["orders"]
    assert 80 <= orders.amount.median() <= 120
    assert (orders.amount > 2000).sum() >= 3
    status = orders.status.value_counts(normalize=True)
    assert status["paid"] == pytest.approx(0.94, abs=0.02)
    assert status["refunded"] == pytest.approx(0.04, abs=0.015)
    revenue = default.paid().groupby("user_id").amount.sum().sort_values(ascending=False)
    top = revenue.iloc[: round(0.2 * len(revenue))].sum() / revenue.sum()
    assert 0.6 <= top <= 0.75
    assert top == pytest.approx(default.truth["orders"]["top20_revenue_share"], abs=1e-3)
