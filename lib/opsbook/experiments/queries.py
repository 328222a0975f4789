"""A/B test, the engine step: the experiment's rows, hygiene, per-user measures and per-variant
sufficient sums, computed where the data live (Ibis in, small pandas frames out).

Metric definitions reach these queries as objects with ``name``, ``kind``, ``numerator``,
``denominator``, ``winsorize`` and ``covariate`` (:class:`opsbook.experiments.analysis.
MetricDefinition`); every column a query adds for its own use starts with ``_``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from opsbook.engine import exact_sum, keep
from opsbook.errors import InputError
from opsbook.expressions import evaluate as evaluate_expression
from opsbook.types import to_type

SourceTable = Literal["auto", "assignments", "experiment_results"]
MetricKind = Literal["proportion", "mean", "ratio"]

EVENT_PREFIX = "event:"
ORDER_MEASURES = ("orders", "revenue")
# users without one complete row (their rows count as missing values): not a reason of its own
NO_COMPLETE_ROW = "no_complete_row"
HYGIENE_REASONS = (
    "missing_values",
    "several_variants",
    "misaligned",
    "outside_dates",
    "window_incomplete",
    "duplicate_rows",
)
RESERVED_COLUMNS = frozenset({"user_id", "variant", "experiment", "ts"})


# ============================================================================ the source's tables


def tables_for(
    config: str | None = None, data: str | None = None, source_table: SourceTable = "auto"
) -> tuple[str, ...]:
    """The contract tables the report reads (and checks) for this source: ``experiment_results``,
    or ``assignments`` (and ``orders`` when there are). A folder is only listed, not read."""
    from opsbook.config import load_config
    from opsbook.data import open_source
    from opsbook.sources import table_files

    cfg = load_config(config, data=data)
    folder = Path(cfg.source)
    if "://" not in cfg.source and folder.is_dir():
        present = set(table_files(folder, cfg.tables))
        return _input_tables(_Listing(present, str(folder)), source_table)
    return _input_tables(open_source(cfg), source_table)


@dataclass(frozen=True)
class _Listing:
    """The table names of a folder source, without opening it."""

    names: set[str]
    label: str

    def has(self, name: str) -> bool:
        return name in self.names

    def require(self, name: str) -> None:
        if name not in self.names:
            raise InputError("ab_test.error.no_table", source=self.label, table=name)


def _input_tables(source: Any, source_table: SourceTable) -> tuple[str, ...]:
    chosen = _choose_input(source, source_table)
    if chosen == "experiment_results":
        return ("experiment_results",)
    return ("assignments", "orders") if source.has("orders") else ("assignments",)


def _choose_input(source: Any, source_table: SourceTable) -> str:
    if source_table not in get_args(SourceTable):
        raise ValueError(
            f"source_table must be one of {get_args(SourceTable)}, got {source_table!r}"
        )
    if source_table == "auto":
        if source.has("experiment_results"):
            return "experiment_results"
        if source.has("assignments"):
            return "assignments"
        raise InputError("ab_test.error.no_input", source=source.label)
    source.require(source_table)
    return source_table


# ============================================================================ the experiment's rows


def _experiment_rows(
    source: Any, chosen: str, experiment: str | None, exposure_check: str | None
) -> tuple[ir.Table, str, tuple[str, ...], ir.BooleanValue | None]:
    """The rows of one experiment of the table ``chosen`` (variant as text, ts as naive UTC),
    the experiment's name, the source's other experiments, and the expression that is true
    on a misaligned row (None without ``exposure_check``)."""
    table = source.table(chosen)
    others: tuple[str, ...] = ()
    if "experiment" in table.columns:
        experiment, others = _pick_experiment(table, experiment)
        table = table.filter(table.experiment.cast("string") == experiment).drop("experiment")
    else:
        experiment = str(experiment) if experiment is not None else chosen
    table = table.mutate(variant=table.variant.cast("string"))
    has_ts = "ts" in table.columns
    if has_ts and table.ts.type() != dt.Timestamp():
        # as the contract's timestamps: naive UTC (a per-user export's ts is not in the contract)
        table = table.mutate(ts=to_type(table.ts, dt.Timestamp()))
    if exposure_check:
        # null (cannot tell) counts as misaligned, like a config filter's null
        aligned = evaluate_expression(exposure_check, table).cast("boolean").fill_null(False)
        table = table.mutate(_aligned=aligned)
    misaligned = ~table._aligned if exposure_check else None
    return table, experiment, others, misaligned


def _pick_experiment(table: ir.Table, experiment: str | None) -> tuple[str, tuple[str, ...]]:
    """The experiment to analyse (default: the one of the table's first row) and the others."""
    named = table.filter(table.experiment.notnull())
    available = sorted(
        named.select(name=named.experiment.cast("string")).distinct().execute()["name"].tolist()
    )
    if not available:
        raise InputError("ab_test.error.no_experiment")
    if experiment is None:
        first = table.filter(table.experiment.notnull()).select("experiment").limit(1).execute()
        experiment = str(first.iloc[0, 0])
    experiment = str(experiment)
    if experiment not in available:
        raise InputError(
            "ab_test.error.unknown_experiment",
            experiment=repr(experiment),
            found=", ".join(available),
        )
    return experiment, tuple(n for n in available if n != experiment)


def _binary_columns(table: ir.Table, columns: Sequence[str]) -> dict[str, bool]:
    """The metric columns of a per-user table (numeric or boolean, neither reserved nor
    ``pre_`` or ``_``), in their order: True when one holds only 0/1 (a boolean always)."""
    candidates = [
        c
        for c in columns
        if c not in RESERVED_COLUMNS
        and not c.startswith(("pre_", "_"))
        and (table[c].type().is_numeric() or table[c].type().is_boolean())
    ]
    numeric = [c for c in candidates if not table[c].type().is_boolean()]
    binary: dict[str, bool] = {c: True for c in candidates if c not in numeric}
    if numeric:
        checks = {
            f"c{i}": (table[c].notnull() & (table[c] != 0) & (table[c] != 1)).cast("int64").sum()
            for i, c in enumerate(numeric)
        }
        found = table.aggregate(**checks).execute().iloc[0]
        binary |= {c: int(found[f"c{i}"] or 0) == 0 for i, c in enumerate(numeric)}
    return {c: binary[c] for c in candidates}


def _as_key(value: ir.Value, other: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Join keys of one type: ids are opaque, an int id in one table may be text in another."""
    if value.type() == other.type():
        return value, other
    return value.cast("string"), other.cast("string")


def _data_end(source: Any, tables: Sequence[str]) -> datetime | None:
    """The end of the data: the next local midnight after the last timestamp of ``tables``."""
    last = None
    for name in tables:
        if not source.has(name):
            continue
        value = source.latest(name)
        if value is not None:
            last = value if last is None else max(last, value)
    if last is None:
        return None
    local = pd.Timestamp(last).tz_localize("UTC").tz_convert(source.timezone)
    return source.utc_from_local(local.normalize().tz_localize(None) + timedelta(days=1))


# ============================================================================ hygiene


def _hygiene(
    base: ir.Table,
    *,
    has_ts: bool,
    misaligned: ir.BooleanValue | None,
    start_utc: datetime | None,
    end_utc: datetime | None,
    window_days: int | None,
    data_end: datetime | None,
    order_by: Sequence[str],
) -> tuple[ir.Table, pd.DataFrame, int]:
    """Kept users (one row each: their first exposure) and the exclusions per reason."""
    missing = base.user_id.isnull() | base.variant.isnull()
    if has_ts:
        missing = missing | base.ts.isnull()
    base = base.mutate(
        _ok=~missing,
        _bad=misaligned if misaligned is not None else ibis.literal(False),
    )
    ok = base._ok
    # one row per user (and one for rows without a user): a grouping, not a window (a hash
    # table instead of a sort of every row), in the same scan that counts rows with missing
    # values. Statistics read a user's complete rows only; the first exposure's other columns
    # come from one row: the smallest (ts, order_by ...)
    internal = ("user_id", "variant", "ts", "_ok", "_bad", "_aligned")
    others = [c for c in base.columns if c not in internal]
    order = ([base.ts] if has_ts else []) + [base[c] for c in order_by]
    values: dict[str, ir.Value] = {
        "variant": base.variant.min(where=ok),  # the only one of every kept user
        "_rows": ok.cast("int64").sum(),
        "_missing": (~ok).cast("int64").sum(),
        "_several": base.variant.min(where=ok) != base.variant.max(where=ok),
    }
    if has_ts:
        values["ts"] = base.ts.min(where=ok)
    if misaligned is not None:
        values["_any_bad"] = base._bad.cast("int64").max(where=ok)
    if others:
        row = ibis.struct({c: base[c] for c in others})
        if not order:  # nothing to order by: the smallest row itself
            key = row
        elif len(order) == 1:
            key = order[0]
        else:
            key = ibis.struct({f"k{i}": k for i, k in enumerate(order)})
        values["_first"] = row.argmin(key, where=ok)
    first = base.group_by("user_id").aggregate(**values)
    if others:
        first = first.unpack("_first")
    branches = [(first._rows == 0, NO_COMPLETE_ROW), (first._several, "several_variants")]
    if misaligned is not None:
        branches.append((first._any_bad > 0, "misaligned"))
    if has_ts and start_utc is not None:
        branches.append((first.ts < start_utc, "outside_dates"))
    if has_ts and end_utc is not None:
        branches.append((first.ts >= end_utc, "outside_dates"))
    if has_ts and window_days and data_end is not None:
        branches.append(
            (first.ts + ibis.interval(days=int(window_days)) > data_end, "window_incomplete")
        )
    # one row per user, kept: the exclusions and every later query read it, not the source
    first = first.mutate(_reason=ibis.cases(*branches, else_=ibis.null("string")))
    first = keep(first.drop(*(c for c in ("_several", "_any_bad") if c in first.columns)))
    summary = (
        first.group_by(reason=first._reason)
        .aggregate(
            users=first.count(),
            rows=first._rows.sum(),
            missing=first._missing.sum(),
            dup_users=(first._rows > 1).cast("int64").sum(),
            dup_rows=(first._rows - 1).sum(),
        )
        .execute()
    )
    missing_rows = int(summary["missing"].sum())
    rows_read = int(summary["rows"].sum()) + missing_rows
    rows = {reason: {"users": 0, "rows": 0} for reason in HYGIENE_REASONS}
    rows["missing_values"] = {"users": None, "rows": missing_rows}
    for item in summary.itertuples():
        if item.reason is None or pd.isna(item.reason):
            rows["duplicate_rows"] = {"users": int(item.dup_users), "rows": int(item.dup_rows)}
        elif item.reason != NO_COMPLETE_ROW:  # its rows are counted as missing values
            rows[item.reason] = {"users": int(item.users), "rows": int(item.rows)}
    hygiene = pd.DataFrame(
        [{"reason": r, "users": rows[r]["users"], "rows": rows[r]["rows"]} for r in rows]
    )
    kept = first.filter(first._reason.isnull())
    return kept, hygiene, rows_read


# ============================================================================ per-user values


def _measure_columns(
    source: Any,
    kept: ir.Table,
    measures: set[str],
    *,
    window_days: int,
    pre_days: int | None,
) -> ir.Table:
    """``kept`` with one column per event-level measure (and ``pre_`` covariate), 0 when none."""
    out = kept
    fills: dict[str, Any] = {}
    exposure = kept.select(_xid=kept.user_id, _xts=kept.ts)
    window = ibis.interval(days=int(window_days))
    pre = ibis.interval(days=int(pre_days)) if pre_days else None

    def joined(table: ir.Table, extra: dict[str, ir.Value]) -> ir.Table:
        other = table.select(_uid=table.user_id, _ots=table.ts, **extra)
        left, right = _as_key(exposure._xid, other._uid)
        j = exposure.join(other, left == right)
        post = (j._ots >= j._xts) & (j._ots < j._xts + window)
        before = (j._ots >= j._xts - pre) & (j._ots < j._xts) if pre is not None else None
        j = j.mutate(_post=post, _pre=before if before is not None else ibis.literal(False))
        return j.filter(j._post | j._pre)

    def attach(agg: ir.Table) -> None:
        nonlocal out
        left, right = _as_key(out.user_id, agg._k)
        out = out.left_join(agg, left == right).drop("_k")

    order_measures = [m for m in ORDER_MEASURES if m in measures]
    if order_measures:
        orders = source.table("orders")
        if "status" in orders.columns:
            orders = orders.filter(orders.status.isnull() | (orders.status == "paid"))
        j = joined(orders, {"_amt": orders.amount})
        aggs: dict[str, ir.Value] = {}
        for when, prefix in ((j._post, ""), (j._pre, "pre_")):
            if prefix and pre is None:
                continue
            aggs[f"{prefix}orders"] = ibis.ifelse(when, 1.0, 0.0).sum()
            aggs[f"{prefix}revenue"] = exact_sum(ibis.ifelse(when, j._amt, 0.0))
        attach(j.group_by(_k=j._xid).aggregate(**aggs))
        fills |= {name: 0.0 for name in aggs}
    event_names = sorted(m[len(EVENT_PREFIX) :] for m in measures if m.startswith(EVENT_PREFIX))
    if event_names:
        source.require("events")
        events = source.table("events")
        events = events.filter(events.event.isin(event_names))
        j = joined(events, {"_ev": events.event})
        aggs = {}
        for i, name in enumerate(event_names):
            hit = j._ev == name
            aggs[f"_ev{i}"] = ibis.ifelse(j._post & hit, 1.0, 0.0).sum()
            if pre is not None:
                aggs[f"pre__ev{i}"] = ibis.ifelse(j._pre & hit, 1.0, 0.0).sum()
        attach(j.group_by(_k=j._xid).aggregate(**aggs))
        fills |= {name: 0.0 for name in aggs}
    if fills:
        out = out.mutate(**{name: out[name].fill_null(value) for name, value in fills.items()})
    return out


def _event_column(measure: str, event_names: Sequence[str]) -> str:
    if measure.startswith(EVENT_PREFIX):
        return f"_ev{event_names.index(measure[len(EVENT_PREFIX) :])}"
    return measure


def _value(column: ir.Value, kind: MetricKind) -> ir.NumericValue:
    """A user's value of a metric: a proportion's 0 or 1 as an integer (summed as integers, exact
    and cheaper than the exact sum of a float), any other value as a float."""
    if kind == "proportion":
        hit = column if column.type().is_boolean() else column > 0
        return hit.cast("int64")
    return column.cast("float64")


def _per_user_values(
    source: Any,
    kept: ir.Table,
    definitions: Sequence[Any],
    measures: set[str],
    *,
    chosen: str,
    has_ts: bool,
    window_days: int | None,
    pre_days: int | None,
) -> tuple[ir.Table, tuple[str | None, ...]]:
    """Per kept user: ``variant``, the local exposure day ``_day`` and per metric ``i`` of
    ``definitions`` its value or numerator ``_a<i>`` and its covariate or denominator ``_b<i>``;
    and each metric's covariate measure (None: none)."""
    event_names = sorted(m[len(EVENT_PREFIX) :] for m in measures if m.startswith(EVENT_PREFIX))
    if chosen == "assignments":
        per_user = _measure_columns(
            source, kept, measures, window_days=int(window_days), pre_days=pre_days
        )

        def column(measure: str) -> str:
            return _event_column(measure, event_names)

        def covariate_of(d: Any) -> str | None:
            if d.kind == "ratio" or d.covariate is False or pre_days is None:
                return None
            return f"pre_{column(d.covariate or d.numerator)}"
    else:
        per_user = kept

        def column(measure: str) -> str:
            return measure

        def covariate_of(d: Any) -> str | None:
            if d.kind == "ratio" or d.covariate is False:
                return None
            name = d.covariate or f"pre_{d.numerator}"
            if name not in per_user.columns:
                if d.covariate:
                    raise ValueError(f"metric {d.name}: no covariate column {name!r}")
                return None
            return name

    covariates = tuple(covariate_of(d) for d in definitions)
    values: dict[str, ir.Value] = {}
    for i, d in enumerate(definitions):
        a = _value(per_user[column(d.numerator)], d.kind)
        if d.kind == "ratio":
            b = per_user[column(d.denominator)].cast("float64")
            a = ibis.ifelse(b.isnull(), ibis.null("float64"), a)
            b = ibis.ifelse(a.isnull(), ibis.null("float64"), b)
        elif covariates[i] is not None:
            x = _value(per_user[covariates[i]], d.kind).fill_null(0)
            b = ibis.ifelse(a.isnull(), ibis.null(x.type()), x)
        else:  # no covariate: its sums are null (an integer null costs no exact float sum)
            b = ibis.null("int64")
        values[f"_a{i}"], values[f"_b{i}"] = a, b
    day = source.local_date(per_user.ts) if has_ts else ibis.null("date")
    per_user = per_user.select("user_id", "variant", _day=day, **values)
    return per_user, covariates


def _winsorized(
    per_user: ir.Table,
    definitions: Sequence[Any],
    covariates: Sequence[str | None],
    *,
    segments: Sequence[str] | None,
) -> tuple[ir.Table, dict[str, float]]:
    """The per-user values with every winsorised metric capped (values above the cap set to
    it), and the caps by metric name."""
    capped = [(i, d) for i, d in enumerate(definitions) if d.winsorize is not None]
    if capped or segments:
        # several queries read the per-user values: computed once (else one query, no copy)
        per_user = keep(per_user)

    # winsorising: upper caps at a quantile of all kept users, in the engine
    caps: dict[str, float] = {}
    if capped:
        quantiles = {}
        for i, d in capped:
            quantiles[f"a{i}"] = per_user[f"_a{i}"].quantile(d.winsorize)
            if covariates[i] is not None:
                quantiles[f"b{i}"] = per_user[f"_b{i}"].quantile(d.winsorize)
        found = per_user.aggregate(**quantiles).execute().iloc[0]
        mutations = {}
        for key, cap in found.items():
            if cap is None or pd.isna(cap):
                continue
            name = f"_{key}"
            mutations[name] = ibis.ifelse(per_user[name] > float(cap), float(cap), per_user[name])
            if key.startswith("a"):
                caps[definitions[int(key[1:])].name] = float(cap)
        per_user = per_user.mutate(**mutations)
    return per_user, caps


# ============================================================================ sums


def _sums(per_user: ir.Table, n_metrics: int, by: list[str]) -> pd.DataFrame:
    """Per group: users and the six sufficient sums of each metric (computed in the engine)."""
    aggs: dict[str, ir.Value] = {"users": per_user.count()}
    for i in range(n_metrics):
        a, b = per_user[f"_a{i}"], per_user[f"_b{i}"]
        aggs |= {
            f"m{i}_n": a.count(),
            f"m{i}_a": exact_sum(a),
            f"m{i}_aa": exact_sum(a * a),
            f"m{i}_b": exact_sum(b),
            f"m{i}_bb": exact_sum(b * b),
            f"m{i}_ab": exact_sum(a * b),
        }
    frame = per_user.group_by(by).aggregate(**aggs).execute()
    numeric = [c for c in frame.columns if c not in by]
    frame[numeric] = frame[numeric].astype(float).fillna(0.0)
    return frame.sort_values(by, na_position="first").reset_index(drop=True)


def _segment_sums(
    source: Any,
    table: ir.Table,
    kept: ir.Table,
    per_user: ir.Table,
    segments: Sequence[str] | None,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The sums of the primary metric (``_a0``, ``_b0``) per segment value and variant, for
    each segment column found in the experiment's rows ``table`` or in ``users``; the columns
    found and those missing."""
    segment_frames, found_segments, missing_segments = [], [], []
    users_table = source.table("users") if source.has("users") else None
    for name in segments or ():
        if name in table.columns:
            seg_values = kept.select(_sid=kept.user_id, _seg=kept[name].cast("string"))
        elif users_table is not None and name in users_table.columns:
            seg_values = users_table.select(
                _sid=users_table.user_id, _seg=users_table[name].cast("string")
            )
        else:
            missing_segments.append(name)
            continue
        left, right = _as_key(per_user.user_id, seg_values._sid)
        with_seg = per_user.left_join(seg_values, left == right)
        with_seg = with_seg.mutate(_seg=with_seg._seg.fill_null("—"))
        part = _sums(with_seg, 1, ["_seg", "variant"]).rename(columns={"_seg": "value"})
        segment_frames.append(part.assign(segment=name))
        found_segments.append(name)
    segment_sums = (
        pd.concat(segment_frames, ignore_index=True)
        if segment_frames
        else pd.DataFrame(columns=["segment", "value", "variant", "users"])
    )
    return segment_sums, found_segments, missing_segments
