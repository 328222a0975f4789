"""Hand-made and simulated shops for the user-insight tests."""

from datetime import date, timedelta

import numpy as np
import pandas as pd

from tests.unit.retention.sources import source_of

START = date(2026, 1, 1)


def day(n):
    """The UTC text of noon on day ``n`` after START."""
    return f"{START + timedelta(days=int(n))} 12:00"


def simulated_shop(
    folder,
    *,
    users=400,
    days=200,
    seed=1,
    orders=True,
    stay=False,
    one_purchase=False,
    future_from=None,
):
    """Users who sign up in the first half, visit on a random share of days and leave after an
    exponential lifetime, faster on channel ``social`` (the planted churn driver); paid orders
    on some visits. ``stay``: nobody leaves and everyone visits daily (one class). ``one_purchase``:
    each buyer buys once. ``future_from``: drop every row from that day on (as the data stood)."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["social", "organic", "search"], size=users)
    signup = rng.integers(0, days // 2, size=users)
    life = rng.exponential(np.where(channel == "social", 25.0, 200.0))
    rate = np.full(users, 1.0) if stay else rng.uniform(0.2, 0.8, size=users)
    spend = rng.gamma(3.0, 20.0, size=users)  # each buyer's own mean spend (Gamma-Gamma's)
    user_rows = [
        {"user_id": u + 1, "signup_ts": day(signup[u]), "channel": channel[u]} for u in range(users)
    ]
    events, buys = [], []
    for u in range(users):
        end = days if stay else min(days, signup[u] + 1 + int(life[u]))
        for d in range(signup[u], end):
            if rng.random() < rate[u]:
                for _ in range(rng.integers(1, 4)):
                    name = rng.choice(["view", "cart", "open"])
                    events.append({"user_id": u + 1, "ts": day(d), "event": name})
                if orders and rng.random() < 0.1:
                    amount = float(rng.gamma(5.0, spend[u] / 5.0))
                    buys.append({"user_id": u + 1, "ts": day(d), "amount": amount})
    frame_e = pd.DataFrame(events)
    frame_o = pd.DataFrame(buys)
    if one_purchase and len(frame_o):
        frame_o = frame_o.drop_duplicates("user_id")
    if future_from is not None:
        cut = day(future_from)
        frame_e = frame_e[frame_e["ts"] < cut]
        frame_o = frame_o[frame_o["ts"] < cut] if len(frame_o) else frame_o
    order_rows = None
    if orders and len(frame_o):
        frame_o = frame_o.reset_index(drop=True)
        frame_o["order_id"] = np.arange(1, len(frame_o) + 1)
        frame_o["status"] = "paid"
        order_rows = frame_o.to_dict("records")
    return source_of(folder, user_rows, frame_e.to_dict("records"), order_rows)
