"""Whom to contact first: every user active at the data's end scored by the chosen churn model,
in chunks, against predicted value -- the risk x value matrix with the revenue at stake, and
the reasons that most often put a user in the high-risk tier.

Scoring streams the whole active population from the engine in chunks of ``chunk_rows`` users
(ordered by id), so no size limit applies and nothing is held but the aggregates; the same
stream (:func:`scored_users`) feeds the activation lists, which alone carry per-user rows and
reasons (never the HTML). Reasons are computed for the high-risk tier only (for gradient
boosting they cost one prediction per feature and user): in the lists for every high-risk user,
on the page for a random sample of at most ``reason_users`` of them -- how often each feature
comes first is a share, which 20,000 users estimate within 0.7 percentage points (95 %).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from opsbook.insight.analysis.churn import ChurnModel, features_at, named
from opsbook.insight.analysis.model import REASONS, contributions, risk_of, top_reasons
from opsbook.insight.analysis.value import VALUE_TIERS, PredictedValue
from opsbook.insight.queries import (
    batches,
    customer_summary_expression,
    day_number,
    report_activity,
    source_of,
)

RISK_TIERS = ("high", "medium", "low")


def _scoring_table(source: Any, model: ChurnModel) -> Any:
    s = model.settings
    e = day_number(model.as_of)
    daily, types = report_activity(source, e, s.event_types)
    features = features_at(source, daily, e, s, types, label=False)
    summary = customer_summary_expression(daily, e).rename(uid="user_id")
    joined = features.left_join(summary, features.user_id == summary.uid)
    return joined.drop("uid"), types


def _scored(
    report: Any, model: ChurnModel, value: PredictedValue
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Chunks of ``user_id, risk, risk_tier, clv, value_tier, recent_revenue`` for every user
    active at the data's end, each with its rows of the model's matrix."""
    s = model.settings
    table, types = _scoring_table(source_of(report), model)
    recent = f"revenue_{max(s.windows)}d"
    for chunk in batches(table, s.chunk_rows):
        chunk = named(chunk, types, s.type_window)
        x = model.encoding.matrix(chunk)
        risk = risk_of(model.estimator, x)
        tier = np.select(
            [risk >= s.tiers.high, risk >= s.tiers.medium], ["high", "medium"], default="low"
        )
        clv = value.clv(chunk["frequency"], chunk["recency"], chunk["T"], chunk["monetary"])
        out = pd.DataFrame(
            {
                "user_id": chunk["user_id"].to_numpy(),
                "risk": risk,
                "risk_tier": tier,
                "clv": clv,
                "value_tier": value.tier(clv),
                "recent_revenue": chunk[recent].to_numpy(dtype=float),
            }
        )
        yield out, x


def _reasons(model: ChurnModel, x: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """Per row of ``x`` (with its predicted ``risk``) the names of its top reasons."""
    effect = contributions(model.kind, model.estimator, model.encoding, x, model.reference, risk)
    return top_reasons(effect, model.encoding.features)


def scored_users(report: Any, model: ChurnModel, value: PredictedValue) -> Iterator[pd.DataFrame]:
    """Chunks of ``user_id, risk, risk_tier, clv, value_tier, recent_revenue, reason_1..3`` for
    every user active at the data's end (reasons for the high-risk tier only)."""
    if not model.available:
        return
    for out, x in _scored(report, model, value):
        reasons = np.full((len(out), REASONS), None, dtype=object)
        high = out["risk_tier"].to_numpy() == "high"
        if high.any():
            reasons[high] = _reasons(model, x[high], out["risk"].to_numpy()[high])
        for j in range(REASONS):
            out[f"reason_{j + 1}"] = reasons[:, j]
        yield out


@dataclass
class _BottomSample:
    """At most ``size`` rows of a stream chosen uniformly at random: those with the smallest
    keyed hashes of their user ids (a bottom-k sample: the same rows however the stream is
    chunked, every row when it holds no more than ``size``)."""

    size: int
    key: str
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    x: np.ndarray | None = None
    risk: np.ndarray = field(default_factory=lambda: np.empty(0))

    def add(self, ids: np.ndarray, x: np.ndarray, risk: np.ndarray) -> None:
        text = np.asarray(ids).astype(str).astype(object)
        hashes = pd.util.hash_array(text, hash_key=self.key)
        self.hashes = np.concatenate([self.hashes, hashes])
        self.x = x if self.x is None else np.vstack([self.x, x])
        self.risk = np.concatenate([self.risk, risk])
        if len(self.hashes) > self.size:
            kept = np.sort(np.argsort(self.hashes, kind="stable")[: self.size])
            self.hashes, self.x, self.risk = self.hashes[kept], self.x[kept], self.risk[kept]


@dataclass(frozen=True)
class ContactMatrix:
    """Per (risk tier, value tier): users, their predicted CLV and their revenue of the longest
    feature window; how often each feature is the first reason of a high-risk user, among the
    ``reason_sample`` of them whose reasons were computed (all of them, or a random sample)."""

    cells: pd.DataFrame  # risk_tier, value_tier, users, clv, recent_revenue
    top_reasons: pd.DataFrame  # reason, users (first reason, in the sample)
    reason_sample: int
    scored: int
    clv_available: bool

    def table(self, column: str = "users") -> pd.DataFrame:
        """Risk tiers (rows) x value tiers (columns) of ``column``."""
        pivot = self.cells.pivot_table(
            index="risk_tier", columns="value_tier", values=column, aggfunc="sum", fill_value=0
        )
        return pivot.reindex(index=list(RISK_TIERS), columns=list(VALUE_TIERS), fill_value=0)

    @property
    def at_risk_users(self) -> int:
        return int(self.cells.loc[self.cells["risk_tier"] == "high", "users"].sum())

    @property
    def revenue_at_risk(self) -> float | None:
        """Predicted CLV of the high-risk tier (None without a value model)."""
        if not self.clv_available:
            return None
        return float(self.cells.loc[self.cells["risk_tier"] == "high", "clv"].sum())

    @property
    def recent_revenue_at_risk(self) -> float:
        return float(self.cells.loc[self.cells["risk_tier"] == "high", "recent_revenue"].sum())

    def metrics(self) -> dict[str, Any]:
        return {
            "scored_users": self.scored,
            "reason_sample": self.reason_sample,
            "at_risk_users": self.at_risk_users,
            "revenue_at_risk": self.revenue_at_risk,
            "recent_revenue_at_risk": self.recent_revenue_at_risk,
            "risk_value": {
                f"{row['risk_tier']}/{row['value_tier']}": int(row["users"])
                for row in self.cells.to_dict("records")
                if row["users"]
            },
        }


def contact_matrix(report: Any, model: ChurnModel, value: PredictedValue) -> ContactMatrix | None:
    """The risk x value matrix over every active user at the data's end (None: no model); the
    first reasons counted on a random sample of at most ``reason_users`` high-risk users (for
    gradient boosting a reason costs one prediction per feature and user)."""
    if not model.available:
        return None
    s = model.settings
    parts, scored = [], 0
    sample = _BottomSample(size=s.reason_users, key=f"{s.seed % 10**16:016d}")
    for chunk, x in _scored(report, model, value):
        scored += len(chunk)
        grouped = chunk.fillna({"clv": 0.0}).groupby(["risk_tier", "value_tier"])
        parts.append(
            grouped.agg(
                users=("user_id", "size"),
                clv=("clv", "sum"),
                recent_revenue=("recent_revenue", "sum"),
            ).reset_index()
        )
        high = chunk["risk_tier"].to_numpy() == "high"
        sample.add(chunk["user_id"].to_numpy()[high], x[high], chunk["risk"].to_numpy()[high])
    columns = ["risk_tier", "value_tier", "users", "clv", "recent_revenue"]
    cells = (
        pd.concat(parts).groupby(["risk_tier", "value_tier"], as_index=False).sum()
        if parts
        else pd.DataFrame(columns=columns)
    )
    first = _reasons(model, sample.x, sample.risk)[:, 0] if len(sample.risk) else []
    reasons = Counter(r for r in first if r is not None)
    top = pd.DataFrame(
        sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])), columns=["reason", "users"]
    )
    return ContactMatrix(
        cells=cells[columns].reset_index(drop=True),
        top_reasons=top,
        reason_sample=len(sample.risk),
        scored=scored,
        clv_available=value.available,
    )
