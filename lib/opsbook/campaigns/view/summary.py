"""Campaign review, view: the answer first -- the campaign's verdict on its increment in one
sentence, the key numbers as cards (against their targets), the PDCA's next steps (Act), and the
rest of the PDCA (plan, do, check) folded beneath, all from the review the sections below show."""

from __future__ import annotations

import html
from typing import Any

from IPython.display import HTML, display

from opsbook.campaigns.analysis.results import CampaignReview
from opsbook.campaigns.view.overview import KPI_FORMAT, _label
from opsbook.formats import fmt, interval_text
from opsbook.report import Report
from opsbook.targets import marked

# the PDCA findings that state the verdict on the increment (one campaign) or across campaigns
VERDICT_KEYS = ("lift_significant", "lift_unclear", "cf_significant", "cf_unclear", "cf_none")
ALL_VERDICT_KEYS = ("all_targets", "all_best_iroi", "all_best_incremental_revenue")


def summary(report: Report, rv: CampaignReview) -> None:
    """The summary block, then the PDCA's plan, do and check folded under it."""
    items = rv.pdca_items(report.lang)
    verdict_keys = VERDICT_KEYS if rv.single is not None else ALL_VERDICT_KEYS
    chosen = [i for i, (_, key, _) in enumerate(items) if key.rsplit(".", 1)[-1] in verdict_keys]
    verdict = " ".join(items[i][2] for i in chosen)
    if rv.single is not None:
        verdict = f"{_label(rv.single.name, rv.single.key)} — {verdict}"
    report.summary(
        verdict,
        tone=_tone(rv),
        numbers=_numbers(report, rv),
        actions=[sentence for stage, _, sentence in items if stage == "act"],
    )
    rest = [
        (stage, s) for i, (stage, _, s) in enumerate(items) if stage != "act" and i not in chosen
    ]
    parts = []
    for stage in ("plan", "do", "check"):
        sentences = [s for st, s in rest if st == stage]
        if sentences:
            parts.append(
                f"<h4>{html.escape(report.t(f'campaign_review.pdca.stage.{stage}'))}</h4><ul>"
                + "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
                + "</ul>"
            )
    if parts:
        label = html.escape(report.t("campaign_review.pdca.details"))
        display(
            HTML(
                f'<details class="ob-more"><summary>{label}</summary>'
                f"<div class='ob-callout'>{''.join(parts)}</div></details>"
            )
        )


def _tone(rv: CampaignReview) -> str | None:
    """The verdict's colour: one campaign by its ROI against target (else its targets met);
    several campaigns by their targets met."""
    status = {entry["label"]: entry.get("status") for entry in rv.headline()}
    return status.get("campaign_review.h.iroi") or status.get("campaign_review.h.targets_met")


def _numbers(report: Report, rv: CampaignReview) -> list[dict[str, Any]]:
    """The run index's headline with notes: each card's target and interval."""
    numbers = [dict(entry) for entry in rv.headline()]
    r = rv.single
    if r is None:
        return numbers
    card = r.scorecard.set_index("kpi")
    lift = r.holdout_metrics()
    for entry in numbers:
        label = entry["label"]
        if label == "campaign_review.h.participants":
            entry["note"] = _target_note(report, card, "participants")
        elif label == "campaign_review.h.rel_lift" and lift:
            low, high = lift.get("rel_lift_ci") or (None, None)
            entry["note"] = report.t("campaign_review.note.interval", ci=interval_text(low, high))
        elif label == "campaign_review.h.iroi":
            low, high = r.numbers.get("iroi_ci") or (None, None)
            ci = interval_text(low, high, "dec2")
            target = _target_text(card, "roi", report.lang)
            entry["note"] = (
                report.t("campaign_review.note.target_interval", target=target, ci=ci)
                if target is not None
                else report.t("campaign_review.note.interval", ci=ci)
            )
            entry["format"] = "dec2"
    return numbers


def _target_text(card: Any, kpi: str, lang: str) -> str | None:
    """The scorecard's target of ``kpi`` as text, marked "(default)" when nobody set it; None
    when it has no target."""
    target = card.loc[kpi, "target"]
    if target is None or target != target:  # NaN: no target
        return None
    return marked(fmt(target, KPI_FORMAT[kpi]), card.loc[kpi, "default"], lang)


def _target_note(report: Report, card: Any, kpi: str) -> str | None:
    target = _target_text(card, kpi, report.lang)
    return None if target is None else report.t("campaign_review.note.target", target=target)
