"""What the KPI dashboard shows: the period and its rules, the scorecard by area, acquisition by
channel, content by type and item, the trend and daily charts with their anomalies, data health
and the summary sentences, all built from a :class:`KpiDashboard`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from opsbook.formats import STATUS_CLASS, fmt, interval_text
from opsbook.kpi.analysis import KpiDashboard
from opsbook.kpi.analysis.result import HEADLINE_LABELS
from opsbook.kpi.view.context import anomaly_step, ran_then_text
from opsbook.kpi.view.forecast import forecast_cells, summary_step
from opsbook.plots import (
    PALETTE,
    STATUS_COLOURS,
    category_colours,
    date_ticks,
    figure,
    integer_ticks,
    percent_ticks,
)
from opsbook.report import Report
from opsbook.targets import KNOWN_KPIS, UNIT_FORMAT, KpiTarget, marked, missing


def _status_text(report: Report, status: str) -> str:
    return report.t(f"kpi_dashboard.status.{status.replace('/', '')}")


def _value_text(value: Any, unit: str, interval: tuple[Any, Any] = (None, None)) -> str:
    """The value, and an estimate's interval after it: "11.90 [1.01, 22.81]"."""
    text = fmt(None if missing(value) else value, UNIT_FORMAT[unit])
    low, high = interval
    if missing(value) or missing(low) or missing(high):
        return text
    return f"{text} {interval_text(low, high, UNIT_FORMAT[unit])}"


# anomaly tables show their first rows; the rest fold under "all N rows"
ANOMALY_ROWS = 5


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
    forecast = result.forecasts is not None and bool(set(card.kpi) & set(result.forecasts.items))
    rows, status_classes, change_classes = [], [], []
    for row in card.itertuples():
        spec = result.targets[row.kpi]
        change = _change_text(spec.unit, row.change, row.change_abs)
        if row.significant is None:
            noise = tr("kpi_dashboard.noise.untested") if row.tested else "—"
        else:
            noise = tr("kpi_dashboard.noise.yes" if row.significant else "kpi_dashboard.noise.no")
        note = result.notes.get(row.kpi)
        rows.append(
            {
                tr("kpi_dashboard.col.kpi"): tr(f"kpi_dashboard.kpi.{row.kpi}"),
                tr("kpi_dashboard.col.value"): _value_text(
                    row.value, spec.unit, (row.low, row.high)
                ),
                tr("kpi_dashboard.col.target"): _target_text(report, spec, row.target),
                tr("kpi_dashboard.col.status"): _status_text(report, row.status),
                tr("kpi_dashboard.col.previous"): _value_text(row.previous, spec.unit),
                tr("kpi_dashboard.col.change"): change,
                tr("kpi_dashboard.col.noise"): noise,
                tr("kpi_dashboard.col.note"): tr(note) if note else "",
                **(forecast_cells(report, result, row.kpi) if forecast else {}),
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


def _change_text(unit: str, change: Any, change_abs: Any) -> str:
    """The change since the previous period: percentage points for a rate, else relative."""
    if unit == "rate" and not missing(change_abs):
        return fmt(change_abs, "pp")
    return fmt(None if missing(change) else change, "signed_pct")


def _target_text(report: Report, spec: KpiTarget, target: float | None) -> str:
    """The target as shown: ≥ 55.0%, ≤ 1.000, "+30% year over year = ≥ 130", or a dash; marked
    "(default)" when it is the shipped one (no targets file of the user's sets it)."""
    sign = "≥ " if spec.direction == "higher" else "≤ "
    resolved = "" if missing(target) else sign + _value_text(target, spec.unit)
    if spec.kind == "growth_yoy" and spec.target is not None:
        growth = report.t("kpi_dashboard.target.growth", growth=f"{spec.target:+.0%}")
        return marked(f"{growth} = {resolved}" if resolved else growth, spec.default, report.lang)
    return marked(resolved, spec.default, report.lang) if resolved else "—"


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
        "nps_min": s["nps_min_respondents"],
        "ltv_age_days": s["ltv_age_days"],
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
    shown = frame.assign(channel=[report.display_name("channel", c) for c in frame["channel"]])
    shown = shown[list(columns)].rename(columns=columns)
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
    shown = frame.assign(type=[report.display_name("content_type", k) for k in frame["type"]])
    shown = shown[list(columns)].rename(columns=columns)
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
    shown = frame.assign(
        rank=[tr(f"kpi_dashboard.rank.{r}") for r in frame["rank"]],
        type=[report.display_name("content_type", k) for k in frame["type"]],
    )
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
    colours = category_colours(result.content_types["type"].tolist() + list(wide.columns))
    for kind in wide.columns:
        ax.bar(
            labels,
            wide[kind],
            bottom=bottom,
            color=colours[str(kind)],
            label=report.display_name("content_type", kind),
        )
        bottom += wide[kind].to_numpy()
    ax.yaxis.set_major_locator(integer_ticks())
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
                report.t(
                    "kpi_dashboard.chart.target_off",
                    target=_value_text(target.dropna().iloc[-1], result.targets[name].unit),
                ),
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
        _unit_axis(ax.yaxis, result.targets[name].unit)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return fig


def _unit_axis(axis: Any, unit: str) -> None:
    """Tick labels in the KPI's unit: rates as percentages, counts on whole numbers, money with
    thousands separators."""
    from matplotlib.ticker import StrMethodFormatter

    if unit == "rate":
        axis.set_major_formatter(percent_ticks())
    elif unit == "count":
        axis.set_major_locator(integer_ticks())
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    elif unit == "money" and axis.get_view_interval()[1] >= 1000:
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


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
            tr("kpi_dashboard.col.ran_then"): ran_then_text(report, r.context),
        }
        for r in found.itertuples()
    ]
    report.show(pd.DataFrame(rows), top=ANOMALY_ROWS)


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
            tr("kpi_dashboard.col.ran_then"): ran_then_text(report, r.context),
        }
        for r in found.itertuples()
    ]
    report.show(pd.DataFrame(rows), top=ANOMALY_ROWS)


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


# the KPIs a director reads first (acquisition, retention, conversion, revenue, campaigns): the
# summary's cards, beside the count of targets met
WATCHED = ("new_users", "d7_retention", "paying_rate", "gmv", "campaign_roi")
# the order of the summary's counts: met first, then what still needs a look
VERDICT_STATUSES = ("green", "not_proven", "amber", "red")


def summary(report: Report, result: KpiDashboard) -> None:
    """The answer first: how many targets the period met, was close to, missed or did not prove;
    the watched KPIs with their target and change; and what to look at next (missed, close and
    unproven KPIs, rates that moved beyond noise, anomalies)."""
    tr = report.t
    card = result.scorecard
    judged = card[card.status != "n/a"]
    counts = {s: int((judged.status == s).sum()) for s in VERDICT_STATUSES}
    report.summary(
        tr(
            "kpi_dashboard.summary.verdict",
            start=f"{result.period.start:%Y-%m-%d}",
            end=f"{result.period.end:%Y-%m-%d}",
            judged=len(judged),
            **counts,
        ),
        tone="red" if counts["red"] else "amber" if len(judged) > counts["green"] else "green",
        numbers=[_summary_number(report, result, name) for name in WATCHED],
        actions=_next_steps(report, result),
    )


def _summary_number(report: Report, result: KpiDashboard, name: str) -> dict[str, Any]:
    """A watched KPI as a summary card: its value, status, and a note with the target (and an
    estimate's interval) and the change since the previous period."""
    row = result.kpi(name)
    spec = result.targets[name]
    parts = []
    if row["low"] is not None and row["high"] is not None:
        parts.append(interval_text(row["low"], row["high"], spec.format))
    if spec.target is None:
        parts.append(report.t("kpi_dashboard.summary.no_target"))
    else:
        target = _target_text(report, spec, row["target"])
        parts.append(report.t("kpi_dashboard.summary.target", target=target))
    change = _change_text(spec.unit, row["change"], row["change_abs"])
    if change != "—":
        parts.append(report.t("kpi_dashboard.summary.change", change=change))
    return {
        "label": HEADLINE_LABELS.get(name, f"kpi_dashboard.kpi.{name}"),
        "value": row["value"],
        "format": spec.format,
        "status": None if row["status"] == "n/a" else row["status"],
        "note": " · ".join(parts),
    }


def _next_steps(report: Report, result: KpiDashboard) -> list[str]:
    """What to look at: the missed, close and unproven KPIs, the rates that moved beyond noise
    and the anomalies of the trends."""
    tr = report.t
    card = result.scorecard
    joined = "、" if report.lang == "zh" else ", "
    steps = []
    for status in ("red", "amber", "not_proven"):
        names = [tr(f"kpi_dashboard.kpi.{n}") for n in card.loc[card.status == status, "kpi"]]
        if names:
            steps.append(
                tr(f"kpi_dashboard.summary.{status}", n=len(names), kpis=joined.join(names))
            )
    moved = card[card.significant.fillna(False).astype(bool)]
    if not moved.empty:
        parts = [
            f"{tr(f'kpi_dashboard.kpi.{r.kpi}')} {fmt(r.change_abs, 'pp')}"
            for r in moved.itertuples()
        ]
        steps.append(tr("kpi_dashboard.summary.moves", moves=joined.join(parts)))
    anomalies = anomaly_step(report, result)
    if anomalies:
        steps.append(anomalies)
    ahead = summary_step(report, result)
    return [*steps, ahead] if ahead else steps
