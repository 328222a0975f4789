"""Lifecycle stages (用户生命周期分层) in the engine: every user signed up before day c in exactly
one stage, counted per stage, and the stage-to-stage movement between two days. Only counts
leave the engine.

A user's idle days at c = c - the last day with activity (an event or a paid order; the signup
day counts as activity, so a user who never came back ages from the signup). The first rule
that holds wins, in the order of :data:`STAGES`:

* new: signed up in the last ``new_days`` days (signup day >= c - new_days);
* churned: idle for more than ``churn_days`` days;
* silent: idle for more than ``silent_days`` days;
* high_value: in segmentation's high-value tier at c (its RFM scores and tier rules, computed
  in the engine by :func:`high_value_expression` with segmentation's own RFM query);
* returning: came back within the last ``returning_days`` days after being idle for more than
  ``silent_days`` days (the first active day of the recent window minus the activity before it);
* active: everyone else.

``returning_days <= silent_days`` makes the returning rule exact with two aggregates: a gap of
more than ``silent_days`` days cannot lie wholly inside the recent window.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from opsbook.data import Source
from opsbook.insight.queries.activity import _utc_of_day, day_of
from opsbook.segmentation.queries import Frequency, Monetary, rfm_expression

STAGES = ("new", "churned", "silent", "high_value", "returning", "active")
NONE = "none"  # not yet signed up at the earlier date of a transition


def quantile_score(value: ir.NumericValue, k: int) -> ir.IntegerValue:
    """Segmentation's quantile score 1..k in the engine: ``1 + floor(k * below / n)``, ``below``
    = rows with a strictly smaller value (the rank of the first equal value), higher is better
    -- the rule of :func:`opsbook.segmentation.analysis.segments.quantile_scores`."""
    below = value.rank()  # 0-based, ties share the rank of the first (SQL RANK() - 1)
    n = value.count().over(ibis.window())
    score = 1 + (k * below.cast("int64") // n).cast("int64")
    return ibis.least(score, k)


def high_value_expression(
    source: Source,
    *,
    as_of: date,
    lookback_days: int | None,
    frequency: Frequency,
    monetary: Monetary,
    k: int,
    churn_days: int,
    min_m: int,
    min_f: int,
) -> ir.Table:
    """``user_id``: the customers in segmentation's high-value tier at ``as_of`` -- not churned
    (a paid order in the ``churn_days`` days before as_of), monetary score >= ``min_m`` and
    frequency score >= ``min_f`` -- scored over every customer of the lookback window, as
    segmentation scores them."""
    start = None if lookback_days is None else day_of(_day(as_of) - int(lookback_days))
    per = rfm_expression(
        source.table("orders"),
        as_of=as_of,
        start_utc=None if start is None else source.utc_from_local(str(start)),
        end_utc=source.utc_from_local(str(as_of)),
        local_date=source.local_date,
        frequency=frequency,
    )
    f = per.days if frequency == "days" else per.orders
    m = per.revenue / per.orders if monetary == "mean" else per.revenue
    scored = per.select(
        "user_id", "recency", f_score=quantile_score(f, k), m_score=quantile_score(m, k)
    )
    tier = (scored.recency <= churn_days) & (scored.m_score >= min_m) & (scored.f_score >= min_f)
    return scored.filter(tier).select("user_id")


def _day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def stage_expression(
    source: Source,
    daily: ir.Table,
    cutoff_day: int,
    *,
    new_days: int,
    silent_days: int,
    churn_days: int,
    returning_days: int,
    high_value: ir.Table | None,
) -> ir.Table:
    """``user_id, stage`` of every user with a signup before day ``cutoff_day`` (see the module
    for the rules); ``high_value``: the user ids of the high-value tier (None: no orders)."""
    c = int(cutoff_day)
    users = source.table("users", until=_utc_of_day(source, c))
    users = users.filter(users.user_id.notnull())
    users = users.select("user_id", signup=source.local_day(users.signup_ts))
    seen = daily.filter(daily.day < c)
    recent_from = c - int(returning_days)
    acts = seen.group_by("user_id").aggregate(
        last=seen.day.max(),
        first_recent=seen.day.min(where=seen.day >= recent_from),
        before_recent=seen.day.max(where=seen.day < recent_from),
    )
    t = users.left_join(acts, "user_id").drop("user_id_right")
    last = ibis.greatest(t["last"].fill_null(t.signup), t.signup)
    signup_before = ibis.ifelse(t.signup < recent_from, t.signup, ibis.null("int64"))
    # the later of the last activity before the recent window and a signup before it (either
    # may be missing; spelled out, as engines differ on greatest() of a null)
    before = ibis.cases(
        (t.before_recent.isnull(), signup_before),
        (signup_before.isnull(), t.before_recent),
        else_=ibis.greatest(t.before_recent, signup_before),
    )
    idle = c - last
    returning = (
        t.first_recent.notnull() & before.notnull() & (t.first_recent - before > int(silent_days))
    )
    if high_value is not None:
        hv = high_value.mutate(hv=ibis.literal(True))
        t = t.left_join(hv, t.user_id == hv.user_id).drop("user_id_right")
        is_hv = t.hv.fill_null(False)
    else:
        is_hv = ibis.literal(False)
    stage = ibis.cases(
        (t.signup >= c - int(new_days), "new"),
        (idle > int(churn_days), "churned"),
        (idle > int(silent_days), "silent"),
        (is_hv, "high_value"),
        (returning, "returning"),
        else_="active",
    )
    return t.select("user_id", stage=stage)


def stage_counts(stages: ir.Table) -> Any:
    """``stage, users``: a row per stage that has users."""
    return stages.group_by("stage").aggregate(users=stages.count()).execute()


def transition_counts(before: ir.Table, after: ir.Table) -> Any:
    """``before, after, users``: users per (stage at the earlier day, stage at the later one);
    users not signed up at the earlier day come from :data:`NONE`."""
    b = before.select(uid=before.user_id, before=before.stage)
    pairs = after.left_join(b, after.user_id == b.uid)
    pairs = pairs.select(before=pairs.before.fill_null(NONE), after=pairs.stage)
    return pairs.group_by("before", "after").aggregate(users=pairs.count()).execute()
