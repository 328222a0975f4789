"""Exploring in JupyterLab: widgets that switch the matrix's period, criterion and breakdown."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opsbook.retention.analysis import CRITERIA, PERIODS, breakdown_columns, retention_matrices
from opsbook.retention.view.groups import attribute_name, group_colours
from opsbook.retention.view.matrix import curves_chart, heatmap


def explore(
    report: Any,
    computed: Mapping[tuple, Any] | None = None,
    max_periods: int = 12,
    **defaults: Any,
):
    """In JupyterLab: dropdowns switching period, criterion and breakdown (labelled in the page's
    language, options by their display names), redrawing the heatmap and the curves. Returns
    None in batch runs (``opsbook run``): published HTML stays static.

    One engine query per (period, breakdown), for both criteria and for the ``max_periods``
    periods the charts draw, kept (the overall matrix is the grouped one summed, never a second
    query); ``computed`` seeds that cache with the page's own matrix, keyed (period, criterion,
    breakdown). Each chart is drawn once per setting it depends on and kept as its image (the
    heatmap does not change with the breakdown). Each redraw says how long it took."""
    from opsbook.report import is_batch

    if is_batch():
        return None
    import ipywidgets as widgets
    from IPython import get_ipython
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
    images: dict[tuple, tuple[dict, dict]] = {}
    shell = get_ipython()

    def matrix_for(p: str, c: str, b: str | None) -> Any:
        if (p, c, b) not in matrices:
            found = retention_matrices(
                report, period=p, breakdown=b, max_period=max_periods, **fixed
            )
            matrices.update({(p, kind, b): result for kind, result in found.items()})
        return matrices[(p, c, b)]

    def image(key: tuple, draw: Any) -> tuple[dict, dict]:
        """The chart of ``key`` as the notebook shows it (PNG and its metadata), drawn once."""
        if key not in images:
            images[key] = shell.display_formatter.format(draw())
        return images[key]

    def redraw(_: Any = None) -> None:
        began = time.perf_counter()
        p, c, b = period.value, criterion.value, breakdown.value
        by = matrix_for(p, c, b)
        if b not in colours:
            colours[b] = group_colours(report, b)
        heat = image(("heatmap", p, c), lambda: heatmap(report, by.overall(), max_periods))
        curves = image(
            ("curves", p, c, b), lambda: curves_chart(report, by, max_periods, colours[b])
        )
        with out:
            out.clear_output(wait=True)
            for data, metadata in (heat, curves):
                display(data, raw=True, metadata=metadata)
        seconds = f"{time.perf_counter() - began:.1f}"
        timing.value = tr("retention.widget.timing", seconds=seconds)

    for control in (period, criterion, breakdown):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([period, criterion, breakdown]), timing, out])
