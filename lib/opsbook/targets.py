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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from opsbook.i18n import catalogue

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
    return {name: _target(name, entry, where) for name, entry in entries.items()}


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


def retention_targets(config: Any = None, overrides: Mapping[str, Any] | None = None) -> dict:
    """The KPI targets this report checks (fractions): the KPI system's defaults, then the
    project's KPI targets file when the config names one (``reports: kpi_dashboard: targets:``,
    the same file the KPI dashboard reads), then ``overrides`` (the report's ``targets``
    parameter). Keys: d1, d7, d30, dau_mau, first_order_conversion, repeat_purchase_rate."""
    targets = dict(DEFAULT_TARGETS)
    cfg = getattr(config, "config", config)
    if cfg is not None and hasattr(cfg, "report_defaults"):
        kpi_file = cfg.report_defaults("kpi_dashboard").get("targets")
        if kpi_file is not None:
            loaded = load_targets(kpi_file, base_dir=cfg.base_dir)
            for key, name in KPI_NAMES.items():
                if name in loaded and loaded[name].target is not None:
                    targets[key] = float(loaded[name].target)
    for key, value in (overrides or {}).items():
        if key not in DEFAULT_TARGETS:
            raise ValueError(f"unknown target {key!r}; known: {', '.join(DEFAULT_TARGETS)}")
        targets[key] = float(value)
    return targets
