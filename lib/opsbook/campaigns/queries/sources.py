"""Campaign review, engine step: which campaigns a source holds (the catalogue, its members
counted in the engine) and which kind of source it is (events and orders, or per-user
outcomes)."""

from __future__ import annotations

import pandas as pd

from opsbook.campaigns.queries.events import _group_expr, _id_text
from opsbook.campaigns.queries.settings import Mode, Settings
from opsbook.data import Source
from opsbook.errors import InputError


def catalogue(source: Source, settings: Settings | None = None) -> pd.DataFrame:
    """One row per campaign: key (id as text), campaign_id, name, channel, start, end (naive
    UTC), spend, the target_* columns, treatment / holdout members and has_holdout.

    Events sources read ``campaigns`` and count ``campaign_members`` in the engine; outcome
    sources (``experiment_results``) list each variant but the holdout as a campaign."""
    settings = settings or Settings()
    if _mode(source) == "outcomes":
        er = source.table("experiment_results")
        counts = er.group_by(variant=er.variant.cast("string")).aggregate(n=er.count()).execute()
        holdout_n = int(counts.loc[counts.variant == settings.holdout_variant, "n"].sum())
        rows = [
            {
                "key": v,
                "campaign_id": v,
                "name": v,
                "channel": None,
                "start": pd.NaT,
                "end": pd.NaT,
                "spend": None,
                "treatment_members": int(n),
                "holdout_members": holdout_n,
            }
            for v, n in sorted(zip(counts.variant, counts.n, strict=True))
            if v != settings.holdout_variant
        ]
        frame = pd.DataFrame(rows)
        if source.has("campaigns"):
            # names, spend and targets of the variants when a campaigns table describes them
            extra = source.table("campaigns").execute()
            extra["key"] = [_id_text(v) for v in extra["campaign_id"]]
            keep = ["key"] + [c for c in extra.columns if c in ("name", "spend", "channel")]
            keep += [c for c in extra.columns if c.startswith("target_")]
            frame = frame.drop(columns=[c for c in keep if c != "key" and c in frame]).merge(
                extra[keep], on="key", how="left"
            )
            frame["name"] = frame["name"].fillna(frame["key"])
        frame["has_holdout"] = holdout_n > 0
        return frame.reset_index(drop=True)

    table = source.table("campaigns").execute()
    if table.empty:
        raise InputError("campaign_review.error.no_campaigns")
    frame = table.rename(columns={"start_ts": "start", "end_ts": "end"})
    frame["key"] = [_id_text(v) for v in frame["campaign_id"]]
    for column in ("channel", "spend"):
        if column not in frame.columns:
            frame[column] = None
    frame["treatment_members"] = 0
    frame["holdout_members"] = 0
    if source.has("campaign_members"):
        members = source.table("campaign_members")
        members = members.mutate(grp=_group_expr(members))
        counts = (
            members.group_by(key=members.campaign_id)
            .aggregate(
                treatment=(members.grp != "holdout").cast("int64").sum(),
                holdout=(members.grp == "holdout").cast("int64").sum(),
            )
            .execute()
        )
        counts["key"] = [_id_text(k) for k in counts["key"]]
        frame = frame.merge(counts, on="key", how="left")
        frame["treatment_members"] = frame["treatment"].fillna(0).astype("int64")
        frame["holdout_members"] = frame["holdout"].fillna(0).astype("int64")
        frame = frame.drop(columns=["treatment", "holdout"])
    frame["has_holdout"] = frame["holdout_members"] > 0
    return frame.sort_values(["start", "key"]).reset_index(drop=True)


def _mode(source: Source) -> Mode:
    if source.has("campaigns") and source.has("orders"):
        return "events"
    if source.has("experiment_results"):
        return "outcomes"
    missing = [t for t in ("campaigns", "orders") if not source.has(t)]
    raise InputError("campaign_review.error.no_input", missing=", ".join(missing))
