"""The churn early warning (流失预警): a model learned from the data's own history, judged on a
cutoff it never saw.

With E the data's end (``as_of``, default the day after the last day with data) and H the
horizon: the models are trained at cutoff E - 2H (features from the days before it, the label
from [E - 2H, E - H)), evaluated at E - H (features before it, outcomes in [E - H, E): known),
and the chosen one scores the users active at E. Training never reads a day from E - H on.
Both models are fitted on the training cutoff; the one with the higher evaluation PR-AUC
(``choose_by``; AUC on request) is chosen and named -- and is the one that scores, exactly as
evaluated (no refit). Selecting on the evaluation cutoff makes its figures slightly optimistic
among the two; the report says so.

At each cutoff at most ``max_users`` users reach pandas: a hash-based sample of the active
population (:func:`opsbook.insight.queries.sample_order`); the population's size and churn rate
are counted in the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from opsbook.errors import InputError
from opsbook.insight.analysis.evaluation import (
    auc,
    average_precision,
    bootstrap_intervals,
    brier,
    calibration_table,
    top_table,
)
from opsbook.insight.analysis.model import (
    Encoding,
    fit_model,
    reference_row,
    risk_of,
)
from opsbook.insight.analysis.settings import MODEL_KINDS, ChurnSettings, ModelKind
from opsbook.insight.queries import (
    LABEL,
    as_date,
    bounded_sample,
    day_number,
    default_as_of,
    features_expression,
    first_activity_day,
    report_activity,
    source_of,
    type_column,
    user_columns,
)

TOP_SHARES = (0.05, 0.10, 0.20)
ChurnIssue = Literal["single_class_training", "single_class_evaluation", "no_active_users"]


@dataclass(frozen=True)
class Evaluation:
    """The chosen model on the evaluation cutoff (see :mod:`.evaluation` for conventions)."""

    users: int  # in the evaluation sample
    churned: int
    auc: float
    auc_interval: tuple[float, float]
    pr_auc: float
    pr_auc_interval: tuple[float, float]
    brier: float
    top: pd.DataFrame  # share, precision, recall, recency_*, lift_vs_recency
    calibration: pd.DataFrame  # predicted, observed, users

    @property
    def base_rate(self) -> float:
        return self.churned / self.users if self.users else math.nan

    def at(self, share: float, column: str) -> float:
        row = self.top[np.isclose(self.top["share"], share)]
        return float(row[column].iloc[0]) if len(row) else math.nan


@dataclass(frozen=True)
class ChurnModel:
    """The trained, evaluated and chosen churn model; ``kind`` None with a ``reason`` when no
    model could be judged (a single class, nobody active). Holds no user rows but its training
    sample's reference row (medians) and the fitted estimator."""

    settings: ChurnSettings
    as_of: date
    cutoffs: dict[str, date]  # train, evaluate, score
    event_types: tuple[str, ...]
    populations: dict[str, dict[str, int]]  # per cutoff: users (and churned) in the engine
    samples: dict[str, int]  # per cutoff: users that reached pandas
    candidates: pd.DataFrame  # kind, auc, pr_auc on the evaluation cutoff
    kind: ModelKind | None
    reason: ChurnIssue | None
    evaluation: Evaluation | None
    encoding: Encoding | None = None
    estimator: Any = None
    reference: np.ndarray | None = field(default=None, repr=False)

    @property
    def available(self) -> bool:
        return self.kind is not None

    def metrics(self) -> dict[str, Any]:
        e = self.evaluation
        return {
            "horizon_days": self.settings.horizon_days,
            "churn_model": {
                "kind": self.kind,
                "reason": self.reason,
                "chosen_by": self.settings.choose_by,
                "auc": e.auc if e else None,
                "auc_interval": list(e.auc_interval) if e else None,
                "pr_auc": e.pr_auc if e else None,
                "pr_auc_interval": list(e.pr_auc_interval) if e else None,
                "brier": e.brier if e else None,
                "base_rate": e.base_rate if e else None,
                "precision_top10": e.at(0.10, "precision") if e else None,
                "recall_top10": e.at(0.10, "recall") if e else None,
                "lift_top10_vs_recency": e.at(0.10, "lift_vs_recency") if e else None,
                "cutoffs": {k: v.isoformat() for k, v in self.cutoffs.items()},
                "populations": self.populations,
                "samples": self.samples,
            },
        }


def features_at(
    source: Any, daily: Any, day: int, s: ChurnSettings, types: tuple[str, ...], label: bool
) -> Any:
    """The engine's features of the users active at local day ``day`` with the model's
    settings ``s``, and the label ``churned`` when ``label``."""
    return features_expression(
        source,
        daily,
        day,
        windows=s.windows,
        active_days=s.active_days,
        type_window=s.type_window,
        types=len(types),
        horizon_days=s.horizon_days if label else None,
    )


def _frame(
    source: Any, daily: Any, day: int, s: ChurnSettings, types: tuple[str, ...], label: bool
) -> tuple[pd.DataFrame, dict[str, int]]:
    features = features_at(source, daily, day, s, types, label)
    sample, sizes = bounded_sample(features, s.max_users, s.seed)
    return named(sample, types, s.type_window), sizes


def named(frame: pd.DataFrame, types: tuple[str, ...], window: int) -> pd.DataFrame:
    """The engine's per-type columns named after their events (``view_item_30d``)."""
    return frame.rename(columns={type_column(i): f"{t}_{window}d" for i, t in enumerate(types)})


def check_history(first_day: int | None, end_day: int, s: ChurnSettings) -> None:
    """Raise when the data do not reach back far enough for the time split."""
    held = 0 if first_day is None else end_day - first_day
    if held < s.history_days:
        raise InputError(
            "user_insight.error.history",
            needed=s.history_days,
            end=date(1970, 1, 1) + timedelta(days=end_day),
            horizon=s.horizon_days,
            window=max(s.windows),
            held=held,
        )


def churn_model(
    report: Any, *, as_of: date | str | None = None, settings: ChurnSettings | None = None
) -> ChurnModel:
    """Train both models at E - 2H, evaluate at E - H, choose (see the module)."""
    s = settings or ChurnSettings()
    source = source_of(report)
    source.require("users")
    end = as_date(as_of) or default_as_of(source)
    e = day_number(end)
    daily, types = report_activity(source, e, s.event_types)
    check_history(first_activity_day(daily), e, s)
    days = {"train": e - 2 * s.horizon_days, "evaluate": e - s.horizon_days, "score": e}
    cutoffs = {k: end - timedelta(days=e - d) for k, d in days.items()}
    train, train_sizes = _frame(source, daily, days["train"], s, types, label=True)
    test, test_sizes = _frame(source, daily, days["evaluate"], s, types, label=True)
    common = {
        "settings": s,
        "as_of": end,
        "cutoffs": cutoffs,
        "event_types": types,
        "populations": {"train": train_sizes, "evaluate": test_sizes},
        "samples": {"train": len(train), "evaluate": len(test)},
    }
    empty = pd.DataFrame(columns=["kind", "auc", "pr_auc"])
    reason = _unusable(train, test)
    if reason is not None:
        return ChurnModel(**common, candidates=empty, kind=None, reason=reason, evaluation=None)

    categorical = [c for c in user_columns(source) if not _numeric(train[c])]
    encoding = Encoding.learn(train.drop(columns=["user_id", LABEL]), categorical)
    x_train, y_train = encoding.matrix(train), train[LABEL].to_numpy(dtype=int)
    x_test, y_test = encoding.matrix(test), test[LABEL].to_numpy(dtype=int)
    fitted, risks, rows = {}, {}, []
    for kind in MODEL_KINDS:
        fitted[kind] = fit_model(kind, x_train, y_train, seed=s.seed, c=s.logistic_c)
        risks[kind] = risk = risk_of(fitted[kind], x_test)
        rows.append(
            {"kind": kind, "auc": auc(risk, y_test), "pr_auc": average_precision(risk, y_test)}
        )
    candidates = pd.DataFrame(rows)
    best = candidates.sort_values(s.choose_by, ascending=False, kind="stable").iloc[0]
    kind = str(best["kind"])
    risk = risks[kind]
    return ChurnModel(
        **common,
        candidates=candidates,
        kind=kind,  # type: ignore[arg-type]
        reason=None,
        evaluation=evaluate(risk, test["recency_days"].to_numpy(), y_test, s),
        encoding=encoding,
        estimator=fitted[kind],
        reference=reference_row(encoding, x_train),
    )


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _unusable(train: pd.DataFrame, test: pd.DataFrame) -> ChurnIssue | None:
    if len(train) == 0 or len(test) == 0:
        return "no_active_users"
    if train[LABEL].nunique() < 2:
        return "single_class_training"
    if test[LABEL].nunique() < 2:
        return "single_class_evaluation"
    return None


def evaluate(risk: np.ndarray, recency: np.ndarray, y: np.ndarray, s: ChurnSettings) -> Evaluation:
    """Every figure of the chosen model on the evaluation sample."""
    intervals = bootstrap_intervals(risk, y, reps=s.bootstrap, seed=s.seed)
    return Evaluation(
        users=len(y),
        churned=int(y.sum()),
        auc=auc(risk, y),
        auc_interval=intervals["auc"],
        pr_auc=average_precision(risk, y),
        pr_auc_interval=intervals["pr_auc"],
        brier=brier(risk, y),
        top=top_table(risk, recency, y, TOP_SHARES),
        calibration=calibration_table(risk, y),
    )
