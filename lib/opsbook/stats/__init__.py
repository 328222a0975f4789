"""A/B-test, planning and campaign statistics on sufficient statistics and small frames.

The engine (DuckDB, Spark, ...) aggregates each variant to a handful of sums: ``n``, ``sum``,
``sum_squares`` and, for ratio and CUPED metrics, the second metric's sums and the cross-product.
This package never sees user rows; every function here is a pure function of those sums (or of
a small daily frame) and never imports the engine.

What lives where (every public name is re-exported here: import ``from opsbook.stats``):

- ``sufficient``: the per-variant sums (``SampleStats``, ``RatioStats``, ``CupedStats``).
- ``effects``: treatment vs control (``compare_means``, ``compare_ratios``, ``cuped``,
  ``EffectResult``) and the Welch / z / delta-method machinery they share.
- ``sequential``: ``confidence_sequence``, always valid under daily peeking.
- ``noninferiority``: ``non_inferiority``, ``NonInferiorityResult``.
- ``bayes``: ``bayes_normal``, ``BayesResult`` (chance to beat control, expected loss).
- ``srm``: ``srm_check``, ``SrmResult`` (sample ratio mismatch).
- ``multiple``: ``adjust_pvalues`` (Holm, Benjamini–Hochberg) and ``adjust_effects`` (the
  intervals of a family at the adjusted level).
- ``proportions``: ``wilson_interval``, ``two_proportion_test``, ``TwoProportionResult``,
  ``net_promoter_score``, ``NpsResult``.
- ``planning``: sample sizes, power, MDE, ``days_needed``, ``plan``.
- ``conventions``: ``conventions()``, ``CONVENTIONS`` and the conventions themselves (tests,
  intervals, degenerate data, JSON-safe output).
- ``state_space`` and ``did``: counterfactuals without a holdout (``causal_impact``, a
  CausalImpact-style structural time series; ``diff_in_diff``); ``attribution``: multi-touch
  attribution (Markov removal effects); ``timeseries``: daily series and their anomalies.
- ``clv``: predicted customer value -- the BG/NBD purchase model (``fit_bgnbd``, ``BgNbdFit``,
  ``probability_alive``, ``expected_purchases``, ``expected_purchases_new``), the Gamma-Gamma
  spend model (``fit_gamma_gamma``, ``GammaGammaFit``, ``expected_spend``), ``predicted_clv``,
  ``holdout_check`` and ``customer_summary``; fitted on pooled (weighted) customer summaries.
- ``survival``: Kaplan–Meier curves, median survival and the log-rank test (churn curves).
- ``_common``: the parameters' vocabulary, flags, distributions, parameter checks and the result
  base class, shared by the modules above.
"""

from __future__ import annotations

from opsbook.stats._common import FLAGS, Adjustment, Alternative, Direction, Method
from opsbook.stats.bayes import BayesResult, bayes_normal
from opsbook.stats.clv import (
    FIT_ISSUES,
    BgNbdFit,
    GammaGammaFit,
    customer_summary,
    expected_purchases,
    expected_purchases_new,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_check,
    predicted_clv,
    probability_alive,
)
from opsbook.stats.conventions import CONVENTIONS, conventions
from opsbook.stats.did import DidResult, diff_in_diff
from opsbook.stats.effects import (
    DEFAULT_TUNING_N,
    EffectResult,
    compare_means,
    compare_ratios,
    cuped,
)
from opsbook.stats.multiple import adjust_effects, adjust_pvalues
from opsbook.stats.noninferiority import NonInferiorityResult, non_inferiority
from opsbook.stats.planning import (
    days_needed,
    mde_means,
    mde_proportions,
    plan,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from opsbook.stats.proportions import (
    NpsResult,
    TwoProportionResult,
    net_promoter_score,
    two_proportion_test,
    wilson_interval,
)
from opsbook.stats.sequential import confidence_sequence
from opsbook.stats.srm import SrmResult, srm_check
from opsbook.stats.state_space import CausalImpactResult, causal_impact
from opsbook.stats.sufficient import AnyStats, CovariateStats, CupedStats, RatioStats, SampleStats

__all__ = [
    "CONVENTIONS",
    "DEFAULT_TUNING_N",
    "FIT_ISSUES",
    "FLAGS",
    "Adjustment",
    "Alternative",
    "AnyStats",
    "BayesResult",
    "BgNbdFit",
    "CausalImpactResult",
    "CovariateStats",
    "CupedStats",
    "DidResult",
    "Direction",
    "EffectResult",
    "GammaGammaFit",
    "Method",
    "NonInferiorityResult",
    "NpsResult",
    "RatioStats",
    "SampleStats",
    "SrmResult",
    "TwoProportionResult",
    "adjust_effects",
    "adjust_pvalues",
    "bayes_normal",
    "causal_impact",
    "compare_means",
    "compare_ratios",
    "confidence_sequence",
    "conventions",
    "cuped",
    "customer_summary",
    "days_needed",
    "diff_in_diff",
    "expected_purchases",
    "expected_purchases_new",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "holdout_check",
    "mde_means",
    "mde_proportions",
    "net_promoter_score",
    "non_inferiority",
    "plan",
    "power_means",
    "power_proportions",
    "predicted_clv",
    "probability_alive",
    "sample_size_means",
    "sample_size_proportions",
    "srm_check",
    "two_proportion_test",
    "wilson_interval",
]
