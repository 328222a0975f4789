"""Campaign review, analysis: the typed results -- what the review found for one campaign
(CampaignResult) and the review of one or every campaign (CampaignReview), with their metrics,
headline numbers, comparison table and PDCA summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsbook.campaigns.analysis.channels import _funnel_metrics
from opsbook.campaigns.analysis.pdca import _pdca_items
from opsbook.campaigns.queries.events import _finite
from opsbook.campaigns.queries.settings import Method, Mode, Settings
from opsbook.i18n import t as translate
from opsbook.report import jsonable
from opsbook.stats import CausalImpactResult, DidResult


@dataclass(frozen=True)
class CampaignResult:
    """Everything the review found for one campaign; frames are plain DataFrames."""

    key: str
    name: str
    channel: str | None
    start: pd.Timestamp | None  # local day
    end: pd.Timestamp | None
    spend: float | None
    method: Method
    numbers: dict[str, Any]
    scorecard: pd.DataFrame
    lifts: pd.DataFrame
    funnel: pd.DataFrame
    channels: pd.DataFrame
    quality: pd.DataFrame
    impact: CausalImpactResult | None = None
    impact_revenue: CausalImpactResult | None = None
    did: DidResult | None = None
    did_revenue: DidResult | None = None

    @property
    def targets_met(self) -> int:
        return int((self.scorecard["status"] == "green").sum())

    @property
    def targets_scored(self) -> int:
        return int(self.scorecard["status"].notna().sum())

    def holdout_metrics(self) -> dict[str, Any] | None:
        if self.method != "holdout" or self.lifts.empty:
            return None
        by = self.lifts.set_index("metric")
        n = self.numbers
        first = by.index[0]
        conv = by.loc["conversion"] if "conversion" in by.index else None
        rev = by.loc["revenue"] if "revenue" in by.index else None
        main = conv if conv is not None else by.loc[first]
        return {
            "treatment_users": int(main["treatment_n"]),
            "holdout_users": int(main["holdout_n"]),
            "conversion_treatment": _finite(conv["treatment_mean"]) if conv is not None else None,
            "conversion_holdout": _finite(conv["holdout_mean"]) if conv is not None else None,
            "rel_lift": _finite(main["rel_lift"]),
            "rel_lift_ci": [_finite(main["rel_low"]), _finite(main["rel_high"])],
            "abs_lift": _finite(main["abs_lift"]),
            "abs_lift_ci": [_finite(main["abs_low"]), _finite(main["abs_high"])],
            "p_value": _finite(main["p_value"]),
            "primary_metric": str(main.name),
            "revenue_per_user_treatment": _finite(rev["treatment_mean"])
            if rev is not None
            else None,
            "revenue_per_user_holdout": _finite(rev["holdout_mean"]) if rev is not None else None,
            "incremental_conversions": n.get("incremental_conversions"),
            "incremental_conversions_ci": n.get("incremental_conversions_ci"),
            "incremental_revenue": n.get("incremental_revenue"),
            "incremental_revenue_ci": n.get("incremental_revenue_ci"),
            "iroi": n.get("iroi"),
            "iroi_ci": n.get("iroi_ci"),
            "iroi_net": n.get("iroi_net"),
            "cost_per_incremental_conversion": n.get("cost_per_incremental_conversion"),
            "metrics": {
                str(m): {
                    "treatment_mean": _finite(r["treatment_mean"]),
                    "holdout_mean": _finite(r["holdout_mean"]),
                    "abs_lift": _finite(r["abs_lift"]),
                    "abs_lift_ci": [_finite(r["abs_low"]), _finite(r["abs_high"])],
                    "rel_lift": _finite(r["rel_lift"]),
                    "rel_lift_ci": [_finite(r["rel_low"]), _finite(r["rel_high"])],
                    "p_value": _finite(r["p_value"]),
                    "p_holm": _finite(r["p_holm"]),
                }
                for m, r in by.iterrows()
            },
        }

    def counterfactual_metrics(self) -> dict[str, Any] | None:
        if self.method == "causal_impact" and self.impact is not None:
            out = {"kpi": "orders", **self.impact.metrics()}
            if self.impact_revenue is not None:
                out["revenue"] = self.impact_revenue.metrics()
            return out
        if self.method == "did" and self.did is not None:
            out = {"kpi": "orders_per_user", **self.did.metrics()}
            if self.did_revenue is not None:
                out["revenue"] = self.did_revenue.metrics()
            return out
        return None

    def metrics(self) -> dict[str, Any]:
        n = self.numbers
        return jsonable(
            {
                "campaign_id": self.key,
                "name": self.name,
                "method": self.method,
                "start": self.start,
                "end": self.end,
                "participants": n.get("participants"),
                "conversion_rate": n.get("conversion_rate"),
                "k_factor": n.get("k_factor"),
                "spend": self.spend,
                "targets_met": self.targets_met,
                "targets_scored": self.targets_scored,
                "aov_lift": n.get("aov_lift"),
                "roas": n.get("roas"),
                "roi": n.get("iroi"),
                "cac": n.get("cac"),
                "new_users": n.get("new_users"),
                "incremental_conversions": n.get("incremental_conversions"),
                "incremental_revenue": n.get("incremental_revenue"),
                "incremental_revenue_ci": n.get("incremental_revenue_ci"),
                "iroi": n.get("iroi"),
                "iroi_ci": n.get("iroi_ci"),
                "holdout": self.holdout_metrics(),
                "counterfactual": self.counterfactual_metrics(),
                "scorecard": {
                    r.kpi: {
                        "actual": r.actual,
                        "target": r.target,
                        "status": r.status,
                        "default_target": bool(r.default),
                    }
                    for r in self.scorecard.itertuples()
                },
                "funnel": _funnel_metrics(self.funnel),
            }
        )


@dataclass(frozen=True)
class CampaignReview:
    """The review of one campaign, or of every campaign (``campaign_id == "all"``)."""

    campaign_id: str
    mode: Mode
    settings: Settings
    catalogue: pd.DataFrame
    results: tuple[CampaignResult, ...]
    attribution: pd.DataFrame
    paths: pd.DataFrame
    daily: pd.DataFrame
    period: tuple[pd.Timestamp, pd.Timestamp] | None
    timezone: str
    lang: str

    @property
    def single(self) -> CampaignResult | None:
        return self.results[0] if self.campaign_id != "all" else None

    @property
    def anomalies(self) -> pd.DataFrame:
        if self.daily.empty:
            return self.daily
        return self.daily[self.daily["anomaly"]].reset_index(drop=True)

    def comparison(self) -> pd.DataFrame:
        """One row per campaign: spend, method, participants, K, incremental revenue, iROI with
        interval, targets met."""
        rows = []
        for r in self.results:
            n = r.numbers
            lo, hi = n.get("iroi_ci") or [None, None]
            rows.append(
                {
                    "campaign_id": r.key,
                    "name": r.name,
                    "start": r.start,
                    "end": r.end,
                    "method": r.method,
                    "spend": r.spend,
                    "participants": n.get("participants"),
                    "conversion_rate": n.get("conversion_rate"),
                    "k_factor": n.get("k_factor"),
                    "incremental_revenue": n.get("incremental_revenue"),
                    "iroi": n.get("iroi"),
                    "iroi_low": lo,
                    "iroi_high": hi,
                    "targets_met": r.targets_met,
                    "targets_scored": r.targets_scored,
                }
            )
        return pd.DataFrame(rows)

    def pdca(self, lang: str | None = None) -> list[tuple[str, str]]:
        """The PDCA summary as (stage, sentence) pairs in ``lang``."""
        return [(stage, sentence) for stage, _, sentence in self.pdca_items(lang)]

    def pdca_items(self, lang: str | None = None) -> list[tuple[str, str, str]]:
        """The PDCA summary as (stage, i18n key, sentence) in ``lang``: the key tells a view
        which finding a sentence states (the increment's verdict: ``*lift_*``, ``*cf_*``)."""
        lang = lang or self.lang
        return [
            (stage, key, translate(key, lang, **fields))
            for stage, key, fields in _pdca_items(self, lang)
        ]

    def metrics(self) -> dict[str, Any]:
        anomalies = [
            {
                "date": r.date.date().isoformat(),
                "orders": r.orders,
                "flag": r.flag or r.revenue_flag,
            }
            for r in self.anomalies.itertuples()
        ]
        attribution_metrics = None
        if not self.attribution.empty:
            models = [c for c in ("first_touch", "last_touch", "linear", "position_based",
                                  "time_decay", "markov") if c in self.attribution.columns]  # fmt: skip
            attribution_metrics = {
                r["channel"]: {m: _finite(r[m]) for m in models}
                for _, r in self.attribution.iterrows()
            }
        common = {
            "mode": self.mode,
            "settings": {
                "conversion_window_days": self.settings.conversion_window_days,
                "baseline_days": self.settings.baseline_days,
                "alpha": self.settings.alpha,
                "half_life_days": self.settings.half_life,
                "counterfactual": self.settings.counterfactual,
            },
            "anomalies": anomalies,
            "attribution": attribution_metrics,
            "pdca": {lang: [s for _, s in self.pdca(lang)] for lang in ("zh", "en")},
        }
        if self.single is not None:
            r = self.single
            scope = {
                "key": "campaign_review.scope",
                "fields": {
                    "name": r.name if str(r.name) == str(r.key) else f"{r.name} ({r.key})",
                    "start": str(r.start)[:10],
                    "end": str(r.end)[:10],
                },
            }
            return jsonable({"scope": scope, **r.metrics(), **common})
        comparison = self.comparison()
        participants = [r.numbers.get("participants") for r in self.results]
        spends = [r.spend for r in self.results if r.spend is not None]
        converted = [r.numbers.get("converted") for r in self.results]
        known = [
            (p, c) for p, c in zip(participants, converted, strict=True) if p and c is not None
        ]
        return jsonable(
            {
                "scope": {"key": "campaign_review.scope_all", "fields": {"n": len(self.results)}},
                "campaign_id": "all",
                "method": None,
                "participants": sum(p for p in participants if p) if any(participants) else None,
                "conversion_rate": (
                    sum(c for _, c in known) / sum(p for p, _ in known) if known else None
                ),
                "k_factor": None,
                "spend": sum(spends) if spends else None,
                "targets_met": int(comparison["targets_met"].sum()),
                "targets_scored": int(comparison["targets_scored"].sum()),
                "holdout": None,
                "campaigns": [r.metrics() for r in self.results],
                **common,
            }
        )

    def headline(self) -> list[dict[str, Any]]:
        if self.single is None:
            comparison = self.comparison()
            by = "iroi" if comparison["iroi"].notna().any() else "incremental_revenue"
            best = comparison.dropna(subset=[by]).sort_values(by)
            return [
                {
                    "label": "campaign_review.h.campaigns",
                    "value": len(self.results),
                    "format": "int",
                },
                {
                    "label": "campaign_review.h.spend",
                    "value": comparison["spend"].sum(min_count=1),
                    "format": "money",
                },
                {
                    "label": "campaign_review.h.incremental_revenue",
                    "value": comparison["incremental_revenue"].sum(min_count=1),
                    "format": "money",
                },
                {
                    "label": f"campaign_review.h.best_{by}",
                    "value": best["name"].iloc[-1] if not best.empty else None,
                    "format": "text",
                },
                {
                    "label": "campaign_review.h.targets_met",
                    "value": f"{int(comparison['targets_met'].sum())} / "
                    f"{int(comparison['targets_scored'].sum())}",
                    "format": "text",
                },
            ]
        r = self.single
        card = r.scorecard.set_index("kpi")
        lift = r.holdout_metrics()
        return [
            {
                "label": "campaign_review.h.participants",
                "value": r.numbers.get("participants"),
                "format": "int",
                "status": card.loc["participants", "status"],
            },
            {
                "label": "campaign_review.h.rel_lift" if lift else "campaign_review.h.rel_effect",
                "value": lift["rel_lift"]
                if lift
                else _finite(r.impact.relative_effect if r.impact is not None else None),
                "format": "signed_pct",
                "status": None,
            },
            {
                "label": "campaign_review.h.iroi",
                "value": r.numbers.get("iroi"),
                "format": "float",
                "status": card.loc["roi", "status"],
            },
            {
                "label": "campaign_review.h.targets_met",
                "value": f"{r.targets_met} / {r.targets_scored}",
                "format": "text",
                "status": "green"
                if r.targets_scored and r.targets_met == r.targets_scored
                else "amber"
                if r.targets_met
                else "red",
            },
        ]
