"""Predicted customer value: the BG/NBD and Gamma-Gamma parameters with standard errors, the
holdout check (predicted vs actual purchases by frequency), the CLV total and value tiers --
or, without orders or with a flagged fit, what happened instead."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.formats import fmt, interval_text
from opsbook.insight.analysis.value import PredictedValue
from opsbook.plots import figure
from opsbook.report import Report

# parameters as a page writes them (alpha as a Greek letter: a symbol in either language)
SYMBOLS = {"r": "r", "alpha": "α", "a": "a", "b": "b", "p": "p", "q": "q", "v": "v"}
MODELS = {"bgnbd": "BG/NBD", "gamma_gamma": "Gamma–Gamma"}
ACTUAL_COLOUR, PREDICTED_COLOUR = "#8c8c8c", "#2f6fb0"


def _flag(report: Report, reason: str) -> None:
    for prefix, model in MODELS.items():
        if reason.startswith(f"{prefix}_"):
            issue = reason[len(prefix) + 1 :]
            report.say(
                "insight.value.flagged",
                model=model,
                issue=report.t(f"insight.value.issue.{issue}"),
            )
            return


def show_fits(report: Report, value: PredictedValue) -> None:
    """Who the models saw, the fitted parameters with standard errors and 95 % intervals."""
    report.say("insight.value.intro")
    if value.reason == "no_orders":
        report.say("insight.value.no_orders")
        return
    excluded = ", ".join(
        report.t(f"insight.value.excluded.{k}", n=fmt(n, "int")) for k, n in value.excluded.items()
    )
    report.say(
        "insight.value.customers",
        customers=fmt(value.customers, "int"),
        once=fmt(value.one_purchase_customers, "int"),
        excluded=excluded or "—",
    )
    if value.reason is not None:
        _flag(report, value.reason)
    tr = report.t
    rows = []
    for key, fit in (("bgnbd", value.bgnbd), ("gamma_gamma", value.gamma_gamma)):
        if fit is None or not fit.converged:
            continue
        for name, row in fit.summary_frame().iterrows():
            rows.append(
                {
                    tr("insight.col.model"): MODELS[key],
                    tr("insight.col.parameter"): SYMBOLS[str(name)],
                    tr("insight.col.estimate"): fmt(row["estimate"], "float"),
                    tr("insight.col.std_error"): fmt(row["std_error"], "float"),
                    tr("insight.col.interval"): interval_text(row["lower"], row["upper"], "float"),
                }
            )
    if rows:
        report.show(pd.DataFrame(rows))


def holdout_chart(report: Report, value: PredictedValue) -> Any:
    """Mean purchases per customer in the holdout, predicted and actual, by the frequency in
    the fitting period (``7+`` pools the rest); None without a holdout check."""
    table = value.holdout
    if table is None:
        return None
    days = value.settings.holdout_days
    fig, ax = figure(7.5, 3.8)
    positions = list(range(len(table)))
    ax.plot(
        positions,
        table["actual"],
        marker="o",
        color=ACTUAL_COLOUR,
        label=report.t("insight.chart.actual"),
    )
    ax.plot(
        positions,
        table["predicted"],
        marker="s",
        ls="--",
        color=PREDICTED_COLOUR,
        label=report.t("insight.chart.predicted"),
    )
    ax.set_xticks(positions, [str(label) for label in table["label"]])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(report.t("insight.chart.frequency"))
    ax.set_ylabel(report.t("insight.chart.purchases"))
    ax.set_title(report.t("insight.chart.holdout_title", days=days))
    ax.legend(loc="upper left")
    return fig


def show_clv(report: Report, value: PredictedValue) -> None:
    """What the holdout check is, and the CLV definition, total and tier cuts."""
    if value.reason == "no_orders":
        return
    s = value.settings
    report.say("insight.value.holdout", days=s.holdout_days)
    if value.holdout is None and value.bgnbd is not None and value.bgnbd.converged:
        report.say("insight.value.no_holdout")
    if not value.available or value.cuts is None:
        return
    medium_cut, high_cut = value.cuts
    report.say(
        "insight.value.clv",
        months=s.horizon_months,
        days=fmt(s.period_days, "int"),
        margin=fmt(s.margin, "pct"),
        discount=fmt(s.discount_rate, "pct"),
        total=fmt(value.clv_total, "money"),
        high=fmt(s.high_share, "pct"),
        medium=fmt(s.medium_share, "pct"),
        high_cut=fmt(high_cut, "money"),
        medium_cut=fmt(medium_cut, "money"),
    )
