"""How one contract table is made from an export: the ``data.tables.<table>`` section of the
config (read, rename, derive, filter, aggregate), each setting's shape checked and each
expression's refusal naming the setting it sits in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir

from opsbook.errors import InputError, did_you_mean, first_line
from opsbook.expressions import ExpressionError, evaluate
from opsbook.settings import shown
from opsbook.sources import SourceError

MAPPING_KEYS = ("file", "table", "read", "rename", "derive", "filter", "aggregate")


@dataclass(frozen=True)
class TableMapping:
    """How one contract table is made from an export: read, rename, derive, filter, aggregate."""

    file: str | None = None
    table: str | None = None
    read: Mapping[str, Any] = field(default_factory=dict)
    rename: Mapping[str, str] = field(default_factory=dict)
    derive: Mapping[str, str] = field(default_factory=dict)
    filter: Mapping[str, str] = field(default_factory=dict)
    aggregate: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, spec: Mapping[str, Any] | None) -> TableMapping:
        """The mapping of table ``name`` from its config section, each key's shape checked."""
        spec = dict(spec or {})
        for key in spec:
            if key not in MAPPING_KEYS:
                raise SourceError(
                    "core.bad.config_unknown",
                    file="opsbook.yml",
                    setting=f"data.tables.{name}.{key}",
                    hint=did_you_mean(key, MAPPING_KEYS),
                    valid=", ".join(MAPPING_KEYS),
                )
        where = f"data.tables.{name}"
        filters = spec.get("filter") or {}
        if isinstance(filters, str | list):
            filters = {f"filter {i + 1}": f for i, f in enumerate(_as_list(filters))}
        aggregate = _checked(f"{where}.aggregate", spec.get("aggregate"), "mapping")
        for key in aggregate:
            if key not in ("by", "values"):
                raise SourceError(
                    "core.bad.config_unknown",
                    file="opsbook.yml",
                    setting=f"{where}.aggregate.{key}",
                    hint=did_you_mean(key, ["by", "values"]),
                    valid="by, values",
                )
        _checked(f"{where}.aggregate.values", aggregate.get("values"), "expressions")
        return cls(
            file=_checked(f"{where}.file", spec.get("file"), "text"),
            table=_checked(f"{where}.table", spec.get("table"), "text"),
            read=_checked(f"{where}.read", spec.get("read"), "mapping"),
            rename=_checked(f"{where}.rename", spec.get("rename"), "names"),
            derive=_checked(f"{where}.derive", spec.get("derive"), "expressions"),
            filter=_checked(f"{where}.filter", filters, "expressions"),
            aggregate=aggregate,
        )

    def apply_before_filter(self, raw: ir.Table, name: str) -> ir.Table:
        for old in self.rename:
            if old not in raw.columns:
                raise SourceError(
                    "core.bad.rename",
                    table=name,
                    column=old,
                    hint=did_you_mean(old, raw.columns),
                    columns=", ".join(raw.columns),
                )
        table = raw.rename({new: old for old, new in self.rename.items()}) if self.rename else raw
        for column, text in self.derive.items():
            value = _evaluate(f"data.tables.{name}.derive.{column}", text, table)
            table = table.mutate(**{column: value})
        return table

    def filter_predicates(self, table: ir.Table, name: str) -> dict[str, ir.BooleanValue]:
        # a row whose predicate is null is excluded, like SQL's WHERE: count it with the rest
        predicates = {}
        for rule, text in self.filter.items():
            value = _evaluate(f"data.tables.{name}.filter.{rule}", text, table)
            if not value.type().is_boolean():
                raise SourceError(
                    "core.bad.filter_type",
                    setting=f"data.tables.{name}.filter.{rule}",
                    expression=text,
                    found=str(value.type()),
                )
            predicates[rule] = value.fill_null(False)
        return predicates

    def apply_after_filter(self, table: ir.Table, name: str) -> ir.Table:
        if not self.aggregate:
            return table
        where = f"data.tables.{name}.aggregate"
        by = self.aggregate.get("by") or {}
        by = {c: c for c in _as_list(by)} if isinstance(by, str | list) else dict(by)
        keys = {new: _evaluate(f"{where}.by.{new}", text, table) for new, text in by.items()}
        values = {
            new: _evaluate(f"{where}.values.{new}", text, table)
            for new, text in (self.aggregate.get("values") or {}).items()
        }
        try:
            return table.group_by(**keys).aggregate(**values)
        except Exception as exc:  # e.g. a value that is not an aggregate of the group
            raise SourceError("core.bad.aggregate", setting=where, detail=first_line(exc)) from None


_SHAPES = {
    "text": lambda v: isinstance(v, str) and v.strip() != "",
    "mapping": lambda v: isinstance(v, dict),
    "names": lambda v: (
        isinstance(v, dict)
        and all(isinstance(k, str) and isinstance(x, str) and x for k, x in v.items())
    ),
    "expressions": lambda v: (
        isinstance(v, dict)
        and all(isinstance(x, str | int | float) and not isinstance(x, bool) for x in v.values())
    ),
}


def _checked(setting: str, value: Any, shape: str) -> Any:
    """``value`` of a mapping's setting if it has the ``shape`` it takes (None: its empty)."""
    if value is None:
        return None if shape == "text" else {}
    if not _SHAPES[shape](value):
        raise SourceError(
            "core.bad.mapping_shape",
            setting=setting,
            expected=InputError(f"core.expect.{shape}_setting"),
            found=shown(value),
        )
    return value


def _evaluate(setting: str, text: Any, table: ir.Table) -> ir.Value:
    """A mapping's expression, a refusal naming the setting where it is not allowed."""
    try:
        return evaluate(str(text), table)
    except ExpressionError as exc:
        raise SourceError("core.bad.expression", setting=setting, reason=exc) from None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]
