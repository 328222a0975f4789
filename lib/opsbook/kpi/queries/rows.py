"""How a query's answer becomes the dashboard's rows: one row per KPI and period (``kpi, k,
value, num, den, low, high``), with the notes of the KPIs it leaves n/a and the tables it shows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from opsbook.targets import missing


def _key_like(value: ir.Value, like: ir.Value) -> ir.Value:
    """``value`` cast so it joins ``like`` (ids may be integers in one table, floats or text in
    another: a nullable id column read from Parquet is often float)."""
    if value.type() == like.type():
        return value
    if value.type().is_numeric() and like.type().is_numeric():
        return value.cast("int64")
    return value.cast("string")


def _counts(frame: pd.DataFrame, column: str, count: int) -> pd.Series:
    """A per-period column as a Series over 0..count-1 (missing periods: 0)."""
    if frame.empty:
        return pd.Series(0.0, index=range(count))
    return frame.set_index("k")[column].reindex(range(count)).fillna(0).astype(float)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def _row(
    kpi: str,
    k: int,
    value: Any,
    num: Any = None,
    den: Any = None,
    interval: tuple[Any, Any] = (None, None),
) -> dict[str, Any]:
    """One KPI's value in period ``k``: ``num / den`` where it is a ratio of counts, and the
    ``interval`` of an estimated KPI (judged on it, :func:`opsbook.targets.estimate_status`)."""

    def number(x: Any) -> float:
        return math.nan if missing(x) else float(x)

    low, high = interval
    return {
        "kpi": kpi,
        "k": int(k),
        "value": number(value),
        "num": number(num),
        "den": number(den),
        "low": number(low),
        "high": number(high),
    }


def _rows(kpi: str, values: pd.Series, num: pd.Series | None = None, den=None) -> list[dict]:
    return [
        _row(
            kpi,
            k,
            values.get(k),
            None if num is None else num.get(k),
            None if den is None else den.get(k),
        )
        for k in values.index
    ]


@dataclass(frozen=True)
class _Part:
    rows: list[dict[str, Any]]
    notes: dict[str, str]
    by_channel: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_type: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    volume: pd.DataFrame = field(default_factory=pd.DataFrame)
