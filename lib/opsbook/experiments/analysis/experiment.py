"""A/B test, the prepared experiment: its variants and control, and :func:`prepare`, which runs
the engine's queries (hygiene, per-user metrics, per-variant sums) into an :class:`Experiment`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from opsbook import stats
from opsbook.errors import InputError
from opsbook.experiments.analysis.metrics import (
    MetricDefinition,
    _inferred_metrics,
    _merge_definitions,
    _row_stats,
    default_event_metrics,
)
from opsbook.experiments.queries import (
    EVENT_PREFIX,
    HYGIENE_REASONS,
    ORDER_MEASURES,
    SourceTable,
    _choose_input,
    _data_end,
    _experiment_rows,
    _hygiene,
    _per_user_values,
    _segment_sums,
    _sums,
    _winsorized,
)
from opsbook.report import Report

Role = Literal["primary", "secondary", "guardrail"]

CONTROL_NAMES = ("control", "ctrl", "a", "old", "baseline", "original", "default")


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
            raise InputError(
                "ab_test.error.split_variants", missing=", ".join(missing), found=", ".join(weights)
            )
    else:
        values = [float(v) for v in planned]
        if len(values) != len(variants):
            raise InputError(
                "ab_test.error.split_length",
                weights=len(values),
                variants=len(variants),
                names=", ".join(variants),
            )
        weights = dict(zip(variants, values, strict=True))
    if any(not math.isfinite(w) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise InputError("ab_test.error.split_weights", found=repr(planned))
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
    ``hygiene``: reason, users, rows (see :mod:`opsbook.experiments`).
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


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return pd.Timestamp(value).date()


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
    sums, all computed in the engine (see :mod:`opsbook.experiments`). ``winsorize`` caps every mean
    metric without its own setting at that quantile."""
    source = report.source
    chosen = _choose_input(source, source_table)
    if chosen == "assignments" and not window_days:
        raise ValueError("window_days is required for assignments: metrics need a window")
    if winsorize is not None and not (0.5 <= float(winsorize) < 1):
        raise ValueError(f"winsorize must be a quantile in [0.5, 1), got {winsorize!r}")
    if pre_days is not None and int(pre_days) < 0:
        raise ValueError(f"pre_days must be >= 0, got {pre_days!r}")
    pre_days = int(pre_days) if pre_days else None

    table, experiment, others, misaligned = _experiment_rows(
        source, chosen, experiment, exposure_check
    )
    has_ts = "ts" in table.columns

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
    per_user, covariates = _per_user_values(
        source,
        kept,
        definitions,
        measures,
        chosen=chosen,
        has_ts=has_ts,
        window_days=window_days,
        pre_days=pre_days,
    )
    per_user, caps = _winsorized(per_user, definitions, covariates, segments=segments)

    sums = _sums(per_user, len(definitions), ["variant", "_day"]).rename(columns={"_day": "day"})
    sums["day"] = pd.to_datetime(sums["day"])
    observed = [str(v) for v in sums["variant"].dropna().unique()]
    if not observed:
        raise InputError("ab_test.error.no_user_left", experiment=experiment)
    if control is not None and str(control) not in observed:
        raise InputError(
            "ab_test.error.control",
            control=repr(control),
            experiment=experiment,
            found=", ".join(observed),
        )
    control = str(control) if control is not None else default_control(observed)
    variants = _ordered_variants(observed, control)
    if len(variants) < 2:
        raise InputError("ab_test.error.one_variant", experiment=experiment, control=control)

    # exploratory segments: the primary metric per segment value
    segment_sums, found_segments, missing_segments = _segment_sums(
        source, table, kept, per_user, segments
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
