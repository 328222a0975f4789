"""Where a source's tables are and how they are read: files and folders, credentials kept out of
everything printed, and a clear refusal for a file the engine cannot read.

A folder source holds one entry per table: a file ``<table>.parquet|.csv|.csv.gz|.tsv|.json|...``,
or a folder ``<table>/`` or ``<table>.parquet/`` of part files as Spark and Hive write them
(``part-00000.snappy.parquet``, partitioned ``key=value/`` subfolders, ``_SUCCESS`` markers),
read as one table with the partition keys as columns. Two entries for one table
(``orders.csv`` beside ``orders.parquet``) are refused, naming both: which one is meant is the
user's choice (``tables.orders.file`` in the config).

A URL source may carry a secret in several places: the userinfo (``user:password@``, the password
possibly holding an unencoded ``/`` or ``#``), or query parameters (``?password=``, ``token``,
``key``, ``secret``, ``access_key``, ... in any case). :func:`redact` removes them all and is the one
redaction for every label, message and page; :func:`scrub` removes the secrets of every source
opened in this process from any text (an engine's error message may quote them).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import ibis.expr.types as ir

from opsbook.contract import TABLES
from opsbook.engine import read_file
from opsbook.errors import InputError, first_line

FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".tsv", ".tsv.gz", ".json", ".jsonl", ".ndjson")
# files of a Spark/Hive output folder that are not data
_MARKERS = re.compile(r"^(_|\.)|\.crc$")
# query parameter names that hold a secret (matched inside the lowercased name)
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "sig", "credential", "auth", "sas")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# secrets seen in this process's sources, removed by scrub() from any text printed
_KNOWN_SECRETS: set[str] = set()
_MIN_SCRUBBED = 4  # shorter secrets are removed where they sit in a URL, not from all text


class SourceError(InputError):
    """A source that cannot be opened, or a table that is not there."""


# -- credentials ---------------------------------------------------------------------------------
def _split(location: str) -> tuple[str, str, str] | None:
    """``(scheme://, userinfo, rest)`` of a URL (userinfo without its ``@``; empty when none).
    The userinfo ends at the last ``@`` before the query: a password may hold ``/`` or ``#``."""
    scheme = _SCHEME.match(location)
    if not scheme:
        return None
    after = location[scheme.end() :]
    query = after.find("?")
    head = after if query < 0 else after[:query]
    at = head.rfind("@")
    if at < 0:
        return scheme.group(0), "", after
    return scheme.group(0), after[:at], after[at + 1 :]


def _secret_name(name: str) -> bool:
    lowered = unquote(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


_PARAMETER = re.compile(r"([?&;])([^=&;#]*)=([^&;]*)")


def secrets_of(location: str) -> list[str]:
    """The secret parts of a source location: the userinfo's password and the values of query
    parameters whose names say secret (each also URL-decoded)."""
    parts = _split(location)
    if parts is None:
        return []
    _, userinfo, rest = parts
    found = []
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found += [m.group(3) for m in _PARAMETER.finditer(rest) if _secret_name(m.group(2))]
    found = [s for s in found if s]
    return sorted({*found, *(unquote(s) for s in found)}, key=len, reverse=True)


def redact(location: str) -> str:
    """A source location fit to print: the userinfo's password and every secret query
    parameter's value replaced by ``***``; a path or a URL without secrets as it is."""
    parts = _split(location)
    if parts is None:
        return location
    scheme, userinfo, rest = parts
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    rest = _PARAMETER.sub(
        lambda m: f"{m.group(1)}{m.group(2)}=***" if _secret_name(m.group(2)) else m.group(0),
        rest,
    )
    return scheme + (f"{userinfo}@" if userinfo else "") + rest


def remember_secrets(location: str) -> None:
    """Note the secrets of ``location`` so that :func:`scrub` removes them from any text."""
    _KNOWN_SECRETS.update(s for s in secrets_of(location) if len(s) >= _MIN_SCRUBBED)


def scrub(text: str, location: str | None = None) -> str:
    """``text`` without ``location``'s secrets nor those of any source opened in this process:
    each URL in it redacted, each known secret replaced by ``***``."""
    if location:
        text = text.replace(location, redact(location))
        remember_secrets(location)
    text = re.sub(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+", lambda m: redact(m.group(0)), text)
    for secret in sorted(_KNOWN_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# -- the tables of a folder ----------------------------------------------------------------------
def _entry_table(path: Path) -> str | None:
    """The table a folder entry holds by its name (``orders.csv.gz``, ``orders.parquet/``,
    ``orders/``), or None."""
    for suffix in FILE_SUFFIXES:
        if path.name.endswith(suffix) and path.name != suffix:
            return path.name[: -len(suffix)]
    return path.name if path.is_dir() else None


def part_files(folder: Path) -> list[Path]:
    """The data files of a Spark/Hive output folder, in every partition subfolder (markers
    such as ``_SUCCESS`` and checksum files ``.part-0.crc`` left out)."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(_MARKERS.search(part) for part in p.relative_to(folder).parts)
        and (p.name.startswith("part-") or _entry_table(p) is not None)
    )


def table_files(folder: Path, mappings: Mapping[str, Any]) -> dict[str, Path]:
    """Per table, the file or part-file folder that holds it: a mapping's ``file`` where given,
    else the one entry named after the table; two entries for one table are refused."""
    wanted = set(TABLES) | set(mappings)
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        name = _entry_table(path)
        if name in wanted and (path.is_file() or part_files(path)):
            found.setdefault(name, []).append(path)
    files: dict[str, Path] = {}
    for name, paths in found.items():
        spec = mappings.get(name) or {}
        if len(paths) > 1 and not spec.get("file"):
            raise SourceError(
                "core.bad.two_files",
                table=name,
                files=", ".join(p.name for p in paths),
            )
        files[name] = paths[0]
    for name, spec in mappings.items():
        if spec and spec.get("file"):
            file = Path(str(spec["file"])).expanduser()
            file = file if file.is_absolute() else folder / file
            if not file.exists():
                raise SourceError("core.bad.no_file", table=name, file=str(file))
            files[name] = file
    return files


# -- reading -------------------------------------------------------------------------------------
def read_table(con: Any, name: str, path: Path, options: Mapping[str, Any]) -> ir.Table:
    """The table ``name`` from the file or part-file folder ``path`` on the engine ``con``;
    a file the engine cannot read is refused with the file, what was expected and the engine's
    own words."""
    if not isinstance(options, Mapping):
        raise SourceError("core.bad.read_shape", table=name, found=repr(options))
    files = part_files(path) if path.is_dir() else [path]
    if not files:
        raise SourceError("core.bad.empty_folder", table=name, file=str(path))
    kind = file_kind(files[0])
    for file in files:
        _check_file(file, kind)
    if kind == "csv" and con.name == "duckdb" and "skip" not in options:
        _check_header(con, files[0], options)
    try:
        return read_file(con, name, files, kind, dict(options), path if path.is_dir() else None)
    except InputError:
        raise
    except Exception as exc:  # the engine's own reader: its words, with the file named
        raise _read_error(exc, name, path, kind) from None


def file_kind(path: Path) -> str:
    """The format of a data file by its name: parquet, csv, tsv or json."""
    suffixes = "".join(path.suffixes[-2:])
    if path.suffix == ".parquet":
        return "parquet"
    if ".tsv" in suffixes:
        return "tsv"
    if ".csv" in suffixes or (path.name.startswith("part-") and not path.suffix):
        return "csv"
    return "json"


def _check_file(path: Path, kind: str) -> None:
    """Refuse an empty file, and a gzip file cut short (DuckDB reads what it can of it without
    a word): decompressed to its end once, in pieces."""
    if path.stat().st_size == 0:
        raise SourceError("core.bad.empty_file", file=str(path))
    if path.name.endswith(".gz"):
        decompressor = zlib.decompressobj(wbits=31)
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 22):
                    decompressor.decompress(chunk, 0)
        except zlib.error as exc:
            raise SourceError("core.bad.gzip", file=str(path), detail=first_line(exc)) from None
        if not decompressor.eof:
            raise SourceError("core.bad.gzip", file=str(path), detail=gzip.BadGzipFile.__name__)


def _check_header(con: Any, path: Path, options: Mapping[str, Any]) -> None:
    """Refuse a CSV whose first lines have another number of fields than the rest (DuckDB's
    sniffer would skip them, header included, and read the rest without a word)."""
    sniffable = {k: v for k, v in options.items() if k in ("delim", "sep", "quote", "escape")}
    arguments = "".join(f", {k} := '{_quoted(v)}'" for k, v in sniffable.items())
    try:
        query = f"SELECT SkipRows FROM sniff_csv('{_quoted(path)}'{arguments})"
        skipped = con.raw_sql(query).fetchone()
    except Exception:  # the read itself then names what is wrong
        return
    if skipped and skipped[0]:
        raise SourceError("core.bad.ragged", file=str(path), lines=int(skipped[0]))


def _quoted(value: Any) -> str:
    return str(value).replace("'", "''")


def _read_error(exc: Exception, name: str, path: Path, kind: str) -> SourceError:
    detail = first_line(exc)
    lowered = str(exc).lower()
    if "unicode" in lowered or "utf-8" in lowered or "utf8" in lowered:
        return SourceError("core.bad.encoding", file=str(path), table=name)
    if "named parameter" in lowered or isinstance(exc, TypeError) or "could not convert" in lowered:
        return SourceError("core.bad.read_option", table=name, file=str(path), detail=detail)
    key = {"parquet": "core.bad.parquet", "json": "core.bad.json"}.get(kind, "core.bad.csv")
    return SourceError(key, file=str(path), detail=detail)
