"""non_inferiority against the two-sided interval it mirrors.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import pytest
import scipy.stats as st

from opsbook import stats
from opsbook.stats import SampleStats
from tests.unit.stats.support import _json_roundtrip, _stats_with

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
        # hand-derived (changed on purpose: the test behind the Fieller interval, not the
        # delta-method z): t = (m_t − 0.97·m_c)/sqrt(v_t/n_t + 0.97²·v_c/n_c), p = P(T_df > t)
        t = (self.T.mean - 0.97 * self.C.mean) / (
            (self.T.variance / self.T.n + 0.97**2 * self.C.variance / self.C.n) ** 0.5
        )
        assert ni.p_value == pytest.approx(st.t.sf(t, result.df), rel=1e-7)
        assert ni.non_inferior and ni.p_value < 0.025

    def test_tight_margin_fails_and_direction_mirrors(self):
        assert not stats.non_inferiority((self.C, self.T), margin=0.001).non_inferior
        # lower is better: the upper bound ≈ −0.5 % + 1.96·1 % (Fieller: 1.47 %) is within 3 %,
        # not 1 %; it is the upper end of the two-sided 95 % relative interval
        lower = stats.non_inferiority((self.C, self.T), margin=0.03, direction="lower_is_better")
        assert lower.non_inferior and lower.bound == pytest.approx(0.0147, abs=1e-4)
        two_sided = stats.compare_means(self.C, self.T)
        assert lower.bound == pytest.approx(two_sided.rel_ci[1], rel=1e-9)
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
