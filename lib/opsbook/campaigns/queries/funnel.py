"""Campaign review, engine step: the campaign's funnel in strict order (exposed, clicked after
the exposure, joined after the click, ordered within the window) by the channel of the first
exposure; for per-user outcomes the variant's exposed, visited and ordered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.campaigns.queries.events import UNKNOWN_CHANNEL, _events, _first_exposure, _members
from opsbook.data import Source
from opsbook.retention.queries import paid_orders

STEPS = ("exposed", "clicked", "joined", "ordered")


def funnel_counts(source: Source, row: Mapping[str, Any], window_days: int) -> pd.DataFrame:
    """Per first-exposure channel: exposed, clicked after exposure, joined after clicking, and
    ordered (paid order within ``window_days`` after joining), strict order, in the engine.
    Without view events the treatment members are the exposed (channel: the campaign's)."""
    first = _first_exposure(source, row["key"])
    if first is not None:
        out = _funnel_from(source, row, first, window_days)
        if not out.empty and out["exposed"].sum() > 0:
            return out
    if not source.has("campaign_members"):
        return pd.DataFrame(columns=["channel", *STEPS])
    m = _members(source, row["key"])
    m = m.filter((m.grp != "holdout") & ~m.invited)
    first = m.group_by("user_id").aggregate(
        exposed_ts=ibis.coalesce(m.mts.min(), ibis.literal(row["start"]).cast("timestamp")),
        channel=ibis.literal(str(row.get("channel") or UNKNOWN_CHANNEL)),
    )
    return _funnel_from(source, row, first, window_days)


def _funnel_from(
    source: Source, row: Mapping[str, Any], first: ir.Table, window_days: int
) -> pd.DataFrame:
    clicks = _events(source, row["key"], ("campaign_click",))
    joins = _events(source, row["key"], ("campaign_join",))
    f = first.mutate(channel=first.channel.cast("string").fill_null(UNKNOWN_CHANNEL))
    never = ibis.null("timestamp")
    if clicks is not None:
        # the first click after the exposure
        c = clicks.join(first.select("user_id", fx="exposed_ts"), "user_id")
        c = c.filter(c.ts >= c.fx).group_by("user_id").aggregate(click_ts=c.ts.min())
        f = f.left_join(c, "user_id").drop("user_id_right")
    else:
        f = f.mutate(click_ts=never)
    if joins is not None:
        jn = joins.join(f.select("user_id", "click_ts"), "user_id")
        jn = jn.filter(jn.click_ts.notnull() & (jn.ts >= jn.click_ts))
        jn = jn.group_by("user_id").aggregate(join_ts=jn.ts.min())
        f = f.left_join(jn, "user_id").drop("user_id_right")
    else:
        f = f.mutate(join_ts=never)
    paid = paid_orders(source).select(buyer="user_id", ots="ts")
    o = f.filter(f.join_ts.notnull()).select("user_id", "join_ts")
    o = o.join(paid, o.user_id == paid.buyer)
    o = o.filter((o.ots >= o.join_ts) & (o.ots <= o.join_ts + ibis.interval(days=int(window_days))))
    o = o.select(buyer_id=o.user_id).distinct()
    f = f.left_join(o, f.user_id == o.buyer_id)
    out = (
        f.group_by("channel")
        .aggregate(
            exposed=f.count(),
            clicked=f.click_ts.notnull().cast("int64").sum(),
            joined=f.join_ts.notnull().cast("int64").sum(),
            ordered=f.buyer_id.notnull().cast("int64").sum(),
        )
        .execute()
    )
    return out.sort_values("exposed", ascending=False).reset_index(drop=True)


def _outcome_funnel(source: Source, key: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Outcomes sources: exposed (the variant's customers) → visited → bought (the visit and
    conversion columns; bought counts visitors who converted)."""
    columns = source.columns("experiment_results")
    if "conversion" not in columns:
        return pd.DataFrame(columns=["channel", *STEPS])
    er = source.table("experiment_results")
    er = er.filter(er.variant.cast("string") == key)
    bought = er.conversion.cast("float64") > 0
    aggs: dict[str, Any] = {"exposed": er.count()}
    if "visit" in columns:
        visit = er.visit.cast("float64") > 0
        aggs["visited"] = visit.cast("int64").sum()
        bought = visit & bought
    aggs["ordered"] = bought.cast("int64").sum()
    counts = er.aggregate(**aggs).execute()
    counts.insert(0, "channel", key)
    return counts
