"""The data-quality result: per table completeness, uniqueness, consistency and accuracy from
the validation; daily volumes with the recurring closures learned from the data (a shop closed
on Saturdays), gaps and spikes flagged and outages (runs of empty or collapsed days) found;
freshness against the run time and against the other tables; and the problems that make the
data unfit for use, most serious first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from opsbook.contract import TABLES
from opsbook.quality.queries import daily_counts, newest
from opsbook.report import Report
from opsbook.stats.timeseries import closed_days, complete_days, flag_daily

OUT_OF_RANGE_RULES = ("amount_nonnegative", "timestamp_not_future", "value_allowed")
TYPE_RULES = ("type_castable", "timestamp_parseable")
DAILY_TABLES = ("events", "orders", "users")
# tables that grow every day: each should reach as far as the others (experiments, campaigns
# and content end or pause by design)
FLOW_TABLES = ("events", "orders", "users", "spend")
# a flagged drop to below this share of its baseline is a collapse: an outage, not a slow day
COLLAPSED = 0.5
DAY = pd.Timedelta(days=1)
# rows a day is expected to have before a day without any is a gap: P(0 | Poisson) < 1e-4
GAP_LEVEL = -np.log(1e-4)


@dataclass(frozen=True)
class QualityResult:
    """What the data-quality report shows; the tables are plain DataFrames."""

    summary: pd.DataFrame  # one row per table
    null_rates: pd.DataFrame  # table, column, null_rate
    daily: pd.DataFrame  # table, date, value, baseline, z, flag, closed, outage
    findings: pd.DataFrame
    threshold: float
    lang: str
    # runs of consecutive open days with no or collapsed rows: tables, start, end, days, dates
    outages: pd.DataFrame = None  # type: ignore[assignment]
    # per table: newest (naive UTC), age_days (to now), behind_days (to the newest flow table)
    freshness: pd.DataFrame = None  # type: ignore[assignment]
    closures: pd.DataFrame = None  # type: ignore[assignment]  # table, weekdays, dates
    now: pd.Timestamp | None = None  # naive UTC
    stale_after_days: float = 2.0
    lag_days: float = 2.0

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

    @property
    def missing_columns(self) -> pd.DataFrame:
        """Required columns absent from a table (table, column)."""
        missing = self.findings[self.findings["rule"] == "column_missing"]
        return missing[["table", "column"]].reset_index(drop=True)

    @property
    def age_days(self) -> float | None:
        """Days from the newest row of any table that grows daily (else of any table) to now."""
        fresh = _frame(self.freshness, FRESHNESS_COLUMNS).dropna(subset=["age_days"])
        if fresh.empty:
            return None
        flow = fresh[fresh["table"].isin(FLOW_TABLES)]
        return float((flow if not flow.empty else fresh)["age_days"].min())

    @property
    def stale(self) -> bool:
        age = self.age_days
        return age is not None and age > self.stale_after_days

    @property
    def lagging(self) -> pd.DataFrame:
        """Tables that grow daily but stop more than ``lag_days`` before the newest of them."""
        fresh = _frame(self.freshness, FRESHNESS_COLUMNS)
        return fresh[fresh["behind_days"] > self.lag_days].reset_index(drop=True)

    @property
    def problems(self) -> list[dict[str, Any]]:
        """What makes the data unfit for use, most serious first (empty: the data can be used)."""
        found: list[dict[str, Any]] = []
        for r in self.missing_columns.itertuples():
            found.append({"kind": "missing_column", "table": r.table, "column": r.column})
        for r in _frame(self.outages, OUTAGE_COLUMNS).itertuples():
            found.append(
                {
                    "kind": "outage",
                    "tables": r.tables,
                    "start": r.start,
                    "end": r.end,
                    "days": r.days,
                }
            )
        if self.stale:
            fresh = _frame(self.freshness, FRESHNESS_COLUMNS).dropna(subset=["newest"])
            found.append(
                {
                    "kind": "stale",
                    "age_days": self.age_days,
                    "newest": fresh["newest"].max().date().isoformat(),
                }
            )
        for r in self.lagging.itertuples():
            found.append(
                {
                    "kind": "lagging",
                    "table": r.table,
                    "newest": r.newest.date().isoformat(),
                    "behind_days": r.behind_days,
                }
            )
        failing = self.summary[self.summary["accuracy"] < self.threshold]["table"].tolist()
        if failing:
            found.append({"kind": "accuracy", "tables": failing})
        return found

    @property
    def usable(self) -> bool:
        return not self.problems

    def metrics(self) -> dict[str, Any]:
        tables = {
            row.table: {
                "rows": int(row.rows),
                "null_rate": row.null_rate,
                "duplicate_keys": int(row.duplicate_keys),
                "orphans": int(row.orphans),
                "out_of_range": int(row.out_of_range),
                "missing_columns": list(row.missing_columns),
                "accuracy": row.accuracy,
                "first": row.first,
                "last": row.last,
                "passed": bool(row.accuracy >= self.threshold) if pd.notna(row.accuracy) else None,
            }
            for row in self.summary.itertuples()
        }
        fresh = _frame(self.freshness, FRESHNESS_COLUMNS)
        for r in fresh.itertuples():
            if r.table in tables:
                tables[r.table] |= {
                    "newest": None if pd.isna(r.newest) else r.newest.isoformat(),
                    "age_days": _round(r.age_days),
                    "behind_days": _round(r.behind_days),
                }
        return {
            "scope": {"key": "data_quality.scope", "fields": {"tables": len(tables)}},
            "passed": self.passed,
            "usable": self.usable,
            "problems": [_jsonable(p) for p in self.problems],
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
            "outages": [
                {
                    "tables": list(r.tables),
                    "start": r.start.date().isoformat(),
                    "end": r.end.date().isoformat(),
                    "days": [d.date().isoformat() for d in r.dates],
                }
                for r in _frame(self.outages, OUTAGE_COLUMNS).itertuples()
            ],
            "closed_weekdays": {
                r.table: list(r.weekdays)
                for r in _frame(self.closures, CLOSURE_COLUMNS).itertuples()
            },
            "freshness": {
                "now": None if self.now is None else self.now.isoformat(),
                "age_days": _round(self.age_days),
                "stale": self.stale,
                "stale_after_days": self.stale_after_days,
                "lag_days": self.lag_days,
                "lagging": self.lagging["table"].tolist(),
            },
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
            {
                "label": "data_quality.h.outages",
                "value": len(_frame(self.outages, OUTAGE_COLUMNS)),
                "format": "int",
                "status": "red" if len(_frame(self.outages, OUTAGE_COLUMNS)) else "green",
            },
            {
                "label": "data_quality.h.age_days",
                "value": None if self.age_days is None else round(self.age_days, 1),
                "format": "dec1",
                "status": "red" if self.stale or not self.lagging.empty else "green",
            },
        ]


OUTAGE_COLUMNS = ["tables", "start", "end", "days", "dates"]
FRESHNESS_COLUMNS = ["table", "newest", "age_days", "behind_days"]
CLOSURE_COLUMNS = ["table", "weekdays", "dates"]


def _frame(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns) if frame is None else frame


def _round(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)


def _jsonable(problem: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in problem.items():
        if isinstance(value, pd.Timestamp):
            value = value.date().isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, float):
            value = round(value, 2)
        out[key] = value
    return out


def assess(
    report: Report,
    *,
    accuracy_threshold: float = 0.95,
    anomaly_threshold: float = 4.0,
    stale_after_days: float = 2.0,
    lag_days: float = 2.0,
    now: Any = None,
) -> QualityResult:
    """Profile every contract table of the report's source; ``now`` (default the clock, UTC)
    is the moment the data's freshness is judged against."""
    if not 0 < accuracy_threshold <= 1:
        raise ValueError(f"accuracy_threshold must be in (0, 1], got {accuracy_threshold}")
    moment = pd.Timestamp(datetime.now(UTC) if now is None else now)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    validation = report.validation
    fingerprint = report.source.fingerprint["tables"]
    findings = validation.to_frame(report.lang)
    rows, nulls = [], []
    for name, check in validation.tables.items():
        mine = findings[findings.table == name]
        by_rule = mine.groupby("rule")["rows"].sum()
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
                "missing_columns": tuple(mine[mine.rule == "column_missing"]["column"]),
                "passing": check.passing,
                "accuracy": check.accuracy,
            }
        )
        nulls += [{"table": name, "column": c, "null_rate": r} for c, r in check.null_rates.items()]
    daily, closures = daily_volume(report, anomaly_threshold)
    return QualityResult(
        summary=pd.DataFrame(rows),
        null_rates=pd.DataFrame(nulls, columns=["table", "column", "null_rate"]),
        daily=daily,
        findings=findings,
        threshold=accuracy_threshold,
        lang=report.lang,
        outages=outage_runs(daily),
        freshness=freshness(report, moment),
        closures=closures,
        now=moment,
        stale_after_days=stale_after_days,
        lag_days=lag_days,
    )


def daily_volume(report: Report, threshold: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows per local day of the busy tables (events, orders, users), with anomalies flagged
    on the open days; and per table the closed weekdays and dates learned from the data."""
    frames, closures = [], []
    source = report.source
    for name in DAILY_TABLES:
        if not source.has(name) or name not in report.validation.tables:
            continue
        counts = daily_counts(source, name)
        if counts is None or counts.empty:
            continue
        counts = complete_days(counts)
        closed = closed_days(counts)
        # weekday-adjusted over the open days, with a counting-noise floor: busy weekends and
        # the days a shop never trades are not anomalies
        open_days = counts[~closed]
        flagged = flag_daily(open_days, threshold=threshold, edges_partial=True)
        # a day without rows is a gap only where a zero is implausible: its level (the larger
        # of the weekly baseline and the median of about a month of open days, so that the
        # middle of a long closure keeps its level) makes 0 rows a less than 1 in 10,000 chance
        month = open_days.rolling(29, center=True, min_periods=7).median()
        level = np.fmax(flagged["baseline"].to_numpy(), month.to_numpy())
        flagged.loc[(flagged["flag"] == "gap") & ~(level >= GAP_LEVEL), "flag"] = ""
        flagged = flagged.reindex(counts.index)
        flagged["value"] = counts
        flagged["flag"] = flagged["flag"].fillna("")
        flagged["closed"] = closed
        flagged["outage"] = (flagged["flag"] == "gap") | (
            (flagged["flag"] == "drop") & (flagged["value"] < COLLAPSED * flagged["baseline"])
        )
        flagged.index.name = "date"
        frames.append(flagged.reset_index().assign(table=name))
        if closed.any():
            days = pd.DatetimeIndex(counts.index[closed])
            weekdays = sorted(set(days.dayofweek))
            usual = [d for d in weekdays if (days.dayofweek == d).sum() >= 4]
            closures.append(
                {
                    "table": name,
                    "weekdays": tuple(int(d) for d in usual),
                    "dates": tuple(days[~days.dayofweek.isin(usual)]),
                }
            )
    columns = ["table", "date", "value", "baseline", "z", "flag", "closed", "outage"]
    daily = (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
    return daily, pd.DataFrame(closures, columns=CLOSURE_COLUMNS)


def outage_runs(daily: pd.DataFrame) -> pd.DataFrame:
    """Outage days joined into runs of consecutive open days (a closed day between two outage
    days does not split them); one row per run, the tables it hit joined when they share it."""
    runs = []
    for name, part in daily.groupby("table", sort=False):
        open_days = part[~part["closed"].astype(bool)].reset_index(drop=True)
        position = open_days.index[open_days["outage"].astype(bool)]
        if position.empty:
            continue
        # a new run starts wherever the outage days are not neighbours among the open days
        run_id = (pd.Series(position).diff() != 1).cumsum()
        for _, members in pd.Series(position).groupby(run_id.to_numpy()):
            dates = tuple(open_days.loc[members, "date"])
            runs.append({"table": name, "start": dates[0], "end": dates[-1], "dates": dates})
    if not runs:
        return pd.DataFrame(columns=OUTAGE_COLUMNS)
    frame = pd.DataFrame(runs)
    merged = (
        frame.groupby(["start", "end"], sort=True)
        .agg(tables=("table", tuple), dates=("dates", "first"))
        .reset_index()
    )
    merged["days"] = merged["dates"].map(len)
    return merged[OUTAGE_COLUMNS]


def freshness(report: Report, now: pd.Timestamp) -> pd.DataFrame:
    """Per table with a time column: its newest row (naive UTC), days from it to ``now``, and
    for the tables that grow daily, days it stops before the newest of them."""
    source = report.source
    rows = []
    for name in report.validation.tables:
        if not source.has(name) or not TABLES[name].time_column:
            continue
        try:
            stamp = newest(source, name)
        except Exception:  # an unparseable time column is the validation's finding, not ours
            stamp = None
        if stamp is None:
            continue
        rows.append({"table": name, "newest": stamp, "age_days": (now - stamp) / DAY})
    frame = pd.DataFrame(rows, columns=["table", "newest", "age_days"])
    flow = frame[frame["table"].isin(FLOW_TABLES)]
    latest = flow["newest"].max() if not flow.empty else None
    frame["behind_days"] = [
        (latest - r.newest) / DAY if r.table in FLOW_TABLES else None for r in frame.itertuples()
    ]
    return frame[FRESHNESS_COLUMNS]
