"""Segmentation: RFM in the engine, scores, the 8-class and 4-tier rules, migration, exports.

Known answers on small hand-made order logs for every rule; the engine against plain pandas on
the sample shop; the lifetimes-style summary against the published CDNOW summary."""

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from opsbook import segmentation as sg
from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.report import Report
from tests.conftest import dataset

AS_OF = date(2026, 3, 1)


def report_on(folder, orders, *, timezone="UTC", raw=None, aware=True):
    """A Report over a folder holding ``orders`` (a DataFrame with ts as UTC text), stored with
    a zone-aware (pandas' usual) or a naive timestamp column."""
    frame = orders.copy()
    frame["ts"] = pd.to_datetime(frame["ts"])
    if aware:
        frame["ts"] = frame["ts"].dt.tz_localize("UTC")
    frame.to_parquet(folder / "orders.parquet")
    overrides = {"timezone": timezone, **(raw or {})}
    config = load_config(data=str(folder), overrides=overrides, lang="en")
    return Report("segmentation", config, open_source(config), validation=None)


def log(*rows):
    return pd.DataFrame(rows, columns=["order_id", "user_id", "ts", "amount", "status"])


# u1: three paid orders, two on one day; u2: one order; u3: paid + refunded; u4: only refunded;
# plus a cancelled, a user-less, a pending, a null-status (= paid) and out-of-window orders
LOG = log(
    (1, 1, "2026-02-01 10:00", 10.0, "paid"),
    (2, 1, "2026-02-20 09:00", 20.0, "paid"),
    (3, 1, "2026-02-20 18:00", 30.0, "paid"),
    (4, 2, "2026-02-27 12:00", 50.0, "paid"),
    (5, 3, "2026-01-15 08:00", 40.0, "paid"),
    (6, 3, "2026-02-25 08:00", 99.0, "refunded"),
    (7, 4, "2026-02-10 08:00", 70.0, "refunded"),
    (8, 2, "2026-02-11 08:00", 15.0, "cancelled"),
    (9, None, "2026-02-12 08:00", 25.0, "paid"),
    (10, 2, "2026-02-13 08:00", 5.0, "pending"),
    (11, 5, "2026-02-28 23:59", 8.0, None),
    (12, 1, "2026-03-01 00:00", 1000.0, "paid"),  # on as_of itself: outside the window
    (13, 2, "2025-11-01 00:00", 500.0, "paid"),  # before a 90-day window
)


@pytest.fixture
def shop(tmp_path):
    return report_on(tmp_path, LOG)


# -- the engine step --------------------------------------------------------------------------
@pytest.mark.parametrize("aware", [True, False], ids=["zone-aware ts", "naive ts"])
def test_rfm_known_answers(tmp_path, aware):
    shop = report_on(tmp_path, LOG, aware=aware)
    # zone-aware and naive stored timestamps both arrive as naive UTC and give the same answers
    assert shop.source.table("orders").ts.type().timezone is None
    rfm = sg.compute_rfm(shop.source, as_of=AS_OF, lookback_days=90)
    c = rfm.customers.set_index("user_id")
    assert c.index.tolist() == [1, 2, 3, 5]  # u4's only order was refunded
    assert c.loc[1, ["orders", "recency", "revenue"]].tolist() == [3, 9, 60.0]
    assert c.loc[2, ["orders", "recency", "revenue"]].tolist() == [1, 2, 50.0]
    assert c.loc[3, ["orders", "recency", "revenue"]].tolist() == [1, 45, 40.0]  # refund left out
    assert c.loc[5, ["orders", "recency", "revenue"]].tolist() == [1, 1, 8.0]  # null status = paid
    assert c.loc[1, "last_order"] == pd.Timestamp("2026-02-20")
    assert c["frequency"].tolist() == c["orders"].tolist()
    assert c["monetary"].tolist() == c["revenue"].tolist()
    assert rfm.excluded == {
        "invalid": 0,
        "outside_window": 2,
        "cancelled": 1,
        "refunded": 2,
        "other_status": 1,
        "no_user": 1,
    }
    assert rfm.included_orders == 6
    assert rfm.included_orders + sum(rfm.excluded.values()) == len(LOG)
    assert rfm.customers_without_paid_orders == 1  # u4
    assert rfm.window_start == date(2025, 12, 1)


def test_frequency_in_days_and_mean_monetary(shop):
    rfm = sg.compute_rfm(
        shop.source, as_of=AS_OF, lookback_days=90, frequency="days", monetary="mean"
    )
    u1 = rfm.customers.set_index("user_id").loc[1]
    assert (u1["orders"], u1["frequency"], u1["monetary"]) == (3, 2, 20.0)


def test_all_history_and_a_later_as_of(shop):
    rfm = sg.compute_rfm(shop.source, as_of=date(2026, 3, 2), lookback_days=None)
    c = rfm.customers.set_index("user_id")
    assert c.loc[1, ["orders", "recency", "revenue"]].tolist() == [4, 1, 1060.0]
    assert c.loc[2, ["orders", "revenue"]].tolist() == [2, 550.0]
    assert rfm.excluded["outside_window"] == 0 and rfm.window_start is None


def test_an_empty_window_segments_nobody_without_failing(shop):
    result = sg.resegment(shop, sg.Settings(as_of=date(2025, 1, 1)))
    assert result.customers == 0
    m = result.metrics()
    assert m["customers"] == 0 and m["top20_revenue_share"] is None
    assert set(m["segments_8"]) == set(sg.SEGMENT_NAMES)
    assert all(v["customers"] == 0 for v in m["tiers_4"].values())
    assert m["excluded"]["outside_window"] == len(LOG)  # every order is after as_of


def test_a_customer_whose_only_orders_are_refunded(tmp_path):
    report = report_on(tmp_path, log((1, 7, "2026-02-01", 10.0, "refunded")))
    result = sg.resegment(report, sg.Settings(as_of=AS_OF))
    assert result.customers == 0
    assert result.rfm.customers_without_paid_orders == 1
    assert result.rfm.excluded["refunded"] == 1


def test_invalid_orders_are_counted_first(tmp_path):
    orders = log(
        (1, 1, "2026-02-01", None, "refunded"),
        (2, 1, None, 5.0, "paid"),
        (3, 1, "2026-02-02", 5.0, "paid"),
    )
    rfm = sg.compute_rfm(report_on(tmp_path, orders).source, as_of=AS_OF)
    assert rfm.excluded["invalid"] == 2 and rfm.excluded["refunded"] == 0
    assert rfm.included_orders == 1


def test_local_dates_decide_the_window_recency_and_default_as_of(tmp_path):
    # 16:30 UTC on Feb 28 is 00:30 on Mar 1 in Shanghai: on as_of itself, so outside the window
    orders = log(
        (1, 1, "2026-02-27 15:00", 10.0, "paid"),  # 23:00 Feb 27 local
        (2, 2, "2026-02-27 16:30", 10.0, "paid"),  # 00:30 Feb 28 local
        (3, 3, "2026-02-28 16:30", 10.0, "paid"),  # 00:30 Mar 1 local
        (4, 3, "2026-03-05 16:30", 10.0, "refunded"),  # newer, but not paid
    )
    report = report_on(tmp_path, orders, timezone="Asia/Shanghai")
    rfm = sg.compute_rfm(report.source, as_of=AS_OF, lookback_days=None)
    assert rfm.customers.set_index("user_id")["recency"].to_dict() == {1: 2, 2: 1}
    assert rfm.excluded["outside_window"] == 2
    assert sg.default_as_of(report.source) == date(2026, 3, 2)
    utc = report_on(tmp_path, orders, timezone="UTC")
    assert sg.default_as_of(utc.source) == date(2026, 3, 1)


def test_default_as_of_is_stated(shop):
    result = sg.segment(shop)
    assert result.settings.as_of == date(2026, 3, 2) and result.settings.as_of_default
    assert result.metrics()["as_of"] == "2026-03-02"


# -- scores -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (5, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        (4, [1, 1, 1, 2, 2, 3, 3, 3, 4, 4]),  # floor(4 * below / 10)
        (3, [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]),
    ],
)
def test_quantile_scores_on_distinct_values(k, expected):
    values = np.arange(10, 110, 10)
    assert sg.quantile_scores(values, k).tolist() == expected
    assert sg.quantile_scores(values[::-1], k, higher_is_better=False).tolist() == expected


def test_ties_get_equal_scores_whatever_the_order():
    values = [1, 1, 1, 2, 3]
    # below: 0, 0, 0, 3, 4 -> 1 + floor(5 * below / 5): F = 1 buyers all score 1, 2 and 3 empty
    assert sg.quantile_scores(values, 5).tolist() == [1, 1, 1, 4, 5]
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=200)
    order = rng.permutation(200)
    scores = sg.quantile_scores(x, 5)
    assert (sg.quantile_scores(x[order], 5) == scores[order]).all()
    for value in np.unique(x):
        assert len(set(scores[x == value])) == 1
    # recency: fewer days is better
    assert sg.quantile_scores([30, 1, 1, 60, 5], 5, higher_is_better=False).tolist() == [
        2,
        4,
        4,
        1,
        3,
    ]


def test_score_errors_and_edges():
    with pytest.raises(ValueError, match="k must be"):
        sg.quantile_scores([1, 2], 6)
    assert sg.quantile_scores([], 5).tolist() == []
    assert sg.quantile_scores([7.0], 5).tolist() == [1]
    assert sg.quantile_scores([7.0, 7.0, 7.0], 3).tolist() == [1, 1, 1]


# -- the 8-class model --------------------------------------------------------------------------
def members(recency, frequency, monetary, k=5):
    n = len(recency)
    per = pd.DataFrame(
        {
            "user_id": range(1, n + 1),
            "orders": frequency,
            "days": [None] * n,
            "revenue": [float(m) for m in monetary],
            "recency": recency,
        }
    )
    finished = sg.finish_rfm(per, as_of=AS_OF, frequency="orders", monetary="total")
    return sg.add_scores(finished, k)


def test_all_eight_classes_against_the_mean():
    # means: recency 50, frequency 5, monetary 500 (each value is 50 +- 40 etc.)
    r = [10, 10, 90, 90, 10, 10, 90, 90]
    f = [9, 1, 9, 1, 9, 1, 9, 1]
    m = [900, 900, 900, 900, 100, 100, 100, 100]
    frame = members(r, f, m)
    names, cut = sg.classify_8(frame, "mean")
    assert cut == {"recency": 50.0, "frequency": 5.0, "monetary": 500.0}
    assert names.tolist() == list(sg.SEGMENT_NAMES)


def test_a_value_equal_to_the_threshold_is_low():
    # means: recency 3, frequency 2, monetary 20 -- customer 2 sits exactly on every mean
    frame = members([1, 3, 5], [1, 2, 3], [10, 20, 30])
    names, _ = sg.classify_8(frame, "mean")
    assert names.tolist() == ["general_to_develop", "general_to_win_back", "important_to_keep"]


def test_median_threshold_differs_from_the_mean():
    frame = members([1, 2, 30], [1, 1, 7], [10, 10, 100])
    _, mean_cut = sg.classify_8(frame, "mean")
    names, median_cut = sg.classify_8(frame, "median")
    assert median_cut == {"recency": 2.0, "frequency": 1.0, "monetary": 10.0}
    assert mean_cut["frequency"] == 3.0
    # against the median: recency 1 < 2 is high; F = 1 equals the median: low
    assert names.tolist() == ["general_to_develop", "general_to_win_back", "important_to_keep"]


def test_scores_as_the_basis():
    frame = members([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 2, 3, 4, 5])
    assert frame["r_score"].tolist() == [5, 4, 3, 2, 1]
    names, cut = sg.classify_8(frame, "mean", basis="scores")
    assert cut == {"recency": 3.0, "frequency": 3.0, "monetary": 3.0}
    # customer 1: R 5 > 3 high, F 5 high, M 1 low -> general value; customer 3 on every mean: low
    assert names.tolist()[0] == "general_value"
    assert names.tolist()[2] == "general_to_win_back"
    assert names.tolist()[4] == "important_to_win_back"


# -- the 4-tier model ---------------------------------------------------------------------------
def test_tier_rules_and_their_boundaries():
    # recency at the boundaries; monetary so that customer 3 has the top M score
    frame = members([91, 90, 20, 30, 31, 95], [1, 1, 1, 1, 1, 1], [1, 2, 1000, 3, 4, 5000])
    assert frame["m_score"].tolist() == [1, 1, 4, 2, 3, 5]
    tiers = sg.assign_tiers(frame, sg.TierRules(churn_days=90, active_days=30), k=5)
    # 91 days: churned; 90: not; top M but recency 95: churned first (first match wins)
    assert tiers.tolist() == [
        "churned",
        "low_activity",
        "potential",  # M score 4 < 5
        "potential",  # recency 30 <= 30
        "low_activity",  # 31 > 30
        "churned",
    ]
    relaxed = sg.assign_tiers(frame, sg.TierRules(high_value_min_m=4), k=5)
    assert relaxed.tolist()[2] == "high_value"
    strict_f = sg.assign_tiers(frame, sg.TierRules(high_value_min_m=4, high_value_min_f=2), k=5)
    assert strict_f.tolist()[2] == "potential"  # every F score is 1


def test_bad_rules_and_settings_raise():
    with pytest.raises(ValueError, match="active_days < churn_days"):
        sg.TierRules(churn_days=30, active_days=30).resolved(5)
    with pytest.raises(ValueError, match="high_value_min_m"):
        sg.TierRules(high_value_min_m=5).resolved(4)
    with pytest.raises(ValueError, match="k must be"):
        sg.Settings(as_of=AS_OF, k=7)
    with pytest.raises(ValueError, match="threshold"):
        sg.Settings(as_of=AS_OF, threshold="mode")
    with pytest.raises(ValueError, match="lookback_days"):
        sg.Settings(as_of=AS_OF, lookback_days=0)
    # the default high_value_min_m follows k
    assert sg.Settings(as_of=AS_OF, k=3).tier_rules.high_value_min_m == 3


# -- profiles and Pareto ------------------------------------------------------------------------
def test_top_share_and_profiles():
    assert sg.top_share([100] + [1] * 9) == pytest.approx(101 / 109)  # top 2 of 10
    assert sg.top_share([5, 4, 3, 2, 1, 1]) == pytest.approx(9 / 16)  # ceil(1.2) = 2 customers
    assert sg.top_share([]) is None and sg.top_share([0, 0]) is None
    frame = members([10, 10, 90, 90], [9, 1, 9, 1], [900, 100, 600, 400])
    frame["segment"], _ = sg.classify_8(frame)
    table = sg.profile(frame, "segment").set_index("segment")
    assert table.index.tolist() == list(sg.SEGMENT_NAMES)
    assert table.loc["champions", ["customers", "revenue"]].tolist() == [1, 900.0]
    assert table.loc["champions", "revenue_share"] == pytest.approx(0.45)
    assert table.loc["general_value", "customers"] == 0
    assert np.isnan(table.loc["general_value", "revenue_per_customer"])
    assert table["share"].sum() == pytest.approx(1.0)


def test_segmentation_metrics_keys(shop):
    result = sg.resegment(shop, sg.Settings(as_of=AS_OF, lookback_days=90))
    m = result.metrics()
    for key in ("customers", "as_of", "threshold", "excluded", "segments_8", "tiers_4"):
        assert key in m
    assert "top20_revenue_share" in m
    assert list(m["segments_8"]) == list(sg.SEGMENT_NAMES)
    assert list(m["tiers_4"]) == ["high_value", "potential", "low_activity", "churned"]
    assert sum(v["customers"] for v in m["tiers_4"].values()) == m["customers"] == 4
    assert sum(v["revenue_share"] for v in m["segments_8"].values()) == pytest.approx(1.0)


# -- migration ----------------------------------------------------------------------------------
def test_migration_counts_upgrades_downgrades_and_fallers(tmp_path):
    orders = log(
        # u1: big spender until January, silent since: high-value on Feb 1, churned by May 1
        (1, 1, "2026-01-20", 5000.0, "paid"),
        # u2: small, active in both periods: potential -> potential
        (2, 2, "2026-01-25", 10.0, "paid"),
        (3, 2, "2026-04-25", 10.0, "paid"),
        # u3: small in January, big in April: potential -> high-value (upgrade)
        (4, 3, "2026-01-28", 5.0, "paid"),
        (5, 3, "2026-04-28", 9000.0, "paid"),
        # u4: new in April
        (6, 4, "2026-04-20", 20.0, "paid"),
        # u5..u6: more one-off January buyers so the quantiles have company
        (7, 5, "2026-01-10", 1.0, "paid"),
        (8, 6, "2026-01-11", 2.0, "paid"),
    )
    report = report_on(tmp_path, orders)
    after = sg.resegment(report, sg.Settings(as_of=date(2026, 5, 1), lookback_days=None))
    mig = sg.migration(report, after, compare_to="2026-02-01")
    pairs = mig.pairs.set_index("user_id")
    assert pairs.loc[1, ["tier_before", "tier_after"]].tolist() == ["high_value", "churned"]
    assert pairs.loc[3, ["tier_before", "tier_after"]].tolist() == ["potential", "high_value"]
    assert pairs.loc[4, ["tier_before", "tier_after"]].tolist() == [sg.NONE, "potential"]
    assert mig.fell_out_of_high_value == 1
    assert mig.fell_out_by_destination()["churned"] == 1
    assert mig.upgrades == 1  # u3
    counts = mig.counts("tier")
    assert counts.loc["high_value", "churned"] == 1 and counts.loc[sg.NONE, "potential"] == 1
    assert counts.to_numpy().sum() == 6
    shares = mig.shares("tier")
    assert shares.loc["high_value", "churned"] == 1.0
    assert mig.metrics()["migration"]["new_customers"] == 1
    # default: 30 days before as_of
    assert sg.migration(report, after).compare_to == date(2026, 4, 1)
    with pytest.raises(ValueError, match="before as_of"):
        sg.migration(report, after, compare_to="2026-06-01")


def test_a_lookback_can_make_customers_leave_the_window(tmp_path):
    orders = log((1, 1, "2026-01-05", 10.0, "paid"), (2, 2, "2026-03-20", 10.0, "paid"))
    report = report_on(tmp_path, orders)
    after = sg.resegment(report, sg.Settings(as_of=date(2026, 4, 1), lookback_days=60))
    mig = sg.migration(report, after, compare_to="2026-03-01")
    assert mig.pairs.set_index("user_id").loc[1, "tier_after"] == sg.NONE


# -- actions and exports ------------------------------------------------------------------------
def test_actions_come_from_i18n_then_config_then_parameter(tmp_path):
    actions = {"churned": "Call them", "potential": {"zh": "推荐", "en": "Recommend"}}
    report = report_on(tmp_path, LOG, raw={"reports": {"segmentation": {"actions": actions}}})
    got = sg.tier_actions(report)
    assert got["churned"] == "Call them" and got["potential"] == "Recommend"
    assert got["low_activity"] == report.t("segmentation.action.low_activity")
    assert sg.tier_actions(report, {"high_value": "VIP"})["churned"] == report.t(
        "segmentation.action.churned"
    )
    with pytest.raises(ValueError, match="unknown tier"):
        sg.tier_actions(report, {"vip": "x"})


def test_export_writes_parquet_and_csv_with_optional_pseudonyms(shop, tmp_path, monkeypatch):
    result = sg.resegment(shop, sg.Settings(as_of=AS_OF, lookback_days=90))
    assert sg.export_segments(shop, result) is None  # off by default
    out = sg.export_segments(shop, result, enabled=True, export_dir=tmp_path / "x")
    parquet = pd.read_parquet(out.paths[0])
    csv = pd.read_csv(out.paths[1])
    assert list(parquet.columns) == ["user_id", "as_of", *sg.MEMBER_COLUMNS[1:]]
    assert parquet["user_id"].tolist() == csv["user_id"].tolist() == [1, 2, 3, 5]
    assert out.rows == 4 and not out.pseudonymised
    assert out.paths[0].name == "segmentation_members_2026-03-01.parquet"

    monkeypatch.delenv(sg.SALT_ENV, raising=False)
    with pytest.raises(ValueError, match="salt"):
        sg.export_segments(shop, result, enabled=True, export_dir=tmp_path, pseudonymise=True)
    monkeypatch.setenv(sg.SALT_ENV, "pepper-1")
    hashed = sg.export_segments(
        shop, result, enabled=True, export_dir=tmp_path / "h", pseudonymise=True
    )
    ids = pd.read_parquet(hashed.paths[0])["user_id"].tolist()
    assert hashed.pseudonymised and len(set(ids)) == 4
    assert all(len(i) == 32 and i not in {"1", "2", "3", "5"} for i in ids)
    # stable for one salt, different for another, and the salt is in no file
    assert sg.pseudonymise_ids(pd.Series([1]), "pepper-1").iloc[0] == ids[0]
    assert sg.pseudonymise_ids(pd.Series([1]), "pepper-2").iloc[0] != ids[0]
    assert "pepper" not in hashed.paths[1].read_text()


def test_default_export_dir_is_the_configured_run_folder(shop):
    assert sg.default_export_dir(shop) == shop.config.path_of("reports") / "exports"


def test_salt_from_the_config(tmp_path, monkeypatch):
    monkeypatch.delenv(sg.SALT_ENV, raising=False)
    report = report_on(tmp_path, LOG, raw={"privacy": {"pseudonym_salt": "s3"}})
    assert sg.pseudonym_salt(report) == "s3"


# -- the engine against plain pandas on the sample shop ------------------------------------------
def pandas_rfm(orders, as_of, lookback_days, zone="Asia/Shanghai"):
    """Independent RFM: pandas on the raw Parquet, local dates via tz_convert."""
    o = orders.copy()
    o["day"] = o["ts"].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    status = o["status"].fillna("paid")
    end = pd.Timestamp(as_of)
    start = end - pd.Timedelta(days=lookback_days)
    paid = o[(status == "paid") & o.user_id.notna() & (o.day < end) & (o.day >= start)]
    g = paid.groupby("user_id")
    return pd.DataFrame(
        {
            "orders": g.size(),
            "days": g["day"].nunique(),
            "revenue": g["amount"].sum(),
            "recency": (end - g["day"].max()).dt.days,
        }
    )


def test_engine_agrees_with_pandas_on_the_sample(sample_dir):
    config = load_config(data=str(sample_dir))
    report = Report("segmentation", config, open_source(config), validation=None)
    orders = pd.read_parquet(sample_dir / "orders.parquet")
    as_of = sg.default_as_of(report.source)
    newest = orders[orders.status == "paid"].ts.max().tz_convert("Asia/Shanghai")
    assert as_of == (newest + pd.Timedelta(days=1)).date()
    for lookback, as_of_day in ((365, as_of), (60, as_of - timedelta(days=20))):
        rfm = sg.compute_rfm(
            report.source, as_of=as_of_day, lookback_days=lookback, frequency="days"
        )
        got = rfm.customers.set_index("user_id")
        expected = pandas_rfm(orders, as_of_day, lookback)
        assert got.index.tolist() == expected.index.tolist()
        assert got["orders"].tolist() == expected["orders"].tolist()
        assert got["frequency"].tolist() == expected["days"].tolist()
        assert got["recency"].tolist() == expected["recency"].tolist()
        np.testing.assert_allclose(got["revenue"], expected["revenue"], rtol=1e-12)
        status = orders.status.fillna("paid")
        day = orders.ts.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        inside = (day < pd.Timestamp(as_of_day)) & (
            day >= pd.Timestamp(as_of_day) - pd.Timedelta(days=lookback)
        )
        assert rfm.excluded["refunded"] == int(((status == "refunded") & inside).sum())
        assert rfm.excluded["cancelled"] == int(((status == "cancelled") & inside).sum())
        assert rfm.excluded["outside_window"] == int((~inside).sum())


# -- lifetimes-style summary (CDNOW) --------------------------------------------------------------
@pytest.mark.real_data
def test_lifetimes_summary_matches_the_published_cdnow_summary():
    import ibis

    transactions = dataset("cdnow", "cdnow_sample_transactions.csv")
    published = pd.read_csv(dataset("cdnow", "cdnow_customers_summary.csv"))
    con = ibis.duckdb.connect()
    table = con.read_csv(str(transactions))
    summary = sg.lifetimes_summary(
        table, user="customer_id", day="date", observation_end="1997-09-30"
    )
    merged = published.merge(summary, left_on="ID", right_on="user_id", suffixes=("_pub", ""))
    assert len(merged) == len(published) == 2357
    assert (merged["frequency"] == merged["frequency_pub"]).all()
    # the published file rounds weeks to 2 decimals
    np.testing.assert_allclose(merged["recency"], merged["recency_pub"], atol=0.006)
    np.testing.assert_allclose(merged["T"], merged["T_pub"], atol=0.006)


# -- presentation -------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", [AS_OF, date(2025, 1, 1)], ids=["shop", "empty window"])
def test_every_section_renders_and_suppresses_small_groups(shop, as_of, monkeypatch):
    html = []
    collect = lambda obj, **_: html.append(getattr(obj, "data", ""))  # noqa: E731
    monkeypatch.setattr("opsbook.report.display", collect)
    monkeypatch.setattr("opsbook.segmentation.display", collect)
    result = sg.resegment(shop, sg.Settings(as_of=as_of, lookback_days=90))
    mig = sg.migration(shop, result)
    sg.show_scope(shop, result)
    sg.show_score_bins(shop, result)
    sg.show_thresholds(shop, result)
    sg.show_segment_profile(shop, result)
    sg.show_tier_rules(shop, result)
    sg.show_tier_profile(shop, result)
    sg.show_pareto(shop, result)
    sg.show_migration(shop, mig)
    sg.show_export(shop, result, None)
    sg.conclusion(shop, result, mig)
    for chart in (sg.rf_heatmap, sg.monetary_chart, sg.size_vs_revenue_chart):
        assert chart(shop, result) is not None
    assert len(sg.headline(result, mig)) == 5
    shown = "".join(h for h in html if isinstance(h, str))
    if result.customers:
        # 4 customers, all under min_cell: no count under 10 is shown, only "<10"
        profiles = [h for h in html if isinstance(h, str) and "Revenue per customer" in h]
        assert len(profiles) == 2  # segments and tiers
        for table in profiles:
            assert "&lt;10" in table
            assert not re.search(r"<td>[1-9]</td>", table)  # no count under 10
            assert "<td>0</td>" in table  # empty groups are shown as 0
        assert "No paid order in the 90 days before as_of" in shown
    else:
        assert "No paid orders in the window" in shown


def test_the_widget_is_off_in_batch_runs_and_recomputes_in_the_lab(shop, monkeypatch):
    result = sg.resegment(shop, sg.Settings(as_of=AS_OF, lookback_days=90))
    monkeypatch.setenv("OPSBOOK_BATCH", "1")
    assert sg.explore(shop, result) is None
    monkeypatch.delenv("OPSBOOK_BATCH")
    box = sg.explore(shop, result)
    threshold, k, lookback = box.children[0].children
    k.value = 3
    threshold.value = "median"
    lookback.value = None  # a new engine run: all history
    assert {k.value, threshold.value, lookback.value} == {3, "median", None}
