"""Campaign review, engine step: what every question starts from -- a campaign's events (kept
once on the engine), its members and their first exposure, campaign ids compared across column
types -- and the guarded numbers (finite values, divisions) every layer of the review shares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from opsbook.data import Source
from opsbook.engine import keep

TOUCH_EVENTS = ("campaign_view", "campaign_click")
# every event the review reads: each names its campaign
CAMPAIGN_EVENTS = (*TOUCH_EVENTS, "campaign_join", "invite_sent")
UNKNOWN_CHANNEL = "(unknown)"


def _id_text(value: Any) -> str:
    """A campaign id as text: 101, 101.0 and "101" all read "101"."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def _id_equals(column: ir.Value, value: Any) -> ir.BooleanValue:
    kind = column.type()
    if kind.is_numeric():
        try:
            number = float(_id_text(value))
        except ValueError:
            return ibis.literal(False)
        return column == (number if kind.is_floating() else int(number))
    return column.cast("string") == _id_text(value)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _div(a: Any, b: Any) -> float | None:
    a, b = _finite(a), _finite(b)
    if a is None or b is None or b == 0:
        return None
    return a / b


def _events(source: Source, campaign: Any, names: Sequence[str]) -> ir.Table | None:
    """Events of ``campaign`` (None: every campaign) named ``names`` (some of
    :data:`CAMPAIGN_EVENTS`); None without events."""
    if not source.has("events") or "campaign_id" not in source.columns("events"):
        return None
    ev = source.known(CAMPAIGN_EVENTS_KEY)
    if ev is None:
        ev = source.table("events")
    ev = ev.filter(ev.user_id.notnull() & ev.ts.notnull() & ev.event.isin(list(names)))
    ev = ev.filter(ev.campaign_id.notnull())
    return ev if campaign is None else ev.filter(_id_equals(ev.campaign_id, campaign))


CAMPAIGN_EVENTS_KEY = "campaign_events"  # Source.once key of keep_campaign_events


def keep_campaign_events(source: Source, events: ir.Table | None = None) -> ir.Table | None:
    """Keep ``source``'s campaign events (:data:`CAMPAIGN_EVENTS`, a small share of all
    events) on the engine: this module's questions on ``source`` read them from then on, not
    every event (a review asks dozens). ``events``: those rows when known (a view of a source
    that keeps them); default: computed once. Returns them (None without events)."""

    def compute() -> ir.Table | None:
        if events is not None:
            return events
        found = _events(source, None, CAMPAIGN_EVENTS)
        return None if found is None else keep(found)

    return source.once(CAMPAIGN_EVENTS_KEY, compute)


def _count(expr: ir.Table) -> int:
    return int(expr.count().execute())


def _group_expr(members: ir.Table) -> ir.StringValue:
    if "group" not in members.columns:
        return ibis.literal("treatment")
    return members["group"].cast("string").lower().strip().fill_null("treatment")


def _members(source: Source, campaign: Any) -> ir.Table:
    """``user_id, grp, invited, mts`` of the campaign's members."""
    m = source.table("campaign_members")
    m = m.filter(_id_equals(m.campaign_id, campaign) & m.user_id.notnull())
    invited = m.inviter_id.notnull() if "inviter_id" in m.columns else ibis.literal(False)
    mts = m.ts if "ts" in m.columns else ibis.null("timestamp")
    return m.select(user_id=m.user_id, grp=_group_expr(m), invited=invited, mts=mts)


def _first_exposure(source: Source, campaign: Any) -> ir.Table | None:
    """``user_id, exposed_ts, channel`` of each user's first ``campaign_view`` of the campaign."""
    views = _events(source, campaign, ("campaign_view",))
    if views is None:
        return None
    channel = views.channel.argmin(views.ts) if "channel" in views.columns else ibis.null("string")
    return views.group_by("user_id").aggregate(exposed_ts=views.ts.min(), channel=channel)
