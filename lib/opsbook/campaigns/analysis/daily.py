"""Campaign review, analysis: the days around the campaigns -- the site's daily paid orders and
revenue with missing days filled, each campaign's local days, and the anomalous days
(weekday-adjusted robust z, campaign days left out of the baseline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from opsbook.campaigns.queries.daily import daily_site_counts
from opsbook.data import Source
from opsbook.stats.timeseries import complete_days, flag_anomalies, weekday_factors


def _local_day(stamp: Any, tz: str) -> pd.Timestamp:
    """The local calendar day (naive midnight) of a naive-UTC instant."""
    return pd.Timestamp(stamp).tz_localize("UTC").tz_convert(tz).tz_localize(None).normalize()


def daily_site(source: Source) -> pd.DataFrame:
    """Paid orders and revenue per local day over the whole data (engine), missing days 0."""
    counts = daily_site_counts(source)
    if counts.empty:
        return pd.DataFrame(columns=["orders", "revenue"])
    orders = complete_days(counts["orders"])
    revenue = complete_days(counts["revenue"])
    return pd.DataFrame({"orders": orders, "revenue": revenue})


def campaign_days(frame: pd.DataFrame, tz: str) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(first local day, last local day, key) of every dated campaign."""
    out = []
    for row in frame.itertuples():
        if pd.notna(row.start) and pd.notna(row.end):
            out.append((_local_day(row.start, tz), _local_day(row.end, tz), row.key))
    return out


def flag_days(
    site: pd.DataFrame, periods: Sequence[tuple[pd.Timestamp, pd.Timestamp, str]], threshold: float
) -> pd.DataFrame:
    """Per day: orders and revenue with their robust-z flags; ``campaign`` names the campaign
    running that day (a spike on a campaign day is expected and not counted as an anomaly)."""
    if site.empty:
        return pd.DataFrame(
            columns=["date", "orders", "revenue", "baseline", "z", "flag", "revenue_flag",
                     "campaign", "anomaly"]
        )  # fmt: skip
    inside = pd.Series(False, index=site.index)
    for first, last, _ in periods:
        inside[(site.index >= first) & (site.index <= last)] = True
    inside = inside.to_numpy()
    # the weekly pattern is expected, not anomalous: flag the weekday-adjusted series
    factor = weekday_factors(site["orders"], inside)
    adjusted = site["orders"] / factor
    # campaign days are left out of the other days' baseline (a campaign is not "normal");
    # on campaign days only a gap or a drop against the whole series is an anomaly
    orders = flag_anomalies(adjusted.where(~inside), threshold=threshold)
    during = flag_anomalies(adjusted, threshold=threshold)
    orders["flag"] = np.where(
        inside, np.where(during["flag"].isin(["gap", "drop"]), during["flag"], ""), orders["flag"]
    )
    orders["baseline"] = orders["baseline"].where(~inside, during["baseline"]) * factor
    orders["z"] = orders["z"].where(~inside, during["z"])
    # a zero day where a handful of orders is normal (the first days of a shop) is no outage
    orders.loc[(orders["flag"] == "gap") & ~(orders["baseline"] >= 5), "flag"] = ""
    revenue = flag_anomalies(
        (site["revenue"] / weekday_factors(site["revenue"], inside)).where(~inside),
        threshold=threshold,
    )
    frame = pd.DataFrame(
        {
            "date": site.index,
            "orders": site["orders"].to_numpy(),
            "revenue": site["revenue"].to_numpy(),
            "baseline": orders["baseline"].to_numpy(),
            "z": orders["z"].to_numpy(),
            "flag": orders["flag"].to_numpy(),
            "revenue_flag": revenue["flag"].to_numpy(),
        }
    )
    running = pd.Series("", index=frame.index, dtype=object)
    for first, last, key in periods:
        inside = (frame["date"] >= first) & (frame["date"] <= last)
        running[inside] = key
    frame["campaign"] = running.to_numpy()
    # anomalies are judged on orders (revenue swings with single large baskets)
    frame["anomaly"] = frame["flag"] != ""
    return frame
