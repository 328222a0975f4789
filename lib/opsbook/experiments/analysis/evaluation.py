"""A/B test result: :func:`evaluate` turns a prepared experiment into an :class:`ABTestResult`
(SRM check, effects, decision), which gives the report's metrics and headline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsbook import stats
from opsbook.experiments.analysis.decision import Decision, decide
from opsbook.experiments.analysis.effects import (
    Settings,
    _cumulative,
    _daily_balance,
    _mde,
    _results,
    _segment_results,
)
from opsbook.experiments.analysis.experiment import Experiment, _planned_shares
from opsbook.i18n import t
from opsbook.report import jsonable

RESULT_KEYS = (
    "metric",
    "variant",
    "control_mean",
    "variant_mean",
    "abs_lift",
    "rel_lift",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_adjusted",
    "chance_to_win",
)


@dataclass(frozen=True)
class ABTestResult:
    """The evaluated experiment; every frame is small and plain."""

    experiment: Experiment
    settings: Settings
    planned: dict[str, float]
    srm: stats.SrmResult
    results: pd.DataFrame
    daily: pd.DataFrame
    cumulative: pd.DataFrame
    segments: pd.DataFrame
    mde: pd.DataFrame
    decision: Decision

    @property
    def valid(self) -> bool:
        return self.srm.status != "invalid"

    @property
    def primary_results(self) -> pd.DataFrame:
        return self.results[self.results["role"] == "primary"]

    def conventions(self) -> dict[str, Any]:
        exp = self.experiment
        conventions = self.settings.conventions()
        conventions |= {
            "cuped": bool(self.settings.cuped),
            "pre_period_days": exp.pre_days,
            "window_days": exp.window_days,
            "winsorized_caps": dict(exp.caps),
            "families": "primary_across_variants; other_metrics_across_variants",
            "guardrail_rule": "unadjusted_harm_or_non_inferiority_at_alpha_over_2",
            "power": self.settings.power,
            "horizon": "twice_days_run_within_28_to_56_days_else_twice_users",
            "control_rule": "parameter_or_named_control_else_first_sorted",
        }
        return conventions

    def metrics(self) -> dict[str, Any]:
        exp = self.experiment
        decision = self.decision
        results = [
            {key: jsonable(row[key]) for key in RESULT_KEYS} for _, row in self.results.iterrows()
        ]
        details = [
            {
                "metric": row.metric,
                "variant": row.variant,
                "role": row.role,
                "kind": row.kind,
                "direction": row.direction,
                "control_users": int(row.control_n),
                "variant_users": int(row.variant_n),
                "abs_ci_low": jsonable(row.abs_ci_low),
                "abs_ci_high": jsonable(row.abs_ci_high),
                "expected_loss": jsonable(row.expected_loss),
                "expected_loss_control": jsonable(row.expected_loss_control),
                "cuped_applied": bool(row.cuped_applied),
                "variance_reduction": jsonable(row.variance_reduction),
                "rel_ci_low_unadjusted": jsonable(row.rel_ci_low_unadjusted),
                "rel_ci_high_unadjusted": jsonable(row.rel_ci_high_unadjusted),
                "non_inferior": None if row.non_inferior is None else bool(row.non_inferior),
                "verdict": row.verdict,
                "flag": row.flag,
            }
            for row in self.results.itertuples()
        ]
        mde = {
            row.variant: {"abs": jsonable(row.mde_abs), "rel": jsonable(row.mde_rel)}
            for row in self.mde.itertuples()
        }
        hygiene = {
            row.reason: {
                "users": None if pd.isna(row.users) else int(row.users),
                "rows": int(row.rows),
            }
            for row in exp.hygiene.itertuples()
        }
        return {
            "scope": {"key": "ab_test.scope", "fields": {"experiment": exp.name}},
            "experiment": exp.name,
            "control": exp.control,
            "variants": exp.users,
            "users": int(sum(exp.users.values())),
            "srm_p": jsonable(self.srm.p_value),
            "srm_status": self.srm.status,
            "valid": self.valid,
            "decision": decision.decision,
            "decision_variant": decision.variant,
            "decision_reason": decision.reason,
            "days_needed": decision.days_needed,
            "users_needed_per_variant": decision.users_needed,
            "mde_reachable": (
                None if decision.reach is None else jsonable(decision.reach.to_dict())
            ),
            "primary_metric": exp.primary.name,
            "metrics": [m.name for m in exp.metrics],
            "guardrails": [m.name for m in exp.metrics if m.guardrail],
            "alpha": self.settings.alpha,
            "alternative": self.settings.alternative,
            "planned_split": self.planned,
            "method": self.settings.method,
            "cuped": bool(self.settings.cuped),
            "correction": self.settings.correction,
            "source_table": exp.source_table,
            "first_exposure_day": exp.first_day.isoformat() if exp.first_day else None,
            "last_exposure_day": exp.last_day.isoformat() if exp.last_day else None,
            "days_run": exp.days_run,
            "hygiene": hygiene,
            "rows_read": exp.rows_read,
            "mde": mde,
            "results": results,
            "details": details,
            "conventions": self.conventions(),
        }

    def headline(self, lang: str = "en") -> list[dict[str, Any]]:
        """3-5 figures for the run's index page (the decision translated into ``lang``)."""
        status = {"ship": "green", "dont_ship": "red", "inconclusive": "amber", "invalid": "red"}
        primary = self.primary_results
        focus = primary[primary["variant"] == self.decision.variant]
        row = (focus if not focus.empty else primary).iloc[0]
        srm_colour = {"ok": "green", "warn": "amber", "invalid": "red"}[self.srm.status]
        return [
            {
                "label": "ab_test.h.decision",
                "value": t(f"ab_test.decision.{self.decision.decision}", lang),
                "format": "text",
                "status": status[self.decision.decision],
            },
            {
                "label": "ab_test.h.primary_lift",
                "value": jsonable(row["rel_lift"]),
                "format": "signed_pct",
                "status": None,
            },
            {
                "label": "ab_test.h.chance_to_win",
                "value": jsonable(row["chance_to_win"]),
                "format": "pct",
                "status": None,
            },
            {
                "label": "ab_test.h.srm_p",
                "value": jsonable(self.srm.p_value),
                "format": "float",
                "status": srm_colour,
            },
            {
                "label": "ab_test.h.users",
                "value": int(sum(self.experiment.users.values())),
                "format": "int",
                "status": None,
            },
        ]


def evaluate(
    exp: Experiment,
    *,
    alpha: float = 0.05,
    alternative: stats.Alternative = "two-sided",
    planned_split: Mapping[str, float] | Sequence[float] | None = None,
    method: stats.Method = "welch",
    cuped: bool = True,
    correction: stats.Adjustment = "holm",
    prior_sd: float | None = None,
    tuning_n: float | None = None,
    power: float = 0.8,
    srm_warn: float = 0.01,
    srm_invalid: float = 0.001,
) -> ABTestResult:
    """Every statistic of the report from the prepared sums (pure, fast: no engine call)."""
    settings = Settings(
        alpha=float(alpha),
        alternative=alternative,
        method=method,
        cuped=bool(cuped),
        correction=correction,
        planned_split=dict(planned_split) if isinstance(planned_split, Mapping) else None,
        prior_sd=prior_sd,
        tuning_n=float(tuning_n) if tuning_n else stats.DEFAULT_TUNING_N,
        power=float(power),
        srm_warn=float(srm_warn),
        srm_invalid=float(srm_invalid),
    )
    variants = list(exp.variants)
    if isinstance(planned_split, Mapping):
        # a planned variant that received nobody still belongs in the SRM check
        variants += [str(v) for v in planned_split if str(v) not in variants]
    planned = _planned_shares(planned_split, variants)
    users = exp.users
    srm = stats.srm_check(
        {v: users.get(v, 0) for v in variants},
        planned,
        warn_below=settings.srm_warn,
        invalid_below=settings.srm_invalid,
    )
    results = _results(exp, settings)
    days_run = exp.days_run
    decision = decide(
        results,
        srm_status=srm.status,
        alpha=settings.alpha,
        days_run=days_run,
        power=settings.power,
        alternative=settings.alternative,
    )
    return ABTestResult(
        experiment=exp,
        settings=settings,
        planned=planned,
        srm=srm,
        results=results,
        daily=_daily_balance(exp, planned, settings),
        cumulative=_cumulative(exp, settings),
        segments=_segment_results(exp, settings),
        mde=_mde(results, settings),
        decision=decision,
    )
