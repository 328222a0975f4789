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
  active user, streamed in chunks; per-user rows only in the activation lists.
"""

# The facade: the names the notebook (07_user_insight.ipynb) and the bench call.
from opsbook.insight.analysis.churn import ChurnModel, churn_model
from opsbook.insight.analysis.contact import ContactMatrix, contact_matrix, scored_users
from opsbook.insight.analysis.lifecycle import Lifecycle, lifecycle
from opsbook.insight.analysis.record import headline, metrics
from opsbook.insight.analysis.settings import (
    ChurnSettings,
    LifecycleRules,
    RiskTiers,
    ValueSettings,
)
from opsbook.insight.analysis.value import PredictedValue, predicted_value
from opsbook.insight.queries import (
    STAGES,
    customer_summary_expression,
    daily_activity,
    features_expression,
    stage_expression,
)

__all__ = [
    "STAGES",
    "ChurnModel",
    "ChurnSettings",
    "ContactMatrix",
    "Lifecycle",
    "LifecycleRules",
    "PredictedValue",
    "RiskTiers",
    "ValueSettings",
    "churn_model",
    "contact_matrix",
    "customer_summary_expression",
    "daily_activity",
    "features_expression",
    "headline",
    "lifecycle",
    "metrics",
    "predicted_value",
    "scored_users",
    "stage_expression",
]
