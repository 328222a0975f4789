"""compare_means, compare_ratios and cuped against independent implementations (scipy,
statsmodels) and hand-derived values.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
import statsmodels.api as sm
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.weightstats import CompareMeans

from opsbook import stats
from opsbook.stats import CupedStats, EffectResult, RatioStats, SampleStats
from tests.unit.stats.support import REL, _json_roundtrip, _stats_with

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

    def test_relative_interval_is_fieller_and_rel_se_is_delta_method(self):
        # hand-derived: m_c = 10, s²_c = 4, m_t = 11, s²_t = 9, n = 1000 each
        # var(rel) = 9/(1000·10²) + 11²·4/(1000·10⁴) = 9e-5 + 4.84e-5 = 1.384e-4
        c = _stats_with(n=1000, mean=10.0, var=4.0)
        t = _stats_with(n=1000, mean=11.0, var=9.0)
        r = stats.compare_means(c, t, method="z")
        assert r.rel_lift == pytest.approx(0.1, rel=1e-12)
        assert r.rel_se == pytest.approx(math.sqrt(1.384e-4), rel=1e-10)
        # changed on purpose (was the symmetric delta interval 0.1 ± 1.96·sqrt(1.384e-4)):
        # Fieller, the roots s of (11 − 10s)² = z²(9/1000 + s²·4/1000), minus 1
        z = 1.959963984540054
        qa, qb, qc = 100 - z**2 * 0.004, -220.0, 121 - z**2 * 0.009
        root = math.sqrt(qb**2 - 4 * qa * qc)
        fieller = ((-qb - root) / (2 * qa) - 1, (-qb + root) / (2 * qa) - 1)
        assert r.rel_ci == pytest.approx(fieller, rel=1e-9)
        half = z * math.sqrt(1.384e-4)
        assert abs(r.rel_ci[0] - (0.1 - half)) < 5e-4  # close to the delta interval here
        # ... and not the absolute interval divided by the control mean
        naive = (r.abs_ci[0] / 10, r.abs_ci[1] / 10)
        assert abs(r.rel_ci[0] - naive[0]) > 5e-4

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


def test_results_are_frozen_dataclasses():
    r = stats.compare_means(SampleStats(10, 5, 5), SampleStats(10, 6, 6))
    assert isinstance(r, EffectResult)
    with pytest.raises(AttributeError):
        r.p_value = 0.0  # type: ignore[misc]
    assert isinstance(r.to_frame(), pd.DataFrame)
