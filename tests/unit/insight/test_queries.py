"""The user-insight engine steps on hand-made data with known answers."""

from datetime import date

import ibis
import numpy as np
import pandas as pd
import pytest

from opsbook.insight import queries as q
from opsbook.segmentation.analysis.segments import quantile_scores
from opsbook.stats.clv import customer_summary
from tests.unit.insight.shop import simulated_shop
from tests.unit.retention.sources import events_of, source_of, users_of

AS_OF = date(2026, 3, 1)
RULES = {"new_days": 14, "silent_days": 30, "churn_days": 90, "returning_days": 14}
OLD = "2025-10-01 08:00"


@pytest.fixture
def staged(tmp_path):
    users = users_of(
        (1, "2026-02-20 08:00"),  # new
        (2, OLD),  # churned: last seen 2025-11-15
        (3, OLD),  # silent: last seen 2026-01-15
        (4, OLD),  # returning: 2025-12-01, then 2026-02-25
        (5, OLD),  # active, a small buyer
        (6, OLD),  # high value: the biggest buyer of five
        (7, OLD),
        (8, OLD),
        (9, OLD),
    )
    events = events_of(
        (2, "2025-11-15 09:00"),
        (3, "2026-01-15 09:00"),
        (4, "2025-12-01 09:00"),
        (4, "2026-02-25 09:00"),
        *[(u, f"2026-02-{d:02d} 09:00") for u in (5, 6, 7, 8, 9) for d in (7, 14, 21, 28)],
        (1, "2026-03-01 09:00"),  # on as_of itself: not counted
    )
    orders = [
        {"order_id": i, "user_id": u, "ts": "2026-02-10 10:00", "amount": a, "status": "paid"}
        for i, (u, a) in enumerate([(5, 10.0), (7, 20.0), (8, 30.0), (9, 40.0), (6, 500.0)])
    ]
    orders.append(
        {"order_id": 9, "user_id": 8, "ts": "2026-02-11 10:00", "amount": 0.0, "status": "paid"}
    )
    orders.append(
        {
            "order_id": 10,
            "user_id": 9,
            "ts": "2026-02-12 10:00",
            "amount": 5.0,
            "status": "refunded",
        }
    )
    return source_of(tmp_path / "staged", users, events, orders)


def _stages(src, at, with_high_value=True):
    c = q.day_number(at)
    daily, _ = q.report_activity(src, q.day_number(AS_OF))
    hv = None
    if with_high_value:
        hv = q.high_value_expression(
            src,
            as_of=at,
            lookback_days=365,
            frequency="orders",
            monetary="total",
            k=5,
            churn_days=90,
            min_m=5,
            min_f=1,
        )
    return q.stage_expression(src, daily, c, high_value=hv, **RULES)


def test_every_user_in_the_stage_its_rule_gives(staged):
    got = _stages(staged, AS_OF).execute().set_index("user_id")["stage"].to_dict()
    assert got == {
        1: "new",
        2: "churned",
        3: "silent",
        4: "returning",
        5: "active",
        6: "high_value",
        7: "active",
        8: "active",
        9: "active",
    }
    counts = q.stage_counts(_stages(staged, AS_OF)).set_index("stage")["users"]
    assert counts.sum() == 9 and counts["active"] == 4


def test_transitions_count_each_user_once_and_newcomers_from_none(staged):
    before = _stages(staged, date(2026, 2, 1), with_high_value=False)
    pairs = q.transition_counts(before, _stages(staged, AS_OF))
    cell = {(r.before, r.after): r.users for r in pairs.itertuples()}
    assert pairs["users"].sum() == 9
    assert cell[(q.NONE, "new")] == 1  # user 1 signed up after Feb 1
    # Feb 1: user 3 seen Jan 15 (17 idle days) was active; user 4 idle since Dec 1: silent
    assert cell[("active", "silent")] == 1
    assert cell[("silent", "returning")] == 1
    assert cell[("silent", "churned")] == 1  # user 2: 78 idle days on Feb 1, 106 on Mar 1


def test_quantile_score_in_the_engine_is_segmentations_rule():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 7, size=53).astype(float)  # many ties
    table = ibis.memtable({"v": values, "i": np.arange(53)})
    con = ibis.duckdb.connect()
    for k in (3, 4, 5):
        got = con.execute(table.select("i", s=q.quantile_score(table.v, k)).order_by("i"))
        assert got["s"].tolist() == quantile_scores(values, k).tolist()


def test_non_positive_and_unpaid_orders_are_counted_not_used(staged):
    c = q.day_number(AS_OF)
    assert q.excluded_orders(staged, c) == {"non_positive_amount": 1, "not_paid": 1}
    daily, _ = q.report_activity(staged, c)
    orders = daily.filter(daily.orders > 0).execute()
    assert set(orders["user_id"]) == {5, 6, 7, 8, 9} and orders["orders"].sum() == 5


# -- churn features ---------------------------------------------------------------------------
WINDOWS = (7, 30, 90)


def _features(src, cutoff, horizon=30):
    daily, types = q.report_activity(src, q.day_number(date(2026, 7, 20)), 2)
    expr = q.features_expression(
        src,
        daily,
        q.day_number(cutoff),
        windows=WINDOWS,
        active_days=30,
        type_window=30,
        types=len(types),
        horizon_days=horizon,
    )
    return expr.execute().sort_values("user_id").set_index("user_id"), types


def _oracle(folder, cutoff, horizon=30):
    """The same features in plain pandas from the files."""
    ev = pd.read_parquet(folder / "events.parquet")
    od = pd.read_parquet(folder / "orders.parquet")
    us = pd.read_parquet(folder / "users.parquet").set_index("user_id")
    c = pd.Timestamp(cutoff, tz="UTC")
    ev["day"] = ev["ts"].dt.floor("D")
    od["day"] = od["ts"].dt.floor("D")
    past_e, past_o = ev[ev["day"] < c], od[od["day"] < c]
    last = (
        pd.concat([past_e[["user_id", "day"]], past_o[["user_id", "day"]]])
        .groupby("user_id")["day"]
        .max()
    )
    recency = (c - last).dt.days
    active = recency[recency <= 30].index
    out = pd.DataFrame(index=active)
    out["recency_days"] = recency
    out["tenure_days"] = (c - us["signup_ts"].dt.floor("D")).dt.days
    for w in WINDOWS:
        e_w = past_e[past_e["day"] >= c - pd.Timedelta(days=w)]
        o_w = past_o[past_o["day"] >= c - pd.Timedelta(days=w)]
        out[f"events_{w}d"] = e_w.groupby("user_id").size()
        days_w = pd.concat([e_w[["user_id", "day"]], o_w[["user_id", "day"]]]).drop_duplicates()
        out[f"active_days_{w}d"] = days_w.groupby("user_id").size()
        out[f"orders_{w}d"] = o_w.groupby("user_id").size()
        out[f"revenue_{w}d"] = o_w.groupby("user_id")["amount"].sum()
    e30 = past_e[past_e["day"] >= c - pd.Timedelta(days=30)]
    out["view_30d"] = e30[e30["event"] == "view"].groupby("user_id").size()
    ahead = pd.concat([ev[["user_id", "day"]], od[["user_id", "day"]]])
    ahead = ahead[(ahead["day"] >= c) & (ahead["day"] < c + pd.Timedelta(days=horizon))]
    out["churned"] = ~out.index.isin(ahead["user_id"])
    return out.fillna(0)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shop")
    return folder, simulated_shop(folder, users=120, days=200, seed=5)


def test_features_and_label_match_a_plain_pandas_oracle(shop):
    folder, src = shop
    cutoff = date(2026, 5, 20)
    got, types = _features(src, cutoff)
    got = got.rename(columns={q.type_column(i): f"{t}_30d" for i, t in enumerate(types)})
    want = _oracle(folder, cutoff)
    assert "view" in types and len(want) > 20
    assert sorted(got.index) == sorted(want.index)
    for column in want.columns:
        np.testing.assert_allclose(
            got.loc[want.index, column].astype(float), want[column].astype(float), err_msg=column
        )
    trend = got["events_7d"] / 7 - got["events_30d"] / 30
    np.testing.assert_allclose(got["events_trend_7_30"], trend)
    assert set(got["channel"]) <= {"social", "organic", "search"}


def test_rows_after_the_cutoff_change_no_feature(shop, tmp_path):
    _, src = shop
    cutoff = date(2026, 5, 20)
    cut_day = (cutoff - date(2026, 1, 1)).days
    as_stood = simulated_shop(tmp_path / "past", users=120, days=200, seed=5, future_from=cut_day)
    full, _ = _features(src, cutoff, horizon=None)
    past, _ = _features(as_stood, cutoff, horizon=None)
    pd.testing.assert_frame_equal(full, past.loc[full.index])
    # and the label reads only [cutoff, cutoff + H): rows after that leave it alone
    later = simulated_shop(
        tmp_path / "later", users=120, days=200, seed=5, future_from=cut_day + 30
    )
    assert _features(later, cutoff)[0]["churned"].equals(_features(src, cutoff)[0]["churned"])


def test_the_hash_sample_is_bounded_deterministic_and_seeded(shop):
    _, src = shop
    daily, _ = q.report_activity(src, q.day_number(date(2026, 7, 20)), 2)
    expr = q.features_expression(
        src,
        daily,
        q.day_number(date(2026, 5, 20)),
        windows=WINDOWS,
        active_days=30,
        type_window=30,
        types=2,
        horizon_days=30,
    )
    a, sizes = q.bounded_sample(expr, 25, seed=1)
    b, _ = q.bounded_sample(expr, 25, seed=1)
    c, _ = q.bounded_sample(expr, 25, seed=2)
    assert len(a) == 25 and sizes["users"] > 25
    assert a["user_id"].tolist() == b["user_id"].tolist() != c["user_id"].tolist()
    assert sizes["churned"] == int(expr.execute()["churned"].sum())


# -- customer summaries -----------------------------------------------------------------------
def test_pooled_summary_is_customer_summary_pooled(shop):
    folder, src = shop
    end = date(2026, 7, 20)
    c = q.day_number(end)
    daily, _ = q.report_activity(src, c, 2)
    got = q.pooled_summary(daily, c)
    orders = pd.read_parquet(folder / "orders.parquet")
    orders["ts"] = orders["ts"].dt.tz_localize(None)
    want = customer_summary(orders, "user_id", "ts", "amount", as_of=end - pd.Timedelta(days=1))
    want = want.rename(columns={"monetary_value": "monetary"})
    want = want.round(9).groupby(list(q.SUMMARY)).size().rename("customers").reset_index()
    got = got.assign(monetary=got["monetary"].round(9))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def test_holdout_summary_counts_purchase_days_after_calibration(shop):
    folder, src = shop
    end = date(2026, 7, 20)
    c = q.day_number(end)
    daily, _ = q.report_activity(src, c, 2)
    got = q.pooled_holdout_summary(daily, c - 60, c)
    orders = pd.read_parquet(folder / "orders.parquet")
    days = orders["ts"].dt.tz_localize(None).dt.normalize()
    cal_end = pd.Timestamp(end) - pd.Timedelta(days=60)
    buyers = orders.loc[days < cal_end, "user_id"].unique()
    later = orders[(days >= cal_end) & (days < pd.Timestamp(end)) & orders["user_id"].isin(buyers)]
    assert got["customers"].sum() == len(buyers)
    purchases = later.assign(d=days).drop_duplicates(["user_id", "d"]).shape[0]
    assert (got["holdout"] * got["customers"]).sum() == purchases


def test_chunks_come_in_the_expressions_types_ordered_by_user():
    # DuckDB sums integers into 128-bit ones: the chunks hold them as int64, not as objects
    con = ibis.duckdb.connect()
    rows = con.create_table("t", pd.DataFrame({"user_id": [3, 1, 2, 1, 3], "n": [1, 2, 3, 4, 5]}))
    table = rows.group_by("user_id").aggregate(n=rows.n.sum(), m=rows.n.mean())
    chunks = list(q.batches(table, 2))
    whole = pd.concat(chunks, ignore_index=True)
    assert [len(c) for c in chunks] == [2, 1]
    assert whole.user_id.tolist() == [1, 2, 3]
    assert whole.n.tolist() == [6, 3, 6]
    assert whole.dtypes.to_dict() == {"user_id": "int64", "n": "int64", "m": "float64"}


def test_the_daily_activity_across_a_dst_change_is_a_plain_pandas_count(tmp_path):
    """In Santiago the clocks jump from 24:00 to 01:00 on 2026-09-06 (that local midnight does
    not exist: asking for it raised NonExistentTimeError) and fall back at 24:00 on 2026-04-04:
    the activity before each cutoff counts the events of the local days before it."""
    zone = "America/Santiago"
    rng = np.random.default_rng(3)
    moments = [
        pd.Timestamp(f"2026-{month}-{day:02d} 00:00") + pd.Timedelta(minutes=int(m))
        for month, first in (("04", 2), ("09", 4))
        for day in range(first, first + 4)
        for m in rng.integers(0, 24 * 60, 12)
    ]
    names = ["view", "cart", "share"]
    rows = [(i % 5, str(t), names[i % 3]) for i, t in enumerate(moments)]
    src = source_of(
        tmp_path / "shop", users_of((0, "2026-01-01 00:00")), events_of(*rows), timezone=zone
    )
    frame = pd.DataFrame(rows, columns=["user_id", "ts", "event"])
    local = pd.to_datetime(frame["ts"]).dt.tz_localize("UTC").dt.tz_convert(zone).dt.date
    frame["day"] = [q.day_number(d) for d in local]
    frame["type_0"] = (frame["event"] == "cart").astype(int)
    key = ["user_id", "day"]
    for m, d in ((4, 3), (4, 4), (4, 5), (9, 5), (9, 6), (9, 7)):
        cutoff = q.day_number(date(2026, m, d))
        got = q.daily_activity(src, cutoff, ("cart",)).execute().sort_values(key)
        past = frame[frame["day"] < cutoff]
        want = past.groupby(key).agg(events=("event", "size"), type_0=("type_0", "sum"))
        assert len(want) > 0
        assert got[[*key, "events", "type_0"]].values.tolist() == want.reset_index().values.tolist()
