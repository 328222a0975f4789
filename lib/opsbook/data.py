"""Open a source and hand out the contract's tables as Ibis tables.

A source is a folder with one file per table (``orders.parquet``, ``orders.csv``,
``orders.csv.gz``, ...), a DuckDB database file, or any Ibis connection URL
(``postgres://...``, ``trino://...``, ``duckdb:///path.duckdb``). Folders and files are read by the
configured engine (:mod:`opsbook.engine`: the embedded DuckDB, or Spark); the heavy work of every
report runs in that engine.

The config maps a real export onto the contract without editing it, per table::

    orders:
      file: online_retail.csv.gz            # default: <table>.parquet|.csv|.csv.gz|... in the folder
      read: {delim: ";"}                    # options for the engine's CSV reader
      rename: {InvoiceNo: order_id}
      derive: {amount: "Quantity * UnitPrice"}
      filter: {"no customer id": "CustomerID.notnull()"}   # rows kept; the rest are counted
      aggregate: {by: {order_id: InvoiceNo}, values: {ts: "InvoiceDate.min()"}}

Timestamps are normalised to naive UTC. Text timestamps are read at their instant: an offset
(``+08:00``, ``Z``) or a zone name in the text is honoured, text without one is UTC; a value that
does not parse becomes null, so its row is excluded from every time range and counted by
validation (``timestamp_parseable``, with an example) -- never read at a shifted time. Ids are
opaque keys: where one table holds an id column as text and another as numbers, both are read as
text so they join. A number column of true/false values is refused.
:meth:`Source.local` turns one into wall-clock time in the
configured zone, which every day/week/month bucket uses.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.config import Config, resolve_reference
from opsbook.contract import TABLES, TableSpec
from opsbook.engine import (
    EngineError,
    backend_name,
    connect,
    epoch_microseconds,
    floor_divide,
    instant_epoch_microseconds,
    keep,
    local_time,
)
from opsbook.errors import InputError, did_you_mean, first_line
from opsbook.mapping import TableMapping
from opsbook.sources import (
    SourceError,
    read_table,
    redact,
    remember_secrets,
    scrub,
    table_files,
)
from opsbook.types import PLAUSIBLE_TIMES, capped_labels, plausible, typed

DAY_MICROSECONDS = 86_400 * 1_000_000
# ids that name the same things in several columns: an inviter is a user
KEY_FAMILIES = {"inviter_id": "user_id"}


@cache
def fixed_utc_offset(zone: str) -> timedelta | None:
    """The zone's UTC offset if it has had one offset since 2000 (Asia/Shanghai), else None."""
    tz = ZoneInfo(zone)
    offsets = {
        datetime(year, month, day, tzinfo=UTC).astimezone(tz).utcoffset()
        for year in range(2000, 2041)
        for month in range(1, 13)
        for day in (1, 15)
    }
    return offsets.pop() if len(offsets) == 1 else None


class Source:
    """The contract's tables of one source, as lazy Ibis expressions on one engine connection."""

    def __init__(
        self,
        con: Any,
        raw_tables: dict[str, ir.Table],
        config: Config,
        label: str,
        files: Mapping[str, Path] | None = None,
    ):
        self.con = con
        self.config = config
        self.timezone = config.timezone
        self.label = label
        # per table of a folder source, the file or part-file folder it was read from (what a
        # message about the table's content names)
        self.files = {name: str(path) for name, path in (files or {}).items()}
        self._raw = raw_tables
        self._mappings = {
            name: TableMapping.parse(name, config.tables.get(name)) for name in raw_tables
        }
        self._materialised: dict[str, ir.Table] = {}
        self._exclusions: pd.DataFrame | None = None
        self._once: dict[Hashable, Any] = {}
        self._before: datetime | None = None
        self._left_out: dict[str, tuple[ir.Table, str]] = {}
        # what is computed from the whole tables (the rollups, opsbook.rollup), shared by every
        # view of this source (before(), without()): each view decides whether it may use it
        self.shared: dict[Hashable, Any] = {}

    def __copy__(self) -> Source:
        # a copy answers for itself (see before()): it shares the engine and the mappings, not
        # what was computed once from the original's rows
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._once = {}
        return clone

    def before(self, moment: datetime) -> Source:
        """The source as it stood at ``moment`` (naive UTC): every table's rows dated at or after
        it (by the contract's time column) are left out. Answers "to the end of a past period"
        with the functions that read whole tables."""
        view = copy.copy(self)
        view._before = moment
        return view

    def without(self, name: str, rows: ir.Table, key: str) -> Source:
        """The source with the rows of table ``name`` whose ``key`` is among ``rows[key]`` left
        out of every question (e.g. the orders flagged as brushing); validation still reads the
        whole table."""
        view = copy.copy(self)
        view._left_out = self._left_out | {name: (rows.select(key).distinct(), key)}
        return view

    def restricted(self, name: str) -> bool:
        """Whether this view leaves rows of table ``name`` out (:meth:`before`, :meth:`without`)."""
        return self._before is not None or name in self._left_out

    def whole(self) -> Source:
        """This source without the restrictions of :meth:`before` and :meth:`without`."""
        if self._before is None and not self._left_out:
            return self
        view = copy.copy(self)
        view._before, view._left_out = None, {}
        return view

    def reading(self, name: str, raw: ir.Table) -> Source:
        """The source with table ``name`` read from ``raw`` (e.g. some of its part files only),
        mapped as the config says; computed intermediates are not carried over."""
        view = copy.copy(self)
        view._raw = self._raw | {name: raw}
        view._materialised = {k: v for k, v in self._materialised.items() if k != name}
        view.shared = {}
        return view

    def once(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked of this open source, then the same
        result: a source's data do not change while it is open, and a report asks many
        questions of the same intermediate (the data's end, active user-days, campaign events)."""
        if key not in self._once:
            self._once[key] = compute()
        return self._once[key]

    def known(self, key: Hashable) -> Any:
        """What :meth:`once` computed for ``key`` so far (None: nothing yet)."""
        return self._once.get(key)

    @property
    def identity(self) -> dict[str, Any]:
        """What makes two opened sources the same data: location, engine, zone, mappings and
        the check settings."""
        return {
            "source": self.label,
            "engine": self.engine,
            "timezone": self.timezone,
            "tables": self.config.tables,
            "checks": self.config.section("checks"),
        }

    def adopt(self, fingerprint: dict[str, Any], exclusions: pd.DataFrame) -> None:
        """Take the fingerprint and exclusions computed for this source elsewhere (the runner)."""
        self.__dict__["fingerprint"] = fingerprint
        self._exclusions = exclusions

    @property
    def engine(self) -> str:
        """The name of the engine the tables are computed on (duckdb, pyspark, postgres, ...)."""
        return getattr(self.con, "name", type(self.con).__name__)

    # -- tables -------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The tables this source holds, contract tables first."""
        return sorted(
            self._raw,
            key=lambda n: (n not in TABLES, list(TABLES).index(n) if n in TABLES else 0, n),
        )

    def has(self, name: str) -> bool:
        return name in self._raw

    def require(self, *names: str) -> None:
        missing = [n for n in names if n not in self._raw]
        if missing:
            raise SourceError(
                "core.bad.no_table",
                source=self.label,
                tables=", ".join(missing),
                hint=did_you_mean(missing[0], self.names),
                found=", ".join(self.names),
            )

    def _unfiltered(self, name: str) -> ir.Table:
        self.require(name)
        return self._mappings[name].apply_before_filter(self._raw[name], name)

    def mapped(self, name: str) -> ir.Table:
        """The table after the config's mapping, before types are normalised (for validation).

        An aggregating mapping (line items -> orders) is computed once per source and kept
        where the engine can keep it: a report queries it dozens of times."""
        if name in self._materialised:
            return self._materialised[name]
        table = self._shaped(name)
        spec = TABLES.get(name)
        if spec is not None:
            table = self._checked_columns(name, table, spec)
        if self._mappings[name].aggregate:
            table = keep(table)
            self._materialised[name] = table
        return table

    def _shaped(self, name: str) -> ir.Table:
        """The table after the config's mapping (renamed, derived, filtered, aggregated)."""
        table = self._unfiltered(name)
        predicates = self._mappings[name].filter_predicates(table, name)
        for predicate in predicates.values():
            table = table.filter(predicate)
        return self._mappings[name].apply_after_filter(table, name)

    def _checked_columns(self, name: str, table: ir.Table, spec: TableSpec) -> ir.Table:
        """A contract table refused when it has none of the contract's columns or a number
        column of true/false values; its ids as text where another table holds the same ids
        as numbers (ids are opaque keys: they must join whatever their type)."""
        contract = [c.name for c in spec.columns]
        if not set(contract) & set(table.columns):
            raise SourceError(
                "core.bad.no_contract_column",
                table=name,
                expected=", ".join(spec.required),
                found=", ".join(table.columns[:12]) or "—",
            )
        for column in spec.columns:
            number = column.kind == "number" and column.name in table.columns
            if number and table[column.name].type().is_boolean():
                raise SourceError("core.bad.boolean_number", table=name, column=column.name)
        casts = {
            c.name: table[c.name].cast("string")
            for c in spec.columns
            if c.kind == "key"
            and c.name in table.columns
            and KEY_FAMILIES.get(c.name, c.name) in self._text_keys
            and not table[c.name].type().is_string()
        }
        return table.mutate(**casts) if casts else table

    @cached_property
    def _text_keys(self) -> frozenset[str]:
        """The ids held as text in one table and as another type in another: read as text in
        every table. A table whose mapping is refused is left out here (it is refused where it
        is asked for)."""
        kinds: dict[str, set[bool]] = {}
        for name in self._raw:
            spec = TABLES.get(name)
            if spec is None:
                continue
            try:
                schema = self._shaped(name).schema()
            except InputError:
                continue
            for column in spec.columns:
                if column.kind == "key" and column.name in schema:
                    family = KEY_FAMILIES.get(column.name, column.name)
                    kinds.setdefault(family, set()).add(schema[column.name].is_string())
        return frozenset(family for family, seen in kinds.items() if len(seen) > 1)

    def table(
        self,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        local_day: bool = False,
    ) -> ir.Table:
        """The contract table ``name`` with contract types: timestamps as naive UTC, numbers as
        float64, dates as dates. Values that cannot be cast become null (validation counts them).

        ``since``/``until`` (naive UTC) keep the rows whose time column lies in [since, until),
        compared on the column as stored where it is a timestamp already: the engine then skips
        what the files' statistics rule out (Parquet row groups) and converts only the rows
        kept.

        ``local_day`` adds the column ``local_day``: the local day number (:meth:`local_day`)
        of the time column, read off the stored instant where that is a zoned timestamp, so a
        question that needs only the day never converts the time itself."""
        spec = TABLES.get(name)
        table = self.mapped(name)
        column = spec.time_column if spec else None
        if self._before is not None:
            until = self._before if until is None else min(until, self._before)
        has_time = column in table.columns
        bound = has_time and (since is not None or until is not None)
        stored_time = has_time and table[column].type().is_timestamp()
        if bound and stored_time:
            table = table.filter(between_utc(table[column], since, until))
        epoch = None
        if local_day and has_time and fixed_utc_offset(self.timezone) is not None:
            epoch = instant_epoch_microseconds(table[column], getattr(self.con, "name", None))
        if epoch is not None:
            table = table.mutate(
                local_day=self.floor_divide(self._shifted(epoch), DAY_MICROSECONDS)
            )
        table = capped_labels(typed(table, spec), spec)
        if has_time and not (stored_time and self._stored_times_plausible(name)):
            table = table.filter(plausible(table[column]))
        if bound and not stored_time and table[column].type().is_timestamp():
            table = table.filter(between_utc(table[column], since, until))  # text, as typed
        if local_day and has_time and epoch is None:
            table = table.mutate(local_day=self.local_day(table[column]))
        if name in self._left_out:
            rows, key = self._left_out[name]
            table = table.anti_join(rows, key)
        return table

    def _stored_times_plausible(self, name: str) -> bool:
        """Whether every stored time of ``name`` lies in :data:`PLAUSIBLE_TIMES` (no row for the
        filter to drop): asked once on DuckDB, which reads Parquet's oldest and newest value from
        the files' statistics; elsewhere, a scan per table, the filter runs."""
        key = ("stored_times_plausible", name)
        if key not in self.shared:
            table = self.mapped(name)
            column = TABLES[name].time_column
            ends = table.aggregate(first=table[column].min(), last=table[column].max())
            duckdb = backend_name(table) == "duckdb"
            self.shared[key] = duckdb and self._plausible_range(*ends.execute().iloc[0])
        return self.shared[key]

    def latest(self, name: str, column: str = "ts") -> pd.Timestamp | None:
        """The newest value (naive UTC) of the timestamp ``column`` of table ``name``; None when it
        has none. Once per open source; asked of the column as stored when that is a timestamp
        already, which the engine answers from file statistics (Parquet) instead of converting
        every row."""

        def compute() -> pd.Timestamp | None:
            stored = self.mapped(name)[column]
            if self._before is not None or not stored.type().is_timestamp():
                stored = self.table(name)[column]
            value = stored.max().execute()
            if value is not None and not self._plausible_range(value, value):
                value = self.table(name)[column].max().execute()  # past a placeholder time
            if value is None or pd.isna(value):
                return None
            stamp = pd.Timestamp(value)
            return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)

        return self.once(("latest", name, column), compute)

    def __getitem__(self, name: str) -> ir.Table:
        return self.table(name)

    def columns(self, name: str) -> list[str]:
        return list(self.mapped(name).columns)

    # -- exclusions ---------------------------------------------------------------------------
    def exclusions(self) -> pd.DataFrame:
        """Rows the config's filters removed, per table and rule (each rule counts rows that
        passed the rules before it), so nothing is dropped silently."""
        if self._exclusions is None:
            self._exclusions = self._count_exclusions()
        return self._exclusions.copy()

    def _count_exclusions(self) -> pd.DataFrame:
        rows = []
        for name in self.names:
            mapping = self._mappings[name]
            if not mapping.filter:
                continue
            table = self._unfiltered(name)
            predicates = mapping.filter_predicates(table, name)
            passed = ibis.literal(True)
            counts = {}
            for i, predicate in enumerate(predicates.values()):
                counts[f"r{i}"] = (passed & ~predicate).sum()
                passed = passed & predicate
            result = table.aggregate(**counts).execute().iloc[0]
            for i, rule in enumerate(predicates):
                rows.append({"table": name, "rule": rule, "rows": int(result[f"r{i}"] or 0)})
        for name in self.names:
            spec = TABLES.get(name)
            if spec is None or spec.time_column not in self.mapped(name).columns:
                continue
            times = typed(self.mapped(name), spec)[spec.time_column]
            outside = int((~plausible(times)).sum().execute() or 0)
            if outside:
                low, high = (f"{t:%Y-%m-%d}" for t in PLAUSIBLE_TIMES)
                rule = f"{spec.time_column} ∉ [{low}, {high})"
                rows.append({"table": name, "rule": rule, "rows": outside})
        return pd.DataFrame(rows, columns=["table", "rule", "rows"])

    # -- time ---------------------------------------------------------------------------------
    def local(self, ts: ir.TimestampValue) -> ir.TimestampValue:
        """Wall-clock time in the configured zone of a naive-UTC timestamp column."""
        offset = fixed_utc_offset(self.timezone)
        if offset is not None:
            return ts + ibis.interval(seconds=int(offset.total_seconds()))
        backend = getattr(self.con, "name", "")
        local = local_time(ts, self.timezone, backend)
        if local is not None:
            return local
        raise SourceError("core.bad.zone_engine", zone=self.timezone, engine=backend)

    def local_microseconds(self, ts: ir.TimestampValue) -> ir.IntegerValue:
        """Microseconds from 1970-01-01 00:00 to the wall-clock time in the configured zone of a
        naive-UTC timestamp, whose floor division (:meth:`floor_divide`) gives local day and week
        numbers. In a fixed-offset zone plain integer arithmetic on the epoch: no per-row
        time-zone conversion."""
        backend = getattr(self.con, "name", None)
        if fixed_utc_offset(self.timezone) is not None:
            return self._shifted(epoch_microseconds(ts, backend))
        return epoch_microseconds(self.local(ts), backend)

    def _shifted(self, epoch: ir.IntegerValue) -> ir.IntegerValue:
        """Microseconds since the epoch moved to the wall clock of the configured fixed-offset
        zone."""
        return epoch + int(fixed_utc_offset(self.timezone).total_seconds()) * 1_000_000

    def local_day(self, ts: ir.TimestampValue) -> ir.IntegerValue:
        """The local calendar day of a naive-UTC timestamp as days since 1970-01-01."""
        return self.floor_divide(self.local_microseconds(ts), DAY_MICROSECONDS)

    def floor_divide(self, value: ir.IntegerValue, divisor: int) -> ir.IntegerValue:
        """``floor(value / divisor)`` in the engine's integer arithmetic."""
        return floor_divide(value, divisor, getattr(self.con, "name", None))

    def local_date(self, ts: ir.TimestampValue) -> ir.DateValue:
        return self.local(ts).date()

    def utc_from_local(self, local: datetime | str) -> datetime:
        """The naive-UTC instant of a wall-clock time in the configured zone (for filters): where
        the clocks skip it (a midnight a DST change jumps over) the first instant after, where
        they show it twice the first (a day starts at its first instant)."""
        stamp = pd.Timestamp(local)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(self.timezone, ambiguous=True, nonexistent="shift_forward")
        return stamp.tz_convert("UTC").tz_localize(None).to_pydatetime()

    def now_local(self) -> pd.Timestamp:
        return pd.Timestamp.now(tz=self.timezone).tz_localize(None)

    # -- description --------------------------------------------------------------------------
    @cached_property
    def fingerprint(self) -> dict[str, Any]:
        """Per table: rows and the date range of its time column (local dates); and a digest.

        The range is the local date of the oldest and the newest timestamp (the local date
        only grows with the instant), asked of the column as stored where it is a timestamp:
        on Parquet the engine answers rows, oldest and newest from the file's statistics."""
        tables: dict[str, Any] = {}
        for name in self.names:
            spec = TABLES.get(name)
            table = self.mapped(name)
            aggs: dict[str, Any] = {"rows": table.count()}
            column = spec.time_column if spec else None
            stored = column and column in table.columns and table[column].type().is_timestamp()
            if stored and spec.column(column).kind != "date":
                aggs |= {"first": table[column].min(), "last": table[column].max()}
            result = table.aggregate(**aggs).execute().iloc[0]
            first, last = result.get("first"), result.get("last")
            if column and column in table.columns and not self._plausible_range(first, last):
                # dates, text, or placeholder times (0001-01-01): the range as reports read it
                time = self.table(name)[column]
                ranged = self.table(name).aggregate(first=time.min(), last=time.max())
                first, last = ranged.execute().iloc[0]
            tables[name] = {
                "rows": int(result["rows"]),
                "first": self._local_iso(first),
                "last": self._local_iso(last),
            }
        digest = hashlib.sha256(repr(sorted(tables.items())).encode()).hexdigest()[:16]
        return {"source": self.label, "timezone": self.timezone, "tables": tables, "digest": digest}

    @staticmethod
    def _plausible_range(first: Any, last: Any) -> bool:
        """Both ends are timestamps within :data:`PLAUSIBLE_TIMES` (None: not known)."""
        low, high = PLAUSIBLE_TIMES
        ends = [first, last]
        if any(v is None or not isinstance(v, datetime) or pd.isna(v) for v in ends):
            return False
        return all(low <= pd.Timestamp(v).tz_localize(None) < high for v in ends)

    def _local_iso(self, value: Any) -> str | None:
        """The local date (ISO) of a timestamp from the engine (naive: UTC), or of a date."""
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        return stamp.tz_convert(self.timezone).date().isoformat()


def inclusive_end(moment: datetime) -> pd.Timestamp:
    """The exclusive ``until`` of :meth:`Source.table` that keeps the rows at ``moment`` too:
    one microsecond later (the timestamps' resolution)."""
    return pd.Timestamp(moment) + timedelta(microseconds=1)


def between_utc(
    column: ir.TimestampValue, since: datetime | None, until: datetime | None
) -> ir.BooleanValue:
    """``since <= column < until`` (naive-UTC bounds; None: open), with the bounds as literals
    of the column's own type (a zoned column compares with zoned instants)."""
    kind = column.type()

    def literal(moment: datetime) -> ir.TimestampValue:
        stamp = pd.Timestamp(moment)
        return ibis.literal(stamp if kind.timezone is None else stamp.tz_localize("UTC"), kind)

    inside = column.notnull()
    if since is not None:
        inside &= column >= literal(since)
    if until is not None:
        inside &= column < literal(until)
    return inside


def open_source(config: Config, source: str | None = None) -> Source:
    """Open ``source`` (default: the config's; ``env:NAME`` is the value of the environment
    variable ``NAME``) with the config's table mappings. Its label, which pages, manifests and
    messages print, carries no secret (:func:`opsbook.sources.redact`)."""
    location = resolve_reference(source or config.source)
    remember_secrets(location)
    label = redact(location)
    mappings = config.tables
    for name, spec in mappings.items():
        TableMapping.parse(name, spec)  # a mapping's shape is refused before any file is read
    if "://" in location:
        try:
            con = ibis.connect(location)
        except Exception as exc:  # the engine's message may quote the URL with its secrets
            raise SourceError(
                "core.bad.connect", source=label, detail=scrub(first_line(exc), location)
            ) from None
        if getattr(con, "name", "") == "duckdb":
            con.raw_sql("SET TimeZone = 'UTC'")
        return Source(con, _db_tables(con, mappings), config, label)
    path = Path(location)
    if path.is_dir():
        con = connect(config)
        files = table_files(path, mappings)
        tables = {
            name: read_table(con, name, file, (mappings.get(name) or {}).get("read") or {})
            for name, file in files.items()
        }
        if not tables:
            raise SourceError(
                "core.bad.no_tables",
                folder=str(path),
                expected=", ".join(f"{t}.parquet" for t in TABLES),
            )
        return Source(con, tables, config, label, files)
    if path.is_file() and path.suffix in {".duckdb", ".db", ".ddb"}:
        try:
            con = connect(config, str(path), read_only=True)
        except EngineError:
            raise
        except Exception as exc:  # not a DuckDB database, or one of another version
            raise SourceError(
                "core.bad.duckdb_file", file=str(path), detail=first_line(exc)
            ) from None
        return Source(con, _db_tables(con, mappings), config, label)
    raise SourceError(
        "core.bad.source_missing" if not path.exists() else "core.bad.source_kind", source=label
    )


def _db_tables(con: Any, mappings: Mapping[str, Any]) -> dict[str, ir.Table]:
    available = set(con.list_tables())
    tables = {}
    for name in set(TABLES) | set(mappings):
        source_name = (mappings.get(name) or {}).get("table") or name
        if source_name in available:
            tables[name] = con.table(source_name)
    return tables
