"""A small hand-made order log and a Report over it, shared by the segmentation tests."""

from datetime import date

import pandas as pd

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.report import Report

AS_OF = date(2026, 3, 1)


def report_on(folder, orders, *, timezone="UTC", raw=None, aware=True):
    """A Report over a folder holding ``orders`` (a DataFrame with ts as UTC text), stored with
    a zone-aware (pandas' usual) or a naive timestamp column."""
    frame = orders.copy()
    frame["ts"] = pd.to_datetime(frame["ts"])
    if aware:
        frame["ts"] = frame["ts"].dt.tz_localize("UTC")
    frame.to_parquet(folder / "orders.parquet")
    overrides = {"timezone": timezone, **(raw or {})}
    config = load_config(data=str(folder), overrides=overrides, lang="en")
    return Report("segmentation", config, open_source(config), validation=None)


def log(*rows):
    return pd.DataFrame(rows, columns=["order_id", "user_id", "ts", "amount", "status"])


# u1: three paid orders, two on one day; u2: one order; u3: paid + refunded; u4: only refunded;
# plus a cancelled, a user-less, a pending, a null-status (= paid) and out-of-window orders
LOG = log(
    (1, 1, "2026-02-01 10:00", 10.0, "paid"),
    (2, 1, "2026-02-20 09:00", 20.0, "paid"),
    (3, 1, "2026-02-20 18:00", 30.0, "paid"),
    (4, 2, "2026-02-27 12:00", 50.0, "paid"),
    (5, 3, "2026-01-15 08:00", 40.0, "paid"),
    (6, 3, "2026-02-25 08:00", 99.0, "refunded"),
    (7, 4, "2026-02-10 08:00", 70.0, "refunded"),
    (8, 2, "2026-02-11 08:00", 15.0, "cancelled"),
    (9, None, "2026-02-12 08:00", 25.0, "paid"),
    (10, 2, "2026-02-13 08:00", 5.0, "pending"),
    (11, 5, "2026-02-28 23:59", 8.0, None),
    (12, 1, "2026-03-01 00:00", 1000.0, "paid"),  # on as_of itself: outside the window
    (13, 2, "2025-11-01 00:00", 500.0, "paid"),  # before a 90-day window
)
