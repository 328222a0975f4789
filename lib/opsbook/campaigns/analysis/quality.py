"""Campaign review, analysis: the quality of the users a campaign acquired -- their D1/D7/D30
retention, first orders and repeat purchases against the organic users of the same weeks, with
the retention report's rates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from opsbook.campaigns.analysis.daily import _local_day
from opsbook.campaigns.queries.events import _count
from opsbook.campaigns.queries.reach import acquired_users, peer_users
from opsbook.data import Source
from opsbook.retention.analysis import (
    day_n_retention,
    first_order_conversion,
    repeat_purchase_rate,
)
from opsbook.retention.queries import resolve_as_of


def acquisition_quality(
    source: Source, row: Mapping[str, Any], window_days: int, acquired_n: int | None = None
) -> pd.DataFrame:
    """Users acquired by the campaign vs organic users who signed up in the same local weeks
    (others when the users table has no channel): D1/D7/D30 retention, first-order conversion
    (30 days) and repeat purchase (≥ 2 paid orders from signup week to 30 days after the end),
    from :mod:`opsbook.retention`."""
    acquired = acquired_users(source, row, window_days)
    if acquired is None or not source.has("users"):
        return pd.DataFrame()
    acquired_n = _count(acquired) if acquired_n is None else int(acquired_n)
    if acquired_n == 0:
        return pd.DataFrame()
    tz = source.timezone
    first = _local_day(row["start"], tz)
    last = _local_day(row["end"], tz) + pd.Timedelta(days=int(window_days))
    week_start = first - pd.Timedelta(days=first.weekday())
    week_end = last + pd.Timedelta(days=6 - last.weekday())
    peers, label = peer_users(source, acquired, week_start, week_end)
    rows = []
    as_of = resolve_as_of(source).local  # once: each call would look it up again
    data_last = as_of.normalize()
    repeat_end = min(last + pd.Timedelta(days=30), data_last)
    for group, ids in (("acquired", acquired), (label, peers)):
        entry: dict[str, Any] = {"group": group}
        day_n = day_n_retention(
            source,
            (1, 7, 30),
            users=ids,
            cohort_start=week_start,
            cohort_end=week_end,
            as_of=as_of,
        )
        for r in day_n.itertuples():
            entry[f"d{r.day}"] = r.rate
            entry[f"d{r.day}_n"] = int(r.eligible)
        first_order = first_order_conversion(
            source,
            within_days=30,
            users=ids,
            cohort_start=week_start,
            cohort_end=week_end,
            as_of=as_of,
        )
        entry["first_order_30d"] = first_order.value
        entry["first_order_n"] = first_order.n
        repeat = repeat_purchase_rate(source, start=week_start, end=repeat_end, users=ids)
        entry["repeat_purchase"] = repeat.value
        entry["buyers"] = repeat.n
        rows.append(entry)
    frame = pd.DataFrame(rows)
    frame["users"] = [acquired_n, _count(peers)]
    frame.attrs.update(cohort_start=week_start, cohort_end=week_end, repeat_end=repeat_end)
    return frame
