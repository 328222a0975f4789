"""Experiments: conversion and revenue truth, the covariate, sample ratio mismatch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.unit.sample.shop import Sample, converted_in_window, within

# ----------------------------------------------------------------------------- experiments


def experiment(sample: Sample, name: str) -> pd.DataFrame:
    a = sample["assignments"]
    return a[a.experiment == name].reset_index(drop=True)


@pytest.mark.parametrize("fixture", ["small", "default"])
def test_checkout_button_conversion_matches_truth(fixture, request):
    sample = request.getfixturevalue(fixture)
    truth = sample.truth["experiments"]["checkout_button"]
    a = experiment(sample, "checkout_button")
    a["converted"] = converted_in_window(sample, a, a.ts, a.ts + pd.Timedelta(days=14))
    rates = a.groupby("variant").converted.agg(["mean", "size"])
    for variant in ("control", "treatment"):
        rate, n = rates.loc[variant]
        assert rate == pytest.approx(truth["observed"][variant], abs=1e-6)
        assert within(rate, truth[variant], n), variant
    assert truth["true_rel_lift"] == pytest.approx(0.2)
    assert truth["true_abs_lift"] == pytest.approx(truth["treatment"] - truth["control"])


def price_frame(sample: Sample) -> pd.DataFrame:
    a = experiment(sample, "price_display")
    paid = sample.paid()[["user_id", "ts", "amount"]]
    x = a[["user_id", "ts", "variant"]].merge(paid, on="user_id", how="left", suffixes=("", "_o"))
    post = (x.ts_o >= x.ts) & (x.ts_o < x.ts + pd.Timedelta(days=14))
    pre = (x.ts_o >= x.ts - pd.Timedelta(days=28)) & (x.ts_o < x.ts)
    x["revenue"] = x.amount.where(post, 0.0)
    x["pre_revenue"] = x.amount.where(pre, 0.0)
    x["order"] = post
    return x.groupby(["user_id", "variant"], as_index=False)[
        ["revenue", "pre_revenue", "order"]
    ].agg({"revenue": "sum", "pre_revenue": "sum", "order": "any"})


def test_price_display_truth_and_covariate(default):
    truth = default.truth["experiments"]["price_display"]
    assert truth["pre_period_days"] == 28 and truth["true_rel_lift"] == pytest.approx(0.06)
    df = price_frame(default)
    rho = np.corrcoef(df.pre_revenue, df.revenue)[0, 1]
    assert rho == pytest.approx(truth["pre_post_correlation"], abs=1e-4)
    assert 0.5 <= rho <= 0.75
    for variant in ("control", "treatment"):
        r = df.revenue[df.variant == variant]
        assert abs(r.mean() - truth[variant]) <= 4.5 * r.std() / math.sqrt(len(r)), variant
    # no effect on conversion
    conv = df.groupby("variant").order.agg(["mean", "size"])
    diff = conv["mean"]["treatment"] - conv["mean"]["control"]
    p = conv["mean"].mean()
    assert abs(diff) <= 4.5 * math.sqrt(2 * p * (1 - p) / conv["size"].min())


def test_cuped_narrows_the_price_display_interval(default):
    df = price_frame(default)
    theta = np.cov(df.revenue, df.pre_revenue)[0, 1] / df.pre_revenue.var()
    adjusted = df.revenue - theta * (df.pre_revenue - df.pre_revenue.mean())
    assert adjusted.var() < 0.75 * df.revenue.var()


def test_sample_ratio_mismatch_only_where_planted(default):
    planted = default["assignments"].groupby(["experiment", "variant"]).size()
    for name, truth in default.truth["experiments"].items():
        counts = planted[name].reindex(truth["variants"]).to_numpy()
        p = stats.chisquare(counts).pvalue
        assert truth["srm"] == (name == "banner_srm")
        assert (p < 0.001) == truth["srm"], (name, counts, p)
        assert counts.min() >= 1800, name  # ~2,000 users per variant at the default size


def test_srm_ratio_as_planted(small):
    truth = small.truth["experiments"]["banner_srm"]
    counts = experiment(small, "banner_srm").variant.value_counts()
    assert counts["treatment"] / counts["control"] == pytest.approx(0.92, abs=0.01)
    assert truth["users"] == counts.to_dict()
    aa = experiment(small, "homepage_aa").variant.value_counts()
    assert abs(aa["A"] - aa["B"]) <= 1


def test_experiment_exposures_leave_a_full_window(small):
    a = small["assignments"]
    assert (a.ts + pd.Timedelta(days=14) <= small.end_of_period).all()
