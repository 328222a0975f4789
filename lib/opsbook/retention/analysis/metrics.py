"""What a run records: the retention report's metrics.json and the headline numbers of the run's
index, from the report's results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from opsbook.retention.analysis.engagement import LifecycleResult, StickinessResult
from opsbook.retention.analysis.matrix import RetentionResult
from opsbook.retention.analysis.rates import RateResult
from opsbook.retention.analysis.survival import SurvivalResult


def target_status(value: float | None, target: float, high: float | None = None) -> str | None:
    """A KPI against its target: green when met, amber when missed but the interval's upper end
    (``high``) reaches the target, red otherwise; None without a value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value >= target:
        return "green"
    return "amber" if high is not None and high >= target else "red"


def report_metrics(
    matrix: RetentionResult,
    day_n: pd.DataFrame,
    targets: Mapping[str, float],
    stick: StickinessResult | None = None,
    conversion: RateResult | None = None,
    repeat: RateResult | None = None,
    lifecycle_result: LifecycleResult | None = None,
    survival: SurvivalResult | None = None,
    by_group: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """metrics.json (issue 4, item 9) and the 3-5 headline numbers of the run's index;
    ``by_group``: :func:`against_group_targets` (each group against its own targets)."""
    rates = {f"d{int(r.day)}": r for r in day_n.itertuples()}
    base = matrix.metrics()
    metrics: dict[str, Any] = {
        "users": base["users"],
        "cohorts": base["cohorts"],
        "period": base["period"],
        "criterion": base["criterion"],
    }
    for key in ("d1", "d7", "d30"):
        metrics[key] = float(rates[key].rate) if key in rates else None
    metrics["targets_met"] = {
        key: (
            bool(metrics[key] >= targets[key])
            if metrics[key] is not None and not math.isnan(metrics[key])
            else None
        )
        for key in ("d1", "d7", "d30")
    }
    metrics["dau_mau"] = stick.dau_mau if stick is not None else None
    metrics["first_order_conversion"] = conversion.value if conversion is not None else None
    metrics["repeat_purchase_rate"] = repeat.value if repeat is not None else None
    metrics["matrix"] = base["matrix"]
    metrics["targets"] = dict(targets)
    metrics["targets_by_group"] = {g: dict(t) for g, t in getattr(targets, "groups", {}).items()}
    if by_group is not None and not by_group.empty:
        metrics["targets_met_by_group"] = {
            str(group): {f"d{int(r.day)}": r.met for r in part.itertuples()}
            for group, part in by_group.groupby("group", sort=True)
        }
    metrics["day_n"] = {
        key: {
            "eligible": int(r.eligible),
            "retained": int(r.retained),
            "low": r.low,
            "high": r.high,
        }
        for key, r in rates.items()
    }
    metrics["settings"] = {k: v for k, v in matrix.settings.items() if k != "as_of"}
    metrics["as_of"] = matrix.settings.get("as_of")
    # what the index card describes: every cohort of the matrix, pooled
    metrics["scope"] = {
        "key": f"retention.scope.{base['period']}",
        "fields": {"cohorts": base["cohorts"], "as_of": str(metrics["as_of"] or "")[:10]},
    }
    if conversion is not None:
        metrics["first_order"] = conversion.metrics()
    if repeat is not None:
        metrics["repeat_purchase"] = repeat.metrics()
    if lifecycle_result is not None:
        metrics["lifecycle"] = lifecycle_result.metrics()
    if survival is not None:
        metrics["survival"] = survival.metrics()

    def status(key: str, value: float | None, high: float | None = None) -> str | None:
        return target_status(value, targets[key], high)

    headline = [
        {
            "label": f"retention.h.{key}",
            "value": metrics[key],
            "format": "pct",
            "status": status(key, metrics[key], rates[key].high if key in rates else None),
        }
        for key in ("d1", "d7", "d30")
    ]
    headline.append(
        {
            "label": "retention.h.dau_mau",
            "value": metrics["dau_mau"],
            "format": "float",
            "status": status("dau_mau", metrics["dau_mau"]),
        }
    )
    if conversion is not None:
        headline.append(
            {
                "label": "retention.h.first_order_conversion",
                "value": conversion.value,
                "format": "pct",
                "status": status("first_order_conversion", conversion.value, conversion.high),
            }
        )
    return metrics, headline
