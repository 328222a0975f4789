"""Predicted customer value: who is still buying, how much more, and what is it worth.

- ``bgnbd``: the BG/NBD purchase model (``fit_bgnbd``, ``BgNbdFit``, ``probability_alive``,
  ``expected_purchases``, ``expected_purchases_new``, ``bgnbd_log_likelihood``).
- ``gamma_gamma``: the Gamma-Gamma spend model (``fit_gamma_gamma``, ``GammaGammaFit``,
  ``expected_spend``, ``gamma_gamma_log_likelihood``).
- ``value``: discounted ``predicted_clv``, the calibration/holdout ``holdout_check`` and
  ``customer_summary`` (transactions to the models' per-customer summary, for small frames).
- ``_mle``: pooling, the log-parameter maximum likelihood with observed-information standard
  errors, and ``FIT_ISSUES`` (why a fit is flagged), shared by the two fits.

Both fits take pooled rows with weights (customers per row) and never raise on degenerate data:
they return ``converged=False``, a ``reason`` and NaN numbers.
"""

from __future__ import annotations

from opsbook.stats.clv._mle import FIT_ISSUES
from opsbook.stats.clv.bgnbd import (
    BgNbdFit,
    bgnbd_log_likelihood,
    expected_purchases,
    expected_purchases_new,
    fit_bgnbd,
    probability_alive,
)
from opsbook.stats.clv.gamma_gamma import (
    GammaGammaFit,
    expected_spend,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)
from opsbook.stats.clv.value import customer_summary, holdout_check, predicted_clv

__all__ = [
    "FIT_ISSUES",
    "BgNbdFit",
    "GammaGammaFit",
    "bgnbd_log_likelihood",
    "customer_summary",
    "expected_purchases",
    "expected_purchases_new",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "holdout_check",
    "predicted_clv",
    "probability_alive",
]
