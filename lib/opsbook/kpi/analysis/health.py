"""Data health: how fresh the data are and how many rows pass the data contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from opsbook.kpi.queries.periods import newest_event
from opsbook.report import Report
from opsbook.validation import validate

# the tables the dashboard reads: their contract checks make up the data accuracy KPI
READS = ("users", "events", "orders", "spend", "content", "campaigns", "campaign_members")


@dataclass(frozen=True)
class DataHealth:
    """Freshness (newest event vs the report time) and accuracy (rows passing every contract
    rule) of the tables the dashboard reads."""

    newest_event: pd.Timestamp | None  # naive UTC
    report_time: pd.Timestamp  # naive UTC
    hours: float | None
    tables: tuple[str, ...] = ()
    rows: int = 0
    passing: int = 0
    findings: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.passing / self.rows if self.rows else None


def data_health(report: Report, now: Any = None) -> DataHealth:
    """Freshness: hours from the newest event to the report time (``now``, default the clock;
    both UTC). Accuracy: rows passing every contract rule / rows, over the tables of
    :data:`READS` the source has, as the data-quality report aggregates it (tables the report's
    start did not check are checked here)."""
    source = report.source
    moment = pd.Timestamp(datetime.now(UTC) if now is None else now)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    newest = newest_event(source)
    hours = None if newest is None else (moment - newest).total_seconds() / 3600
    checks = {t: c for t, c in report.validation.tables.items() if t in READS}
    more = [t for t in READS if source.has(t) and t not in checks]
    if more:
        checks |= validate(source, more).tables
    return DataHealth(
        newest_event=newest,
        report_time=moment,
        hours=hours,
        tables=tuple(checks),
        rows=sum(c.rows for c in checks.values()),
        passing=sum(c.passing for c in checks.values()),
        findings=sum(len(c.findings) for c in checks.values()),
    )
