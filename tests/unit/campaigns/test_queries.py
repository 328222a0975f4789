"""Campaign review, engine steps: every sum and count on hand-made data and against the sample
generator's bookkeeping."""

from __future__ import annotations

import json

import numpy as np
import pytest

from opsbook.campaigns import analysis, queries
from tests.unit.campaigns.conftest import T, _row, _source_tz


def test_bad_settings_raise():
    for bad in (
        {"alpha": 1.5},
        {"baseline_days": 3},
        {"half_life": 0},
        {"counterfactual": "magic"},
        {"conversion_window_days": -1},
        {"targets": {"revenue": 1}},
    ):
        with pytest.raises(ValueError):
            queries.Settings(**bad)


def test_catalogue_and_which_campaign_is_reviewed(shop):
    frame = queries.catalogue(shop)
    assert frame["key"].tolist() == ["1", "2"]
    assert frame["treatment_members"].tolist() == [6, 4]
    assert frame["holdout_members"].tolist() == [3, 0]
    assert frame["has_holdout"].tolist() == [True, False]
    assert analysis.resolve(frame, None) == ["1"]  # the most recent campaign WITH a holdout
    assert analysis.resolve(frame, "all") == ["1", "2"]
    assert analysis.resolve(frame, 2) == ["2"] and analysis.resolve(frame, 2.0) == ["2"]
    assert analysis.resolve(frame, "Invite") == ["2"]
    with pytest.raises(ValueError, match="no campaign"):
        analysis.resolve(frame, 99)


def test_holdout_sums_by_hand(shop):
    sums = queries.holdout_sums(shop, _row(shop, "1"))
    by_group = sums.groupby("grp")[
        ["n", "conversion", "revenue", "revenue_sq", "orders", "orders_sq"]
    ].sum()
    # treatment 1..6: user 1 two orders (150), user 2 one (80); user 3's order is refunded and
    # user 5's falls after the end; holdout 7..9: user 7 one order (30)
    assert by_group.loc["treatment"].tolist() == [6, 2, 230, 150**2 + 80**2, 3, 2**2 + 1]
    assert by_group.loc["holdout"].tolist() == [3, 1, 30, 900, 1, 1]
    push = sums[(sums.grp == "treatment") & (sums.channel == "push")].iloc[0]
    assert (push.n, push.conversion, push.revenue) == (3, 1, 150)  # users 1, 3, 5
    assert set(sums.channel) == {"push", "sms", "email", queries.UNKNOWN_CHANNEL, "-"}


def test_participation_values_referral_and_acquisition(shop):
    one, two = _row(shop, "1"), _row(shop, "2")
    part = queries.participation(shop, one, 7)
    # joiners 1, 2, 5; user 5's order comes 8 days after joining
    assert part == {"participants": 3, "converted": 2, "definition": "join_event"}
    values = queries.order_values(shop, one, 35)
    assert values["campaign_orders"] == 3 and values["gross_revenue"] == 230
    assert values["baseline_aov"] == pytest.approx(40)  # (20 + 40 + 60) / 3, from 3 Feb
    assert values["aov_lift"] == pytest.approx(230 / 3 / 40 - 1)
    assert queries.referral(shop, two) == {"invitations": 4, "invitees": 2}
    assert queries.participation(shop, two, 7)["participants"] == 2  # K = 2 / 2
    acquired = queries.acquired_users(shop, two, 7).execute()
    assert sorted(acquired["user_id"]) == [11, 12]
    assert queries.acquired_users(shop, one, 7).count().execute() == 0  # user 13 is no member


def test_funnel_is_strict_and_by_first_channel(shop):
    counts = queries.funnel_counts(shop, _row(shop, "1"), 7).set_index("channel")
    # user 3 clicked before being exposed; user 6 was never exposed; user 5 ordered too late
    assert counts.loc["push"].tolist() == [3, 2, 2, 1]
    assert counts.loc["sms"].tolist() == [1, 1, 1, 1]
    assert counts.loc["email"].tolist() == [1, 0, 0, 0]
    table = analysis.funnel_table(counts.reset_index())
    total = table[table.channel == "__total__"].iloc[0]
    assert total[list(queries.STEPS)].tolist() == [5, 3, 3, 2]
    assert total["clicked_rate"] == pytest.approx(0.6) and total["overall"] == pytest.approx(0.4)
    # the behaviour funnel's arithmetic: Wilson 95 % interval of 3 of 5, by hand:
    # (0.6 + z^2/10 -+ z sqrt(0.6 * 0.4 / 5 + z^2 / 100)) / (1 + z^2 / 5), z = 1.959964
    assert total["clicked_rate_low"] == pytest.approx(0.23072, abs=1e-5)
    assert total["clicked_rate_high"] == pytest.approx(0.88238, abs=1e-5)
    assert total["joined_rate"] == 1.0 and total["joined_overall"] == pytest.approx(0.6)
    email = table[table.channel == "email"].iloc[0]
    assert np.isnan(email["joined_rate"])  # after a step no one reached: no rate, not 0
    assert analysis.biggest_drop(table) == ("exposed", "clicked", pytest.approx(0.4))


def test_attribution_paths_and_time_decay_from_events(shop):
    windows = [(T("2026-03-10").to_pydatetime(), T("2026-03-16 23:59:59").to_pydatetime())]
    paths = queries.attribution_paths(shop, ["1"], windows, 7)
    # a path is a tuple of channels (atoms), oldest touch first
    rows = paths[["conversions", "value", "nulls"]].values.tolist()
    by = dict(zip(paths["path"], rows, strict=True))
    assert by[("push", "push")] == [2, 150, 2]  # users 1 (two orders); 3 and 5
    assert by[("sms", "push", "push")] == [1, 80, 0]
    assert by[("email",)] == [0, 0, 1]
    decay = queries.time_decay_credit(shop, ["1"], windows, 7, half_life=1.0).set_index("channel")
    # user 2's order (12 March 12:00): sms 27 h before, push 3 h and 2 h 59 min before
    ages = np.array([27 * 60, 3 * 60, 3 * 60 - 1]) / 1440
    w = 2.0 ** (-ages / 1.0)
    sms = w[0] / w.sum()
    assert decay.loc["sms", "time_decay"] == pytest.approx(sms)
    assert decay.loc["push", "time_decay"] == pytest.approx(3 - sms)
    assert decay.loc["sms", "time_decay_value"] == pytest.approx(80 * sms)
    # a half-life of a minute: every weight 2^-(age / 1 min) is below 1e-12, yet the newest
    # touch of each order weighs 1 (ages counted from it), so the exact sums keep the credit
    minute = 1 / 1440
    steep = queries.time_decay_credit(shop, ["1"], windows, 7, half_life=minute)
    steep = steep.set_index("channel")
    # (user 2's sms, 24 h 1 min before the newest touch, weighs 2^-1441: nothing)
    assert steep.loc["sms", "time_decay"] == pytest.approx(0.0, abs=1e-12)
    assert steep.loc["push", "time_decay"] == pytest.approx(3.0, rel=1e-12)
    assert steep.loc["push", "time_decay_value"] == pytest.approx(230.0, rel=1e-12)
    table = analysis.attribution_table(paths, decay.reset_index()).set_index("channel")
    assert table.loc["push", "first_touch"] == 2 and table.loc["sms", "first_touch"] == 1
    assert table.loc["push", "last_touch"] == 3
    assert table.loc["push", "journeys"] == 5  # 2 + 2 nulls + the sms journey


def test_engine_sums_equal_the_generators_bookkeeping(sample_dir):
    source = _source_tz(sample_dir)
    truth = json.loads((sample_dir / "truth.json").read_text())["campaigns"]
    for key, t in truth.items():
        if not t["has_holdout"]:
            continue
        sums = queries.holdout_sums(source, _row(source, key)).groupby("grp").sum(numeric_only=True)
        assert sums.loc["treatment", "n"] == t["members_treatment"]  # invitees are left out
        assert sums.loc["holdout", "n"] == t["members_holdout"]
        assert sums.loc["treatment", "conversion"] == t["converted_treatment"]
        assert sums.loc["holdout", "conversion"] == t["converted_holdout"]
        assert sums.loc["treatment", "revenue"] == pytest.approx(t["revenue_treatment"], abs=0.01)
        assert sums.loc["holdout", "revenue"] == pytest.approx(t["revenue_holdout"], abs=0.01)
        assert (
            queries.participation(source, _row(source, key), 7)["participants"] == t["participants"]
        )
