"""Report parameters: each read by its type and checked against what it accepts, before anything runs.

``parameters.yml`` beside this module says, per report, what each parameter of its notebook
accepts (type, allowed values, bounds). ``opsbook run`` reads and checks every value -- from the
command line, the config's ``reports.<name>`` section or the API -- before a kernel starts and
before a run folder exists; ``start()`` checks a notebook's values when it runs in JupyterLab. A
value given as text (``-p NAME=VALUE``) is read by its parameter's type, so a text parameter keeps
``on`` as the text "on" (YAML would read it as true) and a list takes ``a,b`` as well as ``[a, b]``.
A refused value is named with its report and parameter, what was expected, and the closest allowed
value, in the user's language.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from opsbook.data import Source
from opsbook.i18n import t

TYPES = ("text", "int", "float", "bool", "date", "date_or_time", "list", "mapping", "any")
NONE_TEXTS = ("", "null", "none", "None", "~")
TRUE_TEXTS = ("true", "yes", "on", "1")
FALSE_TEXTS = ("false", "no", "off", "0")
BOUNDS = ("min", "max", "above", "below")
DEFAULT_TYPES = {
    str: "text",
    bool: "bool",
    int: "int",
    float: "float",
    list: "list",
    dict: "mapping",
}


class ParameterError(ValueError):
    """A parameter value that its report does not accept; the message names report, parameter,
    value and what is allowed, in the user's language."""


@dataclass(frozen=True)
class Spec:
    """What one parameter accepts."""

    name: str
    type: str
    choices: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None
    above: float | None = None
    below: float | None = None


@cache
def _table() -> dict[str, dict[str, dict[str, Any]]]:
    text = resources.files("opsbook").joinpath("parameters.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def specs(report: str) -> dict[str, Spec]:
    """The parameters of ``report`` (and those every report shares) with what they accept."""
    entries = {**_table()["common"], **_table().get(report, {})}
    found = {}
    for name, entry in entries.items():
        choices = tuple(entry.get("choices", ()))
        kind = entry.get("type") or ("text" if all(isinstance(c, str) for c in choices) else "any")
        if kind not in TYPES:
            raise ValueError(f"parameters.yml: {report}.{name}: unknown type {kind!r}")
        found[name] = Spec(name, kind, choices, **{b: entry.get(b) for b in BOUNDS})
    return found


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _read_date(value: Any, with_time: bool) -> str:
    if isinstance(value, datetime):
        if not with_time:
            raise ValueError
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError
    text = value.strip()
    if with_time and len(text) > 10:
        datetime.fromisoformat(text)
    else:
        date.fromisoformat(text) if len(text) == 10 else datetime.strptime(text, "%Y-%m-%d")
    return text


def _read(spec: Spec, value: Any) -> Any:
    """``value`` as the parameter's type; text from the command line is parsed. ValueError when
    it cannot be one."""
    kind, text = spec.type, isinstance(value, str)
    if kind == "text":
        if not text:
            raise ValueError
        return value
    if kind in ("date", "date_or_time"):
        return _read_date(value, kind == "date_or_time")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if text and value.strip().lower() in TRUE_TEXTS + FALSE_TEXTS:
            return value.strip().lower() in TRUE_TEXTS
        raise ValueError
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise ValueError
        number = float(value) if text else value
        if not isinstance(number, int | float) or not math.isfinite(number):
            raise ValueError
        if kind == "int":
            if float(number) != int(number):
                raise ValueError
            return int(number)
        return float(number) if text else number
    if kind == "list":
        if text:
            stripped = value.strip()
            if stripped.startswith("["):
                value = yaml.safe_load(stripped)
            else:
                return [item.strip() for item in stripped.split(",") if item.strip()]
        if not isinstance(value, list | tuple):
            raise ValueError
        return list(value)
    if kind == "mapping":
        value = yaml.safe_load(value) if text else value
        if not isinstance(value, Mapping):
            raise ValueError
        return dict(value)
    typed = yaml.safe_load(value) if text else value  # any: YAML, dates kept as ISO text
    return typed.isoformat() if isinstance(typed, date) else typed


def _problem(spec: Spec, value: Any) -> tuple[str, dict[str, Any]] | None:
    """(i18n key of what was expected, its fields) when a typed value is out of bounds or not
    one of the choices."""
    if spec.choices and value not in spec.choices:
        allowed = ", ".join(map(str, spec.choices))
        return "run.param.expect.choice", {"allowed": allowed}
    for bound, ok in (
        ("min", lambda v, b: v >= b),
        ("max", lambda v, b: v <= b),
        ("above", lambda v, b: v > b),
        ("below", lambda v, b: v < b),
    ):
        limit = getattr(spec, bound)
        if limit is not None and not ok(value, limit):
            return f"run.param.expect.{bound}", {"bound": limit}
    return None


def check(report: str, spec: Spec, value: Any, lang: str, *, nullable: bool = True) -> Any:
    """``value`` read as ``spec``'s type and checked; ParameterError names what is wrong. None
    (or its text, e.g. ``null``) is accepted where the notebook's default is None."""
    if value is None:
        if nullable:
            return None
        raise ParameterError(_message(report, spec, value, ("run.param.expect.value", {}), lang))
    blank = isinstance(value, str) and value.strip() in NONE_TEXTS
    if nullable and blank and (value.strip() or spec.type != "text"):
        return None
    try:
        typed = _read(spec, value)
    except (ValueError, TypeError, yaml.YAMLError):
        expected = ("run.param.expect." + spec.type, {})
        if spec.choices:
            expected = ("run.param.expect.choice", {"allowed": ", ".join(map(str, spec.choices))})
        raise ParameterError(_message(report, spec, value, expected, lang)) from None
    problem = _problem(spec, typed)
    if problem is not None:
        raise ParameterError(_message(report, spec, value, problem, lang))
    return typed


def _message(
    report: str, spec: Spec, value: Any, expected: tuple[str, dict[str, Any]], lang: str
) -> str:
    key, fields = expected
    text = t(
        "run.param.invalid",
        lang,
        report=report,
        name=spec.name,
        value=_shown(value),
        expected=t(key, lang, **fields),
    )
    if spec.choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in spec.choices], n=1)
        if close:
            text += t("run.param.did_you_mean", lang, suggestion=close[0])
        if isinstance(value, bool):  # YAML 1.1 read on/off/yes/no as a boolean
            text += t("run.param.yaml_bool", lang)
    return text


def check_parameters(
    report: str,
    values: Mapping[str, Any],
    lang: str,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every value of ``values`` that ``report`` declares, read by its type and checked; with the
    notebook's ``defaults``, a parameter parameters.yml does not list is read by its default's
    type, and one whose default is not None refuses None. Other names pass unchanged."""
    declared = specs(report)
    checked = {}
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None and defaults is not None and name in defaults:
            # a parameter parameters.yml does not list: typed by its notebook default
            spec = Spec(name, DEFAULT_TYPES.get(type(defaults[name]), "any"))
        if spec is None:
            checked[name] = value
            continue
        nullable = defaults is None or defaults.get(name) is None
        checked[name] = check(report, spec, value, lang, nullable=nullable)
    return checked


def suggestion(name: str, valid: list[str], lang: str) -> str:
    """ " did you mean x?" for the closest of ``valid``, or nothing."""
    close = difflib.get_close_matches(name, valid, n=1)
    return t("run.param.did_you_mean", lang, suggestion=close[0]) if close else ""


# -- values that must exist in the data ---------------------------------------------------------
# parameters.yml's `in_data:` names one of these: the values a parameter may take in this source
# (besides the `also:` words the report understands). Checked by `opsbook run` before a kernel
# starts, only for a value given (not the notebook's default), so a typo is named at once.


def _experiments(source: Source) -> list[str]:
    names: set[str] = set()
    for table in ("assignments", "experiment_results"):
        if source.has(table) and "experiment" in source.columns(table):
            column = source.table(table).experiment
            names |= set(column.cast("string").name("e").as_table().distinct().execute()["e"])
    return sorted(n for n in names if n is not None)


def _campaigns(source: Source) -> list[str]:
    if not source.has("campaigns"):
        return []
    table = source.table("campaigns")
    keys = table.select(table.campaign_id.cast("string").name("key"))
    found = set(keys.execute()["key"])
    if "name" in source.columns("campaigns"):
        found |= set(table.select(table.name.cast("string").name("n")).execute()["n"])
    return sorted(str(k) for k in found if k is not None)


def _events(source: Source) -> list[str]:
    if not source.has("events"):
        return []
    events = source.table("events")
    return sorted(map(str, events.select("event").distinct().execute()["event"].dropna()))


def _user_columns(source: Source) -> list[str]:
    if not source.has("users"):
        return []
    return [c for c in source.columns("users") if c not in ("user_id", "signup_ts")]


IN_DATA = {
    "experiments": _experiments,
    "campaigns": _campaigns,
    "events": _events,
    "user_columns": _user_columns,
}


def check_in_data(
    report: str,
    values: Mapping[str, Any],
    defaults: Mapping[str, Any],
    source: Source,
    lang: str,
) -> None:
    """Refuse a given value that the source does not hold (an experiment, campaign, event or
    users column by a name the data do not have), naming the ones it has."""
    entries = {**_table()["common"], **_table().get(report, {})}
    for name, value in values.items():
        entry = entries.get(name) or {}
        lookup = entry.get("in_data")
        if lookup is None or value is None or value == defaults.get(name):
            continue
        allowed = [str(v) for v in entry.get("also", ())]
        if str(value) in allowed:
            continue
        known = IN_DATA[lookup](source)
        if not known or str(value) in known:
            continue  # a source that names none (a per-user export: the report names it)
        candidates = allowed + known
        listed = ", ".join(allowed + known[:30]) + (" …" if len(known) > 30 else "")
        expected = ("run.param.expect.in_data", {"what": t(f"run.param.{lookup}", lang)})
        text = _message(report, Spec(name, "text"), value, expected, lang)
        text += t("run.param.known", lang, values=listed or "—")
        close = difflib.get_close_matches(str(value), candidates, n=1)
        if close:
            text += t("run.param.did_you_mean", lang, suggestion=close[0])
        raise ParameterError(text)
