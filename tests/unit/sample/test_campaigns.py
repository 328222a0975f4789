"""Campaigns: holdout conversion, the table, the funnel, the step campaign, referral K."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.unit.sample.shop import converted_in_window, local_day, within

# ----------------------------------------------------------------------------- campaigns


@pytest.mark.parametrize("fixture", ["small", "default"])
def test_campaign_holdout_conversion_matches_truth(fixture, request):
    sample = request.getfixturevalue(fixture)
    campaigns = sample["campaigns"].set_index("campaign_id")
    members = sample["campaign_members"]
    members = members[members.inviter_id.isna()]
    with_holdout = 0
    for cid, truth in sample.truth["campaigns"].items():
        m = members[members.campaign_id == int(cid)].reset_index(drop=True)
        groups = m.group.value_counts()
        assert groups.get("treatment", 0) == truth["members_treatment"]
        assert groups.get("holdout", 0) == truth["members_holdout"]
        if not truth["has_holdout"]:
            assert groups.get("holdout", 0) == 0
            continue
        with_holdout += 1
        assert groups["holdout"] / len(m) == pytest.approx(0.1, abs=0.05)
        start, end = campaigns.start_ts[int(cid)], campaigns.end_ts[int(cid)]
        m["converted"] = converted_in_window(
            sample, m, pd.Series(start, index=m.index), pd.Series(end, index=m.index)
        )
        rates = m.groupby("group").converted.agg(["sum", "mean", "size"])
        assert rates["sum"]["treatment"] == truth["converted_treatment"]
        assert rates["sum"]["holdout"] == truth["converted_holdout"]
        assert within(rates["mean"]["treatment"], truth["p_treatment"], rates["size"]["treatment"])
        assert within(rates["mean"]["holdout"], truth["p_holdout"], rates["size"]["holdout"])
        assert truth["p_treatment"] == pytest.approx(
            truth["p_holdout"] * (1 + truth["true_rel_lift"])
        )
    assert with_holdout >= 2


def test_campaign_table(small):
    c = small["campaigns"]
    assert 4 <= len(c) <= 6
    assert c.name.str.contains(r"[\u4e00-\u9fff]").any()
    days = (c.end_ts - c.start_ts).dt.total_seconds() / 86400
    assert days.between(6.9, 14).all()
    kinds = {v["kind"] for v in small.truth["campaigns"].values()}
    assert {"holdout", "referral", "step"} <= kinds
    assert c.target_k.notna().sum() == 1


def test_campaign_funnel(default):
    ev = default["events"]
    for cid, truth in default.truth["campaigns"].items():
        e = ev[ev.campaign_id == int(cid)]
        viewers = e.user_id[e.event == "campaign_view"].nunique()
        clickers = e.user_id[e.event == "campaign_click"].nunique()
        joiners = e.user_id[e.event == "campaign_join"].nunique()
        assert viewers == truth["members_treatment"]
        assert joiners == truth["participants"]
        assert within(clickers / viewers, 0.3, viewers)
        assert within(joiners / clickers, 0.4, clickers)


def test_step_campaign_and_spikes(default):
    truth = next(v for v in default.truth["campaigns"].values() if v["kind"] == "step")
    cid = next(int(k) for k, v in default.truth["campaigns"].items() if v["kind"] == "step")
    orders = default["orders"]
    assert (orders.campaign_id == cid).sum() == truth["incremental_orders"]
    day = local_day(orders.ts)
    daily = orders.groupby(day).size()
    start, end = pd.Timestamp(truth["start"]), pd.Timestamp(truth["end"])
    during = daily[start:end].mean()
    before = daily[start - pd.Timedelta(days=28) : start - pd.Timedelta(days=1)].mean()
    assert during > 1.2 * before
    double11 = default.truth["campaigns"]["104"]
    spike = daily[pd.Timestamp(double11["start"]) : pd.Timestamp(double11["end"])].mean()
    assert (
        spike
        > 1.2 * daily[pd.Timestamp(double11["start"]) - pd.Timedelta(days=21) :].iloc[:14].mean()
    )


@pytest.mark.parametrize("fixture", ["small", "default"])
def test_referral_campaign_k(fixture, request):
    sample = request.getfixturevalue(fixture)
    cid, truth = next(
        (k, v) for k, v in sample.truth["campaigns"].items() if v["kind"] == "referral"
    )
    cid = int(cid)
    members = sample["campaign_members"]
    invitees = members[(members.campaign_id == cid) & members.inviter_id.notna()]
    ev = sample["events"]
    e = ev[ev.campaign_id == cid]
    participants = e.user_id[e.event == "campaign_join"].nunique()
    invitations = (e.event == "invite_sent").sum()
    assert len(invitees) == truth["invitees"] and invitations == truth["invitations"]
    assert truth["k"] == pytest.approx(len(invitees) / participants, abs=1e-6)
    assert set(invitees.inviter_id.astype(int)) <= set(e.user_id[e.event == "campaign_join"])
    users = sample["users"].set_index("user_id")
    assert (users.channel[invitees.user_id] == "referral").all()
    signup = users.signup_ts[invitees.user_id].to_numpy()
    assert (invitees.ts.to_numpy() == signup).all()
    first_invite = e[e.event == "invite_sent"].groupby("user_id").ts.min()
    assert (signup > first_invite[invitees.inviter_id.astype(int)].to_numpy()).all()
    camp = sample["campaigns"].set_index("campaign_id")
    assert (signup >= camp.start_ts[cid]).all() and (signup <= camp.end_ts[cid]).all()
    if fixture == "default":
        assert 0.3 <= truth["k"] <= 1.2
