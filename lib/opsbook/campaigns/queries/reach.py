"""Campaign review, engine step: who took part (and converted), what the campaign's orders were
worth, whom the participants invited, and which users the campaign acquired (and the peers they
are compared with)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.campaigns.queries.events import _count, _div, _events, _id_equals, _members
from opsbook.data import Source
from opsbook.engine import exact_sum
from opsbook.retention.queries import paid_orders


def participation(source: Source, row: Mapping[str, Any], window_days: int) -> dict[str, Any]:
    """Participants (``campaign_join`` users; without any, treatment members) and those with a
    paid order within ``window_days`` after joining, counted in the engine."""
    joins = _events(source, row["key"], ("campaign_join",))
    if joins is not None:
        part = joins.group_by("user_id").aggregate(part_ts=joins.ts.min())
        n, converted = _converted_after(source, part, window_days)
        if n:
            return {"participants": n, "converted": converted, "definition": "join_event"}
    if not source.has("campaign_members"):
        return {"participants": None, "converted": None, "definition": None}
    m = _members(source, row["key"])
    m = m.filter((m.grp != "holdout") & ~m.invited)
    part = m.group_by("user_id").aggregate(
        part_ts=ibis.coalesce(m.mts.min(), ibis.literal(row["start"]).cast("timestamp"))
    )
    n, converted = _converted_after(source, part, window_days)
    return {"participants": n, "converted": converted, "definition": "members"}


def _converted_after(source: Source, part: ir.Table, window_days: int) -> tuple[int, int]:
    """(users of ``part``, those with a paid order within ``window_days`` of ``part_ts``)."""
    paid = paid_orders(source).select(buyer="user_id", ots="ts")
    hit = part.join(paid, part.user_id == paid.buyer)
    hit = hit.filter(
        (hit.ots >= hit.part_ts) & (hit.ots <= hit.part_ts + ibis.interval(days=int(window_days)))
    )
    buyers = hit.select(bid=hit.user_id).distinct()
    j = part.left_join(buyers, part.user_id == buyers.bid)
    out = j.aggregate(n=j.count(), converted=j.bid.notnull().cast("int64").sum()).execute()
    return int(out["n"].iloc[0]), int(out["converted"].iloc[0] or 0)


def order_values(source: Source, row: Mapping[str, Any], baseline_days: int) -> dict[str, Any]:
    """Gross campaign orders and revenue, their AOV and the baseline AOV (all paid orders in the
    ``baseline_days`` before the start)."""
    paid = paid_orders(source)
    if "campaign_id" in paid.columns:
        camp = paid.filter(paid.campaign_id.notnull() & _id_equals(paid.campaign_id, row["key"]))
        basis = "campaign_id"
    else:
        members = _members(source, row["key"]).filter(lambda t: t.grp != "holdout")
        camp = paid.filter((paid.ts >= row["start"]) & (paid.ts <= row["end"]))
        camp = camp.semi_join(members.select("user_id"), "user_id")
        basis = "members"
    start = pd.Timestamp(row["start"]).to_pydatetime()
    base = paid.filter((paid.ts >= start - timedelta(days=int(baseline_days))) & (paid.ts < start))
    c = camp.aggregate(n=camp.count(), revenue=exact_sum(camp.amount)).execute().iloc[0]
    b = base.aggregate(n=base.count(), revenue=exact_sum(base.amount)).execute().iloc[0]
    aov = _div(c["revenue"], c["n"])
    base_aov = _div(b["revenue"], b["n"])
    return {
        "campaign_orders": int(c["n"]),
        "gross_revenue": float(c["revenue"] or 0.0),
        "aov": aov,
        "baseline_aov": base_aov,
        "aov_lift": aov / base_aov - 1 if aov is not None and base_aov else None,
        "revenue_basis": basis,
    }


def referral(source: Source, row: Mapping[str, Any]) -> dict[str, Any]:
    """Invitations (``invite_sent`` events) and invitees (members with ``inviter_id``)."""
    invites = _events(source, row["key"], ("invite_sent",))
    n_inv = _count(invites) if invites is not None else 0
    invitees = 0
    if source.has("campaign_members") and "inviter_id" in source.columns("campaign_members"):
        m = _members(source, row["key"])
        invitees = _count(m.filter(m.invited).select("user_id").distinct())
    return {"invitations": n_inv, "invitees": invitees}


def acquired_users(source: Source, row: Mapping[str, Any], window_days: int) -> ir.Table | None:
    """``user_id`` of users the campaign acquired: invitees, and members who signed up between
    the start and the end + ``window_days``."""
    if not source.has("campaign_members"):
        return None
    m = _members(source, row["key"])
    end = pd.Timestamp(row["end"]).to_pydatetime() + timedelta(days=int(window_days))
    if source.has("users"):
        users = source.table("users")
        new = users.filter((users.signup_ts >= row["start"]) & (users.signup_ts <= end))
        new_ids = new.select(new_id=new.user_id).distinct()
        m = m.left_join(new_ids, m.user_id == new_ids.new_id)
        m = m.filter(m.invited | m.new_id.notnull())
    else:
        m = m.filter(m.invited)
    return m.select("user_id").distinct()


def peer_users(
    source: Source, acquired: ir.Table, week_start: pd.Timestamp, week_end: pd.Timestamp
) -> tuple[ir.Table, str]:
    """``user_id`` of the users who signed up in the local weeks ``week_start`` .. ``week_end``
    and were not ``acquired``, and their label: the organic ones ("organic") when the users table
    has a channel and any of them is organic, else all of them ("others")."""
    users = source.table("users")
    peers = users.filter(
        (users.signup_ts >= source.utc_from_local(week_start))
        & (users.signup_ts < source.utc_from_local(week_end + pd.Timedelta(days=1)))
    )
    label = "others"
    if "channel" in users.columns:
        organic = peers.filter(peers.channel.cast("string").lower() == "organic")
        if _count(organic.limit(1)):
            peers, label = organic, "organic"
    return peers.select("user_id").anti_join(acquired, "user_id"), label
