"""The KPIs other topics measure: retention, DAU/MAU, first-order conversion and repeat
purchase from the retention topic; campaign conversion, ROI and K from the campaign topic."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pandas as pd

from opsbook.campaigns.analysis import METRICS_EVENTS, incremental, lift_table
from opsbook.campaigns.queries import (
    catalogue,
    holdout_sums,
    keep_campaign_events,
    participation,
    referral,
)
from opsbook.data import Source
from opsbook.kpi.queries.campaigns import campaign_count, events_before
from opsbook.kpi.queries.periods import Periods, _period_of
from opsbook.kpi.queries.rows import _ratio, _row, _rows
from opsbook.retention.analysis import day_n_retention, stickiness
from opsbook.retention.queries import first_order_counts, repeat_purchase_counts
from opsbook.targets import missing

RETENTION_DAYS = {"d1_retention": 1, "d7_retention": 7, "d30_retention": 30}


def _as_of(day: date) -> pd.Timestamp:
    """The local moment at which ``day`` has just fully elapsed (its next midnight)."""
    return pd.Timestamp(day + timedelta(days=1))


def retention_rows(
    source: Source, periods: Periods, *, first_order_days: int = 30, repeat_window_days: int = 30
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """D1/D7/D30 retention, DAU/MAU, first-order conversion and repeat purchase per period, from
    :mod:`opsbook.retention`:

    * Dn retention of a period: users who signed up n days before one of its days, share active
      on local day signup + n (``day_n_retention`` per signup day, summed by the day n falls on);
    * first-order conversion: users whose ``first_order_days`` window closes in the period;
    * repeat purchase: buyers of the ``repeat_window_days`` ending with the period;
    * DAU/MAU on the period's last day (mean DAU over the trailing 30 days / MAU)."""

    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    if not source.has("users"):
        return rows, {n: "kpi_dashboard.na.no_users" for n in RETENTION_DAYS}
    as_of = _as_of(periods.end)
    if source.has("events") or source.has("orders"):
        longest = timedelta(days=max(RETENTION_DAYS.values()))
        cohorts = day_n_retention(
            source,
            days=tuple(RETENTION_DAYS.values()),
            cohort_start=periods.first - longest,
            cohort_end=periods.end - timedelta(days=min(RETENTION_DAYS.values())),
            as_of=as_of,
            cohort_period="day",
        )
        for name, n in RETENTION_DAYS.items():
            part = cohorts[cohorts["day"] == n]
            measured = pd.Series(
                [pd.Timestamp(c).date() + timedelta(days=n) for c in part["cohort"]],
                index=part.index,
                dtype=object,
            )
            part = part.assign(k=_period_of(measured, periods))
            per_k = part.dropna(subset=["k"]).groupby("k")[["eligible", "retained"]].sum()
            per_k = per_k.reindex(range(periods.count), fill_value=0).astype(float)
            rows += _rows(
                name,
                _ratio(per_k["retained"], per_k["eligible"]),
                per_k["retained"],
                per_k["eligible"],
            )
        stick = stickiness(source, as_of=as_of, start=periods.first)
        daily = stick.daily.assign(day=[pd.Timestamp(d).date() for d in stick.daily["date"]])
        daily = daily.set_index("day")
        for k, period in enumerate(periods):
            if period.end in daily.index:
                row = daily.loc[period.end]
                rows.append(_row("dau_mau", k, row["dau_mau"], None, row["mau"]))
    if source.has("orders"):
        span = timedelta(days=int(first_order_days))
        first = first_order_counts(
            source,
            within_days=int(first_order_days),
            cohorts=[(p.start - span, p.end - span, _as_of(p.end)) for p in periods],
        )
        repeat = repeat_purchase_counts(
            source,
            windows=[(p.end - timedelta(days=int(repeat_window_days) - 1), p.end) for p in periods],
        )
        for name, counts, key in (
            ("first_order_conversion", first, "cohort"),
            ("repeat_purchase_rate", repeat, "window"),
        ):
            per_k = counts.groupby(key)[["successes", "n"]].sum()
            per_k = per_k.reindex(range(periods.count), fill_value=0).astype(float)
            rows += _rows(
                name, _ratio(per_k["successes"], per_k["n"]), per_k["successes"], per_k["n"]
            )
    else:
        notes |= {n: "kpi_dashboard.na.no_orders" for n in ("first_order_conversion",)}
    return rows, notes


def campaign_rows(
    source: Source, periods: Periods, *, window_days: int = 7, alpha: float = 0.05
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Campaign conversion, campaign ROI and the viral coefficient K of the campaigns running in
    each period (start before its end, end after its start), to the period's end, from
    :mod:`opsbook.campaigns`:

    * conversion = participants with a paid order within ``window_days`` of joining /
      participants (``campaigns.participation``), summed over the campaigns;
    * ROI = incremental revenue against the holdout (``holdout_sums`` -> ``lift_table`` ->
      ``incremental``) / spend, over the campaigns with a holdout; the spend of a campaign still
      running at the period's end is prorated by its elapsed share of days (revenue / cost, the
      "1:3" form). It is an estimate, so it carries an interval: the campaigns' incremental
      revenues are independent, their standard errors add in quadrature, and the critical value
      is the largest of the campaigns' own (the campaign review's Holm-adjusted level for
      revenue), so with one campaign running the interval is exactly the campaign review's
      revenue interval over the prorated spend;
    * K = invitees / participants of the campaigns with invitations (``campaigns.referral``)."""
    names = ("campaign_conversion", "campaign_roi", "k_factor")
    if not (source.has("campaigns") and source.has("orders")):
        return [], dict.fromkeys(names, "kpi_dashboard.na.no_campaign_tables")
    if campaign_count(source) == 0:
        return [], dict.fromkeys(names, "kpi_dashboard.na.no_campaigns")
    frame = catalogue(source)
    kept = keep_campaign_events(source)
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    for k, period in enumerate(periods):
        lo, hi = period.utc_bounds(source)
        running = frame[(frame["start"] < hi) & (frame["end"] >= lo)]
        if running.empty:
            if k == 0:
                notes |= dict.fromkeys(names, "kpi_dashboard.na.no_campaigns")
            continue
        view = source.before(hi)
        if kept is not None:
            keep_campaign_events(view, events_before(kept, hi))
        sums = dict.fromkeys(
            ("participants", "converted", "revenue", "spend", "invitees", "referrers"), 0.0
        )
        holdouts: list[pd.DataFrame] = []
        for row in running.to_dict("records"):
            start, end = pd.Timestamp(row["start"]), pd.Timestamp(row["end"])
            row["end"] = min(end, pd.Timestamp(hi) - pd.Timedelta(microseconds=1))
            part = participation(view, row, window_days)
            sums["participants"] += part["participants"] or 0
            sums["converted"] += part["converted"] or 0
            spend = row.get("spend")
            if row["has_holdout"] and not missing(spend) and spend > 0:
                elapsed = (row["end"] - start) / (end - start) if end > start else 1.0
                lifts = lift_table(holdout_sums(view, row), METRICS_EVENTS, alpha=alpha)
                gain = incremental(lifts, spend)["incremental_revenue"]
                if gain is not None:
                    sums["spend"] += spend * min(max(elapsed, 0.0), 1.0)
                    holdouts.append(lifts)
            invited = referral(view, row)
            if invited["invitations"] or invited["invitees"]:
                sums["invitees"] += invited["invitees"]
                sums["referrers"] += part["participants"] or 0
        conversion = _safe_div(sums["converted"], sums["participants"])
        rows.append(
            _row("campaign_conversion", k, conversion, sums["converted"], sums["participants"])
        )
        roi, interval = None, (None, None)
        if holdouts:
            gain, low, high = pooled_increment(holdouts)
            roi = _safe_div(gain, sums["spend"])
            interval = (_safe_div(low, sums["spend"]), _safe_div(high, sums["spend"]))
            sums["revenue"] = gain
        rows.append(_row("campaign_roi", k, roi, sums["revenue"], sums["spend"], interval))
        k_factor = _safe_div(sums["invitees"], sums["referrers"])
        rows.append(_row("k_factor", k, k_factor, sums["invitees"], sums["referrers"]))
        if k == 0 and not holdouts:
            notes["campaign_roi"] = "kpi_dashboard.na.no_holdout"
        if k == 0 and not sums["referrers"]:
            notes["k_factor"] = "kpi_dashboard.na.no_referral"
    return rows, notes


def pooled_increment(lifts: list[pd.DataFrame]) -> tuple[float, float, float]:
    """The incremental revenue of several campaigns together, with its interval: the sum of
    each campaign's (treatment users x revenue-per-user lift); the campaigns are independent,
    so their standard errors add in quadrature; the critical value is the largest of the
    campaigns' own revenue intervals (half-width / standard error: the campaign review's
    Holm-adjusted level), so one campaign's interval is exactly the campaign review's. The
    bounds are NaN when a campaign's lift has no standard error (e.g. a holdout of one)."""
    gain, variance, critical = 0.0, 0.0, 0.0
    for table in lifts:
        revenue = table.set_index("metric").loc["revenue"]
        se, n = float(revenue["abs_se"]), float(revenue["treatment_n"])
        gain += float(revenue["abs_lift"]) * n
        if not (math.isfinite(se) and se > 0):
            variance = math.nan
            continue
        variance += (se * n) ** 2
        critical = max(critical, (revenue["abs_high"] - revenue["abs_low"]) / (2 * se))
    half = critical * math.sqrt(variance)
    return gain, gain - half, gain + half


def _safe_div(num: float, den: float) -> float | None:
    return num / den if den else None
