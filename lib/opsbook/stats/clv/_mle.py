"""What the customer-value fits share (private): pooling identical rows, maximum likelihood on
log-parameters with a numerical Hessian, and the fitted-parameters summary.

Both models are fitted the same way: the parameters are positive, so the optimiser works on
their logarithms (no bounds to hit in the interior, better-shaped likelihood); the objective is
the weighted *mean* negative log-likelihood (its scale does not grow with the number of
customers, which keeps the optimiser's tolerances meaningful) plus an optional L2 penalty on the
natural-scale parameters, like lifetimes' ``penalizer_coef``. Standard errors come from the
observed information: a central-difference Hessian of the log-likelihood in the log-parameters
at the optimum, inverted, and carried to the natural scale by the delta method
(se(theta) = theta x se(log theta)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import optimize, special

from opsbook.stats._common import _json_safe

FitIssue = Literal[
    "no_customers",
    "too_few_customers",
    "no_repeat_purchases",
    "optimiser_failed",
    "parameter_diverged",
    "singular_information",
]

#: Every reason a customer-value fit can be flagged with (``reason`` of a fit).
FIT_ISSUES: tuple[str, ...] = get_args(FitIssue)

# |log parameter| beyond this means the likelihood keeps improving towards 0 or infinity: the
# data do not identify the parameter (e^12 ~ 160,000; real fits sit far inside, in any unit)
_LOG_PARAMETER_LIMIT = 12.0
# central-difference step on the log scale, Richardson-extrapolated from h and h / 2: the
# truncation error falls to O(h^4) while rounding (~1e-16 x 10 / h^2) stays near 1e-9. The flat
# ridges (a with b, q with v) make the inverse amplify Hessian errors; on CDNOW this step gives
# lifetimes' exact (autograd) standard errors to six digits, h = 1e-4 without it only to four.
_HESSIAN_STEP = 4e-3
# Newton steps after the quasi-Newton search (at most; they stop once the step is ~1e-9)
_NEWTON_STEPS = 6


def pooled(
    columns: dict[str, Any], weights: Any = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Identical rows merged into one row carrying the summed weight (customers per row).

    Rows with zero weight are dropped. A million customers on a day grid shrink to the distinct
    (frequency, recency, age) combinations, which is what makes a fit take seconds."""
    frame = pd.DataFrame({name: np.asarray(value, dtype=float) for name, value in columns.items()})
    frame["weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float)
    if not np.isfinite(frame.to_numpy()).all():
        raise ValueError("customer summaries and weights must be finite numbers")
    if (frame["weight"] < 0).any():
        raise ValueError("weights (customers per row) must be non-negative")
    frame = frame[frame["weight"] > 0]
    grouped = frame.groupby(list(columns), sort=False, as_index=False)["weight"].sum()
    return {name: grouped[name].to_numpy() for name in columns}, grouped["weight"].to_numpy()


@dataclass(frozen=True)
class _Optimum:
    log_params: np.ndarray
    log_likelihood: float
    covariance_log: np.ndarray
    reason: FitIssue | None


def maximise(
    row_log_likelihood: Callable[[np.ndarray], np.ndarray],
    weights: np.ndarray,
    start: np.ndarray,
    penalizer: float,
) -> _Optimum:
    """Maximum likelihood on log-parameters: L-BFGS-B from ``start``, then Newton steps with
    the numerical Hessian. L-BFGS-B stops on a relative-decrease test that leaves the last
    digits unsettled along the likelihood's flat ridges (a and b of BG/NBD); a few Newton
    steps settle them to ~1e-7, where the published fits are quoted.

    ``row_log_likelihood(log_params)`` returns each row's log-likelihood; ``weights`` are the
    customers per row. Returns the optimum, its log-likelihood (unpenalised, summed over
    customers), the covariance of the log-parameters (inverse of the penalised observed
    information) and a ``reason`` when the optimum is not usable."""
    total = float(weights.sum())

    def objective(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            ll = row_log_likelihood(log_params)
        value = -float(np.sum(weights * ll)) / total  # not BLAS: its threads stall under load
        if penalizer:
            value += penalizer * float(np.sum(np.exp(2 * log_params)))
        return value if math.isfinite(value) else math.inf

    search = optimize.minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=[(-2 * _LOG_PARAMETER_LIMIT, 2 * _LOG_PARAMETER_LIMIT)] * len(start),
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    nan_cov = np.full((len(start), len(start)), math.nan)
    at, value = search.x, search.fun
    if not math.isfinite(value):
        return _Optimum(at, math.nan, nan_cov, "optimiser_failed")
    if np.any(np.abs(at) > _LOG_PARAMETER_LIMIT):
        return _Optimum(at, math.nan, nan_cov, "parameter_diverged")
    # Newton steps with the Hessian of the search's end point: near the optimum it barely
    # changes, so one Hessian serves every step (each step then costs 2k evaluations); a plain
    # central-difference one is good enough to steer, the extrapolated one is for the errors
    hessian = _central_hessian(objective, at, value, _HESSIAN_STEP / 2)
    if _positive_definite(hessian):
        for _ in range(_NEWTON_STEPS):
            step = np.linalg.solve(hessian, _gradient(objective, at))
            trial = objective(at - step)
            if not trial <= value:
                break
            at, value = at - step, trial
            if np.max(np.abs(step)) < 1e-9:
                break
        hessian = _hessian(objective, at)
    if not _positive_definite(hessian):
        return _Optimum(at, math.nan, nan_cov, "singular_information")
    if np.linalg.norm(_gradient(objective, at)) > 1e-5:
        return _Optimum(at, math.nan, nan_cov, "optimiser_failed")
    covariance = np.linalg.inv(hessian * total)
    with np.errstate(all="ignore"):
        log_likelihood = float(weights @ row_log_likelihood(at))
    return _Optimum(at, log_likelihood, covariance, None)


def _positive_definite(matrix: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(matrix)) and np.all(np.linalg.eigvalsh(matrix) > 0))


def _hessian(function: Callable[[np.ndarray], float], at: np.ndarray) -> np.ndarray:
    """Central-difference Hessian, Richardson-extrapolated: (4 H(h/2) - H(h)) / 3."""
    centre = function(at)
    coarse = _central_hessian(function, at, centre, _HESSIAN_STEP)
    fine = _central_hessian(function, at, centre, _HESSIAN_STEP / 2)
    return (4 * fine - coarse) / 3


def _central_hessian(
    function: Callable[[np.ndarray], float], at: np.ndarray, centre: float, h: float
) -> np.ndarray:
    """Three-point differences on the diagonal, four-point off it (symmetric)."""
    k = len(at)
    steps = np.eye(k) * h
    out = np.empty((k, k))
    for i in range(k):
        di = steps[i]
        out[i, i] = (function(at + di) - 2 * centre + function(at - di)) / h**2
        for j in range(i + 1, k):
            dj = steps[j]
            out[i, j] = out[j, i] = (
                function(at + di + dj)
                - function(at + di - dj)
                - function(at - di + dj)
                + function(at - di - dj)
            ) / (4 * h * h)
    return out


def _gradient(function: Callable[[np.ndarray], float], at: np.ndarray) -> np.ndarray:
    """Central-difference gradient."""
    h = 1e-6
    return np.array([(function(at + s) - function(at - s)) / (2 * h) for s in np.eye(len(at)) * h])


class FitSummary:
    """Shared questions a fitted customer-value model answers (mixed into the frozen fits).

    A subclass lists its parameter names in ``PARAMETERS`` and holds, per name, the estimate
    (``<name>``) and its standard error (``<name>_se``), plus ``log_likelihood``, ``customers``,
    ``converged`` and ``reason``."""

    PARAMETERS: tuple[str, ...] = ()

    def params(self) -> dict[str, float]:
        """The fitted parameters by name (NaN when the fit did not converge)."""
        return {name: getattr(self, name) for name in self.PARAMETERS}

    def summary_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per parameter: estimate, standard error and a ``1 - alpha`` interval.

        The interval is symmetric on the log scale, exp(log theta +- z se(log theta)), so it
        stays positive like the parameter (lifetimes prints theta +- z se instead; the
        standard errors are the same)."""
        z = float(special.ndtri(1 - alpha / 2))
        rows = []
        for name in self.PARAMETERS:
            estimate, se = getattr(self, name), getattr(self, f"{name}_se")
            spread = math.exp(z * se / estimate) if estimate > 0 else math.nan
            rows.append(
                {
                    "parameter": name,
                    "estimate": estimate,
                    "std_error": se,
                    "lower": estimate / spread,
                    "upper": estimate * spread,
                }
            )
        return pd.DataFrame(rows).set_index("parameter")

    def metrics(self) -> dict[str, Any]:
        """Headline numbers as plain JSON values (NaN becomes None)."""
        numbers: dict[str, Any] = {}
        for name in self.PARAMETERS:
            numbers[name] = getattr(self, name)
            numbers[f"{name}_se"] = getattr(self, f"{name}_se")
        numbers.update(
            log_likelihood=self.log_likelihood,  # type: ignore[attr-defined]
            customers=self.customers,  # type: ignore[attr-defined]
            converged=self.converged,  # type: ignore[attr-defined]
            reason=self.reason,  # type: ignore[attr-defined]
        )
        return _json_safe(numbers)


def natural_scale(optimum: _Optimum | None, names: tuple[str, ...]) -> dict[str, float]:
    """Estimates and delta-method standard errors by name (all NaN for a flagged optimum)."""
    if optimum is None or optimum.reason is not None:
        return {key: math.nan for name in names for key in (name, f"{name}_se")}
    values = np.exp(optimum.log_params)
    ses = values * np.sqrt(np.diag(optimum.covariance_log))
    out: dict[str, float] = {}
    for name, value, se in zip(names, values, ses, strict=True):
        out[name] = float(value)
        out[f"{name}_se"] = float(se)
    return out
