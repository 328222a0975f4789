"""What a segmentation run records: the keys of ``metrics.json`` and the headline numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.segmentation.analysis.export import Export
from opsbook.segmentation.analysis.migration import Migration
from opsbook.segmentation.analysis.segments import Segmentation


def metrics(
    result: Segmentation, mig: Migration | None = None, exported: Export | None = None
) -> dict[str, Any]:
    """Everything for ``metrics.json``: the segmentation's keys, migration, the export flag."""
    out = result.metrics()
    if mig is not None:
        out |= mig.metrics()
    out["exported_rows"] = exported.rows if exported else 0
    return out


def headline(result: Segmentation, mig: Migration | None = None) -> list[dict[str, Any]]:
    tiers = result.tiers.set_index("tier")
    hv_revenue = tiers.loc["high_value", "revenue_share"] if result.customers else None
    entries = [
        {"label": "segmentation.h.customers", "value": result.customers, "format": "int"},
        {
            "label": "segmentation.h.high_value_share",
            "value": tiers.loc["high_value", "share"] if result.customers else None,
            "format": "pct",
        },
        {
            "label": "segmentation.h.high_value_revenue",
            "value": hv_revenue,
            "format": "pct",
            "status": None
            if hv_revenue is None or pd.isna(hv_revenue)
            else ("green" if hv_revenue >= 0.5 else "amber"),
        },
        {"label": "segmentation.h.top20", "value": result.top20_revenue_share, "format": "pct"},
    ]
    if mig is not None:
        entries.append(
            {
                "label": "segmentation.h.fell_out",
                "value": mig.fell_out_of_high_value,
                "format": "int",
                "status": "amber" if mig.fell_out_of_high_value else "green",
            }
        )
    return entries
