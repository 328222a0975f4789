"""The behaviour report (行为分析): funnels, paths and key actions -- where users drop off, what
they do instead, and which early actions go with staying. Queries (``behaviour.queries``) run
every sequence in the engine with window functions; analysis (``behaviour.analysis``) turns the
small frames into typed results; the view (``behaviour.view``) draws the page from them.

* **The page** (:func:`behaviour` computes everything once; the notebook 08_behaviour shows
  it): the summary first, then the funnels, the drop-off paths, the anchored paths (an offline
  Sankey), key actions and the explorer.
"""

# The facade: the names the notebook (08_behaviour.ipynb) and the bench call.
from opsbook.behaviour.analysis.actions import KeyActions, key_actions
from opsbook.behaviour.analysis.behaviour import (
    DEFAULT_FUNNEL,
    ActionSettings,
    Behaviour,
    PathSettings,
    behaviour,
)
from opsbook.behaviour.analysis.funnel import FunnelResult, funnel_analysis
from opsbook.behaviour.analysis.paths import PathsResult, paths_analysis
from opsbook.behaviour.queries.paths import PathRules
from opsbook.behaviour.queries.steps import Funnel, Step
from opsbook.behaviour.view.actions import show_actions
from opsbook.behaviour.view.explore import explore
from opsbook.behaviour.view.funnel import (
    funnel_chart,
    show_breakdown,
    show_funnel,
    show_funnels,
    show_times,
    times_chart,
    weeks_chart,
)
from opsbook.behaviour.view.paths import (
    paths_chart,
    show_anchor,
    show_dropoff,
    show_rules,
    show_top_paths,
)
from opsbook.behaviour.view.summary import summary

__all__ = [
    "DEFAULT_FUNNEL",
    "ActionSettings",
    "Behaviour",
    "Funnel",
    "FunnelResult",
    "KeyActions",
    "PathRules",
    "PathSettings",
    "PathsResult",
    "Step",
    "behaviour",
    "explore",
    "funnel_analysis",
    "funnel_chart",
    "key_actions",
    "paths_analysis",
    "paths_chart",
    "show_actions",
    "show_anchor",
    "show_breakdown",
    "show_dropoff",
    "show_funnel",
    "show_funnels",
    "show_rules",
    "show_times",
    "show_top_paths",
    "summary",
    "times_chart",
    "weeks_chart",
]
