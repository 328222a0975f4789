"""opsbook.experiments.queries: engine aggregates against plain pandas and hygiene on hand-made
data (read through ``prepare``, which runs the queries), on every engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opsbook.config import ENGINE_ENV
from opsbook.experiments.analysis import prepare
from tests.unit.experiments.conftest import open_report, pandas_window_sums

# ---------------------------------------------------------------------------- hand-made data


def test_hygiene_counts_on_hand_made_assignments(shop_report):
    report = shop_report
    exp = prepare(report, exposure_start="2026-03-01", segments=["channel"])
    assert exp.name == "exp1"  # the first row's experiment
    assert exp.other_experiments == ("exp2",)
    hygiene = exp.hygiene.set_index("reason")
    assert hygiene.loc["missing_values", "rows"] == 1
    assert (hygiene.loc["several_variants", "users"], hygiene.loc["several_variants", "rows"]) == (
        1,
        2,
    )
    assert hygiene.loc["outside_dates", "users"] == 1
    assert hygiene.loc["window_incomplete", "users"] == 1
    assert hygiene.loc["misaligned", "users"] == 0
    assert (hygiene.loc["duplicate_rows", "users"], hygiene.loc["duplicate_rows", "rows"]) == (1, 1)
    assert exp.rows_read == 28  # the rows of exp1
    # kept: users 1..20, 21 (control), 24 (control)
    assert exp.users == {"control": 12, "treatment": 10}
    assert exp.control == "control" and exp.variants == ("control", "treatment")
    # data end: midnight after the last order, local time
    assert exp.data_end == pd.Timestamp("2026-03-30 16:00").to_pydatetime()


def test_window_measures_on_hand_made_data(shop_report):
    report = shop_report
    exp = prepare(
        report,
        experiment="exp1",
        exposure_start="2026-03-01",
        metric_definitions=[
            {"name": "conversion", "kind": "proportion", "numerator": "orders"},
            {"name": "revenue_per_user", "kind": "mean", "numerator": "revenue"},
            {
                "name": "revenue_per_order",
                "kind": "ratio",
                "numerator": "revenue",
                "denominator": "orders",
            },
            {"name": "carts", "kind": "mean", "numerator": "event:add_to_cart"},
        ],
        segments=["channel", "no_such_column"],
    )
    c = exp.sufficient_stats("revenue_per_user", "control", cuped=True)
    # control users with window revenue: 1 (10), 3 (5), 21 (40); pre-period: 1 (7)
    assert (c.n, c.y_sum, c.y_sum_squares) == (12, 55.0, 100 + 25 + 1600)
    assert (c.x_sum, c.xy_sum) == (7.0, 70.0)
    t = exp.sufficient_stats("revenue_per_user", "treatment", cuped=True)
    # treatment: 2 (20 + 30; the refund is not paid), 4 (order at ts + 14 d: out); pre: 8 (4)
    assert (t.n, t.y_sum, t.x_sum, t.xy_sum) == (10, 50.0, 4.0, 0.0)
    conv = exp.sufficient_stats("conversion", "control")
    assert (conv.n, conv.sum, conv.sum_squares) == (12, 3.0, 3.0)
    ratio = exp.sufficient_stats("revenue_per_order", "treatment")
    assert (ratio.num_sum, ratio.den_sum, ratio.cross_sum) == (50.0, 2.0, 100.0)
    carts = exp.sufficient_stats("carts", "control", cuped=True)
    assert (carts.y_sum, carts.x_sum, carts.xy_sum) == (2.0, 1.0, 2.0)
    assert exp.missing_segments == ("no_such_column",)
    seg = exp.segments.groupby("variant")["users"].sum()
    assert seg.to_dict() == {"control": 12, "treatment": 10}
    # daily rows add up to the totals
    assert exp.sums.groupby("variant")["users"].sum().to_dict() == exp.users


def test_results_table_with_misaligned_rows_and_inference(tmp_path):
    rows = []
    for i in range(40):
        group = "control" if i % 2 else "treatment"
        page = "old_page" if group == "control" else "new_page"
        rows.append((f"u{i:03d}", group, page, i % 3 == 0, float(i % 5), float(i % 4)))
    rows += [
        ("u900", "control", "new_page", True, 1.0, 0.0),  # misaligned only
        ("u901", "treatment", "old_page", False, 2.0, 0.0),  # misaligned...
        ("u901", "treatment", "new_page", True, 2.0, 0.0),  # ...so the user goes entirely
        ("u902", "control", "old_page", True, 3.0, 1.0),
        ("u902", "treatment", "new_page", True, 3.0, 1.0),  # several variants wins the tie
        ("u002", "control", "old_page", False, 4.0, 9.0),  # u002 is a treatment user: several
        ("u004", "treatment", "new_page", False, 4.0, 0.0),  # an exact copy of u004's row
    ]
    frame = pd.DataFrame(
        rows, columns=["user_id", "variant", "page", "converted", "amount", "pre_amount"]
    )
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    report = open_report(tmp_path, tables=("experiment_results",))
    exp = prepare(
        report,
        exposure_check="(variant == 'treatment') == (page == 'new_page')",
        segments=["page"],
    )
    h = exp.hygiene.set_index("reason")
    assert (h.loc["several_variants", "users"], h.loc["several_variants", "rows"]) == (2, 4)
    assert (h.loc["misaligned", "users"], h.loc["misaligned", "rows"]) == (2, 3)
    assert (h.loc["duplicate_rows", "users"], h.loc["duplicate_rows", "rows"]) == (1, 1)
    assert exp.users == {"control": 20, "treatment": 19}  # u002 out, u004 kept once
    kinds = {m.name: m.kind for m in exp.metrics}
    assert kinds == {"converted": "proportion", "amount": "mean"}  # pre_amount: a covariate
    assert exp.covariates == (None, "pre_amount")
    assert exp.name == "experiment_results"
    kept = frame.iloc[:40]
    kept = kept[kept.user_id != "u002"]
    for variant, part in kept.groupby("variant"):
        s = exp.sufficient_stats("amount", variant, cuped=True)
        assert s.y_sum == pytest.approx(part.amount.sum())
        assert s.xy_sum == pytest.approx((part.amount * part.pre_amount).sum())


def test_winsorising_in_the_engine(shop_report):
    report = shop_report
    exp = prepare(
        report,
        exposure_start="2026-03-01",
        metrics=["revenue_per_user"],
        winsorize=0.95,
        segments=[],
    )
    # the kept users' window revenues: 10, 50, 5, 40 and 18 zeros; the cap is their 95th
    # percentile (linear interpolation, as numpy.quantile)
    values = np.array([10.0, 50.0, 5.0, 40.0] + [0.0] * 18)
    cap = np.quantile(values, 0.95)
    assert exp.caps["revenue_per_user"] == pytest.approx(cap)
    total = sum(exp.sufficient_stats("revenue_per_user", v).sum for v in exp.variants)
    assert total == pytest.approx(np.minimum(values, cap).sum())


# ---------------------------------------------------------------------------- the sample shop


def test_engine_sums_match_pandas_on_the_sample(sample_dir, sample_report):
    report = sample_report
    for name in ("checkout_button", "price_display"):
        exp = prepare(report, experiment=name, segments=[])
        users = pandas_window_sums(sample_dir, name)
        for variant, part in users.groupby("variant"):
            conv = exp.sufficient_stats("conversion", variant, cuped=True)
            assert conv.n == len(part)
            assert conv.y_sum == part.converted.sum()
            assert conv.xy_sum == (part.converted * part.pre_converted).sum()
            rev = exp.sufficient_stats("revenue_per_user", variant, cuped=True)
            assert rev.y_sum == pytest.approx(part.revenue.sum(), rel=1e-12)
            assert rev.y_sum_squares == pytest.approx((part.revenue**2).sum(), rel=1e-12)
            assert rev.x_sum == pytest.approx(part.pre_revenue.sum(), rel=1e-12)
            assert rev.xy_sum == pytest.approx((part.revenue * part.pre_revenue).sum(), rel=1e-12)
            ratio = exp.sufficient_stats("revenue_per_order", variant)
            assert ratio.den_sum == part.orders.sum()
            assert ratio.cross_sum == pytest.approx((part.revenue * part.orders).sum(), rel=1e-12)
        assert exp.hygiene["rows"].sum() == 0


# ---------------------------------------------------------------------------- every engine


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def test_a_users_duplicate_rows_keep_one_whole_row(tmp_path, monkeypatch, engine):
    """Without an exposure time, a user's rows in one variant keep the row with the smallest
    metric values, every column of it (never one column from each row); with a time, the
    first exposure's row. On every engine."""
    monkeypatch.setenv(ENGINE_ENV, engine)
    rows = [
        (f"u{i:03d}", "control" if i % 2 else "treatment", "p", i % 3 == 0, float(i % 5))
        for i in range(20)
    ]
    rows += [
        ("u100", "control", "late", True, 9.0),
        ("u100", "control", "first", True, 1.0),  # the smallest (amount, converted)
        ("u100", "control", "other", False, 4.0),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "variant", "page", "converted", "amount"])
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    exp = prepare(open_report(tmp_path, tables=("experiment_results",)), segments=["page"])
    h = exp.hygiene.set_index("reason")
    assert (h.loc["duplicate_rows", "users"], h.loc["duplicate_rows", "rows"]) == (1, 2)
    kept = pd.concat([frame.iloc[:20], frame.iloc[[21]]])
    control = kept[kept.variant == "control"]
    amount = exp.sufficient_stats("amount", "control", cuped=False)
    assert (amount.n, amount.sum) == (len(control), control.amount.sum())
    converted = exp.sufficient_stats("converted", "control", cuped=False)
    assert converted.sum == control.converted.sum()
    pages = exp.segments.groupby("value")["users"].sum().to_dict()
    assert pages == {"p": 20, "first": 1}

    frame = frame.assign(ts=pd.Timestamp("2026-03-01") + pd.to_timedelta(range(len(frame)), "h"))
    frame.loc[22, "ts"] = pd.Timestamp("2026-02-01")  # "other" is u100's first exposure
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    exp = prepare(open_report(tmp_path, tables=("experiment_results",)), segments=["page"])
    pages = exp.segments.groupby("value")["users"].sum().to_dict()
    assert pages == {"p": 20, "other": 1}
    amount = exp.sufficient_stats("amount", "control", cuped=False)
    assert amount.sum == frame.iloc[:20].query("variant == 'control'").amount.sum() + 4.0


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def test_rows_with_missing_values_are_counted_and_never_a_users_first_row(
    tmp_path, monkeypatch, engine
):
    """Rows without a user or a variant are counted as missing values, in the same scan that
    groups the users; a user with no complete row is no user of the test, and an incomplete
    row never stands for a user's first exposure (even when its metric is the smallest)."""
    monkeypatch.setenv(ENGINE_ENV, engine)
    rows = [(f"u{i:03d}", "control" if i % 2 else "treatment", float(i + 1)) for i in range(20)]
    rows += [
        (None, "control", 5.0),  # no user
        ("u100", None, 7.0),  # this user's only row has no variant
        ("u001", None, 0.0),  # u001's complete row is its first exposure, not this one
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "variant", "amount"])
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    exp = prepare(open_report(tmp_path, tables=("experiment_results",)))
    h = exp.hygiene.set_index("reason")
    assert h.loc["missing_values", "rows"] == 3
    assert exp.rows_read == len(frame)
    assert h.drop(index="missing_values")["users"].sum() == 0
    assert exp.users == {"control": 10, "treatment": 10}
    complete = frame.iloc[:20]
    amount = exp.sufficient_stats("amount", "control", cuped=False)
    assert amount.sum == complete[complete.variant == "control"].amount.sum()
