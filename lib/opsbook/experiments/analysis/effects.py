"""A/B test effects: how the experiment is analysed (:class:`Settings`), and the statistics of
the report from the prepared sums (pure calls into :mod:`opsbook.stats`, no engine): the lift
of every metric, the daily balance, the cumulative lift, the segments and the detectable effect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import pandas as pd
from scipy import special

from opsbook import stats
from opsbook.experiments.analysis.experiment import Experiment
from opsbook.experiments.analysis.metrics import MetricDefinition, _row_stats

# the choices of Settings.method and Settings.correction (the options of the explore widget)
METHODS: tuple[str, ...] = get_args(stats.Method)
CORRECTIONS: tuple[str, ...] = get_args(stats.Adjustment)


@dataclass(frozen=True)
class Settings:
    """How the experiment is analysed (every choice is printed in the report)."""

    alpha: float = 0.05
    alternative: stats.Alternative = "two-sided"
    method: stats.Method = "welch"
    cuped: bool = True
    correction: stats.Adjustment = "holm"
    planned_split: dict[str, float] | None = None
    prior_sd: float | None = None
    tuning_n: float = stats.DEFAULT_TUNING_N
    power: float = 0.8
    srm_warn: float = 0.01
    srm_invalid: float = 0.001

    def __post_init__(self) -> None:
        stats.conventions(
            method=self.method,
            alternative=self.alternative,
            alpha=self.alpha,
            correction=self.correction,
        )  # raises on a bad choice
        if not 0 < self.power < 1:
            raise ValueError(f"power must be in (0, 1), got {self.power!r}")
        if self.prior_sd is not None and not self.prior_sd > 0:
            raise ValueError(f"prior_sd must be positive, got {self.prior_sd!r}")
        if not self.tuning_n > 0:
            raise ValueError(f"tuning_n must be positive, got {self.tuning_n!r}")

    @property
    def prior_var(self) -> float | None:
        return None if self.prior_sd is None else float(self.prior_sd) ** 2

    def conventions(self) -> dict[str, Any]:
        return stats.conventions(
            method=self.method,
            alternative=self.alternative,
            alpha=self.alpha,
            correction=self.correction,
            prior_var=self.prior_var,
            tuning_n=self.tuning_n,
            srm_warn_below=self.srm_warn,
            srm_invalid_below=self.srm_invalid,
        )


def _compare(control: Any, treatment: Any, settings: Settings) -> stats.EffectResult:
    kwargs = {
        "alpha": settings.alpha,
        "alternative": settings.alternative,
        "method": settings.method,
        "tuning_n": settings.tuning_n,
    }
    if isinstance(control, stats.RatioStats):
        return stats.compare_ratios(control, treatment, **kwargs)
    if isinstance(control, stats.CupedStats):
        return stats.cuped(control, treatment, **kwargs)
    return stats.compare_means(control, treatment, **kwargs)


def _z(p: float) -> float:
    return float(special.ndtri(p))


def _effect_row(
    metric: MetricDefinition,
    i: int,
    c_row: pd.Series,
    t_row: pd.Series,
    settings: Settings,
    has_covariate: bool,
) -> tuple[dict[str, Any], stats.EffectResult, stats.EffectResult]:
    adjust = settings.cuped and has_covariate and metric.kind != "ratio"
    c_stats = _row_stats(metric, i, c_row, adjust)
    t_stats = _row_stats(metric, i, t_row, adjust)
    effect = _compare(c_stats, t_stats, settings)
    raw = effect
    if adjust:
        raw = _compare(
            _row_stats(metric, i, c_row, False), _row_stats(metric, i, t_row, False), settings
        )
    # readers see the observed means; CUPED adjusts the lifts, intervals and p-values only
    bayes = stats.bayes_normal(
        c_stats,
        t_stats,
        prior_var=settings.prior_var,
        alpha=settings.alpha,
        higher_is_better=metric.higher_is_better,
    )
    non_inferior = None
    if metric.guardrail and metric.margin is not None:
        level = settings.alpha / 2 if settings.alternative == "two-sided" else settings.alpha
        test = stats.non_inferiority(effect, metric.margin, metric.direction, alpha=level)
        non_inferior = bool(test.non_inferior) if test.valid else False
    row = {
        "control_n": effect.control_n,
        "variant_n": effect.treatment_n,
        "control_mean": raw.control_mean,
        "variant_mean": raw.treatment_mean,
        "abs_lift": effect.abs_lift,
        "abs_se": effect.abs_se,
        "rel_lift": effect.rel_lift,
        "p_value": effect.p_value,
        "chance_to_win": bayes.chance_to_beat_control,
        "expected_loss": bayes.expected_loss,
        "expected_loss_control": bayes.expected_loss_control,
        "valid": effect.valid,
        "flag": effect.flag,
        "cuped_applied": adjust,
        "theta": effect.theta,
        "variance_reduction": effect.variance_reduction if adjust else None,
        "non_inferior": non_inferior,
        "margin": metric.margin,
    }
    return row, effect, raw


def _interval_columns(effect: stats.EffectResult, raw: stats.EffectResult) -> dict[str, Any]:
    """The shown intervals: at ``effect.interval_alpha`` (the adjusted level in a family), the
    CUPED-free ones at the same level."""
    level = effect.interval_alpha if effect.interval_alpha is not None else effect.alpha
    raw = raw.at_level(level) if raw is not effect and raw.valid else raw
    return {
        "abs_ci_low": effect.abs_ci[0],
        "abs_ci_high": effect.abs_ci[1],
        "rel_ci_low": effect.rel_ci[0],
        "rel_ci_high": effect.rel_ci[1],
        "interval_alpha": level,
        "rel_ci_low_unadjusted": raw.rel_ci[0],
        "rel_ci_high_unadjusted": raw.rel_ci[1],
    }


def _results(exp: Experiment, settings: Settings) -> pd.DataFrame:
    """One row per metric and treatment variant. Two families (the primary metric across the
    variants; every other metric) are adjusted with ``settings.correction``: the verdict uses
    ``p_adjusted`` and the intervals are at the level each raw p-value is judged at
    (``stats.adjust_effects``), so verdict, colour and interval agree."""
    totals = exp.totals()
    rows, effects, raws = [], [], []
    for i, metric in enumerate(exp.metrics):
        for variant in exp.variants[1:]:
            row = {
                "metric": metric.name,
                "variant": variant,
                "role": exp.role(metric),
                "kind": metric.kind,
                "direction": metric.direction,
            }
            values, effect, raw = _effect_row(
                metric,
                i,
                totals.loc[exp.control],
                totals.loc[variant],
                settings,
                exp.covariates[i] is not None,
            )
            rows.append(row | values)
            effects.append(effect)
            raws.append(raw)
    frame = pd.DataFrame(rows)
    frame["family"] = np.where(frame["role"] == "primary", "primary", "other")
    adjusted: list[stats.EffectResult | None] = [None] * len(frame)
    for _family, part in frame.groupby("family"):
        members = stats.adjust_effects([effects[k] for k in part.index], settings.correction)
        for k, member in zip(part.index, members, strict=True):
            adjusted[k] = member
    shown = [
        _interval_columns(a, raws[k] if raws[k] is not effects[k] else a)  # type: ignore[arg-type]
        for k, a in enumerate(adjusted)
    ]
    for column in shown[0]:
        frame[column] = [row[column] for row in shown]
    frame["p_adjusted"] = [a.p_adjusted for a in adjusted]  # type: ignore[union-attr]
    better = np.where(frame["direction"] == "higher_is_better", 1, -1) * np.sign(
        frame["abs_lift"].fillna(0)
    )
    significant = np.array([a.significant for a in adjusted], dtype=bool)  # type: ignore[union-attr]
    frame["verdict"] = np.where(
        ~frame["valid"],
        "invalid",
        np.where(significant & (better > 0), "better", np.where(significant, "worse", "flat")),
    )
    return frame


def _daily_balance(exp: Experiment, planned: dict[str, float], settings: Settings) -> pd.DataFrame:
    """Users per local exposure day and variant, their share against the plan, and the day's
    own SRM p-value (exploratory: many days, many tests)."""
    columns = ["day", "variant", "users", "share", "expected_share", "day_p"]
    if not exp.has_days:
        return pd.DataFrame(columns=columns)
    wide = exp.sums.pivot_table(index="day", columns="variant", values="users", aggfunc="sum")
    wide = wide.reindex(columns=list(planned)).fillna(0.0)
    full = pd.date_range(wide.index.min(), wide.index.max(), freq="D")
    wide = wide.reindex(full, fill_value=0.0)
    rows = []
    for day, counts in wide.iterrows():
        total = counts.sum()
        day_p = math.nan
        if total > 0:
            check = stats.srm_check(
                {v: int(counts[v]) for v in planned},
                planned,
                warn_below=settings.srm_warn,
                invalid_below=settings.srm_invalid,
            )
            day_p = check.p_value
        for variant in planned:
            rows.append(
                {
                    "day": day,
                    "variant": variant,
                    "users": int(counts[variant]),
                    "share": counts[variant] / total if total else math.nan,
                    "expected_share": planned[variant],
                    "day_p": day_p,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _cumulative(exp: Experiment, settings: Settings) -> pd.DataFrame:
    """Lift of the primary metric among users exposed up to each day (cumulative cohorts), with
    the report's method: with ``sequential`` every interval is valid at every look."""
    columns = ["day", "variant", "control_users", "variant_users", "rel_lift"]
    columns += ["rel_ci_low", "rel_ci_high", "p_value"]
    if not exp.has_days:
        return pd.DataFrame(columns=columns)
    metric = exp.primary
    parts = [c for c in exp.sums.columns if c.startswith("m0_")] + ["users"]
    daily = exp.sums.groupby(["variant", "day"])[parts].sum()
    full = pd.date_range(exp.sums["day"].min(), exp.sums["day"].max(), freq="D")
    cumulative = {
        v: (
            daily.loc[v].reindex(full, fill_value=0.0).cumsum()
            if v in daily.index.get_level_values(0)
            else pd.DataFrame(0.0, index=full, columns=parts)
        )
        for v in exp.variants
    }
    rows = []
    adjust = settings.cuped and exp.covariates[0] is not None and metric.kind != "ratio"
    for day in full:
        c_row = cumulative[exp.control].loc[day]
        for variant in exp.variants[1:]:
            t_row = cumulative[variant].loc[day]
            effect = _compare(
                _row_stats(metric, 0, c_row, adjust), _row_stats(metric, 0, t_row, adjust), settings
            )
            rows.append(
                {
                    "day": day,
                    "variant": variant,
                    "control_users": int(c_row["users"]),
                    "variant_users": int(t_row["users"]),
                    "rel_lift": effect.rel_lift,
                    "rel_ci_low": effect.rel_ci[0],
                    "rel_ci_high": effect.rel_ci[1],
                    "p_value": effect.p_value,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _segment_results(exp: Experiment, settings: Settings) -> pd.DataFrame:
    """The primary metric per segment value (exploratory: unadjusted, not for decisions)."""
    columns = ["segment", "value", "variant", "control_users", "variant_users", "control_mean"]
    columns += ["variant_mean", "rel_lift", "rel_ci_low", "rel_ci_high", "p_value"]
    if exp.segments.empty:
        return pd.DataFrame(columns=columns)
    metric = exp.primary
    adjust = settings.cuped and exp.covariates[0] is not None and metric.kind != "ratio"
    rows = []
    for (segment, value), part in exp.segments.groupby(["segment", "value"], sort=False):
        by_variant = part.set_index("variant")
        if exp.control not in by_variant.index:
            continue
        c_row = by_variant.loc[exp.control]
        for variant in exp.variants[1:]:
            if variant not in by_variant.index:
                continue
            t_row = by_variant.loc[variant]
            effect = _compare(
                _row_stats(metric, 0, c_row, adjust), _row_stats(metric, 0, t_row, adjust), settings
            )
            raw = _compare(
                _row_stats(metric, 0, c_row, False), _row_stats(metric, 0, t_row, False), settings
            )
            rows.append(
                {
                    "segment": segment,
                    "value": value,
                    "variant": variant,
                    "control_users": int(c_row["users"]),
                    "variant_users": int(t_row["users"]),
                    "control_mean": raw.control_mean,
                    "variant_mean": raw.treatment_mean,
                    "rel_lift": effect.rel_lift,
                    "rel_ci_low": effect.rel_ci[0],
                    "rel_ci_high": effect.rel_ci[1],
                    "p_value": effect.p_value,
                }
            )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["segment", "value", "variant"]).reset_index(drop=True)


def _mde(results: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The smallest effect on the primary metric this test could detect with ``power``, from the
    observed standard error: (z_α + z_β)·se (fixed-horizon)."""
    primary = results[results["role"] == "primary"]
    two_sided = settings.alternative == "two-sided"
    z_alpha = _z(1 - settings.alpha / 2) if two_sided else _z(1 - settings.alpha)
    rows = []
    for row in primary.itertuples():
        mde_abs = (z_alpha + _z(settings.power)) * row.abs_se
        base = abs(row.control_mean) if row.control_mean else math.nan
        rows.append(
            {
                "variant": row.variant,
                "control_mean": row.control_mean,
                "mde_abs": mde_abs,
                "mde_rel": mde_abs / base if base else math.nan,
                "observed_rel": row.rel_lift,
            }
        )
    return pd.DataFrame(
        rows, columns=["variant", "control_mean", "mde_abs", "mde_rel", "observed_rel"]
    )
