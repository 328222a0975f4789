"""Campaign review, analysis: every formula on hand-made data, independent oracles, planted
truths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from opsbook.campaigns import analysis, queries
from opsbook.campaigns.analysis import incrementality
from opsbook.stats import causal_impact
from opsbook.stats.timeseries import weekday_factors
from tests.conftest import dataset
from tests.unit.campaigns.conftest import T, _row, _source, _source_tz, _write


def test_status_rule_and_amber_band():
    assert analysis.status_of(3.0, 3.0) == "green"
    assert analysis.status_of(2.7, 3.0) == "amber"  # within 10 % of the target
    assert analysis.status_of(2.69, 3.0) == "red"
    assert analysis.status_of(40.0, 40.0, "lower") == "green"
    assert analysis.status_of(44.0, 40.0, "lower") == "amber"
    assert analysis.status_of(44.1, 40.0, "lower") == "red"
    assert analysis.status_of(-0.05, 0.0) == "red"  # a zero target has no amber band
    assert analysis.status_of(None, 3.0) is None and analysis.status_of(1.0, None) is None
    assert analysis.status_of(0.19, 0.2, band=0.0) == "red"


def test_lift_table_against_scipy_welch():
    rng = np.random.default_rng(3)
    t = rng.exponential(12, 400) * (rng.random(400) < 0.3)
    h = rng.exponential(10, 150) * (rng.random(150) < 0.25)
    sums = pd.DataFrame(
        {
            "grp": ["treatment", "holdout"],
            "n": [t.size, h.size],
            "revenue": [t.sum(), h.sum()],
            "revenue_sq": [t @ t, h @ h],
        }
    )
    row = analysis.lift_table(sums, ["revenue"], alpha=0.05).iloc[0]
    oracle = sps.ttest_ind(t, h, equal_var=False)  # scipy.stats.ttest_ind(t, h, equal_var=False)
    assert row.p_value == pytest.approx(oracle.pvalue, rel=1e-9)
    assert row.abs_lift == pytest.approx(t.mean() - h.mean())
    low, high = oracle.confidence_interval(0.95)
    assert (row.abs_low, row.abs_high) == pytest.approx((low, high), rel=1e-9)
    # changed on purpose (was the delta method): Fieller's interval inverts the same Welch
    # test -- at each end r, the Welch statistic of t against (1 + r)·h is ∓ the critical value
    # (scipy.stats.ttest_ind(t, (1 + r)·h, equal_var=False).statistic; df of the test run)
    z = sps.t.ppf(0.975, oracle.df)
    assert row.rel_lift == pytest.approx(t.mean() / h.mean() - 1)
    for end, sign in ((row.rel_low, 1), (row.rel_high, -1)):
        statistic = sps.ttest_ind(t, (1 + end) * h, equal_var=False).statistic
        assert statistic == pytest.approx(sign * z, rel=1e-9)
    assert (row.p_value < 0.05) == (row.rel_low > 0 or row.rel_high < 0)


def test_lift_table_does_not_depend_on_the_order_of_the_channel_rows():
    """The treatment's channels come from the engine's group-by in any order; summing them in
    that order changed the last digit of the incremental revenue and the KPI dashboard's
    campaign ROI between two runs of the same data (tests/notebooks/test_determinism.py)."""
    sums = pd.DataFrame(
        {
            "grp": ["treatment", "treatment", "treatment", "holdout"],
            "channel": ["app", "sms", "web", "-"],
            "n": [10, 20, 30, 40],
            # (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1 in floating point
            "revenue": [0.1, 0.2, 0.3, 0.4],
            "revenue_sq": [0.1, 0.2, 0.3, 0.4],
        }
    )
    forward = analysis.lift_table(sums, ["revenue"], alpha=0.05)
    backward = analysis.lift_table(sums.iloc[::-1], ["revenue"], alpha=0.05)
    pd.testing.assert_frame_equal(forward, backward, check_exact=True)
    assert forward.treatment_mean.iloc[0] == 0.6 / 60  # the correctly rounded sum, 0.6


def test_lift_table_verdict_colour_and_intervals_follow_holm():
    # the case: 50 / 5,000 vs 75 / 5,000 converted, p = 0.024 -- beside two flat metrics
    # Holm makes it 0.073: not significant, and the shown intervals (at the Holm level) hold 0
    def arm(n, conversions, orders_mean):
        orders = np.full(n, orders_mean)
        orders[: n // 2] += 0.5
        orders[n // 2 :] -= 0.5
        return {
            "n": n,
            "conversion": conversions,
            "conversion_sq": conversions,
            "orders": orders.sum(),
            "orders_sq": orders @ orders,
            "revenue": orders.sum() * 10,
            "revenue_sq": (orders @ orders) * 100,
        }

    sums = pd.DataFrame(
        [{"grp": "treatment", **arm(5000, 75, 1.0)}, {"grp": "holdout", **arm(5000, 50, 1.0)}]
    )
    lifts = analysis.lift_table(sums, ["conversion", "revenue", "orders"], alpha=0.05)
    conv = lifts.set_index("metric").loc["conversion"]
    assert conv.p_value == pytest.approx(0.0244, abs=1e-4)
    assert conv.p_holm == pytest.approx(3 * conv.p_value, rel=1e-9)
    assert not conv.significant
    assert conv.abs_low < 0 < conv.abs_high and conv.rel_low < 0 < conv.rel_high
    assert conv.interval_alpha == pytest.approx(0.05 / 3, rel=1e-12)
    for row in lifts.itertuples():
        assert row.significant == (row.p_holm < 0.05)
        assert row.significant == (row.abs_low > 0 or row.abs_high < 0)
        assert row.significant == (row.rel_low > 0 or row.rel_high < 0)
    # alone, the same conversion lift is significant and its intervals exclude 0
    alone = analysis.lift_table(sums, ["conversion"], alpha=0.05).iloc[0]
    assert alone.significant and alone.rel_low > 0 and alone.abs_low > 0


def test_incremental_roi_and_its_interval_by_hand():
    lifts = pd.DataFrame(
        {
            "metric": ["conversion", "revenue"],
            "treatment_n": [1000, 1000],
            "abs_lift": [0.02, 3.0],
            "abs_low": [0.01, 1.0],
            "abs_high": [0.03, 5.0],
        }
    )
    out = analysis.incremental(lifts, spend=1000.0)
    assert out["incremental_conversions"] == pytest.approx(20)
    assert out["incremental_conversions_ci"] == pytest.approx([10, 30])
    assert out["incremental_revenue"] == pytest.approx(3000)
    assert out["iroi"] == pytest.approx(3.0) and out["iroi_net"] == pytest.approx(2.0)
    assert out["iroi_ci"] == pytest.approx([1.0, 5.0])  # the revenue interval / a known spend
    # cost per incremental conversion: 1000/20, its interval inverts [10, 30]
    assert out["cost_per_incremental_conversion"] == pytest.approx(50)
    assert out["cost_per_incremental_conversion_ci"] == pytest.approx([1000 / 30, 100])
    unbounded = lifts.assign(abs_low=[-0.01, -1.0])
    assert analysis.incremental(unbounded, 1000.0)["cost_per_incremental_conversion_ci"][1] is None
    assert analysis.incremental(lifts, None)["iroi"] is None


def test_attribution_is_reexported_and_heuristics_known_by_hand():
    from opsbook.stats.attribution import attribution as original

    assert analysis.attribution is original
    paths = pd.DataFrame(
        {"path": ["a > b > c", "a > b"], "conversions": [1, 1], "value": [10, 20], "nulls": [0, 0]}
    )
    out = analysis.attribution(
        paths, models=["first_touch", "last_touch", "linear", "position_based"]
    )
    assert out["first_touch"].to_dict() == {"a": 2, "b": 0, "c": 0}
    assert out["last_touch"].to_dict() == {"a": 0, "b": 1, "c": 1}
    assert out["linear"].to_dict() == pytest.approx(
        {"a": 1 / 3 + 1 / 2, "b": 1 / 3 + 1 / 2, "c": 1 / 3}
    )
    assert out["position_based"].to_dict() == pytest.approx({"a": 0.9, "b": 0.7, "c": 0.4})
    assert out["linear_value"].to_dict() == pytest.approx(
        {"a": 10 / 3 + 10, "b": 10 / 3 + 10, "c": 10 / 3}
    )


def _simulated_conversion(paths, removed, walkers, rng):
    """Brute force: walk the first-order chain estimated from ``paths`` many times."""
    states = ["(start)", "a", "b", "c", "(conversion)", "(null)"]
    index = {s: i for i, s in enumerate(states)}
    counts = np.zeros((6, 6))
    for path, conv, nulls in paths:
        seq = ["(start)", *path.split(" > ")]
        for end, weight in (("(conversion)", conv), ("(null)", nulls)):
            for x, y in zip([*seq], [*seq[1:], end], strict=True):
                counts[index[x], index[y]] += weight
    probs = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    where = np.zeros(walkers, dtype=int)
    for _ in range(60):
        moving = where < 4
        if not moving.any():
            break
        cum = probs[where[moving]].cumsum(axis=1)
        step = (rng.random(moving.sum())[:, None] > cum).sum(axis=1)
        step[np.isin(step, [index[r] for r in removed])] = index["(null)"]
        where[moving] = step
    return float((where == 4).mean())


def test_markov_removal_effects_match_a_brute_force_simulation():
    raw = [("a > b", 30, 10), ("b", 10, 20), ("a > c > b", 20, 10), ("c", 0, 20), ("a", 5, 25)]
    paths = pd.DataFrame(raw, columns=["path", "conversions", "nulls"]).assign(value=1.0)
    exact = analysis.attribution(paths, models=["markov"]).attrs["removal_effects"]
    rng = np.random.default_rng(7)
    base = _simulated_conversion(raw, [], 200_000, rng)
    for channel in "abc":
        simulated = 1 - _simulated_conversion(raw, [channel], 200_000, rng) / base
        assert exact[channel] == pytest.approx(simulated, abs=0.01)


@pytest.mark.real_data
def test_attribution_on_the_real_channel_paths_file():
    raw = pd.read_csv(dataset("channel_attribution", "channelattribution_paths.csv"), sep=";")
    paths = raw.rename(
        columns={"total_conversions": "conversions", "total_conversion_value": "value",
                 "total_null": "nulls"}
    )  # fmt: skip
    out = analysis.attribution(paths)
    total = paths["conversions"].sum()
    for model in ("first_touch", "last_touch", "linear", "position_based", "time_decay", "markov"):
        assert out[model].sum() == pytest.approx(total)
        assert (out[model] >= -1e-9).all()
    # first touch by hand with pandas: the first token of each path
    first = paths.assign(c=paths["path"].str.split(">").str[0].str.strip())
    assert out["first_touch"].to_dict() == pytest.approx(
        first.groupby("c")["conversions"].sum().to_dict()
    )
    assert 0 < out.attrs["conversion_probability"] < 1


def _weekly(days=84, level=100.0):
    index = pd.date_range("2026-01-05", periods=days, freq="D")  # a Monday
    pattern = np.where(index.dayofweek >= 5, 1.5, 0.9)
    wiggle = 1 + 0.03 * np.sin(np.arange(days) * 1.7)
    return pd.Series(level * pattern * wiggle, index=index)


def test_weekday_factors_and_anomaly_flags():
    orders = _weekly()
    factors = weekday_factors(orders)
    assert factors[orders.index.dayofweek >= 5].mean() / factors[
        orders.index.dayofweek < 5
    ].mean() == pytest.approx(1.5 / 0.9, rel=0.03)
    outage = orders.index[40]
    orders[outage] = 0.0
    campaign = (orders.index[60], orders.index[66], "7")
    orders[(orders.index >= campaign[0]) & (orders.index <= campaign[1])] *= 1.6
    site = pd.DataFrame({"orders": orders, "revenue": orders * 100})
    days = analysis.flag_days(site, [campaign], threshold=4.0)
    flagged = days[days["anomaly"]]
    # the outage is the one anomaly: weekends and the campaign's rise are expected
    assert flagged["date"].tolist() == [outage] and flagged["flag"].tolist() == ["gap"]
    assert (days.loc[days["campaign"] == "7", "anomaly"] == False).all()  # noqa: E712


def test_counterfactual_series_masks_other_campaigns_and_finds_the_step():
    rng = np.random.default_rng(11)
    base = _weekly(days=70) + rng.normal(0, 3, 70)
    first, last = base.index[56], base.index[62]
    truth = 25.0
    series = base.copy()
    series[(series.index >= first) & (series.index <= last)] += truth
    other = (base.index[30], base.index[35])
    series[(series.index >= other[0]) & (series.index <= other[1])] += 80  # another campaign
    site = pd.DataFrame({"orders": series, "revenue": series})
    days = analysis.flag_days(site, [other + ("x",), (first, last, "me")], 4.0)
    mask = incrementality._pre_mask(days, [other + ("x",), (first, last, "me")], "me")
    y, pre, post = analysis.impact_series(site, "orders", first, last, 35, mask)
    assert y[(y.index >= other[0]) & (y.index <= other[1])].isna().all()
    found = causal_impact(y, pre, post, alpha=0.05)
    assert found.significant
    assert found.average_effect_lower <= truth <= found.average_effect_upper
    # the same series without the step: no effect found
    flat = site.assign(orders=base.where((base.index < other[0]) | (base.index > other[1]), series))
    y, pre, post = analysis.impact_series(flat, "orders", first, last, 35, mask)
    none = causal_impact(y, pre, post, alpha=0.05)
    assert not none.significant and none.average_effect_lower <= 0 <= none.average_effect_upper


def test_did_panel_recovers_a_planted_effect(tmp_path):
    n, start = 400, T("2026-05-15")
    users = pd.DataFrame({"user_id": range(1, n + 1), "signup_ts": T("2026-01-01")})
    members = pd.DataFrame({"campaign_id": 9, "user_id": range(1, n // 2 + 1)})
    campaigns = pd.DataFrame(
        {"campaign_id": [9], "name": ["Flash"], "start_ts": [start],
         "end_ts": [T("2026-05-21 23:59:59")], "spend": [500.0]}
    )  # fmt: skip
    rows = []
    for d, day in enumerate(pd.date_range("2026-05-01", "2026-05-21")):
        for u in range(1, n + 1):
            if (u + d) % 10 == 0:  # everybody: 0.1 orders a day
                rows.append((u, day + pd.Timedelta(hours=12), 10.0))
            if u <= n // 2 and day >= start and (u + d) % 10 == 5:  # members: +0.1 in the campaign
                rows.append((u, day + pd.Timedelta(hours=13), 10.0))
    orders = pd.DataFrame(rows, columns=["user_id", "ts", "amount"])
    orders.insert(0, "order_id", range(len(orders)))
    source = _source(
        _write(tmp_path / "did", users=users, campaign_members=members, campaigns=campaigns,
               orders=orders)
    )  # fmt: skip
    rv = analysis.review(source, 9, counterfactual="did", baseline_days=14)
    r = rv.single
    assert r.method == "did" and r.holdout_metrics() is None
    assert r.did.ci_lower <= 0.1 <= r.did.ci_upper
    assert r.did.estimate == pytest.approx(0.1, abs=0.02)
    assert not r.did.pre_trend_detected
    # incremental orders = effect per user-day x members x days (7 x 200 x 0.1 = 140)
    assert r.numbers["incremental_orders"] == pytest.approx(140, rel=0.15)
    assert r.numbers["iroi"] == pytest.approx(r.numbers["incremental_revenue"] / 500)


def test_review_of_the_tiny_shop(shop):
    rv = analysis.review(shop, None, targets={"roi": 1.5, "cac": 30})
    r = rv.single
    assert (r.key, r.method) == ("1", "holdout")
    n = r.numbers
    # revenue per user 230/6 vs 30/3: incremental revenue (38.33 - 10) x 6 = 170, spend 100
    assert n["incremental_revenue"] == pytest.approx(170)
    assert n["iroi"] == pytest.approx(1.7)
    card = r.scorecard.set_index("kpi")
    assert card.loc["participants", "status"] == "green"  # 3 vs the table's 3
    assert card.loc["conversion", "actual"] == pytest.approx(2 / 3)
    assert card.loc["roi", "target"] == 3.0  # the campaigns table wins over the config
    # iROI 1.7 is below the target 3, but it is an estimate from 6 vs 3 users: its interval
    # reaches past 3, so the target is neither met nor missed but not proven
    assert card.loc["roi", "low"] < 3.0 < card.loc["roi", "high"]
    assert card.loc["roi", "status"] == "not_proven"
    assert card.loc["k_factor", "status"] is None  # no referral here
    m = rv.metrics()
    for key in ("campaign_id", "method", "participants", "conversion_rate", "k_factor", "spend",
                "targets_met", "holdout"):  # fmt: skip
        assert key in m
    assert m["holdout"]["treatment_users"] == 6 and m["holdout"]["holdout_users"] == 3
    assert m["holdout"]["conversion_treatment"] == pytest.approx(1 / 3)
    assert json.dumps(m)  # plain JSON

    both = analysis.review(shop, "all", targets={"roi": 1.5, "cac": 30})
    invite = both.results[1]
    # no holdout: the counterfactual of the site's daily orders (the tiny shop's is mostly zeros)
    assert invite.method == "causal_impact" and invite.impact.n_pre_days >= 21
    assert invite.numbers["k_factor"] == pytest.approx(1.0)
    assert invite.numbers["cac"] == pytest.approx(25.0)
    card = invite.scorecard.set_index("kpi")
    assert card.loc["roi", "target"] == 1.5  # no table target: the config's
    assert card.loc["cac", "status"] == "green" and card.loc["k_factor", "status"] == "red"
    # acquired users 11 and 12 (invitees, signed up 2 April) came back on 3 April; the data
    # ends on 9 April at noon, so day 7 (9 April) is incomplete and masked, never 0; user 11
    # bought once. Nobody else signed up in those weeks.
    quality = invite.quality.set_index("group")
    acquired = quality.loc["acquired"]
    assert (acquired["users"], acquired["d1"], acquired["d1_n"]) == (2, 1.0, 2)
    assert acquired["d7_n"] == 0 and pd.isna(acquired["d7"]) and pd.isna(acquired["d30"])
    assert (acquired["buyers"], acquired["repeat_purchase"]) == (1, 0.0)
    assert quality.loc["others", "users"] == 0
    assert both.results[0].quality.empty  # campaign 1 acquired nobody
    m = both.metrics()
    assert m["campaign_id"] == "all" and m["holdout"] is None and len(m["campaigns"]) == 2
    assert m["pdca"]["zh"] and m["pdca"]["en"]


def test_a_campaigns_own_targets_in_the_config_win_over_the_table(shop):
    """Targets per campaign: the config's for this campaign, then the table's, then the
    config's for all, then the defaults; each row says whether its target is the default."""
    shipped = analysis.review(shop, 1).single.scorecard.set_index("kpi")
    assert shipped.loc["roi", "target"] == 3.0 and not shipped.loc["roi", "default"]  # table
    assert shipped.loc["aov_lift", "target"] == 0.20 and shipped.loc["aov_lift", "default"]
    assert shipped.loc["participants", "status"] == "green"  # 3 of the table's 3
    own = {"roi": 1.5, "campaigns": {1: {"roi": 1.0, "participants": 10, "aov_lift": 0.05}}}
    review = analysis.review(shop, 1, targets=own)
    card = review.single.scorecard.set_index("kpi")
    assert card.loc["roi", "target"] == 1.0  # the campaign's own, over the table's 3
    assert card.loc["participants", "target"] == 10
    assert card.loc["participants", "status"] == "red"  # 3 of 10
    assert not card.loc[["roi", "participants", "aov_lift"], "default"].any()
    assert card.loc["k_factor", "default"]  # nobody set it
    scorecard = review.metrics()["scorecard"]
    assert scorecard["participants"] == {
        "actual": 3,
        "target": 10.0,
        "status": "red",
        "default_target": False,
    }
    assert scorecard["k_factor"]["default_target"] is True
    other = analysis.review(shop, 2, targets=own).single.scorecard.set_index("kpi")
    assert other.loc["roi", "target"] == 1.5  # campaign 2: the config's for every campaign
    with pytest.raises(ValueError, match="targets.campaigns.1: unknown"):
        analysis.review(shop, 1, targets={"campaigns": {1: {"roii": 2}}})


@pytest.fixture(scope="module")
def big_sample(tmp_path_factory):
    from opsbook.sample import generate_sample

    folder = generate_sample(tmp_path_factory.mktemp("big"), users=40_000, days=150, seed=5)
    return _source_tz(folder), json.loads((folder / "truth.json").read_text())


def test_planted_lifts_are_recovered_within_their_intervals(big_sample):
    source, truth = big_sample
    for key, t in truth["campaigns"].items():
        if not t["has_holdout"]:
            continue
        sums = queries.holdout_sums(source, _row(source, key))
        conv = analysis.lift_table(sums, ["conversion"], alpha=0.05).iloc[0]
        assert conv.rel_low <= t["true_rel_lift"] <= conv.rel_high, key
        assert conv.abs_low <= t["true_abs_lift"] <= conv.abs_high, key
        assert conv.treatment_mean == pytest.approx(t["observed_rate_treatment"], abs=1e-6)
    referral = truth["campaigns"]["102"]
    row = _row(source, "102")
    k = (
        queries.referral(source, row)["invitees"]
        / queries.participation(source, row, 7)["participants"]
    )
    assert k == pytest.approx(referral["k"], abs=1e-6)


def test_the_counterfactual_finds_the_planted_step(big_sample):
    source, truth = big_sample
    step = truth["campaigns"]["103"]
    frame = queries.catalogue(source)
    periods = analysis.campaign_days(frame, source.timezone)
    days = analysis.flag_days(analysis.daily_site(source), periods, 4.0)
    mask = incrementality._pre_mask(days, periods, "103")
    site = days.set_index("date")[["orders", "revenue"]]
    first, last = T(step["start"]), T(step["end"])
    # a 49-day baseline (the report's baseline_days; 35 by default): 35 days before the start
    # keep only 22 normal days once campaign 102's days are left out, and the robust-z rule
    # flags an ordinary day now and then (here 2, which left 20, under the model's 21-day
    # minimum; on main's sample none did) -- the test sets a pre-period long enough for that
    y, pre, post = analysis.impact_series(site, "orders", first, last, 49, mask)
    found = causal_impact(y, pre, post, alpha=0.05)
    assert found.n_pre_days >= 28
    assert found.significant and found.cumulative_effect > 0
    assert (
        found.cumulative_effect_lower <= step["incremental_orders"] <= found.cumulative_effect_upper
    )
    # the outage day is flagged, and it is no campaign day
    outage = days[days["date"] == T(truth["anomalies"]["outage_day"])].iloc[0]
    assert outage["flag"] == "gap" and outage["anomaly"]


def test_an_estimated_kpi_is_met_only_when_its_whole_interval_is():
    from opsbook.campaigns.analysis.scorecard import _scorecard
    from opsbook.campaigns.queries.settings import Settings

    # the sample's campaign: iROI 11.9, interval [1.01, 22.81], target 3 (the "1:3" rule)
    numbers = {"participants": 309, "conversion_rate": 0.73, "iroi": 11.9, "iroi_ci": [1.01, 22.81]}
    card = _scorecard(numbers, {"participants": 100, "conversion": 0.1, "roi": 3.0}, Settings())
    card = card.set_index("kpi")
    assert card.loc["roi", "status"] == "not_proven"  # the point estimate alone says green
    assert (card.loc["roi", "low"], card.loc["roi", "high"]) == (1.01, 22.81)
    assert card.loc["participants", "status"] == "green"  # counted KPIs keep red/amber/green
    assert int((card["status"] == "green").sum()) == 2  # not counted as met
