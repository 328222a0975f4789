"""Sample sizes, power and MDE against statsmodels and the formulas.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import json
import math

import pytest
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power

from opsbook import stats

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
