"""How the user-insight page names things in its language: stages, tiers, models, the features
a reason names, and the recommended actions (an i18n key, a config text or a {zh, en} text)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opsbook.i18n import catalogue
from opsbook.report import Report

WINDOWED = re.compile(r"^(events|active_days|orders|revenue)_(\d+)d$")
TREND = re.compile(r"^(events|days)_trend_(\d+)_(\d+)$")
EVENT_TYPE = re.compile(r"^(.+)_(\d+)d$")


def stage_name(report: Report, stage: str) -> str:
    return report.t(f"insight.stage.{stage}")


def risk_name(report: Report, tier: str) -> str:
    return report.t(f"insight.risk.{tier}")


def value_name(report: Report, tier: str) -> str:
    return report.t(f"insight.value.{tier}")


def model_name(report: Report, kind: str) -> str:
    return report.t(f"insight.model.{kind}")


def action_text(report: Report, action: Any) -> str:
    """A stage's action as this page reads it: an i18n key's text, the page language's entry
    of a ``{zh: .., en: ..}`` override, or an override's plain text."""
    if isinstance(action, Mapping):
        return str(action.get(report.lang) or next(iter(action.values()), ""))
    text = str(action)
    return report.t(text) if text in catalogue() else text


def feature_name(report: Report, feature: str) -> str:
    """A churn feature (a reason) by its meaning: ``events_30d`` -> "Events in the last 30
    days", ``view_item_30d`` -> "“view_item” events in the last 30 days", ``channel`` ->
    "Channel" (a user column without a name of ours: the config's display name, else itself)."""
    fixed = f"insight.feature.{feature}"
    if fixed in catalogue():
        return report.t(fixed)
    if match := WINDOWED.match(feature):
        return report.t(f"insight.feature.{match[1]}", days=match[2])
    if match := TREND.match(feature):
        return report.t(f"insight.feature.{match[1]}_trend", short=match[2], long=match[3])
    if match := EVENT_TYPE.match(feature):
        event = report.display_name("event", match[1])
        return report.t("insight.feature.event_type", event=event, days=match[2])
    column = f"insight.column.{feature}"
    return report.t(column) if column in catalogue() else report.display_name("column", feature)
