"""Survival statistics: Kaplan–Meier and the log-rank test against lifelines and statsmodels, on
per-user and on aggregated (weighted) input."""

import numpy as np
import pandas as pd
import pytest

import opsbook.stats.survival as survival


def random_survival(seed=3, n=400):
    rng = np.random.default_rng(seed)
    durations = rng.integers(0, 40, n).astype(float)  # many ties, like days
    events = rng.random(n) < 0.7
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    durations[groups == "c"] += rng.integers(0, 10, (groups == "c").sum())
    return durations, events.astype(int), groups


def test_kaplan_meier_matches_lifelines():
    from lifelines import KaplanMeierFitter

    durations, events, _ = random_survival()
    ours = survival.kaplan_meier(durations, events).set_index("time")
    # KaplanMeierFitter().fit(durations, events, alpha=0.05): survival_function_, confidence_interval_
    km = KaplanMeierFitter().fit(durations, events, alpha=0.05)
    theirs = km.survival_function_["KM_estimate"]
    assert np.allclose(ours["survival"], theirs.loc[ours.index], atol=1e-12)
    ci = km.confidence_interval_.loc[ours.index]
    ok = ours["survival"] < 1
    assert np.allclose(ours.loc[ok, "low"], ci.iloc[:, 0][ok], atol=1e-9)
    assert np.allclose(ours.loc[ok, "high"], ci.iloc[:, 1][ok], atol=1e-9)
    assert survival.median_survival(ours.reset_index()) == km.median_survival_time_
    # aggregated input (users per duration and event) gives the same curve
    agg = pd.DataFrame({"t": durations, "e": events}).value_counts().reset_index()
    weighted = survival.kaplan_meier(agg["t"], agg["e"], agg["count"]).set_index("time")
    assert np.allclose(weighted["survival"], ours["survival"])
    assert np.allclose(weighted["low"], ours["low"], equal_nan=True)


def test_logrank_matches_lifelines_and_statsmodels():
    from lifelines.statistics import logrank_test, multivariate_logrank_test
    from statsmodels.duration.survfunc import survdiff

    durations, events, groups = random_survival()
    ours = survival.logrank_test(durations, events, groups)
    # multivariate_logrank_test(durations, groups, events): test_statistic, p_value
    theirs = multivariate_logrank_test(durations, groups, events)
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-6)
    assert ours.df == 2
    # statsmodels: survdiff(time, status, group) -> (chisq, p)
    chisq, _ = survdiff(durations, events, groups)
    assert ours.statistic == pytest.approx(chisq, rel=1e-9)
    two = groups != "c"
    pair = survival.logrank_test(durations[two], events[two], groups[two])
    ref = logrank_test(
        durations[two & (groups == "a")],
        durations[two & (groups == "b")],
        events[two & (groups == "a")],
        events[two & (groups == "b")],
    )
    assert pair.statistic == pytest.approx(ref.test_statistic, rel=1e-9)
    # weights (aggregated counts) give the same test
    agg = pd.DataFrame({"t": durations, "e": events, "g": groups}).value_counts().reset_index()
    weighted = survival.logrank_test(agg["t"], agg["e"], agg["g"], agg["count"])
    assert weighted.statistic == pytest.approx(ours.statistic, rel=1e-9)
