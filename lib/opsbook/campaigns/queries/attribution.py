"""Campaign review, engine step: the journeys of the attribution -- the campaign touches before
each converting order, and those of touched users who never ordered -- aggregated per path, and
the time-decay credit computed from the timestamps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.campaigns.queries.events import TOUCH_EVENTS, _events, _id_equals
from opsbook.data import Source
from opsbook.engine import exact_sum
from opsbook.retention.queries import paid_orders

LN2 = math.log(2.0)


def _touch_table(source: Source, keys: Sequence[str] | None) -> ir.Table | None:
    touches = _events(source, None, TOUCH_EVENTS)
    if touches is None or "channel" not in touches.columns:
        return None
    touches = touches.filter(touches.channel.notnull())
    if keys is not None:
        pred = ibis.literal(False)
        for key in keys:
            pred = pred | _id_equals(touches.campaign_id, key)
        touches = touches.filter(pred)
    return touches.select("user_id", tts="ts", channel=touches.channel.cast("string"))


def _conversions(
    source: Source, touches: ir.Table, windows: Sequence[tuple[datetime, datetime]], days: int
) -> ir.Table:
    """Touches within ``days`` before each paid order placed in one of ``windows``: one row
    per (order, touch) with the order's key, time and amount."""
    paid = paid_orders(source)
    pred = ibis.literal(False)
    for start, end in windows:
        pred = pred | ((paid.ts >= start) & (paid.ts <= end + timedelta(days=days)))
    paid = paid.filter(pred)
    key = paid.order_id if "order_id" in paid.columns else paid.user_id.cast("string")
    paid = paid.select(oid=key.cast("string"), buyer="user_id", ots="ts", amount="amount")
    j = paid.join(touches, paid.buyer == touches.user_id)
    return j.filter((j.tts < j.ots) & (j.tts >= j.ots - ibis.interval(days=int(days))))


_STEP_DIGITS = 9  # touches per journey are numbered 000000000, 000000001, ...
# joins a journey's channels in the engine (a path is grouped as one text there) and splits them
# again in pandas: the ASCII unit separator, a control character no channel name holds, so a
# channel called "crm > sms" stays one channel
UNIT_SEPARATOR = "\x1f"


def _journeys(touches: ir.Table, keys: list[str], separator: str) -> ir.Table:
    """One row per ``keys`` with ``path``: its touches' channels, oldest first (ties by channel)
    joined by ``separator``. Ordered string aggregation is not on every engine (Spark has
    none), so each touch is prefixed with its zero-padded step number, the unordered list
    sorted, and the prefixes cut off."""
    step = ibis.row_number().over(group_by=keys, order_by=[touches.tts, touches.channel])
    labelled = touches.mutate(
        step=step.cast("string").lpad(_STEP_DIGITS, "0").concat(touches.channel)
    )
    steps = labelled.group_by(keys).aggregate(steps=labelled.step.collect())
    path = steps.steps.sort().map(lambda s: s.substr(_STEP_DIGITS)).join(separator)
    return steps.select(*keys, path=path)


def attribution_paths(
    source: Source,
    keys: Sequence[str] | None,
    windows: Sequence[tuple[datetime, datetime]],
    window_days: int,
) -> pd.DataFrame:
    """The contract's ``paths`` input built from touch events in the engine: one journey per
    converting order (touches in the ``window_days`` before it, oldest first) and one null
    journey per touched user without a converting order. Columns path (a tuple of channels),
    conversions, value, nulls (aggregated per distinct path)."""
    separator = UNIT_SEPARATOR
    touches = _touch_table(source, keys)
    empty = pd.DataFrame(columns=["path", "conversions", "value", "nulls"])
    if touches is None:
        return empty
    j = _conversions(source, touches, windows, window_days)
    conv = _journeys(j, ["oid", "amount"], separator)
    conv = conv.group_by("path").aggregate(conversions=conv.count(), value=exact_sum(conv.amount))
    buyers = j.select(bid=j.buyer).distinct()
    lost = touches.left_join(buyers, touches.user_id == buyers.bid)
    lost = _journeys(lost.filter(lost.bid.isnull()), ["user_id"], separator)
    lost = lost.group_by("path").aggregate(nulls=lost.count())
    a = conv.execute()
    b = lost.execute()
    out = a.merge(b, on="path", how="outer").fillna({"conversions": 0, "value": 0.0, "nulls": 0})
    out = out.astype({"conversions": float, "value": float, "nulls": float})
    out = out.sort_values(["conversions", "nulls", "path"], ascending=[False, False, True])
    out["path"] = [tuple(p.split(separator)) if p else () for p in out["path"]]
    return out.reset_index(drop=True)


def time_decay_credit(
    source: Source,
    keys: Sequence[str] | None,
    windows: Sequence[tuple[datetime, datetime]],
    window_days: int,
    half_life: float,
) -> pd.DataFrame:
    """Time-decay attribution in days, in the engine: a touch ``d`` days before the order weighs
    ``2^(−d / half_life)``, normalised per order. Columns channel, time_decay, time_decay_value."""
    touches = _touch_table(source, keys)
    if touches is None:
        return pd.DataFrame(columns=["channel", "time_decay", "time_decay_value"])
    j = _conversions(source, touches, windows, window_days)
    # to the microsecond on every engine (Spark's epoch seconds are whole seconds)
    j = j.mutate(age=j.ots.delta(j.tts, unit="microsecond"))
    # ages counted from the order's newest touch, which weighs 1: the same credit (a common
    # factor cancels), and weights an exact sum keeps (no order's weights all near 0)
    newest = j.group_by("oid").aggregate(_newest=j.age.min())
    j = j.join(newest, "oid")
    days = (j.age - j._newest).cast("float64") / 86_400e6
    j = j.mutate(w=(-LN2 * days / float(half_life)).exp())
    total = j.group_by("oid").aggregate(wsum=exact_sum(j.w))
    j = j.join(total, "oid")
    j = j.mutate(credit=j.w / j.wsum)
    out = (
        j.group_by("channel")
        .aggregate(time_decay=exact_sum(j.credit), time_decay_value=exact_sum(j.credit * j.amount))
        .execute()
    )
    return out
