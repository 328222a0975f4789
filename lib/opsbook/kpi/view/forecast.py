"""What the KPI dashboard shows of the forecasts: the scorecard's forecast cells, the forecast
table (model, accuracy against its target, coverage, chance of the month's and quarter's target),
the chart (history, forecast with its 80 % and 95 % bands, the baseline) and the summary's line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from opsbook.formats import STATUS_CLASS, fmt
from opsbook.kpi.analysis import KpiDashboard
from opsbook.plots import PALETTE, date_ticks, figure, integer_ticks, percent_ticks
from opsbook.report import Report
from opsbook.targets import UNIT_FORMAT, missing

# weeks of history the chart shows before the forecast
CHART_WEEKS = 26
# below this chance a quarter's target is called unlikely in the summary
UNLIKELY = 0.5


def _format(unit: str) -> str:
    return UNIT_FORMAT.get(unit, "float")


def _chance(value: float | None) -> str:
    return "—" if value is None else fmt(value, "pct")


def forecast_cells(report: Report, result: KpiDashboard, kpi: str) -> dict[str, str]:
    """The scorecard's forecast columns for ``kpi``: next week's forecast with its 80 %
    interval, and "will we make it" -- the chance of this month's / quarter's target."""
    tr = report.t
    item = result.forecasts.items.get(kpi) if result.forecasts else None
    if item is None:
        return {tr("kpi_dashboard.col.forecast"): "", tr("kpi_dashboard.col.make_it"): ""}
    r, form = item.result, _format(item.unit)
    chances = [o.probability for o in (item.month, item.quarter) if o is not None]
    make_it = (
        tr(
            "kpi_dashboard.forecast.make_it",
            month=_chance(item.month.probability),
            quarter=_chance(item.quarter.probability),
        )
        if any(c is not None for c in chances)
        else tr("kpi_dashboard.forecast.no_target")
    )
    return {
        tr("kpi_dashboard.col.forecast"): (
            f"{fmt(r.point[0], form)} [{fmt(r.low_80[0], form)}, {fmt(r.high_80[0], form)}]"
        ),
        tr("kpi_dashboard.col.make_it"): make_it,
    }


def show_forecasts(report: Report, result: KpiDashboard) -> None:
    """Per forecast KPI: the model chosen, its backtest accuracy (1 - WAPE) against the target
    with its status, MAPE, the baseline's accuracy, the 95 % interval's coverage and the chance
    of this month's and quarter's target; then the KPIs without a forecast and why."""
    found = result.forecasts
    if found is None:
        return
    tr = report.t
    report.say(
        "kpi_dashboard.forecast.intro",
        weeks=found.history_weeks,
        horizon=found.horizon_weeks,
        target=fmt(found.accuracy_target, "pct"),
    )
    rows, classes = [], []
    for name, item in found.items.items():
        r, chosen = item.result, item.result.chosen
        status = found.accuracy_status(name)
        month, quarter = item.month, item.quarter
        rows.append(
            {
                tr("kpi_dashboard.col.kpi"): _kpi_name(report, name),
                tr("kpi_dashboard.col.model"): tr(f"kpi_dashboard.forecast.model.{r.model}"),
                tr("kpi_dashboard.col.accuracy"): fmt(_nan(r.accuracy), "pct"),
                tr("kpi_dashboard.col.status"): tr(
                    f"kpi_dashboard.status.{status.replace('/', '')}"
                ),
                tr("kpi_dashboard.col.mape"): fmt(_nan(chosen.mape) if chosen else None, "pct"),
                tr("kpi_dashboard.col.baseline_accuracy"): fmt(_nan(item.baseline_accuracy), "pct"),
                tr("kpi_dashboard.col.coverage"): fmt(
                    _nan(chosen.coverage_95) if chosen else None, "pct"
                ),
                tr("kpi_dashboard.col.p_month", month=month.label): _chance(month.probability),
                tr("kpi_dashboard.col.p_quarter", quarter=quarter.label): _chance(
                    quarter.probability
                ),
            }
        )
        classes.append(STATUS_CLASS[status])
    if rows:
        frame = pd.DataFrame(rows)
        report.show(
            frame,
            classes={
                tr("kpi_dashboard.col.status"): classes,
                tr("kpi_dashboard.col.accuracy"): classes,
            },
        )
    for name, reason in found.notes.items():
        report.say("kpi_dashboard.forecast.none", kpi=_kpi_name(report, name), reason=tr(reason))
    simpler = [n for n, i in found.items.items() if i.result.reason]
    for name in simpler:
        reason = found.items[name].result.reason
        report.say(
            "kpi_dashboard.forecast.simpler",
            kpi=_kpi_name(report, name),
            reason=tr(f"kpi_dashboard.forecast.reason.{reason}"),
        )
    report.say("kpi_dashboard.forecast.rules")


def _nan(value: float) -> float | None:
    return None if missing(value) else value


def _kpi_name(report: Report, name: str) -> str:
    return report.t(f"kpi_dashboard.kpi.{name}")


def forecast_chart(report: Report, result: KpiDashboard, ncols: int = 3):
    """Small multiples: each KPI's recent weeks, the forecast with its 80 % and 95 % bands, and
    the seasonal-naive baseline (dashed grey)."""
    found = result.forecasts
    if found is None or not found.items:
        return None
    names = list(found.items)
    nrows = math.ceil(len(names) / ncols)
    fig, axes = figure(12, 2.6 * nrows, nrows=nrows, ncols=ncols)
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, names, strict=False):
        item = found.items[name]
        r = item.result
        history = item.history.iloc[-CHART_WEEKS:]
        x = pd.to_datetime(pd.Series(history.index))
        ahead = pd.to_datetime(pd.Series(item.weeks))
        ax.plot(x, history.to_numpy(), color=PALETTE[0], lw=1.4, marker="o", ms=2.5)
        ax.fill_between(ahead, r.low_95, r.high_95, color=PALETTE[1], alpha=0.15, lw=0)
        ax.fill_between(ahead, r.low_80, r.high_80, color=PALETTE[1], alpha=0.3, lw=0)
        joined_x = pd.concat([x.iloc[-1:], ahead])
        ax.plot(joined_x, [history.iloc[-1], *r.point], color=PALETTE[1], lw=1.6)
        ax.plot(ahead, r.baseline, color="#8c8c8c", lw=1, ls="--")
        ax.set_title(_kpi_name(report, name), fontsize=9)
        ax.xaxis.set_major_formatter(date_ticks())
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        _unit_axis(ax.yaxis, item.unit, name)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.legend(
        [
            report.t("kpi_dashboard.forecast.legend.actual"),
            report.t("kpi_dashboard.forecast.legend.band95"),
            report.t("kpi_dashboard.forecast.legend.band80"),
            report.t("kpi_dashboard.forecast.legend.forecast"),
            report.t("kpi_dashboard.forecast.legend.baseline"),
        ],
        loc="outside lower center",  # below the panels (constrained layout)
        ncol=5,
        fontsize=8,
        frameon=False,
    )
    return fig


def _unit_axis(axis: Any, unit: str, name: str) -> None:
    """Tick labels in the KPI's unit (rates as percentages, counts as whole numbers, money and
    large values with thousands separators)."""
    from matplotlib.ticker import StrMethodFormatter

    if unit == "rate":
        axis.set_major_formatter(percent_ticks())
    elif unit == "count":
        axis.set_major_locator(integer_ticks())
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    elif axis.get_view_interval()[1] >= 1000:
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def summary_step(report: Report, result: KpiDashboard) -> str | None:
    """The summary's line on the forecast, when it matters: the KPIs unlikely (below
    :data:`UNLIKELY`) to reach this quarter's target."""
    found = result.forecasts
    if found is None:
        return None
    unlikely = [
        (name, item.quarter)
        for name, item in found.items.items()
        if item.quarter is not None
        and item.quarter.probability is not None
        and item.quarter.probability < UNLIKELY
    ]
    if not unlikely:
        return None
    joined = "、" if report.lang == "zh" else ", "
    parts = [f"{_kpi_name(report, n)} {fmt(q.probability, 'pct')}" for n, q in unlikely]
    return report.t(
        "kpi_dashboard.summary.forecast", quarter=unlikely[0][1].label, kpis=joined.join(parts)
    )
