"""A/B test, the view: what the notebook shows, built from the evaluated result only. One module
per kind of question: ``summary`` (the decision first, with the key numbers and next steps),
``results`` (the effect: results table, forest plot, lift over time, segments, the detectable
effect), ``setup`` (the experiment's set-up, hygiene, sample ratio, conventions), ``explore``
(the JupyterLab explorer) and ``names`` (display names of the data's and the config's codes)."""

from opsbook.experiments.view.explore import explore
from opsbook.experiments.view.results import (
    cumulative_chart,
    forest_chart,
    show_mde,
    show_results,
    show_segments,
)
from opsbook.experiments.view.setup import (
    balance_chart,
    show_conventions,
    show_hygiene,
    show_setup,
    show_srm,
)
from opsbook.experiments.view.summary import summary

__all__ = [
    "balance_chart",
    "cumulative_chart",
    "explore",
    "forest_chart",
    "show_conventions",
    "show_hygiene",
    "show_mde",
    "show_results",
    "show_segments",
    "show_setup",
    "show_srm",
    "summary",
]
