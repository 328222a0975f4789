"""A/B test, view: the answer first -- the decision in one sentence, the key numbers as cards and
what to do next (keep running and for how long, stop, ship, fix the assignment), built from the
evaluated result the sections below show in detail."""

from __future__ import annotations

from typing import Any

from opsbook.experiments.analysis import ABTestResult
from opsbook.experiments.view.names import metric_name
from opsbook.experiments.view.results import decision_row
from opsbook.formats import finite, fmt, interval_text, p_text
from opsbook.report import Report

TONE = {"ship": "green", "dont_ship": "red", "inconclusive": "amber", "invalid": "red"}
VERDICT_STATUS = {"better": "green", "worse": "red"}


def summary(report: Report, ab: ABTestResult) -> None:
    """The summary block: decision, key numbers (the index's headline with notes) and next steps."""
    d = ab.decision
    row = decision_row(ab)
    fields = _fields(report, ab, row)
    verdict = (
        report.t(f"ab_test.decision.{d.decision}")
        + " — "
        + report.t(f"ab_test.reason.{d.reason}", guardrails=", ".join(d.blocking), **fields)
    )
    report.summary(
        verdict,
        tone=TONE[d.decision],
        numbers=_numbers(report, ab, row),
        actions=next_steps(report, ab, fields),
    )


def _fields(report: Report, ab: ABTestResult, row: Any) -> dict[str, Any]:
    """The fields of the decision's sentences."""
    fields: dict[str, Any] = {
        "variant": ab.decision.variant or "—",
        "control": ab.experiment.control,
        "metric": metric_name(report, ab.experiment.primary.name),
        "srm_p": p_text(ab.srm.p_value, 4),
        "lift": "—",
    }
    if row is not None:
        fields |= {
            "lift": fmt(row["rel_lift"], "signed_pct"),
            "ci": interval_text(row["rel_ci_low"], row["rel_ci_high"]),
            "p": p_text(row["p_adjusted"], 4),
            "chance": fmt(row["chance_to_win"], "pct"),
        }
    return fields


def _numbers(report: Report, ab: ABTestResult, row: Any) -> list[dict[str, Any]]:
    """The run index's headline figures (the decision is the verdict) with a note each, and the
    expected loss of shipping when there is one."""
    tr, exp = report.t, ab.experiment
    notes: dict[str, str | None] = {
        "ab_test.h.users": tr("ab_test.note.users", variants=len(exp.variants), days=exp.days_run)
        if exp.days_run
        else tr("ab_test.note.users_no_days", variants=len(exp.variants)),
        "ab_test.h.srm_p": tr(f"ab_test.note.srm_{ab.srm.status}"),
    }
    if row is not None:
        notes["ab_test.h.primary_lift"] = tr(
            "ab_test.note.lift",
            metric=metric_name(report, exp.primary.name),
            ci=interval_text(row["rel_ci_low"], row["rel_ci_high"]),
        )
        notes["ab_test.h.chance_to_win"] = tr(
            "ab_test.note.p_adjusted", p=p_text(row["p_adjusted"], 4)
        )
    numbers = []
    for entry in ab.headline(report.lang)[1:]:
        shown = dict(entry, note=notes.get(entry["label"]))
        if entry["label"] == "ab_test.h.srm_p":
            shown |= {"value": p_text(ab.srm.p_value, 4), "format": "text"}
        if entry["label"] == "ab_test.h.primary_lift" and row is not None:
            shown["status"] = VERDICT_STATUS.get(row["verdict"])
        numbers.append(shown)
    loss = finite(row["expected_loss"]) if row is not None and bool(row["valid"]) else None
    keep = finite(row.get("expected_loss_control")) if row is not None else None
    if loss is not None and keep is not None and ab.decision.decision != "invalid":
        numbers.append(
            {
                "label": "ab_test.h.expected_loss",
                "value": loss,
                "format": "pct2",
                "note": tr("ab_test.note.expected_loss", keep=fmt(keep, "pct2")),
            }
        )
    return numbers


def next_steps(report: Report, ab: ABTestResult, fields: dict[str, Any]) -> list[str]:
    """What to do now: per decision, and for an inconclusive test the days (or users) to detect
    the observed lift when they fit the horizon, otherwise that the effect is out of reach, the
    effect detectable by the horizon, and to stop."""
    tr, d = report.t, ab.decision
    steps = []
    if d.decision == "inconclusive" and d.reason == "not_significant":
        steps.append(_more_time(report, ab, fields))
    elif d.decision in ("ship", "dont_ship", "invalid"):
        steps.append(tr(f"ab_test.next.{d.decision}", **fields))
    else:
        steps.append(tr("ab_test.next.degenerate", **fields))
    if ab.srm.status == "warn":
        steps.append(tr("ab_test.reason.srm_warn", p=p_text(ab.srm.p_value, 4)))
    return [s for s in steps if s]


def _more_time(report: Report, ab: ABTestResult, fields: dict[str, Any]) -> str:
    tr = report.t
    d, reach = ab.decision, ab.decision.reach
    if reach is None or not reach.out_of_reach:
        if d.days_needed is not None:
            return tr(
                "ab_test.reason.days", days=f"{d.days_needed:,}", users=f"{d.users_needed or 0:,}"
            )
        if d.users_needed is not None:
            return tr("ab_test.reason.users", users=f"{d.users_needed:,}")
        return ""
    if ab.experiment.primary.kind == "proportion":
        absolute = f"±{fmt(reach.mde_abs * 100, 'dec2')} pp"
    else:
        absolute = f"±{fmt(reach.mde_abs, 'float')}"
    mde = f"±{fmt(reach.mde_rel, 'pct')}" if reach.mde_rel is not None else absolute
    common = fields | {"mde": mde, "mde_abs": absolute, "power": f"{ab.settings.power:.0%}"}
    if reach.horizon_days is None:
        return tr("ab_test.reason.out_of_reach_users", users=f"{reach.more_users:,}", **common)
    if reach.more_days:
        return tr(
            "ab_test.reason.out_of_reach",
            horizon=reach.horizon_days,
            extra=reach.more_days,
            **common,
        )
    return tr("ab_test.reason.out_of_reach_now", days=reach.horizon_days, **common)
