"""The JupyterLab widget: switch the horizon, the stage rules and the risk-tier cut-offs and see
the stages, the model's top-k table and the risk x value matrix update."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from IPython.display import display

from opsbook.insight.analysis.churn import ChurnModel, churn_model
from opsbook.insight.analysis.contact import ContactMatrix, contact_matrix
from opsbook.insight.analysis.lifecycle import Lifecycle, lifecycle
from opsbook.insight.analysis.settings import LifecycleRules, RiskTiers
from opsbook.insight.analysis.user_insight import UserInsight
from opsbook.insight.view.churn import show_top
from opsbook.insight.view.contact import show_risk_value
from opsbook.insight.view.lifecycle import show_stages, stages_chart
from opsbook.report import Report, is_batch

HORIZONS = (14, 30)
RULES = ("new_days", "silent_days", "churn_days", "returning_days")


def explore(report: Report, result: UserInsight, horizons: tuple[int, ...] = HORIZONS):
    """In JupyterLab: a horizon, the four stage rules and the two risk cut-offs -- each control
    labelled in the page's language -- redraw the stages, the top-k table and the matrix; each
    model, stage table and scoring is computed once per setting and kept, and each redraw says
    how long it took. None in batch runs (published HTML stays static)."""
    if is_batch():
        return None
    import ipywidgets as widgets

    tr = report.t
    s = result.model.settings
    rules = result.stages.rules
    horizon = widgets.Dropdown(
        options=[
            (tr("insight.widget.days", n=h), h) for h in dict.fromkeys([*horizons, s.horizon_days])
        ],
        value=s.horizon_days,
        description=tr("insight.widget.horizon"),
    )
    days = {
        name: widgets.BoundedIntText(
            value=getattr(rules, name), min=1, max=365, description=tr(f"insight.widget.{name}")
        )
        for name in RULES
    }
    cut = {
        name: widgets.FloatSlider(
            value=getattr(s.tiers, name),
            min=0.05,
            max=0.95,
            step=0.05,
            readout_format=".0%",
            description=tr(f"insight.widget.risk_{name}"),
        )
        for name in ("medium", "high")
    }
    controls = [horizon, *days.values(), *cut.values()]
    for control in controls:
        control.style.description_width = "initial"
    timing = widgets.Label()
    out = widgets.Output()
    models: dict[int, ChurnModel] = {s.horizon_days: result.model}
    stage_tables: dict[LifecycleRules, Lifecycle] = {rules: result.stages}
    matrices: dict[tuple[int, RiskTiers], ContactMatrix | None] = {
        (s.horizon_days, s.tiers): result.contact
    }

    def redraw(*_: Any) -> None:
        began = time.perf_counter()
        out.clear_output(wait=True)
        with out:
            try:  # a rule set that contradicts itself says why, the widget stays usable
                chosen = replace(rules, **{name: box.value for name, box in days.items()})
                tiers = RiskTiers(medium=cut["medium"].value, high=cut["high"].value)
                h = horizon.value
                if h not in models:
                    models[h] = churn_model(
                        report, as_of=result.model.as_of, settings=replace(s, horizon_days=h)
                    )
            except ValueError as problem:
                report.say("insight.widget.invalid", problem=str(problem))
                timing.value = ""
                return
            if chosen not in stage_tables:
                stage_tables[chosen] = lifecycle(
                    report,
                    as_of=result.stages.as_of,
                    compare_to=result.stages.compare_to,
                    rules=chosen,
                    actions=result.stages.actions,
                    event_types=s.event_types,
                )
            model = replace(models[h], settings=replace(models[h].settings, tiers=tiers))
            if (h, tiers) not in matrices:
                matrices[(h, tiers)] = contact_matrix(report, model, result.value)
            again = UserInsight(stage_tables[chosen], model, result.value, matrices[(h, tiers)])
            show_stages(report, again.stages)
            display(stages_chart(report, again.stages))
            show_top(report, again.model)
            show_risk_value(report, again)
        timing.value = tr("insight.widget.timing", seconds=f"{time.perf_counter() - began:.1f}")

    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox(
        [widgets.HBox([horizon, *cut.values()]), widgets.HBox(list(days.values())), timing, out]
    )
