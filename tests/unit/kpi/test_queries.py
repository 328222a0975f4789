"""The KPI dashboard's queries on the hand-made shop (:mod:`tests.unit.kpi.shop`): periods, new
users and CAC, activation, revenue and content, read from the dashboard or called alone."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.kpi import queries
from opsbook.targets import kpi_status, load_targets
from tests.unit.kpi.shop import TZ, local, report_of, utc, value, write_shop


# --------------------------------------------------------------------------- periods
def test_default_period_is_the_last_week_the_data_reach(shop, board):
    # newest event: Monday 2026-01-05 00:35 local -> the week ending Sunday 2026-01-04
    assert queries.default_period_end(report_of(shop).source) == date(2026, 1, 4)
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
    assert queries.default_period_end(source) == expected


def test_periods_count_back_from_the_end():
    periods = queries.Periods(end=date(2026, 1, 4), days=7, count=3)
    assert [(p.start, p.end) for p in periods] == [
        (date(2025, 12, 29), date(2026, 1, 4)),
        (date(2025, 12, 22), date(2025, 12, 28)),
        (date(2025, 12, 15), date(2025, 12, 21)),
    ]
    with pytest.raises(ValueError, match="trend_weeks"):
        queries.Periods(end=date(2026, 1, 4), count=1)


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
    part, _ = queries.acquisition(
        report_of(tmp_path / "blended").source, queries.Periods(date(2026, 1, 4))
    )
    cac = {r["k"]: r["value"] for r in part.rows if r["kpi"] == "cac"}
    assert cac[0] == pytest.approx((60 + 30) / 3)  # every new user of the week: u1, u3, u5
    assert part.notes == {"cac": "kpi_dashboard.na.blended_cac"}


def test_activation_within_n_days_of_signup(board):
    # cohort whose 7-day window closes this week: u6, u7, u4 (signup Sun 23:50 -> Sun 23:50)
    # u6 added to cart in time; u7 after 7 days 23 hours; u4 at 6 days 23 h 40 min
    assert value(board, "activation_rate") == pytest.approx(2 / 3)


def test_activation_by_a_paid_order_and_an_unknown_event(shop):
    source = report_of(shop).source
    periods = queries.Periods(date(2026, 1, 4), 7, 2)
    # 30-day window closing this week: u8 (signup 11-30), first paid order on 12-10
    rows, notes = queries.activation_rows(source, periods, days=30, event="order")
    assert rows[0]["value"] == 1.0 and notes == {}
    rows, notes = queries.activation_rows(source, periods, event="checkout")
    assert rows == [] and notes == {"activation_rate": "kpi_dashboard.na.no_activation_event"}


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
    alone = queries.revenue_rows(report_of(shop).source, board.periods)
    got = {(r["kpi"], r["k"]): r["value"] for r in alone}
    for (name, k), v in got.items():
        assert v == pytest.approx(value(board, name, k), nan_ok=True)
    assert got[("arpu", 0)] == pytest.approx(190 / 7)


def test_growth_target_needs_the_year_earlier_period(tmp_path):
    # 10 signups in the week 52 weeks earlier (2024-12-30 .. 2025-01-05), 13 in this week
    before = [local("2024-12-30 00:30")] + [local("2025-01-02 12:00")] * 9
    now = [local("2026-01-01 12:00")] * 13
    users = pd.DataFrame({"user_id": range(23), "signup_ts": before + now})
    users.to_parquet(tmp_path / "users.parquet")
    source = open_source(load_config(data=str(tmp_path), overrides={"timezone": TZ}))
    _, year = queries.acquisition(source, queries.Periods(date(2026, 1, 4), 7, 2))
    # the data start on the year-earlier week's Monday: the week before has no baseline
    assert year[0] == 10 and math.isnan(year[1])
    target = load_targets()["new_users"].resolve(7, year[0])
    assert target == pytest.approx(13.0)
    assert kpi_status(13, target, "higher") == "green"


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
    wide = queries.content_performance(
        report_of(shop).source, queries.Periods(date(2026, 1, 4), 7, 2), window_hours=26
    )
    rows = {(r["kpi"], r["k"]): r for r in wide.rows}
    assert rows[("content_conversion", 0)]["value"] == pytest.approx(3 / 7)


def test_periods_without_data_give_missing_values_not_errors(shop):
    source = report_of(shop).source
    later = queries.Periods(date(2026, 3, 1), 7, 2)  # weeks after the data
    content = queries.content_performance(source, later)
    values = {(r["kpi"], r["k"]): r["value"] for r in content.rows}
    assert math.isnan(values[("content_conversion", 0)])
    assert values[("content_articles", 0)] == 0
    assert content.items.empty
    revenue = {(r["kpi"], r["k"]): r["value"] for r in queries.revenue_rows(source, later)}
    assert revenue[("gmv", 0)] == 0 and math.isnan(revenue[("arpu", 0)])
