"""The activity rollup: per user and local day, the additive quantities the reports read.

Most questions of retention and the KPI dashboard are answered from "who was active on which
local day" and "how many paid orders, how much revenue per user and day"; each asked of the raw
events again, they made the report suite scan 62M events dozens of times at 1M users. The rollup
answers them from one row per user and local day (the day of :meth:`Source.table`'s
``local_day``, the configured zone):

- ``events``: ``user_id, day, events`` (rows with a user and a time) and ``first_ts`` (the day's
  first event, naive UTC: "active on day d by the instant u" is ``first_ts < u``);
- ``orders``: ``user_id, day, orders, first_ts`` (every order), ``paid_orders, first_paid_ts,
  paid_amount, paid_squares`` (paid: status ``paid`` or none) and ``refunds, refunded_amount``.

Counts are integers and money is the exact decimal total of :func:`opsbook.engine.exact_total`:
sums over the rollup equal sums over the rows to the last digit, in any order and over any split
of the rows into parts. The same functions give the expression over the raw rows
(:func:`rolled_rows`), so the numbers agree by construction.

Where it is kept: on DuckDB over a folder of files, as Parquet in the cache folder (config
``cache.folder``; :class:`RollupCache`), kept between runs under a key of the source's files,
the mapping, the zone and :data:`ROLLUP_VERSION`; rows added as new part files are rolled up
alone and added as another part. Readers read the parts as they are while each user and day is
in one row of them (a new part's days all after the earlier parts' days: the next day's files),
and re-aggregate by user and day otherwise (late rows of a day an earlier part holds).
Otherwise (``--no-cache``, a database or URL source, an unwritable folder) it is computed once
per open source and kept on the engine (:func:`opsbook.engine.keep`); on a warehouse reached by
URL, where nothing is kept, the reports read the rows as before.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow.parquet as pq

from opsbook import __version__
from opsbook.data import Source
from opsbook.engine import KEEPING_ENGINES, exact_total, keep_parts, read_file
from opsbook.errors import first_line
from opsbook.i18n import t
from opsbook.parts import Within, input_rows, kept_by_user, user_ranges
from opsbook.sources import file_kind, part_files

ROLLUP_VERSION = 2  # raise when what a rollup holds or how it is computed changes
NO_CACHE_ENV = "OPSBOOK_NO_CACHE"  # set by `opsbook run --no-cache` for its kernels
ROLLED = ("events", "orders")
PAID = "paid"
REFUNDED = "refunded"
# how each column of a rollup re-aggregates over parts: counts and totals add, first times min
MERGE = {
    "events": "sum",
    "orders": "sum",
    "paid_orders": "sum",
    "refunds": "sum",
    "paid_amount": "sum",
    "paid_squares": "sum",
    "refunded_amount": "sum",
    "first_ts": "min",
    "first_paid_ts": "min",
}
# the reports whose questions read a rollup (:func:`user_days`): a run of any of them builds the
# rollups before its kernels start (:func:`prepare`); a report not named here that reads one
# builds it itself, under the same lock
READERS = frozenset({"retention", "campaign_review", "kpi_dashboard", "behaviour"})
MANIFEST = "manifest.json"
STALE_PART_SECONDS = 3600  # a part no manifest names is removed after this (a run may read it)


def _every(table: ir.Table) -> ir.Table:
    return table


def is_paid(orders: ir.Table) -> ir.BooleanValue:
    """Orders that count as paid: status ``paid`` or no status (every order of a source without
    a status column)."""
    if "status" not in orders.columns:
        return ibis.literal(True)
    return orders.status.isnull() | (orders.status == PAID)


# -- the rollup over rows ----------------------------------------------------------------------
def event_days(source: Source, within: Within = _every) -> ir.Table:
    """The events rollup (module docstring) over ``source``'s event rows (``within``: of one
    range of users, :mod:`opsbook.parts`)."""
    events = source.table("events", local_day=True)
    events = within(events.filter(events.user_id.notnull() & events.ts.notnull()))
    return events.group_by("user_id", day=events.local_day).aggregate(
        events=events.count(), first_ts=events.ts.min()
    )


def order_days(source: Source, within: Within = _every) -> ir.Table:
    """The orders rollup (module docstring) over ``source``'s order rows (``within``: of one
    range of users)."""
    orders = source.table("orders", local_day=True)
    orders = within(orders.filter(orders.user_id.notnull() & orders.ts.notnull()))
    paid = is_paid(orders)
    sums: dict[str, ir.Value] = {
        "orders": orders.count(),
        "first_ts": orders.ts.min(),
        "paid_orders": orders.count(where=paid),
        "first_paid_ts": orders.ts.min(where=paid),
    }
    if "amount" in orders.columns:
        sums |= {
            "paid_amount": exact_total(orders.amount, where=paid),
            "paid_squares": exact_total(orders.amount * orders.amount, where=paid),
        }
    if "status" in orders.columns:
        refunded = orders.status == REFUNDED
        sums["refunds"] = orders.count(where=refunded)
        if "amount" in orders.columns:
            sums["refunded_amount"] = exact_total(orders.amount, where=refunded)
    return orders.group_by("user_id", day=orders.local_day).aggregate(**sums)


ROLLUPS: dict[str, Callable[..., ir.Table]] = {"events": event_days, "orders": order_days}


def rolled_rows(source: Source, name: str, within: Within = _every) -> ir.Table:
    """The rollup of table ``name`` as an expression over the raw rows of the whole source
    (``within``: of one range of users)."""
    return ROLLUPS[name](source.whole(), within)


def rolled_in_parts(source: Source, name: str) -> list[ir.Table]:
    """The rollup of ``name`` as expressions over ranges of users that each fit the engine's
    memory (:mod:`opsbook.parts`; one at 1M users, nine at 10M under a 4 GB limit)."""
    return [
        rolled_rows(source, name, within)
        for within in user_ranges(source, input_rows(source, name))
    ]


def merged(parts: ir.Table) -> ir.Table:
    """Rollup rows of several parts re-aggregated to one row per user and day (late rows of a
    day that an earlier part holds too are added to it)."""
    aggs = {
        c: parts[c].sum() if MERGE[c] == "sum" else parts[c].min()
        for c in parts.columns
        if c in MERGE
    }
    return parts.group_by("user_id", "day").aggregate(**aggs)


def total(column: ir.NumericValue) -> ir.NumericScalar:
    """The sum of a rollup column as :func:`opsbook.engine.exact_sum` gives it over the rows:
    money (an exact decimal) as a float64, counts as integers."""
    summed = column.sum()
    return summed.cast("float64") if column.type().is_decimal() else summed


# -- what the reports read ---------------------------------------------------------------------
def user_days(source: Source, name: str) -> ir.Table | None:
    """The rollup of table ``name`` (one row per user and local day) for ``source``, or None
    where it cannot answer for it: the table is absent, the view leaves rows out
    (:meth:`Source.before`, :meth:`Source.without`), or the engine keeps nothing (a warehouse
    reached by URL: its questions read the rows)."""
    if not source.has(name) or source.restricted(name) or source.engine not in KEEPING_ENGINES:
        return None
    shared = source.shared
    key = ("rollup", name)
    if key not in shared:
        shared[key] = _load(source, name)
    return shared[key]


def active_days(source: Source, event: str, until: Any) -> ir.Table | None:
    """``user_id, day``: the local days on which a user had ``event`` (``any`` event -- orders
    when the source has no events table --, or ``order``: a paid order) before the naive-UTC
    instant ``until`` (None: ever), one row each; None where the rollup cannot answer (an event
    name, or :func:`user_days` is None)."""
    if event == "order" or (event == "any" and not source.has("events")):
        days = user_days(source, "orders")
        count, first = (
            ("paid_orders", "first_paid_ts") if event == "order" else ("orders", "first_ts")
        )
    elif event == "any":
        days, count, first = user_days(source, "events"), "events", "first_ts"
    else:
        return None
    if days is None:
        return None
    kept = days[count] > 0
    if until is not None:
        kept &= days[first] < until
    return days.filter(kept).select("user_id", "day")


# -- computing, reading and caching ------------------------------------------------------------
def cache_disabled(source: Source) -> bool:
    """No cache for this open source: ``--no-cache`` (its kernels' environment), or
    ``cache.folder`` null in the config."""
    return bool(os.environ.get(NO_CACHE_ENV)) or source.config.cache_folder is None


def _load(source: Source, name: str) -> ir.Table:
    """The rollup of ``name`` from the cache where there is one, else computed and kept for the
    session. In a run the runner has said why there is no cache (and its kernels go without);
    in JupyterLab the first report that finds none says so, once per process."""
    if source.engine == "duckdb" and not cache_disabled(source):
        cache = RollupCache.of(source)
        if cache is None:
            _say_once(t("core.cache_no_files", source.config.lang, source=source.label))
        else:
            try:
                return cache.table(source, name)
            except OSError as exc:
                folder, detail = str(cache.folder), first_line(exc)
                _say_once(
                    t("core.cache_unwritable", source.config.lang, folder=folder, detail=detail)
                )
    return keep_parts(rolled_in_parts(source, name))


_SAID: set[str] = set()


def _say_once(text: str) -> None:
    if text not in _SAID:
        _SAID.add(text)
        warnings.warn(text, stacklevel=4)


def file_entries(path: Path) -> list[list[Any]]:
    """``[relative name, size, modification time (ns)]`` of a table's file or part files."""
    files = part_files(path) if path.is_dir() else [path]
    base = path if path.is_dir() else path.parent
    entries = []
    for file in files:
        stat = file.stat()
        entries.append([str(file.relative_to(base)), stat.st_size, stat.st_mtime_ns])
    return entries


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


class RollupCache:
    """The Parquet copy of one folder source's rollups in ``folder``: per rolled table its part
    files and, in ``manifest.json``, the key they were computed under, the table's files then,
    and each part's size and SHA-256 (a part that does not match is never read: rebuilt).

    Every file is written under a temporary name and renamed, the manifest last: two runs
    building at once each leave a complete manifest naming complete parts."""

    def __init__(self, folder: Path, key: dict[str, Any]):
        self.folder = folder
        self.key = _digest(key)
        self.paths: dict[str, str] = {}  # per table, how it was last served (tests, the runner)

    @staticmethod
    def of(source: Source) -> RollupCache | None:
        """The cache of ``source`` (None: not a folder of files, or caching is off)."""
        base = source.config.cache_folder
        if base is None or not source.files:
            return None
        key = {
            "version": ROLLUP_VERSION,
            "opsbook": __version__,
            "source": source.label,
            "timezone": source.timezone,
            "tables": {n: source.config.tables.get(n) for n in ROLLED},
            # the types the mapping yields (an id read as text because another table holds it so)
            "schemas": {n: str(source.mapped(n).schema()) for n in ROLLED if source.has(n)},
        }
        folder = base / f"rollup-{_digest(source.label)[:16]}"
        return RollupCache(folder, key)

    # -- the manifest --------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        """The manifest if it is readable and of this key, else an empty one."""
        try:
            found = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"key": self.key, "tables": {}}
        if not isinstance(found, dict) or found.get("key") != self.key:
            return {"key": self.key, "tables": {}}
        found.setdefault("tables", {})
        return found

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        self._atomic_write(
            self.folder / MANIFEST, lambda p: p.write_text(json.dumps(manifest), encoding="utf-8")
        )

    def _atomic_write(self, path: Path, write: Callable[[Path], Any]) -> None:
        temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            write(temp)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    # -- serving a table -----------------------------------------------------------------------
    @contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """Hold the table's lock file (POSIX ``flock``): one process or thread at a time decides
        whether the rollup of ``name`` is current and builds it if not; the others wait and
        then read what it wrote. Raises OSError when the folder cannot be written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f".{name}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            yield

    def table(self, source: Source, name: str) -> ir.Table:
        """The rollup of ``name`` for ``source``: read from the parts when they are of the
        table's files now; the new part files' rollup added when the only change is part files
        added; rebuilt otherwise (or when a part is corrupt). The first reader builds, under
        the table's lock: reports started together build it once. Raises OSError when the
        folder cannot be written."""
        with self.locked(name):
            return self._served(source, name)

    def _served(self, source: Source, name: str) -> ir.Table:
        now = file_entries(Path(source.files[name]))
        manifest = self.manifest()
        entry = manifest["tables"].get(name)
        if entry is not None and not self._intact(entry):
            entry = None
        if entry is not None and entry["files"] == now:
            self.paths[name] = "read"
        elif entry is not None and self._appended(source, name, entry["files"], now):
            added = [f for f in now if f not in entry["files"]]
            part = self._write_part(name, self._rows_of(source, name, added))
            disjoint = entry.get("disjoint", False) and _follows(entry["parts"], part)
            entry = {"files": now, "parts": [*entry["parts"], part], "disjoint": disjoint}
            self.paths[name] = "incremental"
        else:
            entry = self._built(source, name, now)
            self.paths[name] = "rebuilt"
        if self.paths[name] != "read":
            manifest = self.manifest()  # another run may have written another table meanwhile
            manifest["tables"][name] = entry
            self._write_manifest(manifest)
            self._remove_stale(manifest)
        try:
            return self._read(source, name, entry)
        except Exception:  # a part that passed the checks but cannot be read: rebuilt
            if self.paths[name] == "rebuilt":
                raise
            entry = self._built(source, name, now)
            self.paths[name] = "rebuilt"
            manifest = self.manifest()
            manifest["tables"][name] = entry
            self._write_manifest(manifest)
            return self._read(source, name, entry)

    def _built(self, source: Source, name: str, files: list[list[Any]]) -> dict[str, Any]:
        """The manifest entry of the rollup of ``name`` computed from all its ``files``: a part
        per range of users (:func:`rolled_in_parts`), which hold no user in common (disjoint:
        each user and day is in one row of them)."""
        parts = [self._write_part(name, rows) for rows in rolled_in_parts(source, name)]
        return {"files": files, "parts": parts, "disjoint": True}

    def _intact(self, entry: dict[str, Any]) -> bool:
        """Every part of a manifest entry is there with its recorded size and digest."""
        try:
            for part in entry["parts"]:
                path = self.folder / part["file"]
                if path.stat().st_size != part["size"] or _file_digest(path) != part["sha256"]:
                    return False
        except (OSError, KeyError, TypeError):
            return False
        return True

    @staticmethod
    def _appended(source: Source, name: str, before: list, now: list) -> bool:
        """Whether the only change from ``before`` is part files added to the table's folder
        (each earlier file still there with its size and time), on a mapping that keeps rows
        as they are (an aggregating mapping may merge a new row into an old one)."""
        folder = Path(source.files[name]).is_dir()
        aggregates = bool((source.config.tables.get(name) or {}).get("aggregate"))
        # names are unique in a folder: every earlier entry unchanged means the rest are new
        grown = len(now) > len(before) and all(f in now for f in before)
        return folder and not aggregates and grown

    def _rows_of(self, source: Source, name: str, added: list[list[Any]]) -> ir.Table:
        """The rollup of the rows in the ``added`` part files of table ``name`` alone."""
        folder = Path(source.files[name])
        files = [folder / f[0] for f in added]
        options = (source.config.tables.get(name) or {}).get("read") or {}
        raw = read_file(
            source.con,
            f"{name}_added_{secrets.token_hex(4)}",
            files,
            file_kind(files[0]),
            dict(options),
            folder,
        )
        return ROLLUPS[name](source.whole().reading(name, raw))

    def _write_part(self, name: str, rows: ir.Table) -> dict[str, Any]:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}-{int(time.time())}-{secrets.token_hex(6)}.parquet"
        self._atomic_write(path, lambda p: rows.to_parquet(p))
        size, sha256 = path.stat().st_size, _file_digest(path)
        return {"file": path.name, "size": size, "sha256": sha256, "days": _day_span(path)}

    def _read(self, source: Source, name: str, entry: dict[str, Any]) -> ir.Table:
        paths = [str(self.folder / part["file"]) for part in entry["parts"]]
        # a footer that does not parse: not read
        rows = sum(pq.read_metadata(path).num_rows for path in paths)
        table = source.con.read_parquet(paths, table_name=f"rollup_{name}_{secrets.token_hex(4)}")
        if len(paths) == 1 or entry.get("disjoint"):
            return table
        return kept_by_user(source, rows, lambda within: merged(within(table)))

    def _remove_stale(self, manifest: dict[str, Any]) -> None:
        """Remove the parts no table of ``manifest`` names that are older than
        :data:`STALE_PART_SECONDS` (a run that read an earlier manifest may still read them)."""
        named = {p["file"] for e in manifest["tables"].values() for p in e["parts"]}
        for path in self.folder.glob("*.parquet"):
            try:
                if (
                    path.name not in named
                    and path.stat().st_mtime < time.time() - STALE_PART_SECONDS
                ):
                    path.unlink()
            except OSError:
                continue


def _day_span(path: Path) -> list[int] | None:
    """``[first, last]`` local day (days since 1970-01-01) of the rows of a rollup part, from
    its Parquet statistics: ``[]`` when it has no rows, None when the statistics do not say."""
    meta = pq.read_metadata(path)
    if meta.num_rows == 0:
        return []
    column = meta.schema.to_arrow_schema().get_field_index("day")
    if column < 0:
        return None
    stats = [meta.row_group(i).column(column).statistics for i in range(meta.num_row_groups)]
    if not all(s is not None and s.has_min_max for s in stats):
        return None
    return [int(min(s.min for s in stats)), int(max(s.max for s in stats))]


def _follows(parts: list[dict[str, Any]], part: dict[str, Any]) -> bool:
    """Whether every day of ``part`` comes after every day of ``parts`` (so no user and day is
    in two of them); False where a part's days are not known."""
    days, spans = part.get("days"), [p.get("days") for p in parts]
    if days == []:
        return True
    if days is None or None in spans:
        return False
    return all(not span or span[1] < days[0] for span in spans)


def prepare(source: Source, lang: str, reports: Sequence[str], say: Callable[[str], Any]) -> bool:
    """Before a run's kernels start: build or refresh the cached rollups of ``source`` when one
    of ``reports`` reads them (:data:`READERS`), so that every kernel reads them and none spends
    its own time on them; ``say`` is told how each was served and in how many seconds, or, once,
    why the run goes without the cache (a source without files, an unwritable folder). Returns
    whether the kernels can read the cache (False: each computes its rollups from the rows)."""
    if cache_disabled(source):
        return False
    if not source.files:
        say(t("core.cache_no_files", lang, source=source.label))
        return False
    cache = RollupCache.of(source)
    if cache is None or source.engine != "duckdb":  # Spark keeps it as a cached DataFrame
        return False
    build = bool(READERS & set(reports))
    began = time.monotonic()
    try:
        for name in filter(source.has, ROLLED):
            if build:
                cache.table(source, name)
            else:
                with cache.locked(name):  # the folder and its lock files can be written
                    pass
    except OSError as exc:
        say(t("core.cache_unwritable", lang, folder=str(cache.folder), detail=first_line(exc)))
        return False
    except Exception as exc:  # the engine failed (out of memory): each report tries on its own
        say(t("core.rollup_failed", lang, detail=first_line(exc)))
        return False
    if cache.paths:
        served = ", ".join(
            f"{name}: {t(f'core.rollup_{how}', lang)}" for name, how in cache.paths.items()
        )
        say(t("core.rollup_ready", lang, served=served, seconds=f"{time.monotonic() - began:.1f}"))
    return True
