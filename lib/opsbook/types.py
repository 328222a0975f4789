"""How the data contract reads stored values: each contract column cast to its contract type
(timestamps as naive UTC, numbers as floats, dates as dates; a value that cannot be cast is null,
which validation counts), and the times a record can plausibly have."""

from __future__ import annotations

from datetime import datetime

import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from opsbook.contract import TableSpec
from opsbook.engine import backend_name, utc_wall_clock

# times a record of an online business can have: a row dated 0001-01-01 or 9999-12-31 (a
# placeholder of the exporting system) is excluded from every question and counted among the
# exclusions, never shifted or crashed on
PLAUSIBLE_TIMES = (datetime(1900, 1, 1), datetime(2200, 1, 1))


def plausible(value: ir.Value) -> ir.BooleanValue:
    """True where a time (or date) lies in :data:`PLAUSIBLE_TIMES`, or is null (nulls are
    counted by validation and fall out of every time range anyway)."""
    low, high = PLAUSIBLE_TIMES
    if value.type().is_date():
        low, high = low.date(), high.date()
    return value.isnull() | ((value >= low) & (value < high))


# A name of the data that is no name a reader reads (a 100,000-character channel): read as the
# label :func:`opsbook.plots.short_label` shows for it -- its first characters, "…" and the
# first characters of its MD5 -- so the engine, the frames and the pages carry 40 characters,
# not megabytes per user (such a channel, carried per user into the survival tests, made the
# retention report take seven times as long). The same numbers as opsbook.plots (a display
# module, which the data layer does not import); tests/unit/test_data.py pins them equal.
LONG_VALUE = 500
LABEL_LIMIT = 40
LABEL_DIGEST = 6
# per contract table, the text columns that name things for display (None: every text column
# but the keys -- the users' attributes, each a possible breakdown); none of them is a key a
# parameter or a join looks a row up by
LABEL_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "users": None,
    "campaigns": ("name", "channel"),
    "assignments": ("variant",),
    "content": ("type",),
    "spend": ("channel",),
}


def capped_labels(table: ir.Table, spec: TableSpec | None) -> ir.Table:
    """``table`` with each label column's values longer than :data:`LONG_VALUE` characters
    replaced by their short label (computed in the engine; shorter values as they are)."""
    if spec is None or spec.name not in LABEL_COLUMNS:
        return table
    keys = {c.name for c in spec.columns if c.kind == "key"}
    names = LABEL_COLUMNS[spec.name] or [c for c in table.columns if c not in keys]
    head = LABEL_LIMIT - LABEL_DIGEST - 1
    capped = {}
    for name in names:
        if name in table.columns and table[name].type().is_string():
            value = table[name]
            short = value.substr(0, head) + "…" + value.hexdigest("md5").substr(0, LABEL_DIGEST)
            capped[name] = (value.length() > LONG_VALUE).ifelse(short, value)
    return table.mutate(**capped) if capped else table


def typed(table: ir.Table, spec: TableSpec | None) -> ir.Table:
    """``table`` with each contract column cast to its contract type (invalid values -> null)."""
    if spec is None:
        return table
    casts = {}
    backend = backend_name(table)
    for column in spec.columns:
        if column.name not in table.columns:
            continue
        value = table[column.name]
        target = contract_type(column.kind, value.type())
        if target is not None and value.type() != target:
            casts[column.name] = to_type(value, target, backend)
    return table.mutate(**casts) if casts else table


def contract_type(kind: str, current: dt.DataType) -> dt.DataType | None:
    """The Ibis type a contract column of ``kind`` is normalised to (None: keep as it is)."""
    if kind == "timestamp":
        return dt.Timestamp()
    if kind == "date":
        return dt.date
    if kind == "number":
        return current if current.is_floating() else dt.float64
    if kind == "string":
        return dt.string
    return None


def converts_exactly(current: dt.DataType, target: dt.DataType) -> bool:
    """Whether every value of type ``current`` has one of ``target`` (:func:`to_type` casts; no
    parse that can fail, so there is nothing for a check to find)."""
    return (
        (current.is_timestamp() and (target.is_timestamp() or target.is_date()))
        or target.is_string()
        or (current.is_numeric() and target.is_numeric())
    )


def to_type(value: ir.Value, target: dt.DataType, backend: str | None = None) -> ir.Value:
    current = value.type()
    if target.is_timestamp() and current.is_timestamp():
        return (
            utc_wall_clock(value, backend) if current.timezone is not None else value.cast(target)
        )
    if target.is_timestamp() and current.is_unknown():
        # DuckDB's TIMESTAMPTZ_NS (pandas' default in Parquet) is unknown to Ibis: via TIMESTAMPTZ
        return value.cast(dt.Timestamp(timezone="UTC")).cast(target)
    if target.is_date() and current.is_timestamp():
        return value.date()
    if target.is_timestamp() and current.is_string() and backend == "duckdb":
        # text read as an instant: an offset (+08:00) or zone name (Asia/Shanghai) in the text
        # is honoured, text without one is UTC (the contract's naive times); a text that does
        # not parse is null, which validation counts (timestamp_parseable)
        return utc_wall_clock(value.try_cast(dt.Timestamp(timezone="UTC")), backend)
    return value.cast(target) if converts_exactly(current, target) else value.try_cast(target)
