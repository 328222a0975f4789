"""Lifecycle stages (用户生命周期分层) at ``as_of`` and the movement since ``compare_to``: counts,
shares, the rules and the recommended actions, from the engine's counts only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from opsbook.errors import InputError
from opsbook.insight.analysis.settings import LifecycleRules, stage_actions
from opsbook.insight.queries import (
    EVENT_TYPES,
    NONE,
    STAGES,
    as_date,
    day_number,
    default_as_of,
    high_value_expression,
    report_activity,
    source_of,
    stage_counts,
    stage_expression,
    transition_counts,
)


@dataclass(frozen=True)
class Lifecycle:
    """Every user signed up before ``as_of`` in one stage. ``stages``: stage, users, share,
    rule (an i18n key), fields (the rule's numbers), action (an i18n key or the override);
    ``transitions``: users per (stage at ``compare_to``, stage at ``as_of``), with the row
    ``none`` for users who signed up in between."""

    as_of: date
    compare_to: date
    rules: LifecycleRules
    stages: pd.DataFrame
    transitions: pd.DataFrame
    high_value_available: bool  # False: no orders table, nobody can be high-value
    actions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def users(self) -> int:
        return int(self.stages["users"].sum())

    def share(self, stage: str) -> float | None:
        row = self.stages.set_index("stage").loc[stage]
        return None if pd.isna(row["share"]) else float(row["share"])

    def metrics(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "as_of": self.as_of.isoformat(),
            "compare_to": self.compare_to.isoformat(),
            "stages": {
                row["stage"]: {"users": int(row["users"]), "share": row["share"]}
                for row in self.stages.to_dict("records")
            },
            "stage_rules": {
                "new_days": self.rules.new_days,
                "silent_days": self.rules.silent_days,
                "churn_days": self.rules.churn_days,
                "returning_days": self.rules.returning_days,
            },
        }


def stage_table(
    counts: pd.DataFrame, rules: LifecycleRules, actions: Mapping[str, Any]
) -> pd.DataFrame:
    """Every stage in the order of :data:`STAGES` (empty ones with 0 users) with its share,
    rule key and fields, and action."""
    users = counts.set_index("stage")["users"].reindex(list(STAGES), fill_value=0).astype("int64")
    total = int(users.sum())
    fields = rules.rule_fields()
    return pd.DataFrame(
        {
            "stage": list(STAGES),
            "users": users.to_numpy(),
            "share": (users / total).to_numpy() if total else [float("nan")] * len(STAGES),
            "rule": [f"insight.rule.{s}" for s in STAGES],
            "fields": [fields[s] for s in STAGES],
            "action": [actions[s] for s in STAGES],
        }
    )


def transition_matrix(pairs: pd.DataFrame) -> pd.DataFrame:
    """Users per stage before (rows, with ``none``) and after (columns), every stage shown."""
    table = pairs.pivot_table(
        index="before", columns="after", values="users", aggfunc="sum", fill_value=0
    )
    return table.reindex(index=[*STAGES, NONE], columns=list(STAGES), fill_value=0).astype("int64")


def lifecycle(
    report: Any,
    *,
    as_of: date | str | None = None,
    compare_to: date | str | None = None,
    rules: LifecycleRules | None = None,
    actions: Mapping[str, Any] | None = None,
    event_types: int = EVENT_TYPES,
) -> Lifecycle:
    """The stages at ``as_of`` (default: the day after the data's end) and the transitions from
    ``compare_to`` (default: 30 days earlier), computed in the engine. ``event_types``: only
    shares the kept daily activity with a churn model asking for as many event types."""
    source = source_of(report)
    rules = rules or LifecycleRules()
    end = as_date(as_of) or default_as_of(source)
    earlier = as_date(compare_to) or end - timedelta(days=30)
    if earlier >= end:
        raise InputError("core.error.compare_to", compare_to=earlier, as_of=end)
    source.require("users")
    daily, _ = report_activity(source, day_number(end), event_types)
    has_orders = source.has("orders")

    def stages_at(day: date) -> Any:
        high_value = None
        if has_orders:
            tier = rules.rfm.resolved(rules.k)
            high_value = high_value_expression(
                source,
                as_of=day,
                lookback_days=rules.lookback_days,
                frequency=rules.frequency,
                monetary=rules.monetary,
                k=rules.k,
                churn_days=tier.churn_days,
                min_m=tier.high_value_min_m,
                min_f=tier.high_value_min_f,
            )
        return stage_expression(
            source,
            daily,
            day_number(day),
            new_days=rules.new_days,
            silent_days=rules.silent_days,
            churn_days=rules.churn_days,
            returning_days=rules.returning_days,
            high_value=high_value,
        )

    now = stages_at(end)
    resolved = stage_actions(actions)
    return Lifecycle(
        as_of=end,
        compare_to=earlier,
        rules=rules,
        stages=stage_table(stage_counts(now), rules, resolved),
        transitions=transition_matrix(transition_counts(stages_at(earlier), now)),
        high_value_available=has_orders,
        actions=resolved,
    )
