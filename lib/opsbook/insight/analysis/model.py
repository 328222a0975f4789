"""The churn models (scikit-learn, no hand-written learner) and why a user is at risk.

* :class:`Encoding`: the features frame as a matrix -- numbers as they are, each user column
  (channel, region, ...) one-hot over its most frequent values in the training sample, the
  rest as ``(other)``; learned once on the training sample, applied to every later frame.
* :func:`fit_model`: ``logistic`` = standardisation + L2-regularised logistic regression
  (lbfgs); ``gradient_boosting`` = ``HistGradientBoostingClassifier`` with early stopping on a
  seeded 10 % validation split. Both deterministic for a seed.
* :func:`top_reasons`: per user the (at most three) features that raise the risk most:
  for the logistic model each feature's coefficient x standardised value (a user column: the
  sum over its one-hot columns); for gradient boosting, single-feature substitution: the drop
  in predicted risk when that one feature is set to the training sample's median (a user
  column: to its most frequent value) -- one prediction per feature and user, so it is done
  for the users on the contact list only, and per feature only for the users whose value
  differs from the reference (for the others the substitution changes nothing: exactly 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from opsbook.insight.analysis.settings import ModelKind

OTHER = "(other)"
MAX_CATEGORIES = 8
REASONS = 3


@dataclass(frozen=True)
class Encoding:
    """How a features frame becomes the model's matrix (see the module)."""

    numeric: tuple[str, ...]
    categories: tuple[tuple[str, tuple[str, ...]], ...]  # user column -> kept values

    @classmethod
    def learn(cls, frame: pd.DataFrame, categorical: list[str]) -> Encoding:
        numeric = tuple(c for c in frame.columns if c not in categorical)
        kept = []
        for column in categorical:
            values = frame[column].astype("string").fillna(OTHER)
            counts = values.value_counts()
            order = sorted(counts.index, key=lambda v: (-counts[v], str(v)))
            kept.append((column, tuple(str(v) for v in order[:MAX_CATEGORIES] if v != OTHER)))
        return cls(numeric=numeric, categories=tuple(kept))

    @property
    def columns(self) -> list[str]:
        """The matrix's column names: numbers, then ``column=value`` and ``column=(other)``."""
        out = list(self.numeric)
        for column, values in self.categories:
            out += [f"{column}={v}" for v in values] + [f"{column}={OTHER}"]
        return out

    @property
    def features(self) -> list[str]:
        """The features a reason names: the numbers and the user columns."""
        return list(self.numeric) + [column for column, _ in self.categories]

    def groups(self) -> list[np.ndarray]:
        """Per feature of :attr:`features`, its columns in the matrix."""
        out = [np.array([i]) for i in range(len(self.numeric))]
        start = len(self.numeric)
        for _, values in self.categories:
            width = len(values) + 1
            out.append(np.arange(start, start + width))
            start += width
        return out

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        parts = [frame[list(self.numeric)].to_numpy(dtype=float)]
        for column, values in self.categories:
            # a value's position among the kept ones; any other (and a missing one): the last
            codes = pd.Categorical(frame[column].astype("string"), categories=list(values)).codes
            block = np.zeros((len(frame), len(values) + 1))
            block[np.arange(len(frame)), np.where(codes < 0, len(values), codes)] = 1.0
            parts.append(block)
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))


def fit_model(kind: ModelKind, x: np.ndarray, y: np.ndarray, *, seed: int, c: float) -> Any:
    """A fitted scikit-learn classifier of ``kind`` (see the module)."""
    if kind == "logistic":
        model: Any = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    else:
        model = HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.1,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=10,
            random_state=seed,
        )
    return model.fit(x, y.astype(int))


def risk_of(model: Any, x: np.ndarray) -> np.ndarray:
    """Predicted probability of churn per row."""
    return model.predict_proba(x)[:, 1]


def reference_row(encoding: Encoding, x_train: np.ndarray) -> np.ndarray:
    """The population reference a substitution sets a feature to: each number's median over the
    training sample; each user column's most frequent value (its one-hot block's largest mean)."""
    ref = np.median(x_train, axis=0) if len(x_train) else np.zeros(len(encoding.columns))
    for block in encoding.groups()[len(encoding.numeric) :]:
        means = x_train[:, block].mean(axis=0)
        ref[block] = 0.0
        ref[block[int(np.argmax(means))]] = 1.0
    return ref


def contributions(
    kind: ModelKind,
    model: Any,
    encoding: Encoding,
    x: np.ndarray,
    reference: np.ndarray,
    risk: np.ndarray | None = None,
) -> np.ndarray:
    """Per user and feature (:attr:`Encoding.features`) how much it raises the risk (see the
    module): log-odds contributions for the logistic model, risk drops for boosting (``risk``:
    the rows' predicted risk where the caller has it)."""
    groups = encoding.groups()
    out = np.zeros((len(x), len(groups)))
    if len(x) == 0:
        return out
    if kind == "logistic":
        assert isinstance(model, Pipeline)
        scaler, logistic = model[0], model[-1]
        scaled = scaler.transform(x) * logistic.coef_[0]
        for j, block in enumerate(groups):
            out[:, j] = scaled[:, block].sum(axis=1)
        return out
    base = risk_of(model, x) if risk is None else risk
    for j, block in enumerate(groups):
        # a user already at the reference keeps the same risk: only the others are predicted
        # (a prediction is per row, so the figures equal predicting every row)
        moved = (x[:, block] != reference[block]).any(axis=1)
        if moved.any():
            changed = x[moved]
            changed[:, block] = reference[block]
            out[moved, j] = base[moved] - risk_of(model, changed)
    return out


def top_reasons(contribution: np.ndarray, features: list[str], k: int = REASONS) -> np.ndarray:
    """Per user the names of up to ``k`` features with the largest positive contribution, most
    important first (None where fewer features raise the risk); ties by feature order."""
    n = len(contribution)
    out = np.full((n, k), None, dtype=object)
    if n == 0 or contribution.shape[1] == 0:
        return out
    order = np.argsort(-contribution, axis=1, kind="stable")[:, :k]
    names = np.asarray(features, dtype=object)
    for j in range(min(k, order.shape[1])):
        value = contribution[np.arange(n), order[:, j]]
        out[:, j] = np.where(value > 0, names[order[:, j]], None)
    return out
