"""diff_in_diff without a holdout: planted effects are recovered and the estimate equals a
plain formula fit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from opsbook.stats.did import DidResult, diff_in_diff

# --- diff_in_diff -------------------------------------------------------------------------------


def store_panel(
    seed: int,
    effect: float = 2.0,
    pre_trend: float = 0.0,
    stores: int = 60,
    weeks: int = 12,
    first_post_week: int = 8,
) -> pd.DataFrame:
    """Weekly sales of stores; the first half are treated from `first_post_week` on.
    Store and week effects, a level gap of 1.5 between groups, N(0, 1) noise, and an optional
    extra slope of the treated stores (`pre_trend` per week) that breaks parallel trends."""
    rng = np.random.default_rng(seed)
    store = np.repeat(np.arange(stores), weeks)
    week = np.tile(np.arange(weeks), stores)
    treated = (store < stores // 2).astype(int)
    post = (week >= first_post_week).astype(int)
    sales = (
        10
        + rng.normal(0, 2, stores)[store]
        + rng.normal(0, 1, weeks)[week]
        + 1.5 * treated
        + effect * treated * post
        + pre_trend * treated * week
        + rng.normal(0, 1, len(store))
    )
    return pd.DataFrame(
        {
            "store": store,
            "region": store % 15,
            "week": pd.Timestamp("2024-01-01") + pd.to_timedelta(7 * week, unit="D"),
            "sales": sales,
            "treated": treated,
            "post": post,
        }
    )


COLUMNS = {
    "unit": "store",
    "time": "week",
    "outcome": "sales",
    "treated": "treated",
    "post": "post",
}


def test_did_recovers_known_effect_and_equals_formula_fit():
    panel = store_panel(seed=4, effect=2.0)
    result = diff_in_diff(panel, **COLUMNS)
    assert isinstance(result, DidResult) and result.reason is None
    assert result.ci_lower <= 2.0 <= result.ci_upper
    assert result.significant
    # the same model written as a plain statsmodels formula
    reference = smf.ols("sales ~ treated * post", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["store"]}, use_t=True
    )
    assert result.estimate == pytest.approx(reference.params["treated:post"], abs=1e-10)
    assert result.std_error == pytest.approx(reference.bse["treated:post"], rel=1e-10)
    assert result.p_value == pytest.approx(reference.pvalues["treated:post"], rel=1e-8)
    low, high = reference.conf_int().loc["treated:post"]
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), rel=1e-10)
    # the 2 x 2 cell means give the same number
    means = result.cell_means
    by_hand = (means.loc["treated", "post"] - means.loc["treated", "pre"]) - (
        means.loc["control", "post"] - means.loc["control", "pre"]
    )
    assert result.estimate == pytest.approx(by_hand, abs=1e-10)
    assert result.n_obs == 720 and result.n_clusters == 60 and result.n_units == 60


def test_did_interval_coverage_over_seeds():
    results = [diff_in_diff(store_panel(seed=s, effect=2.0), **COLUMNS) for s in range(40)]
    covered = [r.ci_lower <= 2.0 <= r.ci_upper for r in results]
    # nominal 95 %: 38 of 40 expected; below 33 would mean the SEs are far too small
    assert sum(covered) >= 33


def test_did_other_cluster_column_matches_formula_fit():
    panel = store_panel(seed=4)
    result = diff_in_diff(panel, **COLUMNS, cluster="region", alpha=0.1)
    reference = smf.ols("sales ~ treated * post", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["region"]}, use_t=True
    )
    assert result.n_clusters == 15
    assert result.std_error == pytest.approx(reference.bse["treated:post"], rel=1e-10)
    low, high = reference.conf_int(alpha=0.1).loc["treated:post"]
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), rel=1e-10)
    assert any("15 clusters" in note for note in result.notes)


def test_pre_trend_detected_when_planted_and_not_otherwise():
    parallel = diff_in_diff(store_panel(seed=4), **COLUMNS)
    assert not parallel.pre_trend_detected and parallel.pre_trend_p_value > 0.05
    assert parallel.pre_trend_periods == 8 and parallel.time_unit == "day"
    diverging = diff_in_diff(store_panel(seed=4, pre_trend=0.3), **COLUMNS)
    assert diverging.pre_trend_detected and diverging.pre_trend_p_value < 1e-6
    # 0.3 per week = 0.3 / 7 per day
    assert diverging.pre_trend_estimate == pytest.approx(0.3 / 7, abs=0.01)
    frame = diverging.to_frame()
    assert list(frame.index) == ["did", "pre_trend"]
    assert frame.loc["pre_trend", "ci_lower"] > 0
    # the slope on the pre-period rows by a plain formula fit (weeks as numbers)
    panel = store_panel(seed=4, pre_trend=0.3).assign(
        t=lambda d: (d["week"] - d["week"].min()).dt.days
    )
    pre = panel[panel["post"] == 0]
    reference = smf.ols("sales ~ treated * t", data=pre).fit(
        cov_type="cluster", cov_kwds={"groups": pre["store"]}, use_t=True
    )
    assert diverging.pre_trend_estimate == pytest.approx(reference.params["treated:t"], rel=1e-9)
    assert diverging.pre_trend_p_value == pytest.approx(reference.pvalues["treated:t"], rel=1e-6)


def test_did_integer_time_and_boolean_indicators():
    panel = store_panel(seed=4)
    panel = panel.assign(
        week=(panel["week"] - panel["week"].min()).dt.days // 7,
        treated=panel["treated"].astype(bool),
        post=panel["post"].astype(bool),
    )
    result = diff_in_diff(panel, **COLUMNS)
    assert result.time_unit == "period"
    assert result.estimate == pytest.approx(diff_in_diff(store_panel(seed=4), **COLUMNS).estimate)


def test_did_degenerate_panels_are_flagged():
    panel = store_panel(seed=4)
    only_treated = diff_in_diff(panel[panel["treated"] == 1], **COLUMNS)
    assert only_treated.reason == "empty_cell" and np.isnan(only_treated.estimate)
    assert json.dumps(only_treated.metrics())
    one_cluster = diff_in_diff(panel.assign(region=0), **COLUMNS, cluster="region")
    assert one_cluster.reason == "too_few_clusters"
    with_gaps = panel.astype({"sales": float})
    with_gaps.loc[:9, "sales"] = np.nan
    result = diff_in_diff(with_gaps, **COLUMNS)
    assert result.n_obs == 710 and any("10 row(s)" in note for note in result.notes)


def test_did_bad_inputs_raise():
    panel = store_panel(seed=4)
    with pytest.raises(ValueError, match="'sales'"):
        diff_in_diff(panel.drop(columns="sales"), **COLUMNS)
    with pytest.raises(ValueError, match="'post'"):
        diff_in_diff(panel.assign(post=panel["post"] * 2), **COLUMNS)
    with pytest.raises(ValueError, match="alpha"):
        diff_in_diff(panel, **COLUMNS, alpha=2)
