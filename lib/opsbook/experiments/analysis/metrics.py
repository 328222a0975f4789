"""A/B test metrics: how a metric is declared (proportion, mean or ratio of per-user measures),
the defaults, and the stats object of a metric's sufficient sums."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import pandas as pd

from opsbook import stats
from opsbook.errors import InputError
from opsbook.experiments.queries import MetricKind, _binary_columns

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
SUM_PARTS = ("n", "a", "aa", "b", "bb", "ab")


@dataclass(frozen=True)
class MetricDefinition:
    """One metric of the experiment (see :mod:`opsbook.experiments` for the fields)."""

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
            raise InputError("ab_test.error.metric_name", found=repr(self.name))
        if self.kind not in get_args(MetricKind):
            raise InputError(
                "ab_test.error.metric_kind",
                metric=self.name,
                valid=", ".join(get_args(MetricKind)),
                found=repr(self.kind),
            )
        if not isinstance(self.numerator, str) or not self.numerator:
            raise InputError("ab_test.error.metric_numerator", metric=self.name)
        if (self.kind == "ratio") != bool(self.denominator):
            raise InputError("ab_test.error.metric_denominator", metric=self.name)
        if self.direction not in get_args(stats.Direction):
            raise InputError(
                "ab_test.error.metric_direction",
                metric=self.name,
                valid=", ".join(get_args(stats.Direction)),
                found=repr(self.direction),
            )
        if self.margin is not None and not (
            isinstance(self.margin, int | float) and 0 < self.margin < 1
        ):
            raise InputError(
                "ab_test.error.metric_margin", metric=self.name, found=repr(self.margin)
            )
        if self.winsorize is not None and not (
            isinstance(self.winsorize, int | float) and 0.5 <= self.winsorize < 1
        ):
            raise InputError(
                "ab_test.error.metric_winsorize", metric=self.name, found=repr(self.winsorize)
            )
        if self.winsorize is not None and self.kind != "mean":
            raise InputError("ab_test.error.metric_winsorize_kind", metric=self.name)

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | MetricDefinition) -> MetricDefinition:
        """A definition from a config mapping; unknown keys and bad values raise."""
        if isinstance(spec, MetricDefinition):
            return spec
        if not isinstance(spec, Mapping):
            raise InputError("ab_test.error.metric_shape", found=repr(spec))
        unknown = set(spec) - DEFINITION_KEYS
        if unknown:
            raise InputError(
                "ab_test.error.metric_keys",
                metric=repr(spec.get("name")),
                unknown=", ".join(sorted(map(str, unknown))),
                valid=", ".join(sorted(DEFINITION_KEYS)),
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
            raise InputError(
                "ab_test.error.unknown_metric",
                unknown=", ".join(map(str, unknown)),
                valid=", ".join(sorted(merged)),
            )
        names = list(dict.fromkeys(chosen))
    else:
        names = declared_names or list(merged)
    if not names:
        raise InputError("ab_test.error.no_metric")
    return tuple(merged[n] for n in names)


def _inferred_metrics(table: Any, columns: Sequence[str]) -> tuple[MetricDefinition, ...]:
    """One metric per numeric or boolean column: proportion when it holds only 0/1."""
    binary = _binary_columns(table, columns)
    return tuple(MetricDefinition(c, "proportion" if binary[c] else "mean", c) for c in binary)


def _row_stats(
    metric: MetricDefinition, i: int, row: pd.Series, adjust: bool
) -> stats.SampleStats | stats.RatioStats | stats.CupedStats:
    n, a, aa, b, bb, ab = (row[f"m{i}_{part}"] for part in SUM_PARTS)
    if metric.kind == "ratio":
        return stats.RatioStats(int(n), a, aa, b, bb, ab)
    if adjust:
        return stats.CupedStats(int(n), a, aa, b, bb, ab)
    return stats.SampleStats(int(n), a, aa)
