"""Exploring in JupyterLab: widgets that switch the matrix's period, criterion and breakdown."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opsbook.retention.analysis import CRITERIA, PERIODS, breakdown_columns, retention_matrix
from opsbook.retention.view.groups import attribute_name, group_colours
from opsbook.retention.view.matrix import curves_chart, heatmap


def explore(report: Any, computed: Mapping[tuple, Any] | None = None, **defaults: Any):
    """In JupyterLab: dropdowns switching period, criterion and breakdown (labelled in the page's
    language, options by their display names), redrawing the heatmap and the curves. Returns
    None in batch runs (``opsbook run``): published HTML stays static.

    One engine query per setting: a matrix is computed once per (period, criterion, breakdown)
    and kept (the overall matrix is the grouped one summed, never a second query); ``computed``
    seeds that cache with the page's own matrix, keyed the same way. Each redraw says how long
    it took."""
    from opsbook.report import is_batch

    if is_batch():
        return None
    import ipywidgets as widgets
    from IPython.display import display

    tr = report.t
    period = widgets.Dropdown(
        options=[(tr(f"retention.period.{p}"), p) for p in PERIODS],
        value=defaults.get("period", "week"),
        description=tr("retention.def.period"),
    )
    criterion = widgets.Dropdown(
        options=[(tr(f"retention.criterion.{c}"), c) for c in CRITERIA],
        value=defaults.get("criterion", "on"),
        description=tr("retention.def.criterion"),
    )
    breakdown = widgets.Dropdown(
        options=[(tr("retention.widget.none"), None)]
        + [(attribute_name(report, c), c) for c in breakdown_columns(report)],
        value=defaults.get("breakdown"),
        description=tr("retention.def.breakdown"),
    )
    for control in (period, criterion, breakdown):
        control.style.description_width = "initial"
    timing = widgets.Label()
    out = widgets.Output()
    fixed = {k: v for k, v in defaults.items() if k not in ("period", "criterion", "breakdown")}
    matrices: dict[tuple, Any] = dict(computed or {})
    colours: dict[Any, Mapping[str, str]] = {}

    def matrix_for(key: tuple) -> Any:
        if key not in matrices:
            p, c, b = key
            matrices[key] = retention_matrix(report, period=p, criterion=c, breakdown=b, **fixed)
        return matrices[key]

    def redraw(_: Any = None) -> None:
        began = time.perf_counter()
        by = matrix_for((period.value, criterion.value, breakdown.value))
        if breakdown.value not in colours:
            colours[breakdown.value] = group_colours(report, breakdown.value)
        heat = heatmap(report, by.overall())
        curves = curves_chart(report, by, colours=colours[breakdown.value])
        with out:
            out.clear_output(wait=True)
            display(heat)
            display(curves)
        seconds = f"{time.perf_counter() - began:.1f}"
        timing.value = tr("retention.widget.timing", seconds=seconds)

    for control in (period, criterion, breakdown):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([period, criterion, breakdown]), timing, out])
