"""Which groups a page shows: a chart draws the largest few, a table lists the largest ones, and
neither shows a group below the privacy threshold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsbook.formats import is_small

MAX_LINES = 8  # groups drawn in one chart: the largest ones
MAX_ROWS = 20  # groups listed in one table: the largest ones


def _drawn(report: Any, sizes: Mapping[Any, Any]) -> list[Any]:
    """The groups a chart draws: the largest MAX_LINES, none below the privacy threshold."""
    ranked = sorted(sizes.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [g for g, n in ranked if not is_small(n, report.min_cell)][:MAX_LINES]
