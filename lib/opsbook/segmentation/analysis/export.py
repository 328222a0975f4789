"""Activation lists: segment membership written as files for CRM import (never in the HTML),
user ids optionally pseudonymised with a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from opsbook.report import Report, run_folder
from opsbook.segmentation.analysis.segments import Segmentation

SALT_ENV = "OPSBOOK_PSEUDONYM_SALT"
MEMBER_COLUMNS = ("user_id", "segment", "tier", "r_score", "f_score", "m_score", "rfm_cell")


@dataclass(frozen=True)
class Export:
    """Files written for CRM import (their paths never enter the HTML)."""

    paths: tuple[Path, ...]
    rows: int
    pseudonymised: bool


def pseudonym_salt(report: Report) -> str | None:
    """The salt for pseudonymised ids: the environment's, else the config's; never printed."""
    salt = os.environ.get(SALT_ENV) or (report.config.raw.get("privacy") or {}).get(
        "pseudonym_salt"
    )
    return str(salt) if salt else None


def pseudonymise_ids(ids: pd.Series, salt: str) -> pd.Series:
    """HMAC-SHA256 of each id's text keyed by ``salt``, as 32 hex digits: stable for one salt
    (so CRM lists of several runs join), not reversible without it."""
    if not salt:
        raise ValueError("pseudonymising ids needs a non-empty salt")
    key = salt.encode()
    return ids.map(
        lambda v: hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:32]
    ).astype("string")


def membership(result: Segmentation, salt: str | None = None) -> pd.DataFrame:
    """The activation list: user id (or its pseudonym), segment, tier and scores."""
    members = result.members[list(MEMBER_COLUMNS)].copy()
    members.insert(1, "as_of", pd.Timestamp(result.settings.as_of).date())
    if salt is not None:
        members["user_id"] = pseudonymise_ids(members["user_id"], salt)
    return members


def default_export_dir(report: Report) -> Path:
    """Beside the report in a run (the run folder); ``<run.out>/exports`` in JupyterLab."""
    return (
        run_folder()
        or report.config.path_of(str(report.config.section("run").get("out") or "reports"))
        / "exports"
    )


def export_segments(
    report: Report,
    result: Segmentation,
    *,
    enabled: bool = False,
    export_dir: str | Path | None = None,
    pseudonymise: bool = False,
) -> Export | None:
    """Write ``segmentation_members_<as_of>.parquet`` and ``.csv`` into ``export_dir`` (default
    :func:`default_export_dir`) when ``enabled``; ids pseudonymised when asked (the salt must be
    set, see :func:`pseudonym_salt`)."""
    if not enabled:
        return None
    salt = None
    if pseudonymise:
        salt = pseudonym_salt(report)
        if salt is None:
            raise ValueError(
                f"pseudonymise=True needs a salt: set the {SALT_ENV} environment variable or "
                "privacy.pseudonym_salt in the config (it is never a notebook parameter)"
            )
    folder = Path(export_dir).expanduser() if export_dir else default_export_dir(report)
    if not folder.is_absolute():
        folder = report.config.path_of(str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    members = membership(result, salt)
    stem = folder / f"segmentation_members_{result.settings.as_of.isoformat()}"
    parquet, csv = stem.with_suffix(".parquet"), stem.with_suffix(".csv")
    members.to_parquet(parquet, index=False)
    members.to_csv(csv, index=False)
    return Export(paths=(parquet, csv), rows=len(members), pseudonymised=salt is not None)
