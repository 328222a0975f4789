"""A/B test, view: how the experiment was set up and checked -- dates, variants and metrics, the
rows excluded by the hygiene rules, the sample-ratio check with the daily balance, and the
conventions behind every number."""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML, display

from opsbook.experiments.analysis import ABTestResult
from opsbook.experiments.view.names import measure_name, metric_name, table_name
from opsbook.formats import callout_html, fmt, p_text
from opsbook.plots import STATUS_COLOURS, category_colours, figure, percent_ticks
from opsbook.report import Report


def show_setup(report: Report, ab: ABTestResult) -> None:
    """Dates, variants, planned split and users; the metrics and their roles."""
    tr, exp = report.t, ab.experiment
    users = exp.users
    total = f"{sum(users.values()):,}"
    source = table_name(report, exp.source_table)
    if exp.first_day is not None:
        report.say(
            "ab_test.summary.text",
            experiment=exp.name,
            first=exp.first_day.isoformat(),
            last=exp.last_day.isoformat() if exp.last_day else "—",
            days=exp.days_run,
            users=total,
            source=source,
        )
    else:
        report.say("ab_test.summary.text_no_dates", experiment=exp.name, users=total, source=source)
    if exp.window_days:
        report.say("ab_test.summary.window", window=exp.window_days, pre=exp.pre_days or 0)
    if exp.other_experiments:
        report.say("ab_test.summary.others", names=", ".join(exp.other_experiments))
    rows = [
        {
            tr("ab_test.col.variant"): variant,
            tr("ab_test.col.role"): tr(
                "ab_test.role.control" if variant == exp.control else "ab_test.role.treatment"
            ),
            tr("core.users"): users.get(variant, 0),
            tr("ab_test.col.observed_share"): ab.srm.observed_shares.get(variant),
            tr("ab_test.col.planned_share"): ab.planned[variant],
        }
        for variant in ab.planned
    ]
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
            numerator=measure_name(report, metric.numerator),
            denominator=measure_name(report, metric.denominator or ""),
        )
        extras = []
        if exp.covariates[i] is not None:
            extras.append(
                tr("ab_test.metric.covariate", covariate=measure_name(report, exp.covariates[i]))
            )
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
                tr("ab_test.col.metric"): metric_name(report, metric.name),
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
    """Daily share of newly exposed users per variant against the planned split (one colour per
    variant, the same in every chart of the report)."""
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
    colours = category_colours(ab.planned)
    fig, (ax_users, ax_share) = figure(9, 5.2, nrows=2, sharex=True)
    for variant in ab.planned:
        part = daily[daily["variant"] == variant]
        colour = colours[str(variant)]
        ax_users.plot(part["day"], part["users"], color=colour, lw=1.4, label=variant)
        ax_share.plot(part["day"], part["share"], color=colour, lw=1.4, label=variant)
        ax_share.axhline(part["expected_share"].iloc[0], color=colour, lw=1, ls="--")
    for day in flagged:
        ax_share.axvline(day, color=STATUS_COLOURS["red"], lw=0.8, alpha=0.6)
    ax_users.set_title(report.t("ab_test.chart.daily_users"))
    ax_share.set_title(report.t("ab_test.chart.daily_share"))
    ax_share.yaxis.set_major_formatter(percent_ticks())
    ax_users.legend(loc="upper left", fontsize=8)
    return fig


def show_conventions(report: Report, ab: ABTestResult) -> None:
    """Every convention behind the numbers of the report."""
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
    caps = "; ".join(
        f"{metric_name(report, name)} ≤ {fmt(cap, 'float')}" for name, cap in exp.caps.items()
    )
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
