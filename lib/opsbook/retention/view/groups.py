"""Which groups a page shows: a chart draws the largest few, a table lists the largest ones, and
neither shows a group below the privacy threshold; a group has one colour in every chart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsbook.formats import is_small
from opsbook.plots import PALETTE, category_colours
from opsbook.retention.analysis import MISSING_GROUP, breakdown_values

MAX_LINES = 8  # groups drawn in one chart: the largest ones
MAX_ROWS = 20  # groups listed in one table: the largest ones


def _drawn(report: Any, sizes: Mapping[Any, Any]) -> list[Any]:
    """The groups a chart draws: the largest MAX_LINES, none below the privacy threshold."""
    ranked = sorted(sizes.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [g for g, n in ranked if not is_small(n, report.min_cell)][:MAX_LINES]


def group_colours(report: Any, breakdown: str | None) -> dict[str, str]:
    """One colour per group of ``breakdown`` for every chart of the page (curves, LTV, survival):
    :func:`opsbook.plots.category_colours` over every value the users table has, so a channel
    keeps its colour from chart to chart and report to report."""
    return category_colours(breakdown_values(report, breakdown)) if breakdown else {}


def colour_of(colours: Mapping[str, str], group: Any, i: int) -> str:
    """``group``'s colour; one not in ``colours`` takes the palette in drawing order."""
    return colours.get(str(group)) or PALETTE[i % len(PALETTE)]


def group_name(report: Any, breakdown: str | None, group: Any) -> str:
    """A group of ``breakdown`` as the page names it in tables, legends and next steps: the
    value's display name (the config's ``display_names``, then the workbook's, e.g. ``kol`` ->
    "达人推广"), users without the attribute as "(missing)" in the page's language, else the
    value as the data has it."""
    if str(group) == MISSING_GROUP:
        return report.t("retention.group.missing")
    return report.display_name(breakdown, group) if breakdown else str(group)


def attribute_name(report: Any, column: str) -> str:
    """A users column as the page names it: its i18n display name where the catalogue has one
    (channel, region, device ...), else the column's own name (a mapping's custom column)."""
    try:
        return report.t(f"retention.attr.{column}")
    except KeyError:
        return column
