"""What each setting of ``opsbook.yml`` takes, and the check that refuses anything else.

A config is read by people who did not write it and written by people who do not read the code:
a misspelt key (``timezne:``) would otherwise be ignored without a word, and a value of the wrong
type (``privacy.min_cell: abc``) would fail deep inside a report. Each known setting has a kind;
an unknown key is refused with the closest known one, a wrong value with what the setting takes.
Report parameters (``reports.<name>.<parameter>``) are checked by :mod:`opsbook.parameters` when
a report runs; table mappings (``data.tables.<table>``) by :mod:`opsbook.data`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsbook.errors import InputError, did_you_mean
from opsbook.i18n import LANGS

ENGINES = ("duckdb", "pyspark")  # engines a folder source can run on (opsbook.engine)

# a check takes the value and returns the refusal's "expected" text, or None when it is fine
Check = Callable[[Any], InputError | None]


def shown(value: Any, limit: int = 60) -> str:
    """A value as a refusal quotes it: its repr, shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> InputError | None:
    return None if isinstance(value, str) and value.strip() else InputError("core.expect.text")


def _optional_text(value: Any) -> InputError | None:
    return None if value is None else _text(value)


def _whole(minimum: int, optional: bool = False) -> Check:
    def check(value: Any) -> InputError | None:
        if value is None and optional:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return None
        return InputError("core.expect.whole", minimum=minimum)

    return check


def _number(minimum: float) -> Check:
    def check(value: Any) -> InputError | None:
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum:
            return None
        return InputError("core.expect.number", minimum=minimum)

    return check


def _choice(*allowed: str) -> Check:
    def check(value: Any) -> InputError | None:
        if value in allowed:
            return None
        return InputError("core.expect.choice", allowed=", ".join(allowed))

    return check


def _engine(value: Any) -> InputError | None:
    return (
        None if value in ENGINES else InputError("core.expect.engine", allowed=", ".join(ENGINES))
    )


def _zone(value: Any) -> InputError | None:
    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value)
            return None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return InputError("core.expect.zone")


def _optional_text_or_empty(value: Any) -> InputError | None:
    return None if value is None or isinstance(value, str) else InputError("core.expect.text")


def _mapping(value: Any) -> InputError | None:
    return None if isinstance(value, dict) else InputError("core.expect.mapping")


def _optional_mapping(value: Any) -> InputError | None:
    return None if value is None else _mapping(value)


def _sections(expected: str) -> Check:
    """A mapping of names to sections (tables to their mappings, reports to their parameters)."""

    def check(value: Any) -> InputError | None:
        if value is None:
            return None
        if isinstance(value, dict) and all(isinstance(v, dict | None) for v in value.values()):
            return None
        return InputError(expected)

    return check


# the settings a config may hold: a nested dict is a section (its keys are checked), a
# function checks a value; sections whose keys are free (Spark settings, reports) are _mapping
SETTINGS: dict[str, Any] = {
    "data": {"source": _text, "tables": _sections("core.expect.tables")},
    "timezone": _zone,
    "lang": _choice(*LANGS),
    "engine": {
        "backend": _engine,
        "threads": _whole(1, optional=True),
        "memory_limit": _optional_text,
        "temp_directory": _optional_text,
        "spark": _optional_mapping,
    },
    "checks": {"future_tolerance_hours": _number(0)},
    "cache": {"folder": _optional_text},
    "privacy": {"min_cell": _whole(1), "pseudonym_salt": _optional_text},
    "run": {
        "out": _text,
        "notebooks": _text,
        "cell_timeout_seconds": _whole(1),
        "workers": _whole(1, optional=True),
    },
    "reports": _sections("core.expect.reports"),
    "currency": _optional_text_or_empty,
    "display_names": _sections("core.expect.display_names"),
}


def check_settings(raw: Mapping[str, Any], file: str) -> None:
    """Refuse the first unknown key or wrong value of the config ``raw`` (read from ``file``)."""
    _check_section(raw, SETTINGS, "", file)


def _check_section(
    raw: Mapping[str, Any], schema: Mapping[str, Any], prefix: str, file: str
) -> None:
    for key, value in raw.items():
        setting = f"{prefix}{key}"
        if key not in schema:
            raise InputError(
                "core.bad.config_unknown",
                file=file,
                setting=setting,
                hint=did_you_mean(str(key), list(schema)),
                valid=", ".join(schema),
            )
        rule = schema[key]
        if isinstance(rule, dict):
            if value is None:
                continue  # an empty section keeps the defaults
            if not isinstance(value, dict):
                raise InputError(
                    "core.bad.config_shape",
                    file=file,
                    setting=setting,
                    expected=InputError("core.expect.section", keys=", ".join(rule)),
                    found=shown(value),
                )
            _check_section(value, rule, f"{setting}.", file)
            continue
        expected = rule(value)
        if expected is not None:
            raise InputError(
                "core.bad.config_shape",
                file=file,
                setting=setting,
                expected=expected,
                found=shown(value),
            )
