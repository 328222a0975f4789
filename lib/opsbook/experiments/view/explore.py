"""A/B test, view: the JupyterLab explorer -- re-read the results and the decision under another
test, correction, significance level or CUPED. Every control is labelled in the report's
language; a redraw re-evaluates the prepared sums (no engine call)."""

from __future__ import annotations

from typing import Any

from opsbook.experiments.analysis import Experiment, evaluate
from opsbook.experiments.analysis.effects import CORRECTIONS, METHODS
from opsbook.experiments.view.results import forest_chart, show_results
from opsbook.experiments.view.summary import summary
from opsbook.report import Report, is_batch


def explore(report: Report, exp: Experiment, **settings: Any):
    """The explorer's widgets (None in batch runs, where nothing interactive is shown)."""
    if is_batch():
        return None
    import ipywidgets as widgets
    from IPython.display import display

    tr = report.t
    wide = {"description_width": "initial"}
    method = widgets.Dropdown(
        options=[(tr(f"ab_test.widget.method.{m}"), m) for m in METHODS],
        value=settings.get("method", "welch"),
        description=tr("ab_test.widget.test"),
        style=wide,
    )
    correction = widgets.Dropdown(
        options=[(tr(f"ab_test.widget.correction.{c}"), c) for c in CORRECTIONS],
        value=settings.get("correction", "holm"),
        description=tr("ab_test.widget.correction"),
        style=wide,
    )
    alpha = widgets.FloatLogSlider(
        value=settings.get("alpha", 0.05),
        base=10,
        min=-3,
        max=-0.7,
        step=0.05,
        readout_format=".3f",
        description=tr("ab_test.widget.alpha"),
        style=wide,
    )
    use_cuped = widgets.Checkbox(
        value=bool(settings.get("cuped", True)), description=tr("ab_test.widget.cuped"), style=wide
    )
    output = widgets.Output()

    def refresh(*_: Any) -> None:
        chosen = dict(settings) | {
            "method": method.value,
            "correction": correction.value,
            "alpha": alpha.value,
            "cuped": use_cuped.value,
        }
        with output:
            output.clear_output(wait=True)
            result = evaluate(exp, **chosen)
            summary(report, result)
            show_results(report, result)
            display(forest_chart(report, result))

    for control in (method, correction, alpha, use_cuped):
        control.observe(refresh, names="value")
    refresh()
    return widgets.VBox([widgets.HBox([method, correction, alpha, use_cuped]), output])
