"""Every user-visible string, in Chinese and English.

Strings live in one YAML file per topic beside this module (``core.yml``, ``quality.yml``, ...),
each mapping a dotted key to ``{zh: ..., en: ...}``. Keys are global: a topic's keys start with
the topic name so files never collide. ``t(key, lang, **fields)`` looks a key up and fills
``{field}`` placeholders with ``str.format``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """All keys of all topic files; a key defined twice, or missing a language, is an error."""
    merged: dict[str, dict[str, str]] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yml"):
            continue
        table = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for key, texts in table.items():
            if key in merged:
                raise ValueError(f"i18n key {key!r} is defined twice (again in {entry.name})")
            missing = [lang for lang in LANGS if not isinstance(texts, dict) or lang not in texts]
            if missing:
                raise ValueError(f"i18n key {key!r} in {entry.name} lacks {missing}")
            merged[key] = {lang: str(texts[lang]) for lang in LANGS}
    return merged


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang  # type: ignore[return-value]


def t(key: str, lang: str, /, **fields: object) -> str:
    """The text of ``key`` in ``lang``, with ``{placeholders}`` filled from ``fields``."""
    texts = catalogue().get(key)
    if texts is None:
        raise KeyError(f"no i18n key {key!r}")
    text = texts[check_lang(lang)]
    return text.format(**fields) if fields else text


def display_name(kind: str, code: Any, lang: str, names: Mapping[str, Any] | None = None) -> str:
    """How a page in ``lang`` names a code of the data: a channel (``kol`` -> "达人" / "KOL"),
    a content type, a device, a contract table. The project's own names come first (the
    config's ``display_names: {kind: {code: {zh: .., en: ..}}}`` passed as ``names``; a bare
    text serves both languages), then the workbook's (``core.<kind>.<code>``); a code neither
    knows is the data's own name and shows as it is."""
    custom = ((names or {}).get(kind) or {}).get(str(code))
    if isinstance(custom, Mapping):
        chosen = custom.get(lang) or next(iter(custom.values()), None)
        if chosen:
            return str(chosen)
    elif custom:
        return str(custom)
    key = f"core.{kind}.{code}"
    return t(key, lang) if key in catalogue() else str(code)
