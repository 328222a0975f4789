"""Activation lists: segment membership written as files for CRM import (never in the HTML),
user ids optionally pseudonymised with a keyed hash, the CSV spreadsheet-safe
(:mod:`opsbook.exports`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from opsbook.exports import Export, export_folder, pseudonymise_ids, required_salt, write_list
from opsbook.report import Report
from opsbook.segmentation.analysis.segments import Segmentation

MEMBER_COLUMNS = ("user_id", "segment", "tier", "r_score", "f_score", "m_score", "rfm_cell")


def membership(result: Segmentation, salt: str | None = None) -> pd.DataFrame:
    """The activation list: user id (or its pseudonym), segment, tier and scores."""
    members = result.members[list(MEMBER_COLUMNS)].copy()
    members.insert(1, "as_of", pd.Timestamp(result.settings.as_of).date())
    if salt is not None:
        members["user_id"] = pseudonymise_ids(members["user_id"], salt)
    return members


def export_segments(
    report: Report,
    result: Segmentation,
    *,
    enabled: bool = False,
    export_dir: str | Path | None = None,
    pseudonymise: bool = False,
) -> Export | None:
    """Write ``segmentation_members_<as_of>.parquet`` and ``.csv`` into ``export_dir`` (default
    :func:`opsbook.exports.export_folder`) when ``enabled``; ids pseudonymised when asked (the salt must be
    set, see :func:`opsbook.exports.pseudonym_salt`)."""
    if not enabled:
        return None
    salt = required_salt(report) if pseudonymise else None
    folder = export_folder(report, export_dir)
    members = membership(result, salt)
    paths = write_list(members, folder, f"segmentation_members_{result.settings.as_of.isoformat()}")
    return Export(paths=paths, rows=len(members), pseudonymised=salt is not None)
