"""Sample sizes, power and MDE: one set for the test the A/B report runs (Welch, unpooled), checked
against statsmodels and by simulating that test.

Each test names its reference call in a comment; tolerances are stated in the assertion. The
reference effect size for statsmodels' ``NormalIndPower`` is d / sqrt(s²/2), s² the sum of the two
arms' per-user variances (p1q1 + p2q2 for rates, 2·sd² for means): its power
Φ(es·sqrt(n/2) − z) (+ the far tail when two-sided) is then the power of the report's test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power

from opsbook import stats
from opsbook.stats import SampleStats

SM_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


def rate_effect_size(p1: float, p2: float) -> float:
    """statsmodels' effect size for the unpooled two-proportion test: d / sqrt((p1q1 + p2q2)/2)."""
    return (p2 - p1) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)


# ---------------------------------------------------------------------------- known answers


class TestPlanning:
    def test_the_pinned_3839(self):
        # 10 % → 12 %, α = 0.05 two-sided, power 0.8: 3,839 (the calculator convention's 3,623
        # gives the report's test power 0.777 only)
        assert stats.sample_size_proportions(0.10, 0.02) == 3839
        assert stats.sample_size_proportions(0.10, 0.20, relative=True) == 3839

    @pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
    @pytest.mark.parametrize(
        ("p1", "mde", "alpha", "power", "variants"),
        [
            (0.10, 0.02, 0.05, 0.8, 2),
            (0.03, 0.005, 0.05, 0.9, 2),
            (0.50, -0.04, 0.10, 0.8, 2),
            (0.20, 0.03, 0.05, 0.8, 4),  # Bonferroni: α/3 per comparison
        ],
    )
    def test_proportions_match_statsmodels(self, p1, mde, alpha, power, variants, alternative):
        p2 = p1 + mde
        if (alternative == "greater" and mde < 0) or (alternative == "less" and mde > 0):
            with pytest.raises(ValueError, match="other way"):
                stats.sample_size_proportions(p1, mde, alternative=alternative)
            return
        sm = SM_ALTERNATIVE[alternative]
        es = rate_effect_size(p1, p2)
        per_comparison = alpha / (variants - 1)
        kwargs = {"alpha": alpha, "alternative": alternative, "variants": variants}
        # reference: zt_ind_solve_power(effect_size=es, alpha=α/(variants−1), power, alternative)
        ref = zt_ind_solve_power(effect_size=es, alpha=per_comparison, power=power, alternative=sm)
        n = stats.sample_size_proportions(p1, mde, power=power, **kwargs)
        assert n == math.ceil(ref)
        # reference: NormalIndPower().power(es, nobs1=n, alpha=α/(variants−1), alternative)
        for m in (n - 1, n, 10 * n):
            assert stats.power_proportions(p1, mde, m, **kwargs) == pytest.approx(
                NormalIndPower().power(es, nobs1=m, alpha=per_comparison, alternative=sm),
                abs=1e-12,
            )
        # one consistent set: power(n) ≥ power > power(n − 1), and MDE(n) inverts power(n)
        assert stats.power_proportions(p1, mde, n, **kwargs) >= power
        assert stats.power_proportions(p1, mde, n - 1, **kwargs) < power
        found = stats.mde_proportions(p1, n, power=power, **kwargs)
        assert stats.power_proportions(p1, found, n, **kwargs) == pytest.approx(power, abs=1e-10)
        assert math.copysign(1, found) == (-1 if alternative == "less" else 1)
        if alternative != "two-sided" or mde > 0:  # two-sided MDE: the upward change
            assert abs(found) <= abs(mde) and abs(found) > 0.99 * abs(mde)
        # reference: NormalIndPower().power at the MDE's own effect size is the stated power
        sm_power = NormalIndPower().power(
            rate_effect_size(p1, p1 + found), nobs1=n, alpha=per_comparison, alternative=sm
        )
        assert sm_power == pytest.approx(power, abs=1e-10)

    def test_formula_by_hand(self):
        # hand-derived: λ = z_{.975} + z_{.8} (the far tail Φ(−λ − z) ≈ 1e-6 moves n by < 0.01),
        # n = λ²·(.1·.9 + .12·.88)/.02² = 3838.09 → 3,839
        n = (1.959963984540054 + 0.8416212335729143) ** 2 * 0.1956 / 0.02**2
        assert n == pytest.approx(3838.1, abs=0.05)
        one_sided = (1.6448536269514722 + 0.8416212335729143) ** 2 * 0.1956 / 0.02**2
        assert stats.sample_size_proportions(0.10, 0.02, alternative="greater") == math.ceil(
            one_sided
        )

    def test_power_round_trip(self):
        n = stats.sample_size_proportions(0.10, 0.02)
        assert stats.power_proportions(0.10, 0.02, n) >= 0.8
        assert stats.power_proportions(0.10, 0.02, n - 1) < 0.8
        mde = stats.mde_proportions(0.10, n)
        assert 0.0199 < mde <= 0.02
        assert stats.sample_size_proportions(0.10, mde) == n
        assert stats.mde_proportions(0.10, n, relative=True) == pytest.approx(mde / 0.10)
        assert math.isnan(stats.mde_proportions(0.5, 1))
        # a one-sided test against a change the other way has power below α
        assert stats.power_proportions(0.10, -0.02, n, alternative="greater") < 0.05

    def test_more_variants_bonferroni(self):
        # 3 variants = 2 comparisons with control: α/2 each
        for call, args in (
            (stats.sample_size_proportions, (0.1, 0.02)),
            (stats.sample_size_means, (5.0, 1.0)),
        ):
            assert call(*args, variants=3) == call(*args, alpha=0.025)
            assert call(*args, variants=3, alternative="greater") == call(
                *args, alpha=0.025, alternative="greater"
            )

    @pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
    def test_means_match_statsmodels(self, alternative):
        sm = SM_ALTERNATIVE[alternative]
        sign = -1 if alternative == "less" else 1
        # reference: NormalIndPower().solve_power(effect_size=±0.2, alpha=0.05, power=0.8)
        ref = NormalIndPower().solve_power(
            effect_size=sign * 0.2, alpha=0.05, power=0.8, ratio=1.0, alternative=sm
        )
        n = stats.sample_size_means(sd=5.0, mde=sign * 1.0, alternative=alternative)
        assert n == math.ceil(ref)
        # reference: zt_ind_solve_power(effect_size=±0.1, alpha=0.05, power=0.9, alternative)
        ref = zt_ind_solve_power(effect_size=sign * 0.1, alpha=0.05, power=0.9, alternative=sm)
        assert stats.sample_size_means(
            sd=2.0, mde=sign * 0.02, baseline_mean=10.0, relative=True, power=0.9,
            alternative=alternative,
        ) == math.ceil(ref)  # fmt: skip
        # reference: NormalIndPower().power(±0.2, nobs1=m, alpha=0.05), far tail included
        for m in (n - 1, n, 300):
            assert stats.power_means(5.0, sign * 1.0, m, alternative=alternative) == pytest.approx(
                NormalIndPower().power(sign * 0.2, nobs1=m, alpha=0.05, alternative=sm), abs=1e-12
            )
        assert stats.power_means(5.0, sign * 1.0, n - 1, alternative=alternative) < 0.8
        # reference: NormalIndPower().power at the MDE's effect size mde/sd is 0.8 (solve_power's
        # own tolerance is ~1e-6, so the MDE is checked through power instead)
        mde = stats.mde_means(5.0, 500, alternative=alternative)
        assert mde * sign > 0
        assert NormalIndPower().power(mde / 5.0, nobs1=500, alpha=0.05, alternative=sm) == (
            pytest.approx(0.8, abs=1e-10)
        )
        ref = NormalIndPower().solve_power(nobs1=500, alpha=0.05, power=0.8, alternative=sm)
        assert mde == pytest.approx(abs(ref) * 5.0 * sign, rel=1e-5)

    def test_days_and_plan(self):
        assert stats.days_needed(3839, 2, 1000) == 8
        assert stats.days_needed(1000, 2, 1000) == 2
        plan = stats.plan(0.10, 0.02, daily_users=1000)
        assert plan["n_per_variant"] == 3839 and plan["total_n"] == 7678 and plan["days"] == 8
        assert plan["mde_absolute"] == 0.02 and plan["mde_relative"] == 0.2
        assert 0.8 <= plan["achieved_power"] < 0.8001
        assert "p1*(1-p1) + p2*(1-p2)" in plan["formula"]
        assert "Phi(lambda - z) + Phi(-lambda - z)" in plan["formula"]
        json.dumps(plan, allow_nan=False)
        one_sided = stats.plan(0.10, 0.02, alternative="greater")
        assert one_sided["n_per_variant"] == stats.sample_size_proportions(
            0.10, 0.02, alternative="greater"
        )
        assert "Phi(lambda - z) + " not in one_sided["formula"]
        means = stats.plan(50.0, 0.05, relative=True, sd=40.0, variants=3)
        assert means["metric_type"] == "mean" and means["alpha_per_comparison"] == 0.025
        assert means["n_per_variant"] == stats.sample_size_means(40.0, 2.5, alpha=0.025)
        assert "2*sd^2" in means["formula"]
        assert "days" not in means

    @pytest.mark.parametrize(
        ("call", "kwargs"),
        [
            (stats.sample_size_proportions, {"baseline": 0.0, "mde": 0.01}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.95}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.0}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.01, "power": 1.0}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.01, "variants": 1}),
            (stats.sample_size_proportions, {"baseline": 0.1, "mde": 0.01, "power": 0.01}),
            (
                stats.sample_size_proportions,
                {"baseline": 0.1, "mde": -0.01, "alternative": "greater"},
            ),
            (stats.sample_size_means, {"sd": 0.0, "mde": 1.0}),
            (stats.sample_size_means, {"sd": 1.0, "mde": 0.1, "relative": True}),
            (stats.sample_size_means, {"sd": 1.0, "mde": 0.1, "alternative": "less"}),
            (stats.days_needed, {"n_per_variant": 10, "variants": 2, "daily_users": 0}),
        ],
    )
    def test_bad_parameters_raise(self, call, kwargs):
        with pytest.raises(ValueError):
            call(**kwargs)


# ---------------------------------------------------------------------------- simulation

N_SIM = 20_000
#: 3 binomial standard deviations of a rejection rate r over N_SIM experiments
TOL_POWER = 3 * math.sqrt(0.8 * 0.2 / N_SIM)  # 0.0085
TOL_ALPHA = 3 * math.sqrt(0.05 * 0.95 / N_SIM)  # 0.0046


def rejection_rate(control: list[SampleStats], treatment: list[SampleStats], **kwargs) -> float:
    """Share of simulated experiments in which the report's own test rejects."""
    alpha = kwargs.get("alpha", 0.05)
    return float(
        np.mean(
            [
                stats.compare_means(c, t, **kwargs).p_value < alpha
                for c, t in zip(control, treatment, strict=True)
            ]
        )
    )


def rate_arms(rng, n: int, rate: float) -> list[SampleStats]:
    """N_SIM arms of n users converting at ``rate``: the binomial sum is sufficient."""
    return [SampleStats(n, k, k) for k in rng.binomial(n, rate, N_SIM)]


def normal_arms(rng, n: int, mean: float, sd: float) -> list[SampleStats]:
    """N_SIM arms of n normal users, from their sufficient statistics: x̄ ~ N(μ, σ²/n) and
    (n − 1)s²/σ² ~ χ²(n − 1), independent."""
    means = rng.normal(mean, sd / math.sqrt(n), N_SIM)
    ss = sd**2 * rng.chisquare(n - 1, N_SIM)
    return [SampleStats(n, n * m, s + n * m * m) for m, s in zip(means, ss, strict=True)]


@pytest.mark.parametrize(
    ("alternative", "variants", "seed"),
    [("two-sided", 2, 601), ("greater", 2, 602), ("less", 2, 603), ("two-sided", 3, 604)],
)
def test_planned_rate_delivers_its_power(alternative, variants, seed):
    """At the planned n the report's test (``compare_means``, Welch, on binomial draws) rejects
    in 80 % of experiments with the planned change and in α' of those without one (3 binomial
    standard deviations over 20,000 experiments each). 10 % → 12 % (8 % for "less")."""
    rng = np.random.default_rng(seed)
    mde = -0.02 if alternative == "less" else 0.02
    n = stats.sample_size_proportions(0.10, mde, alternative=alternative, variants=variants)
    level = 0.05 / (variants - 1)
    kwargs = {"alpha": level, "alternative": alternative}
    power = rejection_rate(rate_arms(rng, n, 0.10), rate_arms(rng, n, 0.10 + mde), **kwargs)
    size = rejection_rate(rate_arms(rng, n, 0.10), rate_arms(rng, n, 0.10), **kwargs)
    print(f"\n{alternative}, {variants} variants: n = {n}, power {power:.4f}, alpha {size:.4f}")
    assert abs(power - 0.8) < TOL_POWER
    assert abs(size - level) < 3 * math.sqrt(level * (1 - level) / N_SIM)


def test_planned_mean_delivers_its_power():
    """The same for a mean (sd 40, +2.5): power 0.80 at the planned n, α at the null. (The means
    formula already matched; this guards it.)"""
    rng = np.random.default_rng(605)
    n = stats.sample_size_means(40.0, 2.5)
    power = rejection_rate(normal_arms(rng, n, 50.0, 40.0), normal_arms(rng, n, 52.5, 40.0))
    size = rejection_rate(normal_arms(rng, n, 50.0, 40.0), normal_arms(rng, n, 50.0, 40.0))
    print(f"\nmean: n = {n}, power {power:.4f}, alpha {size:.4f}")
    assert abs(power - 0.8) < TOL_POWER
    assert abs(size - 0.05) < TOL_ALPHA


def test_the_command_line_plans_a_one_sided_test(capsys):
    import json

    from opsbook.cli import main
    from opsbook.stats import sample_size_proportions

    assert main(["plan", "--baseline", "0.10", "--mde", "0.02", "--alternative", "greater"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alternative"] == "greater"
    assert out["n_per_variant"] == sample_size_proportions(0.10, 0.02, alternative="greater")
    assert out["n_per_variant"] < sample_size_proportions(0.10, 0.02)  # one tail needs fewer
    # a decrease tested for an increase is refused with a message, exit 1
    assert main(["plan", "--baseline", "0.10", "--mde", "0.02", "--alternative", "less"]) == 1
    assert "tests for a decrease" in capsys.readouterr().err
