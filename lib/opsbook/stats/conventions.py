"""The conventions behind every number of ``opsbook.stats``.

Conventions (``conventions()`` returns them as a dict a report can print):

- Randomisation unit = user. Every metric is a per-user value; a conversion rate is the mean of
  a 0/1 per-user value (``sum = sum_squares = conversions``) and goes through the same Welch test.
- Frequentist default: Welch's t-test on the difference of means, Welch–Satterthwaite degrees of
  freedom, two-sided, ``alpha = 0.05``. ``method="z"`` uses normal quantiles instead.
- One test per question, and every interval inverts it. The p-value tests the absolute
  difference (Welch, z, or the always-valid normal mixture); the absolute interval is that
  test's interval; the relative lift ``treatment_mean / control_mean - 1`` gets Fieller's
  interval: the relative lifts r at which the *same* test of H0: μ_t = (1 + r)·μ_c, with the
  same critical value (Welch df, normal quantile, or mixture boundary), is not rejected. At
  r = 0 that is the test behind the p-value, so for two- and one-sided alternatives
  ``p < alpha`` ⇔ the absolute interval excludes 0 ⇔ the relative interval excludes 0. The
  relative interval is asymmetric (wider above); where the control mean is itself not clearly
  away from 0 it can be unbounded. ``rel_se`` remains the delta-method standard error
  ``var(rel) ≈ var_t/(n_t m_c²) + m_t² var_c/(n_c m_c⁴)``, used by the Bayesian summary only.
  Non-inferiority tests H0: μ_t = (1 ∓ margin)·μ_c with the same statistic, so its verdict
  agrees with the one-sided relative bound.
- Sequential: the mixture test is a z-test with the critical value
  ``sqrt(2(1+ρ)/ρ · ln(sqrt(1+ρ)/α))`` (ρ = τ²/V), so the always-valid p-value and both
  always-valid intervals agree in the same way.
- Multiple testing (``adjust_effects``): a family's verdicts use the Holm or BH adjusted
  p-value, and its shown intervals are at the level at which each raw p-value is judged,
  ``alpha · p / p_adjusted`` (Holm's step α/(m − k + 1), BH's step α·k/m, smaller where the
  step-down/step-up monotonicity carries another metric's level over). So verdict, colour and
  shown interval agree: the interval excludes 0 ⇔ ``p_adjusted < alpha``.
- Variances come from sums (``(sum_squares - sum²/n)/(n - 1)``); relative rounding noise below
  1e-12 is treated as zero variance. For metrics with a huge mean and a tiny spread, have the
  engine centre the values first.
- Winsorising (capping outliers at a percentile) is the caller's job and happens in the engine
  before the sums are taken; ``opsbook.stats`` assumes the sums already describe capped values.
- Degenerate data (too few users, zero variance, zero control mean, non-finite sums) return a
  result with ``valid=False``, a ``flag`` naming the reason and NaN for what cannot be computed.
  Bad parameters (alpha outside (0, 1), unknown method, negative counts) raise ``ValueError``.
- ``to_dict()`` is JSON-safe: NaN and ±inf (the open end of a one-sided interval) become None.
"""

from __future__ import annotations

from typing import Any

from opsbook.stats._common import Adjustment, Alternative, Method, _check_alpha, _check_choice


def conventions(
    *,
    method: Method = "welch",
    alternative: Alternative = "two-sided",
    alpha: float = 0.05,
    correction: Adjustment = "holm",
    prior_mean: float = 0.0,
    prior_var: float | None = None,
    tuning_n: float | None = None,
    srm_warn_below: float = 0.01,
    srm_invalid_below: float = 0.001,
) -> dict[str, Any]:
    """The conventions behind a report's numbers, as codes and figures a report can print
    (translate the codes through the i18n table; keys and codes are stable)."""
    _check_alpha(alpha)
    _check_choice(method, Method, "method")
    _check_choice(alternative, Alternative, "alternative")
    _check_choice(correction, Adjustment, "correction")
    test = {"welch": "welch_t", "z": "z", "sequential": "msprt_normal_mixture"}[method]
    return {
        "randomisation_unit": "user",
        "test": test,
        "sidedness": alternative,
        "alpha": float(alpha),
        "interval_absolute": "sequential_confidence_sequence" if method == "sequential" else test,
        "interval_relative": "fieller_inverting_the_same_test",
        "proportions": "same_test_as_means",
        "ratio_metrics": "delta_method_with_covariance",
        "variance_reduction": "cuped_pooled_theta",
        "multiple_comparisons": correction,  # intervals at alpha·p/p_adjusted
        "bayesian_prior": (
            "flat" if prior_var is None else f"normal(mean={prior_mean:g}, var={prior_var:g})"
        ),
        "bayesian_scale": "relative_lift",
        "sequential_tuning_n": tuning_n if method == "sequential" else None,
        "srm": {
            "test": "chi_square",
            "warn_below": srm_warn_below,
            "invalid_below": srm_invalid_below,
        },
        "planning": "welch_unpooled_normal_both_tails; bonferroni_over_variants",
    }


#: The defaults, for a report that does not override any.
CONVENTIONS: dict[str, Any] = conventions()
