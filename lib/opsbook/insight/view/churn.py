"""The churn early warning (流失预警): how the model was judged, how good it is (AUC and PR-AUC
with intervals, Brier, the top 5/10/20 % against the recency rule, calibration) and the reasons
that put users at high risk -- counted, never per user."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from opsbook.formats import count_text, fmt, interval_text
from opsbook.insight.analysis.churn import ChurnModel
from opsbook.insight.analysis.contact import ContactMatrix
from opsbook.insight.view.names import feature_name, model_name
from opsbook.plots import figure, percent_ticks
from opsbook.report import Report

MODEL_COLOUR, RULE_COLOUR = "#2f6fb0", "#8c8c8c"


def show_model(report: Report, model: ChurnModel) -> None:
    """The time split, the two candidates, the chosen one and its figures with intervals."""
    s, c = model.settings, model.cutoffs
    report.say(
        "insight.churn.intro",
        active_days=s.active_days,
        days=s.horizon_days,
        train=c["train"].isoformat(),
        evaluate=c["evaluate"].isoformat(),
        score=c["score"].isoformat(),
    )
    e = model.evaluation
    if e is None or model.kind is None:
        report.say("insight.churn.none", reason=report.t(f"insight.churn.reason.{model.reason}"))
        return
    tr = report.t
    by = tr("insight.measure.pr_auc" if s.choose_by == "pr_auc" else "insight.measure.auc")
    report.say("insight.churn.chosen", kind=model_name(report, model.kind), by=by)
    report.show(
        pd.DataFrame(
            {
                tr("insight.col.model"): [model_name(report, k) for k in model.candidates["kind"]],
                tr("insight.measure.auc"): model.candidates["auc"],
                tr("insight.measure.pr_auc"): model.candidates["pr_auc"],
                tr("insight.col.chosen"): [k == model.kind for k in model.candidates["kind"]],
            }
        ),
        formats={tr("insight.measure.auc"): "dec2", tr("insight.measure.pr_auc"): "dec2"},
    )
    report.say(
        "insight.churn.samples",
        users=fmt(e.users, "int"),
        churned=fmt(e.churned, "int"),
        base=fmt(e.base_rate, "pct"),
        train=fmt(model.samples["train"], "int"),
    )
    report.show(
        pd.DataFrame(
            {
                tr("insight.col.measure"): [
                    tr(f"insight.measure.{m}") for m in ("auc", "pr_auc", "brier", "base_rate")
                ],
                tr("insight.col.value"): [
                    fmt(e.auc, "dec2"),
                    fmt(e.pr_auc, "dec2"),
                    fmt(e.brier, "float"),
                    fmt(e.base_rate, "pct"),
                ],
                tr("insight.col.interval"): [
                    interval_text(*e.auc_interval, kind="dec2"),
                    interval_text(*e.pr_auc_interval, kind="dec2"),
                    "—",
                    "—",
                ],
            }
        )
    )


def show_top(report: Report, model: ChurnModel) -> None:
    """Precision and recall of the top 5/10/20 % by risk, the recency rule's, and the lift."""
    e = model.evaluation
    if e is None:
        return
    report.say("insight.top.intro")
    tr = report.t
    columns = {
        "precision": "insight.col.precision",
        "recall": "insight.col.recall",
        "recency_precision": "insight.col.rule_precision",
        "recency_recall": "insight.col.rule_recall",
    }
    frame = pd.DataFrame(
        {
            tr("insight.col.top"): [
                tr("insight.top.share", share=fmt(100 * v, "int")) for v in e.top["share"]
            ]
        }
        | {tr(key): e.top[column].to_numpy() for column, key in columns.items()}
        | {tr("insight.col.lift"): [f"{fmt(v, 'dec1')}×" for v in e.top["lift_vs_recency"]]}
    )
    report.show(frame, formats={tr(key): "pct" for key in columns.values()})


def top_chart(report: Report, model: ChurnModel) -> Any:
    """The table's precision columns: share who left among the flagged, model vs rule."""
    e = model.evaluation
    if e is None:
        return None
    fig, ax = figure(7, 3.6)
    positions = range(len(e.top))
    width = 0.38
    ax.bar(
        [p - width / 2 for p in positions],
        e.top["precision"],
        width,
        color=MODEL_COLOUR,
        label=report.t("insight.chart.model"),
    )
    ax.bar(
        [p + width / 2 for p in positions],
        e.top["recency_precision"],
        width,
        color=RULE_COLOUR,
        label=report.t("insight.chart.recency_rule"),
    )
    ax.set_xticks(
        list(positions),
        [report.t("insight.top.share", share=fmt(100 * v, "int")) for v in e.top["share"]],
    )
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_title(report.t("insight.chart.top_title"))
    ax.legend(loc="lower right")
    return fig


def calibration_chart(report: Report, model: ChurnModel) -> Any:
    """Observed churn against predicted risk per tenth of users, with the diagonal."""
    e = model.evaluation
    if e is None:
        return None
    table = e.calibration
    fig, ax = figure(5.5, 4.6)
    ax.plot([0, 1], [0, 1], ls="--", color=RULE_COLOUR, label=report.t("insight.chart.perfect"))
    ax.plot(
        table["predicted"],
        table["observed"],
        marker="o",
        color=MODEL_COLOUR,
        label=model_name(report, str(model.kind)),
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_formatter(percent_ticks())
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel(report.t("insight.chart.predicted_risk"))
    ax.set_ylabel(report.t("insight.chart.observed_rate"))
    ax.set_title(report.t("insight.chart.calibration_title", brier=fmt(e.brier, "float")))
    ax.legend(loc="upper left")
    return fig


def show_reasons(report: Report, contact: ContactMatrix | None) -> None:
    """How often each feature is the first reason of a high-risk user (counts only), and on how
    many of them when a sample was counted."""
    if contact is None:
        return
    report.say("insight.reasons.intro")
    reasons = contact.top_reasons
    if reasons.empty:
        report.say("insight.reasons.none")
        return
    total = reasons["users"].sum()
    if contact.reason_sample < contact.at_risk_users:
        # the widest 95 % interval of a share estimated on `total` users
        margin = 1.96 * 0.5 / math.sqrt(total)
        report.say(
            "insight.reasons.sampled",
            sample=fmt(contact.reason_sample, "int"),
            users=fmt(contact.at_risk_users, "int"),
            margin=fmt(100 * margin, "dec1"),
        )
    tr = report.t
    frame = pd.DataFrame(
        {
            tr("insight.col.reason"): [feature_name(report, r) for r in reasons["reason"]],
            tr("insight.col.users"): [count_text(n, report.min_cell) for n in reasons["users"]],
            tr("insight.col.share"): [
                fmt(n / total, "pct") if n >= report.min_cell else "—" for n in reasons["users"]
            ],
        }
    )
    report.show(frame, top=8)


def show_scope(report: Report, model: ChurnModel) -> None:
    """The settings behind the model and the populations counted in the engine."""
    s = model.settings
    report.say(
        "insight.scope.settings",
        windows=" / ".join(str(w) for w in sorted(s.windows)),
        max_users=fmt(s.max_users, "int"),
        seed=s.seed,
        bootstrap=s.bootstrap,
    )
    train, evaluate = model.populations["train"], model.populations["evaluate"]
    report.say(
        "insight.scope.populations",
        train=fmt(train["users"], "int"),
        train_churned=fmt(train.get("churned"), "int"),
        evaluate=fmt(evaluate["users"], "int"),
        evaluate_churned=fmt(evaluate.get("churned"), "int"),
    )
