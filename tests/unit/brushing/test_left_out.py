"""``exclude_flagged``: a report that leaves the flagged orders out answers exactly as it does
on the same data with those orders deleted from the files (the oracle), and its with / without
line recomputes the numbers on every order."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from opsbook import segmentation
from opsbook.brushing import leave_out_flagged, left_out_metrics, with_flagged
from opsbook.brushing.queries import flag_list
from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.kpi import analysis as kpi
from opsbook.report import Report
from tests.unit.kpi.shop import report_of, write_shop

RULES = {"burst_orders": 2, "burst_minutes": 24 * 60, "no_browsing_minutes": 0}  # flags plenty


def report_over(folder, name="segmentation") -> Report:
    config = load_config(data=str(folder), overrides={"timezone": "Asia/Shanghai"}, lang="en")
    return Report(name, config, open_source(config), validation=None)


def without_flagged_files(sample_dir, folder, flagged: set) -> None:
    """The oracle: a copy of the shop with the flagged orders deleted from orders.parquet."""
    shutil.copytree(sample_dir, folder)
    orders = pd.read_parquet(sample_dir / "orders.parquet")
    orders[~orders.order_id.isin(flagged)].to_parquet(folder / "orders.parquet")


def test_segmentation_without_flagged_orders_equals_the_shop_without_them(sample_dir, tmp_path):
    report = report_over(sample_dir)
    left_out = leave_out_flagged(report, RULES)
    flagged = set(flag_list(left_out.brushing.flags).order_id)
    assert 100 < len(flagged) == left_out_metrics(left_out)["flagged_left_out"]["orders"]
    without_flagged_files(sample_dir, tmp_path / "oracle", flagged)
    oracle = report_over(tmp_path / "oracle")
    got = segmentation.segment(report, as_of="2026-10-31")
    expected = segmentation.segment(oracle, as_of="2026-10-31")
    metrics = json.dumps(segmentation.metrics(got), sort_keys=True, default=str)
    assert metrics == json.dumps(segmentation.metrics(expected), sort_keys=True, default=str)
    # the "with" side answers on every order, as the report did before leaving any out
    every = segmentation.segment(with_flagged(report, left_out), as_of="2026-10-31")
    fresh = segmentation.segment(report_over(sample_dir), as_of="2026-10-31")
    assert segmentation.headline(every) == segmentation.headline(fresh)
    assert segmentation.headline(every) != segmentation.headline(got)


def test_kpi_gmv_drops_by_the_flagged_paid_amount_of_the_period(tmp_path):
    write_shop(tmp_path)
    now = pd.Timestamp("2026-01-04 17:05")
    report = report_of(tmp_path)
    before = kpi.dashboard(report, trend_weeks=6, now=now, forecast=False)
    # user 5's two orders, two days apart, make a burst of 2 in 4 days
    left_out = leave_out_flagged(report, RULES | {"burst_minutes": 4 * 24 * 60})
    after = kpi.dashboard(report, trend_weeks=6, now=now, forecast=False)
    flags = flag_list(left_out.brushing.flags)
    orders = pd.read_parquet(tmp_path / "orders.parquet")
    start, end = pd.Timestamp(before.period.start), pd.Timestamp(before.period.end)
    in_period = orders[orders.order_id.isin(flags.order_id)]
    local = in_period.ts.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    in_period = in_period[(local >= start) & (local < end + pd.Timedelta(days=1))]
    paid = in_period[in_period.status.fillna("paid") == "paid"].amount.sum()

    def gmv(board):
        s = board.series
        return s.loc[(s.kpi == "gmv") & (s.k == 0), "value"].iloc[0]

    assert set(flags.order_id) == {2, 3}
    assert gmv(before) - gmv(after) == pytest.approx(paid)
