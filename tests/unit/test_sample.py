"""The sample-data generator: determinism, schemas, the data contract, and the planted truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from opsbook.sample import TABLES, generate_sample

TZ = "Asia/Shanghai"
FILES = [f"{name}.parquet" for name in TABLES] + ["truth.json"]
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "users": [
        ("user_id", pa.int64()),
        ("signup_ts", TS),
        ("channel", pa.string()),
        ("region", pa.string()),
        ("device", pa.string()),
        ("city_tier", pa.string()),
    ],
    "events": [
        ("user_id", pa.int64()),
        ("ts", TS),
        ("event", pa.string()),
        ("content_id", pa.int64()),
        ("campaign_id", pa.int64()),
        ("channel", pa.string()),
    ],
    "orders": [
        ("order_id", pa.int64()),
        ("user_id", pa.int64()),
        ("ts", TS),
        ("amount", pa.float64()),
        ("status", pa.string()),
        ("campaign_id", pa.int64()),
    ],
    "assignments": [
        ("experiment", pa.string()),
        ("user_id", pa.int64()),
        ("variant", pa.string()),
        ("ts", TS),
    ],
    "campaigns": [
        ("campaign_id", pa.int64()),
        ("name", pa.string()),
        ("channel", pa.string()),
        ("start_ts", TS),
        ("end_ts", TS),
        ("spend", pa.float64()),
        ("target_participants", pa.float64()),
        ("target_conversion", pa.float64()),
        ("target_roi", pa.float64()),
        ("target_k", pa.float64()),
    ],
    "campaign_members": [
        ("campaign_id", pa.int64()),
        ("user_id", pa.int64()),
        ("group", pa.string()),
        ("ts", TS),
        ("inviter_id", pa.int64()),
    ],
    "spend": [("date", pa.date32()), ("channel", pa.string()), ("cost", pa.float64())],
    "content": [
        ("content_id", pa.int64()),
        ("published_ts", TS),
        ("type", pa.string()),
        ("cost", pa.float64()),
    ],
}
EVENT_NAMES = {
    "app_open",
    "view_item",
    "add_to_cart",
    "share",
    "content_view",
    "content_like",
    "content_comment",
    "content_share",
    "campaign_view",
    "campaign_click",
    "campaign_join",
    "invite_sent",
}


class Sample:
    """A generated folder, its tables (pandas) and its truth."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.truth = json.loads((path / "truth.json").read_text(encoding="utf-8"))
        self.t = {name: pd.read_parquet(path / f"{name}.parquet") for name in TABLES}
        end = pd.Timestamp(self.truth["params"]["end"], tz=TZ)
        self.end_of_period = end + pd.Timedelta(days=1)  # exclusive
        self.last_day = end.tz_localize(None)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.t[name]

    def paid(self) -> pd.DataFrame:
        return self["orders"][self["orders"].status == "paid"]


def local_day(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()


def converted_in_window(
    sample: Sample, who: pd.DataFrame, start: pd.Series, stop: pd.Series
) -> pd.Series:
    """Per row of ``who`` (user_id): has a paid order in [start, stop)."""
    w = who[["user_id"]].assign(start=start, stop=stop)  # aligned on the index
    x = w.merge(sample.paid()[["user_id", "ts"]], on="user_id", how="left")
    x["hit"] = (x.ts >= x.start) & (x.ts < x.stop)
    return x.groupby("user_id").hit.any().reindex(who.user_id).to_numpy()


def within(observed: float, expected: float, n: int, z: float = 4.5) -> bool:
    se = math.sqrt(max(expected * (1 - expected), 1e-9) / max(n, 1))
    return abs(observed - expected) <= z * se + 1e-9


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Sample:
    return Sample(generate_sample(tmp_path_factory.mktemp("small"), users=4000, days=120))


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> Sample:
    return Sample(generate_sample(tmp_path_factory.mktemp("default")))


# ----------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_bytes(tmp_path):
    a = generate_sample(tmp_path / "a", users=3000, days=120, seed=3)
    b = generate_sample(tmp_path / "b", users=3000, days=120, seed=3)
    c = generate_sample(tmp_path / "c", users=3000, days=120, seed=4)
    assert sorted(p.name for p in a.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for name in ("users.parquet", "events.parquet", "orders.parquet", "truth.json"):
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_chunk_size_does_not_change_the_data(tmp_path):
    a = generate_sample(tmp_path / "a", users=11_000, days=120, chunk_size=5_000)
    b = generate_sample(tmp_path / "b", users=11_000, days=120, chunk_size=20_000)
    for name in TABLES:
        ta, tb = pq.read_table(a / f"{name}.parquet"), pq.read_table(b / f"{name}.parquet")
        assert ta.equals(tb), name
    # three blocks, so the smaller chunks really wrote several row groups
    assert pq.ParquetFile(a / "events.parquet").num_row_groups == 3
    assert (a / "truth.json").read_text() == (b / "truth.json").read_text()


def test_too_short_a_period_is_refused(tmp_path):
    with pytest.raises(ValueError, match="days"):
        generate_sample(tmp_path, users=100, days=60)


# ----------------------------------------------------------------------------- schemas


def test_schemas(small):
    for name, fields in SCHEMAS.items():
        schema = pq.read_schema(small.path / f"{name}.parquet")
        assert [(f.name, f.type) for f in schema] == fields, name


def test_truth_json_is_plain_sorted_json(small):
    text = (small.path / "truth.json").read_text(encoding="utf-8")

    def no_constants(name):
        raise AssertionError(f"non-finite number {name} in truth.json")

    truth = json.loads(text, parse_constant=no_constants)
    assert text == json.dumps(truth, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    for key in ("params", "retention", "retention_observed", "channels", "experiments"):
        assert key in truth
    for key in ("campaigns", "anomalies", "content"):
        assert key in truth
    assert truth["params"] == {
        "users": 4000,
        "days": 120,
        "seed": 7,
        "end": "2026-10-31",
        "start": "2026-07-04",
        "timezone": TZ,
    }


# ----------------------------------------------------------------------------- the contract


def test_keys_unique_and_not_null(small):
    users = small["users"]
    assert users.user_id.tolist() == list(range(1, 4001))
    assert small["orders"].order_id.is_unique
    assert small["campaigns"].campaign_id.is_unique
    assert small["content"].content_id.is_unique
    assert not small["spend"].duplicated(["date", "channel"]).any()
    assert not small["campaign_members"].duplicated(["campaign_id", "user_id"]).any()
    required = {
        "users": ["user_id", "signup_ts", "channel", "region", "device", "city_tier"],
        "events": ["user_id", "ts", "event"],
        "orders": ["order_id", "user_id", "ts", "amount", "status"],
        "assignments": ["experiment", "user_id", "variant", "ts"],
        "campaigns": ["campaign_id", "name", "channel", "start_ts", "end_ts", "spend"],
        "campaign_members": ["campaign_id", "user_id", "group", "ts"],
        "spend": ["date", "channel", "cost"],
        "content": ["content_id", "published_ts", "type", "cost"],
    }
    for name, cols in required.items():
        assert not small[name][cols].isna().any().any(), name


def test_referential_integrity(small):
    known = set(small["users"].user_id)
    for name in ("events", "orders", "assignments", "campaign_members"):
        assert set(small[name].user_id) <= known, name
    inviters = small["campaign_members"].inviter_id.dropna()
    assert len(inviters) > 0 and set(inviters.astype(int)) <= known
    campaigns = set(small["campaigns"].campaign_id)
    for name in ("events", "orders", "campaign_members"):
        assert set(small[name].campaign_id.dropna().astype(int)) <= campaigns, name
    assert set(small["events"].content_id.dropna().astype(int)) <= set(small["content"].content_id)


def test_timestamps_inside_the_period(small):
    start = pd.Timestamp(small.truth["params"]["start"], tz=TZ)
    end = small.end_of_period
    checks = {
        "users": ["signup_ts"],
        "events": ["ts"],
        "orders": ["ts"],
        "assignments": ["ts"],
        "campaigns": ["start_ts", "end_ts"],
        "campaign_members": ["ts"],
        "content": ["published_ts"],
    }
    for name, cols in checks.items():
        for col in cols:
            s = small[name][col]
            assert s.min() >= start and s.max() < end, (name, col)
    dates = pd.to_datetime(small["spend"].date)
    assert dates.min() == start.tz_localize(None) and dates.max() == small.last_day


def test_nothing_before_signup_and_an_app_open_on_signup(small):
    signup = small["users"].set_index("user_id").signup_ts
    for name in ("events", "orders", "assignments", "campaign_members"):
        df = small[name]
        assert (df.ts >= signup.reindex(df.user_id).to_numpy()).all(), name
    ev = small["events"]
    opens = ev[ev.event == "app_open"]
    first = opens.merge(small["users"], on="user_id")
    assert first[first.ts == first.signup_ts].user_id.nunique() == len(small["users"])


def test_events_vocabulary_and_touch_channels(small):
    ev = small["events"]
    assert set(ev.event) == EVENT_NAMES
    touch = ev.event.isin(["campaign_view", "campaign_click"])
    assert ev.channel[touch].notna().all() and ev.channel[~touch].isna().all()
    assert set(ev.channel.dropna()) <= {"push", "sms", "email", "social_ad", "search_ad", "wechat"}
    is_content = ev.event.str.startswith("content_")
    assert ev.content_id[is_content].notna().all() and ev.content_id[~is_content].isna().all()
    campaign_events = ev.event.str.startswith("campaign_") | (ev.event == "invite_sent")
    assert ev.campaign_id[campaign_events].notna().all()
    assert ev.campaign_id[~campaign_events].isna().all()


def test_content_viewed_only_after_publication(small):
    ev = small["events"]
    views = ev[ev.content_id.notna()].merge(
        small["content"],
        left_on=ev.content_id.dropna().astype(int).to_numpy(),
        right_on="content_id",
    )
    assert len(views) == ev.content_id.notna().sum() > 0
    assert (views.ts > views.published_ts).all()


def test_amounts_and_statuses(small):
    orders = small["orders"]
    assert np.isfinite(orders.amount).all() and (orders.amount >= 0).all()
    assert set(orders.status) == {"paid", "refunded", "cancelled"}
    assert (small["spend"].cost >= 0).all() and np.isfinite(small["spend"].cost).all()
    assert (small["content"].cost >= 0).all()
    assert (small["campaigns"].spend >= 0).all()


def test_orders_fall_on_active_days(small):
    ev_days = set(zip(small["events"].user_id, local_day(small["events"].ts), strict=True))
    od_days = set(zip(small["orders"].user_id, local_day(small["orders"].ts), strict=True))
    assert od_days <= ev_days


def test_one_variant_per_user_and_disjoint_order_experiments(small):
    a = small["assignments"]
    assert not a.duplicated(["experiment", "user_id"]).any()
    assert set(a.experiment) == {"checkout_button", "price_display", "homepage_aa", "banner_srm"}
    users = a.groupby("experiment").user_id.apply(set)
    assert not users["checkout_button"] & users["price_display"]


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


# ----------------------------------------------------------------------------- experiments


def experiment(sample: Sample, name: str) -> pd.DataFrame:
    a = sample["assignments"]
    return a[a.experiment == name].reset_index(drop=True)


@pytest.mark.parametrize("fixture", ["small", "default"])
def test_checkout_button_conversion_matches_truth(fixture, request):
    sample = request.getfixturevalue(fixture)
    truth = sample.truth["experiments"]["checkout_button"]
    a = experiment(sample, "checkout_button")
    a["converted"] = converted_in_window(sample, a, a.ts, a.ts + pd.Timedelta(days=14))
    rates = a.groupby("variant").converted.agg(["mean", "size"])
    for variant in ("control", "treatment"):
        rate, n = rates.loc[variant]
        assert rate == pytest.approx(truth["observed"][variant], abs=1e-6)
        assert within(rate, truth[variant], n), variant
    assert truth["true_rel_lift"] == pytest.approx(0.2)
    assert truth["true_abs_lift"] == pytest.approx(truth["treatment"] - truth["control"])


def price_frame(sample: Sample) -> pd.DataFrame:
    a = experiment(sample, "price_display")
    paid = sample.paid()[["user_id", "ts", "amount"]]
    x = a[["user_id", "ts", "variant"]].merge(paid, on="user_id", how="left", suffixes=("", "_o"))
    post = (x.ts_o >= x.ts) & (x.ts_o < x.ts + pd.Timedelta(days=14))
    pre = (x.ts_o >= x.ts - pd.Timedelta(days=28)) & (x.ts_o < x.ts)
    x["revenue"] = x.amount.where(post, 0.0)
    x["pre_revenue"] = x.amount.where(pre, 0.0)
    x["order"] = post
    return x.groupby(["user_id", "variant"], as_index=False)[
        ["revenue", "pre_revenue", "order"]
    ].agg({"revenue": "sum", "pre_revenue": "sum", "order": "any"})


def test_price_display_truth_and_covariate(default):
    truth = default.truth["experiments"]["price_display"]
    assert truth["pre_period_days"] == 28 and truth["true_rel_lift"] == pytest.approx(0.06)
    df = price_frame(default)
    rho = np.corrcoef(df.pre_revenue, df.revenue)[0, 1]
    assert rho == pytest.approx(truth["pre_post_correlation"], abs=1e-4)
    assert 0.5 <= rho <= 0.75
    for variant in ("control", "treatment"):
        r = df.revenue[df.variant == variant]
        assert abs(r.mean() - truth[variant]) <= 4.5 * r.std() / math.sqrt(len(r)), variant
    # no effect on conversion
    conv = df.groupby("variant").order.agg(["mean", "size"])
    diff = conv["mean"]["treatment"] - conv["mean"]["control"]
    p = conv["mean"].mean()
    assert abs(diff) <= 4.5 * math.sqrt(2 * p * (1 - p) / conv["size"].min())


def test_cuped_narrows_the_price_display_interval(default):
    df = price_frame(default)
    theta = np.cov(df.revenue, df.pre_revenue)[0, 1] / df.pre_revenue.var()
    adjusted = df.revenue - theta * (df.pre_revenue - df.pre_revenue.mean())
    assert adjusted.var() < 0.75 * df.revenue.var()


def test_sample_ratio_mismatch_only_where_planted(default):
    planted = default["assignments"].groupby(["experiment", "variant"]).size()
    for name, truth in default.truth["experiments"].items():
        counts = planted[name].reindex(truth["variants"]).to_numpy()
        p = stats.chisquare(counts).pvalue
        assert truth["srm"] == (name == "banner_srm")
        assert (p < 0.001) == truth["srm"], (name, counts, p)
        assert counts.min() >= 1800, name  # ~2,000 users per variant at the default size


def test_srm_ratio_as_planted(small):
    truth = small.truth["experiments"]["banner_srm"]
    counts = experiment(small, "banner_srm").variant.value_counts()
    assert counts["treatment"] / counts["control"] == pytest.approx(0.92, abs=0.01)
    assert truth["users"] == counts.to_dict()
    aa = experiment(small, "homepage_aa").variant.value_counts()
    assert abs(aa["A"] - aa["B"]) <= 1


def test_experiment_exposures_leave_a_full_window(small):
    a = small["assignments"]
    assert (a.ts + pd.Timedelta(days=14) <= small.end_of_period).all()


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


def test_content_interaction_rates(default):
    ev = default["events"]
    ev = ev[ev.content_id.notna()].assign(content_id=lambda d: d.content_id.astype(int))
    ev = ev.merge(default["content"][["content_id", "type"]], on="content_id")
    truth = default.truth["content"]
    assert 200 <= truth["items"] == len(default["content"]) <= 800
    rates = {}
    for kind, group in ev.groupby("type"):
        views = (group.event == "content_view").sum()
        rates[kind] = (
            group.event.isin(["content_like", "content_comment", "content_share"]).sum() / views
        )
        assert truth[kind]["views"] == views
        assert within(rates[kind], truth[kind]["interaction_rate"], views), kind
    assert rates["video"] > rates["article"]
