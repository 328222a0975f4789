"""One answer per question: the p-value (or, in a family, the adjusted p-value), the absolute
interval and the relative interval of every test the reports offer agree.

Property: over thousands of random sufficient statistics (seeded), for every kind of metric
(proportion, mean, ratio, CUPED), method (welch, z, sequential) and alternative,
``significant ⇔ abs_ci excludes 0 ⇔ rel_ci excludes 0``; in Holm and BH families the verdict
(``p_adjusted < alpha``) against the *shown* (adjusted-level) intervals. Before this design
the relative interval was a symmetric delta-method interval beside the absolute (Welch)
p-value: 50/5,000 vs 75/5,000 conversions gave p = 0.024 beside (−3.4 %, +103 %).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
from statsmodels.stats.weightstats import CompareMeans

from opsbook import stats
from opsbook.stats import CupedStats, RatioStats, SampleStats
from tests.unit.stats.support import _stats_with

CASES = 1500  # per kind of metric
METHODS = ("welch", "z", "sequential")
ALTERNATIVES = ("two-sided", "greater", "less")


def _excludes_zero(ci: tuple[float, float]) -> bool:
    return ci[0] > 0 or ci[1] < 0


def _pair_sums(rng, n, mx, my, vx, vy, rho):
    cov = rho * math.sqrt(vx * vy)
    return (
        n * my,
        (n - 1) * vy + n * my**2,
        n * mx,
        (n - 1) * vx + n * mx**2,
        (n - 1) * cov + n * mx * my,
    )


def _random_pairs(kind: str, rng: np.random.Generator, count: int):
    """Random (control, treatment) sufficient statistics of one kind, many near the boundary."""
    pairs = []
    for _ in range(count):
        n_c, n_t = (int(v) for v in rng.integers(30, 20_000, 2))
        lift = rng.uniform(0.6, 1.6)
        if kind == "proportion":
            rate = math.exp(rng.uniform(math.log(0.002), math.log(0.3)))
            k_c = rng.binomial(n_c, rate)
            k_t = rng.binomial(n_t, min(rate * lift, 0.99))
            pairs.append((SampleStats(n_c, k_c, k_c), SampleStats(n_t, k_t, k_t)))
        elif kind == "mean":
            mean, cv = rng.uniform(0.5, 50), rng.uniform(0.3, 5)
            var_c, var_t = (cv * mean) ** 2, (cv * mean * rng.uniform(0.7, 1.4)) ** 2
            m_c = mean + rng.normal() * math.sqrt(var_c / n_c)
            m_t = mean * lift + rng.normal() * math.sqrt(var_t / n_t)
            pairs.append((_stats_with(n_c, m_c, var_c), _stats_with(n_t, m_t, var_t)))
        elif kind == "ratio":
            arms = []
            for n, f in ((n_c, 1.0), (n_t, lift)):
                den, num = rng.uniform(0.5, 3), rng.uniform(5, 80) * f
                v_den, v_num = (den * rng.uniform(0.3, 2)) ** 2, (num * rng.uniform(0.5, 4)) ** 2
                rho = rng.uniform(0.0, 0.9)
                y_sum, y_sq, x_sum, x_sq, xy = _pair_sums(rng, n, den, num, v_den, v_num, rho)
                arms.append(RatioStats(n, y_sum, y_sq, x_sum, x_sq, xy))
            pairs.append(tuple(arms))
        else:  # cuped
            arms = []
            for n, f in ((n_c, 1.0), (n_t, lift)):
                mx, my = rng.uniform(1, 20), rng.uniform(1, 30) * f
                vx, vy = (mx * rng.uniform(0.3, 2)) ** 2, (my * rng.uniform(0.3, 3)) ** 2
                rho = rng.uniform(0.0, 0.95)
                y_sum, y_sq, x_sum, x_sq, xy = _pair_sums(rng, n, mx, my, vx, vy, rho)
                arms.append(CupedStats(n, y_sum, y_sq, x_sum, x_sq, xy))
            pairs.append(tuple(arms))
    return pairs


def _compare(control, treatment, **kwargs):
    if isinstance(control, RatioStats):
        return stats.compare_ratios(control, treatment, **kwargs)
    if isinstance(control, CupedStats):
        return stats.cuped(control, treatment, **kwargs)
    return stats.compare_means(control, treatment, **kwargs)


def disagreements(results) -> tuple[int, int]:
    """(results whose verdict disagrees with a shown interval, valid results)."""
    bad = valid = 0
    for r in results:
        if not r.valid:
            continue
        valid += 1
        significant = r.significant
        if significant != _excludes_zero(r.abs_ci) or significant != _excludes_zero(r.rel_ci):
            bad += 1
    return bad, valid


@pytest.mark.parametrize("kind", ["proportion", "mean", "ratio", "cuped"])
def test_significant_iff_intervals_exclude_zero(kind):
    rng = np.random.default_rng({"proportion": 1, "mean": 2, "ratio": 3, "cuped": 4}[kind])
    pairs = _random_pairs(kind, rng, CASES)
    results = []
    for i, (c, t) in enumerate(pairs):
        method, alternative = METHODS[i % 3], ALTERNATIVES[(i // 3) % 3]
        alpha = (0.05, 0.1, 0.01)[(i // 9) % 3]
        results.append(
            _compare(c, t, method=method, alternative=alternative, alpha=alpha, tuning_n=5000)
        )
    bad, valid = disagreements(results)
    significant = sum(r.significant for r in results)
    assert valid > 0.95 * CASES and 0.1 * valid < significant < 0.9 * valid
    assert bad == 0, f"{bad} of {valid} {kind} results disagree"


@pytest.mark.parametrize("correction", ["holm", "bh"])
@pytest.mark.parametrize("method", METHODS)
def test_families_verdict_against_shown_adjusted_interval(correction, method):
    rng = np.random.default_rng(11)
    kinds = ("proportion", "mean", "ratio", "cuped")
    results, verdicts = [], 0
    for f in range(250):
        alternative = ALTERNATIVES[f % 3]
        family = [
            _compare(c, t, method=method, alternative=alternative, tuning_n=5000)
            for c, t in _random_pairs(kinds[f % 4], rng, int(rng.integers(2, 6)))
        ]
        adjusted = stats.adjust_effects(family, correction)
        for raw, adj in zip(family, adjusted, strict=True):
            assert adj.p_value == raw.p_value  # the raw p-value is unchanged
            if adj.valid:
                assert adj.significant == (adj.p_adjusted < adj.alpha)
                assert adj.interval_alpha <= adj.alpha
                verdicts += adj.significant != raw.significant
        results += adjusted
    bad, valid = disagreements(results)
    assert bad == 0, f"{bad} of {valid} adjusted results disagree"
    assert verdicts > 0  # the adjustment did change some verdicts, and the intervals followed


def test_issue_example_conversion_50_vs_75_of_5000():
    r = stats.compare_means(SampleStats(5000, 50, 50), SampleStats(5000, 75, 75))
    # the Welch p-value is unchanged (reference: scipy ttest_ind on the 0/1 rows)
    c, t = np.r_[np.ones(50), np.zeros(4950)], np.r_[np.ones(75), np.zeros(4925)]
    assert r.p_value == pytest.approx(st.ttest_ind(t, c, equal_var=False).pvalue, rel=1e-9)
    assert r.p_value == pytest.approx(0.0244, abs=1e-4)
    # before: delta method (−3.4 %, +103.4 %); now Fieller, which excludes 0 like the test
    assert r.rel_ci == pytest.approx((0.0548, 1.1923), abs=1e-4)
    assert r.significant and _excludes_zero(r.rel_ci) and _excludes_zero(r.abs_ci)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_relative_interval_ends_are_where_the_same_test_has_p_equal_alpha(skewed, alternative):
    control, treatment = skewed
    r = stats.compare_means(
        SampleStats.from_values(control),
        SampleStats.from_values(treatment),
        method="z",
        alternative=alternative,
    )
    # reference: statsmodels' unequal-variance z-test of treatment against (1 + r)·control,
    # i.e. of H0: μ_t = (1 + r)·μ_c, has p = alpha exactly at each finite end of rel_ci
    for end in r.rel_ci:
        if math.isinf(end):
            continue
        cm = CompareMeans.from_data(treatment, (1 + end) * control)
        _, p = cm.ztest_ind(usevar="unequal", alternative=_sm_alternative(alternative))
        assert p == pytest.approx(0.05, rel=1e-7)
    assert r.significant == _excludes_zero(r.rel_ci)


def _sm_alternative(alternative: str) -> str:
    return {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}[alternative]


def test_sequential_relative_interval_ends_have_mixture_ratio_one_over_alpha():
    c = _stats_with(n=3000, mean=10.0, var=30.0)
    t = _stats_with(n=3100, mean=10.5, var=32.0)
    r = stats.confidence_sequence(c, t, tuning_n=5000)
    # hand-derived: at each end s = 1 + r of the relative sequence, the mixture likelihood
    # ratio of H0: μ_t = s·μ_c (τ² = ratio·V(s)) equals 1/α
    ratio = r.mixture_ratio
    for end in r.rel_ci:
        s = 1 + end
        v = r.treatment_se**2 + s**2 * r.control_se**2
        z2 = (r.treatment_mean - s * r.control_mean) ** 2 / v
        lam = math.sqrt(1 / (1 + ratio)) * math.exp(ratio / (1 + ratio) * z2 / 2)
        assert lam == pytest.approx(1 / 0.05, rel=1e-9)


def test_adjusted_levels_are_holm_and_bh_steps():
    base = [
        stats.compare_means(_stats_with(4000, 10.0, 50.0), _stats_with(4000, 10.0 + d, 50.0))
        for d in (0.24, 0.15, 0.14, 0.06)
    ]
    holm = stats.adjust_effects(base, "holm")
    bh = stats.adjust_effects(base, "bh")
    p = np.array([r.p_value for r in base])
    order = np.argsort(p)
    # the smallest p-value is judged at α/m (Holm) and α/m (BH), the largest at α (BH)
    assert holm[order[0]].interval_alpha == pytest.approx(0.05 / 4, rel=1e-12)
    assert bh[order[-1]].interval_alpha == pytest.approx(0.05, rel=1e-12)
    none = stats.adjust_effects(base, "none")
    assert all(
        a.rel_ci == b.rel_ci and a.interval_alpha == 0.05 for a, b in zip(none, base, strict=True)
    )
