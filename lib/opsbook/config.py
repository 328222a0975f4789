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

import yaml

from opsbook.errors import InputError, MissingInput, first_line
from opsbook.i18n import LANGS
from opsbook.settings import check_settings, shown

CONFIG_NAME = "opsbook.yml"
ENGINE_ENV = "OPSBOOK_ENGINE"  # overrides engine.backend (set by ``opsbook run --engine``)
SOURCE_ENV = "OPSBOOK_SOURCE"  # the source of a run, for its kernels (set by ``opsbook run``)
ENV_PREFIX = "env:"  # a source ``env:NAME`` is the value of the environment variable NAME


def _defaults() -> dict[str, Any]:
    text = resources.files("opsbook").joinpath("defaults.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``override`` laid over it, nested dicts merged key by key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None and isinstance(merged.get(key), dict):
            continue  # an empty section (all its keys commented out) keeps the defaults
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
    def cache_folder(self) -> Path | None:
        """Where kept intermediates (the activity rollup) live between runs, relative to the
        config's folder; None: nothing is kept between runs."""
        folder = (self.raw.get("cache") or {}).get("folder")
        return self.path_of(str(folder)) if folder else None

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
    """A folder or file source made absolute against ``base_dir``; URLs and ``env:NAME``
    references are kept as they are."""
    if is_reference(source):
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
    and ``engine`` (default: the ``OPSBOOK_ENGINE`` environment variable, if set).

    Every setting is checked (:mod:`opsbook.settings`): an unknown key, a section of the wrong
    shape or a value of the wrong type is refused with the setting's name, what it takes and
    what was found."""
    raw = _defaults()
    file = Path(path).expanduser().resolve() if path else find_config()
    if path and not file.is_file():  # type: ignore[union-attr]
        raise MissingInput("core.bad.config_missing", path=str(path))
    if file is not None:
        loaded = read_yaml(file)
        check_settings(loaded, str(file))
        raw = deep_merge(raw, loaded)
    raw = deep_merge(raw, overrides or {})
    if lang:
        raw["lang"] = lang
    engine = engine or os.environ.get(ENGINE_ENV)
    if engine:
        raw["engine"]["backend"] = engine
    check_settings(raw, str(file) if file is not None else CONFIG_NAME)
    base = file.parent if file is not None else Path.cwd().resolve()
    if data:
        # a source given on the command line is relative to where the user stands; the file's
        # table mappings still apply to it (another copy of the same export)
        raw["data"]["source"] = (
            data if is_reference(data) else str(Path(data).expanduser().resolve())
        )
    return Config(raw=raw, base_dir=base, path=file, overrides=overrides or {})


def read_yaml(file: Path) -> dict[str, Any]:
    """The mapping a YAML config file holds (empty file: no settings); a file that is not
    YAML, not UTF-8 or not a mapping is refused with where and why."""
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError("core.bad.config_encoding", file=str(file), offset=exc.start) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            "core.bad.yaml",
            file=str(file),
            line=mark.line + 1 if mark else "?",
            column=mark.column + 1 if mark else "?",
            problem=getattr(exc, "problem", None) or first_line(exc),
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InputError(
            "core.bad.config_shape",
            file=str(file),
            setting="(top level)",
            expected=InputError("core.expect.mapping"),
            found=shown(loaded),
        )
    return loaded


def preferred_lang(path: str | Path | None, lang: str | None) -> str:
    """The language to refuse in before the config is known to be valid: ``lang`` if given,
    else the config file's ``lang`` if it can be read, else the default."""
    if lang in LANGS:
        return lang
    try:
        file = Path(path).expanduser() if path else find_config()
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) if file else None
        found = loaded.get("lang") if isinstance(loaded, dict) else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        found = None
    return found if found in LANGS else _defaults()["lang"]


def is_reference(location: str) -> bool:
    """Whether a source is a URL or an environment reference (``env:NAME``), not a path."""
    return "://" in location or location.startswith(ENV_PREFIX)


def resolve_reference(location: str) -> str:
    """The source an ``env:NAME`` reference names (the value of the environment variable
    ``NAME``); any other location as it is. Lets a URL with credentials stay out of config
    files, command lines and executed notebooks."""
    if not location.startswith(ENV_PREFIX):
        return location
    name = location[len(ENV_PREFIX) :]
    value = os.environ.get(name)
    if not value:
        raise InputError("core.bad.env_source", name=name)
    return value
