"""Monte-Carlo checks of opsbook.stats: error rates and coverage on simulated experiments.

Every simulation is seeded and runs 2,000 experiments. A rate r over 2,000 experiments has a
binomial standard deviation sqrt(r(1 − r)/2000) (0.0049 at r = 0.05 and r = 0.95); the
tolerance is three of those. Run with ``-s`` to print the measured rates.
"""

from __future__ import annotations

import math

import numpy as np

from opsbook import stats
from opsbook.stats import CupedStats, RatioStats, SampleStats

N_SIM = 2000
ALPHA = 0.05
TOL_ALPHA = 3 * math.sqrt(ALPHA * (1 - ALPHA) / N_SIM)  # 0.0146
TOL_COVER = 3 * math.sqrt(0.95 * 0.05 / N_SIM)  # 0.0146


def _sample_stats(values: np.ndarray) -> list[SampleStats]:
    """One SampleStats per row of an (experiments × users) matrix, as the engine would sum."""
    n = values.shape[1]
    return [
        SampleStats(n, s, q)
        for s, q in zip(values.sum(axis=1), (values**2).sum(axis=1), strict=True)
    ]


def _ratio_stats(num: np.ndarray, den: np.ndarray) -> list[RatioStats]:
    n = num.shape[1]
    parts = zip(
        num.sum(1), (num**2).sum(1), den.sum(1), (den**2).sum(1), (num * den).sum(1), strict=True
    )
    return [RatioStats(n, *p) for p in parts]


def _cuped_stats(y: np.ndarray, x: np.ndarray) -> list[CupedStats]:
    n = y.shape[1]
    parts = zip(y.sum(1), (y**2).sum(1), x.sum(1), (x**2).sum(1), (x * y).sum(1), strict=True)
    return [CupedStats(n, *p) for p in parts]


def _report(name: str, rate: float) -> None:
    print(f"\n{name}: {rate:.4f} over {N_SIM} experiments")


def _orders(rng: np.random.Generator, n: int, value: float) -> tuple[np.ndarray, np.ndarray]:
    count = rng.poisson(1.5, (N_SIM, n)).astype(float)
    return rng.gamma(shape=2.0 * count, scale=value / 2.0), count


def _pre_post(rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.gamma(2.0, 5.0, (N_SIM, n))
    x[rng.random((N_SIM, n)) < 0.15] = 0.0  # no pre-period data → covariate 0
    y = (2.0 + 0.7 * x + rng.gamma(2.0, 2.0, (N_SIM, n))) * (1 + lift)
    return y, x


# ---------------------------------------------------------------------------- A/A false positives


def test_aa_welch_skewed_revenue():
    rng = np.random.default_rng(101)
    control = _sample_stats(rng.lognormal(1.0, 1.0, (N_SIM, 400)))
    treatment = _sample_stats(rng.lognormal(1.0, 1.0, (N_SIM, 600)))
    rate = np.mean(
        [stats.compare_means(c, t).p_value < ALPHA for c, t in zip(control, treatment, strict=True)]
    )
    _report("A/A Welch (lognormal revenue, 400 vs 600)", rate)
    assert abs(rate - ALPHA) < TOL_ALPHA


def test_aa_welch_conversion_rate():
    rng = np.random.default_rng(102)
    control = _sample_stats((rng.random((N_SIM, 1500)) < 0.08).astype(float))
    treatment = _sample_stats((rng.random((N_SIM, 1500)) < 0.08).astype(float))
    rate = np.mean(
        [stats.compare_means(c, t).p_value < ALPHA for c, t in zip(control, treatment, strict=True)]
    )
    _report("A/A Welch (8 % conversion, 1500 per arm)", rate)
    assert abs(rate - ALPHA) < TOL_ALPHA


def test_aa_cuped():
    rng = np.random.default_rng(103)
    control = _cuped_stats(*_pre_post(rng, 500, 0.0))
    treatment = _cuped_stats(*_pre_post(rng, 500, 0.0))
    results = [stats.cuped(c, t) for c, t in zip(control, treatment, strict=True)]
    rate = np.mean([r.p_value < ALPHA for r in results])
    _report("A/A CUPED (500 per arm, 15 % without pre-period)", rate)
    print(f"mean variance reduction: {np.mean([r.variance_reduction for r in results]):.3f}")
    assert abs(rate - ALPHA) < TOL_ALPHA
    assert np.mean([r.variance_reduction for r in results]) > 0.5


def test_aa_ratio_metric():
    rng = np.random.default_rng(104)
    control = _ratio_stats(*_orders(rng, 800, 50.0))
    treatment = _ratio_stats(*_orders(rng, 800, 50.0))
    rate = np.mean(
        [
            stats.compare_ratios(c, t).p_value < ALPHA
            for c, t in zip(control, treatment, strict=True)
        ]
    )
    _report("A/A ratio, delta method (revenue per order, 800 per arm)", rate)
    assert abs(rate - ALPHA) < TOL_ALPHA


def test_aa_sequential_under_continuous_monitoring():
    """Ten looks (200, 400, ..., 2000 users per arm): the share of A/A experiments that are
    ever significant must stay at or below α for the confidence sequence, while peeking at the
    fixed-horizon Welch test inflates it."""
    rng = np.random.default_rng(105)
    looks, per_look = 10, 200

    def cumulative(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        chunks = values.reshape(N_SIM, looks, per_look)
        return chunks.sum(2).cumsum(1), (chunks**2).sum(2).cumsum(1)

    sum_c, sq_c = cumulative(rng.lognormal(0.0, 0.8, (N_SIM, looks * per_look)))
    sum_t, sq_t = cumulative(rng.lognormal(0.0, 0.8, (N_SIM, looks * per_look)))
    ever_seq = np.zeros(N_SIM, dtype=bool)
    ever_naive = np.zeros(N_SIM, dtype=bool)
    for k in range(looks):
        n = per_look * (k + 1)
        for i in range(N_SIM):
            c = SampleStats(n, sum_c[i, k], sq_c[i, k])
            t = SampleStats(n, sum_t[i, k], sq_t[i, k])
            ever_seq[i] |= stats.confidence_sequence(c, t, tuning_n=1000).p_value < ALPHA
            ever_naive[i] |= stats.compare_means(c, t).p_value < ALPHA
    _report("A/A sequential, ever significant over 10 looks", ever_seq.mean())
    _report("A/A Welch peeking, ever significant over 10 looks", ever_naive.mean())
    assert ever_seq.mean() <= ALPHA + TOL_ALPHA
    assert ever_naive.mean() > ALPHA + TOL_ALPHA  # the problem the sequence solves


# ---------------------------------------------------------------------------- coverage


def test_relative_interval_coverage_means():
    """Treatment = control × 1.05 (lognormal revenue): the true relative lift is exactly 5 %."""
    rng = np.random.default_rng(201)
    control = _sample_stats(rng.lognormal(1.0, 1.0, (N_SIM, 1000)))
    treatment = _sample_stats(1.05 * rng.lognormal(1.0, 1.0, (N_SIM, 1000)))
    cis = [stats.compare_means(c, t).rel_ci for c, t in zip(control, treatment, strict=True)]
    coverage = np.mean([low <= 0.05 <= high for low, high in cis])
    _report("coverage of the 95 % relative CI (means, true lift 5 %)", coverage)
    assert abs(coverage - 0.95) < TOL_COVER


def test_relative_interval_coverage_proportions():
    rng = np.random.default_rng(202)
    control = _sample_stats((rng.random((N_SIM, 3000)) < 0.10).astype(float))
    treatment = _sample_stats((rng.random((N_SIM, 3000)) < 0.11).astype(float))
    cis = [stats.compare_means(c, t).rel_ci for c, t in zip(control, treatment, strict=True)]
    coverage = np.mean([low <= 0.10 <= high for low, high in cis])
    _report("coverage of the 95 % relative CI (10 % → 11 % conversion)", coverage)
    assert abs(coverage - 0.95) < TOL_COVER


def test_relative_interval_coverage_ratio():
    """Order values scaled by 1.08: revenue per order rises by exactly 8 %."""
    rng = np.random.default_rng(203)
    control = _ratio_stats(*_orders(rng, 1000, 50.0))
    treatment = _ratio_stats(*_orders(rng, 1000, 54.0))
    cis = [stats.compare_ratios(c, t).rel_ci for c, t in zip(control, treatment, strict=True)]
    coverage = np.mean([low <= 0.08 <= high for low, high in cis])
    _report("coverage of the 95 % relative CI (ratio, true lift 8 %)", coverage)
    assert abs(coverage - 0.95) < TOL_COVER


def test_relative_interval_coverage_cuped():
    """y scaled by 1.04 in treatment with the same covariate law: the lift is exactly 4 %."""
    rng = np.random.default_rng(204)
    control = _cuped_stats(*_pre_post(rng, 800, 0.0))
    treatment = _cuped_stats(*_pre_post(rng, 800, 0.04))
    cis = [stats.cuped(c, t).rel_ci for c, t in zip(control, treatment, strict=True)]
    coverage = np.mean([low <= 0.04 <= high for low, high in cis])
    _report("coverage of the 95 % relative CI (CUPED, true lift 4 %)", coverage)
    assert abs(coverage - 0.95) < TOL_COVER


def test_sequential_relative_interval_covers_at_every_look():
    """Treatment = control × 1.05: the relative confidence sequence must contain 5 % at all ten
    looks at once in at least 95 % of experiments (up to tolerance)."""
    rng = np.random.default_rng(302)
    looks, per_look = 10, 200

    def cumulative(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        chunks = values.reshape(N_SIM, looks, per_look)
        return chunks.sum(2).cumsum(1), (chunks**2).sum(2).cumsum(1)

    sum_c, sq_c = cumulative(rng.lognormal(0.0, 0.8, (N_SIM, looks * per_look)))
    sum_t, sq_t = cumulative(1.05 * rng.lognormal(0.0, 0.8, (N_SIM, looks * per_look)))
    always = np.ones(N_SIM, dtype=bool)
    for k in range(looks):
        n = per_look * (k + 1)
        for i in range(N_SIM):
            low, high = stats.confidence_sequence(
                SampleStats(n, sum_c[i, k], sq_c[i, k]),
                SampleStats(n, sum_t[i, k], sq_t[i, k]),
                tuning_n=1000,
            ).rel_ci
            always[i] &= low <= 0.05 <= high
    _report("sequential relative CS covering 5 % at all 10 looks", always.mean())
    assert always.mean() >= 0.95 - TOL_COVER
