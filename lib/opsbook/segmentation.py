"""The segmentation report: who are the high-value, potential, low-activity and churned customers?

User operations runs tiered operations (用户分层运营). This module answers, per customer and per
group, with the conventions below (every one is printed in the report):

* **RFM** (engine step, :func:`rfm_expression`): per customer with at least one *paid* order in
  the window ``[as_of - lookback_days, as_of)`` (local dates in the configured zone; the window
  ends at the *start* of ``as_of``, so orders placed on ``as_of`` itself are not counted):
  recency = days from the local date of the last paid order to ``as_of`` (so >= 1); frequency =
  paid orders, or distinct local purchase days (``frequency="days"``); monetary = total paid
  amount, or mean paid amount per order (``monetary="mean"``). Revenue (the total) is always kept
  for the profiles. Orders that are refunded, cancelled, of another status, without a user, or
  without a time/valid amount are excluded and counted by reason (:func:`tally_exclusions`).
  ``as_of`` defaults to the day after the newest paid order, in local time.
* **Scores** 1..k (k = 3, 4 or 5), :func:`quantile_scores`: ``score = 1 + floor(k * below / n)``
  where ``below`` is the number of customers with a strictly worse value. Ties therefore get the
  same score (the rule depends on values only, never on ids or row order: deterministic), and a
  score can be skipped when many customers share a value (e.g. most buy once: F = 1 for all of
  them, and the next F value starts higher up). Recency is reversed: fewer days = higher score.
* **The 8-class model** (八类客户), :func:`classify_8`: each of R, F, M is "high" or "low" against
  the mean (default) or the median of all customers' values (``basis="values"``, default) or
  scores (``basis="scores"``). High means strictly better than the threshold: R high = recency
  strictly below the threshold (more recent), F/M high = strictly above it. A value *equal* to
  the threshold is "low" on every dimension.
* **The 4-tier model**, :class:`TierRules`, first matching rule wins: churned (流失) = no paid
  order in the ``churn_days`` days before ``as_of`` (recency > churn_days); high-value (高价值) =
  monetary score >= ``high_value_min_m`` (default k, the top score) and frequency score >=
  ``high_value_min_f``; potential (潜力) = a paid order in the ``active_days`` days before
  ``as_of`` (recency <= active_days); low-activity (低活跃) = everyone else. The recommended action
  per tier is an i18n default, overridable in the config (``reports.segmentation.actions``).
* **Pareto**: revenue share of the top 20 % of customers by revenue (``ceil(0.2 n)`` customers).
* **Migration**, :func:`migration`: the same model at ``compare_to`` (default 30 days before
  ``as_of``, scored on that date's own quantiles) against ``as_of``.
* **Activation lists**, :func:`export_segments`: membership as Parquet + CSV files for CRM import,
  never in the HTML; ids optionally pseudonymised with a keyed hash (HMAC-SHA256) whose salt comes
  from the environment (``OPSBOOK_PSEUDONYM_SALT``) or the config (``privacy.pseudonym_salt``),
  never from a notebook parameter (parameters are recorded in the executed notebook).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from IPython.display import HTML, display

from opsbook.plots import PALETTE, figure
from opsbook.report import Report, fmt, is_batch, run_folder

Frequency = Literal["orders", "days"]
Monetary = Literal["total", "mean"]
Threshold = Literal["mean", "median"]
Basis = Literal["values", "scores"]

REPORT = "segmentation"
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
NONE = "none"  # not a customer (no paid order in the window) at that date
EXCLUSION_REASONS = (
    "invalid",
    "outside_window",
    "cancelled",
    "refunded",
    "other_status",
    "no_user",
)
SALT_ENV = "OPSBOOK_PSEUDONYM_SALT"
MEMBER_COLUMNS = ("user_id", "segment", "tier", "r_score", "f_score", "m_score", "rfm_cell")


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
            raise ValueError(
                f"tier rules need 0 < active_days < churn_days, got {rules.active_days} and "
                f"{rules.churn_days}"
            )
        for name in ("high_value_min_m", "high_value_min_f"):
            value = getattr(rules, name)
            if not 1 <= int(value) <= k:
                raise ValueError(f"{name} must be a score between 1 and k={k}, got {value}")
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


def as_date(value: date | datetime | str | None) -> date | None:
    if value is None or value == "":
        return None
    return pd.Timestamp(value).date()


# -- the engine step ------------------------------------------------------------------------------
LocalDate = Callable[[ir.TimestampValue], ir.DateValue]


def _status(orders: ir.Table) -> ir.StringValue:
    # the contract's status is optional; a missing or null status means paid
    if "status" not in orders.columns:
        return ibis.literal("paid")
    return orders.status.fill_null("paid")


def _valid(orders: ir.Table) -> ir.BooleanValue:
    return orders.ts.notnull() & orders.amount.notnull() & (orders.amount >= 0)


def _in_window(orders: ir.Table, start_utc: datetime | None, end_utc: datetime) -> ir.BooleanValue:
    inside = orders.ts < end_utc
    return inside if start_utc is None else inside & (orders.ts >= start_utc)


def _window_orders(orders: ir.Table, start_utc: datetime | None, end_utc: datetime) -> ir.Table:
    """The valid orders with a user in the window, of any status."""
    return orders.filter(
        orders.user_id.notnull() & _valid(orders) & _in_window(orders, start_utc, end_utc)
    )


def rfm_expression(
    orders: ir.Table,
    *,
    as_of: date,
    start_utc: datetime | None,
    end_utc: datetime,
    local_date: LocalDate,
    frequency: Frequency = "orders",
) -> ir.Table:
    """Per customer: ``user_id, orders, [days,] revenue, recency`` as an Ibis expression.

    ``start_utc``/``end_utc`` are the naive-UTC instants of the window's local bounds (filtering
    on the stored column lets the engine prune files); ``local_date`` turns a timestamp into the
    configured zone's date. The local date is taken of each customer's latest order only (the
    date of the maximum is the maximum of the dates), so the 10M-row scan does no time-zone work
    unless ``frequency="days"``. ``days`` only when asked for."""
    window = _window_orders(orders, start_utc, end_utc)
    paid = window.filter(_status(window) == "paid")
    aggs: dict[str, Any] = {
        "orders": paid.count(),
        "revenue": paid.amount.sum(),
        "last_ts": paid.ts.max(),
    }
    if frequency == "days":
        aggs["days"] = local_date(paid.ts).nunique()
    per = paid.group_by("user_id").aggregate(**aggs)
    counts = ["orders", "days"] if frequency == "days" else ["orders"]
    last = local_date(per.last_ts)
    return per.select(
        "user_id", *counts, "revenue", recency=ibis.literal(as_of).delta(last, unit="day")
    )


def exclusions_expression(
    orders: ir.Table, *, start_utc: datetime | None, end_utc: datetime
) -> ir.Table:
    """Orders per (status, invalid, outside, no_user): a handful of rows for
    :func:`tally_exclusions`. Invalid = no time or no valid amount; outside = not in the window."""
    invalid = ~_valid(orders).fill_null(False)
    outside = ~_in_window(orders, start_utc, end_utc).fill_null(False)
    return orders.group_by(
        status=_status(orders), invalid=invalid, outside=outside, no_user=orders.user_id.isnull()
    ).aggregate(orders=orders.count())


def tally_exclusions(groups: pd.DataFrame) -> tuple[dict[str, int], int]:
    """Every order counted once under the first reason that applies, in the order of
    :data:`EXCLUSION_REASONS` (invalid time or amount; outside the window; cancelled; refunded;
    another status; no user); and the paid orders that are counted."""
    excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
    included = 0
    for row in groups.to_dict("records"):
        n = int(row["orders"])
        if row["invalid"]:
            excluded["invalid"] += n
        elif row["outside"]:
            excluded["outside_window"] += n
        elif row["status"] in ("cancelled", "refunded"):
            excluded[row["status"]] += n
        elif row["status"] != "paid":
            excluded["other_status"] += n
        elif row["no_user"]:
            excluded["no_user"] += n
        else:
            included += n
    return excluded, included


def unpaid_customers_expression(
    orders: ir.Table, *, start_utc: datetime | None, end_utc: datetime
) -> ir.Scalar:
    """How many users had a valid order in the window and none of them paid (refunded,
    cancelled, ...): they are counted as not segmented. One number from one scan, no user list
    in pandas."""
    window = _window_orders(orders, start_utc, end_utc)
    users = window.group_by("user_id").aggregate(paid=(_status(window) == "paid").any())
    return users.filter(~users.paid).count()


@dataclass(frozen=True)
class RFMTable:
    """The engine's per-customer result (``customers``) and the orders it left out."""

    # user_id, orders, [days,] revenue, recency, last_order, frequency, monetary
    customers: pd.DataFrame
    excluded: dict[str, int]  # reason -> orders
    included_orders: int
    customers_without_paid_orders: int  # had orders in the window, none of them counted
    as_of: date
    window_start: date | None
    frequency: Frequency
    monetary: Monetary


def _utc(source: Any, day: date | None) -> datetime | None:
    return (
        None if day is None else source.utc_from_local(datetime.combine(day, datetime.min.time()))
    )


def compute_rfm(
    source: Any,
    *,
    as_of: date,
    lookback_days: int | None = 365,
    frequency: Frequency = "orders",
    monetary: Monetary = "total",
) -> RFMTable:
    """Run the RFM engine step on ``source``'s orders (an :class:`opsbook.data.Source`)."""
    orders = source.table("orders")
    start = None if lookback_days is None else as_of - timedelta(int(lookback_days))
    bounds = {"start_utc": _utc(source, start), "end_utc": _utc(source, as_of)}
    expression = rfm_expression(
        orders, as_of=as_of, local_date=source.local_date, frequency=frequency, **bounds
    )
    # Arrow's conversion: Ibis' own pandas conversion costs more than the query on 1M customers
    per = expression.to_pyarrow().to_pandas()
    customers = finish_rfm(per, as_of=as_of, frequency=frequency, monetary=monetary)
    del per  # the unsorted frame: freed before the next queries
    excluded, included = tally_exclusions(exclusions_expression(orders, **bounds).execute())
    return RFMTable(
        customers=customers,
        excluded=excluded,
        included_orders=included,
        customers_without_paid_orders=int(unpaid_customers_expression(orders, **bounds).execute()),
        as_of=as_of,
        window_start=start,
        frequency=frequency,
        monetary=monetary,
    )


def finish_rfm(
    per: pd.DataFrame, *, as_of: date, frequency: Frequency, monetary: Monetary
) -> pd.DataFrame:
    """The engine's per-customer frame with the last order's local date, ``frequency`` and
    ``monetary`` chosen, sorted by id."""
    if not per["user_id"].is_monotonic_increasing:
        per = per.sort_values("user_id", kind="stable").reset_index(drop=True)
    ids = per["user_id"]
    if ids.dtype.kind == "f" and bool((ids == ids.round()).all()):
        # integer ids stored as floats (a column with nulls): 17850, not 17850.0, in exports
        per["user_id"] = ids.astype("int64")
    for column, dtype in (("orders", "int64"), ("recency", "int64"), ("revenue", "float64")):
        per[column] = per[column].astype(dtype, copy=False)
    per["last_order"] = pd.Timestamp(as_of) - pd.to_timedelta(per["recency"], unit="D")
    per["frequency"] = per["days" if frequency == "days" else "orders"].astype("int64")
    per["monetary"] = per["revenue"] / per["orders"] if monetary == "mean" else per["revenue"]
    return per


def default_as_of(source: Any) -> date:
    """The day after the newest paid order with a user, in local time (today if none)."""
    orders = source.table("orders")
    paid = orders.filter((_status(orders) == "paid") & orders.user_id.notnull() & _valid(orders))
    newest = paid.aggregate(last=source.local_date(paid.ts.max())).execute()["last"].iloc[0]
    if newest is None or pd.isna(newest):
        return source.now_local().date()
    return pd.Timestamp(newest).date() + timedelta(days=1)


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


# -- migration ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Migration:
    """Customers' tier and segment at ``compare_to`` (rows) and at ``as_of`` (columns).

    ``none`` is a customer absent at that date: before, not yet a customer in the window (new);
    after, no paid order left in the window (lapsed out of the lookback)."""

    as_of: date
    compare_to: date
    pairs: pd.DataFrame  # user_id, tier_before, tier_after, segment_before, segment_after

    def counts(self, kind: Literal["tier", "segment"]) -> pd.DataFrame:
        order = [*(TIERS if kind == "tier" else SEGMENT_NAMES), NONE]
        table = pd.crosstab(self.pairs[f"{kind}_before"], self.pairs[f"{kind}_after"])
        table = table.reindex(index=order, columns=order, fill_value=0).astype("int64")
        table.loc[NONE, NONE] = 0
        return table

    def shares(self, kind: Literal["tier", "segment"]) -> pd.DataFrame:
        counts = self.counts(kind)
        totals = counts.sum(axis=1)
        return counts.div(totals.where(totals > 0), axis=0)

    @property
    def both(self) -> pd.DataFrame:
        return self.pairs[(self.pairs.tier_before != NONE) & (self.pairs.tier_after != NONE)]

    @property
    def upgrades(self) -> int:
        b = self.both
        return int((b.tier_after.map(TIER_RANK) > b.tier_before.map(TIER_RANK)).sum())

    @property
    def downgrades(self) -> int:
        b = self.both
        return int((b.tier_after.map(TIER_RANK) < b.tier_before.map(TIER_RANK)).sum())

    @property
    def fell_out_of_high_value(self) -> int:
        p = self.pairs
        return int(((p.tier_before == "high_value") & (p.tier_after != "high_value")).sum())

    def fell_out_by_destination(self) -> pd.Series:
        p = self.pairs
        out = p[(p.tier_before == "high_value") & (p.tier_after != "high_value")]
        return out["tier_after"].value_counts().reindex([*TIERS[1:], NONE], fill_value=0)

    def metrics(self) -> dict[str, Any]:
        return {
            "compare_to": self.compare_to.isoformat(),
            "migration": {
                "upgrades": self.upgrades,
                "downgrades": self.downgrades,
                "fell_out_of_high_value": self.fell_out_of_high_value,
                "new_customers": int((self.pairs.tier_before == NONE).sum()),
                "tiers": {
                    before: {a: int(v) for a, v in row.items() if v}
                    for before, row in self.counts("tier").iterrows()
                },
            },
        }


def migrate(before: Segmentation, after: Segmentation) -> Migration:
    """Pair the members of two segmentations by user id."""
    cols = ["user_id", "tier", "segment"]
    pairs = before.members[cols].merge(
        after.members[cols], on="user_id", how="outer", suffixes=("_before", "_after")
    )
    pairs = pairs.fillna({c: NONE for c in pairs.columns if c != "user_id"})
    return Migration(
        as_of=after.settings.as_of,
        compare_to=before.settings.as_of,
        pairs=pairs.sort_values("user_id", kind="stable").reset_index(drop=True),
    )


def migration(
    report: Report, current: Segmentation, compare_to: date | str | None = None
) -> Migration:
    """The same model at ``compare_to`` (default: 30 days before as_of) against ``current``."""
    earlier = as_date(compare_to) or current.settings.as_of - timedelta(days=30)
    if earlier >= current.settings.as_of:
        raise ValueError(f"compare_to ({earlier}) must be before as_of ({current.settings.as_of})")
    before = resegment(report, replace(current.settings, as_of=earlier, as_of_default=False))
    return migrate(before, current)


# -- activation lists -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Export:
    """Files written for CRM import (their paths never enter the HTML)."""

    paths: tuple[Path, ...]
    rows: int
    pseudonymised: bool


def pseudonym_salt(report: Report) -> str | None:
    """The salt for pseudonymised ids: the environment's, else the config's; never printed."""
    salt = os.environ.get(SALT_ENV) or (report.config.raw.get("privacy") or {}).get(
        "pseudonym_salt"
    )
    return str(salt) if salt else None


def pseudonymise_ids(ids: pd.Series, salt: str) -> pd.Series:
    """HMAC-SHA256 of each id's text keyed by ``salt``, as 32 hex digits: stable for one salt
    (so CRM lists of several runs join), not reversible without it."""
    if not salt:
        raise ValueError("pseudonymising ids needs a non-empty salt")
    key = salt.encode()
    return ids.map(
        lambda v: hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:32]
    ).astype("string")


def membership(result: Segmentation, salt: str | None = None) -> pd.DataFrame:
    """The activation list: user id (or its pseudonym), segment, tier and scores."""
    members = result.members[list(MEMBER_COLUMNS)].copy()
    members.insert(1, "as_of", pd.Timestamp(result.settings.as_of).date())
    if salt is not None:
        members["user_id"] = pseudonymise_ids(members["user_id"], salt)
    return members


def default_export_dir(report: Report) -> Path:
    """Beside the report in a run (the run folder); ``<run.out>/exports`` in JupyterLab."""
    return (
        run_folder()
        or report.config.path_of(str(report.config.section("run").get("out") or "reports"))
        / "exports"
    )


def export_segments(
    report: Report,
    result: Segmentation,
    *,
    enabled: bool = False,
    export_dir: str | Path | None = None,
    pseudonymise: bool = False,
) -> Export | None:
    """Write ``segmentation_members_<as_of>.parquet`` and ``.csv`` into ``export_dir`` (default
    :func:`default_export_dir`) when ``enabled``; ids pseudonymised when asked (the salt must be
    set, see :func:`pseudonym_salt`)."""
    if not enabled:
        return None
    salt = None
    if pseudonymise:
        salt = pseudonym_salt(report)
        if salt is None:
            raise ValueError(
                f"pseudonymise=True needs a salt: set the {SALT_ENV} environment variable or "
                "privacy.pseudonym_salt in the config (it is never a notebook parameter)"
            )
    folder = Path(export_dir).expanduser() if export_dir else default_export_dir(report)
    if not folder.is_absolute():
        folder = report.config.path_of(str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    members = membership(result, salt)
    stem = folder / f"segmentation_members_{result.settings.as_of.isoformat()}"
    parquet, csv = stem.with_suffix(".parquet"), stem.with_suffix(".csv")
    members.to_parquet(parquet, index=False)
    members.to_csv(csv, index=False)
    return Export(paths=(parquet, csv), rows=len(members), pseudonymised=salt is not None)


# -- lifetimes-style summary (CDNOW) --------------------------------------------------------------
def lifetimes_summary(
    transactions: ir.Table,
    *,
    user: str,
    day: str,
    observation_end: date | str,
    period_days: int = 7,
) -> pd.DataFrame:
    """The summary the BG/NBD and Pareto/NBD literature uses (as the lifetimes package builds it
    with daily purchase periods): per customer with a purchase on or before ``observation_end``,
    frequency = distinct purchase days - 1 (repeat purchases), recency = days from the first to
    the last purchase day, T = days from the first purchase day to ``observation_end``; recency
    and T divided by ``period_days`` (7: weeks). Computed in the engine."""
    end = as_date(observation_end)
    d = transactions[day].cast("date")
    kept = transactions.mutate(_d=d).filter(lambda t: t._d <= end)
    per = kept.group_by(user_id=kept[user]).aggregate(
        first=kept._d.min(), last=kept._d.max(), periods=kept._d.nunique()
    )
    per = per.select(
        "user_id",
        frequency=per.periods - 1,
        recency=per.last.delta(per.first, unit="day") / period_days,
        T=ibis.literal(end).delta(per.first, unit="day") / period_days,
    )
    return per.execute().sort_values("user_id", kind="stable").reset_index(drop=True)


# -- presentation ---------------------------------------------------------------------------------
def _name(report: Report, kind: str, value: str) -> str:
    return report.t(f"segmentation.{kind}.{value}")


def tier_actions(report: Report, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The recommended action per tier: i18n defaults, then ``overrides`` (the notebook's
    ``actions`` parameter, else the config's ``reports.segmentation.actions``), each a text or a
    ``{zh: ..., en: ...}`` mapping."""
    given = overrides
    if given is None:
        given = report.config.report_defaults(REPORT).get("actions")
    given = dict(given or {})
    unknown = sorted(set(given) - set(TIERS))
    if unknown:
        raise ValueError(f"actions: unknown tier(s) {unknown}; tiers are {list(TIERS)}")
    out = {}
    for tier in TIERS:
        text = given.get(tier)
        if isinstance(text, Mapping):
            text = text.get(report.lang) or next(iter(text.values()), None)
        out[tier] = str(text) if text else report.t(f"segmentation.action.{tier}")
    return out


def show_scope(report: Report, result: Segmentation) -> None:
    """As-of date (and how it was chosen), window, definitions, and the orders left out."""
    s = result.settings
    zone = report.source.timezone
    if s.as_of_default:
        report.say(
            "segmentation.scope.as_of_default",
            as_of=s.as_of.isoformat(),
            last=(s.as_of - timedelta(days=1)).isoformat(),
            zone=zone,
        )
    else:
        report.say("segmentation.scope.as_of_given", as_of=s.as_of.isoformat(), zone=zone)
    if s.window_start is None:
        report.say("segmentation.scope.window_all", as_of=s.as_of.isoformat())
    else:
        report.say(
            "segmentation.scope.window",
            start=s.window_start.isoformat(),
            end=(s.as_of - timedelta(days=1)).isoformat(),
            days=s.lookback_days,
        )
    report.say(
        "segmentation.scope.definitions",
        frequency=report.t(f"segmentation.frequency.{s.frequency}"),
        monetary=report.t(f"segmentation.monetary.{s.monetary}"),
    )
    tr = report.t
    total = result.rfm.included_orders + sum(result.rfm.excluded.values())
    rows = [
        {
            "reason": tr(f"segmentation.excluded.{r}"),
            "orders": n,
            "share": n / total if total else None,
        }
        for r, n in [("included", result.rfm.included_orders), *result.rfm.excluded.items()]
    ]
    columns = {
        "reason": tr("segmentation.col.reason"),
        "orders": tr("segmentation.col.orders"),
        "share": tr("core.share"),
    }
    report.show(
        pd.DataFrame(rows).rename(columns=columns),
        formats={columns["orders"]: "int", columns["share"]: "pct"},
    )
    report.say(
        "segmentation.scope.customers",
        customers=fmt(result.customers, "int"),
        without=fmt(result.rfm.customers_without_paid_orders, "int"),
    )


def show_score_bins(report: Report, result: Segmentation) -> None:
    """Per score: customers and the value range of R, F and M that earned it."""
    m = result.members
    tr = report.t
    rows = []
    for score in range(result.settings.k, 0, -1):
        row: dict[str, Any] = {tr("segmentation.col.score"): score}
        for dim, col in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
            part = m.loc[m[col] == score, dim]
            label = tr(f"segmentation.dim.{dim}")
            n = len(part)
            row[f"{label} · {tr('segmentation.col.customers')}"] = n
            kind = "money" if dim == "monetary" else "int"
            row[f"{label} · {tr('segmentation.col.range')}"] = (
                f"{fmt(part.min(), kind)} – {fmt(part.max(), kind)}"
                if n >= report.min_cell
                else "—"
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    counts = [c for c in frame.columns if c.endswith(tr("segmentation.col.customers"))]
    shown = frame.copy()
    for c in counts:
        shown[c] = [_count_text(v, report.min_cell) for v in frame[c]]
    report.show(shown)
    report.say("segmentation.scores.rule", k=result.settings.k)


def _count_text(n: int, min_cell: int) -> str:
    return f"<{min_cell}" if 0 < n < min_cell else fmt(int(n), "int")


def show_thresholds(report: Report, result: Segmentation) -> None:
    s = result.settings
    tr = report.t
    unit = {"recency": tr("segmentation.unit.days"), "frequency": "", "monetary": ""}
    rows = [
        {
            tr("segmentation.col.dimension"): tr(f"segmentation.dim.{dim}"),
            tr("segmentation.col.threshold"): fmt(value, "float")
            + (f" {unit[dim]}" if unit[dim] and s.basis == "values" else ""),
            tr("segmentation.col.high_when"): tr(f"segmentation.high_when.{dim}"),
        }
        for dim, value in result.thresholds.items()
    ]
    report.say(
        "segmentation.thresholds.intro",
        threshold=tr(f"segmentation.threshold.{s.threshold}"),
        basis=tr(f"segmentation.basis.{s.basis}"),
    )
    report.show(pd.DataFrame(rows))


def _profile_table(report: Report, frame: pd.DataFrame, key: str, kind: str) -> None:
    tr = report.t
    shown = frame.assign(**{key: [_name(report, kind, v) for v in frame[key]]})
    columns = {
        key: tr(f"segmentation.col.{kind}"),
        "customers": tr("segmentation.col.customers"),
        "share": tr("segmentation.col.share"),
        "revenue": tr("segmentation.col.revenue"),
        "revenue_share": tr("segmentation.col.revenue_share"),
        "mean_recency": tr("segmentation.col.mean_recency"),
        "mean_frequency": tr("segmentation.col.mean_frequency"),
        "mean_monetary": tr("segmentation.col.mean_monetary"),
        "revenue_per_customer": tr("segmentation.col.revenue_per_customer"),
    }
    report.show(
        shown[list(columns)].rename(columns=columns),
        formats={
            columns["customers"]: "int",
            columns["share"]: "pct",
            columns["revenue"]: "money",
            columns["revenue_share"]: "pct",
            columns["mean_recency"]: "float",
            columns["mean_frequency"]: "float",
            columns["mean_monetary"]: "money",
            columns["revenue_per_customer"]: "money",
        },
        min_cell=report.min_cell,
        count_columns=[columns["customers"]],
    )


def show_segment_profile(report: Report, result: Segmentation) -> None:
    _profile_table(report, result.segments, "segment", "seg")


def show_tier_profile(report: Report, result: Segmentation) -> None:
    _profile_table(report, result.tiers, "tier", "tier")


def show_tier_rules(
    report: Report, result: Segmentation, actions: Mapping[str, Any] | None = None
) -> None:
    """The 4-tier rules as a table (in the order they are applied) with each tier's action."""
    r = result.settings.tier_rules
    k = result.settings.k
    fields = {
        "churn_days": r.churn_days,
        "active_days": r.active_days,
        "min_m": r.high_value_min_m,
        "min_f": r.high_value_min_f,
        "k": k,
    }
    todo = tier_actions(report, actions)
    tr = report.t
    order = ("churned", "high_value", "potential", "low_activity")
    rows = [
        {
            tr("segmentation.col.order"): i,
            tr("segmentation.col.tier"): _name(report, "tier", tier),
            tr("segmentation.col.rule"): tr(f"segmentation.rule.{tier}", **fields),
            tr("segmentation.col.action"): todo[tier],
        }
        for i, tier in enumerate(order, start=1)
    ]
    report.show(pd.DataFrame(rows))
    report.say("segmentation.rules.first_match")


def show_pareto(report: Report, result: Segmentation) -> None:
    share = result.top20_revenue_share
    if share is None:
        report.say("segmentation.pareto.none")
        return
    hv = result.tiers.set_index("tier").loc["high_value"]
    report.say(
        "segmentation.pareto.text",
        share=fmt(share, "pct"),
        top=fmt(math.ceil(0.2 * result.customers), "int"),
        verdict=_pareto_verdict(report, share),
    )
    if hv["customers"] >= report.min_cell:
        report.say(
            "segmentation.pareto.high_value",
            share=fmt(hv["share"], "pct"),
            revenue=fmt(hv["revenue_share"], "pct"),
        )


def _pareto_verdict(report: Report, share: float) -> str:
    return report.t("segmentation.pareto.holds" if share >= 0.8 else "segmentation.pareto.weaker")


def size_vs_revenue_chart(report: Report, result: Segmentation, kind: str = "segment"):
    """Customer share vs revenue share per segment (or tier): who brings the money."""
    frame = result.segments if kind == "segment" else result.tiers
    key = "segment" if kind == "segment" else "tier"
    labels = [_name(report, "seg" if kind == "segment" else "tier", v) for v in frame[key]]
    small = (frame["customers"] > 0) & (frame["customers"] < report.min_cell)
    share = frame["share"].where(~small, 0).fillna(0).to_numpy()
    revenue = frame["revenue_share"].where(~small, 0).fillna(0).to_numpy()
    fig, ax = figure(8.5, 0.45 * len(frame) + 1.6)
    y = np.arange(len(frame))[::-1]
    ax.barh(y + 0.2, share, height=0.4, color=PALETTE[0], label=report.t("segmentation.col.share"))
    ax.barh(
        y - 0.2,
        revenue,
        height=0.4,
        color=PALETTE[1],
        label=report.t("segmentation.col.revenue_share"),
    )
    for yi, s, r, hidden in zip(y, share, revenue, small, strict=True):
        if hidden:
            ax.text(0.005, yi, f"<{report.min_cell}", va="center", fontsize=8, color="#666666")
            continue
        ax.text(s, yi + 0.2, f" {s:.0%}", va="center", fontsize=8)
        ax.text(r, yi - 0.2, f" {r:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, max(0.1, float(max(share.max(initial=0), revenue.max(initial=0)))) * 1.15)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title(report.t(f"segmentation.chart.size_vs_revenue_{kind}"))
    ax.legend(loc="lower right", fontsize=8)
    return fig


def rf_grid(result: Segmentation) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and mean monetary per (R score, F score), R from k (top) down to 1."""
    m = result.members
    k = result.settings.k
    scores = list(range(1, k + 1))
    counts = pd.crosstab(m["r_score"], m["f_score"]).reindex(
        index=scores[::-1], columns=scores, fill_value=0
    )
    means = (
        m.groupby(["r_score", "f_score"])["monetary"]
        .mean()
        .unstack()
        .reindex(index=scores[::-1], columns=scores)
    )
    return counts, means


def rf_heatmap(report: Report, result: Segmentation):
    """R x F scores: colour = customers, text = customers and mean monetary (small cells hidden)."""
    counts, means = rf_grid(result)
    k = result.settings.k
    shown = counts.astype(float).where(counts >= report.min_cell)
    fig, ax = figure(7.5, 5.5)
    masked = np.ma.masked_invalid(shown.to_numpy())
    image = ax.imshow(masked, cmap="Blues", aspect="auto")
    for i, r in enumerate(counts.index):
        for j, f in enumerate(counts.columns):
            n = int(counts.loc[r, f])
            if n == 0:
                continue
            if n < report.min_cell:
                text = f"<{report.min_cell}"
            else:
                text = f"{n:,}\n{report.t('segmentation.chart.m_short')} {means.loc[r, f]:,.0f}"
            dark = masked[i, j] is not np.ma.masked and masked[i, j] > 0.6 * (masked.max() or 1)
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if dark else "#222222")  # fmt: skip
    ax.set_xticks(range(k), [str(f) for f in counts.columns])
    ax.set_yticks(range(k), [str(r) for r in counts.index])
    ax.set_xlabel(report.t("segmentation.chart.f_score"))
    ax.set_ylabel(report.t("segmentation.chart.r_score"))
    ax.grid(False)
    ax.set_title(report.t("segmentation.chart.rf_heatmap"))
    fig.colorbar(image, ax=ax, label=report.t("segmentation.col.customers"))
    return fig


def monetary_chart(report: Report, result: Segmentation):
    """Distribution of monetary on a log scale; bins under min_cell customers are not drawn."""
    x = result.members["monetary"].to_numpy(dtype="float64")
    x = x[x > 0]
    fig, ax = figure(8, 3.6)
    if len(x) == 0:
        ax.set_title(report.t("segmentation.chart.monetary"))
        return fig
    lo, hi = float(x.min()), float(x.max())
    bins = np.logspace(np.log10(lo), np.log10(hi if hi > lo else lo * 1.01), 40)
    n, edges = np.histogram(x, bins=bins)
    n = np.where(n < report.min_cell, 0, n)
    ax.bar(edges[:-1], n, width=np.diff(edges), align="edge", color=PALETTE[0], alpha=0.85)
    ax.set_xscale("log")
    for value, style, key in (
        (result.thresholds.get("monetary"), "--", "threshold_line"),
        (float(np.median(x)), ":", "median_line"),
    ):
        if value and result.settings.basis == "values" and np.isfinite(value):
            ax.axvline(
                value,
                ls=style,
                color="#444444",
                lw=1,
                label=report.t(f"segmentation.chart.{key}", value=f"{value:,.0f}"),
            )
    ax.set_xlabel(report.t(f"segmentation.chart.monetary_axis.{result.settings.monetary}"))
    ax.set_ylabel(report.t("segmentation.col.customers"))
    ax.set_title(report.t("segmentation.chart.monetary", min_cell=report.min_cell))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return fig


def _matrix_html(report: Report, mig: Migration, kind: Literal["tier", "segment"]) -> str:
    """Counts and row shares in one table; small cells "<min_cell"; up/down coloured for tiers."""
    counts = mig.counts(kind)
    shares = mig.shares(kind)
    if counts[NONE].sum() == 0:  # nobody left the window (e.g. all history): no empty column
        counts, shares = counts.drop(columns=NONE), shares.drop(columns=NONE)
    name_kind = "tier" if kind == "tier" else "seg"
    label = {v: _name(report, name_kind, v) for v in counts.index if v != NONE}
    label[NONE] = report.t("segmentation.migration.none_before")
    after_label = dict(label, **{NONE: report.t("segmentation.migration.none_after")})
    tr = report.t
    head = f"<th>{html.escape(tr('segmentation.migration.corner'))}</th>" + "".join(
        f"<th>{html.escape(after_label[c])}</th>" for c in counts.columns
    )
    head += f"<th>{html.escape(tr('core.total'))}</th>"
    body = []
    for before in counts.index:
        total = int(counts.loc[before].sum())
        if total == 0:
            continue
        cells = [f"<th>{html.escape(label[before])}</th>"]
        for after in counts.columns:
            n = int(counts.loc[before, after])
            css = ""
            if kind == "tier" and NONE not in (before, after) and n:
                diff = TIER_RANK[after] - TIER_RANK[before]
                css = "ob-up" if diff > 0 else "ob-down" if diff < 0 else ""
            if n == 0:
                text = "·"
            elif n < report.min_cell:
                text = f"<{report.min_cell}"
            else:
                text = f"{n:,} ({shares.loc[before, after]:.0%})"
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{html.escape(text)}</td>")
        cells.append(f"<td>{html.escape(_count_text(total, report.min_cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="ob-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def show_migration(report: Report, mig: Migration) -> None:
    report.say(
        "segmentation.migration.intro",
        compare_to=mig.compare_to.isoformat(),
        as_of=mig.as_of.isoformat(),
    )
    report.heading("segmentation.migration.tiers", level=3)
    display(HTML(_matrix_html(report, mig, "tier")))
    report.say(
        "segmentation.migration.summary",
        up=_count_text(mig.upgrades, report.min_cell),
        down=_count_text(mig.downgrades, report.min_cell),
        new=_count_text(int((mig.pairs.tier_before == NONE).sum()), report.min_cell),
    )
    fell = mig.fell_out_of_high_value
    if fell:
        dest = mig.fell_out_by_destination()
        parts = ", ".join(
            f"{_name(report, 'tier', t) if t != NONE else report.t('segmentation.migration.none_after')}"
            f" {_count_text(int(n), report.min_cell)}"
            for t, n in dest.items()
            if n
        )
        display(
            HTML(
                '<div class="ob-callout ob-red">'
                + html.escape(
                    report.t(
                        "segmentation.migration.fell_out",
                        n=_count_text(fell, report.min_cell),
                        where=parts,
                    )
                )
                + "</div>"
            )
        )
    else:
        report.say("segmentation.migration.none_fell")
    report.heading("segmentation.migration.segments", level=3)
    display(HTML(_matrix_html(report, mig, "segment")))


def show_export(report: Report, result: Segmentation, exported: Export | None) -> None:
    """Say whether membership was exported (how many rows, pseudonymised or not), never where
    or to whom."""
    if exported is None:
        report.say("segmentation.export.off")
        return
    report.say(
        "segmentation.export.done",
        rows=fmt(exported.rows, "int"),
        files=", ".join(p.suffix.lstrip(".") for p in exported.paths),
        ids=report.t(
            "segmentation.export.pseudonymised"
            if exported.pseudonymised
            else "segmentation.export.plain"
        ),
    )


def conclusion(report: Report, result: Segmentation, mig: Migration | None = None) -> None:
    if result.customers == 0:
        report.say("segmentation.verdict.empty")
        return
    tiers = result.tiers.set_index("tier")
    hv, churned = tiers.loc["high_value"], tiers.loc["churned"]
    report.say(
        "segmentation.verdict.main",
        customers=fmt(result.customers, "int"),
        hv_share=fmt(hv["share"], "pct"),
        hv_revenue=fmt(hv["revenue_share"], "pct"),
        churned=fmt(churned["share"], "pct"),
        top20=fmt(result.top20_revenue_share, "pct"),
    )
    if mig is not None and mig.fell_out_of_high_value:
        report.say(
            "segmentation.verdict.fell_out",
            n=_count_text(mig.fell_out_of_high_value, report.min_cell),
            compare_to=mig.compare_to.isoformat(),
        )


def metrics(
    result: Segmentation, mig: Migration | None = None, exported: Export | None = None
) -> dict[str, Any]:
    """Everything for ``metrics.json``: the segmentation's keys, migration, the export flag."""
    out = result.metrics()
    if mig is not None:
        out |= mig.metrics()
    out["exported_rows"] = exported.rows if exported else 0
    return out


def headline(result: Segmentation, mig: Migration | None = None) -> list[dict[str, Any]]:
    tiers = result.tiers.set_index("tier")
    hv_revenue = tiers.loc["high_value", "revenue_share"] if result.customers else None
    entries = [
        {"label": "segmentation.h.customers", "value": result.customers, "format": "int"},
        {
            "label": "segmentation.h.high_value_share",
            "value": tiers.loc["high_value", "share"] if result.customers else None,
            "format": "pct",
        },
        {
            "label": "segmentation.h.high_value_revenue",
            "value": hv_revenue,
            "format": "pct",
            "status": None
            if hv_revenue is None or pd.isna(hv_revenue)
            else ("green" if hv_revenue >= 0.5 else "amber"),
        },
        {"label": "segmentation.h.top20", "value": result.top20_revenue_share, "format": "pct"},
    ]
    if mig is not None:
        entries.append(
            {
                "label": "segmentation.h.fell_out",
                "value": mig.fell_out_of_high_value,
                "format": "int",
                "status": "amber" if mig.fell_out_of_high_value else "green",
            }
        )
    return entries


# -- interactive ----------------------------------------------------------------------------------
def explore(
    report: Report, result: Segmentation, lookbacks: tuple[Any, ...] = (90, 180, 365, None)
):
    """In JupyterLab: switch threshold, k and lookback and see the profiles and charts update.
    Returns None in batch runs (published HTML stays static)."""
    if is_batch():
        return None
    import ipywidgets as widgets

    s = result.settings
    options = list(dict.fromkeys([*lookbacks, s.lookback_days]))
    tr = report.t
    threshold = widgets.Dropdown(
        options=[(tr(f"segmentation.threshold.{v}"), v) for v in ("mean", "median")],
        value=s.threshold,
        description=tr("segmentation.widget.threshold"),
    )
    k = widgets.Dropdown(options=list(SCORE_LEVELS), value=s.k, description="k")
    lookback = widgets.Dropdown(
        options=[(tr("segmentation.widget.all") if v is None else str(v), v) for v in options],
        value=s.lookback_days,
        description=tr("segmentation.widget.lookback"),
    )
    out = widgets.Output()
    engine_results: dict[Any, RFMTable] = {s.lookback_days: result.rfm}

    def redraw(*_: Any) -> None:
        days = lookback.value
        if days not in engine_results:
            engine_results[days] = compute_rfm(
                report.source,
                as_of=s.as_of,
                lookback_days=days,
                frequency=s.frequency,
                monetary=s.monetary,
            )
        changed = replace(s, threshold=threshold.value, k=k.value, lookback_days=days)
        again = segment_customers(engine_results[days], changed)
        out.clear_output(wait=True)
        with out:
            show_thresholds(report, again)
            show_segment_profile(report, again)
            show_tier_profile(report, again)
            display(size_vs_revenue_chart(report, again))
            display(rf_heatmap(report, again))

    for control in (threshold, k, lookback):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([threshold, k, lookback]), out])
