"""Campaign review: the review's parameters (typed, checked at once; the queries read the holdout
variant and the outcome columns from them, the analysis everything else) and the KPI system's
default targets they fall back on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["events", "outcomes"]
Method = Literal["holdout", "causal_impact", "did"]
Counterfactual = Literal["causal_impact", "did"]

# the operations KPI system (DOMAIN.md); None: no target (shown, not scored)
DEFAULT_TARGETS: dict[str, float | None] = {
    "participants": 10_000,
    "conversion": 0.10,
    "aov_lift": 0.20,
    "k_factor": 1.5,
    "roi": 3.0,
    "roas": None,
    "cac": None,
}
AMBER_BAND = 0.10


@dataclass(frozen=True)
class Settings:
    """The review's parameters; bad values raise at once."""

    conversion_window_days: int = 7
    baseline_days: int = 35
    alpha: float = 0.05
    half_life: float = 7.0
    counterfactual: Counterfactual = "causal_impact"
    anomaly_threshold: float = 4.0
    holdout_variant: str = "holdout"
    outcome_metrics: tuple[str, ...] | None = None
    targets: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (isinstance(self.conversion_window_days, int) and self.conversion_window_days >= 0):
            raise ValueError(
                f"conversion_window_days must be an integer >= 0, got {self.conversion_window_days!r}"
            )
        if not (isinstance(self.baseline_days, int) and self.baseline_days >= 7):
            raise ValueError(f"baseline_days must be an integer >= 7, got {self.baseline_days!r}")
        if not (isinstance(self.alpha, int | float) and 0 < self.alpha < 1):
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if not (isinstance(self.half_life, int | float) and self.half_life > 0):
            raise ValueError(f"half_life must be > 0 (days), got {self.half_life!r}")
        if self.counterfactual not in ("causal_impact", "did"):
            raise ValueError(
                f"counterfactual must be causal_impact or did, got {self.counterfactual!r}"
            )
        if not self.anomaly_threshold > 0:
            raise ValueError(f"anomaly_threshold must be > 0, got {self.anomaly_threshold!r}")
        unknown = sorted(set(self.targets) - set(DEFAULT_TARGETS) - {"amber_band", "campaigns"})
        if unknown:
            raise ValueError(
                f"unknown target(s) {unknown}; known: {sorted(DEFAULT_TARGETS)}, amber_band "
                "and campaigns"
            )
        for campaign, own in self.per_campaign.items():
            wrong = sorted(set(own) - set(DEFAULT_TARGETS)) if isinstance(own, Mapping) else own
            if wrong:
                raise ValueError(
                    f"targets.campaigns.{campaign}: unknown target(s) {wrong}; "
                    f"known: {sorted(DEFAULT_TARGETS)}"
                )

    @property
    def amber_band(self) -> float:
        return float(self.targets.get("amber_band", AMBER_BAND))

    @property
    def per_campaign(self) -> dict[str, Mapping[str, Any]]:
        """The targets set for one campaign (``targets: {campaigns: {103: {conversion: 0.05}}}``),
        by campaign id as text."""
        return {str(k): v for k, v in (self.targets.get("campaigns") or {}).items()}

    def target_defaults(self) -> dict[str, float | None]:
        merged = dict(DEFAULT_TARGETS)
        merged.update({k: v for k, v in self.targets.items() if k in DEFAULT_TARGETS})
        return merged
