"""Order-brushing rings with known truth, planted into a generated sample (a copy: the default
sample's other planted truths assume every paid order has its purchase event, and brushers'
orders have none).

A ring is a handful of accounts on one device that place orders of the identical amount
within minutes, with no browsing before them; a refund abuser orders often and returns most
of it. Every order gets a ``device_id`` (one per honest user; the ring's shared one), the
optional column the burst rule reads. The planted orders and users are written to
``truth.json["brushing"]``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

RINGS = 12
ACCOUNTS = (5, 9)  # accounts per ring: at least the burst rule's 5 orders
RING_MINUTES = 40  # a ring's orders all fall in this many minutes
ABUSERS = 6
ABUSER_ORDERS, ABUSER_REFUNDS = 8, 6
MIN_TENURE_DAYS = 16  # past the planted funnel's first 15 days


def _quiet_users(folder: Path, orders: pd.DataFrame) -> pd.DataFrame:
    """Users in no experiment and no campaign, with their signup: accounts whose extra orders
    touch no other planted truth."""
    users = pd.read_parquet(folder / "users.parquet", columns=["user_id", "signup_ts"])
    busy = set()
    for name in ("assignments", "campaign_members"):
        path = folder / f"{name}.parquet"
        if path.exists():
            busy |= set(pd.read_parquet(path, columns=["user_id"]).user_id)
    return users[~users.user_id.isin(busy)].reset_index(drop=True)


def plant_rings(folder: str | Path, seed: int = 7) -> dict:
    """Add the rings and abusers to ``folder``'s orders (rewritten) and their truth to its
    truth.json; returns that truth."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    orders = pd.read_parquet(folder / "orders.parquet")
    orders["device_id"] = "d-" + orders.user_id.astype(str)
    end = orders.ts.max()
    quiet = _quiet_users(folder, orders)
    eligible = quiet[quiet.signup_ts < end - pd.Timedelta(days=MIN_TENURE_DAYS + 30)]
    picks = rng.choice(len(eligible), size=RINGS * ACCOUNTS[1], replace=False)
    accounts = eligible.iloc[picks].reset_index(drop=True)
    # abusers: accounts with no order of their own, so that what they do is the planted pattern
    idle = eligible[
        ~eligible.user_id.isin(orders.user_id) & ~eligible.user_id.isin(accounts.user_id)
    ]
    abusers = idle.user_id.iloc[rng.choice(len(idle), size=ABUSERS, replace=False)]
    next_id = int(orders.order_id.max()) + 1
    planted, used = [], 0
    for ring in range(RINGS):
        size = int(rng.integers(ACCOUNTS[0], ACCOUNTS[1] + 1))
        members = accounts.iloc[used : used + size]
        used += size
        start = end - pd.Timedelta(days=float(rng.uniform(3, 28)))
        amount = float(rng.choice([88.0, 99.0, 128.0, 188.0]))
        for user in members.user_id:
            at = start + pd.Timedelta(minutes=float(rng.uniform(0, RING_MINUTES)))
            planted.append((next_id, user, at, amount, "paid", f"ring-{ring}", f"ring-{ring}"))
            next_id += 1
    for user in abusers:
        days = np.sort(rng.uniform(1, 28, size=ABUSER_ORDERS))
        for k, day in enumerate(days):
            status = "refunded" if k < ABUSER_REFUNDS else "paid"
            amount = float(np.round(rng.lognormal(np.log(120), 0.3), 2))
            at = end - pd.Timedelta(days=float(day))
            planted.append((next_id, user, at, amount, status, f"d-{user}", "abuser"))
            next_id += 1
    columns = ["order_id", "user_id", "ts", "amount", "status", "device_id", "kind"]
    extra = pd.DataFrame(planted, columns=columns)
    extra["campaign_id"] = np.nan
    extra["ts"] = extra["ts"].astype(orders.ts.dtype)
    together = pd.concat([orders, extra.drop(columns="kind")], ignore_index=True)
    together.to_parquet(folder / "orders.parquet", index=False)
    truth = {
        "ring_orders": [int(i) for i in extra.order_id[extra.kind != "abuser"]],
        "abuser_orders": [int(i) for i in extra.order_id[extra.kind == "abuser"]],
        "rings": RINGS,
        "abusers": ABUSERS,
        "ring_minutes": RING_MINUTES,
        "note": "ring orders: one device, identical amount, no event before; abusers: "
        f"{ABUSER_ORDERS} orders in 4 weeks, {ABUSER_REFUNDS} refunded",
    }
    path = folder / "truth.json"
    document = json.loads(path.read_text()) if path.exists() else {}
    document["brushing"] = truth
    path.write_text(json.dumps(document, indent=1, sort_keys=True))
    return truth
