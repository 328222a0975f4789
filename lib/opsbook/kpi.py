"""The weekly KPI dashboard: every KPI of the operations KPI system against its target and last week.

Conventions (the report prints them):

* **Periods** are local calendar days in the configured zone. The period is the ``period_days``
  (default 7) local days ending ``period_end``; by default ``period_end`` is the last Sunday the
  data reach (a week counts as complete when the newest event falls on or after its Sunday).
  The previous period is the ``period_days`` before it; trends show ``trend_weeks`` periods.
* **Cohort KPIs** (D1/D7/D30 retention, activation within N days, first-order conversion within
  N days) are reported for the cohort whose measuring day falls in the period: Dn retention of a
  week is measured on users who signed up n days before a day of that week, so every weekly
  value rests on a complete window.
* **Status**: green meets the target; amber misses it by at most ``amber_band`` of the target
  (default 10 %); red is further off; n/a when the value or the target is missing.
* **Week-over-week**: ``change`` is the relative change against the previous period
  (``change_abs`` the difference); for rates measured afresh each period a pooled
  two-proportion z-test, treating the two periods as independent samples, says whether the
  change is beyond noise (``alpha``, default 0.05). Trailing-window rates (DAU/MAU, repeat
  purchase over 30 days) and campaign numbers to date overlap the previous period's and are not
  tested.
* **Content attribution** (last touch): a paid order is credited to the user's latest content
  view in the ``content_window_hours`` before it; content conversion = credited orders / views,
  content revenue = their amounts, content ROI of the period = revenue credited to the period's
  views / production cost of the items published in the period.

Heavy work (period counts over events, orders, the view -> order join) runs in the engine as Ibis
expressions; pandas holds one row per KPI and period. Retention, first-order conversion, repeat
purchase and stickiness come from :mod:`opsbook.retention`, campaign conversion and ROI from
:mod:`opsbook.campaigns`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from opsbook import retention
from opsbook.data import DAY_MICROSECONDS, Source
from opsbook.plots import PALETTE, STATUS_COLOURS, date_ticks, figure, percent_ticks
from opsbook.report import Report, fmt
from opsbook.retention import activity, paid_orders
from opsbook.stats import two_proportion_test
from opsbook.stats.timeseries import complete_days, flag_anomalies, flag_daily
from opsbook.targets import (
    AREAS,
    KNOWN_KPIS,
    UNIT_FORMAT,
    KpiTarget,
    kpi_status,
    load_targets,
    missing,
)
from opsbook.validation import validate

__all__ = [
    "AREAS",
    "KNOWN_KPIS",
    "KpiDashboard",
    "KpiTarget",
    "Period",
    "Periods",
    "dashboard",
    "default_period_end",
    "flag_trend",
    "kpi_status",
    "load_targets",
    "week_over_week",
]


YEAR_DAYS = 364  # 52 weeks: the same weekdays a year earlier
CONTENT_EVENTS = {
    "content_view": "views",
    "content_like": "likes",
    "content_comment": "comments",
    "content_share": "shares",
}
# the tables the dashboard reads: their contract checks make up the data accuracy KPI
READS = ("users", "events", "orders", "spend", "content", "campaigns", "campaign_members")
# a weekly KPI is flagged only when it is both far from its robust baseline (|z| > threshold) and
# at least this far from it in relative terms: short smooth series have a tiny MAD
TREND_MIN_CHANGE = 0.10
DAILY_METRICS = ("active_users", "paid_orders", "revenue", "new_users")
# rates whose week-over-week change is tested (a success count over a count of users, views or
# cohort members, measured afresh each period); DAU/MAU and campaign numbers to date overlap the
# previous period's and are not
TESTED_RATES = (
    "activation_rate",
    "d1_retention",
    "d7_retention",
    "d30_retention",
    "paying_rate",
    "first_order_conversion",
    "content_interaction_rate",
    "content_conversion",
)


def _number(value: Any, unit: str | None = None) -> float | int | None:
    """A KPI value for metrics.json: None when missing, whole counts as integers."""
    if value is None or missing(float(value)):
        return None
    if unit == "count" and float(value).is_integer():
        return int(value)
    return float(value)


# ============================================================================== periods
@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` .. ``end`` (inclusive)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def earlier(self, days: int) -> Period:
        return Period(self.start - timedelta(days=days), self.end - timedelta(days=days))

    def utc_bounds(self, source: Source) -> tuple[datetime, datetime]:
        """[lo, hi) in naive UTC: local midnight of ``start`` to local midnight after ``end``."""
        return (
            source.utc_from_local(pd.Timestamp(self.start)),
            source.utc_from_local(pd.Timestamp(self.end + timedelta(days=1))),
        )

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


@dataclass(frozen=True)
class Periods:
    """``count`` consecutive periods of ``days`` local days; number 0 ends on ``end`` (the
    current period), 1 is the previous one, and so on."""

    end: date
    days: int = 7
    count: int = 12

    def __post_init__(self) -> None:
        if int(self.days) < 1:
            raise ValueError(f"period_days must be at least 1, got {self.days}")
        if int(self.count) < 2:
            raise ValueError("trend_weeks must be at least 2 (this and the previous period)")

    def __getitem__(self, k: int) -> Period:
        last = self.end - timedelta(days=k * self.days)
        return Period(last - timedelta(days=self.days - 1), last)

    def __iter__(self):
        return (self[k] for k in range(self.count))

    @property
    def first(self) -> date:
        return self[self.count - 1].start

    def span(self) -> Period:
        return Period(self.first, self.end)

    def index(self, source: Source, ts: ir.TimestampValue) -> ir.IntegerValue:
        """The period number of a naive-UTC timestamp by its local date, floor((end's day -
        its day) / days); computed as floor((microseconds to the local midnight after ``end``
        - 1) / period length), the same integer in one integer division per row."""
        until = (self.end_day + 1) * DAY_MICROSECONDS - 1 - source.local_microseconds(ts)
        return source.floor_divide(until, self.days * DAY_MICROSECONDS)

    def day_index(self, source: Source, day: ir.IntegerValue) -> ir.IntegerValue:
        """:meth:`index` of a local day number (:meth:`Source.local_day`)."""
        return source.floor_divide(self.end_day - day, self.days)

    @property
    def end_day(self) -> int:
        """The local day number (:func:`opsbook.retention.period_number`) of ``end``."""
        return retention.number_of(self.end, "day")

    def tag(self, source: Source, table: ir.Table, column: str = "ts") -> ir.Table:
        """Rows of ``table`` whose ``column`` falls in the periods, with their number ``k``."""
        lo, hi = self.span().utc_bounds(source)
        inside = table.filter(
            table[column].notnull() & (table[column] >= lo) & (table[column] < hi)
        )
        return self.number(source, inside, column)

    def number(self, source: Source, table: ir.Table, column: str = "ts") -> ir.Table:
        """``table``, already limited to the periods (``source.table(name, since=, until=)``
        with :meth:`Period.utc_bounds`), with each row's period number ``k``."""
        return table.mutate(k=self.index(source, table[column]))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"k": k, "start": p.start, "end": p.end} for k, p in enumerate(self)]
        ).set_index("k")


def newest_event(source: Source) -> pd.Timestamp | None:
    """The newest event time (naive UTC; orders when the source has no events)."""
    name = "events" if source.has("events") else "orders"
    return source.latest(name) if source.has(name) else None


def default_period_end(source: Source) -> date:
    """The Sunday ending the last complete local week of the data: the newest event's local
    date when that is a Sunday, else the Sunday before it."""
    newest = newest_event(source)
    if newest is None:
        raise ValueError("the source has no events or orders to place the period in")
    local = newest.tz_localize("UTC").tz_convert(source.timezone).date()
    return local - timedelta(days=(local.weekday() + 1) % 7)


def _as_date(value: Any) -> date:
    return pd.Timestamp(value).date()


# ============================================================================== engine helpers
def _key_like(value: ir.Value, like: ir.Value) -> ir.Value:
    """``value`` cast so it joins ``like`` (ids may be integers in one table, floats or text in
    another: a nullable id column read from Parquet is often float)."""
    if value.type() == like.type():
        return value
    if value.type().is_numeric() and like.type().is_numeric():
        return value.cast("int64")
    return value.cast("string")


def _counts(frame: pd.DataFrame, column: str, count: int) -> pd.Series:
    """A per-period column as a Series over 0..count-1 (missing periods: 0)."""
    if frame.empty:
        return pd.Series(0.0, index=range(count))
    return frame.set_index("k")[column].reindex(range(count)).fillna(0).astype(float)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


# ============================================================================== results
@dataclass(frozen=True)
class DataHealth:
    """Freshness (newest event vs the report time) and accuracy (rows passing every contract
    rule) of the tables the dashboard reads."""

    newest_event: pd.Timestamp | None  # naive UTC
    report_time: pd.Timestamp  # naive UTC
    hours: float | None
    tables: tuple[str, ...] = ()
    rows: int = 0
    passing: int = 0
    findings: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.passing / self.rows if self.rows else None


@dataclass(frozen=True)
class KpiDashboard:
    """What the dashboard shows. ``series``: one row per KPI and period (k = 0 current);
    ``scorecard``: one row per KPI for the current period."""

    periods: Periods
    series: pd.DataFrame  # kpi, k, start, end, value, num, den, target, status
    scorecard: pd.DataFrame  # kpi, area, unit, value, target, direction, status, previous, ...
    acquisition: pd.DataFrame  # channel, new_users, previous_new_users, spend, cac
    content_types: pd.DataFrame  # type, items_published, items_viewed, views, ... roi
    content_items: pd.DataFrame  # rank, content_id, type, published, views, viewers, ...
    content_volume: pd.DataFrame  # k, start, end, type, items
    trend_anomalies: pd.DataFrame  # kpi, k, end, value, baseline, z, flag
    daily: pd.DataFrame  # metric, date, value, baseline, z, flag
    health: DataHealth
    targets: dict[str, KpiTarget]
    notes: dict[str, str]  # kpi -> i18n key of why it is n/a
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def period(self) -> Period:
        return self.periods[0]

    @property
    def previous(self) -> Period:
        return self.periods[1]

    @property
    def daily_anomalies(self) -> pd.DataFrame:
        return self.daily[self.daily["flag"] != ""].reset_index(drop=True)

    def kpi(self, name: str) -> dict[str, Any]:
        row = self.scorecard.set_index("kpi").loc[name]
        return {k: (None if missing(v) else v) for k, v in row.items()}

    def metrics(self) -> dict[str, Any]:
        kpis = {}
        for row in self.scorecard.itertuples():
            unit = self.targets[row.kpi].unit
            kpis[row.kpi] = {
                "value": _number(row.value, unit),
                "target": _number(row.target),
                "direction": row.direction,
                "status": row.status,
                "previous": _number(row.previous, unit),
                "change": _number(row.change),
                "change_abs": _number(row.change_abs),
                "p_value": _number(row.p_value),
                "significant": None if row.significant is None else bool(row.significant),
                "area": row.area,
                "unit": row.unit,
                "note": self.notes.get(row.kpi),
            }
        statuses = self.scorecard["status"].value_counts()
        return {
            "period_start": self.period.start,
            "period_end": self.period.end,
            "previous_start": self.previous.start,
            "previous_end": self.previous.end,
            "period_days": self.periods.days,
            "trend_weeks": self.periods.count,
            "status_rule": {"amber_band": self.settings.get("amber_band")},
            "alpha": self.settings.get("alpha"),
            "kpis": kpis,
            "statuses": {s: int(statuses.get(s, 0)) for s in ("green", "amber", "red", "n/a")},
            "acquisition": {
                str(r.channel): {"new_users": int(r.new_users), "spend": r.spend, "cac": r.cac}
                for r in self.acquisition.itertuples()
            },
            "trend_anomalies": [
                {"kpi": r.kpi, "period_end": r.end, "value": r.value, "flag": r.flag}
                for r in self.trend_anomalies.itertuples()
            ],
            "daily_anomalies": [
                {"metric": r.metric, "date": r.date.date(), "value": r.value, "flag": r.flag}
                for r in self.daily_anomalies.itertuples()
            ],
            "newest_event": self.health.newest_event,
            "freshness_hours": self.health.hours,
            "accuracy_tables": list(self.health.tables),
            "settings": self.settings,
        }

    def headline(self) -> list[dict[str, Any]]:
        judged = self.scorecard[self.scorecard["status"] != "n/a"]
        green = int((judged["status"] == "green").sum())
        red = int((judged["status"] == "red").sum())
        entries: list[dict[str, Any]] = [
            {
                "label": "kpi_dashboard.h.on_target",
                "value": f"{green} / {len(judged)}",
                "format": "text",
                "status": "red" if red else ("green" if green == len(judged) else "amber"),
            }
        ]
        for name in ("new_users", "d7_retention", "arpu", "data_accuracy"):
            row = self.kpi(name)
            entries.append(
                {
                    "label": f"kpi_dashboard.kpi.{name}",
                    "value": row["value"],
                    "format": self.targets[name].format,
                    "status": None if row["status"] == "n/a" else row["status"],
                }
            )
        return entries


# ============================================================================== computation
def dashboard(
    report: Report,
    *,
    period_end: Any = None,
    period_days: int = 7,
    trend_weeks: int = 12,
    activation_days: int = 7,
    activation_event: str = "add_to_cart",
    first_order_days: int = 30,
    repeat_window_days: int = 30,
    content_window_hours: float = 24,
    anomaly_threshold: float = 4.0,
    amber_band: float = 0.10,
    alpha: float = 0.05,
    top_items: int = 10,
    campaign_window_days: int = 7,
    targets: str | Path | Mapping[str, Any] | None = None,
    now: Any = None,
) -> KpiDashboard:
    """Every KPI of the KPI system for the period ending ``period_end`` (a local date; None: the
    last complete week), the previous period, and ``trend_weeks`` periods of trend."""
    if not 0 <= amber_band < 1:
        raise ValueError(f"amber_band must be in [0, 1), got {amber_band}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    for name, value in (
        ("activation_days", activation_days),
        ("first_order_days", first_order_days),
        ("repeat_window_days", repeat_window_days),
        ("content_window_hours", content_window_hours),
        ("anomaly_threshold", anomaly_threshold),
    ):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    source = report.source
    config_path = report.config.path
    kpi_targets = load_targets(targets, base_dir=config_path.parent if config_path else None)
    end = default_period_end(source) if period_end in (None, "") else _as_date(period_end)
    periods = Periods(end=end, days=int(period_days), count=int(trend_weeks))

    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    if source.has("events"):  # read by revenue, retention and the daily pulse: kept first
        retention.keep_active_days(source, as_of=_as_of(periods.end))
    acq, year_earlier = acquisition(source, periods)
    rows += acq.rows
    notes |= acq.notes
    active, active_notes = activation_rows(
        source, periods, days=activation_days, event=activation_event
    )
    rows += active
    notes |= active_notes
    rows += revenue_rows(source, periods)
    reused, reused_notes = retention_rows(
        source, periods, first_order_days=first_order_days, repeat_window_days=repeat_window_days
    )
    rows += reused
    notes |= reused_notes
    content = content_performance(source, periods, window_hours=content_window_hours, top=top_items)
    rows += content.rows
    notes |= content.notes
    camp, camp_notes = campaign_rows(source, periods, window_days=campaign_window_days, alpha=alpha)
    rows += camp
    notes |= camp_notes
    health = data_health(report, now=now)
    rows += [
        _row("data_accuracy", 0, health.accuracy, health.passing, health.rows),
        _row("data_freshness_hours", 0, health.hours),
    ]

    series = _series(rows, periods, kpi_targets, year_earlier, amber_band)
    current = series[series.k == 0].set_index("kpi")
    for name in KNOWN_KPIS:
        if name in notes:
            continue
        if np.isnan(current.loc[name, "value"]):
            notes[name] = "kpi_dashboard.na.no_data"
        elif kpi_targets[name].kind == "growth_yoy" and np.isnan(current.loc[name, "target"]):
            notes[name] = "kpi_dashboard.na.no_year_baseline"
    # a repeat-purchase window no longer than the period does not overlap the previous one
    tested = TESTED_RATES + (("repeat_purchase_rate",) if repeat_window_days <= period_days else ())
    scorecard = _scorecard(series, kpi_targets, alpha=alpha, tested=tested)
    daily = daily_pulse(source, periods, threshold=anomaly_threshold)
    settings = {
        "period_days": int(period_days),
        "trend_weeks": int(trend_weeks),
        "activation_days": activation_days,
        "activation_event": activation_event,
        "first_order_days": first_order_days,
        "repeat_window_days": repeat_window_days,
        "content_window_hours": content_window_hours,
        "anomaly_threshold": anomaly_threshold,
        "amber_band": amber_band,
        "alpha": alpha,
        "period_end_given": period_end not in (None, ""),
    }
    return KpiDashboard(
        periods=periods,
        series=series,
        scorecard=scorecard,
        acquisition=acq.by_channel,
        content_types=content.by_type,
        content_items=content.items,
        content_volume=content.volume,
        trend_anomalies=flag_trend(
            series,
            threshold=anomaly_threshold,
            units={name: spec.unit for name, spec in kpi_targets.items()},
        ),
        daily=daily,
        health=health,
        targets=kpi_targets,
        notes=notes,
        settings=settings,
    )


def _row(kpi: str, k: int, value: Any, num: Any = None, den: Any = None) -> dict[str, Any]:
    def number(x: Any) -> float:
        return math.nan if missing(x) else float(x)

    return {"kpi": kpi, "k": int(k), "value": number(value), "num": number(num), "den": number(den)}


def _rows(kpi: str, values: pd.Series, num: pd.Series | None = None, den=None) -> list[dict]:
    return [
        _row(
            kpi,
            k,
            values.get(k),
            None if num is None else num.get(k),
            None if den is None else den.get(k),
        )
        for k in values.index
    ]


def _series(
    rows: list[dict[str, Any]],
    periods: Periods,
    targets: Mapping[str, KpiTarget],
    year_earlier: pd.Series,
    amber_band: float,
) -> pd.DataFrame:
    """The long KPI x period frame with each period's target and status."""
    frame = pd.DataFrame(rows, columns=["kpi", "k", "value", "num", "den"])
    grid = pd.MultiIndex.from_product([list(KNOWN_KPIS), range(periods.count)], names=["kpi", "k"])
    frame = (
        frame.drop_duplicates(["kpi", "k"], keep="last")
        .set_index(["kpi", "k"])
        .reindex(grid)
        .reset_index()
    )
    dates = periods.frame()
    frame["start"] = frame["k"].map(dates["start"])
    frame["end"] = frame["k"].map(dates["end"])
    frame["target"] = [
        targets[r.kpi].resolve(
            periods.days, year_earlier.get(r.k) if r.kpi == "new_users" else None
        )
        for r in frame.itertuples()
    ]
    frame["target"] = frame["target"].astype(float)
    frame["status"] = [
        kpi_status(r.value, r.target, targets[r.kpi].direction, amber_band)
        for r in frame.itertuples()
    ]
    return frame[["kpi", "k", "start", "end", "value", "num", "den", "target", "status"]]


def week_over_week(
    current: tuple[float, float], previous: tuple[float, float], alpha: float = 0.05
) -> tuple[float | None, bool | None]:
    """(p-value, beyond noise) for a rate ``x / n`` this period vs the previous one: a pooled
    two-proportion z-test (:func:`opsbook.stats.two_proportion_test`); None when untestable."""
    (x2, n2), (x1, n1) = current, previous
    if any(missing(v) for v in (x1, n1, x2, n2)) or min(n1, n2) <= 0:
        return None, None
    x1, n1, x2, n2 = (round(v) for v in (x1, n1, x2, n2))
    result = two_proportion_test(min(x1, n1), n1, min(x2, n2), n2, alpha=alpha)
    if not result.valid:
        return None, None
    return result.p_value, bool(result.p_value < alpha)


def _scorecard(
    series: pd.DataFrame,
    targets: Mapping[str, KpiTarget],
    *,
    alpha: float,
    tested: tuple[str, ...] = TESTED_RATES,
) -> pd.DataFrame:
    """One row per KPI: this period against its target and the previous period; ``tested``
    rates get the week-over-week test."""
    current = series[series.k == 0].set_index("kpi")
    previous = series[series.k == 1].set_index("kpi")
    records = []
    for name in KNOWN_KPIS:
        spec = targets[name]
        cur, prev = current.loc[name], previous.loc[name]
        value, before = cur["value"], prev["value"]
        change = value / before - 1 if np.isfinite(before) and before != 0 else math.nan
        p_value, significant = None, None
        if name in tested:
            p_value, significant = week_over_week(
                (cur["num"], cur["den"]), (prev["num"], prev["den"]), alpha
            )
        records.append(
            {
                "kpi": name,
                "area": spec.area,
                "unit": spec.unit,
                "value": value,
                "target": cur["target"],
                "direction": spec.direction,
                "status": cur["status"],
                "previous": before,
                "change": change,
                "change_abs": value - before,
                "tested": name in tested,
                "p_value": p_value,
                "significant": significant,
            }
        )
    return pd.DataFrame(records)


# ---------------------------------------------------------------------------- acquisition
@dataclass(frozen=True)
class _Part:
    rows: list[dict[str, Any]]
    notes: dict[str, str]
    by_channel: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_type: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    volume: pd.DataFrame = field(default_factory=pd.DataFrame)


def signups_per_day(source: Source) -> pd.DataFrame:
    """New users per local signup date and channel (one row per day and channel)."""
    users = source.table("users")
    users = users.filter(users.signup_ts.notnull())
    channel = (
        users.channel.cast("string").fill_null("(missing)")
        if "channel" in users.columns
        else ibis.literal("(all)")
    )
    frame = (
        users.group_by(day=source.local_date(users.signup_ts), channel=channel)
        .aggregate(new_users=users.count())
        .execute()
    )
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def spend_per_day(source: Source, periods: Periods) -> pd.DataFrame:
    spend = source.table("spend")
    span = periods.span()
    spend = spend.filter(spend.date.notnull() & spend.date.between(span.start, span.end))
    frame = (
        spend.group_by(day=spend.date, channel=spend.channel.cast("string"))
        .aggregate(spend=spend.cost.sum())
        .execute()
    )
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def _period_of(days: pd.Series, periods: Periods) -> pd.Series:
    """Period number of local dates (NaN outside the periods)."""
    delta = pd.Series([(periods.end - d).days for d in days], index=days.index)
    k = delta // periods.days
    return k.where((delta >= 0) & (k < periods.count))


def acquisition(source: Source, periods: Periods) -> tuple[_Part, pd.Series]:
    """New users and CAC per period and channel. CAC = acquisition spend / new users of the
    channels that had spend in the period (paid CAC; organic and referral users are not bought;
    without a users.channel column, blended CAC over every new user).
    Also returns new users per period 52 weeks earlier (the growth target's baseline, NaN where
    the users table does not reach back that far)."""
    notes: dict[str, str] = {}
    signups = signups_per_day(source)
    year = pd.Series(math.nan, index=range(periods.count))
    if signups.empty:
        empty = pd.DataFrame(columns=["channel", "new_users", "previous_new_users", "spend", "cac"])
        return _Part([], {"new_users": "kpi_dashboard.na.no_data"}, by_channel=empty), year
    signups["k"] = _period_of(signups["day"], periods)
    inside = signups.dropna(subset=["k"]).astype({"k": "int64"})
    per_k = inside.groupby("k")["new_users"].sum().reindex(range(periods.count), fill_value=0)
    first_day = signups["day"].min()
    for k in range(periods.count):
        earlier = periods[k].earlier(YEAR_DAYS)
        if first_day <= earlier.start:
            mask = (signups["day"] >= earlier.start) & (signups["day"] <= earlier.end)
            year[k] = float(signups.loc[mask, "new_users"].sum())
    rows = _rows("new_users", per_k.astype(float))
    by_channel = inside.pivot_table(
        index="channel", columns="k", values="new_users", aggfunc="sum", fill_value=0
    ).reindex(columns=range(periods.count), fill_value=0)
    if source.has("spend"):
        spend = spend_per_day(source, periods)
        spend["k"] = _period_of(spend["day"], periods)
        spend = spend.dropna(subset=["k"]).astype({"k": "int64"})
        cost = spend.pivot_table(
            index="channel", columns="k", values="spend", aggfunc="sum", fill_value=0.0
        ).reindex(columns=range(periods.count), fill_value=0.0)
        if "channel" in source.columns("users"):
            bought = by_channel.reindex(cost.index, fill_value=0).where(cost.gt(0), 0)
            users_paid = bought.sum()
        else:  # no acquisition channel per user: blended CAC over every new user
            users_paid = per_k.astype(float)
            notes["cac"] = "kpi_dashboard.na.blended_cac"
        total_cost = cost.sum()
        rows += _rows("cac", _ratio(total_cost, users_paid), total_cost, users_paid)
    else:
        cost = pd.DataFrame(columns=range(periods.count), dtype=float)
        notes["cac"] = "kpi_dashboard.na.no_spend"
    channels = sorted(set(by_channel.index) | set(cost.index))
    table = pd.DataFrame({"channel": channels})
    table["new_users"] = [int(by_channel[0].get(c, 0)) for c in channels]
    table["previous_new_users"] = [int(by_channel[1].get(c, 0)) for c in channels]
    table["spend"] = [
        float(cost[0].get(c, math.nan)) if c in cost.index else math.nan for c in channels
    ]
    table["cac"] = [
        s / n if np.isfinite(s) and s > 0 and n > 0 else math.nan
        for s, n in zip(table["spend"], table["new_users"], strict=True)
    ]
    return _Part(rows, notes, by_channel=table), year


# ---------------------------------------------------------------------------- activation
def _window_cohort(source: Source, periods: Periods, days: float) -> ir.Table:
    """Users whose ``days``-day window after signup closes in one of the periods, with ``k`` the
    period of the window's close: ``user_id, signup, close, k``."""
    users = source.table("users")
    users = users.filter(users.user_id.notnull() & users.signup_ts.notnull())
    users = users.select(
        "user_id",
        signup=users.signup_ts,
        close=users.signup_ts + ibis.interval(seconds=round(days * 86_400)),
    )
    return periods.tag(source, users, "close")


def activation_rows(
    source: Source, periods: Periods, *, days: int = 7, event: str = "add_to_cart"
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Activation rate: new users doing the key action (``event``: an event name, or ``order``
    for a paid order) within ``days`` days (rolling, from the signup time) / new users, for the
    cohort whose window closes in each period. An event the source never logs leaves the KPI
    n/a with a note rather than at 0 %."""
    if not source.has("users"):
        return [], {"activation_rate": "kpi_dashboard.na.no_users"}
    try:
        retention.check_event(source, event)
    except ValueError:
        return [], {"activation_rate": "kpi_dashboard.na.no_activation_event"}
    cohort = _window_cohort(source, periods, days)
    actions = activity(source, event)
    actions = actions.mutate(user_id=_key_like(actions.user_id, cohort.user_id))
    hits = (
        cohort.inner_join(
            actions,
            [
                cohort.user_id == actions.user_id,
                actions.ts >= cohort.signup,
                actions.ts < cohort.close,
            ],
        )
        .select("user_id")
        .distinct()
        .mutate(hit=ibis.literal(1))
    )
    joined = cohort.left_join(hits, "user_id")
    frame = (
        joined.group_by("k").aggregate(n=joined.count(), x=joined.hit.fill_null(0).sum()).execute()
    )
    n, x = _counts(frame, "n", periods.count), _counts(frame, "x", periods.count)
    return _rows("activation_rate", _ratio(x, n), x, n), {}


# ---------------------------------------------------------------------------- revenue
def _days_in(source: Source, periods: Periods, days: ir.Table) -> ir.Table:
    """The active days (``user_id, p``) that fall in the periods, with their period number."""
    first = periods.end_day - (periods.span().days - 1)
    days = days.filter(days.p.between(first, periods.end_day))
    return days.mutate(k=periods.day_index(source, days.p))


def revenue_rows(source: Source, periods: Periods) -> list[dict[str, Any]]:
    """Paying rate (paying / active users), ARPU (revenue / active users), ARPPU (revenue /
    paying users) and GMV (paid order amount) per period. Active = any event or paid order."""
    lo, hi = periods.span().utc_bounds(source)
    orders = periods.number(source, paid_orders(source, since=lo, until=hi))
    money = orders.group_by(mk="k").aggregate(
        revenue=orders.amount.sum(), paying=orders.user_id.nunique()
    )
    actors = orders.select("user_id", "k")
    if source.has("events"):
        # the active days when the dashboard keeps them (first); alone, the periods' events
        # are cheaper than every active day of the history
        kept = retention.kept_active_days(source, "any", hi)
        if kept is not None:
            days = _days_in(source, periods, kept)
        else:
            days = source.table("events", since=lo, until=hi, local_day=True)
            days = days.filter(days.user_id.notnull())
            days = days.mutate(k=periods.day_index(source, days.local_day))
        actors = actors.union(
            days.select(user_id=_key_like(days.user_id, orders.user_id), k=days.k)
        )
    active = actors.group_by("k").aggregate(active=actors.user_id.nunique())
    # every period with an order has an active user: one query answers both
    per_k = active.left_join(money, active.k == money.mk).execute()
    count = periods.count
    revenue = _counts(per_k, "revenue", count)
    paying = _counts(per_k, "paying", count)
    actives = _counts(per_k, "active", count)
    return (
        _rows("paying_rate", _ratio(paying, actives), paying, actives)
        + _rows("arpu", _ratio(revenue, actives), revenue, actives)
        + _rows("arppu", _ratio(revenue, paying), revenue, paying)
        + _rows("gmv", revenue)
    )


# ---------------------------------------------------------------------------- reused measures
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
        cohorts = retention.day_n_retention(
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
        stick = retention.stickiness(source, as_of=as_of, start=periods.first)
        daily = stick.daily.assign(day=[pd.Timestamp(d).date() for d in stick.daily["date"]])
        daily = daily.set_index("day")
        for k, period in enumerate(periods):
            if period.end in daily.index:
                row = daily.loc[period.end]
                rows.append(_row("dau_mau", k, row["dau_mau"], None, row["mau"]))
    if source.has("orders"):
        span = timedelta(days=int(first_order_days))
        first = retention.first_order_counts(
            source,
            within_days=int(first_order_days),
            cohorts=[(p.start - span, p.end - span, _as_of(p.end)) for p in periods],
        )
        repeat = retention.repeat_purchase_counts(
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
      "1:3" form);
    * K = invitees / participants of the campaigns with invitations (``campaigns.referral``)."""
    names = ("campaign_conversion", "campaign_roi", "k_factor")
    if not (source.has("campaigns") and source.has("orders")):
        return [], dict.fromkeys(names, "kpi_dashboard.na.no_campaign_tables")
    if int(source.table("campaigns").count().execute()) == 0:
        return [], dict.fromkeys(names, "kpi_dashboard.na.no_campaigns")
    from opsbook import campaigns  # statsmodels behind it: imported when campaigns exist

    frame = campaigns.catalogue(source)
    kept = campaigns.keep_campaign_events(source)
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
            campaigns.keep_campaign_events(view, kept.filter(kept.ts < hi))
        sums = dict.fromkeys(
            ("participants", "converted", "revenue", "spend", "invitees", "referrers"), 0.0
        )
        holdouts = 0
        for row in running.to_dict("records"):
            start, end = pd.Timestamp(row["start"]), pd.Timestamp(row["end"])
            row["end"] = min(end, pd.Timestamp(hi) - pd.Timedelta(microseconds=1))
            part = campaigns.participation(view, row, window_days)
            sums["participants"] += part["participants"] or 0
            sums["converted"] += part["converted"] or 0
            spend = row.get("spend")
            if row["has_holdout"] and not missing(spend) and spend > 0:
                elapsed = (row["end"] - start) / (end - start) if end > start else 1.0
                lifts = campaigns.lift_table(
                    campaigns.holdout_sums(view, row), campaigns.METRICS_EVENTS, alpha=alpha
                )
                gain = campaigns.incremental(lifts, spend)["incremental_revenue"]
                if gain is not None:
                    sums["revenue"] += gain
                    sums["spend"] += spend * min(max(elapsed, 0.0), 1.0)
                    holdouts += 1
            invited = campaigns.referral(view, row)
            if invited["invitations"] or invited["invitees"]:
                sums["invitees"] += invited["invitees"]
                sums["referrers"] += part["participants"] or 0
        conversion = _safe_div(sums["converted"], sums["participants"])
        rows.append(
            _row("campaign_conversion", k, conversion, sums["converted"], sums["participants"])
        )
        roi = _safe_div(sums["revenue"], sums["spend"]) if holdouts else None
        rows.append(_row("campaign_roi", k, roi, sums["revenue"], sums["spend"]))
        k_factor = _safe_div(sums["invitees"], sums["referrers"])
        rows.append(_row("k_factor", k, k_factor, sums["invitees"], sums["referrers"]))
        if k == 0 and not holdouts:
            notes["campaign_roi"] = "kpi_dashboard.na.no_holdout"
        if k == 0 and not sums["referrers"]:
            notes["k_factor"] = "kpi_dashboard.na.no_referral"
    return rows, notes


def _safe_div(num: float, den: float) -> float | None:
    return num / den if den else None


# ---------------------------------------------------------------------------- content
def content_performance(
    source: Source, periods: Periods, *, window_hours: float = 24, top: int = 10
) -> _Part:
    """Content operations per period: items published by type, reach (views per item viewed),
    interaction rate, content conversion and ROI; per type and per item for the current period."""
    names = ("content_articles", "content_videos", "content_reach", "content_interaction_rate")
    names += ("content_conversion", "content_roi")
    if not source.has("events") or "content_id" not in source.columns("events"):
        return _Part([], {n: "kpi_dashboard.na.no_content_events" for n in names})
    notes: dict[str, str] = {}
    count = periods.count
    lo, hi = periods.span().utc_bounds(source)
    events = source.table("events", since=lo, until=hi)
    events = events.filter(events.content_id.notnull() & events.user_id.notnull())
    events = periods.number(source, events.filter(events.event.isin(list(CONTENT_EVENTS))))
    per_item = (
        events.group_by("k", "content_id")
        .aggregate(
            **{column: (events.event == name).sum() for name, column in CONTENT_EVENTS.items()},
            viewers=events.user_id.nunique(where=events.event == "content_view"),
        )
        .execute()
    )
    credited = _credited_orders(source, periods, window_hours)
    if credited.empty:  # keep the merge keys' types when nothing was credited
        credited = per_item[["k", "content_id"]].iloc[:0].assign(orders=0.0, revenue=0.0)
    per_item = per_item.merge(credited, on=["k", "content_id"], how="outer")
    catalogue_frame = _content_catalogue(source, periods)
    has_catalogue = catalogue_frame is not None
    if has_catalogue:
        per_item["content_id"] = _as_catalogue_ids(per_item["content_id"], catalogue_frame)
        per_item = per_item.merge(
            catalogue_frame[["content_id", "type", "published", "cost", "k_published"]],
            on="content_id",
            how="left",
        )
    else:
        per_item["type"] = "(unknown)"
        per_item["published"] = pd.NaT
        per_item["cost"] = math.nan
        # views, interactions and conversion need the events only
        notes |= dict.fromkeys(
            ("content_articles", "content_videos", "content_roi"),
            "kpi_dashboard.na.no_content_table",
        )
    counts = ["views", "likes", "comments", "shares", "viewers", "orders"]
    per_item[counts] = per_item[counts].fillna(0)
    per_item["revenue"] = per_item["revenue"].fillna(0.0)
    per_item["type"] = per_item["type"].fillna("(unknown)").astype(str)
    per_item["interactions"] = per_item[["likes", "comments", "shares"]].sum(axis=1)

    totals = per_item.groupby("k")[["views", "interactions", "orders", "revenue"]].sum()
    totals = totals.reindex(range(count), fill_value=0.0)
    viewed = per_item[per_item["views"] > 0].groupby("k")["content_id"].nunique()
    viewed = viewed.reindex(range(count), fill_value=0).astype(float)
    rows = _rows("content_reach", _ratio(totals["views"], viewed), totals["views"], viewed)
    rows += _rows(
        "content_interaction_rate",
        _ratio(totals["interactions"], totals["views"]),
        totals["interactions"],
        totals["views"],
    )
    rows += _rows(
        "content_conversion",
        _ratio(totals["orders"], totals["views"]),
        totals["orders"],
        totals["views"],
    )
    volume = pd.DataFrame(columns=["k", "start", "end", "type", "items"])
    by_type = _content_types(per_item, catalogue_frame, has_catalogue)
    if has_catalogue:
        published = catalogue_frame.dropna(subset=["k_published"]).astype({"k_published": "int64"})
        volume = (
            published.groupby(["k_published", "type"])
            .size()
            .rename("items")
            .reset_index()
            .rename(columns={"k_published": "k"})
        )
        dates = periods.frame()
        volume["start"] = volume["k"].map(dates["start"])
        volume["end"] = volume["k"].map(dates["end"])
        for name, kind in (("content_articles", "article"), ("content_videos", "video")):
            n = published[published["type"] == kind].groupby("k_published").size()
            rows += _rows(name, n.reindex(range(count), fill_value=0).astype(float))
        if catalogue_frame["cost"].notna().any():
            cost = published.groupby("k_published")["cost"].sum().reindex(range(count))
            rows += _rows("content_roi", _ratio(totals["revenue"], cost), totals["revenue"], cost)
        else:
            notes["content_roi"] = "kpi_dashboard.na.no_content_cost"
    items = _top_and_bottom(per_item, catalogue_frame, top)
    return _Part(rows, notes, by_type=by_type, items=items, volume=volume)


def _credited_orders(source: Source, periods: Periods, window_hours: float) -> pd.DataFrame:
    """Paid orders credited (last touch) to content views: per view period and item, the
    orders and their amount. A paid order is credited to the user's latest content view in the
    ``window_hours`` before it (view time < order time <= view time + window). Views up to the
    window after the last period take part, so an order just after the end that has a later
    view is not credited to an earlier one."""
    if not source.has("orders"):
        return pd.DataFrame(columns=["k", "content_id", "orders", "revenue"])
    seconds = round(window_hours * 3600)
    window = ibis.interval(seconds=seconds)
    lo, hi = periods.span().utc_bounds(source)
    after = hi + timedelta(seconds=seconds)
    events = source.table("events", since=lo, until=after)
    views = events.filter(
        (events.event == "content_view") & events.content_id.notnull() & events.user_id.notnull()
    )
    views = views.select(
        v_user=views.user_id,
        v_ts=views.ts,
        content_id=views.content_id,
        k=periods.index(source, views.ts),
    )
    # an order credited to a view of the periods lies in (lo, hi + window)
    orders = paid_orders(source, since=lo, until=after)
    orders = orders.filter(orders.ts > lo)
    orders = orders.select(
        order_id=orders.order_id,
        o_user=_key_like(orders.user_id, views.v_user),
        o_ts=orders.ts,
        amount=orders.amount,
    )
    joined = orders.inner_join(
        views,
        [
            orders.o_user == views.v_user,
            views.v_ts < orders.o_ts,
            views.v_ts >= orders.o_ts - window,
        ],
    )
    latest = ibis.row_number().over(
        group_by=joined.order_id, order_by=[ibis.desc(joined.v_ts), ibis.desc(joined.content_id)]
    )
    joined = joined.mutate(touch=latest)
    credited = joined.filter((joined.touch == 0) & (joined.k >= 0) & (joined.k < periods.count))
    return (
        credited.group_by("k", "content_id")
        .aggregate(orders=credited.count(), revenue=credited.amount.sum())
        .execute()
    )


def _content_catalogue(source: Source, periods: Periods) -> pd.DataFrame | None:
    """The content table (small: one row per item) with each item's publication period."""
    if not source.has("content"):
        return None
    content = source.table("content")
    columns = {"content_id": content.content_id}
    columns["published_ts"] = content.published_ts
    columns["type"] = (
        content.type.cast("string") if "type" in content.columns else ibis.literal("(all)")
    )
    columns["cost"] = content.cost if "cost" in content.columns else ibis.null("float64")
    table = content.select(**columns).filter(content.content_id.notnull())
    table = table.mutate(published=source.local_date(table.published_ts))
    frame = table.execute()
    frame["published"] = pd.to_datetime(frame["published"]).dt.date
    frame["type"] = frame["type"].fillna("(unknown)").astype(str)
    frame["k_published"] = _period_of(
        frame["published"].where(frame["published"].notna(), periods.end + timedelta(days=1)),
        periods,
    )
    return frame.drop(columns="published_ts")


def _as_catalogue_ids(ids: pd.Series, catalogue_frame: pd.DataFrame) -> pd.Series:
    """Event content ids in the content table's dtype (float ids from Parquet become ints)."""
    target = catalogue_frame["content_id"]
    if pd.api.types.is_integer_dtype(target) and pd.api.types.is_numeric_dtype(ids):
        return ids.round().astype("int64")
    if pd.api.types.is_numeric_dtype(target) and pd.api.types.is_numeric_dtype(ids):
        return ids.astype(target.dtype)
    return ids.map(_id_text)


def _id_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _content_types(
    per_item: pd.DataFrame, catalogue_frame: pd.DataFrame | None, has_catalogue: bool
) -> pd.DataFrame:
    """Per content type, the current period (k = 0) and the previous one's views."""
    current = per_item[per_item["k"] == 0]
    grouped = current.groupby("type").agg(
        views=("views", "sum"),
        interactions=("interactions", "sum"),
        orders=("orders", "sum"),
        revenue=("revenue", "sum"),
        items_viewed=("views", lambda v: int((v > 0).sum())),
    )
    previous = per_item[per_item["k"] == 1].groupby("type")["views"].sum()
    if has_catalogue:
        published = catalogue_frame[catalogue_frame["k_published"] == 0]
        pub = published.groupby("type").agg(items_published=("content_id", "size"))
        pub["cost"] = published.groupby("type")["cost"].sum(min_count=1)
        grouped = grouped.join(pub, how="outer")
    else:
        grouped["items_published"] = math.nan
        grouped["cost"] = math.nan
    grouped = grouped.fillna({"views": 0, "interactions": 0, "orders": 0, "revenue": 0.0})
    grouped["items_viewed"] = grouped["items_viewed"].fillna(0)
    grouped["previous_views"] = previous.reindex(grouped.index).fillna(0)
    grouped["reach"] = grouped["views"] / grouped["items_viewed"].where(grouped["items_viewed"] > 0)
    grouped["interaction_rate"] = grouped["interactions"] / grouped["views"].where(
        grouped["views"] > 0
    )
    grouped["conversion"] = grouped["orders"] / grouped["views"].where(grouped["views"] > 0)
    grouped["roi"] = grouped["revenue"] / grouped["cost"].where(grouped["cost"] > 0)
    columns = ["type", "items_published", "items_viewed", "views", "previous_views", "reach"]
    columns += ["interaction_rate", "orders", "conversion", "revenue", "cost", "roi"]
    return grouped.reset_index().rename(columns={"index": "type"})[columns]


def _top_and_bottom(
    per_item: pd.DataFrame, catalogue_frame: pd.DataFrame | None, top: int
) -> pd.DataFrame:
    """The ``top`` most viewed items of the period, and the ``top`` least viewed of the items
    published in it (an item nobody opened shows with 0 views)."""
    columns = ["rank", "content_id", "type", "published", "views", "viewers", "interaction_rate"]
    columns += ["orders", "conversion", "revenue", "cost"]
    current = per_item[per_item["k"] == 0].copy()
    if catalogue_frame is not None:
        fresh = catalogue_frame[catalogue_frame["k_published"] == 0]
        missing = fresh[~fresh["content_id"].isin(current["content_id"])]
        if not missing.empty:
            zero = missing[["content_id", "type", "published", "cost"]].assign(
                k=0,
                views=0.0,
                likes=0.0,
                comments=0.0,
                shares=0.0,
                viewers=0.0,
                orders=0.0,
                revenue=0.0,
                interactions=0.0,
            )
            current = pd.concat([current, zero], ignore_index=True)
    if current.empty:
        return pd.DataFrame(columns=columns)
    current["interaction_rate"] = current["interactions"] / current["views"].where(
        current["views"] > 0
    )
    current["conversion"] = current["orders"] / current["views"].where(current["views"] > 0)
    current["content_id"] = current["content_id"].map(_id_text)
    ordered = current.sort_values(["views", "content_id"], ascending=[False, True])
    best = ordered.head(top).assign(rank="top")
    pool = ordered
    if catalogue_frame is not None:
        fresh_ids = set(
            catalogue_frame.loc[catalogue_frame["k_published"] == 0, "content_id"].map(_id_text)
        )
        pool = ordered[ordered["content_id"].isin(fresh_ids)]
    worst = (
        pool[~pool["content_id"].isin(best["content_id"])]
        .sort_values(["views", "content_id"], ascending=[True, True])
        .head(top)
        .assign(rank="bottom")
    )
    return pd.concat([best, worst], ignore_index=True)[columns]


# ---------------------------------------------------------------------------- data health
def data_health(report: Report, now: Any = None) -> DataHealth:
    """Freshness: hours from the newest event to the report time (``now``, default the clock;
    both UTC). Accuracy: rows passing every contract rule / rows, over the tables of
    :data:`READS` the source has, as the data-quality report aggregates it (tables the report's
    start did not check are checked here)."""
    source = report.source
    moment = pd.Timestamp(datetime.now(UTC) if now is None else now)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    newest = newest_event(source)
    hours = None if newest is None else (moment - newest).total_seconds() / 3600
    checks = {t: c for t, c in report.validation.tables.items() if t in READS}
    more = [t for t in READS if source.has(t) and t not in checks]
    if more:
        checks |= validate(source, more).tables
    return DataHealth(
        newest_event=newest,
        report_time=moment,
        hours=hours,
        tables=tuple(checks),
        rows=sum(c.rows for c in checks.values()),
        passing=sum(c.passing for c in checks.values()),
        findings=sum(len(c.findings) for c in checks.values()),
    )


# ============================================================================== trends
def flag_trend(
    series: pd.DataFrame,
    threshold: float = 4.0,
    min_change: float = TREND_MIN_CHANGE,
    units: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per KPI, periods whose value is far from the series' robust baseline: robust z-score
    against a centred rolling median (:func:`opsbook.stats.timeseries.flag_anomalies`, window 5) with
    |z| > ``threshold``, at least ``min_change`` relative distance from the baseline, and beyond
    sampling noise where it is known: for a rate with its denominator n, ``threshold`` binomial
    standard errors sqrt(b(1 - b)/n) of the baseline b; for a count (``units[kpi] == "count"``
    with whole values), ``threshold`` Poisson standard deviations sqrt(b). A short series is
    smooth by chance, and its MAD alone would flag ordinary sampling noise."""
    found = []
    units = dict(units or {})
    for name, part in series.groupby("kpi", sort=False):
        part = part.sort_values("k", ascending=False).set_index("end")
        values = part["value"].astype(float)
        if values.notna().sum() < 5:
            continue
        flagged = flag_anomalies(values, threshold=threshold, window=5, edges_partial=False)
        base = flagged["baseline"]
        relative = (flagged["value"] / base - 1).abs()
        far = relative.where(base != 0, np.inf) >= min_change
        noise = pd.Series(0.0, index=flagged.index)
        if units.get(name) == "rate":
            n = part["den"].astype(float)
            noise = np.sqrt((base * (1 - base)).clip(lower=0) / n.where(n > 0)).fillna(0.0)
        elif units.get(name) == "count" and np.allclose(values.dropna() % 1, 0):
            noise = np.sqrt(base.clip(lower=1.0))
        beyond = (flagged["value"] - base).abs() >= threshold * noise
        keep = (flagged["flag"] == "gap") | ((flagged["flag"] != "") & far & beyond)
        for end, row in flagged[keep].iterrows():
            found.append(
                {
                    "kpi": name,
                    "k": int(part.loc[end, "k"]),
                    "end": end,
                    "value": row["value"],
                    "baseline": row["baseline"],
                    "z": row["z"],
                    "flag": row["flag"],
                }
            )
    return pd.DataFrame(found, columns=["kpi", "k", "end", "value", "baseline", "z", "flag"])


def daily_pulse(source: Source, periods: Periods, threshold: float = 4.0) -> pd.DataFrame:
    """Daily active users, paid orders, revenue and new users over the trend's days, each day
    flagged by :func:`opsbook.stats.timeseries.flag_daily` (weekday-adjusted rolling median and sampling noise; gaps: a
    zero day in a busy series)."""
    span = periods.span()
    lo, hi = span.utc_bounds(source)
    frames: dict[str, pd.DataFrame] = {}
    if source.has("events"):
        days = _days_in(source, periods, retention.active_periods(source, "any", hi, "day"))
        active = days.group_by("p").aggregate(value=days.count()).execute()
        active["day"] = [retention.period_start(p, "day") for p in active["p"]]
        frames["active_users"] = active[["day", "value"]]
    revenue_sd = None
    if source.has("orders"):
        orders = periods.number(source, paid_orders(source, since=lo, until=hi))
        daily = (
            orders.group_by(day=source.local_date(orders.ts))
            .aggregate(
                paid_orders=orders.count(),
                revenue=orders.amount.sum(),
                squares=(orders.amount * orders.amount).sum(),
            )
            .execute()
        )
        frames["paid_orders"] = daily[["day", "paid_orders"]].rename(
            columns={"paid_orders": "value"}
        )
        frames["revenue"] = daily[["day", "revenue"]].rename(columns={"revenue": "value"})
        squares = daily.set_index("day")["squares"].astype(float)
        squares.index = pd.to_datetime(squares.index)
        squares = complete_days(squares, span.start, span.end)
        # compound Poisson: a day's revenue varies by sqrt(sum of squared amounts); the centred
        # rolling median keeps one extreme day from widening its own band
        revenue_sd = np.sqrt(squares.rolling(7, center=True, min_periods=3).median())
    if source.has("users"):
        users = periods.number(source, source.table("users", since=lo, until=hi), "signup_ts")
        frames["new_users"] = (
            users.group_by(day=source.local_date(users.signup_ts))
            .aggregate(value=users.count())
            .execute()
        )
    parts = []
    for metric in DAILY_METRICS:
        if metric not in frames:
            continue
        counts = frames[metric].set_index("day")["value"].astype(float)
        counts.index = pd.to_datetime(counts.index)
        filled = complete_days(counts, span.start, span.end)
        noise = revenue_sd if metric == "revenue" else "poisson"
        flagged = flag_daily(filled, threshold=threshold, noise=noise)
        flagged.index.name = "date"
        parts.append(flagged.reset_index().assign(metric=metric))
    columns = ["metric", "date", "value", "baseline", "z", "flag"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


# ============================================================================== presentation
STATUS_CLASS = {"green": "ob-green", "amber": "ob-amber", "red": "ob-red", "n/a": None}


def _status_text(report: Report, status: str) -> str:
    return report.t(f"kpi_dashboard.status.{status.replace('/', '')}")


def _value_text(value: Any, unit: str) -> str:
    return fmt(None if missing(value) else value, UNIT_FORMAT[unit])


def show_period(report: Report, result: KpiDashboard) -> None:
    """Which period the dashboard reports, and why that one."""
    key = (
        "kpi_dashboard.period_given"
        if result.settings["period_end_given"]
        else "kpi_dashboard.period_default"
    )
    report.say(
        key,
        start=f"{result.period.start:%Y-%m-%d}",
        end=f"{result.period.end:%Y-%m-%d}",
        previous=result.previous.label(),
        days=result.periods.days,
        zone=report.source.timezone,
    )


def show_rules(report: Report, result: KpiDashboard) -> None:
    report.say("kpi_dashboard.rule.status", band=f"{result.settings['amber_band']:.0%}")
    report.say("kpi_dashboard.rule.change", alpha=f"{result.settings['alpha']:g}")


def show_scorecard(report: Report, result: KpiDashboard, area: str | None = None) -> None:
    """KPI, value, target, status, previous period, change and whether it is beyond noise."""
    tr = report.t
    card = result.scorecard if area is None else result.scorecard[result.scorecard.area == area]
    rows, status_classes, change_classes = [], [], []
    for row in card.itertuples():
        spec = result.targets[row.kpi]
        change = (
            fmt(row.change_abs, "pp")
            if spec.unit == "rate" and not missing(row.change_abs)
            else fmt(None if missing(row.change) else row.change, "signed_pct")
        )
        if row.significant is None:
            noise = tr("kpi_dashboard.noise.untested") if row.tested else "—"
        else:
            noise = tr("kpi_dashboard.noise.yes" if row.significant else "kpi_dashboard.noise.no")
        note = result.notes.get(row.kpi)
        rows.append(
            {
                tr("kpi_dashboard.col.kpi"): tr(f"kpi_dashboard.kpi.{row.kpi}"),
                tr("kpi_dashboard.col.value"): _value_text(row.value, spec.unit),
                tr("kpi_dashboard.col.target"): _target_text(report, spec, row.target),
                tr("kpi_dashboard.col.status"): _status_text(report, row.status),
                tr("kpi_dashboard.col.previous"): _value_text(row.previous, spec.unit),
                tr("kpi_dashboard.col.change"): change,
                tr("kpi_dashboard.col.noise"): noise,
                tr("kpi_dashboard.col.note"): tr(note) if note else "",
            }
        )
        status_classes.append(STATUS_CLASS[row.status])
        good = (row.change_abs > 0) == (spec.direction == "higher")
        change_classes.append(
            None
            if missing(row.change_abs) or row.change_abs == 0
            else ("ob-up" if good else "ob-down")
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return
    report.show(
        frame,
        classes={
            tr("kpi_dashboard.col.status"): status_classes,
            tr("kpi_dashboard.col.value"): status_classes,
            tr("kpi_dashboard.col.change"): change_classes,
        },
    )


def _target_text(report: Report, spec: KpiTarget, target: float | None) -> str:
    """The target as shown: ≥ 55.0%, ≤ 1.000, "+30% year over year = ≥ 130", or a dash."""
    sign = "≥ " if spec.direction == "higher" else "≤ "
    resolved = "" if missing(target) else sign + _value_text(target, spec.unit)
    if spec.kind == "growth_yoy" and spec.target is not None:
        growth = report.t("kpi_dashboard.target.growth", growth=f"{spec.target:+.0%}")
        return f"{growth} = {resolved}" if resolved else growth
    return resolved or "—"


def show_definitions(report: Report, result: KpiDashboard, area: str | None = None) -> None:
    """What each KPI of ``area`` means, as the targets file defines it."""
    tr = report.t
    frame = pd.DataFrame(
        [
            {
                tr("kpi_dashboard.col.kpi"): tr(f"kpi_dashboard.kpi.{spec.name}"),
                tr("kpi_dashboard.col.definition"): tr(
                    spec.definition,
                    **_definition_fields(result),
                ),
            }
            for spec in result.targets.values()
            if area is None or spec.area == area
        ]
    )
    report.show(frame)


def _definition_fields(result: KpiDashboard) -> dict[str, Any]:
    s = result.settings
    return {
        "activation_days": s["activation_days"],
        "activation_event": s["activation_event"],
        "first_order_days": s["first_order_days"],
        "repeat_window_days": s["repeat_window_days"],
        "hours": f"{s['content_window_hours']:g}",
    }


def show_acquisition(report: Report, result: KpiDashboard) -> None:
    """New users and CAC by channel, this period and the previous one."""
    tr = report.t
    frame = result.acquisition
    if frame.empty:
        report.say("kpi_dashboard.na.no_data_text")
        return
    columns = {
        "channel": tr("kpi_dashboard.col.channel"),
        "new_users": tr("kpi_dashboard.col.new_users"),
        "previous_new_users": tr("kpi_dashboard.col.previous_new_users"),
        "spend": tr("kpi_dashboard.col.spend"),
        "cac": tr("kpi_dashboard.kpi.cac"),
    }
    shown = frame[list(columns)].rename(columns=columns)
    report.show(
        shown,
        formats={
            columns["new_users"]: "int",
            columns["previous_new_users"]: "int",
            columns["spend"]: "money",
            columns["cac"]: "money",
        },
        min_cell=report.min_cell,
        count_columns=[columns["new_users"]],
    )


def show_content_types(report: Report, result: KpiDashboard) -> None:
    tr = report.t
    frame = result.content_types
    if frame.empty:
        report.say("kpi_dashboard.content.none")
        return
    columns = {
        "type": tr("kpi_dashboard.col.type"),
        "items_published": tr("kpi_dashboard.col.items_published"),
        "items_viewed": tr("kpi_dashboard.col.items_viewed"),
        "views": tr("kpi_dashboard.col.views"),
        "previous_views": tr("kpi_dashboard.col.previous_views"),
        "reach": tr("kpi_dashboard.col.reach"),
        "interaction_rate": tr("kpi_dashboard.col.interaction_rate"),
        "orders": tr("kpi_dashboard.col.credited_orders"),
        "conversion": tr("kpi_dashboard.col.conversion"),
        "revenue": tr("kpi_dashboard.col.credited_revenue"),
        "cost": tr("kpi_dashboard.col.cost"),
        "roi": tr("kpi_dashboard.col.roi"),
    }
    shown = frame[list(columns)].rename(columns=columns)
    report.show(
        shown,
        formats={
            columns["items_published"]: "int",
            columns["items_viewed"]: "int",
            columns["views"]: "int",
            columns["previous_views"]: "int",
            columns["reach"]: "float",
            columns["interaction_rate"]: "pct2",
            columns["orders"]: "int",
            columns["conversion"]: "pct2",
            columns["revenue"]: "money",
            columns["cost"]: "money",
            columns["roi"]: "float",
        },
    )


def show_content_items(report: Report, result: KpiDashboard) -> None:
    """Top and bottom items (content ids are not personal data); an item seen by fewer than
    ``min_cell`` people shows its counts as "<min_cell" and no rates."""
    tr = report.t
    frame = result.content_items
    if frame.empty:
        report.say("kpi_dashboard.content.none")
        return
    columns = {
        "rank": tr("kpi_dashboard.col.rank"),
        "content_id": tr("kpi_dashboard.col.content_id"),
        "type": tr("kpi_dashboard.col.type"),
        "published": tr("kpi_dashboard.col.published"),
        "views": tr("kpi_dashboard.col.views"),
        "viewers": tr("kpi_dashboard.col.viewers"),
        "interaction_rate": tr("kpi_dashboard.col.interaction_rate"),
        "orders": tr("kpi_dashboard.col.credited_orders"),
        "conversion": tr("kpi_dashboard.col.conversion"),
        "revenue": tr("kpi_dashboard.col.credited_revenue"),
        "cost": tr("kpi_dashboard.col.cost"),
    }
    shown = frame.assign(rank=[tr(f"kpi_dashboard.rank.{r}") for r in frame["rank"]])
    shown = shown[list(columns)].rename(columns=columns)
    report.show(
        shown,
        formats={
            columns["views"]: "int",
            columns["viewers"]: "int",
            columns["interaction_rate"]: "pct2",
            columns["orders"]: "int",
            columns["conversion"]: "pct2",
            columns["revenue"]: "money",
            columns["cost"]: "money",
            columns["content_id"]: "text",
        },
        min_cell=report.min_cell,
        count_columns=[columns["viewers"]],
    )


def content_volume_chart(report: Report, result: KpiDashboard):
    """Items published per period by type (stacked bars)."""
    volume = result.content_volume
    if volume.empty:
        return None
    wide = volume.pivot_table(index="end", columns="type", values="items", aggfunc="sum").fillna(0)
    ends = [p.end for p in reversed(list(result.periods))]
    wide = wide.reindex(ends, fill_value=0)
    fig, ax = figure(9, 3.2)
    bottom = np.zeros(len(wide))
    labels = [f"{d:%m-%d}" for d in wide.index]
    for i, kind in enumerate(wide.columns):
        ax.bar(labels, wide[kind], bottom=bottom, color=PALETTE[i % len(PALETTE)], label=kind)
        bottom += wide[kind].to_numpy()
    ax.set_title(report.t("kpi_dashboard.chart.volume"))
    ax.set_xlabel(report.t("kpi_dashboard.chart.period_end"))
    ax.legend(loc="upper left", fontsize=8)
    ax.tick_params(axis="x", labelrotation=45)
    return fig


def trend_chart(report: Report, result: KpiDashboard, ncols: int = 4):
    """Small multiples: each KPI over the trend periods, its target (dashed), flagged periods
    (red rings) and the current period coloured by its status."""
    names = [
        n
        for n in KNOWN_KPIS
        if result.series.loc[result.series.kpi == n, "value"].notna().sum() > 1
    ]
    if not names:
        return None
    nrows = math.ceil(len(names) / ncols)
    fig, axes = figure(12, 2.3 * nrows, nrows=nrows, ncols=ncols)
    axes = np.atleast_1d(axes).ravel()
    flagged = result.trend_anomalies
    for ax, name in zip(axes, names, strict=False):
        part = result.series[result.series.kpi == name].sort_values("k", ascending=False)
        x = pd.to_datetime(part["end"])
        ax.plot(x, part["value"], color=PALETTE[0], lw=1.4, marker="o", ms=2.5)
        target = part["target"]
        if _target_in_view(part["value"], target):
            ax.plot(x, target, color="#8c8c8c", lw=1, ls="--")
        elif target.notna().any():
            # a target far off the values would flatten the line: name it instead
            ax.text(
                0.02,
                0.95,
                report.t("kpi_dashboard.chart.target_off", target=fmt(target.dropna().iloc[-1])),
                transform=ax.transAxes,
                fontsize=7,
                va="top",
                color="#666666",
            )
        marks = flagged[flagged.kpi == name]
        if not marks.empty:
            ax.scatter(
                pd.to_datetime(marks["end"]),
                marks["value"],
                s=70,
                facecolors="none",
                edgecolors=STATUS_COLOURS["red"],
                lw=1.5,
                zorder=4,
            )
        last = part[part.k == 0].iloc[0]
        if not missing(last["value"]):
            ax.scatter(
                [pd.Timestamp(last["end"])],
                [last["value"]],
                color=STATUS_COLOURS[last["status"]],
                s=30,
                zorder=5,
            )
        ax.set_title(report.t(f"kpi_dashboard.kpi.{name}"), fontsize=9)
        ax.xaxis.set_major_formatter(date_ticks())
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        if result.targets[name].unit == "rate":
            ax.yaxis.set_major_formatter(percent_ticks())
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return fig


def _target_in_view(values: pd.Series, target: pd.Series) -> bool:
    """Does the target line fit beside the values without squashing them (within two value
    ranges of them)?"""
    if target.isna().all() or values.isna().all():
        return False
    lo, hi = float(values.min()), float(values.max())
    pad = max(hi - lo, 0.1 * max(abs(lo), abs(hi)), 1e-12)
    return bool(((target >= lo - 2 * pad) & (target <= hi + 2 * pad)).all())


def show_trend_anomalies(report: Report, result: KpiDashboard) -> None:
    found = result.trend_anomalies
    if found.empty:
        report.say("kpi_dashboard.trend.none")
        return
    tr = report.t
    rows = [
        {
            tr("kpi_dashboard.col.kpi"): tr(f"kpi_dashboard.kpi.{r.kpi}"),
            tr("kpi_dashboard.col.period_end"): f"{r.end:%Y-%m-%d}",
            tr("kpi_dashboard.col.value"): _value_text(r.value, result.targets[r.kpi].unit),
            tr("kpi_dashboard.col.baseline"): _value_text(r.baseline, result.targets[r.kpi].unit),
            "z": fmt(r.z, "float"),
            tr("kpi_dashboard.col.flag"): tr(f"kpi_dashboard.flag.{r.flag}"),
        }
        for r in found.itertuples()
    ]
    report.show(pd.DataFrame(rows))


def daily_chart(report: Report, result: KpiDashboard):
    """The daily pulse: each daily metric with its rolling baseline and flagged days."""
    metrics = list(dict.fromkeys(result.daily["metric"]))
    if not metrics:
        return None
    fig, axes = figure(
        12, 2.4 * math.ceil(len(metrics) / 2), nrows=math.ceil(len(metrics) / 2), ncols=2
    )
    axes = np.atleast_1d(axes).ravel()
    for ax, metric in zip(axes, metrics, strict=False):
        part = result.daily[result.daily.metric == metric]
        ax.plot(part["date"], part["value"], lw=1.2, color=PALETTE[0])
        ax.plot(part["date"], part["baseline"], lw=1, ls="--", color="#8c8c8c")
        for flag, colour in (("gap", "red"), ("drop", "red"), ("spike", "amber")):
            marked = part[part["flag"] == flag]
            if not marked.empty:
                ax.scatter(
                    marked["date"], marked["value"], color=STATUS_COLOURS[colour], s=28, zorder=3
                )
        ax.set_title(report.t(f"kpi_dashboard.daily.{metric}"), fontsize=10)
        ax.xaxis.set_major_formatter(date_ticks())
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    return fig


def show_daily_anomalies(report: Report, result: KpiDashboard) -> None:
    found = result.daily_anomalies
    if found.empty:
        report.say("kpi_dashboard.daily.none")
        return
    tr = report.t
    rows = [
        {
            tr("kpi_dashboard.col.metric"): tr(f"kpi_dashboard.daily.{r.metric}"),
            tr("kpi_dashboard.col.date"): f"{r.date:%Y-%m-%d}",
            tr("kpi_dashboard.col.value"): fmt(
                r.value, "money" if r.metric == "revenue" else "int"
            ),
            tr("kpi_dashboard.col.baseline"): fmt(
                r.baseline, "money" if r.metric == "revenue" else "int"
            ),
            "z": fmt(r.z, "float"),
            tr("kpi_dashboard.col.flag"): tr(f"kpi_dashboard.flag.{r.flag}"),
        }
        for r in found.itertuples()
    ]
    report.show(pd.DataFrame(rows))


def show_data_health(report: Report, result: KpiDashboard) -> None:
    """The freshness and quality line."""
    fresh = result.health
    accuracy = result.kpi("data_accuracy")
    target = result.targets["data_freshness_hours"].target
    if fresh.hours is None:
        report.say("kpi_dashboard.health.no_events")
    else:
        report.say(
            "kpi_dashboard.health.freshness",
            newest=f"{fresh.newest_event:%Y-%m-%d %H:%M} UTC",
            now=f"{fresh.report_time:%Y-%m-%d %H:%M} UTC",
            hours=f"{fresh.hours:,.1f}",
            target=f"{target:g}" if target is not None else "—",
        )
        if target is not None and fresh.hours > target:
            report.say("kpi_dashboard.health.stale")
    report.say(
        "kpi_dashboard.health.accuracy",
        accuracy=fmt(accuracy["value"], "pct2"),
        target=fmt(accuracy["target"], "pct"),
        status=_status_text(report, accuracy["status"]),
        findings=fresh.findings,
    )


def summary(report: Report, result: KpiDashboard) -> None:
    """What hit, what missed, and which rates moved beyond noise."""
    tr = report.t
    card = result.scorecard
    for status in ("green", "amber", "red"):
        names = [tr(f"kpi_dashboard.kpi.{n}") for n in card.loc[card.status == status, "kpi"]]
        if names:
            report.say(
                f"kpi_dashboard.summary.{status}",
                n=len(names),
                kpis="、".join(names) if report.lang == "zh" else ", ".join(names),
            )
    moved = card[card.significant.fillna(False).astype(bool)]
    if moved.empty:
        report.say("kpi_dashboard.summary.no_moves")
    else:
        parts = [
            f"{tr(f'kpi_dashboard.kpi.{r.kpi}')} {fmt(r.change_abs, 'pp')}"
            for r in moved.itertuples()
        ]
        report.say("kpi_dashboard.summary.moves", moves=", ".join(parts))
    if not result.trend_anomalies.empty or not result.daily_anomalies.empty:
        report.say(
            "kpi_dashboard.summary.anomalies",
            weekly=len(result.trend_anomalies),
            daily=len(result.daily_anomalies),
        )
