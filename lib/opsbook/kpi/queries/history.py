"""The forecasts' engine work: the weekly series of the KPIs that are forecast (new users, active
users, paid orders, GMV, paying rate, ARPU) over every complete period of the history."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from opsbook.data import Source
from opsbook.kpi.queries.periods import Periods, _period_of
from opsbook.kpi.queries.rows import _counts
from opsbook.kpi.queries.users import revenue_rows, signups_per_day
from opsbook.retention.queries import paid_orders

#: the series :func:`weekly_history` returns, beside the period's ``end``
HISTORY_KPIS = ("new_users", "active_users", "orders", "gmv", "paying_rate", "arpu")


def first_day(source: Source) -> date | None:
    """The first local day of the data: the earliest event or paid order (signups alone do not
    make an active history)."""
    found = []
    for name in ("events", "orders"):
        if source.has(name):
            ts = source.table(name).ts
            first = source.once(("kpi.first_local_day", name), source.local_date(ts).min().execute)
            if first is not None and not pd.isna(first):
                found.append(pd.Timestamp(first).date())
    return min(found) if found else None


def history_periods(source: Source, end: date, days: int, most: int) -> Periods | None:
    """The complete periods of ``days`` local days ending ``end`` that the data cover (at most
    ``most``; None when fewer than two): the first one starts on or after :func:`first_day`."""
    first = first_day(source)
    if first is None or first > end:
        return None
    count = min(int(most), ((end - first).days + 1) // days)
    return Periods(end=end, days=days, count=count) if count >= 2 else None


def weekly_history(source: Source, periods: Periods) -> pd.DataFrame:
    """Per period (oldest first): ``end``, new users (signups), active users (any event or paid
    order), paid orders, GMV, paying rate (paying / active) and ARPU (revenue / active); a
    series the source has no table for is left out."""
    frame = pd.DataFrame(index=range(periods.count))
    frame["end"] = [periods[k].end for k in frame.index]
    if source.has("orders"):
        rows = pd.DataFrame(revenue_rows(source, periods)).set_index(["kpi", "k"])
        for name in ("gmv", "paying_rate", "arpu"):
            frame[name] = rows.loc[name, "value"].reindex(frame.index).fillna(0.0)
        frame["active_users"] = rows.loc["paying_rate", "den"].reindex(frame.index).fillna(0.0)
        lo, hi = periods.span().utc_bounds(source)
        orders = periods.number(source, paid_orders(source, since=lo, until=hi))
        counted = orders.group_by("k").aggregate(orders=orders.count()).execute()
        frame["orders"] = _counts(counted, "orders", periods.count)
    if source.has("users"):
        signups = signups_per_day(source)
        signups["k"] = _period_of(signups["day"], periods)
        per_k = signups.dropna(subset=["k"]).groupby("k")["new_users"].sum()
        frame["new_users"] = per_k.reindex(frame.index, fill_value=0).astype(float)
    columns = ["end", *(name for name in HISTORY_KPIS if name in frame.columns)]
    return frame[columns].iloc[::-1].reset_index(drop=True)


def period_middle(end: date, days: int) -> date:
    """The day that places a period in a month or quarter: its middle (a week's Thursday)."""
    return end - timedelta(days=days // 2)
