"""How the behaviour page names things in its language: events (the config's display names,
then the workbook's names of common events, else the data's own name), the paths' "other" and
"end" nodes, users columns and their values, and durations in the unit that reads best."""

from __future__ import annotations

from typing import Any

from opsbook.behaviour.analysis.paths import END, OTHER
from opsbook.i18n import catalogue
from opsbook.report import Report

MINUTE, HOUR, DAY = 60, 3600, 86_400


def event_name(report: Report, event: Any) -> str:
    """An event as the page names it; the paths' ``(other)`` and ``(end)`` in words."""
    if event == OTHER:
        return report.t("behaviour.node.other")
    if event == END:
        return report.t("behaviour.node.end")
    custom = (report.config.raw.get("display_names") or {}).get("event") or {}
    key = f"behaviour.event.{event}"
    if str(event) not in custom and key in catalogue():
        return report.t(key)
    return report.display_name("event", event)


def step_name(report: Report, step: Any) -> str:
    """A funnel step: its label, or the event's name with its filters."""
    if step.label:
        return str(step.label)
    name = event_name(report, step.event)
    if not step.where:
        return name
    cond = ", ".join(f"{c}={'|'.join(map(str, v))}" for c, v in step.where)
    return f"{name} [{cond}]"


def column_name(report: Report, column: str | None) -> str:
    """A users column (the breakdown) by the workbook's name for it, else the config's."""
    key = f"behaviour.column.{column}"
    return report.t(key) if key in catalogue() else report.display_name("column", column)


def group_name(report: Report, column: str | None, value: Any) -> str:
    """A value of the breakdown column (a channel, a device ...) as the page names it."""
    if value is None or (isinstance(value, float) and value != value):
        return report.t("behaviour.group.missing")
    return report.display_name(str(column), value)


def duration_text(report: Report, seconds: Any) -> str:
    """A duration in the unit that reads best: 45 s, 12 min, 5.2 h, 3.1 d (a dash if none)."""
    if seconds is None or seconds != seconds:
        return "—"
    s = float(seconds)
    if s < 90:
        return report.t("behaviour.unit.seconds", n=f"{s:.0f}")
    if s < 90 * MINUTE:
        return report.t("behaviour.unit.minutes", n=f"{s / MINUTE:.0f}")
    if s < 36 * HOUR:
        return report.t("behaviour.unit.hours", n=f"{s / HOUR:.1f}")
    days = f"{s / DAY:.1f}"
    return report.t("behaviour.unit.days", n=days.removesuffix(".0"))


def funnel_title(report: Report, name: str) -> str:
    """A funnel's name: the workbook's name of its default funnel, else the config's."""
    key = f"behaviour.funnel_name.{name}"
    return report.t(key) if key in catalogue() else str(name)


def listed(report: Report, names: Any) -> str:
    """Names joined as the page's language lists them (、 in Chinese)."""
    return report.t("behaviour.list_separator").join(str(n) for n in names)


def path_text(report: Report, path: tuple[str, ...]) -> str:
    """A path as read: app_open → view_item → …"""
    return " → ".join(event_name(report, e) for e in path)
