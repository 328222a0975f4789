"""The report's words: the definitions in force and what the source lacks."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.retention.analysis import (
    RetentionResult,
    _src,
    usable_breakdown,
)
from opsbook.retention.view.groups import attribute_name


def show_definitions(report: Any, matrix: RetentionResult, **extra: Any) -> None:
    """The definitions in force, so no reader has to guess them (DOMAIN.md)."""
    s = matrix.settings
    tr = report.t
    cohort = (
        tr("retention.def.cohort_signup")
        if s["cohort_event"] is None
        else tr(f"retention.def.cohort_{s['entry']}", event=s["cohort_event"])
    )
    rows = [
        (tr("retention.def.cohort"), cohort),
        (tr("retention.def.period"), tr(f"retention.period.{s['period']}")),
        (tr("retention.def.window"), tr(f"retention.window.{s['window']}", tz=s["timezone"])),
        (tr("retention.def.criterion"), tr(f"retention.criterion.{s['criterion']}")),
        (tr("retention.def.return_event"), _event_text(report, s["activity"])),
        (tr("retention.def.as_of"), f"{pd.Timestamp(s['as_of']):%Y-%m-%d %H:%M} ({s['timezone']})"),
        (tr("retention.def.incomplete"), tr("retention.def.incomplete_text")),
        (tr("retention.def.mean"), tr("retention.def.mean_text")),
    ]
    if s.get("brackets"):
        rows.append((tr("retention.def.brackets"), ", ".join(str(p) for p in matrix.periods)))
    for key, value in extra.items():
        if key == "breakdown":  # a users column: its display name
            value = attribute_name(report, value) if value else "—"
        rows.append((tr(f"retention.def.{key}"), str(value)))
    report.show(pd.DataFrame(rows, columns=[tr("core.field"), tr("core.value")]))


def _event_text(report: Any, event: str) -> str:
    known = {"any", "order", "any order (no events table)"}
    if event in known:
        key = {"any": "any", "order": "order"}.get(event, "any_order")
        return report.t(f"retention.event.{key}")
    return report.t("retention.event.named", event=event)


def notes(report: Any, breakdown: str | None) -> None:
    """Say what the source lacks: an events table (activity from orders), the breakdown column."""
    src = _src(report)
    if not src.has("events"):
        report.say("retention.no_events")
    if breakdown and usable_breakdown(src, breakdown) is None:
        report.say("retention.no_breakdown", column=breakdown)
