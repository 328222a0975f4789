"""The workbook's configuration: one YAML file (default ``opsbook.yml``) over built-in defaults.

The file is looked for in the working directory and its parents, so a notebook opened in
JupyterLab (working directory ``notebooks/``) finds the project's file. Relative paths in it are
taken from the file's folder.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from opsbook.i18n import check_lang

CONFIG_NAME = "opsbook.yml"
ENGINES = ("duckdb", "pyspark")  # engines a folder source can run on (opsbook.engine)
ENGINE_ENV = "OPSBOOK_ENGINE"  # overrides engine.backend (set by ``opsbook run --engine``)


def _defaults() -> dict[str, Any]:
    text = resources.files("opsbook").joinpath("defaults.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``override`` laid over it, nested dicts merged key by key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``opsbook.yml`` in ``start`` (default: the working directory) or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Config:
    """Settings of one workbook. ``raw`` keeps the merged YAML for report-specific sections."""

    raw: dict[str, Any]
    base_dir: Path
    path: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def timezone(self) -> str:
        return self.raw["timezone"]

    @property
    def lang(self) -> str:
        return self.raw["lang"]

    @property
    def source(self) -> str:
        return resolve_source(self.raw["data"]["source"], self.base_dir)

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return self.raw["data"].get("tables") or {}

    @property
    def engine(self) -> str:
        return self.raw["engine"]["backend"]

    @property
    def spark_settings(self) -> dict[str, Any]:
        return dict(self.raw["engine"].get("spark") or {})

    @property
    def min_cell(self) -> int:
        return int(self.raw["privacy"]["min_cell"])

    def section(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.raw.get(name) or {})

    def report_defaults(self, report: str) -> dict[str, Any]:
        return copy.deepcopy((self.raw.get("reports") or {}).get(report) or {})

    def path_of(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()


def resolve_source(source: str, base_dir: Path) -> str:
    """A folder or file source made absolute against ``base_dir``; URLs are kept as they are."""
    if "://" in source:
        return source
    path = Path(source).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def load_config(
    path: str | Path | None = None,
    *,
    data: str | None = None,
    lang: str | None = None,
    engine: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Defaults, then the YAML file (given or found), then ``overrides``, ``data``, ``lang``
    and ``engine`` (default: the ``OPSBOOK_ENGINE`` environment variable, if set)."""
    raw = _defaults()
    file = Path(path).expanduser().resolve() if path else find_config()
    if path and not file.is_file():  # type: ignore[union-attr]
        raise FileNotFoundError(f"config file not found: {path}")
    if file is not None:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{file}: the config must be a YAML mapping")
        raw = deep_merge(raw, loaded)
    raw = deep_merge(raw, overrides or {})
    if lang:
        raw["lang"] = lang
    engine = engine or os.environ.get(ENGINE_ENV)
    if engine:
        raw["engine"]["backend"] = engine
    if raw["engine"]["backend"] not in ENGINES:
        raise ValueError(
            f"engine.backend {raw['engine']['backend']!r} is not one of {', '.join(ENGINES)} "
            "(a warehouse is reached through data.source as an Ibis URL)"
        )
    check_lang(raw["lang"])
    ZoneInfo(raw["timezone"])  # an unknown zone fails here, with the zone's name
    base = file.parent if file is not None else Path.cwd().resolve()
    if data:
        # a source given on the command line is relative to where the user stands; the file's
        # table mappings still apply to it (another copy of the same export)
        raw["data"]["source"] = data if "://" in data else str(Path(data).expanduser().resolve())
    return Config(raw=raw, base_dir=base, path=file, overrides=overrides or {})
