"""A/B test, view: the effect and how sure we are -- the results table with the expected loss of
each choice, the forest plot of the lifts, the lift over time, the exploratory segment breakdowns
and the smallest effect the test could detect."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from opsbook.experiments.analysis import ABTestResult
from opsbook.experiments.view.names import metric_name, segment_name, segment_value
from opsbook.formats import STATUS_CLASS, callout_html, finite, fmt, interval_text, p_text
from opsbook.plots import STATUS_COLOURS, category_colours, figure, signed_percent_ticks
from opsbook.report import Report

MENTION_REDUCTION = 0.01  # CUPED variance reductions below this are not worth a sentence
NEUTRAL = "#5b6675"  # a lift that is neither better nor worse


def metric_format(kind: str) -> tuple[str, str]:
    """(format of a mean, format of an absolute difference) for a metric kind."""
    return ("pct2", "pp") if kind == "proportion" else ("float", "float")


def _rel_ci_header(report: Report, ab: ABTestResult) -> str:
    """The header of the results' interval column: under a correction the intervals are at the
    adjusted level (they exclude 0 exactly when the adjusted p-value is below alpha)."""
    level = f"{1 - ab.settings.alpha:.0%}"
    if ab.settings.correction == "none":
        return report.t("ab_test.col.rel_ci", level=level)
    return report.t("ab_test.col.rel_ci_adjusted", level=level)


def show_results(report: Report, ab: ABTestResult) -> None:
    """Per metric and variant: means, lifts with intervals, p-values, chance to beat control;
    then what CUPED changed, the metrics that could not be tested and the expected loss of
    shipping the decision's variant and of keeping control."""
    tr = report.t
    frame = ab.results
    rel_ci = _rel_ci_header(report, ab)
    rows = []
    for row in frame.itertuples():
        mean_fmt, diff_fmt = metric_format(row.kind)
        rows.append(
            {
                tr("ab_test.col.metric"): metric_name(report, row.metric),
                tr("ab_test.col.role"): tr(f"ab_test.role.{row.role}"),
                tr("ab_test.col.variant"): row.variant,
                tr("ab_test.col.control_users"): row.control_n,
                tr("ab_test.col.variant_users"): row.variant_n,
                tr("ab_test.col.control_mean"): fmt(row.control_mean, mean_fmt),
                tr("ab_test.col.variant_mean"): fmt(row.variant_mean, mean_fmt),
                tr("ab_test.col.abs_lift"): fmt(row.abs_lift, diff_fmt),
                tr("ab_test.col.rel_lift"): row.rel_lift,
                rel_ci: interval_text(row.rel_ci_low, row.rel_ci_high),
                tr("ab_test.col.p_value"): p_text(row.p_value, 4),
                tr("ab_test.col.p_adjusted"): p_text(row.p_adjusted, 4),
                tr("ab_test.col.chance_to_win"): row.chance_to_win,
                tr("ab_test.col.verdict"): tr(f"ab_test.verdict.{row.verdict}"),
            }
        )
    colours = {
        "better": STATUS_CLASS["green"],
        "worse": STATUS_CLASS["red"],
        "flat": None,
        "invalid": STATUS_CLASS["amber"],
    }
    report.show(
        pd.DataFrame(rows),
        formats={
            tr("ab_test.col.rel_lift"): "signed_pct",
            tr("ab_test.col.chance_to_win"): "pct",
            tr("ab_test.col.control_users"): "int",
            tr("ab_test.col.variant_users"): "int",
        },
        count_columns=[tr("ab_test.col.control_users"), tr("ab_test.col.variant_users")],
        min_cell=report.min_cell,
        classes={tr("ab_test.col.verdict"): [colours[v] for v in frame["verdict"]]},
    )
    for row in frame[frame["cuped_applied"]].itertuples():
        reduction = row.variance_reduction
        if reduction is None or not math.isfinite(reduction) or reduction < MENTION_REDUCTION:
            continue
        report.say(
            "ab_test.results.cuped",
            metric=metric_name(report, row.metric),
            variant=row.variant,
            reduction=f"{row.variance_reduction:.0%}",
            raw=interval_text(row.rel_ci_low_unadjusted, row.rel_ci_high_unadjusted),
            adjusted=interval_text(row.rel_ci_low, row.rel_ci_high),
        )
    for row in frame[frame["flag"].notna()].itertuples():
        report.say(
            "ab_test.results.flagged",
            metric=metric_name(report, row.metric),
            variant=row.variant,
            reason=tr(f"ab_test.flag.{row.flag}"),
        )
    say_expected_loss(report, ab)


def decision_row(ab: ABTestResult) -> pd.Series | None:
    """The primary metric's row of the variant the decision is about (None without one)."""
    primary = ab.primary_results
    if ab.decision.variant is None or primary.empty:
        return None
    match = primary[primary["variant"] == ab.decision.variant]
    return match.iloc[0] if not match.empty else None


def say_expected_loss(report: Report, ab: ABTestResult) -> None:
    """The Bayesian expected loss of shipping the decision's variant and of keeping control,
    explained (nothing for an invalid test or a row without a valid estimate)."""
    row = decision_row(ab)
    if row is None or ab.decision.decision == "invalid" or not bool(row["valid"]):
        return
    ship, keep = finite(row["expected_loss"]), finite(row.get("expected_loss_control"))
    if ship is None or keep is None:
        return
    report.say(
        "ab_test.decision.expected_loss",
        ship=fmt(ship, "pct2"),
        keep=fmt(keep, "pct2"),
        variant=ab.decision.variant,
        control=ab.experiment.control,
        metric=metric_name(report, ab.experiment.primary.name),
    )


def forest_chart(report: Report, ab: ABTestResult):
    """Relative lift and its interval, per metric and variant (green better, red worse)."""
    frame = ab.results[ab.results["valid"]].reset_index(drop=True)
    if frame.empty:
        return None
    several = len(ab.experiment.variants) > 2
    labels = [
        f"{metric_name(report, r.metric)} · {r.variant}"
        if several
        else metric_name(report, r.metric)
        for r in frame.itertuples()
    ]
    fig, ax = figure(8, 0.5 * len(frame) + 1.4)
    colours = {"better": STATUS_COLOURS["green"], "worse": STATUS_COLOURS["red"]}
    y = np.arange(len(frame))[::-1]
    for pos, row in zip(y, frame.itertuples(), strict=True):
        colour = colours.get(row.verdict, NEUTRAL)
        low = row.rel_ci_low if math.isfinite(row.rel_ci_low) else row.rel_lift
        high = row.rel_ci_high if math.isfinite(row.rel_ci_high) else row.rel_lift
        ax.plot([low, high], [pos, pos], color=colour, lw=2)
        ax.plot([row.rel_lift], [pos], "o", color=colour)
    ax.axvline(0, color="#333333", lw=1)
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(signed_percent_ticks())
    key = (
        "ab_test.chart.forest"
        if ab.settings.correction == "none"
        else "ab_test.chart.forest_adjusted"
    )
    ax.set_title(report.t(key, level=f"{1 - ab.settings.alpha:.0%}"))
    return fig


def cumulative_chart(report: Report, ab: ABTestResult):
    """Cumulative relative lift of the primary metric by exposure day, with its interval (the
    band is clipped to -100 % .. +300 %: early days can be unbounded)."""
    frame = ab.cumulative
    if frame.empty:
        report.say("ab_test.cumulative.no_days")
        return None
    primary = metric_name(report, ab.experiment.primary.name)
    report.say(
        "ab_test.cumulative.text",
        metric=primary,
        method=report.t(f"ab_test.method.{ab.settings.method}"),
    )
    colours = category_colours(ab.planned)
    fig, ax = figure(9, 3.6)
    for variant in ab.experiment.variants[1:]:
        part = frame[frame["variant"] == variant]
        colour = colours[str(variant)]
        ax.plot(part["day"], part["rel_lift"], color=colour, lw=1.6, label=variant)
        low = part["rel_ci_low"].astype(float).clip(lower=-1.0)
        high = part["rel_ci_high"].astype(float).clip(upper=3.0)
        ax.fill_between(part["day"], low, high, color=colour, alpha=0.15)
    ax.axhline(0, color="#333333", lw=1)
    ax.yaxis.set_major_formatter(signed_percent_ticks())
    ax.set_title(report.t("ab_test.chart.cumulative", metric=primary))
    ax.legend(loc="upper right", fontsize=8)
    return fig


def show_segments(report: Report, ab: ABTestResult) -> None:
    """Exploratory breakdowns of the primary metric, small groups suppressed."""
    exp, tr = ab.experiment, report.t
    if exp.missing_segments:
        report.say(
            "ab_test.segments.missing",
            names=", ".join(segment_name(report, c) for c in exp.missing_segments),
        )
    frame = ab.segments
    if frame.empty:
        report.say(
            "ab_test.segments.no_overlap" if exp.segment_columns else "ab_test.segments.none"
        )
        return
    primary = metric_name(report, exp.primary.name)
    display(HTML(callout_html(tr("ab_test.segments.warning", metric=primary), "amber")))
    mean_fmt, _ = metric_format(exp.primary.kind)
    level = f"{1 - ab.settings.alpha:.0%}"
    interval = tr("ab_test.col.rel_ci", level=level)
    shown = pd.DataFrame(
        {
            tr("ab_test.col.segment"): [segment_name(report, c) for c in frame["segment"]],
            tr("ab_test.col.value"): [
                segment_value(report, c, v)
                for c, v in zip(frame["segment"], frame["value"], strict=True)
            ],
            tr("ab_test.col.variant"): frame["variant"],
            tr("ab_test.col.control_users"): frame["control_users"],
            tr("ab_test.col.variant_users"): frame["variant_users"],
            tr("ab_test.col.control_mean"): frame["control_mean"],
            tr("ab_test.col.variant_mean"): frame["variant_mean"],
            tr("ab_test.col.rel_lift"): frame["rel_lift"],
            interval: [
                interval_text(lo, hi)
                for lo, hi in zip(frame["rel_ci_low"], frame["rel_ci_high"], strict=True)
            ],
            tr("ab_test.col.p_unadjusted"): [p_text(p, 4) for p in frame["p_value"]],
        }
    )
    small = (frame["control_users"] < report.min_cell) | (frame["variant_users"] < report.min_cell)
    shown.loc[small.to_numpy(), interval] = "—"
    report.show(
        shown,
        formats={
            tr("ab_test.col.control_mean"): mean_fmt,
            tr("ab_test.col.variant_mean"): mean_fmt,
            tr("ab_test.col.rel_lift"): "signed_pct",
            tr("ab_test.col.control_users"): "int",
            tr("ab_test.col.variant_users"): "int",
        },
        count_columns=[tr("ab_test.col.control_users"), tr("ab_test.col.variant_users")],
        min_cell=report.min_cell,
    )


def show_mde(report: Report, ab: ABTestResult) -> None:
    """The smallest lift this test could detect, next to the one observed."""
    tr = report.t
    exp = ab.experiment
    mean_fmt, diff_fmt = metric_format(exp.primary.kind)
    report.say(
        "ab_test.mde.text",
        metric=metric_name(report, exp.primary.name),
        power=f"{ab.settings.power:.0%}",
        alpha=f"{ab.settings.alpha:g}",
    )
    shown = pd.DataFrame(
        {
            tr("ab_test.col.variant"): ab.mde["variant"],
            tr("ab_test.col.control_mean"): [fmt(v, mean_fmt) for v in ab.mde["control_mean"]],
            tr("ab_test.col.mde_abs"): [fmt(v, diff_fmt) for v in ab.mde["mde_abs"]],
            tr("ab_test.col.mde_rel"): ab.mde["mde_rel"],
            tr("ab_test.col.observed_rel"): ab.mde["observed_rel"],
        }
    )
    report.show(
        shown,
        formats={tr("ab_test.col.mde_rel"): "pct", tr("ab_test.col.observed_rel"): "signed_pct"},
    )
