"""A/B test evaluation: is the experiment valid, how big is the effect, how sure are we, what now?

The engine does the heavy work; :mod:`opsbook.stats` does the statistics on per-variant sums.

Inputs
------
Two kinds of source, chosen with ``source_table`` (``auto``: ``experiment_results`` when the
source has it, else ``assignments``):

* **event level** -- ``assignments`` (experiment, user_id, variant, ts of first exposure) plus
  ``orders`` (and ``events`` for event-count metrics). Per user the engine computes *measures*
  over the observation window ``[ts, ts + window_days)`` after the user's first exposure:
  ``orders`` (paid orders: status null or ``paid``), ``revenue`` (their amounts) and
  ``event:<name>`` (events named ``<name>``), and the same measures over the pre-period
  ``[ts - pre_days, ts)`` as CUPED covariates (a user without pre-period activity has 0).
* **per-user table** -- ``experiment_results`` (user_id, variant, optional experiment and ts,
  one column per metric, optional ``pre_<column>`` covariates), as experiment platforms export
  it. Every numeric or boolean column is a measure.

Metrics
-------
A metric is declared with a mapping (in the config under ``reports.ab_test.metric_definitions``
or as the report parameter of that name)::

    reports:
      ab_test:
        metrics: [conversion, revenue_per_user]     # reported, the first one is the primary
        metric_definitions:
          - {name: conversion, kind: proportion, numerator: orders}
          - {name: revenue_per_user, kind: mean, numerator: revenue, winsorize: 0.99}
          - {name: revenue_per_order, kind: ratio, numerator: revenue, denominator: orders}
          - {name: carts, kind: mean, numerator: "event:add_to_cart"}
          - {name: refunds, kind: mean, numerator: refunds, direction: lower_is_better,
             guardrail: true, margin: 0.02}

``kind``: ``proportion`` (share of users whose numerator is > 0 or true), ``mean`` (mean of the
per-user numerator) or ``ratio`` (Σ numerator / Σ denominator over users, e.g. revenue per order,
with the user as randomisation unit: delta method with the covariance). ``direction``:
``higher_is_better`` (default) or ``lower_is_better``. ``guardrail: true`` makes a metric a
guardrail: a shipped variant must not make it significantly worse (unadjusted p, to stay
sensitive to harm), or, with ``margin`` (relative, e.g. 0.02), must be shown non-inferior
(one-sided at alpha/2). ``winsorize``: cap the per-user value at this quantile of all users of the
experiment (pooled across variants, computed in the engine; mean metrics only). ``covariate``:
the CUPED covariate measure (default ``pre_<numerator>``; ``false`` for none).

Without declarations: event-level sources get ``conversion``, ``orders_per_user``,
``revenue_per_user`` and ``revenue_per_order``; per-user tables get one metric per metric column,
a 0/1 or boolean column as a proportion and any other number as a mean. Declarations override
these by name and add new ones. ``metrics`` picks and orders them; the first is the primary
metric, on which the decision rests.

Hygiene (in the engine, counted and shown; a user counts under the first reason that applies)
----------------------------------------------------------------------------------------------
1. ``missing_values``: rows without user, variant (or exposure time, for assignments);
2. ``several_variants``: users with rows in more than one variant -- all their rows go;
3. ``misaligned``: users with a row whose actual experience contradicts its variant, as told by
   the ``exposure_check`` expression (true when aligned, e.g. ``(variant == 'treatment') ==
   (landing_page == 'new_page')``) -- the user saw the other arm, all their rows go;
4. ``outside_dates``: first exposure outside ``exposure_start`` .. ``exposure_end`` (local dates);
5. ``window_incomplete``: the observation window ends after the data do (event level);
6. ``duplicate_rows``: further rows of a kept user (same variant): the first exposure is kept
   (without an exposure time, the row with the smallest metric values: a deterministic choice).

Analysis
--------
The engine aggregates the kept users to per-variant, per-exposure-day sufficient statistics (n,
Σa, Σa², Σb, Σb², Σab with a = the metric or numerator, b = the covariate or denominator); the
daily rows add up to the totals (the results), cumulatively to the lift over time, and segment
rows to exploratory breakdowns. The control is the ``control`` parameter or the variant named
control, ctrl, A, old, baseline, original or default, else the first in natural sort order.

Decision: ``invalid`` when the SRM check says so; ``ship`` when a variant beats control on the
primary metric (adjusted p < alpha, in the good direction) and passes every guardrail;
``dont_ship`` when every variant is significantly worse on the primary metric or fails a
guardrail; otherwise ``inconclusive``, with the extra days (or users) needed to detect the
observed primary lift with the given power at the current traffic.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from IPython.display import HTML, display
from scipy import special

from opsbook import stats
from opsbook.data import to_type
from opsbook.engine import keep
from opsbook.expressions import evaluate as evaluate_expression
from opsbook.i18n import t
from opsbook.plots import PALETTE, STATUS_COLOURS, figure
from opsbook.report import Report, fmt, is_batch, jsonable

__all__ = [
    "ABTestResult",
    "Decision",
    "Experiment",
    "MetricDefinition",
    "Settings",
    "decide",
    "default_control",
    "evaluate",
    "explore",
    "more_days_needed",
    "prepare",
    "tables_for",
]

SourceTable = Literal["auto", "assignments", "experiment_results"]
MetricKind = Literal["proportion", "mean", "ratio"]
Role = Literal["primary", "secondary", "guardrail"]
DecisionCode = Literal["ship", "dont_ship", "inconclusive", "invalid"]

CONTROL_NAMES = ("control", "ctrl", "a", "old", "baseline", "original", "default")
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
RESULT_KEYS = (
    "metric",
    "variant",
    "control_mean",
    "variant_mean",
    "abs_lift",
    "rel_lift",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_adjusted",
    "chance_to_win",
)
DEFINITION_KEYS = frozenset(
    {
        "name",
        "kind",
        "numerator",
        "denominator",
        "direction",
        "guardrail",
        "margin",
        "winsorize",
        "covariate",
    }
)
RESERVED_COLUMNS = frozenset({"user_id", "variant", "experiment", "ts"})
SUM_PARTS = ("n", "a", "aa", "b", "bb", "ab")
IMPRACTICAL_DAYS = 365
MENTION_REDUCTION = 0.01  # CUPED variance reductions below this are not worth a sentence


# ============================================================================ metric definitions


@dataclass(frozen=True)
class MetricDefinition:
    """One metric of the experiment (see the module docstring for the fields)."""

    name: str
    kind: MetricKind
    numerator: str
    denominator: str | None = None
    direction: stats.Direction = "higher_is_better"
    guardrail: bool = False
    margin: float | None = None
    winsorize: float | None = None
    covariate: str | Literal[False] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"a metric needs a name, got {self.name!r}")
        if self.kind not in get_args(MetricKind):
            raise ValueError(
                f"metric {self.name}: kind must be one of {get_args(MetricKind)}, got {self.kind!r}"
            )
        if not isinstance(self.numerator, str) or not self.numerator:
            raise ValueError(f"metric {self.name}: a numerator is required")
        if (self.kind == "ratio") != bool(self.denominator):
            raise ValueError(
                f"metric {self.name}: a denominator is required for a ratio and only for a ratio"
            )
        if self.direction not in get_args(stats.Direction):
            raise ValueError(
                f"metric {self.name}: direction must be one of {get_args(stats.Direction)}, "
                f"got {self.direction!r}"
            )
        if self.margin is not None and not (
            isinstance(self.margin, int | float) and 0 < self.margin < 1
        ):
            raise ValueError(f"metric {self.name}: margin must be in (0, 1), got {self.margin!r}")
        if self.winsorize is not None and not (
            isinstance(self.winsorize, int | float) and 0.5 <= self.winsorize < 1
        ):
            raise ValueError(
                f"metric {self.name}: winsorize must be a quantile in [0.5, 1), "
                f"got {self.winsorize!r}"
            )
        if self.winsorize is not None and self.kind != "mean":
            raise ValueError(f"metric {self.name}: only mean metrics can be winsorised")

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | MetricDefinition) -> MetricDefinition:
        """A definition from a config mapping; unknown keys and bad values raise."""
        if isinstance(spec, MetricDefinition):
            return spec
        if not isinstance(spec, Mapping):
            raise ValueError(f"a metric definition is a mapping, got {spec!r}")
        unknown = set(spec) - DEFINITION_KEYS
        if unknown:
            raise ValueError(
                f"metric definition {spec.get('name')!r}: unknown keys {sorted(unknown)}; "
                f"allowed are {sorted(DEFINITION_KEYS)}"
            )
        values = dict(spec)
        direction = {"higher": "higher_is_better", "lower": "lower_is_better"}.get(
            values.get("direction"), values.get("direction") or "higher_is_better"
        )
        values["direction"] = direction
        values["guardrail"] = bool(values.get("guardrail", False))
        if "kind" not in values:
            values["kind"] = "ratio" if values.get("denominator") else "mean"
        return cls(**values)

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher_is_better"


def default_event_metrics() -> tuple[MetricDefinition, ...]:
    """The metrics of an event-level experiment when none are declared."""
    return (
        MetricDefinition("conversion", "proportion", "orders"),
        MetricDefinition("orders_per_user", "mean", "orders"),
        MetricDefinition("revenue_per_user", "mean", "revenue"),
        MetricDefinition("revenue_per_order", "ratio", "revenue", "orders"),
    )


def _merge_definitions(
    defaults: Sequence[MetricDefinition],
    declared: Sequence[Mapping[str, Any] | MetricDefinition] | None,
    chosen: Sequence[str] | str | None,
) -> tuple[MetricDefinition, ...]:
    """Defaults overridden and extended by declarations, then picked and ordered by ``chosen``."""
    merged = {d.name: d for d in defaults}
    declared_names = []
    for spec in declared or ():
        definition = MetricDefinition.parse(spec)
        merged[definition.name] = definition
        declared_names.append(definition.name)
    if isinstance(chosen, str):
        chosen = [chosen]
    if chosen:
        unknown = [m for m in chosen if m not in merged]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; defined are {sorted(merged)}")
        names = list(dict.fromkeys(chosen))
    else:
        names = declared_names or list(merged)
    if not names:
        raise ValueError("the experiment has no metric: declare metric_definitions")
    return tuple(merged[n] for n in names)


# ============================================================================ variants


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def default_control(variants: Sequence[str]) -> str:
    """The control variant: one named control / ctrl / A / old / baseline / original / default
    (in that order, any case), else the first in natural sort order (gate_30 before gate_40)."""
    if not variants:
        raise ValueError("no variants")
    lowered = {str(v).lower(): str(v) for v in variants}
    for name in CONTROL_NAMES:
        if name in lowered:
            return lowered[name]
    return sorted(map(str, variants), key=_natural_key)[0]


def _ordered_variants(variants: Sequence[str], control: str) -> tuple[str, ...]:
    others = sorted((v for v in variants if v != control), key=_natural_key)
    return (control, *others)


def _planned_shares(
    planned: Mapping[str, float] | Sequence[float] | None, variants: Sequence[str]
) -> dict[str, float]:
    """Planned split as shares per variant (None: equal; a list follows ``variants``' order)."""
    if planned is None:
        return {v: 1 / len(variants) for v in variants}
    if isinstance(planned, Mapping):
        weights = {str(k): float(v) for k, v in planned.items()}
        missing = [v for v in variants if v not in weights]
        if missing:
            raise ValueError(f"planned_split lacks variant(s) {missing}; it has {list(weights)}")
    else:
        values = [float(v) for v in planned]
        if len(values) != len(variants):
            raise ValueError(
                f"planned_split has {len(values)} weights for {len(variants)} variants "
                f"({', '.join(variants)}, control first)"
            )
        weights = dict(zip(variants, values, strict=True))
    if any(not math.isfinite(w) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"planned_split weights must be non-negative numbers, got {planned!r}")
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


# ============================================================================ the prepared experiment


@dataclass(frozen=True)
class Experiment:
    """An experiment read from the source: the kept users' per-variant sums, small and in pandas.

    ``sums``: one row per variant and local exposure day (``day`` is NaT when the source has no
    exposure time), with ``users`` and per metric ``m<i>_n``, ``m<i>_a``, ``m<i>_aa``,
    ``m<i>_b``, ``m<i>_bb``, ``m<i>_ab`` (a = value or numerator, b = covariate or denominator).
    ``segments``: the same sums of the primary metric per segment column and value.
    ``hygiene``: reason, users, rows (see the module docstring).
    """

    name: str
    source_table: Literal["assignments", "experiment_results"]
    control: str
    variants: tuple[str, ...]
    metrics: tuple[MetricDefinition, ...]
    covariates: tuple[str | None, ...]  # per metric: the covariate measure, or None
    sums: pd.DataFrame
    segments: pd.DataFrame
    hygiene: pd.DataFrame
    rows_read: int
    caps: dict[str, float] = field(default_factory=dict)
    window_days: int | None = None
    pre_days: int | None = None
    exposure_start: date | None = None
    exposure_end: date | None = None
    data_end: datetime | None = None
    segment_columns: tuple[str, ...] = ()
    missing_segments: tuple[str, ...] = ()
    exposure_check: str | None = None
    other_experiments: tuple[str, ...] = ()

    @property
    def primary(self) -> MetricDefinition:
        return self.metrics[0]

    @property
    def users(self) -> dict[str, int]:
        counts = self.sums.groupby("variant")["users"].sum()
        return {v: int(counts.get(v, 0)) for v in self.variants}

    @property
    def has_days(self) -> bool:
        return bool(self.sums["day"].notna().any())

    @property
    def first_day(self) -> date | None:
        days = self.sums.loc[self.sums["users"] > 0, "day"].dropna()
        return days.min().date() if not days.empty else None

    @property
    def last_day(self) -> date | None:
        days = self.sums.loc[self.sums["users"] > 0, "day"].dropna()
        return days.max().date() if not days.empty else None

    @property
    def days_run(self) -> int | None:
        if self.first_day is None or self.last_day is None:
            return None
        return (self.last_day - self.first_day).days + 1

    @property
    def checked_reasons(self) -> tuple[str, ...]:
        """The hygiene rules that apply to this source and these settings."""
        applies = {
            "misaligned": self.exposure_check is not None,
            "outside_dates": self.exposure_start is not None or self.exposure_end is not None,
            "window_incomplete": self.window_days is not None,
        }
        return tuple(r for r in HYGIENE_REASONS if applies.get(r, True))

    def role(self, metric: MetricDefinition) -> Role:
        if metric.name == self.primary.name:
            return "primary"
        return "guardrail" if metric.guardrail else "secondary"

    def sufficient_stats(
        self, metric: str, variant: str, *, cuped: bool = False
    ) -> stats.SampleStats | stats.RatioStats | stats.CupedStats:
        """The stats object of ``metric`` in ``variant`` (all days), as handed to opsbook.stats."""
        names = [m.name for m in self.metrics]
        if metric not in names:
            raise ValueError(f"unknown metric {metric!r}; the experiment has {names}")
        i = names.index(metric)
        adjust = cuped and self.covariates[i] is not None
        return _row_stats(self.metrics[i], i, self.totals().loc[variant], adjust)

    def totals(self) -> pd.DataFrame:
        """Sums per variant (all days), indexed by variant, in ``variants`` order."""
        numeric = self.sums.drop(columns=["day"]).groupby("variant").sum(numeric_only=True)
        return numeric.reindex(list(self.variants)).fillna(0.0)


def tables_for(
    config: str | None = None, data: str | None = None, source_table: SourceTable = "auto"
) -> tuple[str, ...]:
    """The contract tables the report reads (and checks) for this source: ``experiment_results``,
    or ``assignments`` (and ``orders`` when there are). A folder is only listed, not read."""
    from opsbook.config import load_config
    from opsbook.data import FILE_SUFFIXES, open_source

    cfg = load_config(config, data=data)
    folder = Path(cfg.source)
    if "://" not in cfg.source and folder.is_dir():
        present = {name for name, spec in cfg.tables.items() if spec and spec.get("file")}
        present |= {
            path.name[: -len(suffix)]
            for path in folder.iterdir()
            for suffix in FILE_SUFFIXES
            if path.is_file() and path.name.endswith(suffix)
        }
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
            raise ValueError(f"source {self.label} has no table {name}")


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
        raise ValueError(
            f"source {source.label} has neither experiment_results nor assignments: "
            "an A/B test needs one of them"
        )
    source.require(source_table)
    return source_table


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return pd.Timestamp(value).date()


def _pick_experiment(table: ir.Table, experiment: str | None) -> tuple[str, tuple[str, ...]]:
    """The experiment to analyse (default: the one of the table's first row) and the others."""
    named = table.filter(table.experiment.notnull())
    available = sorted(
        named.select(name=named.experiment.cast("string")).distinct().execute()["name"].tolist()
    )
    if not available:
        raise ValueError("the source holds no experiment (the experiment column is empty)")
    if experiment is None:
        first = table.filter(table.experiment.notnull()).select("experiment").limit(1).execute()
        experiment = str(first.iloc[0, 0])
    experiment = str(experiment)
    if experiment not in available:
        raise ValueError(f"experiment {experiment!r} is not in the source; it has {available}")
    return experiment, tuple(n for n in available if n != experiment)


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
            aggs[f"{prefix}revenue"] = ibis.ifelse(when, j._amt, 0.0).sum()
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


def _inferred_metrics(table: ir.Table, columns: Sequence[str]) -> tuple[MetricDefinition, ...]:
    """One metric per numeric or boolean column: proportion when it holds only 0/1."""
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
    return tuple(MetricDefinition(c, "proportion" if binary[c] else "mean", c) for c in candidates)


def _value(column: ir.Value, kind: MetricKind) -> ir.FloatingValue:
    if kind == "proportion":
        if column.type().is_boolean():
            return column.cast("float64")
        return (column > 0).cast("float64")
    return column.cast("float64")


def prepare(
    report: Report,
    *,
    experiment: str | None = None,
    control: str | None = None,
    metrics: Sequence[str] | str | None = None,
    metric_definitions: Sequence[Mapping[str, Any]] | None = None,
    window_days: int | None = 14,
    pre_days: int | None = 28,
    exposure_start: str | date | None = None,
    exposure_end: str | date | None = None,
    winsorize: float | None = None,
    segments: Sequence[str] | None = ("channel", "device"),
    exposure_check: str | None = None,
    source_table: SourceTable = "auto",
) -> Experiment:
    """Read one experiment from the report's source: hygiene, per-user metrics and per-variant
    sums, all computed in the engine (see the module docstring). ``winsorize`` caps every mean
    metric without its own setting at that quantile."""
    source = report.source
    chosen = _choose_input(source, source_table)
    table = source.table(chosen)
    if chosen == "assignments" and not window_days:
        raise ValueError("window_days is required for assignments: metrics need a window")
    if winsorize is not None and not (0.5 <= float(winsorize) < 1):
        raise ValueError(f"winsorize must be a quantile in [0.5, 1), got {winsorize!r}")
    if pre_days is not None and int(pre_days) < 0:
        raise ValueError(f"pre_days must be >= 0, got {pre_days!r}")
    pre_days = int(pre_days) if pre_days else None

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

    # metrics
    if chosen == "assignments":
        defaults = default_event_metrics()
    else:
        defaults = _inferred_metrics(table, table.columns)
    definitions = _merge_definitions(defaults, metric_definitions, metrics)
    if winsorize is not None:
        definitions = tuple(
            replace(d, winsorize=float(winsorize))
            if d.kind == "mean" and d.winsorize is None
            else d
            for d in definitions
        )
    measures = {d.numerator for d in definitions} | {
        d.denominator for d in definitions if d.denominator
    }
    if chosen == "assignments":
        bad = [m for m in measures if m not in ORDER_MEASURES and not m.startswith(EVENT_PREFIX)]
        if bad:
            raise ValueError(
                f"unknown measure(s) {sorted(bad)}: event-level metrics count orders, revenue "
                "or event:<name>"
            )
    else:
        bad = [m for m in measures if m not in table.columns]
        if bad:
            raise ValueError(
                f"experiment_results has no column(s) {sorted(bad)}; it has {table.columns}"
            )

    # hygiene
    start_date, end_date = _date(exposure_start), _date(exposure_end)
    start_utc = source.utc_from_local(pd.Timestamp(start_date)) if start_date else None
    end_utc = (
        source.utc_from_local(pd.Timestamp(end_date) + timedelta(days=1)) if end_date else None
    )
    data_end = None
    if chosen == "assignments":
        used = ["orders"] if measures & set(ORDER_MEASURES) else []
        if any(m.startswith(EVENT_PREFIX) for m in measures):
            used.append("events")
        data_end = _data_end(source, used)
    misaligned = ~table._aligned if exposure_check else None
    order_by = sorted(c for c in measures if c in table.columns)
    kept, hygiene, rows_read = _hygiene(
        table,
        has_ts=has_ts,
        misaligned=misaligned,
        start_utc=start_utc,
        end_utc=end_utc,
        window_days=window_days if chosen == "assignments" else None,
        data_end=data_end,
        order_by=order_by,
    )

    # per-user values
    event_names = sorted(m[len(EVENT_PREFIX) :] for m in measures if m.startswith(EVENT_PREFIX))
    if chosen == "assignments":
        per_user = _measure_columns(
            source, kept, measures, window_days=int(window_days), pre_days=pre_days
        )

        def column(measure: str) -> str:
            return _event_column(measure, event_names)

        def covariate_of(d: MetricDefinition) -> str | None:
            if d.kind == "ratio" or d.covariate is False or pre_days is None:
                return None
            return f"pre_{column(d.covariate or d.numerator)}"
    else:
        per_user = kept

        def column(measure: str) -> str:
            return measure

        def covariate_of(d: MetricDefinition) -> str | None:
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
            x = _value(per_user[covariates[i]], d.kind).fill_null(0.0)
            b = ibis.ifelse(a.isnull(), ibis.null("float64"), x)
        else:
            b = ibis.null("float64")
        values[f"_a{i}"], values[f"_b{i}"] = a, b
    day = source.local_date(per_user.ts) if has_ts else ibis.null("date")
    per_user = per_user.select("user_id", "variant", _day=day, **values)
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

    sums = _sums(per_user, len(definitions), ["variant", "_day"]).rename(columns={"_day": "day"})
    sums["day"] = pd.to_datetime(sums["day"])
    observed = [str(v) for v in sums["variant"].dropna().unique()]
    if not observed:
        raise ValueError(f"experiment {experiment}: no user is left after the hygiene checks")
    if control is not None and str(control) not in observed:
        raise ValueError(f"control {control!r} is not a variant of {experiment}: {observed}")
    control = str(control) if control is not None else default_control(observed)
    variants = _ordered_variants(observed, control)
    if len(variants) < 2:
        raise ValueError(
            f"experiment {experiment}: every kept user is in {control}; there is nothing to compare"
        )

    # exploratory segments: the primary metric per segment value
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

    return Experiment(
        name=experiment,
        source_table=chosen,  # type: ignore[arg-type]
        control=control,
        variants=variants,
        metrics=definitions,
        covariates=covariates,
        sums=sums,
        segments=segment_sums,
        hygiene=hygiene,
        rows_read=rows_read,
        caps=caps,
        window_days=int(window_days) if chosen == "assignments" else None,
        pre_days=pre_days if chosen == "assignments" else None,
        exposure_start=start_date,
        exposure_end=end_date,
        data_end=data_end,
        segment_columns=tuple(found_segments),
        missing_segments=tuple(missing_segments),
        exposure_check=exposure_check,
        other_experiments=others,
    )


def _sums(per_user: ir.Table, n_metrics: int, by: list[str]) -> pd.DataFrame:
    """Per group: users and the six sufficient sums of each metric (computed in the engine)."""
    aggs: dict[str, ir.Value] = {"users": per_user.count()}
    for i in range(n_metrics):
        a, b = per_user[f"_a{i}"], per_user[f"_b{i}"]
        aggs |= {
            f"m{i}_n": a.count(),
            f"m{i}_a": a.sum(),
            f"m{i}_aa": (a * a).sum(),
            f"m{i}_b": b.sum(),
            f"m{i}_bb": (b * b).sum(),
            f"m{i}_ab": (a * b).sum(),
        }
    frame = per_user.group_by(by).aggregate(**aggs).execute()
    numeric = [c for c in frame.columns if c not in by]
    frame[numeric] = frame[numeric].astype(float).fillna(0.0)
    return frame.sort_values(by, na_position="first").reset_index(drop=True)


# ============================================================================ statistics


@dataclass(frozen=True)
class Settings:
    """How the experiment is analysed (every choice is printed in the report)."""

    alpha: float = 0.05
    alternative: stats.Alternative = "two-sided"
    method: stats.Method = "welch"
    cuped: bool = True
    correction: stats.Adjustment = "holm"
    planned_split: dict[str, float] | None = None
    prior_sd: float | None = None
    tuning_n: float = stats.DEFAULT_TUNING_N
    power: float = 0.8
    srm_warn: float = 0.01
    srm_invalid: float = 0.001

    def __post_init__(self) -> None:
        stats.conventions(
            method=self.method,
            alternative=self.alternative,
            alpha=self.alpha,
            correction=self.correction,
        )  # raises on a bad choice
        if not 0 < self.power < 1:
            raise ValueError(f"power must be in (0, 1), got {self.power!r}")
        if self.prior_sd is not None and not self.prior_sd > 0:
            raise ValueError(f"prior_sd must be positive, got {self.prior_sd!r}")
        if not self.tuning_n > 0:
            raise ValueError(f"tuning_n must be positive, got {self.tuning_n!r}")

    @property
    def prior_var(self) -> float | None:
        return None if self.prior_sd is None else float(self.prior_sd) ** 2

    def conventions(self) -> dict[str, Any]:
        return stats.conventions(
            method=self.method,
            alternative=self.alternative,
            alpha=self.alpha,
            correction=self.correction,
            prior_var=self.prior_var,
            tuning_n=self.tuning_n,
            srm_warn_below=self.srm_warn,
            srm_invalid_below=self.srm_invalid,
        )


def _row_stats(
    metric: MetricDefinition, i: int, row: pd.Series, adjust: bool
) -> stats.SampleStats | stats.RatioStats | stats.CupedStats:
    n, a, aa, b, bb, ab = (row[f"m{i}_{part}"] for part in SUM_PARTS)
    if metric.kind == "ratio":
        return stats.RatioStats(int(n), a, aa, b, bb, ab)
    if adjust:
        return stats.CupedStats(int(n), a, aa, b, bb, ab)
    return stats.SampleStats(int(n), a, aa)


def _compare(control: Any, treatment: Any, settings: Settings) -> stats.EffectResult:
    kwargs = {
        "alpha": settings.alpha,
        "alternative": settings.alternative,
        "method": settings.method,
        "tuning_n": settings.tuning_n,
    }
    if isinstance(control, stats.RatioStats):
        return stats.compare_ratios(control, treatment, **kwargs)
    if isinstance(control, stats.CupedStats):
        return stats.cuped(control, treatment, **kwargs)
    return stats.compare_means(control, treatment, **kwargs)


def _z(p: float) -> float:
    return float(special.ndtri(p))


def more_days_needed(
    abs_lift: float,
    abs_se: float,
    *,
    days_run: int | None,
    users: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: stats.Alternative = "two-sided",
) -> tuple[int | None, int | None]:
    """(extra days, extra users per variant) until an effect as large as the observed one would
    be detected with ``power``, at the traffic seen so far.

    The standard error shrinks as 1/sqrt(n): the sample must grow by k = ((z_α + z_β)·se/|δ|)²
    (z_α = z_{1−α/2} two-sided), i.e. (k − 1)·days_run more days at the same daily inflow.
    Fixed-horizon arithmetic; (None, None) when the lift is 0 or not finite.
    """
    if not (math.isfinite(abs_lift) and math.isfinite(abs_se)) or abs_lift == 0 or abs_se <= 0:
        return None, None
    z_alpha = _z(1 - alpha / 2) if alternative == "two-sided" else _z(1 - alpha)
    k = ((z_alpha + _z(power)) * abs_se / abs(abs_lift)) ** 2
    extra = max(k - 1.0, 0.0)
    days = math.ceil(extra * days_run - 1e-9) if days_run else None
    more_users = math.ceil(extra * users - 1e-9) if users else None
    return days, more_users


@dataclass(frozen=True)
class Decision:
    """What to do, in codes a report translates: ``decision`` ship|dont_ship|inconclusive|invalid,
    the ``variant`` it concerns, the ``reason`` and, when inconclusive, the extra days / users."""

    decision: DecisionCode
    variant: str | None
    reason: str
    metric: str | None = None
    days_needed: int | None = None
    users_needed: int | None = None
    blocking: tuple[str, ...] = ()  # guardrails that stopped a winner

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "variant": self.variant,
            "reason": self.reason,
            "metric": self.metric,
            "days_needed": self.days_needed,
            "users_needed": self.users_needed,
            "blocking": list(self.blocking),
        }


def decide(
    results: pd.DataFrame,
    *,
    srm_status: str,
    alpha: float = 0.05,
    days_run: int | None = None,
    power: float = 0.8,
    alternative: stats.Alternative = "two-sided",
) -> Decision:
    """The decision from the primary metric and the guardrails (see the module docstring).

    ``results``: one row per metric and treatment variant with ``metric``, ``variant``, ``role``
    (primary/secondary/guardrail), ``direction``, ``valid``, ``abs_lift``, ``abs_se``,
    ``p_value``, ``p_adjusted``, ``variant_n`` and ``non_inferior`` (None without a margin).
    """
    if srm_status == "invalid":
        return Decision("invalid", None, "srm")
    results = results.assign(higher=results["direction"] == "higher_is_better")
    primary = results[results["role"] == "primary"]
    if primary.empty:
        raise ValueError("results have no primary metric")
    metric = str(primary["metric"].iloc[0])
    guardrails = results[results["role"] == "guardrail"]

    def good(row: Any) -> int:
        """+1 significantly better, −1 significantly worse, 0 neither (p_adjusted)."""
        if not row.valid or not row.p_adjusted < alpha:
            return 0
        up = row.abs_lift > 0
        return 1 if up == (row.direction == "higher_is_better") else -1

    def failed_guardrails(variant: str) -> list[str]:
        failed = []
        for row in guardrails[guardrails["variant"] == variant].itertuples():
            if row.non_inferior is not None and not pd.isna(row.non_inferior):
                if not bool(row.non_inferior):
                    failed.append(row.metric)
            elif row.valid and row.p_value < alpha:
                worse = (row.abs_lift > 0) != (row.direction == "higher_is_better")
                if worse:
                    failed.append(row.metric)
        return failed

    winners, losers, blocked, undecided = [], [], {}, []
    for row in primary.itertuples():
        verdict = good(row)
        failed = failed_guardrails(row.variant)
        if verdict > 0 and not failed:
            winners.append(row)
        elif verdict > 0:
            blocked[row.variant] = failed
        elif verdict < 0:
            losers.append(row)
        elif failed:
            blocked[row.variant] = failed
        else:
            undecided.append(row)
    if winners:
        best = max(winners, key=lambda r: r.abs_lift * (1 if r.higher else -1))
        return Decision("ship", best.variant, "primary_better", metric)
    if not undecided:
        if blocked and not losers:
            variant = next(iter(blocked))
            return Decision(
                "dont_ship", variant, "guardrail", metric, blocking=tuple(blocked[variant])
            )
        variant = losers[0].variant if losers else next(iter(blocked))
        return Decision("dont_ship", variant, "primary_worse", metric)
    valid = [r for r in undecided if r.valid]
    if not valid:
        return Decision("inconclusive", undecided[0].variant, "degenerate", metric)
    # the undecided variant closest to significance: the fewest extra days
    best, best_days, best_users = None, None, None
    for row in valid:
        days, users = more_days_needed(
            row.abs_lift,
            row.abs_se,
            days_run=days_run,
            users=row.variant_n,
            alpha=alpha,
            power=power,
            alternative=alternative,
        )
        key = users if users is not None else math.inf
        if best is None or key < (best_users if best_users is not None else math.inf):
            best, best_days, best_users = row, days, users
    return Decision(
        "inconclusive",
        best.variant,
        "not_significant",
        metric,
        days_needed=best_days,
        users_needed=best_users,
    )


@dataclass(frozen=True)
class ABTestResult:
    """The evaluated experiment; every frame is small and plain."""

    experiment: Experiment
    settings: Settings
    planned: dict[str, float]
    srm: stats.SrmResult
    results: pd.DataFrame
    daily: pd.DataFrame
    cumulative: pd.DataFrame
    segments: pd.DataFrame
    mde: pd.DataFrame
    decision: Decision

    @property
    def valid(self) -> bool:
        return self.srm.status != "invalid"

    @property
    def primary_results(self) -> pd.DataFrame:
        return self.results[self.results["role"] == "primary"]

    def conventions(self) -> dict[str, Any]:
        exp = self.experiment
        conventions = self.settings.conventions()
        conventions |= {
            "cuped": bool(self.settings.cuped),
            "pre_period_days": exp.pre_days,
            "window_days": exp.window_days,
            "winsorized_caps": dict(exp.caps),
            "families": "primary_across_variants; other_metrics_across_variants",
            "guardrail_rule": "unadjusted_harm_or_non_inferiority_at_alpha_over_2",
            "power": self.settings.power,
            "control_rule": "parameter_or_named_control_else_first_sorted",
        }
        return conventions

    def metrics(self) -> dict[str, Any]:
        exp = self.experiment
        decision = self.decision
        results = [
            {key: jsonable(row[key]) for key in RESULT_KEYS} for _, row in self.results.iterrows()
        ]
        details = [
            {
                "metric": row.metric,
                "variant": row.variant,
                "role": row.role,
                "kind": row.kind,
                "direction": row.direction,
                "control_users": int(row.control_n),
                "variant_users": int(row.variant_n),
                "abs_ci_low": jsonable(row.abs_ci_low),
                "abs_ci_high": jsonable(row.abs_ci_high),
                "expected_loss": jsonable(row.expected_loss),
                "cuped_applied": bool(row.cuped_applied),
                "variance_reduction": jsonable(row.variance_reduction),
                "rel_ci_low_unadjusted": jsonable(row.rel_ci_low_unadjusted),
                "rel_ci_high_unadjusted": jsonable(row.rel_ci_high_unadjusted),
                "non_inferior": None if row.non_inferior is None else bool(row.non_inferior),
                "verdict": row.verdict,
                "flag": row.flag,
            }
            for row in self.results.itertuples()
        ]
        mde = {
            row.variant: {"abs": jsonable(row.mde_abs), "rel": jsonable(row.mde_rel)}
            for row in self.mde.itertuples()
        }
        hygiene = {
            row.reason: {
                "users": None if pd.isna(row.users) else int(row.users),
                "rows": int(row.rows),
            }
            for row in exp.hygiene.itertuples()
        }
        return {
            "experiment": exp.name,
            "control": exp.control,
            "variants": exp.users,
            "users": int(sum(exp.users.values())),
            "srm_p": jsonable(self.srm.p_value),
            "srm_status": self.srm.status,
            "valid": self.valid,
            "decision": decision.decision,
            "decision_variant": decision.variant,
            "decision_reason": decision.reason,
            "days_needed": decision.days_needed,
            "users_needed_per_variant": decision.users_needed,
            "primary_metric": exp.primary.name,
            "metrics": [m.name for m in exp.metrics],
            "guardrails": [m.name for m in exp.metrics if m.guardrail],
            "alpha": self.settings.alpha,
            "alternative": self.settings.alternative,
            "planned_split": self.planned,
            "method": self.settings.method,
            "cuped": bool(self.settings.cuped),
            "correction": self.settings.correction,
            "source_table": exp.source_table,
            "first_exposure_day": exp.first_day.isoformat() if exp.first_day else None,
            "last_exposure_day": exp.last_day.isoformat() if exp.last_day else None,
            "days_run": exp.days_run,
            "hygiene": hygiene,
            "rows_read": exp.rows_read,
            "mde": mde,
            "results": results,
            "details": details,
            "conventions": self.conventions(),
        }

    def headline(self, lang: str = "en") -> list[dict[str, Any]]:
        """3-5 figures for the run's index page (the decision translated into ``lang``)."""
        status = {"ship": "green", "dont_ship": "red", "inconclusive": "amber", "invalid": "red"}
        primary = self.primary_results
        focus = primary[primary["variant"] == self.decision.variant]
        row = (focus if not focus.empty else primary).iloc[0]
        srm_colour = {"ok": "green", "warn": "amber", "invalid": "red"}[self.srm.status]
        return [
            {
                "label": "ab_test.h.decision",
                "value": t(f"ab_test.decision.{self.decision.decision}", lang),
                "format": "text",
                "status": status[self.decision.decision],
            },
            {
                "label": "ab_test.h.primary_lift",
                "value": jsonable(row["rel_lift"]),
                "format": "signed_pct",
                "status": None,
            },
            {
                "label": "ab_test.h.chance_to_win",
                "value": jsonable(row["chance_to_win"]),
                "format": "pct",
                "status": None,
            },
            {
                "label": "ab_test.h.srm_p",
                "value": jsonable(self.srm.p_value),
                "format": "float",
                "status": srm_colour,
            },
            {
                "label": "ab_test.h.users",
                "value": int(sum(self.experiment.users.values())),
                "format": "int",
                "status": None,
            },
        ]


def evaluate(
    exp: Experiment,
    *,
    alpha: float = 0.05,
    alternative: stats.Alternative = "two-sided",
    planned_split: Mapping[str, float] | Sequence[float] | None = None,
    method: stats.Method = "welch",
    cuped: bool = True,
    correction: stats.Adjustment = "holm",
    prior_sd: float | None = None,
    tuning_n: float | None = None,
    power: float = 0.8,
    srm_warn: float = 0.01,
    srm_invalid: float = 0.001,
) -> ABTestResult:
    """Every statistic of the report from the prepared sums (pure, fast: no engine call)."""
    settings = Settings(
        alpha=float(alpha),
        alternative=alternative,
        method=method,
        cuped=bool(cuped),
        correction=correction,
        planned_split=dict(planned_split) if isinstance(planned_split, Mapping) else None,
        prior_sd=prior_sd,
        tuning_n=float(tuning_n) if tuning_n else stats.DEFAULT_TUNING_N,
        power=float(power),
        srm_warn=float(srm_warn),
        srm_invalid=float(srm_invalid),
    )
    variants = list(exp.variants)
    if isinstance(planned_split, Mapping):
        # a planned variant that received nobody still belongs in the SRM check
        variants += [str(v) for v in planned_split if str(v) not in variants]
    planned = _planned_shares(planned_split, variants)
    users = exp.users
    srm = stats.srm_check(
        {v: users.get(v, 0) for v in variants},
        planned,
        warn_below=settings.srm_warn,
        invalid_below=settings.srm_invalid,
    )
    results = _results(exp, settings)
    days_run = exp.days_run
    decision = decide(
        results,
        srm_status=srm.status,
        alpha=settings.alpha,
        days_run=days_run,
        power=settings.power,
        alternative=settings.alternative,
    )
    return ABTestResult(
        experiment=exp,
        settings=settings,
        planned=planned,
        srm=srm,
        results=results,
        daily=_daily_balance(exp, planned, settings),
        cumulative=_cumulative(exp, settings),
        segments=_segment_results(exp, settings),
        mde=_mde(results, settings),
        decision=decision,
    )


def _effect_row(
    metric: MetricDefinition,
    i: int,
    c_row: pd.Series,
    t_row: pd.Series,
    settings: Settings,
    has_covariate: bool,
) -> dict[str, Any]:
    adjust = settings.cuped and has_covariate and metric.kind != "ratio"
    c_stats = _row_stats(metric, i, c_row, adjust)
    t_stats = _row_stats(metric, i, t_row, adjust)
    effect = _compare(c_stats, t_stats, settings)
    raw = effect
    if adjust:
        raw = _compare(
            _row_stats(metric, i, c_row, False), _row_stats(metric, i, t_row, False), settings
        )
    # readers see the observed means; CUPED adjusts the lifts, intervals and p-values only
    bayes = stats.bayes_normal(
        c_stats,
        t_stats,
        prior_var=settings.prior_var,
        alpha=settings.alpha,
        higher_is_better=metric.higher_is_better,
    )
    non_inferior = None
    if metric.guardrail and metric.margin is not None:
        level = settings.alpha / 2 if settings.alternative == "two-sided" else settings.alpha
        test = stats.non_inferiority(effect, metric.margin, metric.direction, alpha=level)
        non_inferior = bool(test.non_inferior) if test.valid else False
    return {
        "control_n": effect.control_n,
        "variant_n": effect.treatment_n,
        "control_mean": raw.control_mean,
        "variant_mean": raw.treatment_mean,
        "abs_lift": effect.abs_lift,
        "abs_se": effect.abs_se,
        "abs_ci_low": effect.abs_ci[0],
        "abs_ci_high": effect.abs_ci[1],
        "rel_lift": effect.rel_lift,
        "rel_ci_low": effect.rel_ci[0],
        "rel_ci_high": effect.rel_ci[1],
        "p_value": effect.p_value,
        "chance_to_win": bayes.chance_to_beat_control,
        "expected_loss": bayes.expected_loss,
        "valid": effect.valid,
        "flag": effect.flag,
        "cuped_applied": adjust,
        "theta": effect.theta,
        "variance_reduction": effect.variance_reduction if adjust else None,
        "rel_ci_low_unadjusted": raw.rel_ci[0],
        "rel_ci_high_unadjusted": raw.rel_ci[1],
        "non_inferior": non_inferior,
        "margin": metric.margin,
    }


def _results(exp: Experiment, settings: Settings) -> pd.DataFrame:
    totals = exp.totals()
    rows = []
    for i, metric in enumerate(exp.metrics):
        for variant in exp.variants[1:]:
            row = {
                "metric": metric.name,
                "variant": variant,
                "role": exp.role(metric),
                "kind": metric.kind,
                "direction": metric.direction,
            }
            row |= _effect_row(
                metric,
                i,
                totals.loc[exp.control],
                totals.loc[variant],
                settings,
                exp.covariates[i] is not None,
            )
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["family"] = np.where(frame["role"] == "primary", "primary", "other")
    frame["p_adjusted"] = np.nan
    for _family, part in frame.groupby("family"):
        frame.loc[part.index, "p_adjusted"] = stats.adjust_pvalues(
            part["p_value"].to_numpy(dtype=float), settings.correction
        )
    better = np.where(frame["direction"] == "higher_is_better", 1, -1) * np.sign(
        frame["abs_lift"].fillna(0)
    )
    significant = frame["valid"] & (frame["p_adjusted"] < settings.alpha)
    frame["verdict"] = np.where(
        ~frame["valid"],
        "invalid",
        np.where(significant & (better > 0), "better", np.where(significant, "worse", "flat")),
    )
    return frame


def _daily_balance(exp: Experiment, planned: dict[str, float], settings: Settings) -> pd.DataFrame:
    """Users per local exposure day and variant, their share against the plan, and the day's
    own SRM p-value (exploratory: many days, many tests)."""
    columns = ["day", "variant", "users", "share", "expected_share", "day_p"]
    if not exp.has_days:
        return pd.DataFrame(columns=columns)
    wide = exp.sums.pivot_table(index="day", columns="variant", values="users", aggfunc="sum")
    wide = wide.reindex(columns=list(planned)).fillna(0.0)
    full = pd.date_range(wide.index.min(), wide.index.max(), freq="D")
    wide = wide.reindex(full, fill_value=0.0)
    rows = []
    for day, counts in wide.iterrows():
        total = counts.sum()
        day_p = math.nan
        if total > 0:
            check = stats.srm_check(
                {v: int(counts[v]) for v in planned},
                planned,
                warn_below=settings.srm_warn,
                invalid_below=settings.srm_invalid,
            )
            day_p = check.p_value
        for variant in planned:
            rows.append(
                {
                    "day": day,
                    "variant": variant,
                    "users": int(counts[variant]),
                    "share": counts[variant] / total if total else math.nan,
                    "expected_share": planned[variant],
                    "day_p": day_p,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _cumulative(exp: Experiment, settings: Settings) -> pd.DataFrame:
    """Lift of the primary metric among users exposed up to each day (cumulative cohorts), with
    the report's method: with ``sequential`` every interval is valid at every look."""
    columns = ["day", "variant", "control_users", "variant_users", "rel_lift"]
    columns += ["rel_ci_low", "rel_ci_high", "p_value"]
    if not exp.has_days:
        return pd.DataFrame(columns=columns)
    metric = exp.primary
    parts = [c for c in exp.sums.columns if c.startswith("m0_")] + ["users"]
    daily = exp.sums.groupby(["variant", "day"])[parts].sum()
    full = pd.date_range(exp.sums["day"].min(), exp.sums["day"].max(), freq="D")
    cumulative = {
        v: (
            daily.loc[v].reindex(full, fill_value=0.0).cumsum()
            if v in daily.index.get_level_values(0)
            else pd.DataFrame(0.0, index=full, columns=parts)
        )
        for v in exp.variants
    }
    rows = []
    adjust = settings.cuped and exp.covariates[0] is not None and metric.kind != "ratio"
    for day in full:
        c_row = cumulative[exp.control].loc[day]
        for variant in exp.variants[1:]:
            t_row = cumulative[variant].loc[day]
            effect = _compare(
                _row_stats(metric, 0, c_row, adjust), _row_stats(metric, 0, t_row, adjust), settings
            )
            rows.append(
                {
                    "day": day,
                    "variant": variant,
                    "control_users": int(c_row["users"]),
                    "variant_users": int(t_row["users"]),
                    "rel_lift": effect.rel_lift,
                    "rel_ci_low": effect.rel_ci[0],
                    "rel_ci_high": effect.rel_ci[1],
                    "p_value": effect.p_value,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _segment_results(exp: Experiment, settings: Settings) -> pd.DataFrame:
    """The primary metric per segment value (exploratory: unadjusted, not for decisions)."""
    columns = ["segment", "value", "variant", "control_users", "variant_users", "control_mean"]
    columns += ["variant_mean", "rel_lift", "rel_ci_low", "rel_ci_high", "p_value"]
    if exp.segments.empty:
        return pd.DataFrame(columns=columns)
    metric = exp.primary
    adjust = settings.cuped and exp.covariates[0] is not None and metric.kind != "ratio"
    rows = []
    for (segment, value), part in exp.segments.groupby(["segment", "value"], sort=False):
        by_variant = part.set_index("variant")
        if exp.control not in by_variant.index:
            continue
        c_row = by_variant.loc[exp.control]
        for variant in exp.variants[1:]:
            if variant not in by_variant.index:
                continue
            t_row = by_variant.loc[variant]
            effect = _compare(
                _row_stats(metric, 0, c_row, adjust), _row_stats(metric, 0, t_row, adjust), settings
            )
            raw = _compare(
                _row_stats(metric, 0, c_row, False), _row_stats(metric, 0, t_row, False), settings
            )
            rows.append(
                {
                    "segment": segment,
                    "value": value,
                    "variant": variant,
                    "control_users": int(c_row["users"]),
                    "variant_users": int(t_row["users"]),
                    "control_mean": raw.control_mean,
                    "variant_mean": raw.treatment_mean,
                    "rel_lift": effect.rel_lift,
                    "rel_ci_low": effect.rel_ci[0],
                    "rel_ci_high": effect.rel_ci[1],
                    "p_value": effect.p_value,
                }
            )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["segment", "value", "variant"]).reset_index(drop=True)


def _mde(results: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The smallest effect on the primary metric this test could detect with ``power``, from the
    observed standard error: (z_α + z_β)·se (fixed-horizon)."""
    primary = results[results["role"] == "primary"]
    two_sided = settings.alternative == "two-sided"
    z_alpha = _z(1 - settings.alpha / 2) if two_sided else _z(1 - settings.alpha)
    rows = []
    for row in primary.itertuples():
        mde_abs = (z_alpha + _z(settings.power)) * row.abs_se
        base = abs(row.control_mean) if row.control_mean else math.nan
        rows.append(
            {
                "variant": row.variant,
                "control_mean": row.control_mean,
                "mde_abs": mde_abs,
                "mde_rel": mde_abs / base if base else math.nan,
                "observed_rel": row.rel_lift,
            }
        )
    return pd.DataFrame(
        rows, columns=["variant", "control_mean", "mde_abs", "mde_rel", "observed_rel"]
    )


# ============================================================================ presentation


def _metric_format(kind: str) -> tuple[str, str]:
    """(format of a mean, format of an absolute difference) for a metric kind."""
    return ("pct2", "pp") if kind == "proportion" else ("float", "float")


def _callout(text: str, colour: str | None = None) -> None:
    css = f"ob-callout ob-{colour}" if colour else "ob-callout"
    display(HTML(f'<div class="{css}">{html.escape(text)}</div>'))


def show_summary(report: Report, ab: ABTestResult) -> None:
    """Dates, variants, planned split and users; the metrics and their roles."""
    tr, exp = report.t, ab.experiment
    users = exp.users
    total = f"{sum(users.values()):,}"
    if exp.first_day is not None:
        report.say(
            "ab_test.summary.text",
            experiment=exp.name,
            first=exp.first_day.isoformat(),
            last=exp.last_day.isoformat() if exp.last_day else "—",
            days=exp.days_run,
            users=total,
            source=exp.source_table,
        )
    else:
        report.say(
            "ab_test.summary.text_no_dates",
            experiment=exp.name,
            users=total,
            source=exp.source_table,
        )
    if exp.window_days:
        report.say("ab_test.summary.window", window=exp.window_days, pre=exp.pre_days or 0)
    if exp.other_experiments:
        report.say("ab_test.summary.others", names=", ".join(exp.other_experiments))
    rows = []
    for variant in ab.planned:
        rows.append(
            {
                tr("ab_test.col.variant"): variant,
                tr("ab_test.col.role"): tr(
                    "ab_test.role.control" if variant == exp.control else "ab_test.role.treatment"
                ),
                tr("core.users"): users.get(variant, 0),
                tr("ab_test.col.observed_share"): ab.srm.observed_shares.get(variant),
                tr("ab_test.col.planned_share"): ab.planned[variant],
            }
        )
    report.show(
        pd.DataFrame(rows),
        formats={
            tr("core.users"): "int",
            tr("ab_test.col.observed_share"): "pct2",
            tr("ab_test.col.planned_share"): "pct2",
        },
        count_columns=[tr("core.users")],
        min_cell=report.min_cell,
    )
    metric_rows = []
    for i, metric in enumerate(exp.metrics):
        definition = tr(
            f"ab_test.kind_def.{metric.kind}",
            numerator=metric.numerator,
            denominator=metric.denominator or "",
        )
        extras = []
        if exp.covariates[i] is not None:
            extras.append(tr("ab_test.metric.covariate", covariate=exp.covariates[i]))
        if metric.name in exp.caps:
            extras.append(
                tr(
                    "ab_test.metric.capped",
                    quantile=f"{metric.winsorize:.0%}",
                    cap=fmt(exp.caps[metric.name], "float"),
                )
            )
        if metric.margin is not None:
            extras.append(tr("ab_test.metric.margin", margin=f"{metric.margin:.1%}"))
        metric_rows.append(
            {
                tr("ab_test.col.metric"): metric.name,
                tr("ab_test.col.role"): tr(f"ab_test.role.{exp.role(metric)}"),
                tr("ab_test.col.kind"): tr(f"ab_test.kind.{metric.kind}"),
                tr("ab_test.col.definition"): definition,
                tr("ab_test.col.direction"): tr(f"ab_test.direction.{metric.direction}"),
                tr("ab_test.col.notes"): "; ".join(extras) or "—",
            }
        )
    report.show(pd.DataFrame(metric_rows))


def show_hygiene(report: Report, ab: ABTestResult) -> None:
    """Rows and users excluded, per reason, so nothing is dropped silently."""
    tr, exp = report.t, ab.experiment
    frame = exp.hygiene[exp.hygiene["reason"].isin(exp.checked_reasons)]
    report.say(
        "ab_test.hygiene.text",
        rows=f"{exp.rows_read:,}",
        users=f"{sum(exp.users.values()):,}",
    )
    shown = pd.DataFrame(
        {
            tr("ab_test.col.reason"): [tr(f"ab_test.hygiene.{r}") for r in frame["reason"]],
            tr("ab_test.col.rule"): [tr(f"ab_test.hygiene_rule.{r}") for r in frame["reason"]],
            tr("ab_test.col.users_excluded"): frame["users"].astype(object),
            tr("ab_test.col.rows_excluded"): frame["rows"],
        }
    )
    report.show(
        shown,
        formats={tr("ab_test.col.users_excluded"): "int", tr("ab_test.col.rows_excluded"): "int"},
    )
    if exp.exposure_check:
        report.say("ab_test.hygiene.check", expression=exp.exposure_check)


def show_srm(report: Report, ab: ABTestResult) -> None:
    """The sample-ratio-mismatch check and what it means, in plain words."""
    srm = ab.srm
    fields = {
        "p": _p_text(srm.p_value),
        "chi2": fmt(srm.chi2, "float"),
        "df": srm.df,
        "warn": f"{srm.warn_below:g}",
        "invalid": f"{srm.invalid_below:g}",
    }
    colour = {"ok": "green", "warn": "amber", "invalid": "red"}[srm.status]
    _callout(report.t(f"ab_test.srm.{srm.status}", **fields), colour)
    _callout(report.t("ab_test.srm.explanation"))


def _p_text(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "—"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def balance_chart(report: Report, ab: ABTestResult):
    """Daily share of newly exposed users per variant against the planned split."""
    daily = ab.daily
    if daily.empty:
        report.say("ab_test.balance.no_days")
        return None
    flagged = daily[daily["day_p"] < ab.srm.invalid_below]["day"].drop_duplicates()
    report.say(
        "ab_test.balance.text",
        days=daily["day"].nunique(),
        flagged=len(flagged),
        threshold=f"{ab.srm.invalid_below:g}",
    )
    fig, (ax_users, ax_share) = figure(9, 5.2, nrows=2, sharex=True)
    for k, variant in enumerate(ab.planned):
        part = daily[daily["variant"] == variant]
        colour = PALETTE[k % len(PALETTE)]
        ax_users.plot(part["day"], part["users"], color=colour, lw=1.4, label=variant)
        ax_share.plot(part["day"], part["share"], color=colour, lw=1.4, label=variant)
        ax_share.axhline(part["expected_share"].iloc[0], color=colour, lw=1, ls="--")
    for day in flagged:
        ax_share.axvline(day, color=STATUS_COLOURS["red"], lw=0.8, alpha=0.6)
    ax_users.set_title(report.t("ab_test.chart.daily_users"))
    ax_share.set_title(report.t("ab_test.chart.daily_share"))
    ax_share.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax_users.legend(loc="upper left", fontsize=8)
    return fig


def show_results(report: Report, ab: ABTestResult) -> None:
    """Per metric and variant: means, lifts with intervals, p-values, chance to beat control."""
    tr = report.t
    frame = ab.results
    level = f"{1 - ab.settings.alpha:.0%}"
    rows = []
    for row in frame.itertuples():
        mean_fmt, diff_fmt = _metric_format(row.kind)
        rows.append(
            {
                tr("ab_test.col.metric"): row.metric,
                tr("ab_test.col.role"): tr(f"ab_test.role.{row.role}"),
                tr("ab_test.col.variant"): row.variant,
                tr("ab_test.col.control_users"): row.control_n,
                tr("ab_test.col.variant_users"): row.variant_n,
                tr("ab_test.col.control_mean"): fmt(row.control_mean, mean_fmt),
                tr("ab_test.col.variant_mean"): fmt(row.variant_mean, mean_fmt),
                tr("ab_test.col.abs_lift"): fmt(row.abs_lift, diff_fmt),
                tr("ab_test.col.rel_lift"): row.rel_lift,
                tr("ab_test.col.rel_ci", level=level): _interval_text(
                    row.rel_ci_low, row.rel_ci_high
                ),
                tr("ab_test.col.p_value"): _p_text(row.p_value),
                tr("ab_test.col.p_adjusted"): _p_text(row.p_adjusted),
                tr("ab_test.col.chance_to_win"): row.chance_to_win,
                tr("ab_test.col.verdict"): tr(f"ab_test.verdict.{row.verdict}"),
            }
        )
    colours = {"better": "ob-green", "worse": "ob-red", "flat": None, "invalid": "ob-amber"}
    report.show(
        pd.DataFrame(rows),
        formats={
            tr("ab_test.col.rel_lift"): "signed_pct",
            tr("ab_test.col.chance_to_win"): "pct",
            tr("ab_test.col.control_users"): "int",
            tr("ab_test.col.variant_users"): "int",
        },
        count_columns=[tr("ab_test.col.control_users"), tr("ab_test.col.variant_users")],
        min_cell=report.min_cell,
        classes={tr("ab_test.col.verdict"): [colours[v] for v in frame["verdict"]]},
    )
    for row in frame[frame["cuped_applied"]].itertuples():
        reduction = row.variance_reduction
        if reduction is None or not math.isfinite(reduction) or reduction < MENTION_REDUCTION:
            continue
        report.say(
            "ab_test.results.cuped",
            metric=row.metric,
            variant=row.variant,
            reduction=f"{row.variance_reduction:.0%}",
            raw=_interval_text(row.rel_ci_low_unadjusted, row.rel_ci_high_unadjusted),
            adjusted=_interval_text(row.rel_ci_low, row.rel_ci_high),
        )
    flagged = frame[frame["flag"].notna()]
    for row in flagged.itertuples():
        report.say(
            "ab_test.results.flagged",
            metric=row.metric,
            variant=row.variant,
            reason=tr(f"ab_test.flag.{row.flag}"),
        )


def _interval_text(low: float, high: float) -> str:
    return f"[{fmt(low, 'signed_pct')}, {fmt(high, 'signed_pct')}]"


def forest_chart(report: Report, ab: ABTestResult):
    """Relative lift and its interval, per metric and variant (green better, red worse)."""
    frame = ab.results[ab.results["valid"]].reset_index(drop=True)
    if frame.empty:
        return None
    labels = [
        f"{r.metric} · {r.variant}" if len(ab.experiment.variants) > 2 else r.metric
        for r in frame.itertuples()
    ]
    fig, ax = figure(8, 0.5 * len(frame) + 1.4)
    colours = {
        "better": STATUS_COLOURS["green"],
        "worse": STATUS_COLOURS["red"],
        "flat": "#5b6675",
    }
    y = np.arange(len(frame))[::-1]
    for pos, row in zip(y, frame.itertuples(), strict=True):
        colour = colours.get(row.verdict, "#5b6675")
        low = row.rel_ci_low if math.isfinite(row.rel_ci_low) else row.rel_lift
        high = row.rel_ci_high if math.isfinite(row.rel_ci_high) else row.rel_lift
        ax.plot([low, high], [pos, pos], color=colour, lw=2)
        ax.plot([row.rel_lift], [pos], "o", color=colour)
    ax.axvline(0, color="#333333", lw=1)
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    ax.set_title(report.t("ab_test.chart.forest", level=f"{1 - ab.settings.alpha:.0%}"))
    return fig


def cumulative_chart(report: Report, ab: ABTestResult):
    """Cumulative relative lift of the primary metric by exposure day, with its interval."""
    frame = ab.cumulative
    if frame.empty:
        report.say("ab_test.cumulative.no_days")
        return None
    report.say(
        "ab_test.cumulative.text",
        metric=ab.experiment.primary.name,
        method=report.t(f"ab_test.method.{ab.settings.method}"),
    )
    fig, ax = figure(9, 3.6)
    for k, variant in enumerate(ab.experiment.variants[1:]):
        part = frame[frame["variant"] == variant]
        colour = PALETTE[(k + 1) % len(PALETTE)]
        ax.plot(part["day"], part["rel_lift"], color=colour, lw=1.6, label=variant)
        low = part["rel_ci_low"].astype(float).clip(lower=-1.0)
        high = part["rel_ci_high"].astype(float).clip(upper=3.0)
        ax.fill_between(part["day"], low, high, color=colour, alpha=0.15)
    ax.axhline(0, color="#333333", lw=1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    ax.set_title(report.t("ab_test.chart.cumulative", metric=ab.experiment.primary.name))
    ax.legend(loc="upper right", fontsize=8)
    return fig


def show_segments(report: Report, ab: ABTestResult) -> None:
    """Exploratory breakdowns of the primary metric, small groups suppressed."""
    exp, tr = ab.experiment, report.t
    if exp.missing_segments:
        report.say("ab_test.segments.missing", names=", ".join(exp.missing_segments))
    frame = ab.segments
    if frame.empty:
        report.say(
            "ab_test.segments.no_overlap" if exp.segment_columns else "ab_test.segments.none"
        )
        return
    _callout(tr("ab_test.segments.warning", metric=exp.primary.name), "amber")
    mean_fmt, _ = _metric_format(exp.primary.kind)
    level = f"{1 - ab.settings.alpha:.0%}"
    shown = pd.DataFrame(
        {
            tr("ab_test.col.segment"): frame["segment"],
            tr("ab_test.col.value"): frame["value"],
            tr("ab_test.col.variant"): frame["variant"],
            tr("ab_test.col.control_users"): frame["control_users"],
            tr("ab_test.col.variant_users"): frame["variant_users"],
            tr("ab_test.col.control_mean"): frame["control_mean"],
            tr("ab_test.col.variant_mean"): frame["variant_mean"],
            tr("ab_test.col.rel_lift"): frame["rel_lift"],
            tr("ab_test.col.rel_ci", level=level): [
                _interval_text(lo, hi)
                for lo, hi in zip(frame["rel_ci_low"], frame["rel_ci_high"], strict=True)
            ],
            tr("ab_test.col.p_unadjusted"): frame["p_value"],
        }
    )
    small = (frame["control_users"] < report.min_cell) | (frame["variant_users"] < report.min_cell)
    shown.loc[small.to_numpy(), tr("ab_test.col.rel_ci", level=level)] = "—"
    report.show(
        shown,
        formats={
            tr("ab_test.col.control_mean"): mean_fmt,
            tr("ab_test.col.variant_mean"): mean_fmt,
            tr("ab_test.col.rel_lift"): "signed_pct",
            tr("ab_test.col.p_unadjusted"): "float",
            tr("ab_test.col.control_users"): "int",
            tr("ab_test.col.variant_users"): "int",
        },
        count_columns=[tr("ab_test.col.control_users"), tr("ab_test.col.variant_users")],
        min_cell=report.min_cell,
    )


def show_mde(report: Report, ab: ABTestResult) -> None:
    """The smallest lift this test could detect, next to the one observed."""
    tr = report.t
    exp = ab.experiment
    mean_fmt, diff_fmt = _metric_format(exp.primary.kind)
    report.say(
        "ab_test.mde.text",
        metric=exp.primary.name,
        power=f"{ab.settings.power:.0%}",
        alpha=f"{ab.settings.alpha:g}",
    )
    shown = pd.DataFrame(
        {
            tr("ab_test.col.variant"): ab.mde["variant"],
            tr("ab_test.col.control_mean"): [fmt(v, mean_fmt) for v in ab.mde["control_mean"]],
            tr("ab_test.col.mde_abs"): [fmt(v, diff_fmt) for v in ab.mde["mde_abs"]],
            tr("ab_test.col.mde_rel"): ab.mde["mde_rel"],
            tr("ab_test.col.observed_rel"): ab.mde["observed_rel"],
        }
    )
    report.show(
        shown,
        formats={tr("ab_test.col.mde_rel"): "pct", tr("ab_test.col.observed_rel"): "signed_pct"},
    )


def show_decision(report: Report, ab: ABTestResult) -> None:
    """The decision in plain words."""
    d, exp = ab.decision, ab.experiment
    row = None
    primary = ab.primary_results
    if d.variant is not None and not primary.empty:
        match = primary[primary["variant"] == d.variant]
        row = match.iloc[0] if not match.empty else None
    fields: dict[str, Any] = {
        "variant": d.variant or "—",
        "control": exp.control,
        "metric": exp.primary.name,
        "srm_p": _p_text(ab.srm.p_value),
    }
    if row is not None:
        fields |= {
            "lift": fmt(row["rel_lift"], "signed_pct"),
            "ci": _interval_text(row["rel_ci_low"], row["rel_ci_high"]),
            "p": _p_text(row["p_adjusted"]),
            "chance": fmt(row["chance_to_win"], "pct"),
        }
    colour = {"ship": "green", "dont_ship": "red", "inconclusive": "amber", "invalid": "red"}
    text = report.t(f"ab_test.decision.{d.decision}")
    key = f"ab_test.reason.{d.reason}"
    detail = report.t(key, guardrails=", ".join(d.blocking), **fields)
    _callout(f"{text} — {detail}", colour[d.decision])
    if d.decision == "inconclusive" and d.reason == "not_significant":
        if d.days_needed is not None:
            key = (
                "ab_test.reason.days_impractical"
                if d.days_needed > IMPRACTICAL_DAYS
                else "ab_test.reason.days"
            )
            report.say(key, days=f"{d.days_needed:,}", users=f"{d.users_needed or 0:,}")
        elif d.users_needed is not None:
            report.say("ab_test.reason.users", users=f"{d.users_needed:,}")
    if ab.srm.status == "warn":
        report.say("ab_test.reason.srm_warn", p=_p_text(ab.srm.p_value))


def show_conventions(report: Report, ab: ABTestResult) -> None:
    """Every convention behind the numbers above."""
    tr = report.t
    s, exp = ab.settings, ab.experiment
    prior = (
        tr("ab_test.conv.prior_flat")
        if s.prior_sd is None
        else tr("ab_test.conv.prior_normal", sd=fmt(s.prior_sd, "pct"))
    )
    if not s.cuped:
        cuped = tr("ab_test.conv.cuped_off")
    elif exp.pre_days:
        cuped = tr("ab_test.conv.cuped_on", pre=exp.pre_days)
    else:
        cuped = tr("ab_test.conv.cuped_on_columns")
    caps = "; ".join(f"{name} ≤ {fmt(cap, 'float')}" for name, cap in exp.caps.items())
    rows = [
        ("unit", tr("ab_test.conv.unit_value")),
        ("test", tr(f"ab_test.method.{s.method}")),
        ("sidedness", tr(f"ab_test.alternative.{s.alternative}")),
        ("alpha", f"{s.alpha:g}"),
        ("interval_abs", tr(f"ab_test.conv.interval_abs.{s.method}")),
        ("interval_rel", tr("ab_test.conv.interval_rel_value")),
        ("proportions", tr("ab_test.conv.proportions_value")),
        ("ratio", tr("ab_test.conv.ratio_value")),
        ("cuped", cuped),
        ("winsorize", caps or tr("ab_test.conv.none")),
        ("correction", tr(f"ab_test.correction.{s.correction}")),
        ("families", tr("ab_test.conv.families_value")),
        ("guardrails", tr("ab_test.conv.guardrails_value")),
        ("prior", prior),
        ("srm", tr("ab_test.conv.srm_value", warn=s.srm_warn, invalid=s.srm_invalid)),
        ("mde", tr("ab_test.conv.mde_value", power=f"{s.power:.0%}")),
        ("control", tr("ab_test.conv.control_value")),
        ("hygiene", tr("ab_test.conv.hygiene_value")),
        ("decision", tr("ab_test.conv.decision_value")),
    ]
    if s.method == "sequential":
        rows.insert(5, ("tuning", tr("ab_test.conv.tuning_value", n=f"{s.tuning_n:,.0f}")))
    if exp.window_days:
        rows.insert(8, ("window", tr("ab_test.conv.window_value", window=exp.window_days)))
    report.show(
        pd.DataFrame(
            {
                tr("ab_test.col.convention"): [tr(f"ab_test.conv.{k}") for k, _ in rows],
                tr("core.value"): [v for _, v in rows],
            }
        )
    )


def explore(report: Report, exp: Experiment, **settings: Any):
    """In JupyterLab: re-read the results under another method, correction, alpha or CUPED
    (widgets; nothing in batch runs, where this returns None)."""
    if is_batch():
        return None
    import ipywidgets as widgets

    method = widgets.Dropdown(
        options=list(get_args(stats.Method)), value=settings.get("method", "welch")
    )
    correction = widgets.Dropdown(
        options=list(get_args(stats.Adjustment)), value=settings.get("correction", "holm")
    )
    alpha = widgets.FloatLogSlider(
        value=settings.get("alpha", 0.05), base=10, min=-3, max=-0.7, step=0.05
    )
    use_cuped = widgets.Checkbox(value=bool(settings.get("cuped", True)), description="CUPED")
    output = widgets.Output()

    def refresh(*_: Any) -> None:
        chosen = dict(settings) | {
            "method": method.value,
            "correction": correction.value,
            "alpha": alpha.value,
            "cuped": use_cuped.value,
        }
        with output:
            output.clear_output(wait=True)
            result = evaluate(exp, **chosen)
            show_results(report, result)
            show_decision(report, result)

    for control in (method, correction, alpha, use_cuped):
        control.observe(refresh, names="value")
    refresh()
    return widgets.VBox([widgets.HBox([method, correction, alpha, use_cuped]), output])
