"""The daily pulse's engine work: active users, paid orders, revenue (with the sum of squared
order amounts) and new users per local day over the trend's days."""

from __future__ import annotations

import pandas as pd

from opsbook.data import Source
from opsbook.engine import exact_sum
from opsbook.kpi.queries.periods import Periods, _days_in
from opsbook.retention.queries import active_periods, paid_orders, period_start
from opsbook.rollup import total, user_days


def daily_counts(
    source: Source, periods: Periods
) -> tuple[dict[str, pd.DataFrame], pd.Series | None]:
    """Per daily metric (``active_users``, ``paid_orders``, ``revenue``, ``new_users``; those the
    source has tables for) a frame of ``day, value``, and the sum of squared paid order amounts
    per day (None without orders), for :func:`opsbook.kpi.analysis.trends.daily_pulse`."""
    span = periods.span()
    lo, hi = span.utc_bounds(source)
    frames: dict[str, pd.DataFrame] = {}
    if source.has("events"):
        days = _days_in(source, periods, active_periods(source, "any", hi, "day"))
        active = days.group_by("p").aggregate(value=days.count()).execute()
        active["day"] = [period_start(p, "day") for p in active["p"]]
        frames["active_users"] = active[["day", "value"]]
    squares = None
    if source.has("orders"):
        daily = _daily_orders(source, periods)
        frames["paid_orders"] = daily[["day", "paid_orders"]].rename(
            columns={"paid_orders": "value"}
        )
        frames["revenue"] = daily[["day", "revenue"]].rename(columns={"revenue": "value"})
        squares = daily.set_index("day")["squares"].astype(float)
        squares.index = pd.to_datetime(squares.index)
    if source.has("users"):
        users = periods.number(source, source.table("users", since=lo, until=hi), "signup_ts")
        frames["new_users"] = (
            users.group_by(day=source.local_date(users.signup_ts))
            .aggregate(value=users.count())
            .execute()
        )
    return frames, squares


def _daily_orders(source: Source, periods: Periods) -> pd.DataFrame:
    """``day, paid_orders, revenue, squares`` per local day of the periods with a paid order:
    from the orders rollup where it answers for the source, else from the rows."""
    rolled = user_days(source, "orders")
    if rolled is not None and "paid_amount" in rolled.columns:
        first = periods.end_day - (periods.span().days - 1)
        paid = rolled.filter(rolled.day.between(first, periods.end_day) & (rolled.paid_orders > 0))
        daily = (
            paid.group_by("day")
            .aggregate(
                paid_orders=paid.paid_orders.sum(),
                revenue=total(paid.paid_amount),
                squares=total(paid.paid_squares),
            )
            .execute()
        )
        # the local date as the rows' query gives it (datetime64[s])
        daily["day"] = (pd.Timestamp("1970-01-01") + pd.to_timedelta(daily["day"], "D")).astype(
            "datetime64[s]"
        )
        return daily
    lo, hi = periods.span().utc_bounds(source)
    orders = paid_orders(source, since=lo, until=hi)
    return (
        orders.group_by(day=source.local_date(orders.ts))
        .aggregate(
            paid_orders=orders.count(),
            revenue=exact_sum(orders.amount),
            squares=exact_sum(orders.amount * orders.amount),
        )
        .execute()
    )
