"""How good is a churn-risk ranking on a cutoff it never saw: AUC and PR-AUC (with weights, so a
bootstrap resample is a vector of counts), their bootstrap intervals, precision and recall in
the top k % of risk, the lift over the recency rule, and the calibration table.

Conventions (those of ``sklearn.metrics``, which the tests use as the oracle):

* AUC = P(score of a churner > score of a stayer) + P(tie) / 2;
* PR-AUC = average precision: sum over the distinct scores, from the highest, of the recall
  gained at that threshold times the precision there;
* the top k % are the ``ceil(k x n)`` highest scores; users tied at the boundary count in
  proportion (the expected value under a random order of the ties), so a coarse score like
  days since the last activity is judged fairly;
* intervals: percentile bootstrap over users (``reps`` resamples, seeded).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Ranked:
    """Users grouped by distinct score, from the highest: ``group`` of each user, groups' count."""

    group: np.ndarray
    groups: int

    @classmethod
    def of(cls, scores: np.ndarray) -> Ranked:
        _, inverse = np.unique(-np.asarray(scores, dtype=float), return_inverse=True)
        return cls(group=inverse.ravel(), groups=int(inverse.max()) + 1 if len(inverse) else 0)

    def sums(self, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted churners and stayers per score group."""
        pos = np.bincount(self.group, weights=weights * y, minlength=self.groups)
        neg = np.bincount(self.group, weights=weights * (1 - y), minlength=self.groups)
        return pos, neg


def _auc_of(pos: np.ndarray, neg: np.ndarray) -> float:
    p, n = pos.sum(), neg.sum()
    if p <= 0 or n <= 0:
        return math.nan
    neg_below = n - np.cumsum(neg)
    return float((pos * (neg_below + neg / 2)).sum() / (p * n))


def _average_precision_of(pos: np.ndarray, neg: np.ndarray) -> float:
    p = pos.sum()
    if p <= 0:
        return math.nan
    tp = np.cumsum(pos)
    everyone = tp + np.cumsum(neg)
    precision = np.divide(tp, everyone, out=np.zeros_like(tp), where=everyone > 0)
    return float((pos / p * precision).sum())


def _arrays(scores: Sequence[float], y: Sequence[int], weights: Sequence[float] | None):
    s = np.asarray(scores, dtype=float)
    labels = np.asarray(y, dtype=float)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=float)
    return s, labels, w


def auc(scores: Sequence[float], y: Sequence[int], weights: Sequence[float] | None = None) -> float:
    """The area under the ROC curve (NaN with one class only)."""
    s, labels, w = _arrays(scores, y, weights)
    return _auc_of(*Ranked.of(s).sums(labels, w))


def average_precision(
    scores: Sequence[float], y: Sequence[int], weights: Sequence[float] | None = None
) -> float:
    """PR-AUC as average precision (NaN without churners)."""
    s, labels, w = _arrays(scores, y, weights)
    return _average_precision_of(*Ranked.of(s).sums(labels, w))


def bootstrap_intervals(
    scores: Sequence[float], y: Sequence[int], *, reps: int, seed: int, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of AUC and PR-AUC: ``reps`` resamples of the users with
    replacement (as counts per user), from ``numpy.random.default_rng(seed)``."""
    s, labels, _ = _arrays(scores, y, None)
    if reps < 1 or len(s) == 0:
        return {"auc": (math.nan, math.nan), "pr_auc": (math.nan, math.nan)}
    ranked = Ranked.of(s)
    rng = np.random.default_rng(seed)
    draws = np.empty((reps, 2))
    for i in range(reps):
        counts = np.bincount(rng.integers(0, len(s), len(s)), minlength=len(s)).astype(float)
        pos, neg = ranked.sums(labels, counts)
        draws[i] = _auc_of(pos, neg), _average_precision_of(pos, neg)
    tail = (1 - level) / 2 * 100
    out = {}
    for j, name in enumerate(("auc", "pr_auc")):
        column = draws[:, j][np.isfinite(draws[:, j])]
        if len(column) == 0:
            out[name] = (math.nan, math.nan)
        else:
            low, high = np.percentile(column, [tail, 100 - tail])
            out[name] = (float(low), float(high))
    return out


def top_share(scores: Sequence[float], y: Sequence[int], share: float) -> tuple[float, float]:
    """(precision, recall) among the ``ceil(share x n)`` users with the highest scores, users
    tied at the boundary counted in proportion."""
    s, labels, w = _arrays(scores, y, None)
    n = len(s)
    if n == 0:
        return math.nan, math.nan
    k = min(n, math.ceil(share * n - 1e-9))
    ranked = Ranked.of(s)
    pos, neg = ranked.sums(labels, w)
    size = pos + neg
    above = np.cumsum(size) - size  # users with a strictly higher score than each group
    taken = np.clip(k - above, 0, size)
    found = float((pos * np.divide(taken, size, out=np.zeros_like(size), where=size > 0)).sum())
    churners = float(pos.sum())
    return found / k, (found / churners if churners > 0 else math.nan)


def top_table(
    risk: Sequence[float], recency: Sequence[float], y: Sequence[int], shares: Sequence[float]
) -> pd.DataFrame:
    """Per top share: the model's precision and recall, the recency rule's (rank by days
    since the last activity), and the lift = model precision / recency precision."""
    rows = []
    for share in shares:
        precision, recall = top_share(risk, y, share)
        rule_precision, rule_recall = top_share(recency, y, share)
        rows.append(
            {
                "share": share,
                "precision": precision,
                "recall": recall,
                "recency_precision": rule_precision,
                "recency_recall": rule_recall,
                "lift_vs_recency": precision / rule_precision if rule_precision > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows)


def calibration_table(risk: Sequence[float], y: Sequence[int], bins: int = 10) -> pd.DataFrame:
    """Reliability: users in ``bins`` bins of predicted risk with quantile edges (sklearn's
    ``calibration_curve(strategy="quantile")``); per non-empty bin the mean predicted risk,
    the observed churn rate and the users."""
    p, labels, _ = _arrays(risk, y, None)
    if len(p) == 0:
        return pd.DataFrame(columns=["predicted", "observed", "users"])
    edges = np.percentile(p, np.linspace(0, 100, bins + 1))
    which = np.searchsorted(edges[1:-1], p)  # a value on an edge falls in the lower bin
    frame = pd.DataFrame({"bin": which, "p": p, "y": labels})
    grouped = frame.groupby("bin")
    return pd.DataFrame(
        {
            "predicted": grouped["p"].mean(),
            "observed": grouped["y"].mean(),
            "users": grouped.size(),
        }
    ).reset_index(drop=True)


def brier(risk: Sequence[float], y: Sequence[int]) -> float:
    """The mean squared difference between predicted risk and the outcome."""
    p, labels, _ = _arrays(risk, y, None)
    return float(np.mean((p - labels) ** 2)) if len(p) else math.nan
