"""Campaign review, engine step: day-by-day series -- the site's paid orders and revenue, the
campaigns' participants, and the members-vs-others panel of the difference-in-differences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import pandas as pd

from opsbook.campaigns.queries.events import _events, _id_equals, _members
from opsbook.data import Source
from opsbook.engine import exact_sum
from opsbook.retention.queries import paid_orders

DID_BUCKETS = 40


def daily_site_counts(source: Source) -> pd.DataFrame:
    """Paid orders and revenue per local day with any (engine), indexed by date."""
    paid = paid_orders(source)
    day = source.local_date(paid.ts)
    return (
        paid.group_by(date=day)
        .aggregate(orders=paid.count(), revenue=exact_sum(paid.amount))
        .execute()
        .set_index("date")
    )


def daily_participants(source: Source, keys: Sequence[str] | None) -> pd.Series:
    """Distinct participants (``campaign_join``) per local day of the campaigns ``keys``."""
    joins = _events(source, None, ("campaign_join",))
    if joins is None:
        return pd.Series(dtype=float)
    if keys is not None:
        pred = ibis.literal(False)
        for key in keys:
            pred = pred | _id_equals(joins.campaign_id, key)
        joins = joins.filter(pred)
    counts = (
        joins.group_by(date=source.local_date(joins.ts))
        .aggregate(n=joins.user_id.nunique())
        .execute()
    )
    return (
        counts.set_index("date")["n"].astype(float) if not counts.empty else pd.Series(dtype=float)
    )


def did_panel(
    source: Source, row: Mapping[str, Any], first: pd.Timestamp, last: pd.Timestamp,
    baseline_days: int, buckets: int = DID_BUCKETS,
) -> pd.DataFrame:  # fmt: skip
    """Members (treatment) vs users who are not members, in random user buckets (the units and
    clusters of the DiD): per bucket and local day, paid orders and revenue per user, from
    ``baseline_days`` before the start to the end. Aggregated in the engine."""
    tz_first = source.utc_from_local(first - pd.Timedelta(days=int(baseline_days)))
    tz_stop = source.utc_from_local(last + pd.Timedelta(days=1))
    members = _members(source, row["key"]).filter(lambda t: (t.grp != "holdout") & ~t.invited)
    members = members.select(mid="user_id").distinct()
    if source.has("users"):
        users = source.table("users")
        population = users.filter(users.signup_ts < row["start"]).select("user_id")
    else:
        population = paid_orders(source, until=row["start"]).select("user_id")
    population = population.distinct()
    pop = population.left_join(members, population.user_id == members.mid)
    pop = pop.select(
        "user_id",
        treated=pop.mid.notnull().cast("int64"),
        bucket=(pop.user_id.hash().abs() % buckets).cast("int64"),
    )
    sizes = pop.group_by("treated", "bucket").aggregate(users=pop.count()).execute()
    paid = paid_orders(source)
    paid = paid.filter((paid.ts >= tz_first) & (paid.ts < tz_stop))
    paid = paid.join(pop, "user_id")
    daily = (
        paid.group_by("treated", "bucket", date=source.local_date(paid.ts))
        .aggregate(orders=paid.count(), revenue=exact_sum(paid.amount))
        .execute()
    )
    days = pd.date_range(first - pd.Timedelta(days=int(baseline_days)), last, freq="D")
    grid = sizes.merge(pd.DataFrame({"date": days}), how="cross")
    daily["date"] = pd.to_datetime(daily["date"])
    panel = grid.merge(daily, on=["treated", "bucket", "date"], how="left").fillna(
        {"orders": 0.0, "revenue": 0.0}
    )
    panel["orders_per_user"] = panel["orders"] / panel["users"]
    panel["revenue_per_user"] = panel["revenue"] / panel["users"]
    panel["post"] = (panel["date"] >= first).astype(int)
    panel["unit"] = panel["treated"].astype(str) + "-" + panel["bucket"].astype(str)
    return panel
