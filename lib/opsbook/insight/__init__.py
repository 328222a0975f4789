"""The user-insight report (用户洞察): lifecycle stages, churn early warning, predicted customer
value -- who will leave, who is worth keeping, whom to contact first.

* **Lifecycle stages** (:func:`lifecycle`): every user signed up before ``as_of`` in one of new,
  churned, silent, high-value (segmentation's RFM tier), returning, active -- first rule wins,
  rules in :class:`LifecycleRules` -- with the movement since ``compare_to``; counts only.
* **Churn warning** (:func:`churn_model`): "active now -> inactive in the next H days", features
  in the engine; trained at E - 2H, evaluated at E - H, the better of a logistic regression and
  gradient boosting (by evaluation PR-AUC) named and used to score at E; bounded samples.
* **Predicted value** (:func:`predicted_value`): BG/NBD and Gamma-Gamma on the pooled summary,
  a calibration/holdout check, discounted CLV and value tiers.
* **Whom to contact** (:func:`contact_matrix`, :func:`scored_users`): risk x value over every
  active user, streamed in chunks; per-user rows only in the activation lists
  (:func:`export_contacts`, one list per cell).
* **The page** (:func:`user_insight` computes everything once; the view shows it): the summary
  first, then stages, the churn warning, predicted value, the matrix, the widget.
"""

# The facade: the names the notebook (07_user_insight.ipynb) and the bench call.
from opsbook.insight.analysis.churn import ChurnModel, churn_model
from opsbook.insight.analysis.contact import ContactMatrix, contact_matrix, scored_users
from opsbook.insight.analysis.export import export_contacts
from opsbook.insight.analysis.lifecycle import Lifecycle, lifecycle
from opsbook.insight.analysis.record import headline, metrics
from opsbook.insight.analysis.settings import (
    ChurnSettings,
    LifecycleRules,
    RiskTiers,
    ValueSettings,
)
from opsbook.insight.analysis.user_insight import UserInsight, user_insight
from opsbook.insight.analysis.value import PredictedValue, predicted_value
from opsbook.insight.queries import (
    STAGES,
    customer_summary_expression,
    daily_activity,
    features_expression,
    stage_expression,
)
from opsbook.insight.view.churn import (
    calibration_chart,
    show_model,
    show_reasons,
    show_scope,
    show_top,
    top_chart,
)
from opsbook.insight.view.contact import show_export, show_risk_value
from opsbook.insight.view.explore import explore
from opsbook.insight.view.lifecycle import show_stages, show_transitions, stages_chart
from opsbook.insight.view.summary import summary
from opsbook.insight.view.value import holdout_chart, show_clv, show_fits

__all__ = [
    "STAGES",
    "ChurnModel",
    "ChurnSettings",
    "ContactMatrix",
    "Lifecycle",
    "LifecycleRules",
    "PredictedValue",
    "RiskTiers",
    "UserInsight",
    "ValueSettings",
    "calibration_chart",
    "churn_model",
    "contact_matrix",
    "customer_summary_expression",
    "daily_activity",
    "explore",
    "export_contacts",
    "features_expression",
    "headline",
    "holdout_chart",
    "lifecycle",
    "metrics",
    "predicted_value",
    "scored_users",
    "show_clv",
    "show_export",
    "show_fits",
    "show_model",
    "show_reasons",
    "show_risk_value",
    "show_scope",
    "show_stages",
    "show_top",
    "show_transitions",
    "stage_expression",
    "stages_chart",
    "summary",
    "top_chart",
    "user_insight",
]
