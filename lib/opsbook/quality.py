"""The data-quality report: is each table complete, unique, consistent and fresh enough to trust?

Per table: rows, date range, null rate per column, duplicate keys, orphans (rows of unknown
users), out-of-range values, and an accuracy score -- the share of rows passing every contract
rule -- against a threshold (the operations KPI system asks for >= 95 %). Daily volumes are
counted in the engine, bucketed in the configured time zone, with gaps and spikes flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsbook.contract import TABLES
from opsbook.plots import STATUS_COLOURS, figure
from opsbook.report import Report
from opsbook.stats.timeseries import complete_days, flag_daily

OUT_OF_RANGE_RULES = ("amount_nonnegative", "timestamp_not_future", "value_allowed")
TYPE_RULES = ("type_castable", "timestamp_parseable")
DAILY_TABLES = ("events", "orders", "users")


@dataclass(frozen=True)
class QualityResult:
    """What the data-quality report shows; ``summary`` and ``daily`` are plain DataFrames."""

    summary: pd.DataFrame  # one row per table
    null_rates: pd.DataFrame  # table, column, null_rate
    daily: pd.DataFrame  # table, date, value, baseline, z, flag
    findings: pd.DataFrame
    threshold: float
    lang: str

    @property
    def passed(self) -> bool:
        """Every table at or above the accuracy threshold."""
        acc = self.summary["accuracy"].dropna()
        return bool((acc >= self.threshold).all())

    @property
    def anomalies(self) -> pd.DataFrame:
        return self.daily[self.daily["flag"] != ""].reset_index(drop=True)

    @property
    def overall_accuracy(self) -> float | None:
        rows = self.summary["rows"].sum()
        return float(self.summary["passing"].sum() / rows) if rows else None

    def metrics(self) -> dict[str, Any]:
        tables = {
            row.table: {
                "rows": int(row.rows),
                "null_rate": row.null_rate,
                "duplicate_keys": int(row.duplicate_keys),
                "orphans": int(row.orphans),
                "out_of_range": int(row.out_of_range),
                "accuracy": row.accuracy,
                "first": row.first,
                "last": row.last,
                "passed": bool(row.accuracy >= self.threshold) if pd.notna(row.accuracy) else None,
            }
            for row in self.summary.itertuples()
        }
        return {
            "passed": self.passed,
            "accuracy_threshold": self.threshold,
            "accuracy": self.overall_accuracy,
            "tables": tables,
            "findings": len(self.findings),
            "anomalies": [
                {
                    "table": r.table,
                    "date": r.date.date().isoformat(),
                    "flag": r.flag,
                    "value": r.value,
                }
                for r in self.anomalies.itertuples()
            ],
        }

    def headline(self) -> list[dict[str, Any]]:
        passed_tables = int((self.summary["accuracy"] >= self.threshold).sum())
        return [
            {
                "label": "data_quality.h.accuracy",
                "value": self.overall_accuracy,
                "format": "pct2",
                "status": "green" if self.passed else "red",
            },
            {
                "label": "data_quality.h.tables_passed",
                "value": f"{passed_tables} / {len(self.summary)}",
                "format": "text",
            },
            {"label": "data_quality.h.findings", "value": len(self.findings), "format": "int"},
            {"label": "data_quality.h.anomalies", "value": len(self.anomalies), "format": "int"},
        ]


def assess(
    report: Report, *, accuracy_threshold: float = 0.95, anomaly_threshold: float = 4.0
) -> QualityResult:
    """Profile every contract table of the report's source."""
    if not 0 < accuracy_threshold <= 1:
        raise ValueError(f"accuracy_threshold must be in (0, 1], got {accuracy_threshold}")
    validation = report.validation
    fingerprint = report.source.fingerprint["tables"]
    findings = validation.to_frame(report.lang)
    rows, nulls = [], []
    for name, check in validation.tables.items():
        by_rule = findings[findings.table == name].groupby("rule")["rows"].sum()
        # optional columns are often null by design (content_id on a purchase event): the
        # table's null rate is over the contract's required columns
        required = [c for c in TABLES[name].required if c in check.null_rates]
        rows.append(
            {
                "table": name,
                "rows": check.rows,
                "first": fingerprint[name]["first"],
                "last": fingerprint[name]["last"],
                "null_rate": (
                    sum(check.null_rates[c] for c in required) / len(required) if required else None
                ),
                "duplicate_keys": check.duplicate_keys,
                "orphans": int(by_rule.get("user_known", 0)),
                "out_of_range": int(sum(by_rule.get(r, 0) for r in OUT_OF_RANGE_RULES)),
                "bad_types": int(sum(by_rule.get(r, 0) for r in TYPE_RULES)),
                "passing": check.passing,
                "accuracy": check.accuracy,
            }
        )
        nulls += [{"table": name, "column": c, "null_rate": r} for c, r in check.null_rates.items()]
    daily = daily_volume(report, anomaly_threshold)
    return QualityResult(
        summary=pd.DataFrame(rows),
        null_rates=pd.DataFrame(nulls, columns=["table", "column", "null_rate"]),
        daily=daily,
        findings=findings,
        threshold=accuracy_threshold,
        lang=report.lang,
    )


def daily_volume(report: Report, threshold: float) -> pd.DataFrame:
    """Rows per local day of the busy tables (events, orders, users), with anomalies flagged."""
    frames = []
    source = report.source
    for name in DAILY_TABLES:
        if not source.has(name) or name not in report.validation.tables:
            continue
        column = TABLES[name].time_column
        table = source.table(name)
        if column not in table.columns:
            continue
        dated = table.filter(table[column].notnull())
        counts = (
            dated.group_by(day=source.local_date(dated[column]))
            .aggregate(n=dated.count())
            .execute()
            .set_index("day")["n"]
        )
        if counts.empty:
            continue
        # weekday-adjusted, with a counting-noise floor: busy weekends are not anomalies
        flagged = flag_daily(complete_days(counts), threshold=threshold, edges_partial=True)
        flagged.index.name = "date"
        frames.append(flagged.reset_index().assign(table=name))
    columns = ["table", "date", "value", "baseline", "z", "flag"]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


# -- presentation ---------------------------------------------------------------------------------
def show_summary(report: Report, result: QualityResult) -> None:
    tr = report.t
    frame = result.summary.assign(
        passed=lambda d: d["accuracy"].map(
            lambda a: tr("core.yes") if a >= result.threshold else tr("core.no")
        )
    )
    status = ["ob-green" if a >= result.threshold else "ob-red" for a in frame["accuracy"]]
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
    tr = report.t
    wide = result.null_rates.pivot(index="column", columns="table", values="null_rate")
    wide = wide.reindex(columns=[t for t in result.summary["table"] if t in wide.columns])
    wide.index.name = tr("data_quality.col.column")
    report.show(wide, index=True, formats={c: "pct2" for c in wide.columns})


def show_findings(report: Report, result: QualityResult) -> None:
    if result.findings.empty:
        report.say("data_quality.no_findings")
        return
    tr = report.t
    shown = result.findings.assign(
        rule_text=[tr(f"validation.rule.{r}") for r in result.findings["rule"]],
        share=result.findings["rows"]
        / result.findings["total"].where(result.findings["total"] > 0),
    )
    columns = {
        "table": tr("core.table"),
        "column": tr("data_quality.col.column"),
        "rule": tr("core.rule"),
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
        ax.set_title(report.t("data_quality.chart.title", table=name))
        ax.legend(loc="upper left", fontsize=8)
    return fig


def show_anomalies(report: Report, result: QualityResult) -> None:
    anomalies = result.anomalies
    if anomalies.empty:
        report.say("data_quality.no_anomalies")
        return
    tr = report.t
    shown = anomalies.assign(flag=[tr(f"data_quality.flag.{f}") for f in anomalies["flag"]])
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
    )


def conclusion(report: Report, result: QualityResult) -> None:
    failing = result.summary[result.summary["accuracy"] < result.threshold]["table"].tolist()
    if result.passed:
        report.say(
            "data_quality.verdict.pass",
            accuracy=f"{result.overall_accuracy:.2%}",
            threshold=f"{result.threshold:.0%}",
        )
    else:
        report.say(
            "data_quality.verdict.fail",
            tables=", ".join(failing),
            threshold=f"{result.threshold:.0%}",
        )
    if not result.anomalies.empty:
        days = ", ".join(
            f"{r.table} {r.date:%Y-%m-%d}" for r in result.anomalies.head(8).itertuples()
        )
        report.say("data_quality.verdict.anomalies", n=len(result.anomalies), days=days)
