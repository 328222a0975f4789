"""The engine steps of revenue per cohort: cohort sizes and paid revenue per cohort age (LTV),
spend per acquisition channel and the signups of each channel on its spend dates (CAC)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.data import Source, inclusive_end
from opsbook.engine import exact_sum
from opsbook.retention.queries.active import _signups, _with_group, paid_orders
from opsbook.retention.queries.periods import AsOf, _local_range, period_number


def ltv_counts(
    src: Source,
    point: AsOf,
    period: str,
    *,
    breakdown: str | None = None,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``sizes`` (grp, cohort, users: signups per local calendar period) and ``revenue`` (grp,
    cohort, age, revenue: paid revenue at each age, orders before signup ignored) of
    :func:`opsbook.retention.analysis.ltv_curves`."""
    people = _signups(src, point.utc, users, cohort_start, cohort_end)
    cohorts = people.select(
        "user_id", "signup_ts", cohort=period_number(src, people.signup_ts, period)
    )
    cohorts = _with_group(cohorts, src, breakdown)
    sizes = cohorts.group_by("grp", "cohort").aggregate(users=cohorts.count()).execute()
    paid = paid_orders(src, until=inclusive_end(point.utc))
    paid = paid.select(buyer=paid.user_id, ts=paid.ts, amount=paid.amount)
    joined = cohorts.join(paid, cohorts.user_id == paid.buyer)
    joined = joined.filter(joined.ts >= joined.signup_ts)
    joined = joined.mutate(age=period_number(src, joined.ts, period) - joined.cohort)
    revenue = (
        joined.group_by("grp", "cohort", "age")
        .aggregate(revenue=exact_sum(joined.amount))
        .execute()
    )
    return sizes, revenue


def spend_totals(src: Source) -> pd.DataFrame:
    """``channel, spend, first, last``: each channel's spend and the dates it spans."""
    spend = src.table("spend")
    return (
        spend.group_by("channel")
        .aggregate(spend=exact_sum(spend.cost), first=spend.date.min(), last=spend.date.max())
        .execute()
    )


def channel_signups(src: Source, channel: str, value: Any, first: Any, last: Any) -> int:
    """Users whose ``channel`` column is ``value`` who signed up on the local dates [first,
    last]."""
    people = src.table("users")
    mine = people.filter(people[channel].cast("string") == str(value))
    mine = mine.filter(_local_range(src, mine.signup_ts, first, last))
    return int(mine.count().execute())
