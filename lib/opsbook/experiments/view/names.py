"""A/B test, view: the names a reader sees for the codes of the data and the config -- metrics,
measures, segment columns and their values, tables. A metric named in the config
(``display_names: {metric: {retention_7: {zh: 7日留存, en: 7-day retention}}}``) shows by that
name; a code with a display name in the i18n table shows by it; any other (a column of a per-user
export, a metric declared in the config) shows as the code itself, the data's own name."""

from __future__ import annotations

from opsbook.i18n import catalogue
from opsbook.report import Report

EVENT_PREFIX = "event:"
PRE_PREFIX = "pre_"


def _named(report: Report, key: str, code: str) -> str:
    return report.t(key) if key in catalogue() else code


def _configured(report: Report, name: str) -> str | None:
    """The config's display name of a metric (``display_names: metric:``), if it has one."""
    named = report.display_name("metric", name)
    return named if named != name else None


def metric_name(report: Report, name: str) -> str:
    """A metric: the config's name for it (a per-user export's ``retention_7`` -> "7日留存"),
    else the workbook's (``conversion`` -> "Conversion" / "转化率"), else its own name."""
    return _configured(report, name) or _named(report, f"ab_test.metric_name.{name}", name)


def measure_name(report: Report, measure: str) -> str:
    """A per-user measure: ``orders``, ``revenue``, ``event:<name>``, ``pre_<measure>``; a
    column of a per-user export by the config's name for the metric of that name."""
    if measure.startswith(EVENT_PREFIX):
        return report.t("ab_test.measure.event", event=measure[len(EVENT_PREFIX) :])
    key = f"ab_test.measure.{measure}"
    if key in catalogue():
        return report.t(key)
    if measure.startswith(PRE_PREFIX):
        inner = measure[len(PRE_PREFIX) :]
        named = f"ab_test.measure.{inner}" in catalogue() or _configured(report, inner)
        if named or inner.startswith(EVENT_PREFIX):
            return report.t("ab_test.measure.pre", measure=measure_name(report, inner))
    return _configured(report, measure) or measure


def segment_name(report: Report, column: str) -> str:
    """A segment column (``channel`` -> "Channel" / "渠道")."""
    return _named(report, f"ab_test.segment.{column}", column)


def segment_value(report: Report, column: str, value: object) -> str:
    """A value of a segment column (``kol`` -> "KOL" / "达人"), else the value as it is."""
    return report.display_name(column, value)


def table_name(report: Report, table: str) -> str:
    """A table of the data contract (``assignments`` -> "assignments table" / "分组表")."""
    return report.display_name("table", table)
