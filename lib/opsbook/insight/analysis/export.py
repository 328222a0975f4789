"""Activation lists (激活名单): the users active at the data's end, one list per risk x value
cell, written beside the report for CRM import (Parquet + spreadsheet-safe CSV,
:mod:`opsbook.exports`), never into the HTML; ids optionally pseudonymised with a keyed hash
whose salt comes from the environment or the config, never from a parameter.

The scored users stream in chunks (:func:`opsbook.insight.analysis.contact.scored_users`); the
lists hold one row per active user with a few columns, gathered per cell before writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from opsbook.exports import Export, export_folder, pseudonymise_ids, required_salt, write_list
from opsbook.insight.analysis.churn import ChurnModel
from opsbook.insight.analysis.contact import RISK_TIERS, scored_users
from opsbook.insight.analysis.value import VALUE_TIERS, PredictedValue

CONTACT_COLUMNS = (
    "user_id",
    "as_of",
    "risk",
    "risk_tier",
    "clv",
    "value_tier",
    "recent_revenue",
    "reason_1",
    "reason_2",
    "reason_3",
)


def list_stem(as_of: Any, risk_tier: str, value_tier: str) -> str:
    """The file name (without suffix) of one cell's list."""
    return f"user_insight_contacts_{as_of}_{risk_tier}_risk_{value_tier}_value"


def contact_lists(
    report: Any, model: ChurnModel, value: PredictedValue, salt: str | None = None
) -> dict[tuple[str, str], pd.DataFrame]:
    """Per non-empty (risk tier, value tier), its users sorted by risk (highest first), ids
    pseudonymised with ``salt`` when given."""
    parts: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for chunk in scored_users(report, model, value):
        chunk = chunk.assign(as_of=model.as_of)
        if salt is not None:
            chunk["user_id"] = pseudonymise_ids(chunk["user_id"], salt)
        for key, rows in chunk.groupby(["risk_tier", "value_tier"], sort=False):
            parts.setdefault((str(key[0]), str(key[1])), []).append(rows[list(CONTACT_COLUMNS)])
    order = [(r, v) for r in RISK_TIERS for v in VALUE_TIERS if (r, v) in parts]
    return {
        key: pd.concat(parts[key])
        .sort_values(["risk", "user_id"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
        for key in order
    }


def export_contacts(
    report: Any,
    model: ChurnModel,
    value: PredictedValue,
    *,
    enabled: bool = False,
    export_dir: str | Path | None = None,
    pseudonymise: bool = False,
) -> Export | None:
    """Write each cell's list (:func:`list_stem`) into ``export_dir`` (default: beside the
    report) when ``enabled`` and a model scored the users; None otherwise."""
    if not enabled or not model.available:
        return None
    salt = required_salt(report) if pseudonymise else None
    folder = export_folder(report, export_dir)
    paths: list[Path] = []
    rows = 0
    for (risk, worth), frame in contact_lists(report, model, value, salt).items():
        paths += write_list(frame, folder, list_stem(model.as_of.isoformat(), risk, worth))
        rows += len(frame)
    return Export(paths=tuple(paths), rows=rows, pseudonymised=salt is not None)
