"""The engine steps of the report's rates: D-N retention counts per signup day, and the counts
of first-order conversion and repeat purchase (several cohorts or windows in one query, as the
KPI dashboard's twelve weeks need)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import ibis
import pandas as pd

from opsbook.data import Source
from opsbook.retention.queries.active import (
    _restrict,
    _signups,
    _with_group,
    active_periods,
    paid_orders,
)
from opsbook.retention.queries.periods import (
    AsOf,
    _local_range,
    _src,
    period_number,
    resolve_as_of,
)


def day_n_counts(
    src: Source,
    point: AsOf,
    days: Sequence[int],
    *,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    breakdown: str | None = None,
    cohort_period: str | None = None,
    return_event: str = "any",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The engine's counts behind D-N retention: ``retained`` (grp, cohort, k, retained: users
    active on local day signup + k, for k in ``days``, on a day complete at ``point``) and
    ``per_day`` (grp, cohort, sday, n: signups per local signup day)."""
    last_day = point.last_complete_day

    users_t = _signups(src, point.utc, users, cohort_start, cohort_end)
    signups = users_t.select(
        "user_id",
        sday=period_number(src, users_t.signup_ts, "day"),
        cohort=(
            period_number(src, users_t.signup_ts, cohort_period)
            if cohort_period
            else ibis.literal(0, type="int64")
        ),
    )
    signups = _with_group(signups, src, breakdown)
    acts = active_periods(src, return_event, point.utc, "day")
    acts = acts.select("user_id", day=acts.p)
    joined = signups.join(acts, "user_id")
    joined = joined.mutate(k=joined.day - joined.sday)
    joined = joined.filter(joined.k.isin(days) & (joined.day <= last_day))
    retained = joined.group_by("grp", "cohort", "k").aggregate(retained=joined.count()).execute()
    per_day = signups.group_by("grp", "cohort", "sday").aggregate(n=signups.count()).execute()
    return retained, per_day


def first_order_counts(
    source: Any,
    *,
    within_days: int,
    cohorts: Sequence[tuple[Any, Any, Any]],
    users: Any = None,
    breakdown: str | None = None,
) -> pd.DataFrame:
    """``cohort, grp, n, successes`` of :func:`first_order_conversion` for several cohorts in
    one query: ``cohort`` is the position in ``cohorts``, each ``(cohort_start, cohort_end,
    as_of)`` (a weekly dashboard asks for twelve)."""
    src = _src(source)
    if int(within_days) < 1:
        raise ValueError("within_days must be >= 1")
    span = timedelta(days=int(within_days))
    parts = []
    for i, (start, end, as_of) in enumerate(cohorts):
        # only users whose whole conversion window has elapsed
        until = resolve_as_of(src, as_of).utc - span
        part = _signups(src, until, users, start, end)
        parts.append(part.select("user_id", "signup_ts", cohort=ibis.literal(i, "int64")))
    new = _with_group(ibis.union(*parts, distinct=False), src, breakdown)
    paid = paid_orders(src).select(buyer=lambda t: t.user_id, ts=lambda t: t.ts)
    joined = new.join(paid, new.user_id == paid.buyer)
    joined = joined.filter((joined.ts >= joined.signup_ts) & (joined.ts < joined.signup_ts + span))
    converted = joined.select(cid=joined.user_id, c=joined.cohort, hit=ibis.literal(1)).distinct()
    flagged = new.left_join(converted, (new.user_id == converted.cid) & (new.cohort == converted.c))
    counts = (
        flagged.group_by("cohort", "grp")
        .aggregate(n=flagged.count(), successes=flagged.hit.fill_null(0).sum())
        .execute()
    )
    return counts.sort_values(["cohort", "grp"]).reset_index(drop=True)


def repeat_purchase_counts(
    source: Any,
    *,
    windows: Sequence[tuple[Any, Any]],
    users: Any = None,
    breakdown: str | None = None,
    min_orders: int = 2,
) -> pd.DataFrame:
    """``window, grp, n, successes`` of :func:`repeat_purchase_rate` for several windows in one
    query: ``window`` is the position in ``windows``, each ``(start, end)``."""
    src = _src(source)
    paid = _restrict(paid_orders(src), users)
    parts = [
        paid.filter(_local_range(src, paid.ts, start, end)).select(
            "user_id", window=ibis.literal(i, "int64")
        )
        for i, (start, end) in enumerate(windows)
    ]
    paid = ibis.union(*parts, distinct=False)
    per_user = paid.group_by("window", "user_id").aggregate(orders=paid.count())
    per_user = _with_group(per_user, src, breakdown)
    counts = (
        per_user.group_by("window", "grp")
        .aggregate(n=per_user.count(), successes=(per_user.orders >= int(min_orders)).sum())
        .execute()
    )
    counts["successes"] = counts["successes"].fillna(0)
    return counts.sort_values(["window", "grp"]).reset_index(drop=True)
