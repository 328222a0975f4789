"""The campaign tables as the dashboard reads them before it hands each campaign to the
campaign topic: are there any, and the kept campaign events up to a period's end."""

from __future__ import annotations

from datetime import datetime

import ibis.expr.types as ir

from opsbook.data import Source


def campaign_count(source: Source) -> int:
    """Rows of the campaigns table."""
    return int(source.table("campaigns").count().execute())


def events_before(kept: ir.Table, hi: datetime) -> ir.Table:
    """The kept campaign events before ``hi`` (naive UTC)."""
    return kept.filter(kept.ts < hi)
