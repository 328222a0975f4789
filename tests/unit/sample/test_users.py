"""Users: planted and observed retention per channel, channel mix, signup seasonality."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.unit.sample.shop import Sample, local_day, within

# ----------------------------------------------------------------------------- retention truth


def observed_retention(sample: Sample) -> dict[str, dict[str, float]]:
    users = sample["users"].assign(day0=lambda d: local_day(d.signup_ts))
    ev = sample["events"][["user_id", "ts"]].assign(day=lambda d: local_day(d.ts))
    ev = ev.drop_duplicates(["user_id", "day"]).merge(users[["user_id", "day0"]], on="user_id")
    ev["age"] = (ev.day - ev.day0).dt.days
    out: dict[str, dict[str, float]] = {}
    for channel, group in [*users.groupby("channel"), ("all", users)]:
        row = {}
        for k in (1, 7, 30):
            cohort = group[group.day0 + pd.Timedelta(days=k) <= sample.last_day]
            active = set(ev.user_id[ev.age == k])
            row[f"d{k}"] = cohort.user_id.isin(active).mean()
            row[f"n_d{k}"] = len(cohort)
        out[channel] = row
    return out


def test_retention_observed_matches_a_recomputation(small):
    recomputed = observed_retention(small)
    truth = small.truth["retention_observed"]
    assert set(truth) == set(recomputed)
    for channel, row in recomputed.items():
        for key, value in row.items():
            assert truth[channel][key] == pytest.approx(value, abs=1e-6), (channel, key)


def test_planted_retention_within_sampling_error(default):
    planted, observed = default.truth["retention"], default.truth["retention_observed"]
    for channel, row in planted.items():
        for k in ("d1", "d7", "d30"):
            n = observed[channel][f"n_{k}"]
            assert within(observed[channel][k], row[k], n), (channel, k)


def test_planted_retention_is_plausible(default):
    r = default.truth["retention"]
    assert 0.35 <= r["all"]["d1"] <= 0.5
    assert 0.2 <= r["all"]["d7"] <= 0.3
    assert 0.1 <= r["all"]["d30"] <= 0.18
    for k in ("d1", "d7", "d30"):
        assert min(r["referral"][k], r["organic"][k]) > max(r["kol"][k], r["social"][k])


def test_users_channel_mix_and_signup_seasonality(default):
    users = default["users"]
    mix = users.channel.value_counts(normalize=True)
    expected = {"organic": 0.35, "search": 0.25, "social": 0.20, "kol": 0.10, "referral": 0.10}
    for channel, share in expected.items():
        assert mix[channel] == pytest.approx(share, abs=0.02)
    day = local_day(users.signup_ts)
    weekend = day.dt.weekday >= 5
    per_day = day.groupby(weekend).value_counts().groupby(level=0).mean()
    assert per_day[True] > 1.2 * per_day[False]
    halves = (day < day.min() + (day.max() - day.min()) / 2).value_counts()
    assert halves[False] > halves[True]  # upward trend
