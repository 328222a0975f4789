"""Campaign review, analysis: the PDCA summary (plan, do, check, act) generated from the numbers,
as i18n keys and the fields of their sentences (numbers as text by :mod:`opsbook.formats`: the
sentences are part of the metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from opsbook.campaigns.analysis.channels import biggest_drop, channel_name
from opsbook.campaigns.analysis.incrementality import PROPORTIONS
from opsbook.formats import finite, fmt, p_text
from opsbook.i18n import t as translate

if TYPE_CHECKING:
    from opsbook.campaigns.analysis.results import CampaignReview


def _pdca_items(rv: CampaignReview, lang: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(stage, i18n key, fields) of the PDCA summary in ``lang``, generated from the numbers."""
    items: list[tuple[str, str, dict[str, Any]]] = []
    k = "campaign_review.pdca."
    sep = "、" if lang == "zh" else ", "
    if rv.single is None:
        table = rv.comparison()
        spend = table["spend"].sum(min_count=1)
        if pd.notna(spend):
            items.append(("plan", k + "all_plan", {"n": len(table), "spend": fmt(spend, "money")}))
        else:
            items.append(("plan", k + "all_plan_nospend", {"n": len(table)}))
        for r in rv.results:
            lift = r.holdout_metrics()
            if lift is not None:
                metric = translate(f"campaign_review.metric.{lift['primary_metric']}", lang)
                m = lift["primary_metric"]
                items.append(("check", k + "all_lift", {
                    "name": r.name, "metric": metric, "abs": _abs(m, lift["abs_lift"]),
                    "low": _abs(m, lift["abs_lift_ci"][0]), "high": _abs(m, lift["abs_lift_ci"][1]),
                    "lift": fmt(lift["rel_lift"], "signed_pct"), "p": p_text(lift["p_value"]),
                }))  # fmt: skip
            elif r.numbers.get("incremental_orders") is not None:
                low, high = r.numbers.get("incremental_orders_ci") or [None, None]
                items.append(("check", k + "all_cf", {
                    "name": r.name, "method": translate(f"campaign_review.method.{r.method}", lang),
                    "effect": fmt(r.numbers["incremental_orders"], "dec1"), "low": fmt(low, "dec1"),
                    "high": fmt(high, "dec1"),
                }))  # fmt: skip
        by = "iroi" if table["iroi"].notna().any() else "incremental_revenue"
        ranked = table.dropna(subset=[by]).sort_values(by)
        show = (lambda v: f"{v:.2f}") if by == "iroi" else (lambda v: fmt(v, "money"))
        if not ranked.empty:
            best, worst = ranked.iloc[-1], ranked.iloc[0]
            items.append(
                ("check", k + f"all_best_{by}", {"name": best["name"], "value": show(best[by])})
            )
            if len(ranked) > 1:
                items.append(
                    (
                        "check",
                        k + f"all_worst_{by}",
                        {"name": worst["name"], "value": show(worst[by])},
                    )
                )
            items.append(("act", k + "all_act_best", {"name": best["name"]}))
        met = int(table["targets_met"].sum())
        scored = int(table["targets_scored"].sum())
        items.append(("check", k + "all_targets", {"met": met, "scored": scored}))
        below = table[(table["iroi"] < 1)]["name"].tolist()
        if below:
            items.append(("act", k + "act_cut", {"names": sep.join(map(str, below))}))
        without = [r.name for r in rv.results if r.method != "holdout"]
        if without:
            items.append(("act", k + "act_holdout", {"names": sep.join(without)}))
        if spend is None or pd.isna(spend):
            items.append(("act", k + "act_record_spend", {}))
        return items

    r = rv.single
    n = r.numbers
    items.append(
        (
            "plan",
            k + "plan",
            {
                "name": r.name,
                "start": r.start.date().isoformat() if r.start is not None else "—",
                "end": r.end.date().isoformat() if r.end is not None else "—",
                "spend": fmt(r.spend, "money"),
            },
        )
    )
    items.append(
        (
            "do",
            k + "do",
            {
                "participants": fmt(n.get("participants"), "int"),
                "conversion": fmt(n.get("conversion_rate"), "pct"),
            },
        )
    )
    card = r.scorecard[r.scorecard["status"].notna()]
    hit = [translate(f"campaign_review.kpi.{x}", lang) for x in card[card.status == "green"].kpi]
    missed = [translate(f"campaign_review.kpi.{x}", lang) for x in card[card.status != "green"].kpi]
    if hit:
        items.append(("check", k + "hit", {"kpis": sep.join(hit)}))
    if missed:
        items.append(("check", k + "missed", {"kpis": sep.join(missed)}))
    lift = r.holdout_metrics()
    if lift is not None:
        # the lift table's Holm family: the interval below is at the Holm level, so the verdict
        # follows the Holm-adjusted p-value
        p_holm = lift["metrics"][lift["primary_metric"]]["p_holm"]
        significant = p_holm is not None and p_holm < rv.settings.alpha
        items.append(
            (
                "check",
                k + ("lift_significant" if significant else "lift_unclear"),
                {
                    "metric": translate(f"campaign_review.metric.{lift['primary_metric']}", lang),
                    "abs": _abs(lift["primary_metric"], lift["abs_lift"]),
                    "low": _abs(lift["primary_metric"], lift["abs_lift_ci"][0]),
                    "high": _abs(lift["primary_metric"], lift["abs_lift_ci"][1]),
                    "lift": fmt(lift["rel_lift"], "signed_pct"),
                    "p": p_text(p_holm),
                },
            )
        )
    elif r.method != "holdout" and n.get("incremental_orders") is None:
        items.append(("check", k + "cf_none", {}))
    elif r.impact is not None or r.did is not None:
        res = r.impact if r.impact is not None else r.did
        items.append(
            (
                "check",
                k + ("cf_significant" if res.significant else "cf_unclear"),
                {
                    "method": translate(f"campaign_review.method.{r.method}", lang),
                    "effect": fmt(n.get("incremental_orders"), "dec1"),
                    "low": fmt((n.get("incremental_orders_ci") or [None])[0], "dec1"),
                    "high": fmt((n.get("incremental_orders_ci") or [None, None])[1], "dec1"),
                },
            )
        )
    if n.get("incremental_revenue") is not None:
        items.append(
            (
                "check",
                k + "revenue",
                {
                    "revenue": fmt(n.get("incremental_revenue"), "money"),
                    "iroi": fmt(n.get("iroi"), "dec2"),
                    "low": fmt((n.get("iroi_ci") or [None])[0], "dec2"),
                    "high": fmt((n.get("iroi_ci") or [None, None])[1], "dec2"),
                },
            )
        )
    drop = biggest_drop(r.funnel)
    if drop is not None:
        items.append(
            (
                "check",
                k + "drop",
                {
                    "from": translate(f"campaign_review.step.{drop[0]}", lang),
                    "to": translate(f"campaign_review.step.{drop[1]}", lang),
                    "share": fmt(drop[2], "pct"),
                },
            )
        )
    ranked = r.channels.dropna(subset=["value"]) if not r.channels.empty else r.channels
    if not ranked.empty and len(ranked) > 1:
        measure = ranked["measure"].iloc[0]
        fmt_value = (lambda v: f"{v:.2f}") if measure == "iroi" else (lambda v: fmt(v, "pct"))
        items.append(
            (
                "check",
                k + f"channels_{measure}",
                {
                    "best": channel_name(ranked["channel"].iloc[0], lang),
                    "best_value": fmt_value(ranked["value"].iloc[0]),
                    "worst": channel_name(ranked["channel"].iloc[-1], lang),
                    "worst_value": fmt_value(ranked["value"].iloc[-1]),
                },
            )
        )
        if measure == "iroi" and ranked["low"].iloc[0] <= ranked["high"].iloc[-1]:
            items.append(("check", k + "channels_overlap", {}))
    # Act: rules from the numbers
    status = r.scorecard.set_index("kpi")["status"]
    if status.get("participants") in ("red", "amber"):
        items.append(("act", k + "act_reach", {}))
    if drop is not None:
        items.append(("act", k + f"act_step_{drop[1]}", {}))
    iroi = n.get("iroi")
    if iroi is not None and iroi < 1:
        items.append(("act", k + "act_loss", {}))
    elif status.get("roi") in ("red", "amber"):
        items.append(("act", k + "act_roi", {}))
    if lift is not None and not (
        lift["p_value"] is not None and lift["p_value"] < rv.settings.alpha
    ):
        items.append(("act", k + "act_power", {}))
    if status.get("k_factor") in ("red", "amber"):
        items.append(("act", k + "act_referral", {}))
    if not ranked.empty and len(ranked) > 1:
        overlap = ranked["measure"].iloc[0] != "iroi" or (
            ranked["low"].iloc[0] <= ranked["high"].iloc[-1]
        )
        items.append(
            ("act", k + ("act_channel_test" if overlap else "act_budget"),
             {"best": channel_name(ranked["channel"].iloc[0], lang)})
        )  # fmt: skip
    if r.method != "holdout":
        items.append(("act", k + "act_keep_holdout", {}))
    return items


def _abs(metric: str, v: Any) -> str:
    """An absolute lift as text: percentage points for proportions, else a number."""
    v = finite(v)
    if v is None:
        return "—"
    return f"{v * 100:+.2f} pp" if metric in PROPORTIONS else f"{v:+,.2f}"
