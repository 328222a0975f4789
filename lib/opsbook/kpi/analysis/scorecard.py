"""The scorecard: each KPI's value per period against its target (status), and this period
against the previous one (change, and for rates a week-over-week test)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from opsbook.kpi.queries.periods import Periods
from opsbook.stats import two_proportion_test
from opsbook.targets import (
    ESTIMATED_KPIS,
    KNOWN_KPIS,
    KpiTarget,
    estimate_status,
    kpi_status,
    missing,
)

# rates whose week-over-week change is tested (a success count over a count of users, views or
# cohort members, measured afresh each period); DAU/MAU and campaign numbers to date overlap the
# previous period's and are not
TESTED_RATES = (
    "activation_rate",
    "d1_retention",
    "d7_retention",
    "d30_retention",
    "paying_rate",
    "first_order_conversion",
    "content_interaction_rate",
    "content_conversion",
)


def _series(
    rows: list[dict[str, Any]],
    periods: Periods,
    targets: Mapping[str, KpiTarget],
    year_earlier: pd.Series,
    amber_band: float,
) -> pd.DataFrame:
    """The long KPI x period frame with each period's target and status: an estimated KPI
    (:data:`~opsbook.targets.ESTIMATED_KPIS`) is judged on its interval (met / not proven /
    missed), a measured one on its value (green / amber / red)."""
    frame = pd.DataFrame(rows, columns=["kpi", "k", "value", "num", "den", "low", "high"])
    grid = pd.MultiIndex.from_product([list(KNOWN_KPIS), range(periods.count)], names=["kpi", "k"])
    frame = (
        frame.drop_duplicates(["kpi", "k"], keep="last")
        .set_index(["kpi", "k"])
        .reindex(grid)
        .reset_index()
    )
    dates = periods.frame()
    frame["start"] = frame["k"].map(dates["start"])
    frame["end"] = frame["k"].map(dates["end"])
    frame["target"] = [
        targets[r.kpi].resolve(
            periods.days, year_earlier.get(r.k) if r.kpi == "new_users" else None
        )
        for r in frame.itertuples()
    ]
    frame["target"] = frame["target"].astype(float)
    frame["status"] = [
        _estimate_status(r, targets[r.kpi].direction)
        if r.kpi in ESTIMATED_KPIS
        else kpi_status(r.value, r.target, targets[r.kpi].direction, amber_band)
        for r in frame.itertuples()
    ]
    columns = ["kpi", "k", "start", "end", "value", "num", "den", "low", "high", "target"]
    return frame[[*columns, "status"]]


def _estimate_status(row: Any, direction: str) -> str:
    """An estimate's status; one without a usable interval (e.g. a holdout too small for a
    variance) is not proven rather than judged on its point value."""
    status = estimate_status((row.low, row.high), row.target, direction)
    if status == "n/a" and not (missing(row.value) or missing(row.target)):
        return "not_proven"
    return status


def week_over_week(
    current: tuple[float, float], previous: tuple[float, float], alpha: float = 0.05
) -> tuple[float | None, bool | None]:
    """(p-value, beyond noise) for a rate ``x / n`` this period vs the previous one: a pooled
    two-proportion z-test (:func:`opsbook.stats.two_proportion_test`); None when untestable."""
    (x2, n2), (x1, n1) = current, previous
    if any(missing(v) for v in (x1, n1, x2, n2)) or min(n1, n2) <= 0:
        return None, None
    x1, n1, x2, n2 = (round(v) for v in (x1, n1, x2, n2))
    result = two_proportion_test(min(x1, n1), n1, min(x2, n2), n2, alpha=alpha)
    if not result.valid:
        return None, None
    return result.p_value, bool(result.p_value < alpha)


def _scorecard(
    series: pd.DataFrame,
    targets: Mapping[str, KpiTarget],
    *,
    alpha: float,
    tested: tuple[str, ...] = TESTED_RATES,
) -> pd.DataFrame:
    """One row per KPI: this period against its target and the previous period; ``tested``
    rates get the week-over-week test."""
    current = series[series.k == 0].set_index("kpi")
    previous = series[series.k == 1].set_index("kpi")
    records = []
    for name in KNOWN_KPIS:
        spec = targets[name]
        cur, prev = current.loc[name], previous.loc[name]
        value, before = cur["value"], prev["value"]
        change = value / before - 1 if np.isfinite(before) and before != 0 else math.nan
        p_value, significant = None, None
        if name in tested:
            p_value, significant = week_over_week(
                (cur["num"], cur["den"]), (prev["num"], prev["den"]), alpha
            )
        records.append(
            {
                "kpi": name,
                "area": spec.area,
                "unit": spec.unit,
                "value": value,
                "low": cur["low"],
                "high": cur["high"],
                "target": cur["target"],
                "direction": spec.direction,
                "status": cur["status"],
                "previous": before,
                "change": change,
                "change_abs": value - before,
                "tested": name in tested,
                "p_value": p_value,
                "significant": significant,
            }
        )
    return pd.DataFrame(records)
