"""Exploring in JupyterLab: widgets that switch the matrix's period, criterion and breakdown."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opsbook.plots import png_drawn_once
from opsbook.retention.analysis import CRITERIA, PERIODS, breakdown_columns, retention_matrices
from opsbook.retention.view.groups import attribute_name, group_colours
from opsbook.retention.view.matrix import (
    curves_chart,
    draw_heatmap,
    heatmap_cells,
    repaint_heatmap,
)


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
    query, also when the breakdown is switched off); ``computed`` seeds that cache with the
    page's own matrix, keyed (period, criterion, breakdown). Each chart is drawn once per
    setting it depends on and kept as its image (the heatmap does not change with the
    breakdown), each image rendered from one drawing (:func:`png_drawn_once`). A switch of
    criterion repaints the period's heatmap in place (:func:`repaint_heatmap`: same cohorts,
    ticks, title and colour bar, only the cells change) and reuses its crop. Each redraw says
    how long it took."""
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
    images: dict[tuple, tuple[dict, dict] | None] = {}
    # per period, the heatmap figure last drawn: its frame, the figure and its crop
    heatmaps: dict[str, tuple[tuple, Any, Any]] = {}

    def matrix_for(p: str, c: str, b: str | None) -> Any:
        """The matrix of a setting: kept, or without a breakdown the sum of the groups of one
        kept by a breakdown (exact: :meth:`RetentionResult.overall`), else one query for both
        criteria."""
        grouped = [m for (p_, c_, b_), m in matrices.items() if (p_, c_) == (p, c) and b_]
        if (p, c, b) not in matrices and b is None and grouped:
            matrices[(p, c, b)] = grouped[0].overall()
        if (p, c, b) not in matrices:
            found = retention_matrices(
                report, period=p, breakdown=b, max_period=max_periods, **fixed
            )
            matrices.update({(p, kind, b): result for kind, result in found.items()})
        return matrices[(p, c, b)]

    def shown(png: bytes, metadata: dict) -> tuple[dict, dict]:
        """An image as the notebook shows a chart (the PNG and its tick labels)."""
        return {"image/png": png}, {"image/png": metadata}

    def heat_image(p: str, c: str, by: Any) -> tuple[dict, dict] | None:
        """The heatmap of ``(p, c)``, drawn once: into the period's figure when its frame is
        the same (another criterion), else as a new figure."""
        if ("heatmap", p, c) not in images:
            cells = heatmap_cells(report, by.overall(), max_periods)
            if cells is None:
                images[("heatmap", p, c)] = None
                return None
            frame, fig, crop = heatmaps.get(p, (None, None, None))
            if frame == cells.frame:
                repaint_heatmap(fig, cells)
            else:
                fig, crop = draw_heatmap(cells), None
            png, metadata, crop = png_drawn_once(fig, crop)
            heatmaps[p] = (cells.frame, fig, crop)
            images[("heatmap", p, c)] = shown(png, metadata)
        return images[("heatmap", p, c)]

    def curves_image(p: str, c: str, b: str | None, by: Any) -> tuple[dict, dict] | None:
        if ("curves", p, c, b) not in images:
            fig = curves_chart(report, by, max_periods, colours[b])
            images[("curves", p, c, b)] = None if fig is None else shown(*png_drawn_once(fig)[:2])
        return images[("curves", p, c, b)]

    def redraw(_: Any = None) -> None:
        began = time.perf_counter()
        p, c, b = period.value, criterion.value, breakdown.value
        by = matrix_for(p, c, b)
        if b not in colours:
            colours[b] = group_colours(report, b)
        charts = (heat_image(p, c, by), curves_image(p, c, b, by))
        with out:
            out.clear_output(wait=True)
            for data, metadata in filter(None, charts):
                display(data, raw=True, metadata=metadata)
        seconds = f"{time.perf_counter() - began:.1f}"
        timing.value = tr("retention.widget.timing", seconds=seconds)

    for control in (period, criterion, breakdown):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([period, criterion, breakdown]), timing, out])
