"""The targets of the operations KPI system, and how a report judges a value against one.

The shipped targets are ``kpi_targets.yml`` beside this module; a project points
``reports.kpi_dashboard.targets`` at its own copy. The KPI dashboard reads every KPI's target; the
retention report reads its six (D1/D7/D30, DAU/MAU, first-order conversion, repeat purchase).
A measured KPI (a count or a rate over everyone it covers) is judged on its value
(:func:`kpi_status`): green meets the target; amber misses it by at most ``amber_band`` of it; red
is further off; n/a when the value or the target is missing. An estimated KPI (an incremental
effect measured against a holdout, with an interval) is judged on its interval
(:func:`estimate_status`): green (met) when the whole interval meets the target, red (missed)
when the whole interval misses it, not_proven when the interval contains the target -- so no page
says "met" where its evidence section says the effect is not established.

Every page marks a target that nobody set as the shipped default ("target 40 % (default)"):
:class:`Targets` and :class:`KpiTarget` know whether a setting of the user's (the config, a
report parameter, a campaign's table column) gave the value; :func:`marked` writes the marker.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from opsbook.i18n import catalogue, t

Direction = Literal["higher", "lower"]
Unit = Literal["count", "rate", "money", "ratio", "hours", "score"]
TargetKind = Literal["absolute", "growth_yoy", "per_30_days"]
Status = Literal["green", "amber", "red", "not_proven", "n/a"]
STATUSES: tuple[Status, ...] = ("green", "amber", "red", "not_proven", "n/a")
#: KPIs that are estimates (an increment against a holdout), judged on their interval
ESTIMATED_KPIS: tuple[str, ...] = ("campaign_roi",)

AREAS = ("users", "content", "campaigns", "data", "efficiency")
DIRECTIONS = ("higher", "lower")
UNITS = ("count", "rate", "money", "ratio", "hours", "score")
TARGET_KINDS = ("absolute", "growth_yoy", "per_30_days")
TARGET_FIELDS = ("area", "definition", "target", "kind", "direction", "unit")
UNIT_FORMAT = {
    "count": "int",
    "rate": "pct",
    "money": "money",
    "ratio": "float",
    "hours": "dec2",
    "score": "dec1",  # NPS: -100..100
}
TARGETS_FILE = "kpi_targets.yml"


@dataclass(frozen=True)
class KpiTarget:
    """One KPI of the KPI system: where it belongs, how it is judged, and its target."""

    name: str
    area: str
    definition: str  # i18n key
    target: float | None
    direction: Direction
    unit: Unit
    kind: TargetKind = "absolute"
    default: bool = True  # the shipped target: no targets file of the user's sets it

    def resolve(self, days: int, year_earlier: float | None = None) -> float | None:
        """The target for a period of ``days`` days (``year_earlier``: the value 52 weeks
        earlier, for a growth target; None when the data do not reach back that far)."""
        if self.target is None:
            return None
        if self.kind == "per_30_days":
            return self.target * days / 30
        if self.kind == "growth_yoy":
            if year_earlier is None or not np.isfinite(year_earlier) or year_earlier <= 0:
                return None
            return year_earlier * (1 + self.target)
        return self.target

    @property
    def format(self) -> str:
        return UNIT_FORMAT[self.unit]


def _default_target_entries() -> dict[str, dict[str, Any]]:
    text = resources.files("opsbook").joinpath(TARGETS_FILE).read_text(encoding="utf-8")
    return dict((yaml.safe_load(text) or {}).get("kpis") or {})


#: The KPI names the dashboard computes, in the order it shows them.
KNOWN_KPIS: tuple[str, ...] = tuple(_default_target_entries())


def _target(name: str, entry: Mapping[str, Any], where: str) -> KpiTarget:
    unknown = sorted(set(entry) - set(TARGET_FIELDS))
    if unknown:
        raise ValueError(
            f"{where}: KPI {name!r} has unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(TARGET_FIELDS)}"
        )
    checks = {"area": AREAS, "direction": DIRECTIONS, "unit": UNITS, "kind": TARGET_KINDS}
    for key, allowed in checks.items():
        if key in entry and entry[key] not in allowed:
            raise ValueError(
                f"{where}: KPI {name!r}: {key} must be one of {', '.join(allowed)}, "
                f"got {entry[key]!r}"
            )
    target = entry.get("target")
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise ValueError(f"{where}: KPI {name!r}: target must be a number or null")
        target = float(target)
    definition = str(entry["definition"])
    if definition not in catalogue():
        raise ValueError(f"{where}: KPI {name!r}: no i18n text {definition!r} for its definition")
    return KpiTarget(
        name=name,
        area=entry["area"],
        definition=definition,
        target=target,
        direction=entry["direction"],
        unit=entry["unit"],
        kind=entry.get("kind", "absolute"),
    )


def load_targets(
    targets: str | Path | Mapping[str, Any] | None = None, *, base_dir: Path | None = None
) -> dict[str, KpiTarget]:
    """The KPI targets: the shipped defaults (``kpi_targets.yml`` beside this module), overlaid
    field by field with ``targets`` -- a YAML file (relative paths from ``base_dir``, the config's
    folder) or a mapping, either ``{kpis: {name: {...}}}`` or ``{name: {...}}``. A bare number
    for a KPI sets its target. Unknown KPI names or fields raise with the known ones."""
    entries = _default_target_entries()
    where = TARGETS_FILE
    users: set[str] = set()  # the KPIs whose target the user's file or mapping sets
    if targets is not None:
        if isinstance(targets, str | Path):
            path = Path(targets).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if not path.is_file():
                raise FileNotFoundError(f"KPI targets file not found: {path}")
            where = str(path)
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        else:
            where = "targets"
            loaded = dict(targets)
        if not isinstance(loaded, Mapping):
            raise ValueError(f"{where}: KPI targets must be a mapping of KPI name to settings")
        overrides = (loaded.get("kpis") or {}) if "kpis" in loaded else loaded
        unknown = sorted(set(overrides) - set(entries))
        if unknown:
            raise ValueError(
                f"{where}: unknown KPI name(s) {', '.join(map(str, unknown))}; "
                f"known KPIs: {', '.join(entries)}"
            )
        for name, override in overrides.items():
            if override is None or isinstance(override, int | float):
                override = {"target": override}
            if not isinstance(override, Mapping):
                raise ValueError(f"{where}: KPI {name!r} must map to settings or a number")
            entries[name] = {**entries[name], **override}
            if "target" in override:
                users.add(name)
    return {
        name: replace(_target(name, entry, where), default=name not in users)
        for name, entry in entries.items()
    }


def kpi_status(
    value: float | None, target: float | None, direction: str, amber_band: float = 0.10
) -> Status:
    """green: meets the target; amber: misses it by at most ``amber_band`` x |target|; red:
    further off; n/a: value or target missing."""
    if missing(value) or missing(target):
        return "n/a"
    tolerance = amber_band * abs(target)
    if direction == "higher":
        if value >= target:
            return "green"
        return "amber" if value >= target - tolerance else "red"
    if value <= target:
        return "green"
    return "amber" if value <= target + tolerance else "red"


def estimate_status(
    interval: tuple[float | None, float | None] | None,
    target: float | None,
    direction: str = "higher",
) -> Status:
    """Met (green) / not_proven / missed (red) of an estimate's ``interval`` against ``target``:
    green when the whole interval is on the target's good side, red when it is wholly on the
    other, not_proven when it contains the target; n/a when either is missing."""
    low, high = interval or (None, None)
    if missing(low) or missing(high) or missing(target):
        return "n/a"
    if direction == "higher":
        return "green" if low >= target else "red" if high < target else "not_proven"
    return "green" if high <= target else "red" if low > target else "not_proven"


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and not math.isfinite(value))


# The KPI system's defaults (DOMAIN.md, and kpi_targets.yml of the KPI dashboard).
DEFAULT_TARGETS: dict[str, float] = {
    "d1": 0.55,
    "d7": 0.40,
    "d30": 0.25,
    "dau_mau": 0.30,
    "first_order_conversion": 0.08,
    "repeat_purchase_rate": 0.30,
}


# the KPI dashboard's names (kpi_targets.yml) of the targets this report checks
KPI_NAMES = {
    "d1": "d1_retention",
    "d7": "d7_retention",
    "d30": "d30_retention",
    "dau_mau": "dau_mau",
    "first_order_conversion": "first_order_conversion",
    "repeat_purchase_rate": "repeat_purchase_rate",
}


@dataclass(frozen=True, eq=False)
class Targets(Mapping[str, float | None]):
    """A report's targets by name (read like a dict, equal to a dict of the same targets) and
    the names the user set -- in the config, a report parameter or a table column; every other
    one is the shipped default."""

    values: Mapping[str, float | None]
    user: frozenset[str] = field(default_factory=frozenset)
    #: a group's own targets (a value of the report's breakdown, e.g. a channel), all the user's
    groups: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float | None:
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def is_default(self, name: str) -> bool:
        """Is the target ``name`` the shipped default (no setting of the user's gave it)?"""
        return name not in self.user

    def for_group(self, group: Any) -> Targets:
        """The targets a group is judged against: its own where it has them, else these."""
        own = self.groups.get(str(group), {})
        return Targets({**self.values, **own}, self.user | frozenset(own))


def is_default(targets: Mapping[str, Any], name: str) -> bool:
    """Is ``targets[name]`` the shipped default? :class:`Targets` knows which names the user
    set; a plain mapping is the caller's own choice, never the default."""
    return isinstance(targets, Targets) and targets.is_default(name)


def marked(text: str, default: bool, lang: str) -> str:
    """A target as a page writes it: ``text`` (the formatted target), followed by "(default)" /
    "（默认）" when it is the shipped default, so a reader knows nobody chose it."""
    return t("targets.default", lang, target=text) if default else text


def retention_targets(config: Any = None, overrides: Mapping[str, Any] | None = None) -> Targets:
    """The KPI targets this report checks (fractions): the KPI system's defaults, then the
    project's KPI targets file when the config names one (``reports: kpi_dashboard: targets:``,
    the same file the KPI dashboard reads), then ``overrides`` (the report's ``targets``
    parameter: ``reports.retention.targets`` in the config, or ``-p targets=...``). Keys: d1,
    d7, d30, dau_mau, first_order_conversion, repeat_purchase_rate; ``Targets.is_default`` says
    which of them nobody set. ``by_group: {kol: {d7: 0.25}}`` gives a group of the report's
    breakdown (a channel by default) targets of its own (:meth:`Targets.for_group`)."""
    targets = dict(DEFAULT_TARGETS)
    user: set[str] = set()
    overrides = dict(overrides or {})
    groups = {
        str(g): _checked(own, f"by_group.{g}")
        for g, own in (overrides.pop("by_group", None) or {}).items()
    }
    cfg = getattr(config, "config", config)
    if cfg is not None and hasattr(cfg, "report_defaults"):
        kpi_file = cfg.report_defaults("kpi_dashboard").get("targets")
        if kpi_file is not None:
            loaded = load_targets(kpi_file, base_dir=cfg.base_dir)
            for key, name in KPI_NAMES.items():
                if name in loaded and loaded[name].target is not None:
                    targets[key] = float(loaded[name].target)
                    if not loaded[name].default:
                        user.add(key)
    for key, value in _checked(overrides, "targets").items():
        targets[key] = value
        user.add(key)
    return Targets(targets, frozenset(user), groups)


def _checked(entries: Any, where: str) -> dict[str, float]:
    """Retention targets by key (d1 ... repeat_purchase_rate) as numbers; others raise."""
    if not isinstance(entries, Mapping):
        raise ValueError(f"{where}: expected a mapping of targets, got {entries!r}")
    unknown = sorted(set(map(str, entries)) - set(DEFAULT_TARGETS))
    if unknown:
        raise ValueError(
            f"{where}: unknown target {unknown[0]!r}; known: {', '.join(DEFAULT_TARGETS)}, by_group"
        )
    return {str(k): float(v) for k, v in entries.items()}
