"""Campaign review, analysis: did the campaign hit its targets -- a campaign's targets (its
table's target_* columns, else the parameters, else the KPI system's), red/amber/green against
them, and the scorecard of the seven KPIs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from opsbook.campaigns.queries.events import _finite
from opsbook.campaigns.queries.settings import AMBER_BAND, Mode, Settings

# KPI rows of the scorecard, in order; which way is better (the shown format: the view's)
KPIS: tuple[str, ...] = ("participants", "conversion", "aov_lift", "k_factor", "roi", "roas", "cac")
DIRECTION = {"cac": "lower"}
# campaigns-table columns naming a target, and the KPI they set
TARGET_COLUMNS = {
    "target_participants": "participants",
    "target_conversion": "conversion",
    "target_aov_lift": "aov_lift",
    "target_k": "k_factor",
    "target_k_factor": "k_factor",
    "target_roi": "roi",
    "target_roas": "roas",
    "target_cac": "cac",
}


def status_of(
    actual: float | None, target: float | None, direction: str = "higher", band: float = AMBER_BAND
) -> str | None:
    """Red/amber/green of ``actual`` against ``target``: green when met, amber within ``band`` ×
    |target| of it, red beyond; None when either is missing (not scored)."""
    if actual is None or target is None or not np.isfinite(actual) or not np.isfinite(target):
        return None
    margin = band * abs(target)
    if direction == "lower":
        return "green" if actual <= target else "amber" if actual <= target + margin else "red"
    return "green" if actual >= target else "amber" if actual >= target - margin else "red"


def _targets_for(row: Mapping[str, Any], settings: Settings) -> dict[str, float | None]:
    targets = settings.target_defaults()
    for column, kpi in TARGET_COLUMNS.items():
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            targets[kpi] = float(value)
    return targets


def _scorecard(
    numbers: Mapping[str, Any],
    targets: Mapping[str, float | None],
    settings: Settings,
    mode: Mode = "events",
) -> pd.DataFrame:
    actual = {
        "participants": numbers.get("participants"),
        "conversion": numbers.get("conversion_rate"),
        "aov_lift": numbers.get("aov_lift"),
        "k_factor": numbers.get("k_factor"),
        "roi": numbers.get("iroi"),
        "roas": numbers.get("roas"),
        "cac": numbers.get("cac"),
    }
    rows = []
    for kpi in KPIS:
        direction = DIRECTION.get(kpi, "higher")
        target = targets.get(kpi)
        value = _finite(actual[kpi])
        amber = None
        if target is not None:
            margin = settings.amber_band * abs(target)
            amber = target + margin if direction == "lower" else target - margin
        own = mode == "outcomes" and kpi in ("participants", "conversion")
        rows.append(
            {
                "kpi": kpi,
                "definition": f"campaign_review.def.{kpi}" + ("_outcomes" if own else ""),
                "actual": value,
                "target": target,
                "amber": amber,
                "direction": direction,
                "status": status_of(value, target, direction, settings.amber_band),
            }
        )
    return pd.DataFrame(rows)
