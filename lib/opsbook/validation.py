"""Check a source against the data contract.

Rules (each failure names the table, column, rule, row count and an example value):

- ``column_missing``: a required column is absent (structural: the reports cannot run); every
  row of the table fails it, so the table's accuracy is 0;
- ``key_not_null`` / ``required_not_null``: keys and other required values are present;
- ``type_castable``: values cast to the contract type (numbers, dates);
- ``timestamp_parseable``: timestamps parse;
- ``timestamp_not_future``: no timestamp later than now + tolerance;
- ``amount_nonnegative``: amounts and costs are finite and >= 0;
- ``value_allowed``: categorical values are known (order status, member group);
- ``key_unique``: unique keys are unique (every copy after the first fails);
- ``user_known``: orders/events/assignments/members reference a user of ``users``;
- ``one_variant_per_user``: an experiment's user is in one variant only (all their rows fail);
- ``table_empty``: the table has rows (structural: a header-only CSV, a Parquet file of no rows,
  or filters that exclude every row leave a report nothing to say; it names the file).
- ``value_in_range``: a bounded value lies in its range (a survey score 0..10);
- ``ends_after_start``: a span's end, where present, is not before its start (a community
  membership, a data request's answer).

The last two are refusals (severity ``error``): a report that reads such a table cannot give a
right answer from it (an NPS from an 11 on a 0-10 scale), so it stops with the finding
(:meth:`Validation.refuse`) instead of showing a number.

Each table is checked in one pass in the engine: a boolean per rule and row, then one
aggregate, so a table's accuracy (share of rows passing every rule) comes with the counts.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.contract import TABLES, TableSpec
from opsbook.data import Source, between_utc, inclusive_end
from opsbook.engine import backend_name
from opsbook.i18n import catalogue, display_name, t
from opsbook.types import contract_type, converts_exactly, to_type

Severity = Literal["error", "fail"]
#: rules whose failure stops a report reading the table (its numbers would be wrong, not rough)
REFUSING_RULES = ("value_in_range", "ends_after_start")


class ContractError(ValueError):
    """The source breaks the contract so that a report cannot run (e.g. a missing column)."""


def table_name(table: str, lang: str) -> str:
    """A contract table's name as a page in ``lang`` shows it (zh: 订单表 for orders)."""
    return display_name("table", table, lang)


def column_name(column: str, lang: str) -> str:
    """A contract column's name in ``lang``; several columns (a unique key "date, channel")
    each by name; a column outside the contract keeps the source's own name."""
    names = []
    for part in column.split(", "):
        key = f"validation.column.{part}"
        names.append(t(key, lang) if key in catalogue() else part)
    return ("、" if lang == "zh" else ", ").join(names)


@dataclass(frozen=True)
class Finding:
    table: str
    column: str | None
    rule: str
    rows: int
    total: int
    example: str | None
    severity: Severity = "fail"
    file: str | None = None  # the file the table was read from, where one was

    def message(self, lang: str = "en") -> str:
        """The finding in ``lang``, tables and columns by their display names; an English
        message also names the rule's code (what an analyst searches for), a Chinese one only
        the rule's Chinese text. An empty table is told by its file, not by a rule's counts."""
        if self.rule == "table_empty":
            how = "file" if self.file else "table"
            return t(
                f"validation.empty.{how}", lang, table=table_name(self.table, lang), file=self.file
            )
        rule_text = t(f"validation.rule.{self.rule}", lang)
        return t(
            "validation.message",
            lang,
            table=table_name(self.table, lang),
            column=column_name(self.column or "*", lang),
            rule=f"{self.rule} ({rule_text})" if lang == "en" else rule_text,
            rows=f"{self.rows:,}",
            total=f"{self.total:,}",
            example=self.example if self.example is not None else "—",
        )


@dataclass(frozen=True)
class TableCheck:
    table: str
    rows: int
    passing: int
    findings: tuple[Finding, ...]
    null_rates: dict[str, float]
    duplicate_keys: int

    @property
    def accuracy(self) -> float | None:
        """Share of rows passing every rule (None for an empty table)."""
        return self.passing / self.rows if self.rows else None


@dataclass(frozen=True)
class Validation:
    tables: dict[str, TableCheck]
    structural: tuple[Finding, ...]

    @property
    def findings(self) -> list[Finding]:
        return [*self.structural, *(f for c in self.tables.values() for f in c.findings)]

    @property
    def ok(self) -> bool:
        return not self.findings

    def messages(self, lang: str = "en") -> list[str]:
        return [f.message(lang) for f in self.findings]

    def summary_lines(self, lang: str, exclusions: pd.DataFrame | None = None) -> list[str]:
        """What ``opsbook validate`` prints before the findings, in ``lang``: per table its rows
        and accuracy, the rows the config's filters excluded, and "OK" when nothing failed."""
        lines = []
        for name, check in self.tables.items():
            accuracy = "—" if check.accuracy is None else f"{check.accuracy:.2%}"
            lines.append(
                t(
                    "validation.cli.table",
                    lang,
                    table=table_name(name, lang),
                    rows=f"{check.rows:,}",
                    accuracy=accuracy,
                )
            )
        for row in (exclusions if exclusions is not None else pd.DataFrame()).itertuples():
            lines.append(
                t(
                    "validation.cli.excluded",
                    lang,
                    table=table_name(row.table, lang),
                    rule=repr(row.rule),
                    rows=f"{row.rows:,}",
                )
            )
        if self.ok:
            lines.append(t("validation.cli.ok", lang))
        return lines

    def to_frame(self, lang: str = "en") -> pd.DataFrame:
        columns = ["table", "column", "rule", "rows", "total", "example", "severity"]
        return pd.DataFrame(
            [{c: getattr(f, c) for c in columns} for f in self.findings], columns=columns
        )

    def of_tables(self, names: Iterable[str]) -> Validation:
        """The checks of ``names`` only."""
        keep = set(names)
        return Validation(
            tables={n: c for n, c in self.tables.items() if n in keep},
            structural=tuple(f for f in self.structural if f.table in keep),
        )

    def refuse(self, tables: Iterable[str], lang: str = "en") -> None:
        """Raise :class:`ContractError` if a refusing rule (severity ``error``) failed in one of
        ``tables``: a report that reads them stops with the findings in ``lang``."""
        keep = set(tables)
        errors = [f for f in self.findings if f.severity == "error" and f.table in keep]
        if errors:
            raise ContractError("\n".join(f.message(lang) for f in errors))

    def raise_for_errors(self, lang: str = "en") -> None:
        """Raise :class:`ContractError` if a structural rule failed (reports cannot run)."""
        if self.structural:
            raise ContractError("\n".join(f.message(lang) for f in self.structural))


def validate(
    source: Source,
    tables: Iterable[str] | None = None,
    *,
    now: datetime | None = None,
    future_tolerance: timedelta | None = None,
) -> Validation:
    """Check ``tables`` (default: every contract table the source has) against the contract."""
    names = [n for n in (tables or source.names) if n in TABLES]
    source.require(*names)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if future_tolerance is None:
        hours = source.config.section("checks").get("future_tolerance_hours", 24)
        future_tolerance = timedelta(hours=float(hours))
    limit = now + future_tolerance
    users = None
    if source.has("users") and "user_id" in source.columns("users"):
        users = source.table("users").user_id
    checks: dict[str, TableCheck] = {}
    structural: list[Finding] = []
    for name in names:
        check, missing = _check_table(source, TABLES[name], limit, users)
        checks[name] = check
        structural.extend(missing)
    return Validation(tables=checks, structural=tuple(structural))


@dataclass(frozen=True)
class SourceChecks:
    """What every report shows about its source -- the contract checks, the fingerprint and
    the config filters' exclusions -- computed once by the runner for all the run's reports
    (at 1M users the checks alone take several seconds per report)."""

    identity: dict[str, Any]  # a kernel uses these only for a source of the same identity
    validation: Validation
    fingerprint: dict[str, Any]
    exclusions: pd.DataFrame

    def save(self, path: Path) -> Path:
        path.write_bytes(pickle.dumps(self))
        return path

    @staticmethod
    def load(path: Path) -> SourceChecks:
        # written by this package's runner for this run, in a private temporary folder
        return pickle.loads(path.read_bytes())


def check_source(source: Source) -> SourceChecks:
    """Check every contract table of ``source`` and describe it (see :class:`SourceChecks`)."""
    return SourceChecks(
        identity=source.identity,
        validation=validate(source),
        fingerprint=source.fingerprint,
        exclusions=source.exclusions(),
    )


def _check_table(
    source: Source, spec: TableSpec, limit: datetime, users: ir.Column | None
) -> tuple[TableCheck, list[Finding]]:
    raw = source.mapped(spec.name)
    present = set(raw.columns)
    absent = [c for c in spec.required if c not in present]
    rules: dict[tuple[str | None, str], ir.BooleanValue] = {}
    typed_cols: dict[str, ir.Value] = {}
    backend = backend_name(raw)
    for column in spec.columns:
        if column.name not in present:
            continue
        value = raw[column.name]
        target = contract_type(column.kind, value.type())
        cast = (
            to_type(value, target, backend)
            if target is not None and value.type() != target
            else value
        )
        typed_cols[column.name] = cast
        if column.required:
            rule = "key_not_null" if column.kind == "key" else "required_not_null"
            rules[(column.name, rule)] = value.notnull()
        stored = value.type()
        parsed = column.kind in ("timestamp", "number", "date") and cast is not value
        if parsed and not converts_exactly(stored, target):
            rule = "timestamp_parseable" if column.kind == "timestamp" else "type_castable"
            rules[(column.name, rule)] = value.isnull() | cast.notnull()
        if column.kind == "timestamp" and spec.time_column == column.name:
            # a stored timestamp is compared as stored: no conversion of every row
            rules[(column.name, "timestamp_not_future")] = (
                value.isnull() | between_utc(value, None, inclusive_end(limit))
                if stored.is_timestamp()
                else cast.isnull() | (cast <= limit)
            )
        if column.kind == "date" and spec.time_column == column.name:
            rules[(column.name, "timestamp_not_future")] = cast.isnull() | (cast <= limit.date())
        if column.nonnegative:
            finite = ~cast.isnan() & ~cast.isinf() if cast.type().is_floating() else True
            rules[(column.name, "amount_nonnegative")] = cast.isnull() | ((cast >= 0) & finite)
        if column.allowed:
            rules[(column.name, "value_allowed")] = value.isnull() | value.isin(column.allowed)
        if column.bounds is not None:
            low, high = column.bounds
            rules[(column.name, "value_in_range")] = cast.isnull() | cast.between(low, high)
    for start, end in spec.spans:
        if start in typed_cols and end in typed_cols:
            begun, ended = typed_cols[start], typed_cols[end]
            rules[(end, "ends_after_start")] = begun.isnull() | ended.isnull() | (ended >= begun)
    table = raw
    if spec.unique and all(c in present for c in spec.unique):
        key = ", ".join(spec.unique)
        # the earliest row of a key is the original, later ones are the copies
        order = [raw[spec.time_column]] if spec.time_column in present else []
        window = ibis.window(group_by=list(spec.unique), order_by=order)
        table = table.mutate(_copy=ibis.row_number().over(window))
        rules[(key, "key_unique")] = table._copy == 0
    if spec.references_user and users is not None and "user_id" in present:
        rules[("user_id", "user_known")] = raw.user_id.isnull() | raw.user_id.isin(users)
    variant_keys = [c for c in spec.one_variant_per if c in present]
    if "user_id" in variant_keys and "variant" in present:
        window = ibis.window(group_by=variant_keys)
        rules[("variant", "one_variant_per_user")] = raw.variant.min().over(
            window
        ) == raw.variant.max().over(window)

    flags = {f"ok{i}": pred.fill_null(False) for i, pred in enumerate(rules.values())}
    table = table.mutate(**flags)
    all_ok = ibis.literal(True)
    for name in flags:
        all_ok = all_ok & table[name]
    aggs = {"_rows": table.count(), "_passing": all_ok.sum()}
    aggs |= {f"bad{i}": (~table[name]).sum() for i, name in enumerate(flags)}
    aggs |= {f"null_{c}": raw_null(table[c]) for c in raw.columns}
    result = table.aggregate(**aggs).execute().iloc[0]
    rows = int(result["_rows"])
    findings = []
    for i, (column, rule) in enumerate(rules):
        bad = int(result[f"bad{i}"] or 0)
        if bad:
            show = column if column in typed_cols or column in present else spec.unique[0]
            example = _example(table, f"ok{i}", show.split(", ")[0], spec, present)
            if rule == "ends_after_start":  # the end is wrong only beside its start: show both
                start = next(s for s, e in spec.spans if e == column)
                begun = _first_failing(table, f"ok{i}", start)
                example = f"{start}={begun}, {column}={example}"
            severity: Severity = "error" if rule in REFUSING_RULES else "fail"
            findings.append(Finding(spec.name, column, rule, bad, rows, example, severity))
    duplicates = next((f.rows for f in findings if f.rule == "key_unique"), 0)
    null_rates = {c: float(result[f"null_{c}"] or 0) for c in raw.columns} if rows else {}
    passing = int(result["_passing"] or 0) if rows else 0
    # a required column that is absent is absent from every row: no row passes the contract
    missing = [Finding(spec.name, c, "column_missing", rows, rows, None, "error") for c in absent]
    if not rows:
        missing.append(_empty(source, spec.name))
    if missing:
        passing = 0
    return TableCheck(spec.name, rows, passing, tuple(findings), null_rates, duplicates), missing


def _empty(source: Source, name: str) -> Finding:
    """The finding of a table without rows: its file has none (a header-only CSV), or the
    config's filters excluded every row it has (then the exclusions tell which filter)."""
    file = source.files.get(name)
    excluded = source.exclusions()
    if not excluded.empty and name in set(excluded["table"]):
        return Finding(name, None, "table_empty", 0, 0, None, "error")
    return Finding(name, None, "table_empty", 0, 0, None, "error", file=file)


def raw_null(value: ir.Value) -> ir.FloatingScalar:
    return value.isnull().cast("float64").mean()


def _example(
    table: ir.Table, flag: str, column: str, spec: TableSpec, present: set[str]
) -> str | None:
    """An example of a failing row for the finding: the value of the rule's column -- unless
    that column is a key holding a value (a user id, an order id: it identifies a person or
    their order, and pages and notebooks are shared), in which case the row is pointed at by
    its time column (``ts=2026-09-21 10:32:05``) or not at all."""
    value = _first_failing(table, flag, column)
    if value in (None, "null") or column not in {c.name for c in spec.columns if c.kind == "key"}:
        return value
    if spec.time_column not in present:
        return None
    shown = _first_failing(table, flag, spec.time_column)
    return None if shown is None else f"{spec.time_column}={shown}"


def _first_failing(table: ir.Table, flag: str, column: str) -> str | None:
    found = table.filter(~table[flag]).select(column).limit(1).execute()
    if found.empty:
        return None
    value = found.iloc[0, 0]
    return (
        "null" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    )
