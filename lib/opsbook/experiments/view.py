"""A/B test, what the notebook shows: the experiment's summary and hygiene, the SRM check and
the daily balance, the results table and the charts of the lift, segments, the detectable
effect, the decision in plain words (with what more days can or cannot settle, and the expected
loss of each choice), the conventions, and the widgets to explore (built from
the results only)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from opsbook.experiments.analysis import ABTestResult, Experiment, evaluate
from opsbook.experiments.analysis.effects import CORRECTIONS, METHODS
from opsbook.formats import STATUS_CLASS, callout_html, finite, fmt, interval_text, p_text
from opsbook.plots import PALETTE, STATUS_COLOURS, figure
from opsbook.report import Report, is_batch

MENTION_REDUCTION = 0.01  # CUPED variance reductions below this are not worth a sentence


def _metric_format(kind: str) -> tuple[str, str]:
    """(format of a mean, format of an absolute difference) for a metric kind."""
    return ("pct2", "pp") if kind == "proportion" else ("float", "float")


def show_summary(report: Report, ab: ABTestResult) -> None:
    """Dates, variants, planned split and users; the metrics and their roles."""
    tr, exp = report.t, ab.experiment
    users = exp.users
    total = f"{sum(users.values()):,}"
    if exp.first_day is not None:
        report.say(
            "ab_test.summary.text",
            experiment=exp.name,
            first=exp.first_day.isoformat(),
            last=exp.last_day.isoformat() if exp.last_day else "—",
            days=exp.days_run,
            users=total,
            source=exp.source_table,
        )
    else:
        report.say(
            "ab_test.summary.text_no_dates",
            experiment=exp.name,
            users=total,
            source=exp.source_table,
        )
    if exp.window_days:
        report.say("ab_test.summary.window", window=exp.window_days, pre=exp.pre_days or 0)
    if exp.other_experiments:
        report.say("ab_test.summary.others", names=", ".join(exp.other_experiments))
    rows = []
    for variant in ab.planned:
        rows.append(
            {
                tr("ab_test.col.variant"): variant,
                tr("ab_test.col.role"): tr(
                    "ab_test.role.control" if variant == exp.control else "ab_test.role.treatment"
                ),
                tr("core.users"): users.get(variant, 0),
                tr("ab_test.col.observed_share"): ab.srm.observed_shares.get(variant),
                tr("ab_test.col.planned_share"): ab.planned[variant],
            }
        )
    report.show(
        pd.DataFrame(rows),
        formats={
            tr("core.users"): "int",
            tr("ab_test.col.observed_share"): "pct2",
            tr("ab_test.col.planned_share"): "pct2",
        },
        count_columns=[tr("core.users")],
        min_cell=report.min_cell,
    )
    metric_rows = []
    for i, metric in enumerate(exp.metrics):
        definition = tr(
            f"ab_test.kind_def.{metric.kind}",
            numerator=metric.numerator,
            denominator=metric.denominator or "",
        )
        extras = []
        if exp.covariates[i] is not None:
            extras.append(tr("ab_test.metric.covariate", covariate=exp.covariates[i]))
        if metric.name in exp.caps:
            extras.append(
                tr(
                    "ab_test.metric.capped",
                    quantile=f"{metric.winsorize:.0%}",
                    cap=fmt(exp.caps[metric.name], "float"),
                )
            )
        if metric.margin is not None:
            extras.append(tr("ab_test.metric.margin", margin=f"{metric.margin:.1%}"))
        metric_rows.append(
            {
                tr("ab_test.col.metric"): metric.name,
                tr("ab_test.col.role"): tr(f"ab_test.role.{exp.role(metric)}"),
                tr("ab_test.col.kind"): tr(f"ab_test.kind.{metric.kind}"),
                tr("ab_test.col.definition"): definition,
                tr("ab_test.col.direction"): tr(f"ab_test.direction.{metric.direction}"),
                tr("ab_test.col.notes"): "; ".join(extras) or "—",
            }
        )
    report.show(pd.DataFrame(metric_rows))


def show_hygiene(report: Report, ab: ABTestResult) -> None:
    """Rows and users excluded, per reason, so nothing is dropped silently."""
    tr, exp = report.t, ab.experiment
    frame = exp.hygiene[exp.hygiene["reason"].isin(exp.checked_reasons)]
    report.say(
        "ab_test.hygiene.text",
        rows=f"{exp.rows_read:,}",
        users=f"{sum(exp.users.values()):,}",
    )
    shown = pd.DataFrame(
        {
            tr("ab_test.col.reason"): [tr(f"ab_test.hygiene.{r}") for r in frame["reason"]],
            tr("ab_test.col.rule"): [tr(f"ab_test.hygiene_rule.{r}") for r in frame["reason"]],
            tr("ab_test.col.users_excluded"): frame["users"].astype(object),
            tr("ab_test.col.rows_excluded"): frame["rows"],
        }
    )
    report.show(
        shown,
        formats={tr("ab_test.col.users_excluded"): "int", tr("ab_test.col.rows_excluded"): "int"},
    )
    if exp.exposure_check:
        report.say("ab_test.hygiene.check", expression=exp.exposure_check)


def show_srm(report: Report, ab: ABTestResult) -> None:
    """The sample-ratio-mismatch check and what it means, in plain words."""
    srm = ab.srm
    fields = {
        "p": p_text(srm.p_value, 4),
        "chi2": fmt(srm.chi2, "float"),
        "df": srm.df,
        "warn": f"{srm.warn_below:g}",
        "invalid": f"{srm.invalid_below:g}",
    }
    colour = {"ok": "green", "warn": "amber", "invalid": "red"}[srm.status]
    display(HTML(callout_html(report.t(f"ab_test.srm.{srm.status}", **fields), colour)))
    display(HTML(callout_html(report.t("ab_test.srm.explanation"))))


def balance_chart(report: Report, ab: ABTestResult):
    """Daily share of newly exposed users per variant against the planned split."""
    daily = ab.daily
    if daily.empty:
        report.say("ab_test.balance.no_days")
        return None
    flagged = daily[daily["day_p"] < ab.srm.invalid_below]["day"].drop_duplicates()
    report.say(
        "ab_test.balance.text",
        days=daily["day"].nunique(),
        flagged=len(flagged),
        threshold=f"{ab.srm.invalid_below:g}",
    )
    fig, (ax_users, ax_share) = figure(9, 5.2, nrows=2, sharex=True)
    for k, variant in enumerate(ab.planned):
        part = daily[daily["variant"] == variant]
        colour = PALETTE[k % len(PALETTE)]
        ax_users.plot(part["day"], part["users"], color=colour, lw=1.4, label=variant)
        ax_share.plot(part["day"], part["share"], color=colour, lw=1.4, label=variant)
        ax_share.axhline(part["expected_share"].iloc[0], color=colour, lw=1, ls="--")
    for day in flagged:
        ax_share.axvline(day, color=STATUS_COLOURS["red"], lw=0.8, alpha=0.6)
    ax_users.set_title(report.t("ab_test.chart.daily_users"))
    ax_share.set_title(report.t("ab_test.chart.daily_share"))
    ax_share.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax_users.legend(loc="upper left", fontsize=8)
    return fig


def _rel_ci_header(report: Report, ab: ABTestResult) -> str:
    """The header of the results' interval column: under a correction the intervals are at the
    adjusted level (they exclude 0 exactly when the adjusted p-value is below alpha)."""
    level = f"{1 - ab.settings.alpha:.0%}"
    if ab.settings.correction == "none":
        return report.t("ab_test.col.rel_ci", level=level)
    return report.t("ab_test.col.rel_ci_adjusted", level=level)


def show_results(report: Report, ab: ABTestResult) -> None:
    """Per metric and variant: means, lifts with intervals, p-values, chance to beat control."""
    tr = report.t
    frame = ab.results
    rel_ci = _rel_ci_header(report, ab)
    rows = []
    for row in frame.itertuples():
        mean_fmt, diff_fmt = _metric_format(row.kind)
        rows.append(
            {
                tr("ab_test.col.metric"): row.metric,
                tr("ab_test.col.role"): tr(f"ab_test.role.{row.role}"),
                tr("ab_test.col.variant"): row.variant,
                tr("ab_test.col.control_users"): row.control_n,
                tr("ab_test.col.variant_users"): row.variant_n,
                tr("ab_test.col.control_mean"): fmt(row.control_mean, mean_fmt),
                tr("ab_test.col.variant_mean"): fmt(row.variant_mean, mean_fmt),
                tr("ab_test.col.abs_lift"): fmt(row.abs_lift, diff_fmt),
                tr("ab_test.col.rel_lift"): row.rel_lift,
                rel_ci: interval_text(row.rel_ci_low, row.rel_ci_high),
                tr("ab_test.col.p_value"): p_text(row.p_value, 4),
                tr("ab_test.col.p_adjusted"): p_text(row.p_adjusted, 4),
                tr("ab_test.col.chance_to_win"): row.chance_to_win,
                tr("ab_test.col.verdict"): tr(f"ab_test.verdict.{row.verdict}"),
            }
        )
    colours = {
        "better": STATUS_CLASS["green"],
        "worse": STATUS_CLASS["red"],
        "flat": None,
        "invalid": STATUS_CLASS["amber"],
    }
    report.show(
        pd.DataFrame(rows),
        formats={
            tr("ab_test.col.rel_lift"): "signed_pct",
            tr("ab_test.col.chance_to_win"): "pct",
            tr("ab_test.col.control_users"): "int",
            tr("ab_test.col.variant_users"): "int",
        },
        count_columns=[tr("ab_test.col.control_users"), tr("ab_test.col.variant_users")],
        min_cell=report.min_cell,
        classes={tr("ab_test.col.verdict"): [colours[v] for v in frame["verdict"]]},
    )
    for row in frame[frame["cuped_applied"]].itertuples():
        reduction = row.variance_reduction
        if reduction is None or not math.isfinite(reduction) or reduction < MENTION_REDUCTION:
            continue
        report.say(
            "ab_test.results.cuped",
            metric=row.metric,
            variant=row.variant,
            reduction=f"{row.variance_reduction:.0%}",
            raw=interval_text(row.rel_ci_low_unadjusted, row.rel_ci_high_unadjusted),
            adjusted=interval_text(row.rel_ci_low, row.rel_ci_high),
        )
    flagged = frame[frame["flag"].notna()]
    for row in flagged.itertuples():
        report.say(
            "ab_test.results.flagged",
            metric=row.metric,
            variant=row.variant,
            reason=tr(f"ab_test.flag.{row.flag}"),
        )


def forest_chart(report: Report, ab: ABTestResult):
    """Relative lift and its interval, per metric and variant (green better, red worse)."""
    frame = ab.results[ab.results["valid"]].reset_index(drop=True)
    if frame.empty:
        return None
    labels = [
        f"{r.metric} · {r.variant}" if len(ab.experiment.variants) > 2 else r.metric
        for r in frame.itertuples()
    ]
    fig, ax = figure(8, 0.5 * len(frame) + 1.4)
    colours = {
        "better": STATUS_COLOURS["green"],
        "worse": STATUS_COLOURS["red"],
        "flat": "#5b6675",
    }
    y = np.arange(len(frame))[::-1]
    for pos, row in zip(y, frame.itertuples(), strict=True):
        colour = colours.get(row.verdict, "#5b6675")
        low = row.rel_ci_low if math.isfinite(row.rel_ci_low) else row.rel_lift
        high = row.rel_ci_high if math.isfinite(row.rel_ci_high) else row.rel_lift
        ax.plot([low, high], [pos, pos], color=colour, lw=2)
        ax.plot([row.rel_lift], [pos], "o", color=colour)
    ax.axvline(0, color="#333333", lw=1)
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    key = (
        "ab_test.chart.forest"
        if ab.settings.correction == "none"
        else "ab_test.chart.forest_adjusted"
    )
    ax.set_title(report.t(key, level=f"{1 - ab.settings.alpha:.0%}"))
    return fig


def cumulative_chart(report: Report, ab: ABTestResult):
    """Cumulative relative lift of the primary metric by exposure day, with its interval."""
    frame = ab.cumulative
    if frame.empty:
        report.say("ab_test.cumulative.no_days")
        return None
    report.say(
        "ab_test.cumulative.text",
        metric=ab.experiment.primary.name,
        method=report.t(f"ab_test.method.{ab.settings.method}"),
    )
    fig, ax = figure(9, 3.6)
    for k, variant in enumerate(ab.experiment.variants[1:]):
        part = frame[frame["variant"] == variant]
        colour = PALETTE[(k + 1) % len(PALETTE)]
        ax.plot(part["day"], part["rel_lift"], color=colour, lw=1.6, label=variant)
        low = part["rel_ci_low"].astype(float).clip(lower=-1.0)
        high = part["rel_ci_high"].astype(float).clip(upper=3.0)
        ax.fill_between(part["day"], low, high, color=colour, alpha=0.15)
    ax.axhline(0, color="#333333", lw=1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    ax.set_title(report.t("ab_test.chart.cumulative", metric=ab.experiment.primary.name))
    ax.legend(loc="upper right", fontsize=8)
    return fig


def show_segments(report: Report, ab: ABTestResult) -> None:
    """Exploratory breakdowns of the primary metric, small groups suppressed."""
    exp, tr = ab.experiment, report.t
    if exp.missing_segments:
        report.say("ab_test.segments.missing", names=", ".join(exp.missing_segments))
    frame = ab.segments
    if frame.empty:
        report.say(
            "ab_test.segments.no_overlap" if exp.segment_columns else "ab_test.segments.none"
        )
        return
    display(HTML(callout_html(tr("ab_test.segments.warning", metric=exp.primary.name), "amber")))
    mean_fmt, _ = _metric_format(exp.primary.kind)
    level = f"{1 - ab.settings.alpha:.0%}"
    shown = pd.DataFrame(
        {
            tr("ab_test.col.segment"): frame["segment"],
            tr("ab_test.col.value"): frame["value"],
            tr("ab_test.col.variant"): frame["variant"],
            tr("ab_test.col.control_users"): frame["control_users"],
            tr("ab_test.col.variant_users"): frame["variant_users"],
            tr("ab_test.col.control_mean"): frame["control_mean"],
            tr("ab_test.col.variant_mean"): frame["variant_mean"],
            tr("ab_test.col.rel_lift"): frame["rel_lift"],
            tr("ab_test.col.rel_ci", level=level): [
                interval_text(lo, hi)
                for lo, hi in zip(frame["rel_ci_low"], frame["rel_ci_high"], strict=True)
            ],
            tr("ab_test.col.p_unadjusted"): frame["p_value"],
        }
    )
    small = (frame["control_users"] < report.min_cell) | (frame["variant_users"] < report.min_cell)
    shown.loc[small.to_numpy(), tr("ab_test.col.rel_ci", level=level)] = "—"
    report.show(
        shown,
        formats={
            tr("ab_test.col.control_mean"): mean_fmt,
            tr("ab_test.col.variant_mean"): mean_fmt,
            tr("ab_test.col.rel_lift"): "signed_pct",
            tr("ab_test.col.p_unadjusted"): "float",
            tr("ab_test.col.control_users"): "int",
            tr("ab_test.col.variant_users"): "int",
        },
        count_columns=[tr("ab_test.col.control_users"), tr("ab_test.col.variant_users")],
        min_cell=report.min_cell,
    )


def show_mde(report: Report, ab: ABTestResult) -> None:
    """The smallest lift this test could detect, next to the one observed."""
    tr = report.t
    exp = ab.experiment
    mean_fmt, diff_fmt = _metric_format(exp.primary.kind)
    report.say(
        "ab_test.mde.text",
        metric=exp.primary.name,
        power=f"{ab.settings.power:.0%}",
        alpha=f"{ab.settings.alpha:g}",
    )
    shown = pd.DataFrame(
        {
            tr("ab_test.col.variant"): ab.mde["variant"],
            tr("ab_test.col.control_mean"): [fmt(v, mean_fmt) for v in ab.mde["control_mean"]],
            tr("ab_test.col.mde_abs"): [fmt(v, diff_fmt) for v in ab.mde["mde_abs"]],
            tr("ab_test.col.mde_rel"): ab.mde["mde_rel"],
            tr("ab_test.col.observed_rel"): ab.mde["observed_rel"],
        }
    )
    report.show(
        shown,
        formats={tr("ab_test.col.mde_rel"): "pct", tr("ab_test.col.observed_rel"): "signed_pct"},
    )


def show_decision(report: Report, ab: ABTestResult) -> None:
    """The decision in plain words."""
    d, exp = ab.decision, ab.experiment
    row = None
    primary = ab.primary_results
    if d.variant is not None and not primary.empty:
        match = primary[primary["variant"] == d.variant]
        row = match.iloc[0] if not match.empty else None
    fields: dict[str, Any] = {
        "variant": d.variant or "—",
        "control": exp.control,
        "metric": exp.primary.name,
        "srm_p": p_text(ab.srm.p_value, 4),
    }
    if row is not None:
        fields |= {
            "lift": fmt(row["rel_lift"], "signed_pct"),
            "ci": interval_text(row["rel_ci_low"], row["rel_ci_high"]),
            "p": p_text(row["p_adjusted"], 4),
            "chance": fmt(row["chance_to_win"], "pct"),
        }
    colour = {"ship": "green", "dont_ship": "red", "inconclusive": "amber", "invalid": "red"}
    text = report.t(f"ab_test.decision.{d.decision}")
    key = f"ab_test.reason.{d.reason}"
    detail = report.t(key, guardrails=", ".join(d.blocking), **fields)
    display(HTML(callout_html(f"{text} — {detail}", colour[d.decision])))
    if d.decision == "inconclusive" and d.reason == "not_significant":
        _say_more_time(report, ab, fields)
    if row is not None and d.decision != "invalid":
        _say_expected_loss(report, ab, row, fields)
    if ab.srm.status == "warn":
        report.say("ab_test.reason.srm_warn", p=p_text(ab.srm.p_value, 4))


def _say_more_time(report: Report, ab: ABTestResult, fields: dict[str, Any]) -> None:
    """Inconclusive: the days (or users) to detect the observed lift when they fit the horizon;
    otherwise that the effect is out of reach, the MDE reachable by the horizon, and to stop."""
    d, reach = ab.decision, ab.decision.reach
    if reach is None or not reach.out_of_reach:
        if d.days_needed is not None:
            report.say(
                "ab_test.reason.days", days=f"{d.days_needed:,}", users=f"{d.users_needed or 0:,}"
            )
        elif d.users_needed is not None:
            report.say("ab_test.reason.users", users=f"{d.users_needed:,}")
        return
    if ab.experiment.primary.kind == "proportion":
        absolute = f"±{fmt(reach.mde_abs * 100, 'dec2')} pp"
    else:
        absolute = f"±{fmt(reach.mde_abs, 'float')}"
    mde = f"±{fmt(reach.mde_rel, 'pct')}" if reach.mde_rel is not None else absolute
    common = fields | {
        "mde": mde,
        "mde_abs": absolute,
        "power": f"{ab.settings.power:.0%}",
        "lift": fields.get("lift", "—"),
    }
    if reach.horizon_days is None:
        report.say("ab_test.reason.out_of_reach_users", users=f"{reach.more_users:,}", **common)
    elif reach.more_days:
        report.say(
            "ab_test.reason.out_of_reach",
            horizon=reach.horizon_days,
            extra=reach.more_days,
            **common,
        )
    else:
        report.say("ab_test.reason.out_of_reach_now", days=reach.horizon_days, **common)


def _say_expected_loss(
    report: Report, ab: ABTestResult, row: pd.Series, fields: dict[str, Any]
) -> None:
    """The Bayesian expected loss of shipping the variant and of keeping control, explained."""
    ship, keep = finite(row["expected_loss"]), finite(row.get("expected_loss_control"))
    if not bool(row["valid"]) or ship is None or keep is None:
        return
    report.say(
        "ab_test.decision.expected_loss",
        ship=fmt(ship, "pct2"),
        keep=fmt(keep, "pct2"),
        **fields,
    )


def show_conventions(report: Report, ab: ABTestResult) -> None:
    """Every convention behind the numbers above."""
    tr = report.t
    s, exp = ab.settings, ab.experiment
    prior = (
        tr("ab_test.conv.prior_flat")
        if s.prior_sd is None
        else tr("ab_test.conv.prior_normal", sd=fmt(s.prior_sd, "pct"))
    )
    if not s.cuped:
        cuped = tr("ab_test.conv.cuped_off")
    elif exp.pre_days:
        cuped = tr("ab_test.conv.cuped_on", pre=exp.pre_days)
    else:
        cuped = tr("ab_test.conv.cuped_on_columns")
    caps = "; ".join(f"{name} ≤ {fmt(cap, 'float')}" for name, cap in exp.caps.items())
    rows = [
        ("unit", tr("ab_test.conv.unit_value")),
        ("test", tr(f"ab_test.method.{s.method}")),
        ("sidedness", tr(f"ab_test.alternative.{s.alternative}")),
        ("alpha", f"{s.alpha:g}"),
        ("interval_abs", tr(f"ab_test.conv.interval_abs.{s.method}")),
        ("interval_rel", tr("ab_test.conv.interval_rel_value")),
        ("proportions", tr("ab_test.conv.proportions_value")),
        ("ratio", tr("ab_test.conv.ratio_value")),
        ("cuped", cuped),
        ("winsorize", caps or tr("ab_test.conv.none")),
        ("correction", tr(f"ab_test.correction.{s.correction}")),
        ("families", tr("ab_test.conv.families_value")),
        ("guardrails", tr("ab_test.conv.guardrails_value")),
        ("prior", prior),
        ("srm", tr("ab_test.conv.srm_value", warn=s.srm_warn, invalid=s.srm_invalid)),
        ("mde", tr("ab_test.conv.mde_value", power=f"{s.power:.0%}")),
        ("horizon", tr("ab_test.conv.horizon_value")),
        ("control", tr("ab_test.conv.control_value")),
        ("hygiene", tr("ab_test.conv.hygiene_value")),
        ("decision", tr("ab_test.conv.decision_value")),
    ]
    if s.method == "sequential":
        rows.insert(5, ("tuning", tr("ab_test.conv.tuning_value", n=f"{s.tuning_n:,.0f}")))
    if exp.window_days:
        rows.insert(8, ("window", tr("ab_test.conv.window_value", window=exp.window_days)))
    report.show(
        pd.DataFrame(
            {
                tr("ab_test.col.convention"): [tr(f"ab_test.conv.{k}") for k, _ in rows],
                tr("core.value"): [v for _, v in rows],
            }
        )
    )


def explore(report: Report, exp: Experiment, **settings: Any):
    """In JupyterLab: re-read the results under another method, correction, alpha or CUPED
    (widgets; nothing in batch runs, where this returns None)."""
    if is_batch():
        return None
    import ipywidgets as widgets

    method = widgets.Dropdown(options=list(METHODS), value=settings.get("method", "welch"))
    correction = widgets.Dropdown(
        options=list(CORRECTIONS), value=settings.get("correction", "holm")
    )
    alpha = widgets.FloatLogSlider(
        value=settings.get("alpha", 0.05), base=10, min=-3, max=-0.7, step=0.05
    )
    use_cuped = widgets.Checkbox(value=bool(settings.get("cuped", True)), description="CUPED")
    output = widgets.Output()

    def refresh(*_: Any) -> None:
        chosen = dict(settings) | {
            "method": method.value,
            "correction": correction.value,
            "alpha": alpha.value,
            "cuped": use_cuped.value,
        }
        with output:
            output.clear_output(wait=True)
            result = evaluate(exp, **chosen)
            show_results(report, result)
            show_decision(report, result)

    for control in (method, correction, alpha, use_cuped):
        control.observe(refresh, names="value")
    refresh()
    return widgets.VBox([widgets.HBox([method, correction, alpha, use_cuped]), output])
