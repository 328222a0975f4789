"""Cohort retention's results: every definition on hand-made event logs with a known matrix, the
engine against an independent plain-pandas implementation on the sample shop, and the sample's
planted retention recovered."""

import json
import math

import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.retention import analysis, queries
from opsbook.stats import wilson_interval
from tests.unit.retention.sources import cells, events_of, source_of, users_of


def test_on_counts_users_active_in_exactly_period_n(three_users):
    result = analysis.retention_matrix(three_users, period="day", as_of="2026-01-05")
    assert cells(result) == {
        ("2026-01-01", 0): 3,
        ("2026-01-01", 1): 1,
        ("2026-01-01", 2): 1,
        ("2026-01-01", 3): 1,
    }
    assert result.periods == (0, 1, 2, 3)
    assert result.cohorts["users"].tolist() == [3]


def test_on_or_after_comes_from_the_last_active_period_not_from_summing_cells(three_users):
    result = analysis.retention_matrix(
        three_users, period="day", criterion="on_or_after", as_of="2026-01-05"
    )
    # last active days: A 3, B 2, C 0 -> D1: A, B; D2: A, B; D3: A
    assert cells(result) == {
        ("2026-01-01", 0): 3,
        ("2026-01-01", 1): 2,
        ("2026-01-01", 2): 2,
        ("2026-01-01", 3): 1,
    }
    on = analysis.retention_matrix(three_users, period="day", as_of="2026-01-05")
    summed = sum(v for (c, p), v in cells(on).items() if p >= 1)
    assert summed == 3 != cells(result)[("2026-01-01", 1)]  # summing "on" cells double counts A


@pytest.fixture
def starters(tmp_path):
    # A starts on days 0 and 2, B on day 2; returns are "open" events
    users = users_of((1, "2026-02-01 08:00"), (2, "2026-02-01 09:00"))
    events = events_of(
        (1, "2026-02-01 08:00", "start"),
        (1, "2026-02-02 08:00", "open"),
        (1, "2026-02-03 08:00", "start"),
        (1, "2026-02-04 08:00", "open"),
        (2, "2026-02-03 09:00", "start"),
        (2, "2026-02-04 09:00", "open"),
    )
    return source_of(tmp_path / "starters", users, events)


def test_first_time_entry_puts_each_user_in_one_cohort(starters):
    result = analysis.retention_matrix(
        starters, period="day", cohort_event="start", return_event="open", as_of="2026-02-10"
    )
    assert result.cohorts.set_index("cohort")["users"].to_dict() == {
        "2026-02-01": 1,
        "2026-02-03": 1,
    }
    got = cells(result)
    assert got[("2026-02-01", 1)] == 1 and got[("2026-02-01", 2)] == 0
    assert got[("2026-02-01", 3)] == 1
    assert got[("2026-02-03", 1)] == 1


def test_recurring_entry_enters_users_in_every_period_with_the_start_event(starters):
    result = analysis.retention_matrix(
        starters,
        period="day",
        cohort_event="start",
        entry="recurring",
        return_event="open",
        as_of="2026-02-10",
    )
    assert result.cohorts.set_index("cohort")["users"].to_dict() == {
        "2026-02-01": 1,
        "2026-02-03": 2,  # A again, and B
    }
    got = cells(result)
    assert got[("2026-02-03", 1)] == 2
    assert got[("2026-02-03", 0)] == 2
    assert got[("2026-02-01", 3)] == 1  # A's first entry still sees day 3


def test_unknown_event_names_and_bad_parameters_raise(starters):
    with pytest.raises(ValueError, match="no event 'opne'"):
        analysis.retention_matrix(starters, return_event="opne")
    with pytest.raises(ValueError, match="period must be one of"):
        analysis.retention_matrix(starters, period="quarter")
    with pytest.raises(ValueError, match="criterion"):
        analysis.retention_matrix(starters, criterion="after")
    with pytest.raises(ValueError, match="not a users column"):
        analysis.retention_matrix(starters, breakdown="nope")


MIDNIGHT_USERS = users_of(
    (1, "2026-03-01 15:30"),  # 23:30 in Shanghai
    (2, "2026-03-01 01:00"),  # 09:00 in Shanghai
    (3, "2026-03-01 10:00"),  # 18:00 in Shanghai
)
MIDNIGHT_EVENTS = events_of(
    (1, "2026-03-01 15:30"),
    (1, "2026-03-01 16:30"),  # 1 h later: 00:30 on 03-02 in Shanghai, still 03-01 in UTC
    (2, "2026-03-01 01:00"),
    (2, "2026-03-02 02:00"),  # 25 h later: the next day everywhere, and past 24 h
    (3, "2026-03-01 10:00"),
    (3, "2026-03-02 09:00"),  # 23 h later: the next calendar day, inside the first 24 h
)


@pytest.mark.parametrize(
    ("timezone", "window", "d1"),
    [
        ("Asia/Shanghai", "calendar", 3),
        ("UTC", "calendar", 2),  # user 1's return is on the signup day in UTC
        ("Asia/Shanghai", "rolling", 1),  # only user 2 came back after 24 h
        ("UTC", "rolling", 1),  # rolling windows do not depend on the zone
    ],
)
def test_calendar_vs_rolling_across_midnight(tmp_path, timezone, window, d1):
    source = source_of(tmp_path / "m", MIDNIGHT_USERS, MIDNIGHT_EVENTS, timezone=timezone)
    result = analysis.retention_matrix(source, period="day", window=window, as_of="2026-03-10")
    got = cells(result)
    assert sum(v for (c, p), v in got.items() if p == 1) == d1
    # 23:30 in Shanghai is still March 1st: one cohort in both zones
    assert result.cohorts.set_index("cohort")["users"].to_dict() == {"2026-03-01": 3}


@pytest.mark.parametrize(("timezone", "retained"), [("Asia/Shanghai", 3), ("UTC", 2)])
def test_day_n_retention_uses_local_calendar_days(tmp_path, timezone, retained):
    source = source_of(tmp_path / "m", MIDNIGHT_USERS, MIDNIGHT_EVENTS, timezone=timezone)
    frame = analysis.day_n_retention(source, days=(1,), as_of="2026-03-10")
    assert frame[["day", "eligible", "retained"]].values.tolist() == [[1, 3, retained]]
    low, high = wilson_interval(retained, 3)
    assert frame["low"].iloc[0] == pytest.approx(low) and frame["high"].iloc[0] == pytest.approx(
        high
    )


def test_incomplete_periods_are_masked_never_zero(three_users):
    # as of noon on Jan 2nd, day 1 of the Jan 1st cohort has not fully elapsed
    early = analysis.retention_matrix(three_users, period="day", as_of="2026-01-02 12:00")
    row = early.cells.set_index("period")
    assert row.loc[0, "complete"] and row.loc[0, "rate"] == 1.0
    assert 1 not in row.index or (not row.loc[1, "complete"] and math.isnan(row.loc[1, "rate"]))
    assert early.matrix_records() == [
        {"cohort": "2026-01-01", "period": 0, "users": 3, "retained": 3, "rate": 1.0}
    ]
    # a week still in progress: week 0 of the current week's cohort is masked too
    weekly = analysis.retention_matrix(three_users, period="week", as_of="2026-01-03")
    assert weekly.cells["complete"].tolist() == [False]
    assert weekly.cells["rate"].isna().all() and weekly.matrix_records() == []
    # D1 of users whose day 1 has not fully elapsed is not computed
    day_n = analysis.day_n_retention(three_users, days=(1, 2), as_of="2026-01-03 00:00")
    assert day_n.set_index("day")["eligible"].to_dict() == {1: 3, 2: 0}
    assert math.isnan(day_n.set_index("day").loc[2, "rate"])


@pytest.fixture
def bracketed(tmp_path):
    users = users_of((1, "2026-04-01 08:00"), (2, "2026-04-01 08:00"), (3, "2026-04-01 08:00"))
    events = events_of(
        (1, "2026-04-02 08:00"),  # day 1
        (1, "2026-04-06 08:00"),  # day 5
        (2, "2026-04-11 08:00"),  # day 10
        (3, "2026-05-11 08:00"),  # day 40
    )
    return source_of(tmp_path / "b", users, events)


def test_brackets_on_and_on_or_after(bracketed):
    brackets = [1, [2, 7], "8-30"]
    on = analysis.retention_matrix(bracketed, period="day", brackets=brackets, as_of="2026-06-01")
    assert on.periods == ("D1", "D2–7", "D8–30")
    assert cells(on) == {
        ("2026-04-01", "D1"): 1,
        ("2026-04-01", "D2–7"): 1,
        ("2026-04-01", "D8–30"): 1,
    }
    after = analysis.retention_matrix(
        bracketed, period="day", brackets=brackets, criterion="on_or_after", as_of="2026-06-01"
    )
    assert cells(after) == {
        ("2026-04-01", "D1"): 3,
        ("2026-04-01", "D2–7"): 3,
        ("2026-04-01", "D8–30"): 2,
    }
    # a bracket is complete once its last period has elapsed
    early = analysis.retention_matrix(
        bracketed, period="day", brackets=brackets, as_of="2026-04-20"
    )
    assert early.cells.set_index("period")["complete"].to_dict() == {
        "D1": True,
        "D2–7": True,
        "D8–30": False,
    }
    with pytest.raises(ValueError, match="overlaps"):
        queries.parse_brackets([[1, 7], [5, 9]])


def test_weighted_and_simple_means_with_their_counts(tmp_path):
    users = users_of(
        (1, "2026-01-05 08:00", "a"),
        (2, "2026-01-06 08:00", "b"),
        (3, "2026-01-06 09:00", "b"),
        (4, "2026-01-06 10:00", "b"),
    )
    events = events_of((1, "2026-01-06 08:00"), (2, "2026-01-07 08:00"))
    source = source_of(tmp_path / "w", users, events)
    result = analysis.retention_matrix(source, period="day", as_of="2026-01-10")
    d1 = result.mean.set_index("period").loc[1]
    assert (d1["cohorts"], d1["users"], d1["retained"]) == (2, 4, 2)
    assert d1["weighted"] == pytest.approx(2 / 4)
    assert d1["simple"] == pytest.approx((1 + 1 / 3) / 2)
    by = analysis.retention_matrix(source, period="day", as_of="2026-01-10", breakdown="channel")
    assert by.groups == ["a", "b"]
    assert by.mean.set_index(["group", "period"]).loc[("b", 1), "weighted"] == pytest.approx(1 / 3)
    only = analysis.retention_matrix(
        source, period="day", as_of="2026-01-10", users=pd.Series([2, 3]).tolist()
    )
    assert only.users == 2 and cells(only)[("2026-01-06", 1)] == 1
    ibis_users = source.table("users").filter(lambda t: t.channel == "a").select("user_id")
    assert (
        analysis.retention_matrix(source, period="day", users=ibis_users, as_of="2026-01-10").users
        == 1
    )


@pytest.fixture
def buyers(tmp_path):
    users = users_of((1, "2026-01-01 08:00"), (2, "2026-01-01 09:00"), (3, "2026-01-20 09:00"))
    orders = [
        {"order_id": 1, "user_id": 1, "ts": "2026-01-03 08:00", "amount": 10.0, "status": "paid"},
        {"order_id": 2, "user_id": 1, "ts": "2026-02-10 08:00", "amount": 20.0, "status": None},
        {
            "order_id": 3,
            "user_id": 2,
            "ts": "2026-01-05 08:00",
            "amount": 30.0,
            "status": "refunded",
        },
        {
            "order_id": 4,
            "user_id": 2,
            "ts": "2026-02-05 08:00",
            "amount": 5.0,
            "status": "cancelled",
        },
        {"order_id": 5, "user_id": 3, "ts": "2026-03-01 08:00", "amount": 7.0, "status": "paid"},
        {"order_id": 6, "user_id": 2, "ts": "2026-03-02 08:00", "amount": 8.0, "status": "paid"},
    ]
    events = events_of((1, "2026-01-01 08:00"), (2, "2026-01-01 09:00"), (3, "2026-01-20 09:00"))
    return source_of(tmp_path / "o", users, events, orders)


def test_paid_orders_as_the_return_and_the_cohort_event(buyers):
    monthly = analysis.retention_matrix(
        buyers, period="month", return_event="order", as_of="2026-04-01"
    )
    # Jan cohort (3 users): Feb: user 1 (null status = paid); user 2's orders were not paid
    # until March; Mar: users 2 and 3
    assert cells(monthly) == {
        ("2026-01", 0): 3,
        ("2026-01", 1): 1,
        ("2026-01", 2): 2,
    }
    first_buy = analysis.retention_matrix(
        buyers, period="month", cohort_event="order", return_event="order", as_of="2026-04-01"
    )
    assert first_buy.cohorts.set_index("cohort")["users"].to_dict() == {"2026-01": 1, "2026-03": 2}
    assert cells(first_buy)[("2026-01", 1)] == 1


def test_first_order_conversion_and_repeat_purchase(buyers):
    conv = analysis.first_order_conversion(buyers, within_days=30, as_of="2026-03-31")
    # user 1 paid on day 2; user 2's January order was refunded; user 3 bought after 40 days
    assert (conv.successes, conv.n) == (1, 3)
    assert conv.value == pytest.approx(1 / 3)
    assert (conv.low, conv.high) == pytest.approx(wilson_interval(1, 3))
    # only users whose 30 days have elapsed: user 3 (signup Jan 20th) is not yet eligible
    early = analysis.first_order_conversion(buyers, within_days=30, as_of="2026-02-10")
    assert (early.successes, early.n) == (1, 2)
    repeat = analysis.repeat_purchase_rate(buyers, start="2026-01-01", end="2026-03-31")
    # buyers (paid): user 1 (2 orders), user 2 (1 paid), user 3 (1) -> 1 / 3
    assert (repeat.successes, repeat.n) == (1, 3)
    assert repeat.definition == {"start": "2026-01-01", "end": "2026-03-31", "min_orders": 2}
    narrow = analysis.repeat_purchase_rate(buyers, start="2026-02-01", end="2026-02-28")
    assert (narrow.successes, narrow.n) == (0, 1)
    with pytest.raises(ValueError, match="window"):
        analysis.repeat_purchase_rate(buyers, start=None, end="2026-02-28")


def test_ltv_curves_accumulate_paid_revenue_per_user(buyers):
    ltv = analysis.ltv_curves(buyers, period="month", as_of="2026-04-01")
    jan = ltv.cells[ltv.cells["cohort"] == "2026-01"].set_index("age")
    # January cohort of 3: age 0 paid 10 (refund excluded), age 1 paid 20, age 2 paid 7 + 8
    assert jan["cumulative"].tolist() == [10.0, 30.0, 45.0]
    assert jan["ltv"].tolist() == pytest.approx([10 / 3, 30 / 3, 45 / 3])
    assert ltv.ltv_at(2) == pytest.approx(15.0)


def test_cac_payback_per_channel(tmp_path):
    users = users_of(
        (1, "2026-01-01 08:00", "search"),
        (2, "2026-01-02 08:00", "search"),
        (3, "2026-01-02 09:00", "organic"),
    )
    orders = [
        {"order_id": 1, "user_id": 1, "ts": "2026-01-05 08:00", "amount": 10.0, "status": "paid"},
        {"order_id": 2, "user_id": 2, "ts": "2026-02-05 08:00", "amount": 40.0, "status": "paid"},
        {"order_id": 3, "user_id": 3, "ts": "2026-01-05 08:00", "amount": 99.0, "status": "paid"},
    ]
    spend = [
        {"date": pd.Timestamp("2026-01-01").date(), "channel": "search", "cost": 30.0},
        {"date": pd.Timestamp("2026-01-02").date(), "channel": "search", "cost": 10.0},
    ]
    source = source_of(tmp_path / "cac", users, None, orders, spend=spend)
    ltv = analysis.ltv_curves(source, period="month", breakdown="channel", as_of="2026-04-01")
    # search: 2 users; month 0 revenue 10 -> 5 per user, month 1 revenue 40 -> 25 cumulative
    assert ltv.curve[ltv.curve["group"] == "search"]["ltv"].tolist()[:2] == [5.0, 25.0]
    payback = analysis.cac_payback(source, ltv).set_index("channel")
    assert payback.loc["search", ["spend", "new_users", "cac"]].tolist() == [40.0, 2, 20.0]
    assert payback.loc["search", "payback_age"] == 1  # 25 >= 20 in month 1, 5 < 20 before
    assert list(payback.index) == ["search"]  # only channels with spend


def test_lifecycle_accounting_on_a_known_log(tmp_path):
    users = users_of((1, "2026-01-05 08:00"), (2, "2026-01-05 09:00"), (3, "2026-01-12 09:00"))
    events = events_of(
        (1, "2026-01-13 08:00"),  # week 2: retained
        (2, "2026-01-20 08:00"),  # week 3: resurrected (inactive in week 2)
        (3, "2026-01-13 08:00"),
    )
    source = source_of(tmp_path / "lc", users, events)
    life = analysis.lifecycle(source, "week", as_of="2026-01-26")
    frame = life.frame.set_index(life.frame["period_start"].dt.strftime("%Y-%m-%d"))
    assert frame.loc["2026-01-05", ["new", "retained", "resurrected", "dormant"]].tolist() == [
        2,
        0,
        0,
        0,
    ]
    assert frame.loc["2026-01-12", ["new", "retained", "resurrected", "dormant"]].tolist() == [
        1,
        1,
        0,
        1,
    ]
    assert frame.loc["2026-01-19", ["new", "retained", "resurrected", "dormant"]].tolist() == [
        0,
        0,
        1,
        2,
    ]


def test_stickiness_trailing_windows_on_a_known_log(tmp_path):
    users = users_of((1, "2026-01-01 08:00"), (2, "2026-01-01 09:00"))
    events = events_of(
        (1, "2026-01-01 08:00"),
        (2, "2026-01-01 09:00"),
        (1, "2026-01-08 08:00"),
        (1, "2026-02-05 08:00"),  # 35 days after Jan 1st
    )
    source = source_of(tmp_path / "st", users, events)
    stick = analysis.stickiness(source, as_of="2026-02-06")
    daily = stick.daily.set_index(stick.daily["date"].dt.strftime("%Y-%m-%d"))
    assert daily.loc["2026-01-07", ["dau", "wau", "mau"]].tolist() == [0, 2, 2]
    assert daily.loc["2026-01-08", ["dau", "wau", "mau"]].tolist() == [1, 1, 2]
    assert daily.loc["2026-01-30", ["wau", "mau"]].tolist() == [0, 2]
    assert daily.loc["2026-01-31", ["wau", "mau"]].tolist() == [0, 1]  # Jan 1st left the window
    assert daily.loc["2026-02-05", ["dau", "mau"]].tolist() == [1, 1]
    # 30 days of DAU (Jan 7 .. Feb 5: one on Jan 8, one on Feb 5) over 1 MAU
    assert stick.dau_mau == pytest.approx((2 / 30) / 1)
    assert math.isnan(daily.loc["2026-01-29", "dau_mau"])  # fewer than 30 days behind it
    hist = stick.histogram.set_index("active_days")["users"]
    assert hist[1] == 1 and hist.sum() == 1  # only user 1 in the last 28 days, once


def test_churn_survival_on_a_known_log(tmp_path):
    # as of day 70 (complete through Mar 11th), churn = 30 days without activity
    users = users_of(
        (1, "2026-01-01 08:00", "a"),  # last active Jan 11 -> churned, lifetime 10
        (2, "2026-01-01 08:00", "a"),  # active Mar 10 -> censored at 70 - 30 - 0 = 39
        (3, "2026-01-01 08:00", "b"),  # never back -> churned, lifetime 0
        (4, "2026-03-01 08:00", "b"),  # signed up 10 days ago: not yet at risk
    )
    events = events_of((1, "2026-01-11 08:00"), (2, "2026-03-10 08:00"), (4, "2026-03-02 08:00"))
    source = source_of(tmp_path / "km", users, events)
    surv = analysis.churn_survival(source, churn_days=30, as_of="2026-03-12", breakdown="channel")
    counts = surv.counts.sort_values("group")[["group", "duration", "event", "users"]]
    assert counts.values.tolist() == [["a", 10, 1, 1], ["a", 39, 0, 1], ["b", 0, 1, 1]]
    summary = surv.summary.set_index("group")
    assert summary.loc["all", ["users", "churned", "censored"]].tolist() == [3, 2, 1]
    assert summary.loc["a", "median_lifetime"] == 10
    assert surv.logrank is not None and surv.logrank.df == 1


def pandas_weekly_matrix(sample_dir, as_of_local):
    """The weekly calendar matrix (signup cohorts, any event) in plain pandas."""
    users = pd.read_parquet(sample_dir / "users.parquet", columns=["user_id", "signup_ts"])
    events = pd.read_parquet(sample_dir / "events.parquet", columns=["user_id", "ts"])
    as_of_utc = pd.Timestamp(as_of_local, tz="Asia/Shanghai").tz_convert("UTC")
    events = events[events["ts"] <= as_of_utc]
    users = users[users["signup_ts"] <= as_of_utc]  # not yet signed up at as_of

    def week_start(ts):
        local = ts.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.normalize()
        return local - pd.to_timedelta(local.dt.weekday, unit="D")

    users["cohort"] = week_start(users["signup_ts"])
    events["week"] = week_start(events["ts"])
    joined = events[["user_id", "week"]].drop_duplicates().merge(users, on="user_id")
    joined["n"] = (joined["week"] - joined["cohort"]).dt.days // 7
    joined = joined[joined["n"] >= 0]
    sizes = users.groupby("cohort").size()
    on = joined[joined["n"] >= 1].groupby(["cohort", "n"]).size()
    last = joined.groupby(["user_id", "cohort"])["n"].max().reset_index()
    current = pd.Timestamp(as_of_local).normalize()
    current -= pd.Timedelta(days=current.weekday())
    return sizes, on, last, current


def test_weekly_matrix_agrees_with_plain_pandas_on_the_sample(sample_dir):
    source = open_source(load_config(data=str(sample_dir), lang="en"))
    as_of = "2026-10-29 15:00"
    sizes, on, last, current = pandas_weekly_matrix(sample_dir, as_of)
    for criterion in ("on", "on_or_after"):
        result = analysis.retention_matrix(source, period="week", criterion=criterion, as_of=as_of)
        assert result.cohorts.set_index("cohort")["users"].to_dict() == {
            f"{c:%Y-%m-%d}": n for c, n in sizes.items()
        }
        checked = 0
        for row in result.cells.itertuples():
            cohort = pd.Timestamp(row.cohort)
            complete = cohort + pd.Timedelta(weeks=row.period + 1) <= current
            assert row.complete == complete, (row.cohort, row.period)
            if not complete or row.period == 0:
                continue
            if criterion == "on":
                expected = on.get((cohort, row.period), 0)
            else:
                mine = last[last["cohort"] == cohort]
                expected = int((mine["n"] >= row.period).sum())
            assert row.retained == expected, (criterion, row.cohort, row.period)
            checked += 1
        assert checked > 150


def test_planted_retention_is_recovered(sample_dir):
    truth = json.loads((sample_dir / "truth.json").read_text())
    source = open_source(load_config(data=str(sample_dir), lang="en"))
    # the generator's eligibility is "day signup + k inside the period": as of the midnight
    # after its last day
    end = pd.Timestamp(truth["params"]["end"]) + pd.Timedelta(days=1)
    by = analysis.day_n_retention(source, (1, 7, 30), as_of=end, breakdown="channel")
    overall = analysis.day_n_retention(source, (1, 7, 30), as_of=end).assign(group="all")
    frame = pd.concat([by, overall], ignore_index=True)
    for row in frame.itertuples():
        observed = truth["retention_observed"][row.group]
        # exactly the generator's own count of users and returns
        assert row.eligible == observed[f"n_d{row.day}"]
        assert row.rate == pytest.approx(observed[f"d{row.day}"], abs=1e-6)
        # and the planted (expected) retention inside the interval: 99.9 % per channel (15
        # checks), 95 % overall
        alpha = 0.05 if row.group == "all" else 0.001
        low, high = wilson_interval(row.retained, row.eligible, alpha)
        planted = truth["retention"][row.group][f"d{row.day}"]
        assert low <= planted <= high, (row.group, row.day, low, planted, high)


def test_stickiness_and_lifecycle_agree_with_pandas_on_the_sample(sample_dir):
    source = open_source(load_config(data=str(sample_dir), lang="en"))
    events = pd.read_parquet(sample_dir / "events.parquet", columns=["user_id", "ts"])
    events["day"] = events["ts"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.normalize()
    stick = analysis.stickiness(source, as_of="2026-11-01")
    daily = stick.daily.set_index("date")
    for day in pd.to_datetime(["2026-08-15", "2026-10-31"]):
        window = events[(events["day"] > day - pd.Timedelta(days=30)) & (events["day"] <= day)]
        dau = window.groupby("day")["user_id"].nunique()
        assert daily.loc[day, "mau"] == window["user_id"].nunique()
        week = window[window["day"] > day - pd.Timedelta(days=7)]
        assert daily.loc[day, "wau"] == week["user_id"].nunique()
        assert daily.loc[day, "dau_mau"] == pytest.approx(
            dau.sum() / 30 / window["user_id"].nunique()
        )
    assert stick.daily["date"].max() == pd.Timestamp("2026-10-31")
    # from a start date: the days of the whole history's (the 29 days before it suffice)
    later = analysis.stickiness(source, as_of="2026-11-01", start="2026-09-01").daily
    whole = stick.daily[stick.daily["date"] >= "2026-09-01"].reset_index(drop=True)
    assert len(later) == 61
    pd.testing.assert_frame_equal(later, whole)
    life = analysis.lifecycle(source, "week", as_of="2026-11-01").frame
    active = life["new"] + life["retained"] + life["resurrected"]
    # growth accounting identity: the active of the week before = retained + dormant
    assert (active.shift(1).iloc[1:] == (life["retained"] + life["dormant"]).iloc[1:]).all()


def test_pooled_views_equal_their_direct_computation(sample_dir):
    source = open_source(load_config(data=str(sample_dir), lang="en"))
    for criterion in ("on", "on_or_after"):
        by = analysis.retention_matrix(
            source, period="week", criterion=criterion, breakdown="channel"
        )
        direct = analysis.retention_matrix(source, period="week", criterion=criterion)
        pooled = by.overall()
        pd.testing.assert_frame_equal(pooled.cells, direct.cells, check_dtype=False)
        pd.testing.assert_frame_equal(pooled.mean, direct.mean, check_dtype=False)
        pd.testing.assert_frame_equal(pooled.cohorts, direct.cohorts, check_dtype=False)
    full = analysis.day_n_retention(source, (1, 7, 30), breakdown="channel", cohort_period="month")
    overall = analysis.day_n_retention(source, (1, 7, 30))
    pd.testing.assert_frame_equal(analysis.day_n_by(full), overall, check_dtype=False)
    per_group = analysis.day_n_retention(source, (1, 7, 30), breakdown="channel")
    pd.testing.assert_frame_equal(analysis.day_n_by(full, "group"), per_group, check_dtype=False)


def test_both_criteria_from_one_query_and_the_first_periods_only(sample_dir):
    """The explorer's matrices: both criteria from one engine query, and only the periods its
    charts draw -- each the same as the full matrix asked on its own, up to that period."""
    source = open_source(load_config(data=str(sample_dir), lang="en"))
    both = analysis.retention_matrices(source, period="day", breakdown="channel", max_period=12)
    assert set(both) == {"on", "on_or_after"}
    for criterion, short in both.items():
        full = analysis.retention_matrix(
            source, period="day", criterion=criterion, breakdown="channel"
        )
        assert short.periods == tuple(range(13))
        assert short.settings == full.settings
        first = full.cells[full.cells["period"] <= 12].reset_index(drop=True)
        pd.testing.assert_frame_equal(short.cells, first, check_dtype=False)
        pd.testing.assert_frame_equal(
            short.mean, full.mean[full.mean["period"] <= 12].reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(short.cohorts, full.cohorts)
    with pytest.raises(ValueError, match="max_period"):
        analysis.retention_matrices(source, max_period=0)
