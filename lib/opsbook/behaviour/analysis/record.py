"""Behaviour, analysis: the report's metrics.json -- ``funnels`` ({name: steps, overall
conversion, median time to convert}), ``paths`` ({anchor, direction, top}) and ``key_actions``
(the top five)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsbook.behaviour.analysis.actions import KeyActions
from opsbook.behaviour.analysis.funnel import FunnelResult
from opsbook.behaviour.analysis.paths import PathsResult


def metrics(
    funnels: Sequence[FunnelResult],
    paths: PathsResult | None = None,
    actions: KeyActions | None = None,
) -> dict[str, Any]:
    """The issue's keys; ``paths`` and ``key_actions`` are null when the report has none."""
    return {
        "funnels": {f.funnel.name: f.metrics() for f in funnels},
        "paths": paths.metrics() if paths is not None else None,
        "key_actions": actions.metrics() if actions is not None else None,
    }
