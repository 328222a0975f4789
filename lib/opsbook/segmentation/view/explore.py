"""The JupyterLab widget: switch threshold, k and lookback and see the profiles and charts."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from IPython.display import display

from opsbook.report import Report, is_batch
from opsbook.segmentation.analysis.rfm import RFMTable, compute_rfm
from opsbook.segmentation.analysis.segments import SCORE_LEVELS, Segmentation, segment_customers
from opsbook.segmentation.view.groups import (
    show_segment_profile,
    show_tier_profile,
    size_vs_revenue_chart,
)
from opsbook.segmentation.view.scope import rf_heatmap, show_thresholds


def explore(
    report: Report, result: Segmentation, lookbacks: tuple[Any, ...] = (90, 180, 365, None)
):
    """In JupyterLab: switch threshold, score levels (k) and lookback -- each control labelled in
    the page's language -- and see the profiles and charts update; one engine query per lookback,
    kept, and each redraw says how long it took. Returns None in batch runs (published HTML stays
    static)."""
    if is_batch():
        return None
    import ipywidgets as widgets

    s = result.settings
    options = list(dict.fromkeys([*lookbacks, s.lookback_days]))
    tr = report.t
    threshold = widgets.Dropdown(
        options=[(tr(f"segmentation.threshold.{v}"), v) for v in ("mean", "median")],
        value=s.threshold,
        description=tr("segmentation.widget.threshold"),
    )
    k = widgets.Dropdown(
        options=[(f"1–{v}", v) for v in SCORE_LEVELS],
        value=s.k,
        description=tr("segmentation.widget.k"),
    )
    lookback = widgets.Dropdown(
        options=[
            (tr("segmentation.widget.all") if v is None else tr("segmentation.widget.days", n=v), v)
            for v in options
        ],
        value=s.lookback_days,
        description=tr("segmentation.widget.lookback"),
    )
    for control in (threshold, k, lookback):
        control.style.description_width = "initial"
    timing = widgets.Label()
    out = widgets.Output()
    engine_results: dict[Any, RFMTable] = {s.lookback_days: result.rfm}

    def redraw(*_: Any) -> None:
        began = time.perf_counter()
        days = lookback.value
        if days not in engine_results:
            engine_results[days] = compute_rfm(
                report.source,
                as_of=s.as_of,
                lookback_days=days,
                frequency=s.frequency,
                monetary=s.monetary,
            )
        changed = replace(s, threshold=threshold.value, k=k.value, lookback_days=days)
        again = segment_customers(engine_results[days], changed)
        out.clear_output(wait=True)
        with out:
            show_thresholds(report, again)
            show_segment_profile(report, again)
            show_tier_profile(report, again)
            display(size_vs_revenue_chart(report, again))
            display(rf_heatmap(report, again))
        timing.value = tr(
            "segmentation.widget.timing", seconds=f"{time.perf_counter() - began:.1f}"
        )

    for control in (threshold, k, lookback):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([threshold, k, lookback]), timing, out])
