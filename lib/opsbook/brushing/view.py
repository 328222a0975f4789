"""Order brushing, view step: the rules with their settings and what each flagged (counts,
users, amount, shares -- never an id), the rules that did not run and why, and where the list
of flagged orders was written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from opsbook.brushing.analysis import RULES, Brushing, LeftOut, with_flagged
from opsbook.exports import Export
from opsbook.formats import fmt
from opsbook.report import Report


def rule_text(report: Report, rule: str, result: Brushing) -> str:
    """What ``rule`` flags, with its settings, in the page's language."""
    r = result.rules
    fields = {
        "burst": {"orders": r.burst_orders, "minutes": r.burst_minutes},
        "no_browsing": {"minutes": r.no_browsing_minutes},
        "new_account": {"minutes": r.new_account_minutes},
        "repeated_amount": {"orders": r.repeated_orders, "hours": r.repeated_hours},
        "refund_outlier": {"refunds": r.refund_min_refunds, "alpha": f"{r.refund_alpha:g}"},
    }[rule]
    return report.t(f"brushing.rule.{rule}", **fields)


def show(report: Report, result: Brushing) -> None:
    """One sentence on what was flagged, then a row per rule (a rule that did not run says why)."""
    tr = report.t
    every = result.all
    if every["orders"]:
        report.note(
            tr(
                "brushing.found",
                orders=fmt(every["orders"], "int"),
                users=fmt(every["users"], "int"),
                amount=fmt(every["amount"], "money"),
                share_orders=fmt(every["share_orders"], "pct"),
                share_amount=fmt(every["share_amount"], "pct"),
            )
        )
    else:
        report.say("brushing.none")
    rows = []
    for rule in [*RULES, "all"]:
        counts = every if rule == "all" else result.per_rule[rule]
        skipped = result.skipped.get(rule)
        rows.append(
            {
                "rule": tr("brushing.all") if rule == "all" else rule_text(report, rule, result),
                "orders": tr(skipped) if skipped else counts["orders"],
                "users": None if skipped else counts["users"],
                "amount": None if skipped else counts["amount"],
                "share_orders": None if skipped else counts["share_orders"],
                "share_amount": None if skipped else counts["share_amount"],
            }
        )
    columns = {k: tr(f"brushing.col.{k}") for k in rows[0]}
    frame = pd.DataFrame(rows)[list(columns)].rename(columns=columns)
    report.show(
        frame,
        formats={
            columns["users"]: "int",
            columns["amount"]: "money",
            columns["share_orders"]: "pct",
            columns["share_amount"]: "pct",
        },
    )


def show_export(report: Report, export: Export | None) -> None:
    """Where the list of flagged orders went (file names only), or how to get it."""
    if export is None:
        report.say("brushing.not_exported")
        return
    report.say(
        "brushing.exported",
        rows=fmt(export.rows, "int"),
        files=", ".join(p.name for p in export.paths),
        pseudonymised=report.t("brushing.pseudonymised") if export.pseudonymised else "",
    )


def show_sensitivity(
    report: Report,
    left_out: LeftOut | None,
    headline: list[dict[str, Any]],
    compute: Callable[[Report], list[dict[str, Any]]],
) -> None:
    """The with / without line of a report that left the flagged orders out: how many orders
    (and how much of GMV) it left out, and each headline number with them and without them.
    ``headline``: the page's numbers (without); ``compute(report)``: the same numbers computed
    again on the source with every order. Nothing when no order was left out."""
    if left_out is None:
        return
    every = left_out.brushing.all
    report.say(
        "brushing.left_out",
        orders=fmt(every["orders"], "int"),
        share_orders=fmt(every["share_orders"], "pct"),
        amount=fmt(every["amount"], "money"),
    )
    if not every["orders"]:
        return
    before = {h["label"]: h for h in compute(with_flagged(report, left_out))}
    rows = []
    for h in headline:
        old = before.get(h["label"])
        if old is None or h.get("format") == "text":
            continue
        rows.append(
            {
                "metric": report.t(h["label"]),
                "with": fmt(old["value"], old.get("format", "auto")),
                "without": fmt(h["value"], h.get("format", "auto")),
            }
        )
    columns = {k: report.t(f"brushing.col.{k}") for k in ("metric", "with", "without")}
    report.show(pd.DataFrame(rows, columns=list(columns)).rename(columns=columns))
