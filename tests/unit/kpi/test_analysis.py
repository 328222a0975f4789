"""The KPI dashboard's results on the hand-made shop (:mod:`tests.unit.kpi.shop`): the KPIs
reused from retention and campaigns, KPIs without their tables, data health, week over week,
trend and daily anomalies, and the metrics."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from opsbook.kpi import analysis
from opsbook.stats.timeseries import flag_daily
from opsbook.targets import KNOWN_KPIS, STATUSES
from tests.unit.kpi.shop import (
    CONTENT,
    EVENTS,
    ORDERS,
    SPEND,
    TZ,
    USERS,
    report_of,
    value,
    write_shop,
)


# --------------------------------------------------------------------------- reused measures
def test_day_n_retention_of_the_week(board):
    # D1: users whose day 1 is in the week: u4 (active 12-29), u3 (not on 12-30), u5 (12-31)
    assert value(board, "d1_retention") == pytest.approx(2 / 3)
    # D7: u6 (active 12-29), u7 (not on 12-30), u4 (active Sunday 23:30 local, day 7)
    assert value(board, "d7_retention") == pytest.approx(2 / 3)
    # D30: u8 (signup 11-30, active 12-30)
    assert value(board, "d30_retention") == pytest.approx(1.0)


def test_first_order_conversion_and_repeat_purchase(board):
    # cohort whose 30-day window closes this week: u8 (signup 11-30), paid on 12-10
    assert value(board, "first_order_conversion") == pytest.approx(1.0)
    # buyers of the 30 days to 01-04: u3, u4, u5 (two orders), u7, u8
    assert value(board, "repeat_purchase_rate") == pytest.approx(1 / 5)


def test_dau_mau_against_a_pandas_oracle(board):
    events = pd.DataFrame(EVENTS, columns=["user_id", "ts", "event", "content_id", "campaign_id"])
    events["day"] = events["ts"].dt.tz_convert(TZ).dt.date
    days = pd.date_range("2025-12-06", "2026-01-04").date
    window = events[events["day"].isin(days)]
    dau = window.groupby("day")["user_id"].nunique().reindex(days, fill_value=0)
    expected = dau.mean() / window["user_id"].nunique()
    assert value(board, "dau_mau") == pytest.approx(expected)


def test_campaign_kpis_from_the_campaign_module(board):
    # participants (campaign_join): u3, u5, u6; paid within 7 days of joining: u3, u5
    assert value(board, "campaign_conversion") == pytest.approx(2 / 3)
    # holdout comparison to the period's end: treatment u3 100, u5 80, u6 0 (refund) -> 60 per
    # user; holdout u7 10 -> incremental revenue (60 - 10) x 3 = 150 over the spend of the 7
    # elapsed days of 13: 100 x 7/13
    assert value(board, "campaign_roi") == pytest.approx(150 / (100 * 7 / 13), rel=1e-6)
    # K: one invitee (u1, inviter u3) per 3 participants
    assert value(board, "k_factor") == pytest.approx(1 / 3)
    # the campaign had not started in the previous week
    assert math.isnan(value(board, "campaign_conversion", 1))


def test_kpis_without_their_tables_are_na(tmp_path):
    write_shop(tmp_path / "bare", content=False, spend=False, campaigns=False)
    result = analysis.dashboard(report_of(tmp_path / "bare"), trend_weeks=2)
    metrics = result.metrics()["kpis"]
    for name in ("content_roi", "content_articles", "cac", "campaign_roi", "k_factor"):
        assert metrics[name]["status"] == "n/a" and metrics[name]["value"] is None, name
    assert metrics["cac"]["note"] == "kpi_dashboard.na.no_spend"
    assert metrics["content_roi"]["note"] == "kpi_dashboard.na.no_content_table"
    # views and interactions come from the events alone
    assert metrics["content_interaction_rate"]["value"] == pytest.approx(3 / 7)


# --------------------------------------------------------------------------- data
def test_data_accuracy_and_freshness(board):
    assert value(board, "data_accuracy") == 1.0
    # newest event 16:35 UTC, report at 17:05 UTC
    assert value(board, "data_freshness_hours") == pytest.approx(0.5)
    assert board.kpi("data_freshness_hours")["status"] == "green"


def test_data_accuracy_counts_failing_rows(tmp_path):
    write_shop(tmp_path / "bad")
    orders = pd.read_parquet(tmp_path / "bad" / "orders.parquet")
    orders.loc[0, "amount"] = -5.0  # one of 8 orders breaks a rule
    orders.to_parquet(tmp_path / "bad" / "orders.parquet")
    health = analysis.data_health(report_of(tmp_path / "bad"))
    # users, events, orders, spend, content, 1 campaign, 5 members: all read by the dashboard
    total = sum(len(x) for x in (USERS, EVENTS, ORDERS, SPEND, CONTENT)) + 1 + 5
    assert (health.rows, health.passing, health.findings) == (total, total - 1, 1)
    assert health.accuracy == pytest.approx((total - 1) / total)
    assert set(health.tables) == set(analysis.READS)


# --------------------------------------------------------------------------- week over week
def test_week_over_week_significance_on_a_constructed_case():
    from statsmodels.stats.proportion import proportions_ztest

    # 200 of 1,000 last week, 260 of 1,000 this week: beyond noise
    p, significant = analysis.week_over_week((260, 1000), (200, 1000))
    # reference: proportions_ztest([260, 200], [1000, 1000]) -> p = 0.00135...
    assert p == pytest.approx(proportions_ztest([260, 200], [1000, 1000])[1], rel=1e-9)
    assert significant is True
    # 200 -> 205 of 1,000: within noise
    p, significant = analysis.week_over_week((205, 1000), (200, 1000))
    assert p == pytest.approx(proportions_ztest([205, 200], [1000, 1000])[1], rel=1e-9)
    assert significant is False
    assert analysis.week_over_week((5, 0), (3, 10)) == (None, None)


def test_scorecard_tests_rates_only(board):
    card = board.scorecard.set_index("kpi")
    assert card.loc["d1_retention", "significant"] in (True, False)
    assert card.loc["arpu", "significant"] is None  # not a proportion
    assert card.loc["dau_mau", "significant"] is None  # overlapping trailing windows
    assert card.loc["gmv", "change"] == pytest.approx(190 / 20 - 1)


# --------------------------------------------------------------------------- anomalies
def _trend(values, kpi_name="d7_retention", den=2000.0):
    ends = pd.date_range("2026-01-04", periods=len(values), freq="7D").date[::-1]
    return pd.DataFrame(
        {
            "kpi": kpi_name,
            "k": range(len(values)),
            "end": ends,
            "value": values[::-1],
            "den": den,
        }
    )


def test_no_false_alarm_on_a_clean_weekly_series():
    rng = np.random.default_rng(3)
    clean = list(0.40 + rng.normal(0, 0.004, 12))
    assert analysis.flag_trend(_trend(clean), units={"d7_retention": "rate"}).empty


def test_a_planted_drop_in_a_weekly_series_is_found():
    rng = np.random.default_rng(3)
    series = 0.40 + rng.normal(0, 0.004, 12)
    series[6] = 0.25
    found = analysis.flag_trend(_trend(list(series)), units={"d7_retention": "rate"})
    assert found[["k", "flag"]].values.tolist() == [[5, "drop"]]  # newest is k = 0


def test_sampling_noise_of_a_small_cohort_is_not_an_anomaly():
    # 0.40 -> 0.30 on a cohort of 40 users is 1.3 standard errors: no alarm
    series = [0.40, 0.41, 0.39, 0.40, 0.41, 0.30, 0.40, 0.39, 0.41, 0.40]
    assert analysis.flag_trend(_trend(series, den=40.0), units={"d7_retention": "rate"}).empty


def _days(values, start="2026-01-05"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), dtype=float)


def test_no_false_alarm_on_a_clean_daily_series_with_busy_weekends():
    rng = np.random.default_rng(5)
    weekday = np.array([1, 1, 1, 1, 1, 1.3, 1.3])
    clean = rng.poisson(300 * weekday[np.arange(84) % 7])
    assert (flag_daily(_days(clean))["flag"] == "").all()


def test_an_outage_day_is_a_gap_and_a_partial_outage_a_drop():
    rng = np.random.default_rng(5)
    weekday = np.array([1, 1, 1, 1, 1, 1.3, 1.3])
    orders = rng.poisson(20 * weekday[np.arange(84) % 7]).astype(float)
    active = rng.poisson(300 * weekday[np.arange(84) % 7]).astype(float)
    orders[40], active[40] = 0, 90  # the outage: no orders, 30 % of the usual activity
    assert flag_daily(_days(orders)).iloc[40]["flag"] == "gap"
    flagged = flag_daily(_days(active))
    assert flagged.iloc[40]["flag"] == "drop"
    assert (flagged.drop(flagged.index[40])["flag"] == "").all()


# --------------------------------------------------------------------------- estimated KPIs
def _revenue_sums(rng: np.random.Generator, n_treated: int, n_holdout: int) -> tuple:
    t = rng.exponential(12, n_treated) * (rng.random(n_treated) < 0.3)
    h = rng.exponential(10, n_holdout) * (rng.random(n_holdout) < 0.25)
    sums = pd.DataFrame(
        {
            "grp": ["treatment", "holdout"],
            "n": [t.size, h.size],
            "revenue": [t.sum(), h.sum()],
            "revenue_sq": [t @ t, h @ h],
        }
    )
    return sums, t, h


def test_the_period_iroi_interval_pools_the_campaigns():
    from scipy import stats as sps

    from opsbook.campaigns.analysis import incremental, lift_table
    from opsbook.kpi.analysis.reused import pooled_increment

    rng = np.random.default_rng(11)
    (a, ta, ha), (b, tb, hb) = _revenue_sums(rng, 400, 150), _revenue_sums(rng, 900, 300)
    lifts_a = lift_table(a, ["revenue"], alpha=0.05)
    lifts_b = lift_table(b, ["revenue"], alpha=0.05)
    # one campaign: exactly the campaign review's incremental revenue and its interval
    gain, low, high = pooled_increment([lifts_a])
    review = incremental(lifts_a, spend=100.0)
    assert gain == pytest.approx(review["incremental_revenue"], rel=1e-12)
    assert (low, high) == pytest.approx(tuple(review["incremental_revenue_ci"]), rel=1e-12)
    # two independent campaigns: the gains add, the standard errors add in quadrature (Welch
    # standard errors from the rows, numpy), at the larger critical value (the smaller df)
    gain, low, high = pooled_increment([lifts_a, lifts_b])

    def welch(t, h):
        se = np.sqrt(t.var(ddof=1) / t.size + h.var(ddof=1) / h.size)
        df = sps.ttest_ind(t, h, equal_var=False).df
        return (t.mean() - h.mean()) * t.size, se * t.size, sps.t.ppf(0.975, df)

    (ga, sa, ca), (gb, sb, cb) = welch(ta, ha), welch(tb, hb)
    assert gain == pytest.approx(ga + gb, rel=1e-12)
    half = max(ca, cb) * np.hypot(sa, sb)
    assert (low, high) == pytest.approx((ga + gb - half, ga + gb + half), rel=1e-9)
    # a campaign whose lift has no standard error leaves the pooled interval unknown
    tiny, *_ = _revenue_sums(rng, 5, 1)
    assert np.isnan(pooled_increment([lifts_a, lift_table(tiny, ["revenue"], alpha=0.05)])[1])


def test_an_estimated_kpi_is_judged_on_its_interval():
    from opsbook.kpi.analysis.scorecard import _series
    from opsbook.kpi.queries.periods import Periods
    from opsbook.kpi.queries.rows import _row
    from opsbook.targets import load_targets

    periods = Periods(end=date(2026, 1, 4), days=7, count=4)
    rows = [
        # the sample campaign's iROI against the "1:3" target: the point says met, the
        # interval does not establish it
        _row("campaign_roi", 0, 11.9, interval=(1.01, 22.81)),
        _row("campaign_roi", 1, 11.9, interval=(3.2, 22.81)),
        _row("campaign_roi", 2, 2.0, interval=(0.5, 2.9)),
        _row("campaign_roi", 3, 11.9),  # no interval (a holdout of one): not proven either
        _row("d7_retention", 0, 0.45, 45, 100),  # measured: judged on its value
        _row("d7_retention", 1, 0.38, 38, 100),
    ]
    series = _series(rows, periods, load_targets(), pd.Series(dtype=float), amber_band=0.1)
    status = series.set_index(["kpi", "k"])["status"]
    assert [status["campaign_roi", k] for k in range(4)] == [
        "not_proven", "green", "red", "not_proven",
    ]  # fmt: skip
    assert (status["d7_retention", 0], status["d7_retention", 1]) == ("green", "amber")


def test_the_shop_campaign_iroi_is_not_proven_on_a_holdout_of_one(board):
    # the point estimate 2.79 would be "close" to the target 3; with one holdout user there is
    # no variance, so nothing is established
    roi = board.metrics()["kpis"]["campaign_roi"]
    assert roi["status"] == "not_proven" and roi["interval"] is None
    on_target = board.headline()[0]
    assert on_target["status"] != "green"


# --------------------------------------------------------------------------- metrics
def test_metrics_keys(board):
    metrics = board.metrics()
    assert metrics["period_start"] == date(2025, 12, 29)
    assert metrics["period_end"] == date(2026, 1, 4)
    assert set(metrics["kpis"]) == set(KNOWN_KPIS)
    for entry in metrics["kpis"].values():
        assert {"value", "target", "direction", "status", "previous", "change"} <= set(entry)
        assert entry["status"] in STATUSES
    d1 = metrics["kpis"]["d1_retention"]
    assert (d1["target"], d1["direction"], d1["status"]) == (0.55, "higher", "green")
    assert len(board.headline()) == 5
