"""Scores, the 8-class and 4-tier models and their profiles, on the per-customer RFM table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from opsbook.errors import InputError
from opsbook.report import Report
from opsbook.segmentation.analysis.rfm import RFMTable, compute_rfm
from opsbook.segmentation.queries import Frequency, Monetary, as_date, default_as_of

Threshold = Literal["mean", "median"]
Basis = Literal["values", "scores"]

SCORE_LEVELS = (3, 4, 5)
# (english name, R high, F high, M high), in the order of DOMAIN.md's table
SEGMENTS_8: tuple[tuple[str, bool, bool, bool], ...] = (
    ("champions", True, True, True),
    ("important_to_develop", True, False, True),
    ("important_to_keep", False, True, True),
    ("important_to_win_back", False, False, True),
    ("general_value", True, True, False),
    ("general_to_develop", True, False, False),
    ("general_to_keep", False, True, False),
    ("general_to_win_back", False, False, False),
)
SEGMENT_NAMES = tuple(s[0] for s in SEGMENTS_8)
TIERS = ("high_value", "potential", "low_activity", "churned")
# a higher rank is a better tier: moving up is an upgrade
TIER_RANK = {"high_value": 3, "potential": 2, "low_activity": 1, "churned": 0}


# -- settings -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TierRules:
    """The 4-tier operating model's rules, checked in this order (first match wins).

    churned: no paid order in the ``churn_days`` days before as_of (recency > churn_days);
    high_value: M score >= ``high_value_min_m`` (None: k) and F score >= ``high_value_min_f``;
    potential: a paid order in the ``active_days`` days before as_of (recency <= active_days);
    low_activity: the rest (last order between active_days and churn_days days ago)."""

    churn_days: int = 90
    active_days: int = 30
    high_value_min_m: int | None = None
    high_value_min_f: int = 1

    def resolved(self, k: int) -> TierRules:
        """The rules with defaults filled for ``k`` scores; bad values raise at once."""
        rules = replace(self, high_value_min_m=self.high_value_min_m or k)
        if not 0 < rules.active_days < rules.churn_days:
            raise InputError(
                "segmentation.error.active_days", active=rules.active_days, churn=rules.churn_days
            )
        for name in ("high_value_min_m", "high_value_min_f"):
            value = getattr(rules, name)
            if not 1 <= int(value) <= k:
                raise InputError("segmentation.error.min_score", setting=name, k=k, found=value)
        return rules


@dataclass(frozen=True)
class Settings:
    """Every choice behind one segmentation (printed in the report)."""

    as_of: date
    as_of_default: bool = False  # True when as_of was derived from the data
    lookback_days: int | None = 365
    frequency: Frequency = "orders"
    monetary: Monetary = "total"
    k: int = 5
    threshold: Threshold = "mean"
    basis: Basis = "values"
    rules: TierRules = field(default_factory=TierRules)

    def __post_init__(self) -> None:
        if self.k not in SCORE_LEVELS:
            raise ValueError(f"k must be one of {SCORE_LEVELS}, got {self.k}")
        checks = {
            "frequency": (self.frequency, ("orders", "days")),
            "monetary": (self.monetary, ("total", "mean")),
            "threshold": (self.threshold, ("mean", "median")),
            "basis": (self.basis, ("values", "scores")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.lookback_days is not None and int(self.lookback_days) < 1:
            raise ValueError(f"lookback_days must be >= 1 or None, got {self.lookback_days}")
        self.rules.resolved(self.k)  # bad rules raise here

    @property
    def tier_rules(self) -> TierRules:
        """The rules with their defaults filled for this k."""
        return self.rules.resolved(self.k)

    @property
    def window_start(self) -> date | None:
        """First local date in the window (None: all history)."""
        return None if self.lookback_days is None else self.as_of - timedelta(self.lookback_days)


# -- scores and classes (pandas, on the per-customer result) --------------------------------------
def quantile_scores(values: Any, k: int = 5, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..k by quantile: ``1 + floor(k * below / n)``, ``below`` = customers with a
    strictly worse value. Equal values get equal scores (deterministic, order-free); with
    distinct values and n divisible by k every score holds n / k customers."""
    if k not in SCORE_LEVELS:
        raise ValueError(f"k must be one of {SCORE_LEVELS}, got {k}")
    x = np.asarray(values, dtype="float64")
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype="int64")
    key = pd.Series(x if higher_is_better else -x)
    below = key.rank(method="min").to_numpy() - 1
    return np.clip(1 + np.floor(k * below / n), 1, k).astype("int64")


def add_scores(customers: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """``customers`` with r_score (recent = high), f_score, m_score and the cell label "545"."""
    out = customers.copy()
    out["r_score"] = quantile_scores(out["recency"], k, higher_is_better=False)
    out["f_score"] = quantile_scores(out["frequency"], k)
    out["m_score"] = quantile_scores(out["monetary"], k)
    out["rfm_cell"] = (
        out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    )
    return out


def thresholds_of(
    customers: pd.DataFrame, threshold: Threshold = "mean", basis: Basis = "values"
) -> dict[str, float]:
    """The 8-class cut per dimension: mean or median of values (or scores) over all customers."""
    columns = (
        {"recency": "recency", "frequency": "frequency", "monetary": "monetary"}
        if basis == "values"
        else {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}
    )
    out = {}
    for dim, column in columns.items():
        x = customers[column].astype("float64")
        out[dim] = float(x.mean() if threshold == "mean" else x.median()) if len(x) else math.nan
    return out


def classify_8(
    customers: pd.DataFrame, threshold: Threshold = "mean", basis: Basis = "values"
) -> tuple[pd.Series, dict[str, float]]:
    """The 8-class segment per customer and the thresholds used. Strictly better than the
    threshold is high; equal is low. On scores, a higher R score is the more recent."""
    cut = thresholds_of(customers, threshold, basis)
    if basis == "values":
        r_high = customers["recency"] < cut["recency"]
        f_high = customers["frequency"] > cut["frequency"]
        m_high = customers["monetary"] > cut["monetary"]
    else:
        r_high = customers["r_score"] > cut["recency"]
        f_high = customers["f_score"] > cut["frequency"]
        m_high = customers["m_score"] > cut["monetary"]
    names = np.select(
        [(r_high == r) & (f_high == f) & (m_high == m) for _, r, f, m in SEGMENTS_8],
        SEGMENT_NAMES,
        default="",
    )
    return pd.Series(names, index=customers.index, name="segment"), cut


def assign_tiers(customers: pd.DataFrame, rules: TierRules, k: int = 5) -> pd.Series:
    """The 4-tier model per customer (first matching rule wins; see :class:`TierRules`)."""
    rules = rules.resolved(k)
    recency = customers["recency"]
    tier = np.select(
        [
            recency > rules.churn_days,
            (customers["m_score"] >= rules.high_value_min_m)
            & (customers["f_score"] >= rules.high_value_min_f),
            recency <= rules.active_days,
        ],
        ["churned", "high_value", "potential"],
        default="low_activity",
    )
    return pd.Series(tier, index=customers.index, name="tier")


def top_share(revenue: Any, top: float = 0.2) -> float | None:
    """Revenue share of the ``ceil(top * n)`` customers with the most revenue (Pareto check)."""
    x = np.sort(np.asarray(revenue, dtype="float64"))[::-1]
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return None
    return float(x[: math.ceil(top * len(x))].sum() / total)


def profile(members: pd.DataFrame, by: Literal["segment", "tier"]) -> pd.DataFrame:
    """Per group (all groups, in model order, empty ones included): customers, share, revenue,
    revenue share, mean recency/frequency/monetary, revenue per customer."""
    groups = SEGMENT_NAMES if by == "segment" else TIERS
    grouped = members.groupby(by, sort=False)
    frame = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["revenue"].sum(),
            "mean_recency": grouped["recency"].mean(),
            "mean_frequency": grouped["frequency"].mean(),
            "mean_monetary": grouped["monetary"].mean(),
        }
    ).reindex(list(groups))
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    frame["revenue"] = frame["revenue"].fillna(0.0)
    n, total = frame["customers"].sum(), frame["revenue"].sum()
    frame["share"] = frame["customers"] / n if n else np.nan
    frame["revenue_share"] = frame["revenue"] / total if total > 0 else np.nan
    frame["revenue_per_customer"] = frame["revenue"] / frame["customers"].where(
        frame["customers"] > 0
    )
    frame.index.name = by
    columns = ["customers", "share", "revenue", "revenue_share"]
    columns += ["mean_recency", "mean_frequency", "mean_monetary", "revenue_per_customer"]
    return frame[columns].reset_index()


# -- the result -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segmentation:
    """One segmentation at ``settings.as_of``. ``members`` holds one row per customer (never shown
    in the HTML); the profiles are aggregates."""

    settings: Settings
    rfm: RFMTable
    members: pd.DataFrame
    thresholds: dict[str, float]
    segments: pd.DataFrame  # profile(members, "segment")
    tiers: pd.DataFrame  # profile(members, "tier")
    top20_revenue_share: float | None

    @property
    def customers(self) -> int:
        return len(self.members)

    def metrics(self) -> dict[str, Any]:
        s = self.settings

        def groups(frame: pd.DataFrame, key: str) -> dict[str, Any]:
            return {
                row[key]: {
                    "customers": int(row["customers"]),
                    "revenue_share": row["revenue_share"],
                }
                for row in frame.to_dict("records")
            }

        return {
            "scope": {
                "key": "segmentation.scope" if s.lookback_days else "segmentation.scope_all",
                "fields": {"as_of": s.as_of.isoformat(), "days": s.lookback_days},
            },
            "customers": self.customers,
            "as_of": s.as_of.isoformat(),
            "as_of_default": s.as_of_default,
            "threshold": s.threshold,
            "threshold_basis": s.basis,
            "thresholds": self.thresholds,
            "k": s.k,
            "lookback_days": s.lookback_days,
            "window_start": s.window_start.isoformat() if s.window_start else None,
            "frequency": s.frequency,
            "monetary": s.monetary,
            "tier_rules": {
                "churn_days": s.tier_rules.churn_days,
                "active_days": s.tier_rules.active_days,
                "high_value_min_m": s.tier_rules.high_value_min_m,
                "high_value_min_f": s.tier_rules.high_value_min_f,
            },
            "excluded": dict(self.rfm.excluded),
            "included_orders": self.rfm.included_orders,
            "customers_without_paid_orders": self.rfm.customers_without_paid_orders,
            "revenue": float(self.members["revenue"].sum()),
            "segments_8": groups(self.segments, "segment"),
            "tiers_4": groups(self.tiers, "tier"),
            "top20_revenue_share": self.top20_revenue_share,
        }


def segment_customers(rfm: RFMTable, settings: Settings) -> Segmentation:
    """Scores, 8-class segments, tiers and profiles from an engine result (pure pandas)."""
    members = add_scores(rfm.customers, settings.k)
    members["segment"], cut = classify_8(members, settings.threshold, settings.basis)
    members["tier"] = assign_tiers(members, settings.rules, settings.k)
    return Segmentation(
        settings=settings,
        rfm=rfm,
        members=members,
        thresholds=cut,
        segments=profile(members, "segment"),
        tiers=profile(members, "tier"),
        top20_revenue_share=top_share(members["revenue"]),
    )


def segment(
    report: Report,
    *,
    as_of: date | str | None = None,
    lookback_days: int | None = 365,
    frequency: Frequency = "orders",
    monetary: Monetary = "total",
    k: int = 5,
    threshold: Threshold = "mean",
    basis: Basis = "values",
    rules: TierRules | None = None,
) -> Segmentation:
    """RFM in the engine, then scores, the 8-class and 4-tier models and their profiles."""
    day = as_date(as_of)
    settings = Settings(
        as_of=day or default_as_of(report.source),
        as_of_default=day is None,
        lookback_days=None if lookback_days is None else int(lookback_days),
        frequency=frequency,
        monetary=monetary,
        k=int(k),
        threshold=threshold,
        basis=basis,
        rules=rules or TierRules(),
    )
    return resegment(report, settings)


def resegment(report: Report, settings: Settings) -> Segmentation:
    rfm = compute_rfm(
        report.source,
        as_of=settings.as_of,
        lookback_days=settings.lookback_days,
        frequency=settings.frequency,
        monetary=settings.monetary,
    )
    return segment_customers(rfm, settings)
