"""How much will a customer spend per purchase? The Gamma-Gamma model of monetary value (Fader,
Hardie & Lee 2005, "RFM and CLV: using iso-value curves for customer base analysis", Journal
of Marketing Research 42(4); Fader & Hardie 2013, "The Gamma-Gamma model of monetary value").

The story: each purchase's value is gamma(p, nu) with a customer's own scale nu, and nu ~
gamma(q, v) across customers; only repeat purchases enter (the first one is the acquisition,
often different). A customer is summarised by x = repeat purchases and m = their mean value.
The model assumes spend per purchase does not depend on how often one buys: the fit reports the
correlation between x and m among repeat customers, which should be near 0.

:func:`fit_gamma_gamma` fits (p, q, v) by maximum likelihood on pooled, weighted rows;
:func:`expected_spend` gives the conditional expected mean spend per purchase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from opsbook.stats.clv._mle import FitIssue, FitSummary, maximise, natural_scale, pooled

#: Fewer repeat customers than this and (p, q, v) are not estimable (a flagged result).
MIN_REPEAT_CUSTOMERS = 20


@dataclass(frozen=True)
class GammaGammaFit(FitSummary):
    """A fitted Gamma-Gamma spend model: p (shape of one purchase's value), q and v (shape and
    scale of the customers' gamma-distributed rates, v in the currency of the spend), their
    standard errors (delta method from the observed information on the log scale), the
    log-likelihood summed over repeat customers, the repeat ``customers`` and distinct ``rows``
    fitted, ``excluded`` customers (repeat customers with a mean spend <= 0, which the model
    cannot hold), the weighted Pearson ``frequency_spend_correlation`` among the repeat
    customers (the independence check: near 0 is what the model assumes), the L2
    ``penalizer``, and ``converged`` with a ``reason`` (one of ``FIT_ISSUES``) when it did not:
    then every fitted number is NaN."""

    PARAMETERS = ("p", "q", "v")

    p: float
    q: float
    v: float
    p_se: float
    q_se: float
    v_se: float
    log_likelihood: float
    customers: float
    rows: int
    excluded: float
    frequency_spend_correlation: float
    penalizer: float
    converged: bool
    reason: FitIssue | None

    @property
    def mean_spend(self) -> float:
        """The population's expected spend per purchase, p v / (q - 1) (infinite for q <= 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else math.inf


def gamma_gamma_log_likelihood(
    p: float, q: float, v: float, frequency: Any, mean_spend: Any
) -> np.ndarray:
    """Each repeat customer's log-likelihood of a mean spend m over x purchases:

    log G(px+q) - log G(px) - log G(q) + q log v + (px-1) log m + px log x - (px+q) log(v+xm)"""
    x = np.asarray(frequency, dtype=float)
    levels, level_of_row = np.unique(x, return_inverse=True)
    return _log_likelihood(p, q, v, x, np.asarray(mean_spend, dtype=float), levels, level_of_row)


def _log_likelihood(
    p: float,
    q: float,
    v: float,
    x: np.ndarray,
    m: np.ndarray,
    levels: np.ndarray,
    level_of_row: np.ndarray,
) -> np.ndarray:
    """The log-likelihood with the gamma functions evaluated once per distinct x."""
    per_level = (
        special.gammaln(p * levels + q)
        - special.gammaln(p * levels)
        - special.gammaln(q)
        + q * math.log(v)
        + p * levels * np.log(levels)
    )
    px = p * x
    return (
        per_level[level_of_row.reshape(x.shape)]
        + (px - 1) * np.log(m)
        - (px + q) * np.log(v + x * m)
    )


def fit_gamma_gamma(
    frequency: Any, mean_spend: Any, weights: Any = None, penalizer: float = 0.0
) -> GammaGammaFit:
    """Fit Gamma-Gamma by maximum likelihood on (repeat purchases, mean spend per purchase).

    Rows with ``frequency`` 0 do not enter (pass every customer or only repeat ones); repeat
    customers whose mean spend is not positive are excluded and counted in ``excluded``.
    ``weights``: customers per row, default 1; identical rows are pooled. ``penalizer``: L2
    penalty on (p, q, v) as lifetimes' ``penalizer_coef``. Too few repeat customers or a
    likelihood that runs off to a boundary (e.g. everyone spends the same) give a flagged result,
    never an exception."""
    if penalizer < 0 or not math.isfinite(penalizer):
        raise ValueError(f"penalizer must be a non-negative number, got {penalizer!r}")
    rows, w = pooled({"x": frequency, "m": mean_spend}, weights)
    if np.any(rows["x"] < 0) or np.any(rows["x"] != np.round(rows["x"])):
        raise ValueError("frequency (repeat purchases) must be non-negative whole numbers")
    repeat = rows["x"] > 0
    usable = repeat & (rows["m"] > 0)
    excluded = float(w[repeat & ~usable].sum())
    x, m, w = rows["x"][usable], rows["m"][usable], w[usable]
    customers = float(w.sum())
    correlation = _weighted_correlation(x, m, w)

    def result(optimum: Any, reason: FitIssue | None) -> GammaGammaFit:
        return GammaGammaFit(
            **natural_scale(optimum, GammaGammaFit.PARAMETERS),
            log_likelihood=optimum.log_likelihood if reason is None else math.nan,
            customers=customers,
            rows=len(x),
            excluded=excluded,
            frequency_spend_correlation=correlation,
            penalizer=penalizer,
            converged=reason is None,
            reason=reason,
        )

    if customers == 0:
        return result(None, "no_repeat_purchases")
    if customers < MIN_REPEAT_CUSTOMERS:
        return result(None, "too_few_customers")

    levels, level_of_row = np.unique(x, return_inverse=True)

    def row_log_likelihood(log_params: np.ndarray) -> np.ndarray:
        p, q, v = np.exp(log_params)
        return _log_likelihood(p, q, v, x, m, levels, level_of_row)

    # start: p = 1, q = 2 and v matching the mean spend (E[m] = p v / (q - 1))
    start = np.log([1.0, 2.0, float(w @ m) / customers])
    optimum = maximise(row_log_likelihood, w, start, penalizer)
    return result(optimum, optimum.reason)


def expected_spend(fit: GammaGammaFit, frequency: Any, mean_spend: Any) -> np.ndarray:
    """Conditional expected spend per purchase given x repeat purchases with mean m:

    (p v + p x m) / (p x + q - 1), a weighted average of the population mean p v / (q - 1) and
    the customer's own mean. Customers with x = 0 get the population mean (their m is
    ignored). lifetimes: ``conditional_expected_average_profit``."""
    x = np.asarray(frequency, dtype=float)
    m = np.where(x > 0, np.asarray(mean_spend, dtype=float), 0.0)
    return (fit.p * fit.v + fit.p * x * m) / (fit.p * x + fit.q - 1)


def _weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    total = w.sum()
    if total <= 0:
        return math.nan
    dx = x - (w @ x) / total
    dy = y - (w @ y) / total
    spread = math.sqrt(float(w @ dx**2) * float(w @ dy**2))
    return float(w @ (dx * dy)) / spread if spread > 0 else math.nan
