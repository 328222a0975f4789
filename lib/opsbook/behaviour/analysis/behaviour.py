"""Behaviour, analysis: everything the behaviour page shows, computed once -- the configured
funnels, the paths of the users who left the first funnel at its biggest drop-off, the paths
around an anchor event and the key actions -- with the checks of the settings the reader gave
(an event the data lack is refused with the events present and the closest one)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsbook.behaviour.analysis.actions import KeyActions, key_actions
from opsbook.behaviour.analysis.funnel import (
    FunnelResult,
    funnel_analysis,
    lenient_funnel_analysis,
    present_part,
)
from opsbook.behaviour.analysis.paths import PathsResult, paths_analysis
from opsbook.behaviour.analysis.record import metrics
from opsbook.behaviour.queries.actions import DEFAULT_THRESHOLDS
from opsbook.behaviour.queries.paths import DEFAULT_SESSION_GAP_SECONDS, PathRules
from opsbook.behaviour.queries.steps import DAY_SECONDS, Funnel, event_names
from opsbook.errors import InputError

# The funnel the page shows when the config names none: from opening the app to the order.
# Data that lack a step's event (a log without checkout) show zeros from that step on.
DEFAULT_FUNNEL = {
    "name": "purchase",
    "steps": ["app_open", "view_item", "add_to_cart", "checkout", "purchase"],
    "window_days": 14,
}


class Refusal(InputError):
    """A refusal of the report's settings told in the page's language: ``str()`` is the text the
    runner shows on its failure line and on the page."""

    def __init__(self, lang: str, key: str, /, **fields: object) -> None:
        super().__init__(key, **fields)
        self.lang = lang
        self.args = (self.text(lang),)

    def __str__(self) -> str:
        return self.text(self.lang)


@dataclass(frozen=True)
class FunnelSpec:
    """One configured funnel and the users column it is broken down by (None: no breakdown)."""

    funnel: Funnel
    breakdown: str | None


def funnel_specs(
    given: Sequence[Mapping[str, Any]] | None, breakdown: str | None, lang: str
) -> list[FunnelSpec]:
    """The funnels of the config (``name``, ``steps``, ``window_days``, ``order``, ``entry``,
    ``exclusions``, ``breakdown`` -- else the report's), or the default funnel."""
    specs = []
    for i, spec in enumerate(given or [DEFAULT_FUNNEL]):
        if not isinstance(spec, Mapping) or not spec.get("steps"):
            raise Refusal(lang, "behaviour.bad.funnel", number=i + 1)
        try:
            funnel = Funnel.of(spec, name=spec.get("name") or f"funnel_{i + 1}")
        except (ValueError, TypeError, KeyError) as problem:
            raise Refusal(
                lang, "behaviour.bad.funnel_setting", number=i + 1, problem=problem
            ) from None
        specs.append(FunnelSpec(funnel, spec.get("breakdown", breakdown)))
    names = [s.funnel.name for s in specs]
    if len(set(names)) < len(names):
        raise Refusal(lang, "behaviour.bad.funnel_names", names=", ".join(names))
    return specs


def check_event_names(source: Any, names: Sequence[str], lang: str) -> None:
    """Refuse an event name the data do not hold: the events present, the closest one."""
    present = event_names(source)
    for name in dict.fromkeys(names):
        if name in present:
            continue
        close = difflib.get_close_matches(name, present, n=1)
        hint = InputError("behaviour.bad.did_you_mean", event=close[0]) if close else ""
        raise Refusal(
            lang, "behaviour.bad.event", event=name, hint=hint, events=", ".join(present) or "—"
        )


@dataclass(frozen=True)
class PathSettings:
    """The anchored paths: ``anchor`` event (None: the first funnel's first step), ``direction``
    after/before, ``steps`` events away, nodes under ``min_users`` users in "other", the
    cleaning ``rules`` (regular expression -> name, repeats, session gap), ``top`` paths."""

    anchor: str | None = None
    direction: str = "after"
    steps: int = 4
    min_users: int = 30
    rules: PathRules = field(default_factory=PathRules)
    top: int = 15

    @classmethod
    def of(
        cls,
        *,
        anchor: str | None,
        direction: str,
        steps: int,
        min_users: int,
        cleaning: Mapping[str, str] | None,
        collapse_repeats: bool,
        session_gap_minutes: float,
    ) -> PathSettings:
        rules = PathRules(
            cleaning=tuple((cleaning or {}).items()),
            collapse_repeats=bool(collapse_repeats),
            session_gap_seconds=round(float(session_gap_minutes) * 60)
            or DEFAULT_SESSION_GAP_SECONDS,
        )
        return cls(anchor, direction, int(steps), int(min_users), rules)


@dataclass(frozen=True)
class ActionSettings:
    """Key actions: events done at least each of ``thresholds`` times in the first
    ``first_days`` days, judged on retention day ``day`` (7 or 30). ``exclude``: events that
    only say a user was there (opening the app starts every session: doing it often *is*
    being retained, not an action to push), left out of the ranking."""

    first_days: int = 3
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    day: int = 30
    min_users: int = 30
    exclude: tuple[str, ...] = ("app_open",)


@dataclass(frozen=True)
class Behaviour:
    """The page's results: ``funnels`` (the config's order), ``dropoff`` (the paths of the users
    who left the first funnel at its biggest drop-off; None when nobody left at a step the data
    can answer), ``paths`` (around the anchor), ``actions`` (None without a users table)."""

    funnels: tuple[FunnelResult, ...]
    dropoff: PathsResult | None
    paths: PathsResult | None
    actions: KeyActions | None
    has_users: bool
    settings: PathSettings

    @property
    def main(self) -> FunnelResult:
        return self.funnels[0]

    def dropoff_reconciles(self) -> bool | None:
        """Do the drop-off paths count exactly the users the funnel lost at that step?"""
        drop = self.main.biggest_drop()
        if self.dropoff is None or drop is None:
            return None
        return self.dropoff.users == drop["users"]

    def anchor_reconciles(self) -> bool | None:
        """With the first funnel's first step as the anchor (no filter, first entry), do the
        paths start with exactly the funnel's entered users?"""
        first = self.main.funnel.steps[0]
        if self.paths is None or first.where or self.main.funnel.entry != "first":
            return None
        if self.paths.anchor != first.event or self.main.funnel.order == "any":
            return None
        return self.paths.users == int(self.main.steps["users"].iloc[0])

    def metrics(self) -> dict[str, Any]:
        """The issue's keys (``funnels``, ``paths``, ``key_actions``) and the drop-off paths."""
        out = metrics(self.funnels, self.paths, self.actions)
        out["dropoff_paths"] = self.dropoff.metrics() if self.dropoff is not None else None
        out["reconciled"] = {
            "dropoff": self.dropoff_reconciles(),
            "anchor": self.anchor_reconciles(),
        }
        out["scope"] = {  # what the run's card says it describes
            "key": "behaviour.scope",
            "fields": {
                "funnel": self.main.funnel.name,
                "steps": len(self.main.funnel.steps),
                "days": round(window_days(self.main), 2),
            },
        }
        return out

    def headline(self) -> list[dict[str, Any]]:
        """The index page's cards: entered, overall conversion, the biggest drop-off."""
        main = self.main
        drop = main.biggest_drop()
        return [
            {"label": "behaviour.h.entered", "value": int(main.steps["users"].iloc[0]),
             "format": "int"},
            {"label": "behaviour.h.overall", "value": main.overall_conversion, "format": "pct"},
            {"label": "behaviour.h.biggest_drop", "value": drop["share"] if drop else None,
             "format": "pct", "status": "amber" if drop else None},
        ]  # fmt: skip


def behaviour(
    source: Any,
    lang: str,
    *,
    funnels: Sequence[Mapping[str, Any]] | None = None,
    breakdown: str | None = None,
    since: Any = None,
    until: Any = None,
    paths: PathSettings | None = None,
    actions: ActionSettings | None = None,
    alpha: float = 0.05,
) -> Behaviour:
    """Every result of the page. Funnels the reader configured must name events the data hold
    (refused otherwise); the default funnel shows zeros where the data lack its events. Sections
    that need signups (breakdowns, key actions) are left out without a users table."""
    paths = paths or PathSettings()
    actions = actions or ActionSettings()
    specs = funnel_specs(funnels, breakdown, lang)
    if not source.has("events"):
        raise Refusal(lang, "behaviour.bad.no_events")
    if funnels:
        names = [st.event for s in specs for st in s.funnel.steps]
        names += [x.event for s in specs for x in s.funnel.exclusions]
        check_event_names(source, names, lang)
    if paths.anchor is not None and paths.anchor not in {n for _, n in paths.rules.cleaning}:
        check_event_names(source, [paths.anchor], lang)
    has_users = source.has("users")
    period = {"since": since, "until": until}
    analyse = funnel_analysis if funnels else lenient_funnel_analysis
    results = tuple(
        analyse(
            source,
            s.funnel,
            breakdown=s.breakdown if has_users else None,
            alpha=alpha,
            **period,
        )
        for s in specs
    )
    main = results[0]
    drop = main.biggest_drop()
    dropoff = None
    if drop is not None and drop["users"] > 0:
        answerable, _ = present_part(main.funnel, set(event_names(source)))
        dropoff = paths_analysis(
            source,
            funnel=answerable,
            dropoff_step=drop["step"],
            steps=paths.steps,
            rules=paths.rules,
            min_users=paths.min_users,
            top=paths.top,
            **period,
        )
    anchor = paths.anchor or main.funnel.steps[0].event
    anchored = None
    if anchor in event_names(source) or anchor in {n for _, n in paths.rules.cleaning}:
        anchored = paths_analysis(
            source,
            anchor=anchor,
            direction=paths.direction,
            steps=paths.steps,
            rules=paths.rules,
            min_users=paths.min_users,
            top=paths.top,
            **period,
        )
    found = None
    if has_users:
        found = key_actions(
            source,
            first_days=actions.first_days,
            thresholds=actions.thresholds,
            events=[e for e in event_names(source) if e not in actions.exclude],
            day=actions.day,
            min_users=actions.min_users,
            alpha=alpha,
        )
    return Behaviour(results, dropoff, anchored, found, has_users, paths)


def window_days(result: FunnelResult) -> float:
    """The funnel's conversion window in days."""
    return result.funnel.window_seconds / DAY_SECONDS


def present_events(source: Any) -> list[str]:
    """The event names the data hold (the explorer's choices)."""
    return event_names(source)
