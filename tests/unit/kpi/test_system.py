"""The rest of the KPI system on the hand-made shop (tests/unit/kpi/shop.py) plus the optional
tables below, every answer counted by hand in the comments. The period is the local week
2025-12-29 .. 2026-01-04 (Asia/Shanghai); its end is 2026-01-04 16:00 UTC."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.kpi import analysis
from opsbook.report import Report
from opsbook.validation import ContractError, validate
from tests.unit.kpi.shop import ORDERS, TZ, USERS, local, report_of, utc, write_shop

NOW = pd.Timestamp("2026-01-04 17:05")
Z95 = 1.959963984540054

SURVEYS = [
    # user, time, score, channel
    (1, utc("2026-01-04 15:30"), 9, "app"),  # Sunday 23:30 local: promoter
    (2, utc("2026-01-04 16:30"), 0, "sms"),  # Monday 00:30 local: next week, not counted
    (3, local("2025-12-29 10:00"), 10, "app"),  # promoter
    (4, local("2025-12-29 10:00"), 9, "app"),  # replaced by u4's later answer
    (4, local("2026-01-02 10:00"), 3, "sms"),  # u4's latest: detractor, channel sms
    (5, local("2025-12-30 10:00"), 7, "sms"),  # passive
    (6, local("2025-12-31 10:00"), 10, "app"),  # promoter
    (7, local("2026-01-01 10:00"), 0, "sms"),  # detractor
    (8, local("2026-01-03 10:00"), 8, "app"),  # passive
    (6, local("2025-12-24 10:00"), 5, "app"),  # the previous week: one answer
]
# this week: 7 respondents, 3 promoters (u1, u3, u6), 2 detractors (u4, u7)
# app: u1, u3, u6 promoters, u8 passive -> 4, NPS 75; sms: u4, u7 detractors, u5 -> 3, NPS -66.7

MEMBERS = [
    # user, joined, left
    (3, local("2025-12-01 10:00"), None),  # a member all along
    (5, local("2025-12-26 10:00"), None),  # first 7 days close 01-02 (this week), stays
    (7, local("2025-12-23 10:00"), local("2025-12-30 09:00")),  # leaves 1 h before day 7
    (6, local("2025-12-29 09:00"), None),  # joins this week
    (8, local("2025-12-20 10:00"), utc("2026-01-04 15:00")),  # leaves Sunday 23:00 local
    (2, utc("2026-01-04 16:30"), None),  # joins Monday 00:30 local: next week
]
# members at the week's end: u3, u5, u6. Active this week: u1, u3, u4, u5, u6, u7, u8 -> 3 / 7.
# joins 1 (u6), exits 2 (u7, u8); new members whose day 7 falls in the week: u5, u7 -> 1 / 2.

EXTRA_ORDERS = [  # a second order for u4, a non-member, in the 30-day window
    (100, 4, local("2025-12-20 12:00"), 15.0, "paid"),
]
# buyers of the 30 days to the week's end: members u3 (1 order), u5 (2) -> 1 / 2;
# the others u4 (2), u7 (1), u8 (1) -> 1 / 3; ratio 0.5 / (1/3) = 1.5

OPERATIONS = [
    # date, operators, operating_cost, automated_pushes, manual_pushes
    *[(pd.Timestamp(f"2025-12-{d}").date(), 2.0, 10.0, 3.0, 1.0) for d in (29, 30, 31)],
    *[(pd.Timestamp(f"2026-01-0{d}").date(), 2.0, 10.0, 3.0, 1.0) for d in (1, 2, 3)],
    (pd.Timestamp("2026-01-04").date(), 3.0, 10.0, 3.0, 1.0),
    (pd.Timestamp("2026-01-05").date(), 50.0, 999.0, 0.0, 99.0),  # next week
]
# operators: mean 15 / 7; cost 70; pushes 21 automated of 28
REQUESTS = [
    (local("2025-12-29 10:00"), local("2025-12-29 12:00")),  # 2 h
    (local("2025-12-30 09:00"), local("2025-12-30 09:30")),  # 0.5 h
    (local("2025-12-31 09:00"), None),  # open: longer than any
    (local("2026-01-02 08:00"), local("2026-01-02 09:00")),  # 1 h
]
# median of 0.5, 1, 2, open = 1.5 h
GMV = 100.0 + 50.0 + 30.0 + 10.0  # the week's paid orders (shop.py)
ACTIVE = 7

# LTV at 30 days: u8 (signed up 2025-11-30) reaches it on 12-30 with 25.0 spent in its first 30
# days; a year (364 days) earlier u9 and u10 reach it, 10.0 spent in their first 30 days between
# them (u9's second order comes on day 50) -> 25 / (10 / 2) - 1 = 4.0. u11 only shows that the
# users table reaches back a year plus the age (to 2024-11-30 or before).
YEAR_USERS = [
    (9, local("2024-12-01 10:00"), "organic"),
    (10, local("2024-12-03 10:00"), "organic"),
    (11, local("2024-11-01 10:00"), "organic"),
]
YEAR_ORDERS = [
    (101, 9, local("2024-12-05 10:00"), 10.0, "paid"),
    (102, 9, local("2025-01-20 10:00"), 10.0, "paid"),  # day 50: past the age
]


def write_system_shop(folder, *, year: bool = False, tables: bool = True) -> None:
    write_shop(folder)
    orders = ORDERS + EXTRA_ORDERS + (YEAR_ORDERS if year else [])
    pd.DataFrame(orders, columns=["order_id", "user_id", "ts", "amount", "status"]).to_parquet(
        folder / "orders.parquet"
    )
    if year:
        users = pd.DataFrame(USERS + YEAR_USERS, columns=["user_id", "signup_ts", "channel"])
        users.to_parquet(folder / "users.parquet")
    if not tables:
        return
    pd.DataFrame(SURVEYS, columns=["user_id", "ts", "score", "channel"]).to_parquet(
        folder / "survey_responses.parquet"
    )
    members = pd.DataFrame(MEMBERS, columns=["user_id", "joined_ts", "left_ts"])
    members["left_ts"] = pd.to_datetime(members["left_ts"], utc=True)
    members.to_parquet(folder / "community_members.parquet")
    pd.DataFrame(
        OPERATIONS,
        columns=["date", "operators", "operating_cost", "automated_pushes", "manual_pushes"],
    ).to_parquet(folder / "operations.parquet")
    requests = pd.DataFrame(REQUESTS, columns=["requested_ts", "answered_ts"])
    requests["answered_ts"] = pd.to_datetime(requests["answered_ts"], utc=True)
    requests.to_parquet(folder / "data_requests.parquet")


@pytest.fixture(scope="module")
def system_board(tmp_path_factory):
    folder = tmp_path_factory.mktemp("system")
    write_system_shop(folder, year=True)
    return analysis.dashboard(
        report_of(folder), trend_weeks=6, nps_min_respondents=3, ltv_age_days=30, now=NOW
    )


@pytest.fixture(scope="module")
def bare_board(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bare")
    write_system_shop(folder, tables=False)
    return analysis.dashboard(report_of(folder), trend_weeks=6, ltv_age_days=30, now=NOW)


def test_nps_is_the_hand_count_with_the_multinomial_interval(system_board):
    row = system_board.kpi("nps")
    p, d, n = 3 / 7, 2 / 7, 7
    assert row["value"] == pytest.approx(100 * (p - d))
    half = 100 * Z95 * math.sqrt((p + d - (p - d) ** 2) / n)
    assert row["low"] == pytest.approx(100 * (p - d) - half)
    assert row["high"] == pytest.approx(100 * (p - d) + half)
    assert row["target"] == 70 and row["status"] == "red"
    # the previous week has one respondent, under the minimum of 3: no score
    assert math.isnan(system_board.scorecard.set_index("kpi").loc["nps", "previous"])
    nps = system_board.metrics()["kpi_system"]["nps"]
    assert (nps["respondents"], nps["promoters"], nps["detractors"]) == (7, 3, 2)


def test_nps_by_channel_counts_each_user_by_the_latest_answer(system_board):
    channels = system_board.system.nps_channels.set_index("channel")
    assert channels.loc["app", "respondents"] == 4
    assert channels.loc["app", "nps"] == pytest.approx(75.0)
    assert channels.loc["sms", "respondents"] == 3
    assert channels.loc["sms", "nps"] == pytest.approx(-200 / 3)


def test_nps_is_not_shown_under_the_minimum(tmp_path):
    write_system_shop(tmp_path)
    board = analysis.dashboard(report_of(tmp_path), trend_weeks=6, now=NOW)  # minimum 30
    assert board.kpi("nps")["value"] is None
    assert board.notes["nps"] == "kpi_dashboard.na.few_respondents"
    assert board.metrics()["kpis"]["nps"]["value"] is None


def test_private_domain_share_repurchase_and_exits_by_hand(system_board):
    assert system_board.kpi("private_domain_share")["value"] == pytest.approx(3 / ACTIVE)
    assert system_board.kpi("private_domain_repurchase_rate")["value"] == pytest.approx(0.5)
    assert system_board.kpi("public_repurchase_rate")["value"] == pytest.approx(1 / 3)
    ratio = system_board.kpi("private_domain_repurchase_ratio")
    assert ratio["value"] == pytest.approx(1.5)
    assert ratio["target"] == 3 and ratio["status"] == "red"
    assert system_board.kpi("community_joins")["value"] == 1
    assert system_board.kpi("community_exits")["value"] == 2
    assert system_board.kpi("community_exit_rate_7d")["value"] == pytest.approx(0.5)


def test_efficiency_from_the_operations_and_data_requests_tables(system_board):
    assert system_board.kpi("automation_share")["value"] == pytest.approx(21 / 28)
    assert system_board.kpi("users_per_operator")["value"] == pytest.approx(ACTIVE / (15 / 7))
    assert system_board.kpi("operating_cost_share")["value"] == pytest.approx(70 / GMV)
    assert system_board.kpi("data_response_hours")["value"] == pytest.approx(1.5)
    assert system_board.kpi("data_response_hours")["status"] == "red"  # target <= 1 hour
    assert set(system_board.system.origins.values()) == {"table"}
    assert system_board.scorecard.set_index("kpi").loc["automation_share", "area"] == "efficiency"


def test_ltv_growth_year_over_year_by_hand(system_board):
    row = system_board.kpi("ltv_growth")
    assert row["value"] == pytest.approx(25.0 / 5.0 - 1)
    assert row["status"] == "green"  # target +50 %
    ltv = system_board.metrics()["kpi_system"]["ltv"]
    assert (ltv["age_days"], ltv["ltv"], ltv["ltv_year_earlier"]) == (30, 25.0, 5.0)


def test_every_kpi_is_na_with_its_reason_when_its_input_is_absent(bare_board):
    notes = bare_board.notes
    assert notes["nps"] == "kpi_dashboard.na.no_surveys"
    for name in ("private_domain_share", "private_domain_repurchase_ratio"):
        assert notes[name] == "kpi_dashboard.na.no_community"
    for name in ("automation_share", "users_per_operator", "operating_cost_share"):
        assert notes[name] == "kpi_dashboard.na.no_operations"
    # the shop's users start 2025-11-30: not a year plus 30 days before the week
    assert notes["ltv_growth"] == "kpi_dashboard.na.no_ltv_year"
    for name in ("nps", "ltv_growth", "automation_share"):
        assert bare_board.kpi(name)["value"] is None
        assert bare_board.kpi(name)["status"] == "n/a"


def test_efficiency_from_the_config_when_no_table_gives_it(tmp_path):
    write_system_shop(tmp_path, tables=False)
    stated = {
        "operators": 7,
        "operating_cost_per_month": 300,
        "automation_share": 0.6,
        "data_response_hours": 2,
    }
    board = analysis.dashboard(report_of(tmp_path), trend_weeks=6, efficiency=stated, now=NOW)
    assert board.kpi("users_per_operator")["value"] == pytest.approx(ACTIVE / 7)
    assert board.kpi("operating_cost_share")["value"] == pytest.approx(300 * 7 / 30 / GMV)
    assert board.kpi("automation_share")["value"] == pytest.approx(0.6)
    assert board.kpi("data_response_hours")["value"] == pytest.approx(2.0)
    assert board.notes["automation_share"] == "kpi_dashboard.na.from_config"
    assert set(board.metrics()["kpi_system"]["efficiency_origin"].values()) == {"config"}


@pytest.mark.parametrize(
    "stated, fragment",
    [
        ({"operator": 3}, "unknown field"),
        ({"operators": -1}, "positive number"),
        ({"automation_share": 1.5}, "share 0..1"),
    ],
)
def test_bad_efficiency_settings_are_refused(tmp_path, stated, fragment):
    write_system_shop(tmp_path, tables=False)
    with pytest.raises(ValueError, match=fragment):
        analysis.dashboard(report_of(tmp_path), efficiency=stated, now=NOW)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_score_out_of_range_stops_the_dashboard(tmp_path, lang):
    write_system_shop(tmp_path)
    answers = pd.DataFrame(SURVEYS, columns=["user_id", "ts", "score", "channel"])
    answers.loc[0, "score"] = 11
    answers.to_parquet(tmp_path / "survey_responses.parquet")
    config = load_config(data=str(tmp_path), lang=lang, overrides={"timezone": TZ})
    source = open_source(config)
    report = Report("kpi_dashboard", config, source, validate(source, ["users"]))
    with pytest.raises(ContractError) as refused:
        analysis.dashboard(report, now=NOW)
    text = str(refused.value)
    assert "11" in text and ("value_in_range" in text if lang == "en" else "评分" in text)
