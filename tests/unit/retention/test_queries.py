"""Retention's engine steps: local period numbers across zones and clock changes, the default
as_of, the active days kept once per report, and the batched counts the KPI dashboard reuses
against plain pandas on the sample shop."""

from pathlib import Path

import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.retention import analysis, queries
from tests.unit.retention.sources import cells, events_of, source_of, users_of


@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "Europe/London", "UTC"])
def test_period_numbers_follow_the_zones_wall_clock(tmp_path, timezone):
    # around London's switches to summer (29 March) and back (25 October), around midnight and
    # a Monday; Shanghai takes the epoch arithmetic path, London the engine's zone rules
    stamps = [
        "2026-03-28 23:59:59", "2026-03-29 00:30:00", "2026-03-29 23:30:00", "2026-03-30 00:00:00",
        "2026-10-24 23:30:00", "2026-10-25 00:30:00", "2026-10-25 23:59:59", "2026-10-26 16:00:00",
        "2026-12-31 16:00:00", "2026-12-31 23:59:59",
    ]  # fmt: skip
    events = events_of(*[(i, ts) for i, ts in enumerate(stamps)])
    source = source_of(tmp_path / "z", users_of((0, "2026-01-01")), events, timezone=timezone)
    table = source.table("events")
    got = (
        table.select(
            "user_id", **{p: queries.period_number(source, table.ts, p) for p in queries.PERIODS}
        )
        .execute()
        .sort_values("user_id")
    )
    local = pd.to_datetime(stamps).tz_localize("UTC").tz_convert(timezone).tz_localize(None)
    for period in queries.PERIODS:
        assert got[period].tolist() == [queries.number_of(t, period) for t in local], period
    # the active periods kept for one moment are not those of another
    for until, count in (("2026-03-29 00:30", 2), ("2026-12-31 23:59:59", 10)):
        days = queries.active_periods(source, "any", pd.Timestamp(until).to_pydatetime(), "day")
        assert days.count().execute() == count


def test_the_default_as_of_is_the_newest_timestamp(three_users):
    point = queries.resolve_as_of(three_users)
    assert point.local == pd.Timestamp("2026-01-04 20:00")
    assert point.last_complete_day == queries.number_of(pd.Timestamp("2026-01-03"), "day")
    result = analysis.retention_matrix(three_users, period="day")
    assert max(p for (c, p) in cells(result)) == 2  # day 3 (Jan 4th) is still in progress


def test_weeks_derived_from_kept_active_days_equal_weeks_from_the_events(sample_dir):
    """A report keeps its active days (and the weeks derived from them) on the engine; a single
    question keeps nothing but the source's activity rollup (computed once per open source when
    there is no cache folder, as in the unit tests: :mod:`opsbook.rollup`)."""

    def kept_tables(source) -> int:  # kept as Parquet files in the connection's own folder
        folder = source.con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]
        return len(list(Path(folder).glob("kept-*.parquet")))

    def matrix(keep_days: bool):
        source = open_source(load_config(data=str(sample_dir), lang="en"))
        if keep_days:
            queries.keep_active_days(source)
        answers = (
            analysis.retention_matrix(source, period="week"),
            analysis.lifecycle(source, "week"),
        )
        return answers, kept_tables(source)

    (direct, kept_direct), (derived, kept_derived) = matrix(False), matrix(True)
    assert len(direct[0].cells) > 100
    pd.testing.assert_frame_equal(derived[0].cells, direct[0].cells)
    pd.testing.assert_frame_equal(derived[1].frame, direct[1].frame)
    # the rollup alone; then the rollup, the days and the weeks derived from them
    assert (kept_direct, kept_derived) == (1, 3)


def test_batched_conversion_and_repeat_counts_agree_with_pandas_on_the_sample(sample_dir):
    """The KPI's twelve weeks in one query each: every cohort and window as plain pandas counts
    it, overlapping windows included (a user can be in several)."""
    source = open_source(load_config(data=str(sample_dir), lang="en"))
    zone = "Asia/Shanghai"
    users = pd.read_parquet(
        sample_dir / "users.parquet", columns=["user_id", "signup_ts", "channel"]
    )
    orders = pd.read_parquet(sample_dir / "orders.parquet", columns=["user_id", "ts", "status"])
    paid = orders["status"].isna() | (orders["status"] == "paid")
    orders = orders[orders["user_id"].notna() & paid]
    users["utc"] = users["signup_ts"].dt.tz_convert("UTC").dt.tz_localize(None)
    users["day"] = users["signup_ts"].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    orders["utc"] = orders["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
    orders["day"] = orders["ts"].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    span = pd.Timedelta(days=30)
    ends = pd.date_range("2026-09-06", periods=4, freq="7D")
    cohorts = [
        (e - pd.Timedelta(days=36), e - pd.Timedelta(days=30), e + pd.Timedelta(days=1))
        for e in ends
    ]
    got = queries.first_order_counts(source, within_days=30, cohorts=cohorts, breakdown="channel")
    for i, (start, end, as_of) in enumerate(cohorts):
        cutoff = source.utc_from_local(as_of) - span
        new = users[(users["day"] >= start) & (users["day"] <= end) & (users["utc"] <= cutoff)]
        pairs = new.merge(orders, on="user_id", suffixes=("", "_o"))
        hit = pairs[(pairs["utc_o"] >= pairs["utc"]) & (pairs["utc_o"] < pairs["utc"] + span)]
        expected = new.assign(hit=new["user_id"].isin(hit["user_id"])).groupby("channel")["hit"]
        mine = got[got["cohort"] == i].set_index("grp")
        assert mine["n"].to_dict() == expected.size().to_dict(), i
        assert mine["successes"].astype(int).to_dict() == expected.sum().astype(int).to_dict(), i
        single = analysis.first_order_conversion(
            source, within_days=30, cohort_start=start, cohort_end=end, as_of=as_of
        )
        assert (single.n, single.successes) == (
            len(new),
            int(new["user_id"].isin(hit["user_id"]).sum()),
        )
    windows = [(e - pd.Timedelta(days=29), e) for e in ends]  # 30 days, a week apart: overlapping
    got = queries.repeat_purchase_counts(source, windows=windows)
    for i, (start, end) in enumerate(windows):
        inside = orders[(orders["day"] >= start) & (orders["day"] <= end)]
        per_user = inside.groupby("user_id").size()
        row = got[got["window"] == i].iloc[0]
        assert (row["n"], row["successes"]) == (len(per_user), int((per_user >= 2).sum())), i
