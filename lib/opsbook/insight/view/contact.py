"""Whom to contact first: the risk x value matrix with users and the predicted value at stake
(cells under ``min_cell`` users suppressed), and whether the activation lists were written
(never where, never who)."""

from __future__ import annotations

import pandas as pd

from opsbook.formats import count_text, fmt
from opsbook.insight.analysis.contact import RISK_TIERS
from opsbook.insight.analysis.user_insight import UserInsight
from opsbook.insight.analysis.value import VALUE_TIERS
from opsbook.insight.view.names import risk_name, value_name
from opsbook.report import Report

FORMATS = {".parquet": "Parquet", ".csv": "CSV"}  # file formats by their names


def risk_value_table(report: Report, result: UserInsight, column: str) -> pd.DataFrame:
    """Risk tiers (rows) x value tiers (columns) of ``users`` or ``clv`` as page text; a cell of
    fewer than ``min_cell`` users shows "<min_cell" (users) or a dash (value)."""
    assert result.contact is not None
    users = result.contact.table("users")
    numbers = result.contact.table(column)
    kept = [v for v in VALUE_TIERS if result.value.available or v == "none"]
    small = (users > 0) & (users < report.min_cell)

    def cell(risk: str, worth: str) -> str:
        n = users.loc[risk, worth]
        if column == "users":
            return count_text(n, report.min_cell)
        if small.loc[risk, worth] or worth == "none":  # no purchase: no predicted value
            return "—"
        return fmt(numbers.loc[risk, worth], "money")

    frame = pd.DataFrame({value_name(report, v): [cell(r, v) for r in RISK_TIERS] for v in kept})
    frame.insert(0, report.t("insight.col.risk"), [risk_name(report, r) for r in RISK_TIERS])
    return frame


def show_risk_value(report: Report, result: UserInsight) -> None:
    """The matrix twice: users, then predicted value (without a value model: users only)."""
    contact, model = result.contact, result.model
    if contact is None:
        report.say("insight.contact.none")
        return
    tiers = model.settings.tiers
    report.say(
        "insight.contact.intro",
        scored=fmt(contact.scored, "int"),
        high=fmt(tiers.high, "pct"),
        medium=fmt(tiers.medium, "pct"),
        min_cell=report.min_cell,
    )
    report.heading("insight.contact.users", level=4)
    report.show(risk_value_table(report, result, "users"))
    if contact.clv_available:
        report.heading("insight.contact.revenue", level=4)
        report.show(risk_value_table(report, result, "clv"))


def show_export(report: Report, result: UserInsight) -> None:
    """Whether the lists were written (how many, pseudonymised or not)."""
    exported = result.exported
    if exported is None:
        report.say("insight.export.off" if result.model.available else "insight.export.no_model")
        return
    report.say(
        "insight.export.done",
        lists=fmt(len(exported.paths) // 2, "int"),
        files=", ".join(sorted({FORMATS[p.suffix] for p in exported.paths})),
        rows=fmt(exported.rows, "int"),
        ids=report.t(
            "insight.export.pseudonymised" if exported.pseudonymised else "insight.export.plain"
        ),
    )
