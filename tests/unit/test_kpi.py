"""The weekly KPI dashboard's numbers on a hand-made shop whose every answer is known.

Period under test: the local week Monday 2025-12-29 .. Sunday 2026-01-04 in Asia/Shanghai (UTC+8),
i.e. UTC [2025-12-28 16:00, 2026-01-04 16:00). The previous week is 2025-12-22 .. 2025-12-28.
Rows sit on both edges: 2026-01-04 15:30 UTC is Sunday 23:30 local (this week), 16:30 UTC is
Monday 00:30 local (the next week); 2025-12-28 16:10 UTC is Monday 00:10 local (this week),
15:50 UTC is Sunday 23:50 local (the previous week).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
import yaml

from opsbook import kpi
from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.report import Report
from opsbook.stats.timeseries import flag_daily
from opsbook.validation import validate

TZ = "Asia/Shanghai"


def local(text: str) -> pd.Timestamp:
    """A Shanghai wall-clock time as a UTC instant."""
    return pd.Timestamp(text).tz_localize(TZ).tz_convert("UTC")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize("UTC")


USERS = [
    # user, signup, channel
    (1, utc("2026-01-04 15:30"), "search"),  # Sun 23:30 local: this week
    (2, utc("2026-01-04 16:30"), "search"),  # Mon 00:30 local: next week
    (3, utc("2025-12-28 16:10"), "organic"),  # Mon 00:10 local: this week
    (4, utc("2025-12-28 15:50"), "search"),  # Sun 23:50 local: previous week
    (5, local("2025-12-30 10:00"), "social"),
    (6, local("2025-12-22 10:00"), "organic"),
    (7, local("2025-12-23 10:00"), "social"),
    (8, local("2025-11-30 10:00"), "organic"),
]
EVENTS = [
    # user, time, event, content_id, campaign_id
    (8, local("2025-11-30 10:05"), "app_open", None, None),  # 30+ days of history for DAU/MAU
    (4, local("2025-12-29 09:00"), "app_open", None, None),  # u4 day 1
    (4, utc("2026-01-04 15:30"), "add_to_cart", None, None),  # u4 day 7, Sunday 23:30 local
    (5, local("2025-12-31 12:00"), "app_open", None, None),  # u5 day 1
    (3, local("2025-12-29 09:00"), "campaign_join", None, 1),  # u3 day 0 only
    (3, local("2025-12-29 09:50"), "content_view", 1, None),
    (5, local("2026-01-01 10:00"), "campaign_join", None, 1),
    (5, local("2026-01-01 12:00"), "content_view", 2, None),
    (5, local("2026-01-02 08:00"), "content_view", 1, None),
    (6, local("2025-12-23 11:00"), "add_to_cart", None, None),  # activated in time
    (6, local("2025-12-29 08:00"), "app_open", None, None),  # u6 day 7
    (6, local("2025-12-30 08:00"), "content_view", 2, None),
    (6, local("2025-12-30 08:01"), "content_like", 2, None),
    (6, local("2025-12-30 08:02"), "content_share", 2, None),
    (6, local("2025-12-30 09:00"), "campaign_join", None, 1),
    (7, local("2025-12-23 10:05"), "app_open", None, None),
    (7, local("2025-12-31 09:00"), "add_to_cart", None, None),  # 7 days 23 hours: too late
    (7, local("2025-12-31 10:00"), "content_view", 3, None),
    (7, local("2025-12-31 10:01"), "content_comment", 3, None),
    (8, local("2025-12-30 10:00"), "app_open", None, None),  # u8 day 30
    (8, local("2025-12-30 10:05"), "content_view", 2, None),
    (1, utc("2026-01-04 15:35"), "app_open", None, None),  # Sunday 23:35 local
    (1, utc("2026-01-04 15:40"), "content_view", 1, None),  # this week's last view
    (1, utc("2026-01-04 16:20"), "content_view", 3, None),  # Monday 00:20: next week
    (2, utc("2026-01-04 16:35"), "app_open", None, None),  # Monday 00:35 local: next week
]
ORDERS = [
    # order, user, time, amount, status
    (1, 3, local("2025-12-29 10:00"), 100.0, "paid"),  # 10 min after u3's view of item 1
    (2, 5, local("2026-01-02 09:00"), 50.0, "paid"),  # last touch: item 1 (not item 2)
    (3, 5, utc("2026-01-04 15:30"), 30.0, "paid"),  # Sunday 23:30 local, no view within 24 h
    (4, 1, utc("2026-01-04 16:30"), 40.0, "paid"),  # next week; last touch Monday's view
    (5, 6, local("2025-12-30 12:00"), 70.0, "refunded"),  # not paid: never credited
    (6, 4, local("2025-12-28 23:00"), 20.0, "paid"),  # previous week
    (7, 8, local("2025-12-10 12:00"), 25.0, "paid"),  # u8's first order, 10 days in
    (8, 7, local("2026-01-01 11:00"), 10.0, "paid"),  # 25 hours after u7's view: not credited
]
SPEND = [
    (date(2025, 12, 29), "search", 60.0),
    (date(2025, 12, 30), "social", 30.0),
    (date(2026, 1, 5), "search", 100.0),  # next week
    (date(2025, 12, 28), "search", 40.0),  # previous week
]
CONTENT = [
    (1, local("2025-12-29 08:00"), "article", 100.0),
    (2, local("2025-12-31 08:00"), "video", 200.0),
    (3, local("2025-12-20 08:00"), "article", 50.0),
]
CAMPAIGN_START = local("2025-12-29 00:00")
CAMPAIGN_END = local("2026-01-11 00:00")  # 13 days; 7 of them elapsed at the period's end


def write_shop(folder, *, content=True, spend=True, campaigns=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(USERS, columns=["user_id", "signup_ts", "channel"]).to_parquet(
        folder / "users.parquet"
    )
    events = pd.DataFrame(EVENTS, columns=["user_id", "ts", "event", "content_id", "campaign_id"])
    events["content_id"] = events["content_id"].astype("float64")
    events["campaign_id"] = events["campaign_id"].astype("float64")
    events.to_parquet(folder / "events.parquet")
    pd.DataFrame(ORDERS, columns=["order_id", "user_id", "ts", "amount", "status"]).to_parquet(
        folder / "orders.parquet"
    )
    if spend:
        pd.DataFrame(SPEND, columns=["date", "channel", "cost"]).to_parquet(
            folder / "spend.parquet"
        )
    if content:
        pd.DataFrame(CONTENT, columns=["content_id", "published_ts", "type", "cost"]).to_parquet(
            folder / "content.parquet"
        )
    if campaigns:
        pd.DataFrame(
            {
                "campaign_id": [1],
                "name": ["New Year"],
                "start_ts": [CAMPAIGN_START],
                "end_ts": [CAMPAIGN_END],
                "spend": [100.0],
            }
        ).to_parquet(folder / "campaigns.parquet")
        pd.DataFrame(
            {
                "campaign_id": [1, 1, 1, 1, 1],
                "user_id": [3, 5, 6, 7, 1],
                "group": ["treatment", "treatment", "treatment", "holdout", "treatment"],
                "ts": [local("2025-12-29 08:00")] * 4 + [utc("2026-01-04 15:30")],
                "inviter_id": [None, None, None, None, 3.0],
            }
        ).to_parquet(folder / "campaign_members.parquet")


def report_of(folder) -> Report:
    config = load_config(data=str(folder), overrides={"timezone": TZ})
    source = open_source(config)
    return Report("kpi_dashboard", config, source, validate(source, ["users", "events", "orders"]))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shop")
    write_shop(folder)
    return folder


@pytest.fixture(scope="module")
def board(shop):
    # the newest event is 2026-01-04 16:35 UTC; the report "runs" half an hour later
    return kpi.dashboard(report_of(shop), trend_weeks=6, now=pd.Timestamp("2026-01-04 17:05"))


def value(board, name, k=0):
    s = board.series
    return s.loc[(s.kpi == name) & (s.k == k), "value"].iloc[0]


# --------------------------------------------------------------------------- periods
def test_default_period_is_the_last_week_the_data_reach(shop, board):
    # newest event: Monday 2026-01-05 00:35 local -> the week ending Sunday 2026-01-04
    assert kpi.default_period_end(report_of(shop).source) == date(2026, 1, 4)
    assert (board.period.start, board.period.end) == (date(2025, 12, 29), date(2026, 1, 4))
    assert (board.previous.start, board.previous.end) == (date(2025, 12, 22), date(2025, 12, 28))


@pytest.mark.parametrize(
    ("newest_utc", "expected"),
    [
        ("2026-01-04 15:30", date(2026, 1, 4)),  # Sunday 23:30 local: that week is complete
        ("2026-01-03 15:30", date(2025, 12, 28)),  # Saturday 23:30 local: the week before
        ("2025-12-28 16:10", date(2025, 12, 28)),  # Monday 00:10 local
    ],
)
def test_default_period_end_in_local_time(tmp_path, newest_utc, expected):
    pd.DataFrame({"user_id": [1], "ts": [utc(newest_utc)], "event": ["app_open"]}).to_parquet(
        tmp_path / "events.parquet"
    )
    source = open_source(load_config(data=str(tmp_path), overrides={"timezone": TZ}))
    assert kpi.default_period_end(source) == expected


def test_periods_count_back_from_the_end():
    periods = kpi.Periods(end=date(2026, 1, 4), days=7, count=3)
    assert [(p.start, p.end) for p in periods] == [
        (date(2025, 12, 29), date(2026, 1, 4)),
        (date(2025, 12, 22), date(2025, 12, 28)),
        (date(2025, 12, 15), date(2025, 12, 21)),
    ]
    with pytest.raises(ValueError, match="trend_weeks"):
        kpi.Periods(end=date(2026, 1, 4), count=1)


def test_new_users_by_local_week_boundaries(board):
    # this week: u1 (Sun 23:30), u3 (Mon 00:10), u5; previous: u4 (Sun 23:50), u6, u7
    assert value(board, "new_users") == 3
    assert value(board, "new_users", 1) == 3
    acq = board.acquisition.set_index("channel")
    assert acq.loc["search", "new_users"] == 1  # u1 only: u2 signed up on Monday local
    assert acq.loc["search", "previous_new_users"] == 1  # u4


# --------------------------------------------------------------------------- AARRR
def test_cac_is_spend_over_new_users_of_paid_channels(board):
    # this week: search 60 + social 30 over u1 (search) + u5 (social); 2026-01-05 is next week
    assert value(board, "cac") == pytest.approx(45.0)
    acq = board.acquisition.set_index("channel")
    assert acq.loc["search", "cac"] == pytest.approx(60.0)
    assert acq.loc["social", "cac"] == pytest.approx(30.0)
    assert math.isnan(acq.loc["organic", "cac"])
    # previous week: search 40 over u4; social had no spend, so u7 is not a bought user
    assert value(board, "cac", 1) == pytest.approx(40.0)


def test_blended_cac_without_user_channels(tmp_path):
    write_shop(tmp_path / "blended", content=False, campaigns=False)
    users = pd.read_parquet(tmp_path / "blended" / "users.parquet").drop(columns="channel")
    users.to_parquet(tmp_path / "blended" / "users.parquet")
    part, _ = kpi.acquisition(report_of(tmp_path / "blended").source, kpi.Periods(date(2026, 1, 4)))
    cac = {r["k"]: r["value"] for r in part.rows if r["kpi"] == "cac"}
    assert cac[0] == pytest.approx((60 + 30) / 3)  # every new user of the week: u1, u3, u5
    assert part.notes == {"cac": "kpi_dashboard.na.blended_cac"}


def test_activation_within_n_days_of_signup(board):
    # cohort whose 7-day window closes this week: u6, u7, u4 (signup Sun 23:50 -> Sun 23:50)
    # u6 added to cart in time; u7 after 7 days 23 hours; u4 at 6 days 23 h 40 min
    assert value(board, "activation_rate") == pytest.approx(2 / 3)


def test_activation_by_a_paid_order_and_an_unknown_event(shop):
    source = report_of(shop).source
    periods = kpi.Periods(date(2026, 1, 4), 7, 2)
    # 30-day window closing this week: u8 (signup 11-30), first paid order on 12-10
    rows, notes = kpi.activation_rows(source, periods, days=30, event="order")
    assert rows[0]["value"] == 1.0 and notes == {}
    rows, notes = kpi.activation_rows(source, periods, event="checkout")
    assert rows == [] and notes == {"activation_rate": "kpi_dashboard.na.no_activation_event"}


def test_day_n_retention_of_the_week(board):
    # D1: users whose day 1 is in the week: u4 (active 12-29), u3 (not on 12-30), u5 (12-31)
    assert value(board, "d1_retention") == pytest.approx(2 / 3)
    # D7: u6 (active 12-29), u7 (not on 12-30), u4 (active Sunday 23:30 local, day 7)
    assert value(board, "d7_retention") == pytest.approx(2 / 3)
    # D30: u8 (signup 11-30, active 12-30)
    assert value(board, "d30_retention") == pytest.approx(1.0)


def test_revenue_kpis(board):
    # paid orders this week: 100 (u3), 50 + 30 (u5; the 30 at Sunday 23:30 local), 10 (u7);
    # the refund (u6) and Monday's order (u1) are out
    assert value(board, "gmv") == pytest.approx(190.0)
    # active this week: u1, u3, u4, u5, u6, u7, u8 (u2 only on Monday local)
    assert value(board, "paying_rate") == pytest.approx(3 / 7)
    assert value(board, "arpu") == pytest.approx(190 / 7)
    assert value(board, "arppu") == pytest.approx(190 / 3)
    # previous week: u4's 20 at Sunday 23:00; active u4, u6, u7
    assert value(board, "gmv", 1) == pytest.approx(20.0)
    assert value(board, "arpu", 1) == pytest.approx(20 / 3)


def test_revenue_kpis_alone_equal_those_read_from_the_kept_active_days(shop, board):
    # the dashboard keeps the active days first and reads active users from them; alone,
    # revenue_rows reads the periods' events: the same numbers
    alone = kpi.revenue_rows(report_of(shop).source, board.periods)
    got = {(r["kpi"], r["k"]): r["value"] for r in alone}
    for (name, k), v in got.items():
        assert v == pytest.approx(value(board, name, k), nan_ok=True)
    assert got[("arpu", 0)] == pytest.approx(190 / 7)


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


# --------------------------------------------------------------------------- content
def test_content_kpis_with_last_touch_attribution(board):
    # views this week: u3 item 1, u5 item 2, u5 item 1, u6 item 2, u7 item 3, u8 item 2,
    # u1 item 1 (Sunday 23:40 local; u1's view of Monday 00:20 is next week's)
    assert value(board, "content_reach") == pytest.approx(7 / 3)
    # like + share (item 2) + comment (item 3)
    assert value(board, "content_interaction_rate") == pytest.approx(3 / 7)
    # credited: order 1 (item 1, 10 min) and order 2 (last touch item 1, not item 2);
    # order 3 has no view in the 24 h before, order 8 came 25 h after the view, order 5 was
    # refunded, and order 4 (Monday 00:30) goes to u1's later view of Monday 00:20, not to
    # the Sunday view inside the week
    assert value(board, "content_conversion") == pytest.approx(2 / 7)
    # 150 credited / cost of the items published this week (items 1 and 2: 300)
    assert value(board, "content_roi") == pytest.approx(150 / 300)
    assert value(board, "content_articles") == 1 and value(board, "content_videos") == 1
    types = board.content_types.set_index("type")
    assert types.loc["article", "revenue"] == pytest.approx(150.0)
    assert types.loc["article", "orders"] == 2 and types.loc["video", "orders"] == 0
    assert types.loc["video", "interaction_rate"] == pytest.approx(2 / 3)
    items = board.content_items
    top = items[items["rank"] == "top"]
    assert top["content_id"].tolist() == ["1", "2", "3"]  # 3, 3 (ties by id) and 1 views


def test_content_window_is_a_parameter(shop):
    # with 26 hours, order 8 (25 h after u7's view of item 3) is credited too
    wide = kpi.content_performance(
        report_of(shop).source, kpi.Periods(date(2026, 1, 4), 7, 2), window_hours=26
    )
    rows = {(r["kpi"], r["k"]): r for r in wide.rows}
    assert rows[("content_conversion", 0)]["value"] == pytest.approx(3 / 7)


def test_periods_without_data_give_missing_values_not_errors(shop):
    source = report_of(shop).source
    later = kpi.Periods(date(2026, 3, 1), 7, 2)  # weeks after the data
    content = kpi.content_performance(source, later)
    values = {(r["kpi"], r["k"]): r["value"] for r in content.rows}
    assert math.isnan(values[("content_conversion", 0)])
    assert values[("content_articles", 0)] == 0
    assert content.items.empty
    revenue = {(r["kpi"], r["k"]): r["value"] for r in kpi.revenue_rows(source, later)}
    assert revenue[("gmv", 0)] == 0 and math.isnan(revenue[("arpu", 0)])


def test_kpis_without_their_tables_are_na(tmp_path):
    write_shop(tmp_path / "bare", content=False, spend=False, campaigns=False)
    result = kpi.dashboard(report_of(tmp_path / "bare"), trend_weeks=2)
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
    health = kpi.data_health(report_of(tmp_path / "bad"))
    # users, events, orders, spend, content, 1 campaign, 5 members: all read by the dashboard
    total = sum(len(x) for x in (USERS, EVENTS, ORDERS, SPEND, CONTENT)) + 1 + 5
    assert (health.rows, health.passing, health.findings) == (total, total - 1, 1)
    assert health.accuracy == pytest.approx((total - 1) / total)
    assert set(health.tables) == set(kpi.READS)


# --------------------------------------------------------------------------- targets, status
def test_shipped_targets_cover_the_kpi_system():
    targets = kpi.load_targets()
    issue_names = {
        "new_users", "dau_mau", "d1_retention", "d7_retention", "d30_retention",
        "first_order_conversion", "repeat_purchase_rate", "arpu", "cac", "k_factor",
        "content_interaction_rate", "content_conversion", "campaign_conversion", "campaign_roi",
        "data_accuracy",
    }  # fmt: skip
    assert issue_names <= set(targets)
    expected = {
        "dau_mau": 0.3, "d1_retention": 0.55, "d7_retention": 0.40, "d30_retention": 0.25,
        "first_order_conversion": 0.08, "repeat_purchase_rate": 0.30, "content_reach": 10_000,
        "content_interaction_rate": 0.05, "content_conversion": 0.02, "content_roi": 5,
        "campaign_conversion": 0.10, "k_factor": 1.5, "campaign_roi": 3, "data_accuracy": 0.95,
        "data_freshness_hours": 1,
    }  # fmt: skip
    assert {n: targets[n].target for n in expected} == pytest.approx(expected)
    assert targets["cac"].direction == "lower" and targets["cac"].target is None
    assert targets["new_users"].kind == "growth_yoy" and targets["new_users"].target == 0.30
    # monthly volumes scale to the period: 100 articles a month is 70/3 a week
    assert targets["content_articles"].resolve(7) == pytest.approx(100 * 7 / 30)


def test_a_project_copy_overrides_field_by_field(tmp_path):
    path = tmp_path / "targets.yml"
    path.write_text(yaml.safe_dump({"kpis": {"arpu": {"target": 40}, "cac": 35}}))
    targets = kpi.load_targets("targets.yml", base_dir=tmp_path)
    assert targets["arpu"].target == 40 and targets["arpu"].unit == "money"
    assert targets["cac"].target == 35 and targets["cac"].direction == "lower"
    assert targets["d1_retention"].target == 0.55  # untouched


def test_unknown_kpi_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown KPI name.*d2_retention.*known KPIs: new_users"):
        kpi.load_targets({"d2_retention": {"target": 0.5}})
    with pytest.raises(ValueError, match="unknown field.*goal"):
        kpi.load_targets({"arpu": {"goal": 5}})
    with pytest.raises(ValueError, match="direction must be one of higher, lower"):
        kpi.load_targets({"arpu": {"direction": "up"}})
    with pytest.raises(FileNotFoundError):
        kpi.load_targets("no_such_file.yml")


@pytest.mark.parametrize(
    ("value", "target", "direction", "status"),
    [
        (0.55, 0.55, "higher", "green"),
        (0.50, 0.55, "higher", "amber"),  # short by 0.05 <= 10 % of 0.55
        (0.49, 0.55, "higher", "red"),
        (1.0, 1.0, "lower", "green"),
        (1.1, 1.0, "lower", "amber"),
        (1.2, 1.0, "lower", "red"),
        (None, 0.5, "higher", "n/a"),
        (0.5, None, "higher", "n/a"),
        (float("nan"), 0.5, "higher", "n/a"),
    ],
)
def test_status_rule(value, target, direction, status):
    assert kpi.kpi_status(value, target, direction, amber_band=0.10) == status


def test_growth_target_needs_the_year_earlier_period(tmp_path):
    # 10 signups in the week 52 weeks earlier (2024-12-30 .. 2025-01-05), 13 in this week
    before = [local("2024-12-30 00:30")] + [local("2025-01-02 12:00")] * 9
    now = [local("2026-01-01 12:00")] * 13
    users = pd.DataFrame({"user_id": range(23), "signup_ts": before + now})
    users.to_parquet(tmp_path / "users.parquet")
    source = open_source(load_config(data=str(tmp_path), overrides={"timezone": TZ}))
    _, year = kpi.acquisition(source, kpi.Periods(date(2026, 1, 4), 7, 2))
    # the data start on the year-earlier week's Monday: the week before has no baseline
    assert year[0] == 10 and math.isnan(year[1])
    target = kpi.load_targets()["new_users"].resolve(7, year[0])
    assert target == pytest.approx(13.0)
    assert kpi.kpi_status(13, target, "higher") == "green"


# --------------------------------------------------------------------------- week over week
def test_week_over_week_significance_on_a_constructed_case():
    from statsmodels.stats.proportion import proportions_ztest

    # 200 of 1,000 last week, 260 of 1,000 this week: beyond noise
    p, significant = kpi.week_over_week((260, 1000), (200, 1000))
    # reference: proportions_ztest([260, 200], [1000, 1000]) -> p = 0.00135...
    assert p == pytest.approx(proportions_ztest([260, 200], [1000, 1000])[1], rel=1e-9)
    assert significant is True
    # 200 -> 205 of 1,000: within noise
    p, significant = kpi.week_over_week((205, 1000), (200, 1000))
    assert p == pytest.approx(proportions_ztest([205, 200], [1000, 1000])[1], rel=1e-9)
    assert significant is False
    assert kpi.week_over_week((5, 0), (3, 10)) == (None, None)


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
    assert kpi.flag_trend(_trend(clean), units={"d7_retention": "rate"}).empty


def test_a_planted_drop_in_a_weekly_series_is_found():
    rng = np.random.default_rng(3)
    series = 0.40 + rng.normal(0, 0.004, 12)
    series[6] = 0.25
    found = kpi.flag_trend(_trend(list(series)), units={"d7_retention": "rate"})
    assert found[["k", "flag"]].values.tolist() == [[5, "drop"]]  # newest is k = 0


def test_sampling_noise_of_a_small_cohort_is_not_an_anomaly():
    # 0.40 -> 0.30 on a cohort of 40 users is 1.3 standard errors: no alarm
    series = [0.40, 0.41, 0.39, 0.40, 0.41, 0.30, 0.40, 0.39, 0.41, 0.40]
    assert kpi.flag_trend(_trend(series, den=40.0), units={"d7_retention": "rate"}).empty


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


# --------------------------------------------------------------------------- metrics
def test_metrics_keys(board):
    metrics = board.metrics()
    assert metrics["period_start"] == date(2025, 12, 29)
    assert metrics["period_end"] == date(2026, 1, 4)
    assert set(metrics["kpis"]) == set(kpi.KNOWN_KPIS)
    for entry in metrics["kpis"].values():
        assert {"value", "target", "direction", "status", "previous", "change"} <= set(entry)
        assert entry["status"] in ("green", "amber", "red", "n/a")
    d1 = metrics["kpis"]["d1_retention"]
    assert (d1["target"], d1["direction"], d1["status"]) == (0.55, "higher", "green")
    assert len(board.headline()) == 5
