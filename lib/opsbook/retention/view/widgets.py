"""Exploring in JupyterLab: widgets that switch the matrix's period, criterion and breakdown."""

from __future__ import annotations

from typing import Any

from opsbook.retention.analysis import CRITERIA, PERIODS, breakdown_columns, retention_matrix
from opsbook.retention.view.matrix import curves_chart, heatmap


def explore(report: Any, **defaults: Any):
    """In JupyterLab: dropdowns switching period, criterion and breakdown, redrawing the heatmap
    and the curves. Returns None in batch runs (``opsbook run``): published HTML stays static."""
    from opsbook.report import is_batch

    if is_batch():
        return None
    import ipywidgets as widgets
    from IPython.display import display

    period = widgets.Dropdown(
        options=list(PERIODS),
        value=defaults.get("period", "week"),
        description=report.t("retention.def.period"),
    )
    criterion = widgets.Dropdown(
        options=list(CRITERIA),
        value=defaults.get("criterion", "on"),
        description=report.t("retention.def.criterion"),
    )
    breakdown = widgets.Dropdown(
        options=[("—", None)] + [(c, c) for c in breakdown_columns(report)],
        value=defaults.get("breakdown"),
        description=report.t("retention.def.breakdown"),
    )
    out = widgets.Output()
    fixed = {k: v for k, v in defaults.items() if k not in ("period", "criterion", "breakdown")}

    def redraw(_: Any = None) -> None:
        with out:
            out.clear_output(wait=True)
            overall = retention_matrix(
                report, period=period.value, criterion=criterion.value, **fixed
            )
            display(heatmap(report, overall))
            if breakdown.value:
                by = retention_matrix(
                    report,
                    period=period.value,
                    criterion=criterion.value,
                    breakdown=breakdown.value,
                    **fixed,
                )
                display(curves_chart(report, by))
            else:
                display(curves_chart(report, overall))

    for control in (period, criterion, breakdown):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([period, criterion, breakdown]), out])
