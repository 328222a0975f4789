"""A funnel on the page: the step table (users, step and overall conversion with Wilson
intervals, drop-off) and its chart, the breakdown with the corrected test per step, the times
to convert (table and histogram) and the conversion by entry week."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from opsbook.behaviour.analysis.funnel import FunnelResult
from opsbook.behaviour.view.names import (
    column_name,
    duration_text,
    event_name,
    funnel_title,
    group_name,
    listed,
    step_name,
)
from opsbook.formats import fmt, interval_text, p_text
from opsbook.plots import category_colours, date_ticks, figure, integer_ticks, percent_ticks
from opsbook.report import Report

HOUR, DAY = 3600, 86_400


def step_names(report: Report, result: FunnelResult) -> list[str]:
    """The steps as the page names them; a step whose event the data lack says so."""
    names = []
    for st in result.funnel.steps:
        name = step_name(report, st)
        if st.event in result.missing:
            name = report.t("behaviour.funnel.not_in_data", step=name)
        names.append(name)
    return names


def show_funnel(report: Report, result: FunnelResult) -> None:
    """The funnel's definition in a sentence, then the step table."""
    f = result.funnel
    report.heading("behaviour.funnel.heading", level=3, name=funnel_title(report, f.name))
    report.say(
        "behaviour.funnel.intro",
        steps=" → ".join(step_name(report, st) for st in f.steps),
        window=duration_text(report, f.window_seconds),
        order=report.t(f"behaviour.order.{f.order}"),
        entry=report.t(f"behaviour.entry.{f.entry}"),
    )
    if f.exclusions:
        report.say(
            "behaviour.funnel.exclusions",
            events=listed(report, (event_name(report, x.event) for x in f.exclusions)),
        )
    if result.missing:
        report.say(
            "behaviour.funnel.missing",
            events=listed(report, (event_name(report, e) for e in result.missing)),
        )
    tr = report.t
    s = result.steps
    frame = pd.DataFrame(
        {
            tr("behaviour.col.step"): step_names(report, result),
            tr("behaviour.col.users"): s["users"].astype("int64"),
            tr("behaviour.col.step_conversion"): s["conversion"],
            tr("behaviour.col.step_interval"): [
                interval_text(lo, hi, "pct") for lo, hi in zip(s["conversion_low"],
                                                               s["conversion_high"], strict=True)
            ],
            tr("behaviour.col.overall"): s["overall"],
            tr("behaviour.col.overall_interval"): [
                interval_text(lo, hi, "pct") for lo, hi in zip(s["overall_low"], s["overall_high"],
                                                               strict=True)
            ],
            tr("behaviour.col.dropped"): s["dropped"].astype("int64"),
        }
    )  # fmt: skip
    report.show(
        frame,
        formats={
            tr("behaviour.col.users"): "int",
            tr("behaviour.col.dropped"): "int",
            tr("behaviour.col.step_conversion"): "pct",
            tr("behaviour.col.overall"): "pct",
        },
        min_cell=report.min_cell,
        count_columns=[tr("behaviour.col.users")],
    )


def funnel_chart(report: Report, result: FunnelResult) -> Any:
    """The table's overall conversion per step as bars with their 95 % Wilson intervals, each
    labelled with its users."""
    s = result.steps
    names = step_names(report, result)
    fig, ax = figure(8, 0.6 * len(s) + 1.4)
    y = np.arange(len(s))[::-1]
    overall = s["overall"].fillna(0).to_numpy()
    low = np.clip(overall - s["overall_low"].fillna(0).to_numpy(), 0, None)
    high = np.clip(s["overall_high"].fillna(0).to_numpy() - overall, 0, None)
    ax.barh(y, overall, color=category_colours(["funnel"])["funnel"], xerr=[low, high],
            error_kw={"ecolor": "#555555", "capsize": 3})  # fmt: skip
    for yi, value, users in zip(y, overall, s["users"], strict=True):
        label = report.t("behaviour.chart.bar_label", share=fmt(value, "pct"),
                         users=fmt(int(users), "int"))  # fmt: skip
        ax.text(min(value, 1.0) + 0.01, yi, label, va="center", fontsize=9)
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1.25)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.xaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel(report.t("behaviour.chart.overall_axis"))
    ax.set_title(
        report.t("behaviour.chart.funnel_title", name=funnel_title(report, result.funnel.name))
    )
    return fig


def show_breakdown(report: Report, result: FunnelResult, *, top: int = 12) -> None:
    """Per step and group: the group's step conversion against all other groups', the
    difference with its interval and the Holm-corrected p-value."""
    if result.breakdown is None:
        return
    tests = result.tests
    if tests.empty:
        report.say("behaviour.breakdown.none")
        return
    groups = tests["grp"].nunique()
    report.say(
        "behaviour.breakdown.intro", column=column_name(report, result.breakdown), groups=groups
    )
    tr = report.t
    names = step_names(report, result)
    order = tests.assign(_abs=tests["diff"].abs()).sort_values(
        ["significant", "_abs"], ascending=[False, False]
    )
    frame = pd.DataFrame(
        {
            tr("behaviour.col.link"): [f"{names[k - 1]} → {names[k]}" for k in order["step"]],
            tr("behaviour.col.group"): [
                group_name(report, result.breakdown, g) for g in order["grp"]
            ],
            tr("behaviour.col.entered"): order["entered"].astype("int64"),
            tr("behaviour.col.step_conversion"): order["conversion"],
            tr("behaviour.col.rest"): order["rest_conversion"],
            tr("behaviour.col.diff"): order["diff"],
            tr("behaviour.col.diff_interval"): [
                interval_text(lo, hi, "pp") for lo, hi in zip(order["diff_low"],
                                                              order["diff_high"], strict=True)
            ],
            tr("behaviour.col.p_holm"): [p_text(p) for p in order["p_holm"]],
            tr("behaviour.col.significant"): [
                tr("behaviour.yes") if sig else tr("behaviour.no") for sig in order["significant"]
            ],
        }
    )  # fmt: skip
    report.show(
        frame,
        top=top,
        formats={
            tr("behaviour.col.entered"): "int",
            tr("behaviour.col.step_conversion"): "pct",
            tr("behaviour.col.rest"): "pct",
            tr("behaviour.col.diff"): "pp",
        },
        min_cell=report.min_cell,
        count_columns=[tr("behaviour.col.entered")],
    )


def _time_step(report: Report, result: FunnelResult, step: str) -> str:
    names = step_names(report, result)
    if step == "overall":
        return report.t("behaviour.time.overall", first=names[0], last=names[-1])
    k = int(step)
    return f"{names[k - 1]} → {names[k]}"


def show_times(report: Report, result: FunnelResult) -> None:
    """Time to each step from the previous one, and from entry to the last step: users who got
    there, median and percentiles in the unit that reads best."""
    times = result.times
    if times.empty:
        report.say("behaviour.time.none")
        return
    tr = report.t
    frame = pd.DataFrame(
        {
            tr("behaviour.col.link"): [_time_step(report, result, s) for s in times["step"]],
            tr("behaviour.col.users"): times["users"].astype("int64"),
            **{
                tr(f"behaviour.col.{q}"): [duration_text(report, v) for v in times[q]]
                for q in ("p25", "median", "p75", "p90")
            },
        }
    )
    report.show(
        frame,
        formats={tr("behaviour.col.users"): "int"},
        min_cell=report.min_cell,
        count_columns=[tr("behaviour.col.users")],
    )


def times_chart(report: Report, result: FunnelResult) -> Any:
    """The histogram of the time from entry to the last step reached by anyone the data can
    answer (the table's last row), in hours or days; None when nobody got there."""
    hist = result.histogram
    if hist.empty:
        return None
    last = (
        "overall" if (hist["step"] == "overall").any() else str(max(int(s) for s in hist["step"]))
    )
    part = hist[hist["step"] == last].sort_values("bin")
    if part.empty:
        return None
    unit, key = (HOUR, "hours") if result.funnel.window_seconds <= 2 * DAY else (DAY, "days")
    fig, ax = figure(8, 3.4)
    width = float(part["upper_s"].iloc[0] - part["lower_s"].iloc[0]) / unit
    ax.bar(part["lower_s"] / unit, part["users"], width=width * 0.95, align="edge",
           color=category_colours(["funnel"])["funnel"])  # fmt: skip
    ax.yaxis.set_major_locator(integer_ticks())
    ax.xaxis.set_major_locator(integer_ticks())
    ax.set_xlabel(report.t(f"behaviour.chart.time_axis_{key}"))
    ax.set_ylabel(report.t("behaviour.chart.users_axis"))
    ax.set_title(report.t("behaviour.chart.time_title", link=_time_step(report, result, last)))
    return fig


def weeks_chart(report: Report, result: FunnelResult) -> Any:
    """Share of each entry week's users reaching each later step (steps the data can answer;
    one colour per step), by the week's Monday; None without weeks."""
    weeks = result.weeks
    if weeks.empty or len(result.funnel.steps) < 2:
        return None
    names = step_names(report, result)
    shown = [k for k in range(1, len(names)) if result.funnel.steps[k].event not in result.missing]
    if not shown:
        return None
    colours = category_colours(names)
    fig, ax = figure(8, 3.6)
    for k in shown:
        part = weeks[weeks["step"] == k].sort_values("week_start")
        ax.plot(pd.to_datetime(part["week_start"]), part["overall"], marker="o", markersize=3,
                color=colours[names[k]], label=names[k])  # fmt: skip
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.xaxis.set_major_formatter(date_ticks())
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(report.t("behaviour.chart.week_axis"))
    ax.set_ylabel(report.t("behaviour.chart.reached_axis"))
    ax.set_title(report.t("behaviour.chart.weeks_title"))
    ax.legend(fontsize=8, loc="lower left")
    return fig


def show_funnels(report: Report, funnels: tuple[FunnelResult, ...]) -> None:
    """Each configured funnel in turn: its definition and step table, its chart, its
    breakdown."""
    from IPython.display import display

    for result in funnels:
        show_funnel(report, result)
        display(funnel_chart(report, result))
        show_breakdown(report, result)
