"""opsbook.stats' sufficient statistics against numpy.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from opsbook import stats
from opsbook.stats import CupedStats, RatioStats, SampleStats

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
