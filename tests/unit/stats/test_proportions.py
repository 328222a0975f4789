"""wilson_interval and two_proportion_test against statsmodels.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from opsbook import stats
from tests.unit.stats.support import _json_roundtrip

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
