"""What the data-quality report shows: the verdict first (the summary), then the tables, null
rates, findings, daily volumes and their anomalies, and freshness."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.brushing.analysis import Brushing
from opsbook.formats import STATUS_CLASS, fmt
from opsbook.plots import STATUS_COLOURS, figure
from opsbook.quality.analysis import QualityResult
from opsbook.report import Report
from opsbook.validation import column_name, table_name

# long tables show their first rows and fold the rest under "all N rows"
NULL_ROWS = 10
ANOMALY_ROWS = 8


def show_summary(report: Report, result: QualityResult) -> None:
    tr = report.t
    frame = result.summary.assign(
        table=_names(report, result.summary["table"]),
        passed=lambda d: d["accuracy"].map(
            lambda a: tr("core.yes") if a >= result.threshold else tr("core.no")
        ),
    )
    status = [STATUS_CLASS["green" if a >= result.threshold else "red"] for a in frame["accuracy"]]
    columns = {
        "table": tr("core.table"),
        "rows": tr("core.rows"),
        "first": tr("data_quality.col.first"),
        "last": tr("data_quality.col.last"),
        "null_rate": tr("data_quality.col.null_rate"),
        "duplicate_keys": tr("data_quality.col.duplicate_keys"),
        "orphans": tr("data_quality.col.orphans"),
        "out_of_range": tr("data_quality.col.out_of_range"),
        "bad_types": tr("data_quality.col.bad_types"),
        "accuracy": tr("data_quality.col.accuracy"),
        "passed": tr("data_quality.col.passed", threshold=f"{result.threshold:.0%}"),
    }
    shown = frame[list(columns)].rename(columns=columns)
    report.show(
        shown,
        formats={columns["null_rate"]: "pct2", columns["accuracy"]: "pct2"},
        classes={columns["accuracy"]: status, columns["passed"]: status},
    )


def show_null_rates(report: Report, result: QualityResult) -> None:
    """The columns that have nulls, most nulls first (a grid of every column and table would be
    mostly dashes), and how many columns have none."""
    tr = report.t
    rates = result.null_rates
    with_nulls = rates[rates["null_rate"] > 0].sort_values(
        ["null_rate", "table", "column"], ascending=[False, True, True]
    )
    report.say("data_quality.nulls.count", n=len(with_nulls), total=len(rates))
    if with_nulls.empty:
        return
    columns = {
        "table": tr("core.table"),
        "column": tr("data_quality.col.column"),
        "null_rate": tr("data_quality.col.column_null_rate"),
    }
    shown = with_nulls.assign(
        table=_names(report, with_nulls["table"]),
        column=[column_name(c, report.lang) for c in with_nulls["column"]],
    )
    report.show(
        shown[list(columns)].rename(columns=columns),
        formats={columns["null_rate"]: "pct2"},
        top=NULL_ROWS,
    )


def show_findings(report: Report, result: QualityResult) -> None:
    if result.findings.empty:
        report.say("data_quality.no_findings")
        return
    tr = report.t
    shown = result.findings.assign(
        table=_names(report, result.findings["table"]),
        column=[column_name(c or "*", report.lang) for c in result.findings["column"]],
        rule_text=[tr(f"validation.rule.{r}") for r in result.findings["rule"]],
        share=result.findings["rows"]
        / result.findings["total"].where(result.findings["total"] > 0),
    )
    columns = {
        "table": tr("core.table"),
        "column": tr("data_quality.col.column"),
        # the rule's code is what an analyst searches for; a Chinese page names it in Chinese only
        **({"rule": tr("core.rule")} if report.lang == "en" else {}),
        "rule_text": tr("data_quality.col.meaning"),
        "rows": tr("core.rows"),
        "share": tr("core.share"),
        "example": tr("data_quality.col.example"),
    }
    report.show(shown[list(columns)].rename(columns=columns), formats={columns["share"]: "pct2"})


def volume_chart(report: Report, result: QualityResult):
    """Daily rows per table, flagged days marked (red: gap or drop, amber: spike)."""
    tables = list(dict.fromkeys(result.daily["table"]))
    if not tables:
        return None
    fig, axes = figure(9, 2.6 * len(tables), nrows=len(tables), sharex=True)
    axes = [axes] if len(tables) == 1 else list(axes)
    for ax, name in zip(axes, tables, strict=True):
        part = result.daily[result.daily["table"] == name]
        ax.plot(part["date"], part["value"], lw=1.3, label=report.t("data_quality.chart.rows"))
        ax.plot(
            part["date"],
            part["baseline"],
            lw=1,
            ls="--",
            color="#8c8c8c",
            label=report.t("data_quality.chart.baseline"),
        )
        for flag, colour in (("gap", "red"), ("drop", "red"), ("spike", "amber")):
            marked = part[part["flag"] == flag]
            if not marked.empty:
                ax.scatter(
                    marked["date"],
                    marked["value"],
                    color=STATUS_COLOURS[colour],
                    zorder=3,
                    s=30,
                    label=report.t(f"data_quality.flag.{flag}"),
                )
        ax.set_title(report.t("data_quality.chart.title", table=table_name(name, report.lang)))
        ax.legend(loc="upper left", fontsize=8)
    return fig


def show_anomalies(report: Report, result: QualityResult) -> None:
    anomalies = result.anomalies
    if anomalies.empty:
        report.say("data_quality.no_anomalies")
        return
    tr = report.t
    shown = anomalies.assign(
        table=_names(report, anomalies["table"]),
        flag=[tr(f"data_quality.flag.{f}") for f in anomalies["flag"]],
    )
    columns = {
        "table": tr("core.table"),
        "date": tr("data_quality.col.date"),
        "value": tr("core.rows"),
        "baseline": tr("data_quality.chart.baseline"),
        "z": "z",
        "flag": tr("data_quality.col.flag"),
    }
    report.show(
        shown[list(columns)].rename(columns=columns),
        formats={columns["value"]: "int", columns["baseline"]: "int", "z": "float"},
        top=ANOMALY_ROWS,
    )


def show_outages(report: Report, result: QualityResult) -> None:
    """Outages (runs of open days with no or collapsed rows, one row per run) and the closed
    weekdays and dates learned from the data (not anomalies)."""
    tr = report.t
    for r in result.closures.itertuples() if result.closures is not None else ():
        if r.weekdays:
            report.say(
                "data_quality.closed.weekly",
                table=table_name(r.table, report.lang),
                weekdays=_weekdays(report, r.weekdays),
            )
        if r.dates:
            dates = ", ".join(sorted({f"{d:%m-%d}" for d in r.dates}))
            report.say(
                "data_quality.closed.annual", table=table_name(r.table, report.lang), dates=dates
            )
    outages = result.outages
    if outages is None or outages.empty:
        report.say("data_quality.no_outages")
        return
    columns = {
        "tables": tr("data_quality.col.tables"),
        "period": tr("data_quality.col.period"),
        "days": tr("data_quality.col.days"),
        "dates": tr("data_quality.col.dates"),
    }
    shown = pd.DataFrame(
        {
            "tables": [_joined(report, t) for t in outages["tables"]],
            "period": [_period(r.start, r.end) for r in outages.itertuples()],
            "days": outages["days"],
            "dates": [", ".join(f"{d:%Y-%m-%d}" for d in ds) for ds in outages["dates"]],
        }
    )
    report.show(
        shown[list(columns)].rename(columns=columns),
        formats={columns["days"]: "int"},
        classes={columns["period"]: [STATUS_CLASS["red"]] * len(shown)},
    )


def show_freshness(report: Report, result: QualityResult) -> None:
    """Each table's newest row against the run time and against the newest daily table."""
    tr = report.t
    fresh = result.freshness
    if fresh is None or fresh.empty:
        return
    late = set(result.lagging["table"])
    columns = {
        "table": tr("core.table"),
        "newest": tr("data_quality.col.newest"),
        "age_days": tr("data_quality.col.age_days"),
        "behind_days": tr("data_quality.col.behind_days"),
    }
    shown = fresh.assign(
        table=_names(report, fresh["table"]),
        newest=[f"{t:%Y-%m-%d %H:%M}" for t in fresh["newest"]],
    )
    status = [STATUS_CLASS["red" if t in late else None] for t in fresh["table"]]
    report.show(
        shown[list(columns)].rename(columns=columns),
        formats={columns["age_days"]: "dec1", columns["behind_days"]: "dec1"},
        classes={columns["behind_days"]: status},
    )
    if result.age_days is not None:
        report.say(
            "data_quality.age",
            days=f"{result.age_days:.1f}",
            now=f"{result.now:%Y-%m-%d %H:%M}",
            limit=f"{result.stale_after_days:g}",
        )


def summary(report: Report, result: QualityResult, flags: Brushing | None = None) -> None:
    """The verdict first: can the data be used; the headline numbers; and what is wrong, most
    serious first (missing columns, outages, stale or lagging tables, accuracy), then the
    anomalous days to check and the orders flagged as brushing. "Can be used" only when nothing
    is wrong (flagged orders are leads to check, not faults of the data)."""
    problems = result.problems
    if not problems:
        verdict = report.t(
            "data_quality.verdict.pass",
            accuracy=f"{result.overall_accuracy:.2%}",
            threshold=f"{result.threshold:.0%}",
        )
    else:
        verdict = report.t("data_quality.verdict.unusable", n=len(problems))
    steps = [_problem_text(report, problem) for problem in problems]
    spikes = result.anomalies[~result.anomalies["outage"].astype(bool)]
    if not spikes.empty:
        days = ", ".join(
            f"{table_name(r.table, report.lang)} {r.date:%Y-%m-%d}"
            for r in spikes.head(8).itertuples()
        )
        steps.append(report.t("data_quality.verdict.anomalies", n=len(spikes), days=days))
    numbers = result.headline()
    if flags is not None:
        numbers += flags.headline()
        if flags.all["orders"]:
            steps.append(
                report.t(
                    "brushing.action",
                    orders=fmt(flags.all["orders"], "int"),
                    share_amount=fmt(flags.all["share_amount"], "pct"),
                )
            )
    report.summary(verdict, tone="green" if not problems else "red", numbers=numbers, actions=steps)


def _problem_text(report: Report, problem: dict[str, Any]) -> str:
    kind = problem["kind"]
    key = f"data_quality.problem.{kind}"
    lang = report.lang
    if kind == "missing_column":
        return report.t(
            key,
            table=table_name(problem["table"], lang),
            column=column_name(problem["column"], lang),
        )
    if kind == "outage":
        return report.t(
            key,
            tables=_joined(report, problem["tables"]),
            period=_period(problem["start"], problem["end"]),
            days=problem["days"],
        )
    if kind == "stale":
        return report.t(key, days=f"{problem['age_days']:.1f}", newest=problem["newest"])
    if kind == "lagging":
        return report.t(
            key,
            table=table_name(problem["table"], lang),
            newest=problem["newest"],
            days=f"{problem['behind_days']:.1f}",
        )
    return report.t(key, tables=_joined(report, problem["tables"]))


def _names(report: Report, tables: Any) -> list[str]:
    return [table_name(t, report.lang) for t in tables]


def _joined(report: Report, tables: Any) -> str:
    return ("、" if report.lang == "zh" else ", ").join(_names(report, tables))


def _period(start, end) -> str:
    return f"{start:%Y-%m-%d}" if start == end else f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _weekdays(report: Report, days) -> str:
    return ", ".join(report.t(f"data_quality.weekday.{d}") for d in days)
