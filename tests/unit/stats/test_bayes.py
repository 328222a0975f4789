"""bayes_normal against hand-derived values and numerical integration.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate

from opsbook import stats
from opsbook.stats import RatioStats, SampleStats
from tests.unit.stats.support import _json_roundtrip, _stats_with

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
        # the flat-prior credible interval is the delta-method (Wald) interval; the reported
        # frequentist rel_ci is Fieller's (the inversion of the test), so compare to the Wald one
        wald = (
            z.rel_lift - 1.959963984540054 * z.rel_se,
            z.rel_lift + 1.959963984540054 * z.rel_se,
        )
        assert b.credible_interval == pytest.approx(wald, rel=1e-9)

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
