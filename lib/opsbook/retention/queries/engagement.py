"""The engine steps of stickiness and lifecycle: trailing distinct actives per local day (DAU,
WAU, MAU), active days per recently active user, and growth-accounting counts per period."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.data import Source
from opsbook.retention.queries.active import _signups, active_periods
from opsbook.retention.queries.periods import AsOf, number_of, period_number


# ================================================================================ stickiness
def _trailing_steps(days: ir.Table, widths: Sequence[int]) -> ir.Table:
    """Per width and local day d: +1/-1 steps (``w, d, k``) whose running sum over d counts the
    distinct users active in [d - width + 1, d]. Each user-day covers [day, day + width - 1];
    only the part not already covered by the user's previous active day is new, so each user
    is counted once. Width 1 gives DAU. One query for every width."""
    w = ibis.window(group_by="user_id", order_by="day")
    lagged = days.mutate(prev=days.day.lag().over(w))
    parts = []
    for width in widths:
        steps = lagged.select(
            on=ibis.greatest(lagged.day, (lagged.prev + width).fill_null(lagged.day)),
            off=lagged.day + width,
        )
        parts.append(
            steps.group_by(d=steps.on).aggregate(k=steps.count()).mutate(w=ibis.literal(width))
        )
        parts.append(
            steps.group_by(d=steps.off).aggregate(k=-steps.count()).mutate(w=ibis.literal(width))
        )
    return ibis.union(*parts, distinct=False)


def _active_days(src: Source, point: AsOf, users: Any, return_event: str) -> ir.Table:
    """``user_id, day``: the local days (complete at ``point``) with a ``return_event``."""
    last = point.last_complete_day
    days = active_periods(src, return_event, point.utc, "day", users)
    return days.select("user_id", day=days.p).filter(lambda t: t.day <= last)


def trailing_counts(
    src: Source, point: AsOf, *, users: Any = None, return_event: str = "any", start: Any = None
) -> pd.DataFrame:
    """The steps (``w, d, k``) of :func:`_trailing_steps` for widths 1, 7 and 30 over the active
    days up to ``point``; from ``start`` on when given (with the 29 days before it)."""
    days = _active_days(src, point, users, return_event)
    shown = days
    if start is not None:  # the days from ``start`` need the 29 before it, no earlier ones
        shown = days.filter(days.day >= number_of(pd.Timestamp(start), "day") - 29)
    return _trailing_steps(shown, (1, 7, 30)).execute()


def active_days_counts(
    src: Source, point: AsOf, *, users: Any = None, return_event: str = "any"
) -> pd.DataFrame:
    """``k, users``: how many users were active on k of the last 28 complete local days."""
    last = point.last_complete_day
    days = _active_days(src, point, users, return_event)
    recent = days.filter(days.day >= last - 27)
    per_user = recent.group_by("user_id").aggregate(k=recent.count())
    return per_user.group_by("k").aggregate(users=per_user.count()).execute()


# ================================================================================ lifecycle
def lifecycle_counts(
    src: Source, point: AsOf, period: str, *, users: Any = None, return_event: str = "any"
) -> pd.DataFrame:
    """``p, status, k``: users new, retained or resurrected in period p (active in it, or signed
    up in it), and dormant in p (active in p - 1, not in p)."""
    people = _signups(src, point.utc, users)
    signup = people.select("user_id", sp=period_number(src, people.signup_ts, period))
    acts = active_periods(src, return_event, point.utc, period, users)
    active = acts.union(signup.select("user_id", p=signup.sp)).distinct()
    active = active.join(signup, "user_id")
    w = ibis.window(group_by="user_id", order_by="p")
    active = active.mutate(prev=active.p.lag().over(w), next=active.p.lead().over(w))
    status = ibis.cases(
        (active.p == active.sp, "new"),
        (active.prev == active.p - 1, "retained"),
        else_="resurrected",
    )
    tagged = active.mutate(status=status)
    gone = tagged.filter(tagged.next.isnull() | (tagged.next != tagged.p + 1))
    return ibis.union(
        tagged.group_by("p", "status").aggregate(k=tagged.count()),
        gone.group_by(p=gone.p + 1, status=ibis.literal("dormant")).aggregate(k=gone.count()),
        distinct=False,
    ).execute()
