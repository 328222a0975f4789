"""The segmentation report's verdict."""

from __future__ import annotations

from opsbook.formats import count_text, fmt
from opsbook.report import Report
from opsbook.segmentation.analysis.migration import Migration
from opsbook.segmentation.analysis.segments import Segmentation


def conclusion(report: Report, result: Segmentation, mig: Migration | None = None) -> None:
    if result.customers == 0:
        report.say("segmentation.verdict.empty")
        return
    tiers = result.tiers.set_index("tier")
    hv, churned = tiers.loc["high_value"], tiers.loc["churned"]
    report.say(
        "segmentation.verdict.main",
        customers=fmt(result.customers, "int"),
        hv_share=fmt(hv["share"], "pct"),
        hv_revenue=fmt(hv["revenue_share"], "pct"),
        churned=fmt(churned["share"], "pct"),
        top20=fmt(result.top20_revenue_share, "pct"),
    )
    if mig is not None and mig.fell_out_of_high_value:
        report.say(
            "segmentation.verdict.fell_out",
            n=count_text(mig.fell_out_of_high_value, report.min_cell),
            compare_to=mig.compare_to.isoformat(),
        )
