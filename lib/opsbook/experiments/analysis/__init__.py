"""A/B test analysis: the prepared experiment (its metrics, variants and per-variant sums), the
statistics on those sums, the decision, and the typed result the report shows and records."""

from opsbook.experiments.analysis.decision import (
    Decision,
    Reach,
    decide,
    horizon_days,
    more_days_needed,
)
from opsbook.experiments.analysis.effects import Settings
from opsbook.experiments.analysis.evaluation import RESULT_KEYS, ABTestResult, evaluate
from opsbook.experiments.analysis.experiment import Experiment, default_control, prepare
from opsbook.experiments.analysis.metrics import MetricDefinition, default_event_metrics

__all__ = [
    "RESULT_KEYS",
    "ABTestResult",
    "Decision",
    "Experiment",
    "MetricDefinition",
    "Reach",
    "Settings",
    "decide",
    "default_control",
    "default_event_metrics",
    "evaluate",
    "horizon_days",
    "more_days_needed",
    "prepare",
]
