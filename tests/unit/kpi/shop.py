"""The hand-made shop of the KPI dashboard's tests, whose every answer is known.

Period under test: the local week Monday 2025-12-29 .. Sunday 2026-01-04 in Asia/Shanghai (UTC+8),
i.e. UTC [2025-12-28 16:00, 2026-01-04 16:00). The previous week is 2025-12-22 .. 2025-12-28.
Rows sit on both edges: 2026-01-04 15:30 UTC is Sunday 23:30 local (this week), 16:30 UTC is
Monday 00:30 local (the next week); 2025-12-28 16:10 UTC is Monday 00:10 local (this week),
15:50 UTC is Sunday 23:50 local (the previous week).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.report import Report
from opsbook.validation import validate

TZ = "Asia/Shanghai"


def local(text: str) -> pd.Timestamp:
    """A Shanghai wall-clock time as a UTC instant."""
    return pd.Timestamp(text).tz_localize(TZ).tz_convert("UTC")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize("UTC")


USERS = [
    # user, signup, channel
    (1, utc("2026-01-04 15:30"), "search"),  # Sun 23:30 local: this week
    (2, utc("2026-01-04 16:30"), "search"),  # Mon 00:30 local: next week
    (3, utc("2025-12-28 16:10"), "organic"),  # Mon 00:10 local: this week
    (4, utc("2025-12-28 15:50"), "search"),  # Sun 23:50 local: previous week
    (5, local("2025-12-30 10:00"), "social"),
    (6, local("2025-12-22 10:00"), "organic"),
    (7, local("2025-12-23 10:00"), "social"),
    (8, local("2025-11-30 10:00"), "organic"),
]
EVENTS = [
    # user, time, event, content_id, campaign_id
    (8, local("2025-11-30 10:05"), "app_open", None, None),  # 30+ days of history for DAU/MAU
    (4, local("2025-12-29 09:00"), "app_open", None, None),  # u4 day 1
    (4, utc("2026-01-04 15:30"), "add_to_cart", None, None),  # u4 day 7, Sunday 23:30 local
    (5, local("2025-12-31 12:00"), "app_open", None, None),  # u5 day 1
    (3, local("2025-12-29 09:00"), "campaign_join", None, 1),  # u3 day 0 only
    (3, local("2025-12-29 09:50"), "content_view", 1, None),
    (5, local("2026-01-01 10:00"), "campaign_join", None, 1),
    (5, local("2026-01-01 12:00"), "content_view", 2, None),
    (5, local("2026-01-02 08:00"), "content_view", 1, None),
    (6, local("2025-12-23 11:00"), "add_to_cart", None, None),  # activated in time
    (6, local("2025-12-29 08:00"), "app_open", None, None),  # u6 day 7
    (6, local("2025-12-30 08:00"), "content_view", 2, None),
    (6, local("2025-12-30 08:01"), "content_like", 2, None),
    (6, local("2025-12-30 08:02"), "content_share", 2, None),
    (6, local("2025-12-30 09:00"), "campaign_join", None, 1),
    (7, local("2025-12-23 10:05"), "app_open", None, None),
    (7, local("2025-12-31 09:00"), "add_to_cart", None, None),  # 7 days 23 hours: too late
    (7, local("2025-12-31 10:00"), "content_view", 3, None),
    (7, local("2025-12-31 10:01"), "content_comment", 3, None),
    (8, local("2025-12-30 10:00"), "app_open", None, None),  # u8 day 30
    (8, local("2025-12-30 10:05"), "content_view", 2, None),
    (1, utc("2026-01-04 15:35"), "app_open", None, None),  # Sunday 23:35 local
    (1, utc("2026-01-04 15:40"), "content_view", 1, None),  # this week's last view
    (1, utc("2026-01-04 16:20"), "content_view", 3, None),  # Monday 00:20: next week
    (2, utc("2026-01-04 16:35"), "app_open", None, None),  # Monday 00:35 local: next week
]
ORDERS = [
    # order, user, time, amount, status
    (1, 3, local("2025-12-29 10:00"), 100.0, "paid"),  # 10 min after u3's view of item 1
    (2, 5, local("2026-01-02 09:00"), 50.0, "paid"),  # last touch: item 1 (not item 2)
    (3, 5, utc("2026-01-04 15:30"), 30.0, "paid"),  # Sunday 23:30 local, no view within 24 h
    (4, 1, utc("2026-01-04 16:30"), 40.0, "paid"),  # next week; last touch Monday's view
    (5, 6, local("2025-12-30 12:00"), 70.0, "refunded"),  # not paid: never credited
    (6, 4, local("2025-12-28 23:00"), 20.0, "paid"),  # previous week
    (7, 8, local("2025-12-10 12:00"), 25.0, "paid"),  # u8's first order, 10 days in
    (8, 7, local("2026-01-01 11:00"), 10.0, "paid"),  # 25 hours after u7's view: not credited
]
SPEND = [
    (date(2025, 12, 29), "search", 60.0),
    (date(2025, 12, 30), "social", 30.0),
    (date(2026, 1, 5), "search", 100.0),  # next week
    (date(2025, 12, 28), "search", 40.0),  # previous week
]
CONTENT = [
    (1, local("2025-12-29 08:00"), "article", 100.0),
    (2, local("2025-12-31 08:00"), "video", 200.0),
    (3, local("2025-12-20 08:00"), "article", 50.0),
]
CAMPAIGN_START = local("2025-12-29 00:00")
CAMPAIGN_END = local("2026-01-11 00:00")  # 13 days; 7 of them elapsed at the period's end


def write_shop(folder, *, content=True, spend=True, campaigns=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(USERS, columns=["user_id", "signup_ts", "channel"]).to_parquet(
        folder / "users.parquet"
    )
    events = pd.DataFrame(EVENTS, columns=["user_id", "ts", "event", "content_id", "campaign_id"])
    events["content_id"] = events["content_id"].astype("float64")
    events["campaign_id"] = events["campaign_id"].astype("float64")
    events.to_parquet(folder / "events.parquet")
    pd.DataFrame(ORDERS, columns=["order_id", "user_id", "ts", "amount", "status"]).to_parquet(
        folder / "orders.parquet"
    )
    if spend:
        pd.DataFrame(SPEND, columns=["date", "channel", "cost"]).to_parquet(
            folder / "spend.parquet"
        )
    if content:
        pd.DataFrame(CONTENT, columns=["content_id", "published_ts", "type", "cost"]).to_parquet(
            folder / "content.parquet"
        )
    if campaigns:
        pd.DataFrame(
            {
                "campaign_id": [1],
                "name": ["New Year"],
                "start_ts": [CAMPAIGN_START],
                "end_ts": [CAMPAIGN_END],
                "spend": [100.0],
            }
        ).to_parquet(folder / "campaigns.parquet")
        pd.DataFrame(
            {
                "campaign_id": [1, 1, 1, 1, 1],
                "user_id": [3, 5, 6, 7, 1],
                "group": ["treatment", "treatment", "treatment", "holdout", "treatment"],
                "ts": [local("2025-12-29 08:00")] * 4 + [utc("2026-01-04 15:30")],
                "inviter_id": [None, None, None, None, 3.0],
            }
        ).to_parquet(folder / "campaign_members.parquet")


def report_of(folder) -> Report:
    config = load_config(data=str(folder), overrides={"timezone": TZ})
    source = open_source(config)
    return Report("kpi_dashboard", config, source, validate(source, ["users", "events", "orders"]))


def value(board, name, k=0):
    s = board.series
    return s.loc[(s.kpi == name) & (s.k == k), "value"].iloc[0]
