"""The whole user-insight answer at once: lifecycle stages, the churn model, predicted value, the
risk x value matrix and (on request) the activation lists -- computed once, so the summary and
every section of the page only show it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from opsbook.exports import Export
from opsbook.insight.analysis.churn import ChurnModel, churn_model
from opsbook.insight.analysis.contact import ContactMatrix, contact_matrix
from opsbook.insight.analysis.export import export_contacts
from opsbook.insight.analysis.lifecycle import Lifecycle, lifecycle
from opsbook.insight.analysis.record import headline, metrics
from opsbook.insight.analysis.settings import ChurnSettings, LifecycleRules, ValueSettings
from opsbook.insight.analysis.value import PredictedValue, predicted_value


@dataclass(frozen=True)
class UserInsight:
    """Every result of one user-insight page; ``contact`` is None without a churn model,
    ``exported`` None when no activation lists were written."""

    stages: Lifecycle
    model: ChurnModel
    value: PredictedValue
    contact: ContactMatrix | None
    exported: Export | None = None

    def metrics(self) -> dict[str, Any]:
        """``metrics.json``: :func:`opsbook.insight.metrics` plus the rows exported."""
        out = metrics(self.stages, self.model, self.value, self.contact)
        out["exported_rows"] = self.exported.rows if self.exported else 0
        return out

    def headline(self) -> list[dict[str, Any]]:
        return headline(self.stages, self.model, self.value, self.contact)


def user_insight(
    report: Any,
    *,
    as_of: date | str | None = None,
    compare_to: date | str | None = None,
    rules: LifecycleRules | None = None,
    actions: Mapping[str, Any] | None = None,
    churn: ChurnSettings | None = None,
    value: ValueSettings | None = None,
    export: bool = False,
    export_dir: str | Path | None = None,
    pseudonymise: bool = False,
) -> UserInsight:
    """Stages at ``as_of`` (and since ``compare_to``), the churn model, the value models, the
    risk x value matrix; with ``export`` the activation lists per cell (see
    :func:`export_contacts`). The churn model checks the history first: too little raises."""
    churn = churn or ChurnSettings()
    model = churn_model(report, as_of=as_of, settings=churn)  # too little history: fails first
    stages = lifecycle(
        report,
        as_of=as_of,
        compare_to=compare_to,
        rules=rules,
        actions=actions,
        event_types=churn.event_types,
    )
    worth = predicted_value(report, as_of=as_of, settings=value, event_types=churn.event_types)
    contact = contact_matrix(report, model, worth)
    exported = export_contacts(
        report,
        model,
        worth,
        enabled=export,
        export_dir=export_dir,
        pseudonymise=pseudonymise,
    )
    return UserInsight(stages, model, worth, contact, exported)
