"""What ran when: the campaigns and experiments whose days overlap the dashboard's trend, the
context an anomalous day or week is read against."""

from __future__ import annotations

from datetime import date

import pandas as pd

from opsbook.data import Source

COLUMNS = ["kind", "name", "first", "last"]


def what_ran(source: Source, first: date, last: date) -> pd.DataFrame:
    """``kind`` (campaign | experiment), ``name``, ``first`` and ``last`` local day of every
    campaign (its start and end) and experiment (its first and last exposure) that ran on at
    least one day of [first, last]."""
    parts = []
    if source.has("campaigns"):
        c = source.table("campaigns")
        name = c["name"] if "name" in c.columns else c.campaign_id.cast("string")
        parts.append(
            c.select(
                name=name.cast("string"),
                first=source.local_date(c.start_ts),
                last=source.local_date(c.end_ts),
            )
            .execute()
            .assign(kind="campaign")
        )
    if source.has("assignments"):
        a = source.table("assignments")
        spans = a.group_by("experiment").aggregate(
            first=source.local_date(a.ts.min()), last=source.local_date(a.ts.max())
        )
        parts.append(
            spans.select(
                name=spans.experiment.cast("string"), first=spans["first"], last=spans["last"]
            )
            .execute()
            .assign(kind="experiment")
        )
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    ran = pd.concat(parts, ignore_index=True)[COLUMNS].dropna(subset=["first", "last"])
    ran["first"] = pd.to_datetime(ran["first"]).dt.date
    ran["last"] = pd.to_datetime(ran["last"]).dt.date
    first, last = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    overlaps = (ran["first"] <= last) & (ran["last"] >= first)
    return ran[overlaps].sort_values(["first", "kind", "name"]).reset_index(drop=True)
