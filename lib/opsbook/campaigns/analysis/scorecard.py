"""Campaign review, analysis: did the campaign hit its targets -- a campaign's targets (its
table's target_* columns, else the parameters, else the KPI system's), red/amber/green against
them, and the scorecard of the seven KPIs.

A KPI that is counted (participants, conversion among participants, ROAS, CAC) is judged on its
value: green, amber within the band, red. A KPI that is estimated against a holdout or a
counterfactual (the incremental ROI) is judged on its interval: met (green) when the whole
interval meets the target, missed (red) when the whole interval misses it, and not proven when
the interval straddles the target, so no card says "met" where the evidence does not."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from opsbook.campaigns.queries.events import _finite
from opsbook.campaigns.queries.settings import AMBER_BAND, Mode, Settings
from opsbook.targets import Targets, estimate_status, is_default, kpi_status

# KPI rows of the scorecard, in order; which way is better (the shown format: the view's)
KPIS: tuple[str, ...] = ("participants", "conversion", "aov_lift", "k_factor", "roi", "roas", "cac")
DIRECTION = {"cac": "lower"}
# estimated KPIs: the numbers' key of their interval (judged met / not proven / missed)
INTERVALS = {"roi": "iroi_ci"}
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
    """Red/amber/green of ``actual`` against ``target`` (:func:`opsbook.targets.kpi_status`);
    None when either is missing (not scored)."""
    return _scored(kpi_status(actual, target, direction, band))


def _scored(status: str) -> str | None:
    return None if status == "n/a" else status


def _targets_for(row: Mapping[str, Any], settings: Settings) -> Targets:
    """A campaign's targets, the most specific first: the config's for this campaign
    (``targets: {campaigns: {<id>: {...}}}``), then the campaigns table's ``target_*`` columns,
    then the config's for every campaign (``targets``), then the KPI system's defaults -- the
    config wins over the table, so a review can correct a target without editing the data."""
    targets = settings.target_defaults()
    user = {k for k in settings.targets if k in targets}
    for column, kpi in TARGET_COLUMNS.items():
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            targets[kpi] = float(value)
            user.add(kpi)
    for kpi, value in settings.per_campaign.get(str(row.get("key")), {}).items():
        targets[kpi] = None if value is None else float(value)
        user.add(kpi)
    return Targets(targets, frozenset(user))


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
        interval = numbers.get(INTERVALS[kpi]) if kpi in INTERVALS else None
        status = (
            _scored(estimate_status(interval, target, direction))
            if interval is not None and value is not None
            else status_of(value, target, direction, settings.amber_band)
        )
        rows.append(
            {
                "kpi": kpi,
                "definition": f"campaign_review.def.{kpi}" + ("_outcomes" if own else ""),
                "actual": value,
                "target": target,
                "default": is_default(targets, kpi),
                "amber": amber,
                "direction": direction,
                "low": _finite(interval[0]) if interval is not None else None,
                "high": _finite(interval[1]) if interval is not None else None,
                "status": status,
            }
        )
    return pd.DataFrame(rows)
