"""The answer first: who brings the revenue, who is slipping, and what to do per tier -- built
from the segmentation and migration results the sections below show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsbook.formats import count_text, fmt
from opsbook.report import Report
from opsbook.segmentation.analysis.migration import Migration
from opsbook.segmentation.analysis.segments import TIERS, Segmentation
from opsbook.segmentation.view.groups import _name, tier_actions

HIGH_VALUE_REVENUE = 0.5  # the high-value tier usually brings over half the revenue
PARETO = 0.8  # the 80/20 rule


def summary(
    report: Report,
    result: Segmentation,
    mig: Migration | None = None,
    actions: Mapping[str, Any] | None = None,
) -> None:
    """The summary block: the verdict sentence, six cards (customers, the high-value tier's
    share of customers and of revenue, churned, the top 20 %'s revenue, who fell out of
    high-value) and one next step per tier with its action (``actions``: the notebook's
    overrides, as in :func:`show_tier_rules`), the fallen high-value customers first."""
    if result.customers == 0:
        report.summary(report.t("segmentation.verdict.empty"), tone="n/a")
        return
    tr = report.t
    s = result.settings
    tiers = result.tiers.set_index("tier")
    hv, churned = tiers.loc["high_value"], tiers.loc["churned"]
    fell = mig.fell_out_of_high_value if mig is not None else None
    hv_status = "green" if hv["revenue_share"] >= HIGH_VALUE_REVENUE else "amber"
    fell_status = None if fell is None else "amber" if fell else "green"
    window = (
        tr("segmentation.scope_all", as_of=s.as_of.isoformat())
        if s.lookback_days is None
        else tr("segmentation.scope", days=s.lookback_days, as_of=s.as_of.isoformat())
    )
    numbers = [
        {
            "label": "segmentation.h.customers",
            "value": result.customers,
            "format": "int",
            "note": window,
        },
        {"label": "segmentation.h.high_value_share", "value": hv["share"], "format": "pct"},
        {
            "label": "segmentation.h.high_value_revenue",
            "value": hv["revenue_share"],
            "format": "pct",
            "status": hv_status,
            "note": tr("segmentation.summary.typical_high_value"),
        },
        {
            "label": "segmentation.h.churned",
            "value": churned["share"],
            "format": "pct",
            "note": tr("segmentation.summary.churned_rule", days=s.tier_rules.churn_days),
        },
        {
            "label": "segmentation.h.top20",
            "value": result.top20_revenue_share,
            "format": "pct",
            "note": tr("segmentation.summary.pareto"),
        },
    ]
    if mig is not None:
        numbers.append(
            {
                "label": "segmentation.h.fell_out",
                "value": count_text(fell, report.min_cell),
                "format": "text",
                "status": fell_status,
                "note": tr("segmentation.summary.since", compare_to=mig.compare_to.isoformat()),
            }
        )
    verdict = tr(
        "segmentation.summary.verdict",
        customers=fmt(result.customers, "int"),
        hv_share=fmt(hv["share"], "pct"),
        hv_revenue=fmt(hv["revenue_share"], "pct"),
        churned=fmt(churned["share"], "pct"),
    )
    if fell:
        verdict = tr(
            "segmentation.summary.with_fell_out",
            verdict=verdict,
            n=count_text(fell, report.min_cell),
            compare_to=mig.compare_to.isoformat(),
        )
    else:
        verdict = tr("segmentation.summary.plain", verdict=verdict)
    todo = tier_actions(report, actions)
    steps = (
        [tr("segmentation.summary.next_fell_out", n=count_text(fell, report.min_cell))]
        if fell
        else []
    )
    for tier in TIERS:
        row = tiers.loc[tier]
        if row["customers"] == 0:
            continue
        steps.append(
            tr(
                "segmentation.summary.next_tier",
                tier=_name(report, "tier", tier),
                n=count_text(row["customers"], report.min_cell),
                revenue=fmt(row["revenue_share"], "pct"),
                action=todo[tier],
            )
        )
    statuses = {hv_status, fell_status}
    tone = "amber" if "amber" in statuses else "green"
    report.summary(verdict, tone=tone, numbers=numbers, actions=steps)
