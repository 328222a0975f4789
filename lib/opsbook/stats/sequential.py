"""Always-valid inference for daily peeking: the normal-mixture confidence sequence.

The boundary itself (τ²/V and the radius) sits beside ``_infer`` in ``effects``, which also runs
it for ``compare_means(..., method="sequential")``.
"""

from __future__ import annotations

from opsbook.stats._common import Alternative, _check_alpha, _check_choice, _check_positive
from opsbook.stats.effects import DEFAULT_TUNING_N, EffectResult, _infer, _pair_any
from opsbook.stats.sufficient import AnyStats


def confidence_sequence(
    control: AnyStats,
    treatment: AnyStats,
    *,
    alpha: float = 0.05,
    tuning_n: float = DEFAULT_TUNING_N,
    alternative: Alternative = "two-sided",
) -> EffectResult:
    """Always-valid interval and p-value for daily peeking (any of the three kinds of stats).

    Method: the normal-mixture sequential probability ratio test (mSPRT, Johari, Koomen,
    Pekelis & Walsh 2017/2022), equivalently Robbins' normal-mixture confidence sequence in the
    asymptotic form of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas (2023) / Howard et al.
    (2021). With the estimate θ̂ ~ N(θ, V) and a N(θ0, τ²) mixture over the alternative,

        Λ(θ0) = sqrt(V/(V+τ²)) · exp(τ²(θ̂−θ0)² / (2V(V+τ²))),

    the p-value is min(1, 1/Λ(0)) and the sequence is {θ0 : Λ(θ0) < 1/α}, i.e. θ̂ ± radius with
    radius² = 2V(V+τ²)/τ² · ln(sqrt((V+τ²)/V)/α). τ² is fixed so the interval is tightest at
    ``tuning_n`` users per variant (set it to the planned n from ``plan``). The variance is the
    plug-in estimate, so validity is asymptotic (fine at online sample sizes).

    P(the interval ever misses the truth, at any look) ≤ α: look as often as you like. Each
    look is valid on its own; a report may also keep the running minimum of the p-value and
    the running intersection of the intervals. One-sided alternatives use one side of the
    two-sided boundary (valid, slightly conservative). Λ(θ0) < 1/α is |θ̂ − θ0|/sqrt(V) < c with
    c² = 2(1 + ρ)/ρ · ln(sqrt(1 + ρ)/α), ρ = τ²/V (``mixture_ratio``): the mixture test is a
    z-test with critical value c, so p < α ⇔ the interval excludes 0. The relative interval
    inverts the same mixture test of H0: μ_t = (1 + r)·μ_c (Fieller, τ² = ρ·V(r)), so it too
    excludes 0 ⇔ p < α. ``statistic`` is the z value.
    """
    alpha = _check_alpha(alpha)
    _check_choice(alternative, Alternative, "alternative")
    _check_positive(tuning_n, "tuning_n")
    return _infer(
        _pair_any(control, treatment),
        alpha=alpha,
        alternative=alternative,
        method="sequential",
        tuning_n=tuning_n,
    )
