"""Migration: the same model at an earlier date against as_of, customer by customer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd

from opsbook.errors import InputError
from opsbook.report import Report
from opsbook.segmentation.analysis.segments import (
    SEGMENT_NAMES,
    TIER_RANK,
    TIERS,
    Segmentation,
    resegment,
)
from opsbook.segmentation.queries import as_date

NONE = "none"  # not a customer (no paid order in the window) at that date


@dataclass(frozen=True)
class Migration:
    """Customers' tier and segment at ``compare_to`` (rows) and at ``as_of`` (columns).

    ``none`` is a customer absent at that date: before, not yet a customer in the window (new);
    after, no paid order left in the window (lapsed out of the lookback)."""

    as_of: date
    compare_to: date
    pairs: pd.DataFrame  # user_id, tier_before, tier_after, segment_before, segment_after

    def counts(self, kind: Literal["tier", "segment"]) -> pd.DataFrame:
        order = [*(TIERS if kind == "tier" else SEGMENT_NAMES), NONE]
        table = pd.crosstab(self.pairs[f"{kind}_before"], self.pairs[f"{kind}_after"])
        table = table.reindex(index=order, columns=order, fill_value=0).astype("int64")
        table.loc[NONE, NONE] = 0
        return table

    def shares(self, kind: Literal["tier", "segment"]) -> pd.DataFrame:
        counts = self.counts(kind)
        totals = counts.sum(axis=1)
        return counts.div(totals.where(totals > 0), axis=0)

    @property
    def both(self) -> pd.DataFrame:
        return self.pairs[(self.pairs.tier_before != NONE) & (self.pairs.tier_after != NONE)]

    @property
    def upgrades(self) -> int:
        b = self.both
        return int((b.tier_after.map(TIER_RANK) > b.tier_before.map(TIER_RANK)).sum())

    @property
    def downgrades(self) -> int:
        b = self.both
        return int((b.tier_after.map(TIER_RANK) < b.tier_before.map(TIER_RANK)).sum())

    @property
    def fell_out_of_high_value(self) -> int:
        p = self.pairs
        return int(((p.tier_before == "high_value") & (p.tier_after != "high_value")).sum())

    def fell_out_by_destination(self) -> pd.Series:
        p = self.pairs
        out = p[(p.tier_before == "high_value") & (p.tier_after != "high_value")]
        return out["tier_after"].value_counts().reindex([*TIERS[1:], NONE], fill_value=0)

    def metrics(self) -> dict[str, Any]:
        return {
            "compare_to": self.compare_to.isoformat(),
            "migration": {
                "upgrades": self.upgrades,
                "downgrades": self.downgrades,
                "fell_out_of_high_value": self.fell_out_of_high_value,
                "new_customers": int((self.pairs.tier_before == NONE).sum()),
                "tiers": {
                    before: {a: int(v) for a, v in row.items() if v}
                    for before, row in self.counts("tier").iterrows()
                },
            },
        }


def migrate(before: Segmentation, after: Segmentation) -> Migration:
    """Pair the members of two segmentations by user id."""
    cols = ["user_id", "tier", "segment"]
    pairs = before.members[cols].merge(
        after.members[cols], on="user_id", how="outer", suffixes=("_before", "_after")
    )
    pairs = pairs.fillna({c: NONE for c in pairs.columns if c != "user_id"})
    return Migration(
        as_of=after.settings.as_of,
        compare_to=before.settings.as_of,
        pairs=pairs.sort_values("user_id", kind="stable").reset_index(drop=True),
    )


def migration(
    report: Report, current: Segmentation, compare_to: date | str | None = None
) -> Migration:
    """The same model at ``compare_to`` (default: 30 days before as_of) against ``current``."""
    earlier = as_date(compare_to) or current.settings.as_of - timedelta(days=30)
    if earlier >= current.settings.as_of:
        raise InputError("core.error.compare_to", compare_to=earlier, as_of=current.settings.as_of)
    before = resegment(report, replace(current.settings, as_of=earlier, as_of_default=False))
    return migrate(before, current)
