"""confidence_sequence against the hand-derived mixture boundary.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import math

import pytest

from opsbook import stats
from opsbook.stats import CupedStats, RatioStats, SampleStats
from tests.unit.stats.support import _stats_with

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
