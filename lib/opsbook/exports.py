"""Files handed to other tools beside a report (activation lists for CRM import): written as
Parquet and CSV into the run folder, never into the HTML; ids optionally pseudonymised with a
keyed hash; the CSV safe to open in a spreadsheet.

Spreadsheet safety: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets (CSV injection: a user id or a label
``=HYPERLINK(...)`` would run when the list is opened). Such cells are written with a leading
apostrophe (``'=HYPERLINK(...)``), which the spreadsheet shows as text; numbers stay numbers. The
Parquet file keeps the values as they are (it is read by programs, not spreadsheets)."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from opsbook.errors import InputError
from opsbook.report import Report, run_folder

SALT_ENV = "OPSBOOK_PSEUDONYM_SALT"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


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


def required_salt(report: Report) -> str:
    """:func:`pseudonym_salt`, or a ValueError saying where to set it."""
    salt = pseudonym_salt(report)
    if salt is None:
        raise InputError("core.error.salt", variable=SALT_ENV)
    return salt


def pseudonymise_ids(ids: pd.Series, salt: str) -> pd.Series:
    """HMAC-SHA256 of each id's text keyed by ``salt``, as 32 hex digits: stable for one salt
    (so CRM lists of several runs join), not reversible without it."""
    if not salt:
        raise ValueError("pseudonymising ids needs a non-empty salt")
    key = salt.encode()
    return ids.map(
        lambda v: hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:32]
    ).astype("string")


def default_export_dir(report: Report) -> Path:
    """Beside the report in a run (the run folder); ``<run.out>/exports`` in JupyterLab."""
    return (
        run_folder()
        or report.config.path_of(str(report.config.section("run").get("out") or "reports"))
        / "exports"
    )


def export_folder(report: Report, export_dir: str | Path | None = None) -> Path:
    """Where a report writes its lists: ``export_dir`` (relative to the config's folder), else
    :func:`default_export_dir`."""
    if not export_dir:
        return default_export_dir(report)
    folder = Path(export_dir).expanduser()
    return folder if folder.is_absolute() else report.config.path_of(str(folder))


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would read as a formula prefixed by an
    apostrophe (see the module's docstring); other cells unchanged."""
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_TRIGGERS))
        if text.any():
            safe[column] = values.astype(object).where(~text, "'" + values.astype(str))
    return safe


def write_list(frame: pd.DataFrame, folder: Path, stem: str) -> tuple[Path, Path]:
    """``<stem>.parquet`` (values as they are) and ``<stem>.csv`` (spreadsheet-safe) in
    ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    parquet, csv = folder / f"{stem}.parquet", folder / f"{stem}.csv"
    frame.to_parquet(parquet, index=False)
    # RFC 4180 line ends: a value holding a carriage return is quoted, not a broken row
    spreadsheet_safe(frame).to_csv(csv, index=False, lineterminator="\r\n")
    return parquet, csv
