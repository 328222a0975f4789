"""Whether the activation lists were written (never where or to whom)."""

from __future__ import annotations

from opsbook.formats import fmt
from opsbook.report import Report
from opsbook.segmentation.analysis.export import Export
from opsbook.segmentation.analysis.segments import Segmentation


def show_export(report: Report, result: Segmentation, exported: Export | None) -> None:
    """Say whether membership was exported (how many rows, pseudonymised or not), never where
    or to whom."""
    if exported is None:
        report.say("segmentation.export.off")
        return
    report.say(
        "segmentation.export.done",
        rows=fmt(exported.rows, "int"),
        files=", ".join(p.suffix.lstrip(".") for p in exported.paths),
        ids=report.t(
            "segmentation.export.pseudonymised"
            if exported.pseudonymised
            else "segmentation.export.plain"
        ),
    )
