"""Segmentation's results: scores, the 8-class and 4-tier rules, profiles, migration, exports.

Known answers on small hand-made order logs for every rule."""

import csv as csv_module
from datetime import date

import numpy as np
import pandas as pd
import pytest

from opsbook import exports
from opsbook.segmentation.analysis import export, migration, segments
from opsbook.segmentation.analysis import rfm as rfm_table
from tests.unit.segmentation.known_orders import AS_OF, LOG, log, report_on


# -- segmenting an engine result ---------------------------------------------------------------
def test_an_empty_window_segments_nobody_without_failing(shop):
    result = segments.resegment(shop, segments.Settings(as_of=date(2025, 1, 1)))
    assert result.customers == 0
    m = result.metrics()
    assert m["customers"] == 0 and m["top20_revenue_share"] is None
    assert set(m["segments_8"]) == set(segments.SEGMENT_NAMES)
    assert all(v["customers"] == 0 for v in m["tiers_4"].values())
    assert m["excluded"]["outside_window"] == len(LOG)  # every order is after as_of


def test_a_customer_whose_only_orders_are_refunded(tmp_path):
    report = report_on(tmp_path, log((1, 7, "2026-02-01", 10.0, "refunded")))
    result = segments.resegment(report, segments.Settings(as_of=AS_OF))
    assert result.customers == 0
    assert result.rfm.customers_without_paid_orders == 1
    assert result.rfm.excluded["refunded"] == 1


def test_default_as_of_is_stated(shop):
    result = segments.segment(shop)
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
    assert segments.quantile_scores(values, k).tolist() == expected
    assert segments.quantile_scores(values[::-1], k, higher_is_better=False).tolist() == expected


def test_ties_get_equal_scores_whatever_the_order():
    values = [1, 1, 1, 2, 3]
    # below: 0, 0, 0, 3, 4 -> 1 + floor(5 * below / 5): F = 1 buyers all score 1, 2 and 3 empty
    assert segments.quantile_scores(values, 5).tolist() == [1, 1, 1, 4, 5]
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=200)
    order = rng.permutation(200)
    scores = segments.quantile_scores(x, 5)
    assert (segments.quantile_scores(x[order], 5) == scores[order]).all()
    for value in np.unique(x):
        assert len(set(scores[x == value])) == 1
    # recency: fewer days is better
    assert segments.quantile_scores([30, 1, 1, 60, 5], 5, higher_is_better=False).tolist() == [
        2,
        4,
        4,
        1,
        3,
    ]


def test_score_errors_and_edges():
    with pytest.raises(ValueError, match="k must be"):
        segments.quantile_scores([1, 2], 6)
    assert segments.quantile_scores([], 5).tolist() == []
    assert segments.quantile_scores([7.0], 5).tolist() == [1]
    assert segments.quantile_scores([7.0, 7.0, 7.0], 3).tolist() == [1, 1, 1]


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
    finished = rfm_table.finish_rfm(per, as_of=AS_OF, frequency="orders", monetary="total")
    return segments.add_scores(finished, k)


def test_all_eight_classes_against_the_mean():
    # means: recency 50, frequency 5, monetary 500 (each value is 50 +- 40 etc.)
    r = [10, 10, 90, 90, 10, 10, 90, 90]
    f = [9, 1, 9, 1, 9, 1, 9, 1]
    m = [900, 900, 900, 900, 100, 100, 100, 100]
    frame = members(r, f, m)
    names, cut = segments.classify_8(frame, "mean")
    assert cut == {"recency": 50.0, "frequency": 5.0, "monetary": 500.0}
    assert names.tolist() == list(segments.SEGMENT_NAMES)


def test_a_value_equal_to_the_threshold_is_low():
    # means: recency 3, frequency 2, monetary 20 -- customer 2 sits exactly on every mean
    frame = members([1, 3, 5], [1, 2, 3], [10, 20, 30])
    names, _ = segments.classify_8(frame, "mean")
    assert names.tolist() == ["general_to_develop", "general_to_win_back", "important_to_keep"]


def test_median_threshold_differs_from_the_mean():
    frame = members([1, 2, 30], [1, 1, 7], [10, 10, 100])
    _, mean_cut = segments.classify_8(frame, "mean")
    names, median_cut = segments.classify_8(frame, "median")
    assert median_cut == {"recency": 2.0, "frequency": 1.0, "monetary": 10.0}
    assert mean_cut["frequency"] == 3.0
    # against the median: recency 1 < 2 is high; F = 1 equals the median: low
    assert names.tolist() == ["general_to_develop", "general_to_win_back", "important_to_keep"]


def test_scores_as_the_basis():
    frame = members([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 2, 3, 4, 5])
    assert frame["r_score"].tolist() == [5, 4, 3, 2, 1]
    names, cut = segments.classify_8(frame, "mean", basis="scores")
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
    tiers = segments.assign_tiers(frame, segments.TierRules(churn_days=90, active_days=30), k=5)
    # 91 days: churned; 90: not; top M but recency 95: churned first (first match wins)
    assert tiers.tolist() == [
        "churned",
        "low_activity",
        "potential",  # M score 4 < 5
        "potential",  # recency 30 <= 30
        "low_activity",  # 31 > 30
        "churned",
    ]
    relaxed = segments.assign_tiers(frame, segments.TierRules(high_value_min_m=4), k=5)
    assert relaxed.tolist()[2] == "high_value"
    strict_f = segments.assign_tiers(
        frame, segments.TierRules(high_value_min_m=4, high_value_min_f=2), k=5
    )
    assert strict_f.tolist()[2] == "potential"  # every F score is 1


def test_bad_rules_and_settings_raise():
    with pytest.raises(ValueError, match="active_days < churn_days"):
        segments.TierRules(churn_days=30, active_days=30).resolved(5)
    with pytest.raises(ValueError, match="high_value_min_m"):
        segments.TierRules(high_value_min_m=5).resolved(4)
    with pytest.raises(ValueError, match="k must be"):
        segments.Settings(as_of=AS_OF, k=7)
    with pytest.raises(ValueError, match="threshold"):
        segments.Settings(as_of=AS_OF, threshold="mode")
    with pytest.raises(ValueError, match="lookback_days"):
        segments.Settings(as_of=AS_OF, lookback_days=0)
    # the default high_value_min_m follows k
    assert segments.Settings(as_of=AS_OF, k=3).tier_rules.high_value_min_m == 3


# -- profiles and Pareto ------------------------------------------------------------------------
def test_top_share_and_profiles():
    assert segments.top_share([100] + [1] * 9) == pytest.approx(101 / 109)  # top 2 of 10
    assert segments.top_share([5, 4, 3, 2, 1, 1]) == pytest.approx(
        9 / 16
    )  # ceil(1.2) = 2 customers
    assert segments.top_share([]) is None and segments.top_share([0, 0]) is None
    frame = members([10, 10, 90, 90], [9, 1, 9, 1], [900, 100, 600, 400])
    frame["segment"], _ = segments.classify_8(frame)
    table = segments.profile(frame, "segment").set_index("segment")
    assert table.index.tolist() == list(segments.SEGMENT_NAMES)
    assert table.loc["champions", ["customers", "revenue"]].tolist() == [1, 900.0]
    assert table.loc["champions", "revenue_share"] == pytest.approx(0.45)
    assert table.loc["general_value", "customers"] == 0
    assert np.isnan(table.loc["general_value", "revenue_per_customer"])
    assert table["share"].sum() == pytest.approx(1.0)


def test_segmentation_metrics_keys(shop):
    result = segments.resegment(shop, segments.Settings(as_of=AS_OF, lookback_days=90))
    m = result.metrics()
    for key in ("customers", "as_of", "threshold", "excluded", "segments_8", "tiers_4"):
        assert key in m
    assert "top20_revenue_share" in m
    assert list(m["segments_8"]) == list(segments.SEGMENT_NAMES)
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
    after = segments.resegment(
        report, segments.Settings(as_of=date(2026, 5, 1), lookback_days=None)
    )
    mig = migration.migration(report, after, compare_to="2026-02-01")
    pairs = mig.pairs.set_index("user_id")
    assert pairs.loc[1, ["tier_before", "tier_after"]].tolist() == ["high_value", "churned"]
    assert pairs.loc[3, ["tier_before", "tier_after"]].tolist() == ["potential", "high_value"]
    assert pairs.loc[4, ["tier_before", "tier_after"]].tolist() == [migration.NONE, "potential"]
    assert mig.fell_out_of_high_value == 1
    assert mig.fell_out_by_destination()["churned"] == 1
    assert mig.upgrades == 1  # u3
    counts = mig.counts("tier")
    assert counts.loc["high_value", "churned"] == 1 and counts.loc[migration.NONE, "potential"] == 1
    assert counts.to_numpy().sum() == 6
    shares = mig.shares("tier")
    assert shares.loc["high_value", "churned"] == 1.0
    assert mig.metrics()["migration"]["new_customers"] == 1
    # default: 30 days before as_of
    assert migration.migration(report, after).compare_to == date(2026, 4, 1)
    with pytest.raises(ValueError, match="before as_of"):
        migration.migration(report, after, compare_to="2026-06-01")


def test_a_lookback_can_make_customers_leave_the_window(tmp_path):
    orders = log((1, 1, "2026-01-05", 10.0, "paid"), (2, 2, "2026-03-20", 10.0, "paid"))
    report = report_on(tmp_path, orders)
    after = segments.resegment(report, segments.Settings(as_of=date(2026, 4, 1), lookback_days=60))
    mig = migration.migration(report, after, compare_to="2026-03-01")
    assert mig.pairs.set_index("user_id").loc[1, "tier_after"] == migration.NONE


# -- exports ----------------------------------------------------------------------------------
def test_export_writes_parquet_and_csv_with_optional_pseudonyms(shop, tmp_path, monkeypatch):
    result = segments.resegment(shop, segments.Settings(as_of=AS_OF, lookback_days=90))
    assert export.export_segments(shop, result) is None  # off by default
    out = export.export_segments(shop, result, enabled=True, export_dir=tmp_path / "x")
    parquet = pd.read_parquet(out.paths[0])
    csv = pd.read_csv(out.paths[1])
    assert list(parquet.columns) == ["user_id", "as_of", *export.MEMBER_COLUMNS[1:]]
    assert parquet["user_id"].tolist() == csv["user_id"].tolist() == [1, 2, 3, 5]
    assert out.rows == 4 and not out.pseudonymised
    assert out.paths[0].name == "segmentation_members_2026-03-01.parquet"

    monkeypatch.delenv(exports.SALT_ENV, raising=False)
    with pytest.raises(ValueError, match="salt"):
        export.export_segments(shop, result, enabled=True, export_dir=tmp_path, pseudonymise=True)
    monkeypatch.setenv(exports.SALT_ENV, "pepper-1")
    hashed = export.export_segments(
        shop, result, enabled=True, export_dir=tmp_path / "h", pseudonymise=True
    )
    ids = pd.read_parquet(hashed.paths[0])["user_id"].tolist()
    assert hashed.pseudonymised and len(set(ids)) == 4
    assert all(len(i) == 32 and i not in {"1", "2", "3", "5"} for i in ids)
    # stable for one salt, different for another, and the salt is in no file
    assert exports.pseudonymise_ids(pd.Series([1]), "pepper-1").iloc[0] == ids[0]
    assert exports.pseudonymise_ids(pd.Series([1]), "pepper-2").iloc[0] != ids[0]
    assert "pepper" not in hashed.paths[1].read_text()


def test_default_export_dir_is_the_configured_run_folder(shop):
    assert exports.default_export_dir(shop) == shop.config.path_of("reports") / "exports"


def test_salt_from_the_config(tmp_path, monkeypatch):
    monkeypatch.delenv(exports.SALT_ENV, raising=False)
    report = report_on(tmp_path, LOG, raw={"privacy": {"pseudonym_salt": "s3"}})
    assert exports.pseudonym_salt(report) == "s3"


def test_an_exported_list_opens_in_a_spreadsheet_as_text(shop, tmp_path):
    # ids and labels that a spreadsheet reads as formulas (CSV injection), planted as user ids
    planted = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "ok-1"]
    result = segments.resegment(shop, segments.Settings(as_of=AS_OF, lookback_days=90))
    members = result.members.copy()
    members = members.iloc[[0] * len(planted)].reset_index(drop=True)
    members["user_id"] = planted
    hostile = type(result)(**{**result.__dict__, "members": members})
    out = export.export_segments(shop, hostile, enabled=True, export_dir=tmp_path)
    with out.paths[1].open(newline="", encoding="utf-8") as handle:
        rows = list(csv_module.DictReader(handle))
    cells = [row["user_id"] for row in rows]
    assert cells[:6] == ["'" + v for v in planted[:6]]  # every formula trigger neutralised
    assert cells[6] == "ok-1"  # a dash inside a value is harmless
    assert pd.read_parquet(out.paths[0])["user_id"].tolist() == planted  # values as they are
    assert all(row["r_score"].isdigit() for row in rows)  # numbers stay numbers
