"""Planted truths recovered by the data-quality analysis on hand-made shops."""

from __future__ import annotations

import pandas as pd
import pytest

from opsbook.quality import analysis
from tests.unit.quality.shop import START, WEEKS, day_counts, report_of, write_shop

END = START + pd.Timedelta(days=7 * WEEKS - 1)  # the last day of the shops
SOON = END + pd.Timedelta(hours=20)  # a run the evening after the last day: fresh data


def assess(folder, now=SOON):
    return analysis.assess(report_of(folder), now=now)


def test_a_closure_of_three_days_is_one_outage_naming_its_days(tmp_path):
    closure = ["2026-03-10", "2026-03-11", "2026-03-12"]  # Tuesday to Thursday of week 10
    result = assess(write_shop(tmp_path, day_counts(40, zero_days=closure)))
    outages = result.outages
    assert len(outages) == 1
    run = outages.iloc[0]
    assert set(run.tables) == {"orders"}
    assert [d.date().isoformat() for d in run.dates] == closure
    assert (run.start, run.end, run.days) == (
        pd.Timestamp(closure[0]),
        pd.Timestamp(closure[-1]),
        3,
    )
    assert [p["kind"] for p in result.problems] == ["outage"]
    assert result.usable is False
    m = result.metrics()
    assert m["outages"] == [
        {"tables": ["orders"], "start": closure[0], "end": closure[-1], "days": closure}
    ]
    assert m["usable"] is False and m["problems"][0]["kind"] == "outage"


def test_a_shop_closed_on_saturdays_has_no_saturday_anomalies_but_a_wednesday_outage(tmp_path):
    outage = "2026-04-08"  # a Wednesday of week 14
    counts = day_counts(40, closed_weekdays=(5,), zero_days=[outage])
    result = assess(write_shop(tmp_path, counts))
    anomalies = result.anomalies
    assert not (anomalies["date"].dt.dayofweek == 5).any()
    # the outage is the only day flagged in orders (users sign up every day, Saturdays too)
    orders = anomalies[anomalies["table"] == "orders"]
    assert [d.date().isoformat() for d in orders["date"]] == [outage]
    assert result.metrics()["closed_weekdays"] == {"orders": [5]}
    assert [
        (list(r.tables), r.start.date().isoformat(), r.days) for r in result.outages.itertuples()
    ] == [(["orders"], outage, 1)]


def test_a_shop_closed_on_saturdays_and_otherwise_clean_can_be_used(tmp_path):
    result = assess(write_shop(tmp_path, day_counts(40, closed_weekdays=(5,))))
    assert result.anomalies.empty
    assert result.outages.empty
    assert result.problems == [] and result.usable is True


def test_a_table_that_stops_days_before_the_others_is_a_finding(tmp_path):
    stop = END - pd.Timedelta(days=5)  # orders end five days before users
    result = assess(write_shop(tmp_path, day_counts(40), orders_stop=str(stop.date())))
    assert result.lagging["table"].tolist() == ["orders"]
    behind = result.lagging["behind_days"].iloc[0]
    assert 5 <= behind < 6.5
    lagging = [p for p in result.problems if p["kind"] == "lagging"]
    assert lagging and lagging[0]["table"] == "orders"
    assert result.usable is False
    assert result.metrics()["freshness"]["lagging"] == ["orders"]


def test_freshness_is_judged_against_the_run_time(tmp_path):
    folder = write_shop(tmp_path, day_counts(40))
    fresh = assess(folder, now=SOON)
    assert fresh.stale is False and fresh.usable is True
    # the newest row is the last order, of the last day before 19:00; the run is at 20:00
    newest = pd.read_parquet(folder / "orders.parquet")["ts"].max().tz_localize(None)
    assert fresh.age_days == pytest.approx((SOON - newest) / pd.Timedelta(days=1))
    assert 0 < fresh.age_days < 0.1
    late = assess(folder, now=END + pd.Timedelta(days=33))
    assert late.stale is True
    assert late.age_days == pytest.approx(33 - (newest - END) / pd.Timedelta(days=1))
    stale = [p for p in late.problems if p["kind"] == "stale"]
    assert stale and stale[0]["newest"] == END.date().isoformat()
    assert late.metrics()["freshness"]["stale"] is True
    # the clock is the wall clock by default: these data are in the past
    assert analysis.assess(report_of(folder)).now > END


def test_a_missing_required_column_lowers_accuracy_and_changes_the_verdict(tmp_path):
    result = assess(write_shop(tmp_path, day_counts(40), drop_columns=("amount",)))
    orders = result.summary.set_index("table").loc["orders"]
    assert orders["accuracy"] < 1.0
    assert orders["accuracy"] == 0.0  # the column is absent from every row
    assert result.passed is False
    assert result.problems[0] == {"kind": "missing_column", "table": "orders", "column": "amount"}
    m = result.metrics()
    assert m["tables"]["orders"]["missing_columns"] == ["amount"]
    assert m["tables"]["orders"]["passed"] is False
    assert m["usable"] is False
    finding = result.findings[result.findings["rule"] == "column_missing"].iloc[0]
    assert finding["rows"] == finding["total"] == orders["rows"] > 0
