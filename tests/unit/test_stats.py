"""opsbook.stats against independent implementations (scipy, statsmodels) and hand-derived values.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
import statsmodels.api as sm
from scipy import integrate
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans

from opsbook import stats
from opsbook.stats import CupedStats, EffectResult, RatioStats, SampleStats

REL = 1e-9  # "same formula" tolerance against scipy/statsmodels


@pytest.fixture(scope="module")
def skewed() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240501)
    return rng.lognormal(2.0, 1.0, 800), rng.lognormal(2.1, 1.1, 1200)


def _json_roundtrip(result) -> dict:
    # allow_nan=False: to_dict must never emit NaN/inf
    return json.loads(json.dumps(result.to_dict(), allow_nan=False))


# ---------------------------------------------------------------------------- SampleStats


class TestSufficientStatistics:
    def test_mean_and_sample_variance_match_numpy(self, skewed):
        control, _ = skewed
        s = SampleStats.from_values(control)
        assert s.n == 800
        assert s.mean == pytest.approx(control.mean(), rel=1e-12)
        # reference: np.var(ddof=1)
        assert s.variance == pytest.approx(control.var(ddof=1), rel=1e-10)

    def test_stats_add_up_like_concatenated_rows(self, skewed):
        a, b = skewed
        both = SampleStats.from_values(a) + SampleStats.from_values(b)
        direct = SampleStats.from_values(np.concatenate([a, b]))
        assert both.n == direct.n
        assert both.sum == pytest.approx(direct.sum, rel=1e-12)
        assert both.variance == pytest.approx(direct.variance, rel=1e-10)
        # builtin sum() over daily partials
        assert sum([SampleStats(1, 2, 4), SampleStats(2, 3, 5)]) == SampleStats(3, 5, 9)

    def test_ratio_and_cuped_stats_add_up(self):
        r = RatioStats(2, 3, 5, 2, 2, 3) + RatioStats(1, 1, 1, 1, 1, 1)
        assert r == RatioStats(3, 4, 6, 3, 3, 4)
        c = CupedStats(2, 1, 1, 2, 2, 1) + CupedStats(1, 0, 0, 0, 0, 0)
        assert c == CupedStats(3, 1, 1, 2, 2, 1)
        with pytest.raises(TypeError):
            _ = SampleStats(1, 1, 1) + RatioStats(1, 1, 1, 1, 1, 1)

    def test_empty_and_single_user(self):
        empty = SampleStats(0, None, None)  # SQL SUM over no rows is NULL
        assert empty.sum == 0.0
        assert math.isnan(empty.mean) and math.isnan(empty.variance)
        one = SampleStats(1, 5.0, 25.0)
        assert one.mean == 5.0 and math.isnan(one.variance)

    def test_constant_values_have_exactly_zero_variance(self):
        # 1e6 repeated: raw sums lose the zero to rounding; the tolerance restores it
        s = SampleStats.from_values(np.full(1000, 1e6 + 0.1))
        assert s.variance == 0.0

    @pytest.mark.parametrize("n", [-1, 2.5, "x", math.nan])
    def test_bad_counts_raise(self, n):
        with pytest.raises(ValueError):
            SampleStats(n, 1.0, 1.0)

    def test_from_values_refuses_nan(self):
        with pytest.raises(ValueError):
            SampleStats.from_values([1.0, math.nan])

    def test_ratio_and_cuped_moments_match_numpy(self, skewed):
        a, b = skewed[0], skewed[1][:800]
        r = RatioStats.from_values(a, b)
        assert r.ratio == pytest.approx(a.sum() / b.sum(), rel=1e-12)
        assert r.covariance == pytest.approx(np.cov(a, b)[0, 1], rel=1e-9)
        c = CupedStats.from_values(y=a, x=b)
        assert c.covariance == pytest.approx(np.cov(a, b)[0, 1], rel=1e-9)
        assert c.x_variance == pytest.approx(b.var(ddof=1), rel=1e-9)
        assert stats.CovariateStats is CupedStats


# ---------------------------------------------------------------------------- compare_means


class TestCompareMeans:
    @pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
    def test_welch_matches_scipy(self, skewed, alternative):
        control, treatment = skewed
        r = stats.compare_means(
            SampleStats.from_values(control),
            SampleStats.from_values(treatment),
            alternative=alternative,
        )
        # reference: scipy.stats.ttest_ind(treatment, control, equal_var=False, alternative=...)
        ref = st.ttest_ind(treatment, control, equal_var=False, alternative=alternative)
        assert r.statistic == pytest.approx(ref.statistic, rel=REL)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-7)
        assert r.df == pytest.approx(ref.df, rel=REL)
        ci = ref.confidence_interval(0.95)
        assert r.abs_ci[0] == pytest.approx(ci.low, rel=1e-7)
        assert r.abs_ci[1] == pytest.approx(ci.high, rel=1e-7)
        assert r.valid and r.flag is None and r.method == "welch"

    def test_welch_matches_ttest_ind_from_stats(self):
        c, t = SampleStats(5000, 52_000.0, 700_000.0), SampleStats(4900, 52_500.0, 720_000.0)
        r = stats.compare_means(c, t)
        # reference: scipy.stats.ttest_ind_from_stats(mean_t, sd_t, n_t, mean_c, sd_c, n_c,
        #            equal_var=False)
        ref = st.ttest_ind_from_stats(t.mean, t.std, t.n, c.mean, c.std, c.n, equal_var=False)
        assert r.statistic == pytest.approx(ref.statistic, rel=REL)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-7)

    def test_z_method_matches_statsmodels(self, skewed):
        control, treatment = skewed
        r = stats.compare_means(
            SampleStats.from_values(control), SampleStats.from_values(treatment), method="z"
        )
        cm = CompareMeans.from_data(treatment, control)
        # reference: CompareMeans(treatment, control).ztest_ind(usevar="unequal")
        z, p = cm.ztest_ind(usevar="unequal")
        low, high = cm.zconfint_diff(alpha=0.05, usevar="unequal")
        assert r.statistic == pytest.approx(z, rel=REL)
        assert r.p_value == pytest.approx(p, rel=1e-7)
        assert r.abs_ci == pytest.approx((low, high), rel=1e-7)
        assert r.df is None

    def test_welch_interval_matches_statsmodels_tconfint(self, skewed):
        control, treatment = skewed
        r = stats.compare_means(
            SampleStats.from_values(control), SampleStats.from_values(treatment), alpha=0.1
        )
        # reference: CompareMeans(treatment, control).tconfint_diff(alpha=0.1, usevar="unequal")
        low, high = CompareMeans.from_data(treatment, control).tconfint_diff(
            alpha=0.1, usevar="unequal"
        )
        assert r.abs_ci == pytest.approx((low, high), rel=1e-7)

    def test_relative_interval_is_delta_method_on_ratio_of_means(self):
        # hand-derived: m_c = 10, s²_c = 4, m_t = 11, s²_t = 9, n = 1000 each
        # var(rel) = 9/(1000·10²) + 11²·4/(1000·10⁴) = 9e-5 + 4.84e-5 = 1.384e-4
        c = _stats_with(n=1000, mean=10.0, var=4.0)
        t = _stats_with(n=1000, mean=11.0, var=9.0)
        r = stats.compare_means(c, t, method="z")
        assert r.rel_lift == pytest.approx(0.1, rel=1e-12)
        assert r.rel_se == pytest.approx(math.sqrt(1.384e-4), rel=1e-10)
        half = 1.959963984540054 * math.sqrt(1.384e-4)
        assert r.rel_ci == pytest.approx((0.1 - half, 0.1 + half), rel=1e-9)
        # ... and not the absolute interval divided by the control mean
        naive = (r.abs_ci[0] / 10, r.abs_ci[1] / 10)
        assert abs(r.rel_ci[0] - naive[0]) > 5e-4  # 0.07694 vs 0.07765

    def test_relative_se_matches_numeric_gradient(self):
        # independent check of the delta method: gradient of m_t/m_c − 1 by finite differences
        c = _stats_with(n=400, mean=3.0, var=2.5)
        t = _stats_with(n=600, mean=3.6, var=4.0)
        r = stats.compare_means(c, t)
        h = 1e-6
        d_mt = ((3.6 + h) / 3.0 - (3.6 - h) / 3.0) / (2 * h)
        d_mc = (3.6 / (3.0 + h) - 3.6 / (3.0 - h)) / (2 * h)
        var = d_mt**2 * 4.0 / 600 + d_mc**2 * 2.5 / 400
        assert r.rel_se == pytest.approx(math.sqrt(var), rel=1e-6)

    def test_proportions_go_through_the_same_welch_test(self):
        rng = np.random.default_rng(7)
        control = (rng.random(3000) < 0.10).astype(float)
        treatment = (rng.random(3100) < 0.12).astype(float)
        c = SampleStats(3000, control.sum(), control.sum())
        t = SampleStats(3100, treatment.sum(), treatment.sum())
        r = stats.compare_means(c, t)
        # reference: scipy.stats.ttest_ind on the 0/1 rows, equal_var=False
        ref = st.ttest_ind(treatment, control, equal_var=False)
        assert r.statistic == pytest.approx(ref.statistic, rel=REL)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-7)
        # reference: statsmodels test_proportions_2indep(method="wald") (unpooled Wald z; it
        # uses p(1−p)/n, we use the ddof=1 variance, so they agree to ~1/n)
        wald = sm_proportion.test_proportions_2indep(
            int(treatment.sum()), 3100, int(control.sum()), 3000, method="wald"
        )
        z = stats.compare_means(c, t, method="z")
        assert z.statistic == pytest.approx(wald.statistic, rel=1e-3)
        assert z.p_value == pytest.approx(wald.pvalue, rel=1e-2)

    def test_one_sided_intervals_are_open_and_json_safe(self, skewed):
        control, treatment = skewed
        r = stats.compare_means(
            SampleStats.from_values(control),
            SampleStats.from_values(treatment),
            alternative="greater",
        )
        assert r.abs_ci[1] == math.inf and r.rel_ci[1] == math.inf
        d = _json_roundtrip(r)
        assert d["abs_ci"][1] is None and d["alternative"] == "greater"

    def test_to_frame_has_one_row_with_split_intervals(self, skewed):
        control, treatment = skewed
        r = stats.compare_means(
            SampleStats.from_values(control), SampleStats.from_values(treatment)
        )
        frame = r.to_frame()
        assert frame.shape[0] == 1
        assert {"abs_ci_low", "abs_ci_high", "rel_ci_low", "rel_ci_high", "p_value"} <= set(frame)
        assert frame.loc[0, "rel_ci_low"] == r.rel_ci[0]
        assert r.conf_int("rel") == r.rel_ci
        assert r.significant == (r.p_value < 0.05)


def _stats_with(n: int, mean: float, var: float) -> SampleStats:
    """Sums that reproduce a given mean and sample variance exactly."""
    return SampleStats(n, n * mean, var * (n - 1) + n * mean**2)


class TestDegenerateInputs:
    def test_zero_variance_in_both_arms(self):
        r = stats.compare_means(SampleStats(100, 500, 2500), SampleStats(100, 600, 3600))
        assert not r.valid and r.flag == "zero_variance"
        assert math.isnan(r.p_value) and math.isnan(r.abs_ci[0])
        # point estimates are still meaningful
        assert r.abs_lift == 1.0 and r.rel_lift == pytest.approx(0.2)
        _json_roundtrip(r)

    def test_no_conversions_anywhere(self):
        r = stats.compare_means(SampleStats(1000, 0, 0), SampleStats(1000, 0, 0))
        assert r.flag == "zero_variance" and not r.valid
        assert r.abs_lift == 0.0 and math.isnan(r.rel_lift)

    def test_no_conversions_in_control_only(self):
        r = stats.compare_means(SampleStats(1000, 0, 0), SampleStats(1000, 12, 12))
        # the absolute test is still defined; the relative lift is not
        assert r.flag == "zero_control_mean" and not r.valid
        assert math.isfinite(r.p_value) and r.abs_lift == pytest.approx(0.012)
        assert math.isnan(r.rel_lift) and math.isnan(r.rel_ci[0])
        _json_roundtrip(r)

    @pytest.mark.parametrize(
        ("control", "treatment"),
        [
            (SampleStats(1, 3.0, 9.0), SampleStats(50, 100.0, 400.0)),
            (SampleStats(0, 0, 0), SampleStats(50, 100.0, 400.0)),
            (SampleStats(0, None, None), SampleStats(0, None, None)),
        ],
    )
    def test_too_few_users(self, control, treatment):
        r = stats.compare_means(control, treatment)
        assert r.flag == "too_few_users" and not r.valid
        assert math.isnan(r.p_value)
        d = _json_roundtrip(r)
        assert d["p_value"] is None and d["valid"] is False

    def test_non_finite_sums_are_flagged_not_raised(self):
        r = stats.compare_means(SampleStats(10, math.nan, 5.0), SampleStats(10, 5.0, 5.0))
        assert r.flag == "non_finite_input" and not r.valid

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"alpha": 0.0},
            {"alpha": 1.0},
            {"alpha": -0.1},
            {"alpha": True},
            {"method": "bootstrap"},
            {"alternative": "two_sided"},
            {"tuning_n": 0},
        ],
    )
    def test_bad_parameters_raise(self, kwargs):
        with pytest.raises(ValueError):
            stats.compare_means(SampleStats(10, 5, 5), SampleStats(10, 6, 6), **kwargs)

    def test_wrong_statistics_type_raises(self):
        with pytest.raises(TypeError):
            stats.compare_means(RatioStats(1, 1, 1, 1, 1, 1), RatioStats(1, 1, 1, 1, 1, 1))
        with pytest.raises(TypeError):
            stats.bayes_normal(SampleStats(10, 5, 5), RatioStats(10, 1, 1, 1, 1, 1))

    def test_flags_are_declared(self):
        assert {"too_few_users", "zero_variance", "zero_control_mean"} <= set(stats.FLAGS)


# ---------------------------------------------------------------------------- ratio metrics


@pytest.fixture(scope="module")
def orders() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-user revenue (num) and orders (den) for two arms; revenue per order ≈ 50 vs 55."""
    rng = np.random.default_rng(11)

    def arm(n: int, value: float) -> tuple[np.ndarray, np.ndarray]:
        count = rng.poisson(1.5, n).astype(float)
        revenue = rng.gamma(shape=2.0 * count, scale=value / 2.0)  # shape 0 → 0 revenue
        return revenue, count

    return (*arm(3000, 50.0), *arm(3000, 55.0))


class TestCompareRatios:
    def test_delta_variance_equals_linearised_values(self, orders):
        num_c, den_c, num_t, den_t = orders
        r = stats.compare_ratios(
            RatioStats.from_values(num_c, den_c), RatioStats.from_values(num_t, den_t)
        )

        # hand-derived: the delta method is the variance of the linearised per-user values
        # (num − R·den)/mean(den)
        def lin_var(num, den):
            ratio = num.sum() / den.sum()
            return ((num - ratio * den) / den.mean()).var(ddof=1) / num.size

        se = math.sqrt(lin_var(num_c, den_c) + lin_var(num_t, den_t))
        assert r.abs_se == pytest.approx(se, rel=1e-9)
        assert r.control_mean == pytest.approx(num_c.sum() / den_c.sum(), rel=1e-12)
        assert r.metric_kind == "ratio" and r.valid

    def test_delta_se_close_to_bootstrap(self, orders):
        num_c, den_c, num_t, den_t = orders
        r = stats.compare_ratios(
            RatioStats.from_values(num_c, den_c), RatioStats.from_values(num_t, den_t)
        )
        # reference: nonparametric bootstrap over users, 4000 resamples, seeded
        rng = np.random.default_rng(3)
        b = 4000

        def boot(num, den):
            idx = rng.integers(0, num.size, size=(b, num.size))
            return num[idx].sum(axis=1) / den[idx].sum(axis=1)

        ratio_c, ratio_t = boot(num_c, den_c), boot(num_t, den_t)
        # bootstrap SE has ~1/sqrt(2B) ≈ 1.1 % Monte-Carlo error: 5 % tolerance
        assert r.abs_se == pytest.approx((ratio_t - ratio_c).std(ddof=1), rel=0.05)
        assert r.rel_se == pytest.approx((ratio_t / ratio_c - 1).std(ddof=1), rel=0.05)

    def test_denominator_of_ones_reduces_to_compare_means(self, skewed):
        control, treatment = skewed
        ones_c, ones_t = np.ones_like(control), np.ones_like(treatment)
        ratio = stats.compare_ratios(
            RatioStats.from_values(control, ones_c), RatioStats.from_values(treatment, ones_t)
        )
        means = stats.compare_means(
            SampleStats.from_values(control), SampleStats.from_values(treatment)
        )
        assert ratio.p_value == pytest.approx(means.p_value, rel=1e-9)
        assert ratio.rel_ci == pytest.approx(means.rel_ci, rel=1e-9)

    def test_zero_denominator_is_flagged(self):
        r = stats.compare_ratios(
            RatioStats(100, 0, 0, 0, 0, 0), RatioStats(100, 50, 100, 10, 10, 50)
        )
        assert r.flag == "zero_denominator" and not r.valid
        _json_roundtrip(r)


# ---------------------------------------------------------------------------- CUPED


@pytest.fixture(scope="module")
def pre_post() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    n_c, n_t = 2500, 2600
    x = rng.gamma(2.0, 5.0, n_c + n_t)
    x[rng.random(n_c + n_t) < 0.15] = 0.0  # no pre-period data → covariate 0
    treat = np.r_[np.zeros(n_c), np.ones(n_t)]
    y = 3.0 + 0.8 * x + 0.6 * treat + rng.normal(0, 4.0, n_c + n_t)
    return {"x": x, "y": y, "treat": treat}


class TestCuped:
    def test_matches_ols_with_robust_standard_errors(self, pre_post):
        x, y, treat = pre_post["x"], pre_post["y"], pre_post["treat"]
        c = CupedStats.from_values(y[treat == 0], x[treat == 0])
        t = CupedStats.from_values(y[treat == 1], x[treat == 1])
        r = stats.cuped(c, t)
        # reference: statsmodels OLS y ~ 1 + treatment + (x − mean x), cov_type="HC2"
        design = np.column_stack([np.ones_like(y), treat, x - x.mean()])
        fit = sm.OLS(y, design).fit(cov_type="HC2")
        assert r.abs_lift == pytest.approx(fit.params[1], rel=1e-9)  # same estimator
        assert r.theta == pytest.approx(fit.params[2], rel=1e-9)
        assert r.abs_se == pytest.approx(fit.bse[1], rel=0.01)  # θ treated as known: ~1 %
        # the adjusted control mean is the regression's intercept
        assert r.control_mean == pytest.approx(fit.params[0], rel=1e-9)
        assert r.metric_kind == "cuped" and r.valid

    def test_variance_reduction_is_about_rho_squared(self, pre_post):
        x, y, treat = pre_post["x"], pre_post["y"], pre_post["treat"]
        c = CupedStats.from_values(y[treat == 0], x[treat == 0])
        t = CupedStats.from_values(y[treat == 1], x[treat == 1])
        r = stats.cuped(c, t)
        # hand-derived: within-arm correlation squared, pooled
        rho = np.corrcoef(
            np.r_[x[treat == 0] - x[treat == 0].mean(), x[treat == 1] - x[treat == 1].mean()],
            np.r_[y[treat == 0] - y[treat == 0].mean(), y[treat == 1] - y[treat == 1].mean()],
        )[0, 1]
        assert r.variance_reduction == pytest.approx(rho**2, abs=0.01)
        raw = stats.compare_means(c.outcome(), t.outcome())
        assert r.abs_se == pytest.approx(raw.abs_se * math.sqrt(1 - r.variance_reduction), rel=1e-9)
        assert r.abs_se < raw.abs_se

    def test_constant_covariate_gives_the_unadjusted_test(self, pre_post):
        y, treat = pre_post["y"], pre_post["treat"]
        zeros = np.zeros_like(y)
        c = CupedStats.from_values(y[treat == 0], zeros[treat == 0])
        t = CupedStats.from_values(y[treat == 1], zeros[treat == 1])
        r = stats.cuped(c, t)
        raw = stats.compare_means(c.outcome(), t.outcome())
        assert r.theta == 0.0 and r.variance_reduction == pytest.approx(0.0, abs=1e-12)
        assert r.p_value == pytest.approx(raw.p_value, rel=1e-9)

    def test_degenerate_cuped_is_flagged(self):
        r = stats.cuped(CupedStats(1, 1, 1, 1, 1, 1), CupedStats(10, 5, 5, 3, 3, 2))
        assert r.flag == "too_few_users" and not r.valid
        _json_roundtrip(r)


# ---------------------------------------------------------------------------- SRM


class TestSrm:
    def test_matches_scipy_chisquare(self):
        counts = {"control": 5000, "treatment": 5200, "b": 4900}
        planned = {"control": 1, "treatment": 1, "b": 1}
        r = stats.srm_check(counts, planned)
        # reference: scipy.stats.chisquare(f_obs, f_exp)
        ref = st.chisquare([5000, 5200, 4900], [15100 / 3] * 3)
        assert r.chi2 == pytest.approx(ref.statistic, rel=1e-12)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert r.df == 2 and r.status == "warn"  # p = 0.0097

    def test_uneven_plan_and_status_thresholds(self):
        planned = {"control": 20, "treatment": 80}  # weights are normalised
        assert stats.srm_check({"control": 2000, "treatment": 8000}, planned).status == "ok"
        # 2150/7850: chi2 = 150²/2000 + 150²/8000 = 14.06, p ≈ 1.8e-4 → invalid
        r = stats.srm_check({"control": 2150, "treatment": 7850}, planned)
        assert r.chi2 == pytest.approx(14.0625, rel=1e-12) and r.status == "invalid"
        # 2110/7890: chi2 = 110²/2000 + 110²/8000 = 7.5625, p ≈ 0.006 → warn
        r = stats.srm_check({"control": 2110, "treatment": 7890}, planned)
        assert r.chi2 == pytest.approx(7.5625, rel=1e-12) and r.status == "warn"
        assert r.expected_shares == {"control": 0.2, "treatment": 0.8}
        assert r.observed_shares["control"] == pytest.approx(0.211)

    def test_users_in_a_variant_planned_at_zero_is_invalid(self):
        r = stats.srm_check({"a": 100, "b": 100, "c": 3}, {"a": 1, "b": 1, "c": 0})
        assert r.status == "invalid" and r.p_value == 0.0
        assert _json_roundtrip(r)["chi2"] is None

    def test_no_users_is_flagged(self):
        r = stats.srm_check({"a": 0, "b": 0}, {"a": 1, "b": 1})
        assert r.flag == "no_users" and not r.valid
        _json_roundtrip(r)

    def test_tidy_frame(self):
        frame = stats.srm_check({"a": 10, "b": 12}, {"a": 1, "b": 1}).to_frame()
        assert list(frame["variant"]) == ["a", "b"] and frame["p_value"].nunique() == 1

    @pytest.mark.parametrize(
        ("counts", "planned", "kwargs"),
        [
            ({"a": 1, "b": 1}, {"a": 1, "c": 1}, {}),
            ({"a": 1}, {"a": 1}, {}),
            ({"a": -1, "b": 1}, {"a": 1, "b": 1}, {}),
            ({"a": 1, "b": 1}, {"a": -1, "b": 1}, {}),
            ({"a": 1, "b": 1}, {"a": 0, "b": 0}, {}),
            ({"a": 1, "b": 1}, {"a": 1, "b": 1}, {"warn_below": 0.001, "invalid_below": 0.01}),
        ],
    )
    def test_bad_parameters_raise(self, counts, planned, kwargs):
        with pytest.raises(ValueError):
            stats.srm_check(counts, planned, **kwargs)


# ---------------------------------------------------------------------------- multiple testing


class TestAdjustPvalues:
    P = np.array([0.001, 0.04, 0.03, 0.2, 0.012, 0.5, 0.049])

    @pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
    def test_matches_statsmodels(self, ours, theirs):
        # reference: statsmodels.stats.multitest.multipletests(p, method=...)[1]
        expected = multipletests(self.P, method=theirs)[1]
        np.testing.assert_allclose(stats.adjust_pvalues(self.P, ours), expected, rtol=1e-12)

    @pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
    def test_nan_passes_through_and_is_not_counted(self, ours, theirs):
        with_nan = np.array([0.01, np.nan, 0.04, 0.03])
        adjusted = stats.adjust_pvalues(with_nan, ours)
        assert np.isnan(adjusted[1])
        expected = multipletests([0.01, 0.04, 0.03], method=theirs)[1]
        np.testing.assert_allclose(adjusted[[0, 2, 3]], expected, rtol=1e-12)

    def test_none_and_edge_inputs(self):
        np.testing.assert_array_equal(stats.adjust_pvalues(self.P, "none"), self.P)
        assert stats.adjust_pvalues([], "holm").size == 0
        assert np.isnan(stats.adjust_pvalues([np.nan, np.nan], "bh")).all()
        with pytest.raises(ValueError):
            stats.adjust_pvalues([0.5, 1.2], "holm")
        with pytest.raises(ValueError):
            stats.adjust_pvalues([0.5], "bonferroni")


# ---------------------------------------------------------------------------- Bayesian


class TestBayesNormal:
    C = _stats_with(n=2000, mean=10.0, var=25.0)
    T = _stats_with(n=2000, mean=10.4, var=27.0)

    def test_flat_prior_is_the_likelihood(self):
        b = stats.bayes_normal(self.C, self.T)
        z = stats.compare_means(self.C, self.T, method="z")
        assert b.posterior_mean == pytest.approx(z.rel_lift, rel=1e-12)
        assert b.posterior_sd == pytest.approx(z.rel_se, rel=1e-12)
        # hand-derived: P(Δ > 0) = Φ(μ/σ)
        assert b.chance_to_beat_control == pytest.approx(
            st.norm.cdf(z.rel_lift / z.rel_se), rel=1e-12
        )
        assert b.credible_interval == pytest.approx(z.rel_ci, rel=1e-9)

    def test_expected_loss_matches_numerical_integration(self):
        b = stats.bayes_normal(self.C, self.T)
        mu, sd = b.posterior_mean, b.posterior_sd
        # reference: scipy.integrate.quad of max(0, −Δ)·N(Δ; μ, σ) and max(0, Δ)·N(Δ; μ, σ)
        loss_ship = integrate.quad(lambda d: -d * st.norm.pdf(d, mu, sd), -np.inf, 0)[0]
        loss_keep = integrate.quad(lambda d: d * st.norm.pdf(d, mu, sd), 0, np.inf)[0]
        assert b.expected_loss == pytest.approx(loss_ship, rel=1e-6)
        assert b.expected_loss_control == pytest.approx(loss_keep, rel=1e-6)

    def test_prior_shrinks_towards_prior_mean(self):
        flat = stats.bayes_normal(self.C, self.T)
        prior = stats.bayes_normal(self.C, self.T, prior_var=0.01**2)
        # hand-derived conjugate normal update
        precision = 1 / flat.rel_se**2 + 1 / 0.01**2
        assert prior.posterior_mean == pytest.approx(flat.rel_lift / flat.rel_se**2 / precision)
        assert 0 < prior.posterior_mean < flat.posterior_mean
        assert prior.chance_to_beat_control < flat.chance_to_beat_control

    def test_lower_is_better_flips(self):
        up = stats.bayes_normal(self.C, self.T)
        down = stats.bayes_normal(self.C, self.T, higher_is_better=False)
        assert up.chance_to_beat_control + down.chance_to_beat_control == pytest.approx(1.0)
        assert down.expected_loss == pytest.approx(up.expected_loss_control)

    def test_works_for_ratio_and_cuped_and_flags_degenerate(self):
        r = stats.bayes_normal(
            RatioStats(100, 500, 5000, 100, 150, 700), RatioStats(100, 550, 5200, 100, 160, 760)
        )
        assert r.metric_kind == "ratio" and r.valid
        bad = stats.bayes_normal(SampleStats(100, 0, 0), SampleStats(100, 0, 0))
        assert bad.flag == "zero_variance" and not bad.valid
        _json_roundtrip(bad)
        with pytest.raises(ValueError):
            stats.bayes_normal(self.C, self.T, prior_var=0)


# ---------------------------------------------------------------------------- sequential


class TestConfidenceSequence:
    C = _stats_with(n=3000, mean=10.0, var=30.0)
    T = _stats_with(n=3100, mean=10.5, var=32.0)

    def test_radius_matches_waudby_smith_rho_form(self):
        r = stats.confidence_sequence(self.C, self.T, alpha=0.05, tuning_n=5000)
        # reference (hand-derived from Waudby-Smith et al. 2023, eq. for the asymptotic
        # normal-mixture CS): radius = σ̂·sqrt(2(tρ²+1)/(t²ρ²)·ln(sqrt(tρ²+1)/α)),
        # ρ² = (−2 ln α + ln(1 − 2 ln α))/t*, with σ̂²/t = Var(estimate), t = users per variant
        alpha, t_star, t = 0.05, 5000, (3000 + 3100) / 2
        rho2 = (-2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))) / t_star
        sigma2 = r.abs_se**2 * t
        radius = math.sqrt(
            sigma2 * 2 * (t * rho2 + 1) / (t**2 * rho2) * math.log(math.sqrt(t * rho2 + 1) / alpha)
        )
        assert r.abs_ci == pytest.approx((r.abs_lift - radius, r.abs_lift + radius), rel=1e-9)
        assert r.method == "sequential" and r.tuning_n == 5000

    def test_p_value_is_inverse_mixture_likelihood_ratio_and_agrees_with_interval(self):
        r = stats.confidence_sequence(self.C, self.T, tuning_n=5000)
        # hand-derived mSPRT (Johari et al.): Λ = sqrt(V/(V+τ²))·exp(τ²θ̂²/(2V(V+τ²)))
        v = r.abs_se**2
        c = -2 * math.log(0.05) + math.log(1 - 2 * math.log(0.05))
        tau2 = v * c * ((3000 + 3100) / 2) / 5000
        lam = math.sqrt(v / (v + tau2)) * math.exp(tau2 * r.abs_lift**2 / (2 * v * (v + tau2)))
        assert r.p_value == pytest.approx(min(1.0, 1 / lam), rel=1e-9)
        # at the interval's end the likelihood ratio is exactly 1/α
        d = r.abs_ci[1] - r.abs_lift
        lam_end = math.sqrt(v / (v + tau2)) * math.exp(tau2 * d**2 / (2 * v * (v + tau2)))
        assert lam_end == pytest.approx(1 / 0.05, rel=1e-9)
        assert (r.p_value < 0.05) == (r.abs_ci[0] > 0 or r.abs_ci[1] < 0)

    def test_wider_than_fixed_horizon_and_same_through_compare_means(self):
        seq = stats.confidence_sequence(self.C, self.T, tuning_n=5000)
        fixed = stats.compare_means(self.C, self.T, method="z")
        assert seq.abs_ci[0] < fixed.abs_ci[0] and seq.abs_ci[1] > fixed.abs_ci[1]
        assert seq.rel_ci[0] < fixed.rel_ci[0] and seq.p_value > fixed.p_value
        via = stats.compare_means(self.C, self.T, method="sequential", tuning_n=5000)
        assert via == seq

    def test_one_sided_uses_one_side_of_the_boundary(self):
        two = stats.confidence_sequence(self.C, self.T, tuning_n=5000)
        greater = stats.confidence_sequence(self.C, self.T, tuning_n=5000, alternative="greater")
        less = stats.confidence_sequence(self.C, self.T, tuning_n=5000, alternative="less")
        assert greater.abs_ci == (two.abs_ci[0], math.inf)
        assert greater.p_value == two.p_value and less.p_value == 1.0

    def test_other_kinds_of_metric(self, pre_post, orders):
        x, y, treat = pre_post["x"], pre_post["y"], pre_post["treat"]
        r = stats.confidence_sequence(
            CupedStats.from_values(y[treat == 0], x[treat == 0]),
            CupedStats.from_values(y[treat == 1], x[treat == 1]),
            tuning_n=2500,
        )
        assert r.metric_kind == "cuped" and r.valid and r.theta is not None
        num_c, den_c, num_t, den_t = orders
        ratio = stats.compare_ratios(
            RatioStats.from_values(num_c, den_c),
            RatioStats.from_values(num_t, den_t),
            method="sequential",
            tuning_n=3000,
        )
        assert ratio.metric_kind == "ratio" and ratio.valid

    def test_degenerate_and_bad_parameters(self):
        r = stats.confidence_sequence(SampleStats(1, 1, 1), SampleStats(5, 2, 2))
        assert r.flag == "too_few_users"
        with pytest.raises(ValueError):
            stats.confidence_sequence(self.C, self.T, tuning_n=-5)


# ---------------------------------------------------------------------------- non-inferiority


class TestNonInferiority:
    C = _stats_with(n=5000, mean=10.0, var=25.0)
    T = _stats_with(n=5000, mean=9.95, var=25.0)

    def test_bound_is_the_lower_end_of_the_two_sided_95_interval(self):
        result = stats.compare_means(self.C, self.T)
        ni = stats.non_inferiority(result, margin=0.03)
        # one-sided α = 0.025 with the same df ⇔ the two-sided 95 % interval's lower end
        assert ni.bound == pytest.approx(result.rel_ci[0], rel=1e-9)
        assert ni.non_inferior == (result.rel_ci[0] > -0.03)
        # hand-derived: t = (rel + margin)/se, p = P(T_df > t)
        t = (result.rel_lift + 0.03) / result.rel_se
        assert ni.p_value == pytest.approx(st.t.sf(t, result.df), rel=1e-7)
        assert ni.non_inferior and ni.p_value < 0.025

    def test_tight_margin_fails_and_direction_mirrors(self):
        assert not stats.non_inferiority((self.C, self.T), margin=0.001).non_inferior
        # lower is better: the upper bound −0.5 % + 1.96·1 % = 1.46 % is within 3 %, not 1 %
        lower = stats.non_inferiority((self.C, self.T), margin=0.03, direction="lower_is_better")
        assert lower.non_inferior and lower.bound == pytest.approx(0.0146, abs=1e-4)
        tight = stats.non_inferiority((self.C, self.T), margin=0.01, direction="lower_is_better")
        assert not tight.non_inferior

    def test_degenerate_and_bad_parameters(self):
        flagged = stats.non_inferiority((SampleStats(0, 0, 0), SampleStats(5, 1, 1)), 0.05)
        assert not flagged.valid and not flagged.non_inferior
        _json_roundtrip(flagged)
        with pytest.raises(ValueError):
            stats.non_inferiority((self.C, self.T), margin=0)
        with pytest.raises(ValueError):
            stats.non_inferiority((self.C, self.T), margin=0.1, direction="up")
        with pytest.raises(TypeError):
            stats.non_inferiority(self.C, margin=0.1)


# ---------------------------------------------------------------------------- proportions


class TestQuickProportions:
    def test_wilson_matches_statsmodels_vectorised(self):
        x, n = np.array([0, 1, 37, 500, 1000]), np.array([10, 20, 400, 1000, 1000])
        low, high = stats.wilson_interval(x, n, alpha=0.05)
        # reference: statsmodels proportion_confint(x, n, alpha=0.05, method="wilson")
        ref_low, ref_high = proportion_confint(x, n, alpha=0.05, method="wilson")
        np.testing.assert_allclose(low, ref_low, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(high, ref_high, rtol=1e-9, atol=1e-12)

    def test_wilson_scalar_and_empty(self):
        low, high = stats.wilson_interval(37, 400, alpha=0.1)
        assert isinstance(low, float)
        assert (low, high) == pytest.approx(proportion_confint(37, 400, 0.1, method="wilson"))
        empty = stats.wilson_interval(np.array([0, 3]), np.array([0, 10]))
        assert np.isnan(empty[0][0]) and not np.isnan(empty[0][1])
        with pytest.raises(ValueError):
            stats.wilson_interval(5, 4)

    def test_two_proportion_test_matches_statsmodels(self):
        r = stats.two_proportion_test(120, 1000, 150, 1050)
        # reference: proportions_ztest([x1, x2], [n1, n2]) (pooled; sign is p1 − p2 there)
        z, p = proportions_ztest([120, 150], [1000, 1050])
        assert r.statistic == pytest.approx(-z, rel=1e-12)
        assert r.p_value == pytest.approx(p, rel=1e-9)
        # reference: confint_proportions_2indep(x2, n2, x1, n1, method="newcomb") (p2 − p1)
        low, high = confint_proportions_2indep(150, 1050, 120, 1000, method="newcomb")
        assert r.ci == pytest.approx((low, high), rel=1e-9)
        assert r.diff == pytest.approx(150 / 1050 - 0.12)
        greater = stats.two_proportion_test(120, 1000, 150, 1050, alternative="greater")
        _, p_greater = proportions_ztest([150, 120], [1050, 1000], alternative="larger")
        assert greater.p_value == pytest.approx(p_greater, rel=1e-9)
        assert greater.ci[1] == math.inf

    def test_two_proportion_degenerate(self):
        assert stats.two_proportion_test(0, 0, 1, 10).flag == "too_few_users"
        r = stats.two_proportion_test(0, 100, 0, 120)
        assert r.flag == "zero_variance" and not r.valid
        _json_roundtrip(r)
        with pytest.raises(ValueError):
            stats.two_proportion_test(11, 10, 1, 10)


# ---------------------------------------------------------------------------- planning


class TestPlanning:
    def test_the_pinned_3623(self):
        # 10 % → 12 %, α = 0.05 two-sided, power 0.8: the online-calculator figure 3,623
        assert stats.sample_size_proportions(0.10, 0.02) == 3623
        assert stats.sample_size_proportions(0.10, 0.20, relative=True) == 3623

    def test_formula_by_hand(self):
        # hand-derived: n = (z_{.975}·sqrt(2·.1·.9) + z_{.8}·sqrt(.1·.9 + .12·.88))² / .02²
        n = (1.959963984540054 * math.sqrt(0.18) + 0.8416212335729143 * math.sqrt(0.1956)) ** 2
        n /= 0.02**2
        assert n == pytest.approx(3622.6, abs=0.05)
        one_sided = (
            1.6448536269514722 * math.sqrt(0.18) + 0.8416212335729143 * math.sqrt(0.1956)
        ) ** 2 / 0.02**2
        assert stats.sample_size_proportions(0.10, 0.02, alternative="greater") == math.ceil(
            one_sided
        )

    def test_power_round_trip(self):
        n = stats.sample_size_proportions(0.10, 0.02)
        assert stats.power_proportions(0.10, 0.02, n) >= 0.8
        assert stats.power_proportions(0.10, 0.02, n - 1) < 0.8
        mde = stats.mde_proportions(0.10, n)
        assert 0.0199 < mde <= 0.02
        assert stats.mde_proportions(0.10, n, relative=True) == pytest.approx(mde / 0.10)
        assert math.isnan(stats.mde_proportions(0.5, 1))

    def test_more_variants_bonferroni(self):
        # 3 variants = 2 comparisons with control: α/2 each
        assert stats.sample_size_proportions(0.1, 0.02, variants=3) == (
            stats.sample_size_proportions(0.1, 0.02, alpha=0.025)
        )

    def test_means_match_statsmodels(self):
        # reference: NormalIndPower().solve_power(effect_size=0.2, alpha=0.05, power=0.8)
        ref = NormalIndPower().solve_power(effect_size=0.2, alpha=0.05, power=0.8, ratio=1.0)
        assert stats.sample_size_means(sd=5.0, mde=1.0) == math.ceil(ref)
        # reference: zt_ind_solve_power(effect_size=0.1, alpha=0.05, power=0.9, alternative="larger")
        ref = zt_ind_solve_power(effect_size=0.1, alpha=0.05, power=0.9, alternative="larger")
        assert stats.sample_size_means(
            sd=2.0, mde=0.02, baseline_mean=10.0, relative=True, power=0.9, alternative="greater"
        ) == math.ceil(ref)
        # reference: NormalIndPower().power(0.2, nobs1=300, alpha=0.05); it adds the far
        # rejection tail Φ(−1.96 − 2.45) ≈ 5e-6, which we ignore
        assert stats.power_means(5.0, 1.0, 300) == pytest.approx(
            NormalIndPower().power(0.2, nobs1=300, alpha=0.05), abs=1e-5
        )
        # reference: NormalIndPower().solve_power(nobs1=500, alpha=0.05, power=0.8) · sd
        d = NormalIndPower().solve_power(nobs1=500, alpha=0.05, power=0.8, ratio=1.0)
        assert stats.mde_means(5.0, 500) == pytest.approx(d * 5.0, rel=1e-5)

    def test_days_and_plan(self):
        assert stats.days_needed(3623, 2, 1000) == 8
        assert stats.days_needed(1000, 2, 1000) == 2
        plan = stats.plan(0.10, 0.02, daily_users=1000)
        assert plan["n_per_variant"] == 3623 and plan["total_n"] == 7246 and plan["days"] == 8
        assert plan["mde_absolute"] == 0.02 and plan["mde_relative"] == 0.2
        json.dumps(plan, allow_nan=False)
        means = stats.plan(50.0, 0.05, relative=True, sd=40.0, variants=3)
        assert means["metric_type"] == "mean" and means["alpha_per_comparison"] == 0.025
        assert means["n_per_variant"] == stats.sample_size_means(40.0, 2.5, alpha=0.025)
        assert "days" not in means

    @pytest.mark.parametrize(
        ("call", "kwargs"),
        [
            (stats.sample_size_proportions, {"baseline": 0.0, "mde": 0.01}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.95}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.0}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.01, "power": 1.0}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.01, "variants": 1}),
            (stats.sample_size_means, {"sd": 0.0, "mde": 1.0}),
            (stats.sample_size_means, {"sd": 1.0, "mde": 0.1, "relative": True}),
            (stats.days_needed, {"n_per_variant": 10, "variants": 2, "daily_users": 0}),
        ],
    )
    def test_bad_parameters_raise(self, call, kwargs):
        with pytest.raises(ValueError):
            call(**kwargs)


# ---------------------------------------------------------------------------- conventions


def test_conventions_describe_the_defaults():
    conv = stats.conventions()
    assert conv == stats.CONVENTIONS
    assert conv["test"] == "welch_t" and conv["sidedness"] == "two-sided" and conv["alpha"] == 0.05
    assert conv["interval_relative"] == "delta_method_ratio_of_means"
    assert conv["multiple_comparisons"] == "holm" and conv["bayesian_prior"] == "flat"
    json.dumps(conv, allow_nan=False)
    seq = stats.conventions(method="sequential", tuning_n=5000, correction="bh", prior_var=0.09)
    assert seq["test"] == "msprt_normal_mixture" and seq["sequential_tuning_n"] == 5000
    assert seq["bayesian_prior"] == "normal(mean=0, var=0.09)"
    with pytest.raises(ValueError):
        stats.conventions(correction="bonferroni")


def test_results_are_frozen_dataclasses():
    r = stats.compare_means(SampleStats(10, 5, 5), SampleStats(10, 6, 6))
    assert isinstance(r, EffectResult)
    with pytest.raises(AttributeError):
        r.p_value = 0.0  # type: ignore[misc]
    assert isinstance(r.to_frame(), pd.DataFrame)
