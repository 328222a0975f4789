"""The dashboard's result: every KPI of the KPI system for the period, the previous period and
the trend, built from the queries' rows (what the report shows and records)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsbook.kpi.analysis.forecasts import KpiForecasts, kpi_forecasts
from opsbook.kpi.analysis.forecasts import settings as forecast_settings
from opsbook.kpi.analysis.health import DataHealth, data_health
from opsbook.kpi.analysis.reused import _as_of, campaign_rows, retention_rows
from opsbook.kpi.analysis.scorecard import TESTED_RATES, _scorecard, _series
from opsbook.kpi.analysis.system import SystemKpis, efficiency_settings, system_kpis
from opsbook.kpi.analysis.trends import daily_pulse, flag_trend, what_ran_then
from opsbook.kpi.queries.content import content_performance
from opsbook.kpi.queries.context import what_ran
from opsbook.kpi.queries.periods import Period, Periods, _as_date, default_period_end
from opsbook.kpi.queries.rows import _row
from opsbook.kpi.queries.users import acquisition, activation_rows, revenue_rows
from opsbook.report import Report
from opsbook.retention.queries import keep_active_days
from opsbook.targets import KNOWN_KPIS, STATUSES, KpiTarget, load_targets, missing
from opsbook.validation import validate

#: the optional tables of the rest of the KPI system: a broken one stops the dashboard
SYSTEM_TABLES = ("survey_responses", "community_members", "operations", "data_requests")


def _number(value: Any, unit: str | None = None) -> float | int | None:
    """A KPI value for metrics.json: None when missing, whole counts as integers."""
    if value is None or missing(float(value)):
        return None
    if unit == "count" and float(value).is_integer():
        return int(value)
    return float(value)


@dataclass(frozen=True)
class KpiDashboard:
    """What the dashboard shows. ``series``: one row per KPI and period (k = 0 current);
    ``scorecard``: one row per KPI for the current period."""

    periods: Periods
    series: pd.DataFrame  # kpi, k, start, end, value, num, den, low, high, target, status
    scorecard: pd.DataFrame  # kpi, area, unit, value, low, high, target, direction, status, ...
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
    forecasts: KpiForecasts | None = None
    system: SystemKpis | None = None  # NPS by channel, private domain, efficiency, LTV

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
                "interval": None
                if missing(row.low)
                else [_number(row.low, unit), _number(row.high, unit)],
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
            "scope": {
                "key": "kpi_dashboard.scope",
                "fields": {"start": str(self.period.start), "end": str(self.period.end)},
            },
            "period_start": self.period.start,
            "period_end": self.period.end,
            "previous_start": self.previous.start,
            "previous_end": self.previous.end,
            "period_days": self.periods.days,
            "trend_weeks": self.periods.count,
            "status_rule": {"amber_band": self.settings.get("amber_band")},
            "alpha": self.settings.get("alpha"),
            "kpis": kpis,
            "statuses": {s: int(statuses.get(s, 0)) for s in STATUSES},
            "acquisition": {
                str(r.channel): {"new_users": int(r.new_users), "spend": r.spend, "cac": r.cac}
                for r in self.acquisition.itertuples()
            },
            "trend_anomalies": [
                {
                    "kpi": r.kpi,
                    "period_end": r.end,
                    "value": r.value,
                    "flag": r.flag,
                    "ran_then": [{"kind": k, "name": n} for k, n in r.context],
                }
                for r in self.trend_anomalies.itertuples()
            ],
            "daily_anomalies": [
                {
                    "metric": r.metric,
                    "date": r.date.date(),
                    "value": r.value,
                    "flag": r.flag,
                    "ran_then": [{"kind": k, "name": n} for k, n in r.context],
                }
                for r in self.daily_anomalies.itertuples()
            ],
            "newest_event": self.health.newest_event,
            "freshness_hours": self.health.hours,
            "accuracy_tables": list(self.health.tables),
            "settings": self.settings,
            "forecasts": self.forecasts.metrics() if self.forecasts else {},
            "kpi_system": self.system.metrics() if self.system else {},
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
                    "label": HEADLINE_LABELS.get(name, f"kpi_dashboard.kpi.{name}"),
                    "value": row["value"],
                    "format": self.targets[name].format,
                    "status": None if row["status"] == "n/a" else row["status"],
                }
            )
        return entries


# ============================================================================== computation
# a card label that could be read as another report's number says which one it is
HEADLINE_LABELS = {"d7_retention": "kpi_dashboard.h.d7_retention"}


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
    forecast: Mapping[str, Any] | bool | None = None,
    efficiency: Mapping[str, Any] | None = None,
    nps_min_respondents: int = 30,
    ltv_age_days: int = 90,
    now: Any = None,
) -> KpiDashboard:
    """Every KPI of the KPI system for the period ending ``period_end`` (a local date; None: the
    last complete week), the previous period, and ``trend_weeks`` periods of trend; and where
    the weekly KPIs are heading (``forecast``: the settings of
    :func:`opsbook.kpi.analysis.forecasts.kpi_forecasts`, None its defaults, False none).
    The rest of the KPI system (:mod:`opsbook.kpi.analysis.system`) reads its optional tables
    when the source has them; ``efficiency`` (None: the config's
    ``reports.kpi_dashboard.efficiency``) states the efficiency numbers no table gives. A
    survey score outside 0-10 or a membership ending before it starts stops the dashboard
    with the contract's finding."""
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
        ("nps_min_respondents", nps_min_respondents),
        ("ltv_age_days", ltv_age_days),
    ):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if forecast is not False:
        forecast = forecast_settings(forecast or None)  # bad settings raise before any query
    source = report.source
    if efficiency is None:
        efficiency = report.config.report_defaults("kpi_dashboard").get("efficiency")
    stated = efficiency_settings(efficiency)
    _refuse_broken(report)
    config_path = report.config.path
    kpi_targets = load_targets(targets, base_dir=config_path.parent if config_path else None)
    end = default_period_end(source) if period_end in (None, "") else _as_date(period_end)
    periods = Periods(end=end, days=int(period_days), count=int(trend_weeks))

    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    if source.has("events"):  # read by revenue, retention and the daily pulse: kept first
        keep_active_days(source, as_of=_as_of(periods.end))
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
    system = system_kpis(
        source,
        periods,
        rows,
        efficiency=stated,
        nps_min_respondents=int(nps_min_respondents),
        alpha=alpha,
        ltv_age_days=int(ltv_age_days),
        repeat_window_days=repeat_window_days,
    )
    rows += system.rows
    notes |= system.notes
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
    forecasts = (
        None if forecast is False else kpi_forecasts(source, periods, series, kpi_targets, forecast)
    )
    trends = flag_trend(
        series,
        threshold=anomaly_threshold,
        units={name: spec.unit for name, spec in kpi_targets.items()},
    )
    # what ran when a day or a week stood out: campaigns, experiments, days without data
    span = periods.span()
    ran = what_ran(source, span.start, span.end)
    gaps = set(pd.to_datetime(daily.loc[daily["flag"] == "gap", "date"]).dt.date)
    trends["context"] = what_ran_then(trends, "end", int(period_days), ran, gaps)
    daily["context"] = [[] for _ in range(len(daily))]
    flagged = daily["flag"] != ""
    daily.loc[flagged, "context"] = pd.Series(
        what_ran_then(daily[flagged], "date", 1, ran, gaps),
        index=daily.index[flagged],
        dtype=object,
    )
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
        "nps_min_respondents": int(nps_min_respondents),
        "ltv_age_days": int(ltv_age_days),
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
        trend_anomalies=trends,
        daily=daily,
        health=health,
        targets=kpi_targets,
        notes=notes,
        settings=settings,
        forecasts=forecasts,
        system=system,
    )


def _refuse_broken(report: Report) -> None:
    """Stop with the contract's finding when an optional table of the KPI system breaks a
    refusing rule (a survey score outside 0-10, a span ending before it starts): its KPI would
    be wrong, not rough. The run's checks are reused; alone, the table is checked here."""
    present = [name for name in SYSTEM_TABLES if report.source.has(name)]
    report.validation.refuse(present, report.lang)
    unchecked = [name for name in present if name not in report.validation.tables]
    if unchecked:
        validate(report.source, unchecked).refuse(unchecked, report.lang)
