"""What a user-insight run records: the keys of ``metrics.json`` and the headline numbers."""

from __future__ import annotations

from typing import Any

from opsbook.insight.analysis.churn import ChurnModel
from opsbook.insight.analysis.contact import ContactMatrix
from opsbook.insight.analysis.lifecycle import Lifecycle
from opsbook.insight.analysis.value import PredictedValue


def metrics(
    stages: Lifecycle,
    model: ChurnModel,
    value: PredictedValue,
    contact: ContactMatrix | None,
) -> dict[str, Any]:
    """Everything for ``metrics.json``: users, as_of, horizon_days, stages, churn_model,
    at_risk_users, revenue_at_risk, bgnbd, gamma_gamma, predicted_clv_total and more."""
    out = stages.metrics() | model.metrics() | value.metrics()
    if contact is not None:
        out |= contact.metrics()
    else:
        out |= {"at_risk_users": None, "revenue_at_risk": None}
    out["scope"] = {  # what the run's card says it describes
        "key": "insight.scope",
        "fields": {"as_of": out["as_of"], "horizon": out["horizon_days"]},
    }
    return out


def headline(
    stages: Lifecycle, model: ChurnModel, value: PredictedValue, contact: ContactMatrix | None
) -> list[dict[str, Any]]:
    """The summary the page opens with: users at risk, revenue at stake, how good the model is
    (precision of the top 10 % and the lift over the recency rule), the value at stake."""
    e = model.evaluation
    lift = e.at(0.10, "lift_vs_recency") if e else None
    return [
        {"label": "insight.h.users", "value": stages.users, "format": "int"},
        {
            "label": "insight.h.at_risk",
            "value": contact.at_risk_users if contact else None,
            "format": "int",
        },
        {
            "label": "insight.h.revenue_at_risk",
            "value": contact.revenue_at_risk if contact else None,
            "format": "money",
        },
        {
            "label": "insight.h.precision_top10",
            "value": e.at(0.10, "precision") if e else None,
            "format": "pct",
        },
        {
            "label": "insight.h.lift_top10",
            "value": lift,
            "format": "dec2",  # a multiple: 3.10 (×)
            "status": None if lift is None else ("green" if lift > 1 else "amber"),
        },
        {"label": "insight.h.clv_total", "value": value.clv_total, "format": "money"},
    ]
