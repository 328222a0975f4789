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
    funnel's table, chart and breakdown, or the anchored Sankey: a control redraws only the part
    it changes (a new anchor leaves the funnel as it is). Every funnel and path set is computed
    once, each chart drawn once per setting and kept as its image, and each redraw says how
    long it took. None in batch runs."""
    if is_batch():
        return None
    import ipywidgets as widgets
    from IPython import get_ipython

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
    funnel_out, paths_out = widgets.Output(), widgets.Output()
    funnels: dict[tuple, FunnelResult] = {}
    anchored: dict[str, PathsResult | None] = {}
    if paths is not None:
        anchored[paths.anchor] = paths
    images: dict[tuple, tuple[dict, dict] | None] = {}
    shell = get_ipython()

    def image(key: tuple, draw: Any) -> None:
        """Show the chart of ``key`` as the notebook does (PNG and its metadata), drawn once."""
        if key not in images:
            fig = draw()
            images[key] = None if fig is None else shell.display_formatter.format(fig)
        if images[key] is not None:
            data, metadata = images[key]
            display(data, raw=True, metadata=metadata)

    def timed(redraw: Any) -> Any:
        def run(*_: Any) -> None:
            began = time.perf_counter()
            redraw()
            seconds = f"{time.perf_counter() - began:.2f}"
            timing.value = tr("behaviour.widget.timing", seconds=seconds)

        return run

    @timed
    def redraw_funnel() -> None:
        funnel_out.clear_output(wait=True)
        with funnel_out:
            if not steps.value:
                report.say("behaviour.widget.pick_steps")
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
            shown = funnels[key]
            show_funnel(report, shown)
            image(("funnel", *key), lambda: funnel_chart(report, shown))
            show_breakdown(report, shown)

    @timed
    def redraw_paths() -> None:
        paths_out.clear_output(wait=True)
        with paths_out:
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
            found = anchored[anchor.value]
            image(
                ("paths", anchor.value),
                lambda: paths_chart(report, found, "behaviour.chart.anchor_title"),
            )

    for control in (steps, window, breakdown):
        control.observe(redraw_funnel, names="value")
    anchor.observe(redraw_paths, names="value")
    redraw_funnel()
    redraw_paths()
    return widgets.VBox(
        [
            widgets.HBox([steps_label, steps]),
            widgets.HBox(controls),
            timing,
            funnel_out,
            paths_out,
        ]
    )
