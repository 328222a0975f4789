"""The JupyterLab widget: pick the funnel's steps, its window, the breakdown and the paths'
anchor event, and see the step table, the funnel chart, the breakdown and the Sankey update."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from IPython.display import display

from opsbook.behaviour.analysis.behaviour import DAY_SECONDS, Behaviour, present_events
from opsbook.behaviour.analysis.funnel import FunnelResult, funnel_analysis
from opsbook.behaviour.analysis.paths import PathsResult, paths_analysis
from opsbook.behaviour.view.funnel import funnel_chart, show_breakdown, show_funnel
from opsbook.behaviour.view.names import column_name, event_name
from opsbook.behaviour.view.paths import paths_chart
from opsbook.report import Report, is_batch

WINDOWS = (1, 3, 7, 14, 30)
BREAKDOWNS = ("channel", "region", "device", "city_tier")


def explore(report: Report, result: Behaviour) -> Any:
    """In JupyterLab: the steps (events in order), the window in days, the breakdown column and
    the paths' anchor -- each control labelled in the page's language -- redraw the first
    funnel's table, chart and breakdown and the anchored Sankey; every funnel and path set is
    computed once and kept, and each redraw says how long it took. None in batch runs."""
    if is_batch():
        return None
    import ipywidgets as widgets

    tr = report.t
    source = report.source
    main, paths = result.main, result.paths
    events = present_events(source)
    options = [(event_name(report, e), e) for e in events]
    chosen = [st.event for st in main.funnel.steps if st.event in events]
    steps = widgets.TagsInput(value=chosen, allowed_tags=events, allow_duplicates=False)
    steps_label = widgets.Label(tr("behaviour.widget.steps"))
    days = round(main.funnel.window_seconds / DAY_SECONDS)
    window = widgets.Dropdown(
        options=[(tr("behaviour.widget.days", n=d), d) for d in sorted({*WINDOWS, days})],
        value=days,
        description=tr("behaviour.widget.window"),
    )
    columns = [c for c in BREAKDOWNS if source.has("users") and c in source.columns("users")]
    breakdown = widgets.Dropdown(
        options=[(tr("behaviour.widget.no_breakdown"), None)]
        + [(column_name(report, c), c) for c in columns],
        value=main.breakdown if main.breakdown in columns else None,
        description=tr("behaviour.widget.breakdown"),
    )
    anchor = widgets.Dropdown(
        options=options,
        value=paths.anchor if paths is not None and paths.anchor in events else events[0],
        description=tr("behaviour.widget.anchor"),
    )
    controls = [window, breakdown, anchor]
    for control in controls:
        control.style.description_width = "initial"
    timing = widgets.Label()
    out = widgets.Output()
    funnels: dict[tuple, FunnelResult] = {}
    anchored: dict[str, PathsResult | None] = {}
    if paths is not None:
        anchored[paths.anchor] = paths

    def redraw(*_: Any) -> None:
        began = time.perf_counter()
        out.clear_output(wait=True)
        with out:
            if not steps.value:
                report.say("behaviour.widget.pick_steps")
                timing.value = ""
                return
            key = (tuple(steps.value), window.value, breakdown.value)
            if key not in funnels:
                funnel = replace(
                    main.funnel,
                    steps=key[0],
                    window_seconds=int(window.value) * DAY_SECONDS,
                    exclusions=(),
                    name=tr("behaviour.widget.funnel_name"),
                )
                funnels[key] = funnel_analysis(
                    source, funnel, breakdown=breakdown.value, details=False
                )
            if anchor.value not in anchored:
                s = result.settings
                anchored[anchor.value] = paths_analysis(
                    source,
                    anchor=anchor.value,
                    direction=s.direction,
                    steps=s.steps,
                    rules=s.rules,
                    min_users=s.min_users,
                    top=s.top,
                )
            shown = funnels[key]
            show_funnel(report, shown)
            display(funnel_chart(report, shown))
            show_breakdown(report, shown)
            chart = paths_chart(report, anchored[anchor.value], "behaviour.chart.anchor_title")
            if chart is not None:
                display(chart)
        timing.value = tr("behaviour.widget.timing", seconds=f"{time.perf_counter() - began:.2f}")

    steps.observe(redraw, names="value")
    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([steps_label, steps]), widgets.HBox(controls), timing, out])
