"""The answer first: how many users are at risk, the value at stake, how good the model is in
one sentence, and whom to contact -- from the results the sections below show."""

from __future__ import annotations

from typing import Any

from opsbook.formats import count_text, fmt, interval_text
from opsbook.insight.analysis.user_insight import UserInsight
from opsbook.insight.view.names import action_text, risk_name, stage_name, value_name
from opsbook.report import Report

FIRST_CELLS = (("high", "high"), ("high", "medium"))  # whom to call first
STAGE_STEPS = ("silent", "new", "returning")  # stages whose action is worth a step


def times(value: Any) -> str:
    """A multiple as read: 3.1×."""
    return f"{fmt(value, 'dec1')}×" if value is not None else "—"


def churn_reason(report: Report, reason: str | None) -> str:
    return report.t(f"insight.churn.reason.{reason}")


def _quality(report: Report, result: UserInsight) -> tuple[str, list[dict[str, Any]]]:
    """The model-quality sentence and its cards."""
    e = result.model.evaluation
    assert e is not None
    precision, rule = e.at(0.10, "precision"), e.at(0.10, "recency_precision")
    lift = e.at(0.10, "lift_vs_recency")
    sentence = report.t(
        "insight.summary.quality",
        precision=fmt(precision, "pct"),
        lift=fmt(lift, "dec1"),
        rule=fmt(rule, "pct"),
    )
    better = lift is not None and lift > 1
    cards = [
        {
            "label": "insight.h.precision_top10",
            "value": precision,
            "format": "pct",
            "note": report.t(
                "insight.summary.precision_note",
                rule=fmt(rule, "pct"),
                base=fmt(e.base_rate, "pct"),
            ),
        },
        {
            "label": "insight.h.lift_top10",
            "value": times(lift),
            "format": "text",
            "status": "green" if better else "amber",
        },
        {
            "label": "insight.h.auc",
            "value": e.auc,
            "format": "dec2",
            "note": report.t(
                "insight.summary.auc_note", interval=interval_text(*e.auc_interval, kind="dec2")
            ),
        },
    ]
    return sentence, cards


def _steps(report: Report, result: UserInsight) -> list[str]:
    """Whom to contact first (the high-risk cells worth most), then the stages' actions."""
    steps = []
    contact = result.contact
    if contact is not None:
        cells = contact.cells.set_index(["risk_tier", "value_tier"])
        for risk, worth in FIRST_CELLS:
            if (risk, worth) not in cells.index:
                continue
            row = cells.loc[(risk, worth)]
            if row["users"] < report.min_cell:
                continue
            steps.append(
                report.t(
                    "insight.summary.next_cell",
                    n=fmt(row["users"], "int"),
                    risk=risk_name(report, risk),
                    value=value_name(report, worth),
                    revenue=fmt(row["clv"], "money"),
                    action=report.t(f"insight.contact.action.{worth}"),
                )
            )
    stages = result.stages.stages.set_index("stage")
    for stage in STAGE_STEPS:
        row = stages.loc[stage]
        if row["users"] == 0:
            continue
        steps.append(
            report.t(
                "insight.summary.next_stage",
                stage=stage_name(report, stage),
                n=count_text(row["users"], report.min_cell),
                share=fmt(row["share"], "pct"),
                action=action_text(report, row["action"]),
            )
        )
    if result.exported is not None:
        steps.append(report.t("insight.summary.next_list", rows=fmt(result.exported.rows, "int")))
    elif contact is not None:
        steps.append(report.t("insight.summary.next_export"))
    return steps


def summary(report: Report, result: UserInsight) -> None:
    """The summary block: the verdict (users at risk, value at stake, the model's quality in
    one sentence), six cards and the next steps."""
    model, contact, value = result.model, result.contact, result.value
    months = value.settings.horizon_months
    clv_card = {
        "label": "insight.h.clv_total",
        "value": value.clv_total,
        "format": "money",
        "note": report.t("insight.summary.clv_note", customers=fmt(value.customers, "int"))
        if value.available
        else None,
    }
    if contact is None:
        verdict = report.t("insight.summary.no_model", reason=churn_reason(report, model.reason))
        numbers = [
            {
                "label": "insight.h.users",
                "value": result.stages.users,
                "format": "int",
                "note": report.t(
                    "insight.summary.users_note", as_of=result.stages.as_of.isoformat()
                ),
            },
            clv_card,
        ]
        report.summary(verdict, tone="n/a", numbers=numbers, actions=_steps(report, result))
        return
    share = contact.at_risk_users / contact.scored if contact.scored else None
    fields = {
        "at_risk": count_text(contact.at_risk_users, report.min_cell),
        "share": fmt(share, "pct"),
        "days": model.settings.horizon_days,
    }
    if contact.revenue_at_risk is None:
        verdict = report.t("insight.summary.verdict_no_value", **fields)
    else:
        verdict = report.t(
            "insight.summary.verdict", revenue=fmt(contact.revenue_at_risk, "money"), **fields
        )
    quality, cards = _quality(report, result)
    numbers = [
        {
            "label": "insight.h.at_risk",
            "value": count_text(contact.at_risk_users, report.min_cell),
            "format": "text",
            "status": "amber" if contact.at_risk_users else "green",
            "note": report.t(
                "insight.summary.at_risk_note",
                high=fmt(model.settings.tiers.high, "pct"),
                scored=fmt(contact.scored, "int"),
            ),
        },
        {
            "label": "insight.h.revenue_at_risk",
            "value": contact.revenue_at_risk,
            "format": "money",
            "note": report.t("insight.summary.revenue_note", months=months)
            if contact.revenue_at_risk is not None
            else None,
        },
        *cards,
        clv_card,
    ]
    tone = "amber" if contact.at_risk_users else "green"
    report.summary(
        f"{verdict} {quality}", tone=tone, numbers=numbers, actions=_steps(report, result)
    )
