"""How many more purchases will each customer make, and is the customer still "alive"? The
BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing
Science 24(2)).

The story: while alive, a customer buys as a Poisson process with rate lambda ~ gamma(r, alpha)
across customers; after each repeat purchase the customer drops out for good with probability
p ~ beta(a, b). A customer's history is summarised by (x, t_x, T): x = repeat purchases (all
purchases after the first), t_x = time from the first to the last purchase (0 when x = 0), and
T = time from the first purchase to the end of the observation (the customer's age). Times are
in whatever unit the summary uses (days, weeks); ``alpha`` and every horizon ``t`` are in that
same unit.

:func:`fit_bgnbd` fits (r, alpha, a, b) by maximum likelihood on pooled, weighted rows;
:func:`probability_alive`, :func:`expected_purchases` and :func:`expected_purchases_new` answer
the questions a report asks of the fit, vectorised over customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from opsbook.stats.clv._mle import FitIssue, FitSummary, maximise, natural_scale, pooled

#: Fewer customers than this and the four parameters are not estimable (a flagged result).
MIN_CUSTOMERS = 20


@dataclass(frozen=True)
class BgNbdFit(FitSummary):
    """A fitted BG/NBD model: r and alpha (gamma purchase rates, alpha in the summary's time
    unit), a and b (beta dropout probability), their standard errors (delta method from the
    observed information on the log scale), the log-likelihood summed over customers (the
    paper's eq. 7; lifetimes reports it divided by the customers), the customers (summed
    weights) and distinct rows fitted, the L2 ``penalizer`` used, and ``converged`` with a
    ``reason`` (one of ``FIT_ISSUES``) when it did not: then every number is NaN."""

    PARAMETERS = ("r", "alpha", "a", "b")

    r: float
    alpha: float
    a: float
    b: float
    r_se: float
    alpha_se: float
    a_se: float
    b_se: float
    log_likelihood: float
    customers: float
    rows: int
    penalizer: float
    converged: bool
    reason: FitIssue | None


@dataclass(frozen=True)
class _Summary:
    """Rows of (x, t_x, T) with the distinct frequencies indexed once: every x-dependent
    special function is then evaluated per distinct x (a few hundred values) instead of per
    row (up to millions), which is most of a likelihood evaluation's cost."""

    x: np.ndarray
    t_x: np.ndarray
    age: np.ndarray
    levels: np.ndarray
    level_of_row: np.ndarray
    repeat: np.ndarray

    @classmethod
    def of(cls, frequency: Any, recency: Any, T: Any) -> _Summary:
        x = np.asarray(frequency, dtype=float)
        levels, level_of_row = np.unique(x, return_inverse=True)
        return cls(
            x,
            np.broadcast_to(np.asarray(recency, dtype=float), x.shape),
            np.broadcast_to(np.asarray(T, dtype=float), x.shape),
            levels,
            level_of_row.reshape(x.shape),
            x > 0,
        )

    def log_likelihood(self, r: float, alpha: float, a: float, b: float) -> np.ndarray:
        lv = self.levels
        per_level = (
            special.gammaln(r + lv)
            - special.gammaln(r)
            + r * math.log(alpha)
            + special.gammaln(b + lv)
            - special.gammaln(a + b + lv)
            + special.gammaln(a + b)
            - special.gammaln(b)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            drop_weight = np.where(lv > 0, math.log(a) - np.log(b + lv - 1), -np.inf)
        exponent = r + self.x
        out = per_level[self.level_of_row] - exponent * np.log(alpha + self.age)
        # log[(alpha+T)^-(r+x) + a/(b+x-1) (alpha+t_x)^-(r+x)] for repeat buyers, as the alive
        # term plus log1p of the (always finite) ratio of the two terms
        rep = self.repeat
        log_ratio = drop_weight[self.level_of_row[rep]] + exponent[rep] * (
            np.log(alpha + self.age[rep]) - np.log(alpha + self.t_x[rep])
        )
        out[rep] += np.logaddexp(0.0, log_ratio)
        return out


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (the paper's eq. 6), in log-sum-exp form:

    log L = log G(r+x) - log G(r) + r log alpha + log B(a, b+x) - log B(a, b)
            + log[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]"""
    return _Summary.of(frequency, recency, T).log_likelihood(r, alpha, a, b)


def fit_bgnbd(
    frequency: Any, recency: Any, T: Any, weights: Any = None, penalizer: float = 0.0
) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood on a customer summary.

    ``frequency`` (repeat purchases), ``recency`` (t_x) and ``T`` (age) per row, in one time
    unit; ``weights``: customers per row (a pooled summary from the engine), default 1. Identical
    rows are pooled again here, so per-customer input is fine too. ``penalizer``: an L2 penalty
    on (r, alpha, a, b) added to the mean negative log-likelihood (lifetimes' ``penalizer_coef``;
    0 = plain maximum likelihood). Too few customers, nobody with a repeat purchase, or a
    likelihood that runs off to a boundary give a flagged result (``converged=False``, a
    ``reason``, NaN numbers), never an exception; inconsistent summaries raise ValueError."""
    if penalizer < 0 or not math.isfinite(penalizer):
        raise ValueError(f"penalizer must be a non-negative number, got {penalizer!r}")
    rows, w = pooled({"x": frequency, "t_x": recency, "T": T}, weights)
    x, t_x, age = rows["x"], rows["t_x"], rows["T"]
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency (repeat purchases) must be non-negative whole numbers")
    if np.any(t_x < 0) or np.any(t_x > age * (1 + 1e-9)):
        raise ValueError("recency must lie in [0, T]: the last purchase happens within the age")
    if np.any((x == 0) & (t_x > 0)):
        raise ValueError("a customer without repeat purchases has recency 0")
    customers = float(w.sum())

    def flagged(reason: FitIssue) -> BgNbdFit:
        return BgNbdFit(
            **natural_scale(None, BgNbdFit.PARAMETERS),
            log_likelihood=math.nan,
            customers=customers,
            rows=len(x),
            penalizer=penalizer,
            converged=False,
            reason=reason,
        )

    if customers == 0:
        return flagged("no_customers")
    if customers < MIN_CUSTOMERS:
        return flagged("too_few_customers")
    if not np.any(x > 0):
        # with no repeat purchase nobody can have dropped out: a and b are not identified
        return flagged("no_repeat_purchases")

    summary = _Summary.of(x, t_x, age)

    def row_log_likelihood(log_params: np.ndarray) -> np.ndarray:
        return summary.log_likelihood(*np.exp(log_params))

    # start: purchase rate near its observed mean (alpha = r / rate), a moderate dropout
    rate = float(w @ x) / float(w @ np.maximum(age, 1e-9))
    start = np.log([1.0, 1.0 / max(rate, 1e-6), 1.0, 1.0])
    optimum = maximise(row_log_likelihood, w, start, penalizer)
    if optimum.reason is not None:
        return flagged(optimum.reason)
    return BgNbdFit(
        **natural_scale(optimum, BgNbdFit.PARAMETERS),
        log_likelihood=optimum.log_likelihood,
        customers=customers,
        rows=len(x),
        penalizer=penalizer,
        converged=True,
        reason=None,
    )


def probability_alive(fit: BgNbdFit, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """P(alive at T | x, t_x, T): 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).

    A customer with no repeat purchase has not had a chance to drop out, so P(alive) = 1."""
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_dead = (
            math.log(fit.a)
            - np.log(fit.b + x - 1)
            + (fit.r + x) * (np.log(fit.alpha + age) - np.log(fit.alpha + t_x))
        )
    return np.where(x > 0, special.expit(-log_odds_dead), 1.0 if fit.converged else math.nan)


def _purchases_if_alive(fit: BgNbdFit, x: np.ndarray, age: np.ndarray, t: Any) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T, x purchases so far]: the paper's eq. 9 with the
    posterior parameters (r+x, alpha+T, a, b+x), i.e. the numerator of eq. 10.

    The Gauss function is taken after Euler's transformation, 2F1(A, B; C; z) = (1-z)^(C-A-B)
    2F1(C-A, C-B; C; z): with A = r+x and B = b+x it leaves 2F1(a+b-1-r, a-1; a+b+x-1; z),
    whose first two arguments stay small for any x, where the direct series loses all
    precision for frequent buyers. (At a = 1 exactly the formula is 0/0; fits do not land
    there.)"""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    horizon = np.asarray(t, dtype=float)
    z = horizon / (alpha + age + horizon)
    share = (alpha + age) / (alpha + age + horizon)  # 1 - z
    tail = share ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * (1 - tail)


def expected_purchases(fit: BgNbdFit, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """Expected purchases in the next ``t`` time units for customers with history (x, t_x, T):
    the paper's eq. 10 = P(alive) x E[purchases in (T, T+t] | alive]. Broadcasts over ``t``
    and the customers (lifetimes: ``conditional_expected_number_of_purchases_up_to_time``)."""
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    return probability_alive(fit, x, recency, age) * _purchases_if_alive(fit, x, age, t)


def expected_purchases_new(fit: BgNbdFit, t: Any) -> np.ndarray:
    """Expected repeat purchases in (0, t] of a customer just acquired (the paper's eq. 9):
    (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]."""
    return _purchases_if_alive(fit, np.zeros(()), np.zeros(()), t)
