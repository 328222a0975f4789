"""What ran when a day or a week stood out: the campaigns and experiments of the trend's span,
matched to each anomaly's day or period, and the days without data."""

from __future__ import annotations

from datetime import date

import pandas as pd

from opsbook.kpi.analysis.trends import what_ran_then
from opsbook.kpi.queries.context import what_ran
from tests.unit.kpi.shop import report_of

RAN = pd.DataFrame(
    {
        "kind": ["campaign", "experiment"],
        "name": ["Double 11", "checkout_button"],
        "first": [date(2026, 11, 1), date(2026, 10, 20)],
        "last": [date(2026, 11, 11), date(2026, 10, 25)],
    }
)


def test_a_day_is_matched_to_what_ran_on_it_and_a_week_to_what_overlapped_it():
    days = pd.DataFrame({"date": pd.to_datetime(["2026-11-05", "2026-10-31", "2026-10-22"])})
    assert what_ran_then(days, "date", 1, RAN, set()) == [
        [("campaign", "Double 11")],
        [],
        [("experiment", "checkout_button")],
    ]
    # the week ending 2026-11-01 (Oct 26 .. Nov 1) overlaps the campaign's first day only
    weeks = pd.DataFrame({"end": pd.to_datetime(["2026-11-01", "2026-10-25"])})
    gaps = {date(2026, 10, 27)}
    assert what_ran_then(weeks, "end", 7, RAN, gaps) == [
        [("data_gap", "2026-10-27"), ("campaign", "Double 11")],
        [("experiment", "checkout_button")],
    ]


def test_what_ran_reads_campaigns_by_their_local_days(shop):
    ran = what_ran(report_of(shop).source, date(2025, 12, 1), date(2026, 1, 31))
    assert list(ran.kind) == ["campaign"] and list(ran.name) == ["New Year"]
    assert ran["last"].iloc[0] == date(2026, 1, 11)  # 16:00 UTC is the next day in Shanghai
    assert what_ran(report_of(shop).source, date(2026, 2, 1), date(2026, 2, 28)).empty
