"""The data-quality result: per table completeness, uniqueness, consistency and accuracy from
the validation, and daily volumes with gaps and spikes flagged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsbook.contract import TABLES
from opsbook.quality.queries import daily_counts
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
        counts = daily_counts(source, name)
        if counts is None or counts.empty:
            continue
        # weekday-adjusted, with a counting-noise floor: busy weekends are not anomalies
        flagged = flag_daily(complete_days(counts), threshold=threshold, edges_partial=True)
        flagged.index.name = "date"
        frames.append(flagged.reset_index().assign(table=name))
    columns = ["table", "date", "value", "baseline", "z", "flag"]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
