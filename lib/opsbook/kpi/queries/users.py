"""The users area's engine work: new users and CAC (acquisition), activation within N days of
signup, and revenue per active and paying user."""

from __future__ import annotations

import math
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from opsbook.data import Source
from opsbook.engine import exact_sum
from opsbook.kpi.queries.periods import Periods, _days_in, _period_of
from opsbook.kpi.queries.rows import _counts, _key_like, _Part, _ratio, _rows
from opsbook.retention.queries import activity, check_event, kept_active_days, paid_orders
from opsbook.rollup import active_days, total, user_days

YEAR_DAYS = 364  # 52 weeks: the same weekdays a year earlier


def signups_per_day(source: Source) -> pd.DataFrame:
    """New users per local signup date and channel (one row per day and channel)."""
    users = source.table("users")
    users = users.filter(users.signup_ts.notnull())
    channel = (
        users.channel.cast("string").fill_null("(missing)")
        if "channel" in users.columns
        else ibis.literal("(all)")
    )
    frame = (
        users.group_by(day=source.local_date(users.signup_ts), channel=channel)
        .aggregate(new_users=users.count())
        .execute()
    )
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def spend_per_day(source: Source, periods: Periods) -> pd.DataFrame:
    spend = source.table("spend")
    span = periods.span()
    spend = spend.filter(spend.date.notnull() & spend.date.between(span.start, span.end))
    frame = (
        spend.group_by(day=spend.date, channel=spend.channel.cast("string"))
        .aggregate(spend=exact_sum(spend.cost))
        .execute()
    )
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    # the engine returns groups in no fixed order, and the periods' spend is summed from these
    # rows: in one order, so that identical data give identical sums
    return frame.sort_values(["day", "channel"], ignore_index=True)


def acquisition(source: Source, periods: Periods) -> tuple[_Part, pd.Series]:
    """New users and CAC per period and channel. CAC = acquisition spend / new users of the
    channels that had spend in the period (paid CAC; organic and referral users are not bought;
    without a users.channel column, blended CAC over every new user).
    Also returns new users per period 52 weeks earlier (the growth target's baseline, NaN where
    the users table does not reach back that far)."""
    notes: dict[str, str] = {}
    signups = signups_per_day(source)
    year = pd.Series(math.nan, index=range(periods.count))
    if signups.empty:
        empty = pd.DataFrame(columns=["channel", "new_users", "previous_new_users", "spend", "cac"])
        return _Part([], {"new_users": "kpi_dashboard.na.no_data"}, by_channel=empty), year
    signups["k"] = _period_of(signups["day"], periods)
    inside = signups.dropna(subset=["k"]).astype({"k": "int64"})
    per_k = inside.groupby("k")["new_users"].sum().reindex(range(periods.count), fill_value=0)
    first_day = signups["day"].min()
    for k in range(periods.count):
        earlier = periods[k].earlier(YEAR_DAYS)
        if first_day <= earlier.start:
            mask = (signups["day"] >= earlier.start) & (signups["day"] <= earlier.end)
            year[k] = float(signups.loc[mask, "new_users"].sum())
    rows = _rows("new_users", per_k.astype(float))
    by_channel = inside.pivot_table(
        index="channel", columns="k", values="new_users", aggfunc="sum", fill_value=0
    ).reindex(columns=range(periods.count), fill_value=0)
    if source.has("spend"):
        spend = spend_per_day(source, periods)
        spend["k"] = _period_of(spend["day"], periods)
        spend = spend.dropna(subset=["k"]).astype({"k": "int64"})
        cost = spend.pivot_table(
            index="channel", columns="k", values="spend", aggfunc="sum", fill_value=0.0
        ).reindex(columns=range(periods.count), fill_value=0.0)
        if "channel" in source.columns("users"):
            bought = by_channel.reindex(cost.index, fill_value=0).where(cost.gt(0), 0)
            users_paid = bought.sum()
        else:  # no acquisition channel per user: blended CAC over every new user
            users_paid = per_k.astype(float)
            notes["cac"] = "kpi_dashboard.na.blended_cac"
        total_cost = cost.sum()
        rows += _rows("cac", _ratio(total_cost, users_paid), total_cost, users_paid)
    else:
        cost = pd.DataFrame(columns=range(periods.count), dtype=float)
        notes["cac"] = "kpi_dashboard.na.no_spend"
    channels = sorted(set(by_channel.index) | set(cost.index))
    table = pd.DataFrame({"channel": channels})
    table["new_users"] = [int(by_channel[0].get(c, 0)) for c in channels]
    table["previous_new_users"] = [int(by_channel[1].get(c, 0)) for c in channels]
    table["spend"] = [
        float(cost[0].get(c, math.nan)) if c in cost.index else math.nan for c in channels
    ]
    table["cac"] = [
        s / n if np.isfinite(s) and s > 0 and n > 0 else math.nan
        for s, n in zip(table["spend"], table["new_users"], strict=True)
    ]
    return _Part(rows, notes, by_channel=table), year


# ---------------------------------------------------------------------------- activation
def _window_cohort(source: Source, periods: Periods, days: float) -> ir.Table:
    """Users whose ``days``-day window after signup closes in one of the periods, with ``k`` the
    period of the window's close: ``user_id, signup, close, k``."""
    users = source.table("users")
    users = users.filter(users.user_id.notnull() & users.signup_ts.notnull())
    users = users.select(
        "user_id",
        signup=users.signup_ts,
        close=users.signup_ts + ibis.interval(seconds=round(days * 86_400)),
    )
    return periods.tag(source, users, "close")


def activation_rows(
    source: Source, periods: Periods, *, days: int = 7, event: str = "add_to_cart"
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Activation rate: new users doing the key action (``event``: an event name, or ``order``
    for a paid order) within ``days`` days (rolling, from the signup time) / new users, for the
    cohort whose window closes in each period. An event the source never logs leaves the KPI
    n/a with a note rather than at 0 %."""
    if not source.has("users"):
        return [], {"activation_rate": "kpi_dashboard.na.no_users"}
    try:
        check_event(source, event)
    except ValueError:
        return [], {"activation_rate": "kpi_dashboard.na.no_activation_event"}
    cohort = _window_cohort(source, periods, days)
    actions = activity(source, event)
    actions = actions.mutate(user_id=_key_like(actions.user_id, cohort.user_id))
    hits = (
        cohort.inner_join(
            actions,
            [
                cohort.user_id == actions.user_id,
                actions.ts >= cohort.signup,
                actions.ts < cohort.close,
            ],
        )
        .select("user_id")
        .distinct()
        .mutate(hit=ibis.literal(1))
    )
    joined = cohort.left_join(hits, "user_id")
    frame = (
        joined.group_by("k").aggregate(n=joined.count(), x=joined.hit.fill_null(0).sum()).execute()
    )
    n, x = _counts(frame, "n", periods.count), _counts(frame, "x", periods.count)
    return _rows("activation_rate", _ratio(x, n), x, n), {}


# ---------------------------------------------------------------------------- revenue


def revenue_rows(source: Source, periods: Periods) -> list[dict[str, Any]]:
    """Paying rate (paying / active users), ARPU (revenue / active users), ARPPU (revenue /
    paying users) and GMV (paid order amount) per period. Active = any event or paid order."""
    rolled = user_days(source, "orders")
    if rolled is not None and "paid_amount" in rolled.columns:
        paid = _days_in(source, periods, rolled.filter(rolled.paid_orders > 0).rename(p="day"))
        orders = paid.select("user_id", "k")
        money = paid.group_by(mk="k").aggregate(
            revenue=total(paid.paid_amount), paying=paid.user_id.nunique()
        )
    else:
        lo, hi = periods.span().utc_bounds(source)
        orders = periods.number(source, paid_orders(source, since=lo, until=hi))
        money = orders.group_by(mk="k").aggregate(
            revenue=exact_sum(orders.amount), paying=orders.user_id.nunique()
        )
    actors = period_actives(source, periods, orders)
    active = actors.group_by("k").aggregate(active=actors.user_id.nunique())
    # every period with an order has an active user: one query answers both
    per_k = active.left_join(money, active.k == money.mk).execute()
    count = periods.count
    revenue = _counts(per_k, "revenue", count)
    paying = _counts(per_k, "paying", count)
    actives = _counts(per_k, "active", count)
    return (
        _rows("paying_rate", _ratio(paying, actives), paying, actives)
        + _rows("arpu", _ratio(revenue, actives), revenue, actives)
        + _rows("arppu", _ratio(revenue, paying), revenue, paying)
        + _rows("gmv", revenue)
    )


def period_actives(source: Source, periods: Periods, orders: ir.Table | None = None) -> ir.Table:
    """``user_id, k``: the users active in each period (any event or paid order; a pair may
    repeat). ``orders``: the periods' paid orders numbered by :meth:`Periods.number`, when the
    caller has them already."""
    lo, hi = periods.span().utc_bounds(source)
    if orders is None:
        orders = periods.number(source, paid_orders(source, since=lo, until=hi))
    actors = orders.select("user_id", "k")
    if source.has("events"):
        # the active days when the dashboard keeps them (first); alone, the periods' events
        # are cheaper than every active day of the history
        kept = kept_active_days(source, "any", hi)
        rolled = active_days(source, "any", hi) if kept is None else None
        if kept is not None:
            days = _days_in(source, periods, kept)
        elif rolled is not None:
            days = _days_in(source, periods, rolled.rename(p="day"))
        else:
            days = source.table("events", since=lo, until=hi, local_day=True)
            days = days.filter(days.user_id.notnull())
            days = days.mutate(k=periods.day_index(source, days.local_day))
        actors = actors.union(
            days.select(user_id=_key_like(days.user_id, orders.user_id), k=days.k)
        )
    return actors
