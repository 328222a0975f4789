"""Where the weekly KPIs are heading: per KPI a forecast (:func:`opsbook.stats.forecast.forecast`)
from its weekly history, its backtest accuracy against the accuracy target, and the chance of
reaching this month's and this quarter's target.

Conventions (the report prints them):

* A period belongs to the month (quarter) its middle day falls in (a week's Thursday). "This
  month" is the month of the first forecast week: its target is reached when the weeks already
  measured plus the forecast weeks still to come reach it.
* A month's (quarter's) target is the one the config gives (``forecast.targets: {kpi: {month:,
  quarter:}}``), else the KPI's weekly target summed over the period's weeks (volume KPIs: counts
  and GMV) or averaged over them (rates, ARPU: the mean of weekly values stands in for the
  period's own ratio). A growth target takes each week's value 52 weeks earlier.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from opsbook.data import Source
from opsbook.kpi.queries.history import (
    HISTORY_KPIS,
    history_periods,
    period_middle,
    weekly_history,
)
from opsbook.kpi.queries.periods import Periods
from opsbook.stats.forecast import Forecast, forecast
from opsbook.targets import KNOWN_KPIS, KpiTarget, missing

#: forecast by default: the KPI system's weekly series (active users and paid orders beside it)
DEFAULT_KPIS = HISTORY_KPIS
#: the config's forecast settings and their defaults
DEFAULTS: dict[str, Any] = {"horizon_weeks": 8, "kpis": None, "accuracy_target": 0.92}
HORIZON_RANGE = (4, 12)
#: most weeks of history a forecast reads (three years: yearly seasonality needs two and more)
HISTORY_WEEKS = 156
#: the season of a weekly series: a year (used once the history holds two and the horizon)
WEEKLY_SEASON = 52
#: units whose period total is the sum of its weeks (the others are averaged)
VOLUME_UNITS = ("count",)
VOLUME_KPIS = ("gmv",)
#: the longest quarter in weeks, simulated so a quarter's chance is always known
QUARTER_WEEKS = 14
#: the unit of the KPIs the KPI system does not list
EXTRA_UNITS = {"active_users": "count", "orders": "count"}


@dataclass(frozen=True)
class Outlook:
    """One calendar period (this month or quarter): its label, weeks measured and to come, the
    actual so far, its target and the chance of reaching it (None: no target)."""

    label: str
    done: int
    remaining: int
    actual: float
    target: float | None
    probability: float | None


@dataclass(frozen=True)
class KpiForecast:
    """One KPI's weekly history, its forecast and its month and quarter outlook."""

    kpi: str
    unit: str
    volume: bool
    history: pd.Series  # period end -> value, oldest first
    weeks: tuple[date, ...]  # the forecast periods' ends
    result: Forecast
    month: Outlook | None = None
    quarter: Outlook | None = None

    @property
    def baseline_accuracy(self) -> float:
        naive = self.result.backtests.get("naive")
        return naive.accuracy if naive else math.nan


@dataclass(frozen=True)
class KpiForecasts:
    """Every forecast KPI (``items``), the KPIs left without one and why (``notes``: i18n
    keys), and the settings."""

    horizon_weeks: int
    accuracy_target: float
    items: dict[str, KpiForecast] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    history_weeks: int = 0

    def accuracy_status(self, kpi: str) -> str:
        """green: backtest accuracy meets the target; red: it does not; n/a: no backtest."""
        item = self.items.get(kpi)
        if item is None or missing(item.result.accuracy):
            return "n/a"
        return "green" if item.result.accuracy >= self.accuracy_target else "red"

    def metrics(self) -> dict[str, Any]:
        """metrics.json's ``forecasts``: per KPI the weekly point forecast and its 95 % interval
        (``low``/``high``; 80 % beside), backtest accuracy (1 - WAPE), MAPE, the 95 % interval's
        coverage in the backtest, and the chance of this month's and quarter's target."""
        out: dict[str, Any] = {}
        for name, item in self.items.items():
            r, chosen = item.result, item.result.chosen
            out[name] = {
                "horizon_weeks": self.horizon_weeks,
                "weeks": [str(w) for w in item.weeks],
                "model": r.model,
                "point": list(r.point),
                "low": list(r.low_95),
                "high": list(r.high_95),
                "low_80": list(r.low_80),
                "high_80": list(r.high_80),
                "baseline": list(r.baseline),
                "accuracy": _json(r.accuracy),
                "accuracy_target": self.accuracy_target,
                "accuracy_status": self.accuracy_status(name),
                "baseline_accuracy": _json(item.baseline_accuracy),
                "mape": _json(chosen.mape) if chosen else None,
                "coverage": _json(chosen.coverage_95) if chosen else None,
                "coverage_80": _json(chosen.coverage_80) if chosen else None,
                "backtest_origins": chosen.origins if chosen else 0,
                "p_target": {
                    "month": item.month.probability if item.month else None,
                    "quarter": item.quarter.probability if item.quarter else None,
                },
                "note": r.reason,
            }
        for name, reason in self.notes.items():
            out[name] = {"horizon_weeks": self.horizon_weeks, "point": None, "note": reason}
        return out


def _json(value: float) -> float | None:
    return None if missing(value) else float(value)


def settings(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The forecast settings: :data:`DEFAULTS` overlaid with the config's
    ``reports.kpi_dashboard.forecast``; bad values raise at once."""
    chosen = {**DEFAULTS, **dict(given or {})}
    unknown = sorted(set(chosen) - {*DEFAULTS, "targets"})
    if unknown:
        raise ValueError(f"forecast: unknown setting(s) {', '.join(unknown)}")
    horizon = chosen["horizon_weeks"]
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        raise ValueError(f"forecast.horizon_weeks must be a whole number, got {horizon!r}")
    if not HORIZON_RANGE[0] <= horizon <= HORIZON_RANGE[1]:
        raise ValueError(f"forecast.horizon_weeks must be 4 to 12, got {horizon}")
    if not 0 < float(chosen["accuracy_target"]) < 1:
        raise ValueError("forecast.accuracy_target must be a fraction between 0 and 1")
    kpis = chosen["kpis"] or list(DEFAULT_KPIS)
    known = set(HISTORY_KPIS) | set(KNOWN_KPIS)
    strange = [k for k in kpis if k not in known]
    if strange:
        raise ValueError(
            f"forecast.kpis: unknown KPI(s) {', '.join(map(str, strange))}; "
            f"known: {', '.join(sorted(known))}"
        )
    chosen["kpis"] = list(dict.fromkeys(kpis))
    chosen["accuracy_target"] = float(chosen["accuracy_target"])
    return chosen


def kpi_forecasts(
    source: Source,
    periods: Periods,
    series: pd.DataFrame,
    targets: Mapping[str, KpiTarget],
    config: Mapping[str, Any] | None = None,
) -> KpiForecasts:
    """Forecasts of the configured KPIs from the period ending ``periods.end``: the weekly
    history (:func:`opsbook.kpi.queries.history.weekly_history`) for the KPI system's series,
    the dashboard's own trend (``series``) for any other KPI the config names."""
    chosen = settings(config)
    horizon = chosen["horizon_weeks"]
    span = history_periods(source, periods.end, periods.days, HISTORY_WEEKS)
    history = weekly_history(source, span) if span else pd.DataFrame(columns=["end"])
    found = KpiForecasts(
        horizon_weeks=horizon,
        accuracy_target=chosen["accuracy_target"],
        history_weeks=len(history),
    )
    period_targets = dict(chosen.get("targets") or {})
    for name in chosen["kpis"]:
        values = _history_of(name, history, series)
        if values is None:
            found.notes[name] = "kpi_dashboard.forecast.reason.no_data"
            continue
        unit = targets[name].unit if name in targets else EXTRA_UNITS[name]
        volume = unit in VOLUME_UNITS or name in VOLUME_KPIS
        result = forecast(
            values.to_numpy(), horizon, season=WEEKLY_SEASON, simulate_steps=QUARTER_WEEKS
        )
        if result.model is None:
            found.notes[name] = f"kpi_dashboard.forecast.reason.{result.reason}"
            continue
        weeks = tuple(periods.end + timedelta(days=periods.days * (i + 1)) for i in range(horizon))
        item = KpiForecast(name, unit, volume, values, weeks, result)
        outlooks = {
            scope: _outlook(
                item,
                scope,
                periods.days,
                period_targets.get(name, {}).get(scope),
                targets.get(name),
            )
            for scope in ("month", "quarter")
        }
        found.items[name] = replace(item, **outlooks)
    return found


def _history_of(name: str, history: pd.DataFrame, series: pd.DataFrame) -> pd.Series | None:
    """``name``'s weekly values, oldest first, from its first non-missing week on."""
    if name in history.columns:
        values = history.set_index("end")[name].astype(float)
    else:
        part = series[series.kpi == name].sort_values("k", ascending=False)
        values = part.set_index("end")["value"].astype(float)
    if values.notna().sum() == 0:
        return None
    first = values.notna().to_numpy().argmax()
    values = values.iloc[first:]
    # a gap inside the history (a KPI with no data one week) is read as the week before's level
    return values.ffill()


def _scope_key(day: date, scope: str) -> tuple[int, int]:
    return (day.year, day.month if scope == "month" else (day.month - 1) // 3 + 1)


def _outlook(
    item: KpiForecast,
    scope: str,
    days: int,
    given: float | None,
    spec: KpiTarget | None,
) -> Outlook:
    """This month's (quarter's) weeks measured and to come, its target and the chance."""
    key = _scope_key(period_middle(item.weeks[0], days), scope)
    ends = list(item.history.index)
    done = [e for e in ends if _scope_key(period_middle(e, days), scope) == key]
    steps = 0
    while steps < QUARTER_WEEKS:
        end = item.weeks[0] + timedelta(days=days * steps)
        if _scope_key(period_middle(end, days), scope) != key:
            break
        steps += 1
    actual = [float(item.history[e]) for e in done]
    label = f"{key[0]}-{key[1]:02d}" if scope == "month" else f"{key[0]} Q{key[1]}"
    target = float(given) if given is not None else _weekly_target(item, spec, done, steps, days)
    probability = item.result.target_probability(
        target,
        steps=steps,
        actual=actual,
        kind="volume" if item.volume else "rate",
        direction=spec.direction if spec else "higher",
    )
    total = sum(actual)
    return Outlook(
        label=label,
        done=len(done),
        remaining=steps,
        actual=total if item.volume else (total / len(actual) if actual else math.nan),
        target=target,
        probability=probability,
    )


def _weekly_target(
    item: KpiForecast, spec: KpiTarget | None, done: list[date], steps: int, days: int
) -> float | None:
    """The period's target from the KPI's weekly target: summed (volume) or averaged (rate)
    over its weeks; None without one (or, for a growth target, without the year-earlier weeks)."""
    if spec is None or spec.target is None:
        return None
    last = done[-1] if done else item.weeks[0] - timedelta(days=days)
    ends = [*done, *(last + timedelta(days=days * (i + 1)) for i in range(steps))]
    weekly = []
    for end in ends:
        earlier = item.history.get(end - timedelta(days=364)) if spec.kind == "growth_yoy" else None
        value = spec.resolve(days, earlier)
        if value is None:
            return None
        weekly.append(value)
    total = sum(weekly)
    return total if item.volume else total / len(weekly)
