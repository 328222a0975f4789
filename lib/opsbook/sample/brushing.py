"""Order brushing (刷单) and refund abuse planted in the sample shop, with their truth.

* A ring: ``RING_ACCOUNTS`` dormant accounts on one device, each placing one paid order of the
  ring's one amount within ``RING_MINUTES`` on a local day none of them is otherwise active.
  The orders come from a script, not from the app: no app_open, browsing, checkout or purchase
  event goes with them -- exactly what the burst rule (keyed by device) and the no-browsing
  rule look for.
* A refund abuser: an account without orders of its own that shops in the app (a session with
  views, a cart and a checkout before each order, a purchase event at each paid one)
  ``ABUSER_ORDERS`` times in ``ABUSER_DAYS`` days and returns ``ABUSER_REFUNDS`` of them.

The accounts are chosen so that no other planted truth moves: users in no experiment and no
campaign, not repeat buyers (whose BG/NBD process is the value truth), at least
``BRUSHING_TENURE`` days past signup (past the retention and funnel windows), on days of
``BRUSHING_SPAN`` that are no campaign's and not the outage day. Rings and abusers are spread
over the blocks (the i-th in block ``i % blocks``) and drawn from the block's own stream, so the
shop's other draws are the same with or without them and chunking changes nothing. The totals
in ``truth.json["orders"]`` count their orders.

Every order carries a ``device_id``: an honest user has one to three devices
(``DEVICES_PER_USER``) and orders mostly from the first; a ring's accounts share one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from opsbook.sample.draws import _categorical, _span
from opsbook.sample.parameters import (
    ABUSER_AMOUNT,
    ABUSER_DAYS,
    ABUSER_ORDERS,
    ABUSER_REFUNDS,
    ABUSER_USER_SHARE,
    BLOCK,
    BRUSHING_SPAN,
    BRUSHING_TENURE,
    DAY_US,
    DEVICE_SLOTS,
    DEVICES_PER_USER,
    EV,
    HOUR_US,
    MIN_ABUSERS,
    MIN_RINGS,
    MIN_US,
    PRIMARY_DEVICE,
    QUIET_MINUTES,
    RING_ACCOUNTS,
    RING_AMOUNTS,
    RING_MINUTES,
    RING_USER_SHARE,
    STATUSES,
)
from opsbook.sample.plan import _iso, _Plan
from opsbook.sample.tables import _Events

HONEST, RING, ABUSER = 0, 1, 2  # what placed an order (the block's ``kind`` of each order)
REFUNDED = STATUSES.index("refunded")


def planted_counts(users: int) -> tuple[int, int]:
    """The rings and refund abusers planned for a sample of ``users`` users."""
    rings = max(MIN_RINGS, round(users * RING_USER_SHARE / np.mean(RING_ACCOUNTS)))
    return rings, max(MIN_ABUSERS, round(users * ABUSER_USER_SHARE))


def brushing_days(plan: _Plan) -> np.ndarray:
    """The days rings and abusers may use: ``BRUSHING_SPAN``, no campaign's, not the outage."""
    days = np.arange(plan.last - BRUSHING_SPAN[0], plan.last - BRUSHING_SPAN[1] + 1)
    ok = days != plan.outage
    for c in plan.campaigns:
        ok &= (days < c.start) | (days > c.end)
    return days[ok]


def _in_block(total: int, b: int, blocks: int) -> int:
    return total // blocks + int(b < total % blocks)


def _rings(rng, plan: _Plan, count: int, taken, sday, active, uid0: int) -> list[tuple]:
    """``count`` rings of accounts not ``taken`` (marked taken as they join), each inactive on
    its ring's day: (users, ts, amounts, statuses, RING, device) per ring."""
    days = brushing_days(plan)
    rings = []
    for _ in range(count):
        day = int(rng.choice(days))
        size = int(rng.integers(RING_ACCOUNTS[0], RING_ACCOUNTS[1] + 1))
        free = np.flatnonzero(~taken & ~active[:, day] & (sday + BRUSHING_TENURE <= day))
        if len(free) < size:
            continue  # a small block short of dormant accounts holds fewer rings
        who = np.sort(rng.choice(free, size, replace=False))
        taken[who] = True
        # after QUIET_MINUTES past midnight: the day before's sessions end by then
        quiet_us = QUIET_MINUTES * MIN_US
        start = plan.day_start[day] + _span(rng, 1, quiet_us, DAY_US - RING_MINUTES * MIN_US)[0]
        ts = start + _span(rng, size, 0, RING_MINUTES * MIN_US)
        amount = np.full(size, RING_AMOUNTS[rng.integers(len(RING_AMOUNTS))])
        device = (uid0 + who[0]) * DEVICE_SLOTS + DEVICE_SLOTS - 1
        rings.append((who, ts, amount, np.zeros(size, dtype=np.int64), RING, device))
    return rings


def _abusers(rng, plan: _Plan, count: int, free, sday, ev: _Events) -> list[tuple]:
    """``count`` refund abusers among the ``free`` accounts, their sessions added to ``ev``:
    (users, ts, amounts, statuses, ABUSER, -1) per abuser."""
    days = brushing_days(plan)
    abusers = []
    for _ in range(count):
        last = int(rng.choice(days[days >= days[0] + ABUSER_DAYS - 1]))
        window = days[(days > last - ABUSER_DAYS) & (days <= last)]
        on = np.sort(rng.choice(window, ABUSER_ORDERS, replace=False))
        candidates = np.flatnonzero(free & (sday + BRUSHING_TENURE <= on[0]))
        if not len(candidates):
            continue
        who = int(candidates[rng.integers(len(candidates))])
        free[who] = False
        k = ABUSER_ORDERS
        opened = plan.day_start[on] + _span(rng, k, 9 * HOUR_US, 21 * HOUR_US)
        user = np.full(k, who)
        ev.add(user, opened, EV["app_open"])
        ev.add(user, opened + _span(rng, k, MIN_US, 4 * MIN_US), EV["view_item"])
        ev.add(user, opened + _span(rng, k, 4 * MIN_US, 8 * MIN_US), EV["view_item"])
        ev.add(user, opened + _span(rng, k, 9 * MIN_US, 12 * MIN_US), EV["add_to_cart"])
        ev.add(user, opened + _span(rng, k, 13 * MIN_US, 15 * MIN_US), EV["checkout"])
        ts = opened + _span(rng, k, 16 * MIN_US, 22 * MIN_US)
        status = np.zeros(k, dtype=np.int64)
        status[rng.permutation(k)[:ABUSER_REFUNDS]] = REFUNDED
        ev.add(user[status == 0], ts[status == 0], EV["purchase"])
        amount = np.round(np.exp(np.log(ABUSER_AMOUNT) + 0.3 * rng.standard_normal(k)), 2)
        abusers.append((user, ts, amount, status, ABUSER, -1))
    return abusers


def plant_brushing(
    rng: np.random.Generator,
    plan: _Plan,
    b: int,
    uid0: int,
    quiet: np.ndarray,
    sday: np.ndarray,
    active: np.ndarray,
    ev: _Events,
    orders: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, ...]:
    """Block ``b``'s rings and refund abusers among its ``quiet`` users (in no experiment, no
    campaign, not repeat buyers), with ``sday`` their signup days and ``active`` the users x days
    activity; the abusers' sessions go to ``ev``. Returns the block's ``orders`` (user, ts,
    amount, status, campaign) with the planted ones, sorted as the block sorts them, and two
    more columns: each order's kind (HONEST, RING, ABUSER) and device_id."""
    n = len(quiet)
    blocks = math.ceil(plan.users / BLOCK)
    rings, abusers = planted_counts(plan.users)
    taken = ~quiet
    ring_parts = _rings(rng, plan, _in_block(rings, b, blocks), taken, sday, active, uid0)
    has_orders = np.bincount(orders[0], minlength=n) > 0
    abuse_parts = _abusers(rng, plan, _in_block(abusers, b, blocks), ~taken & ~has_orders, sday, ev)

    o_user, o_ts, o_amt, o_status, o_camp = orders
    parts = [(o_user, o_ts, o_amt, o_status, HONEST, -1), *ring_parts, *abuse_parts]
    columns = [
        np.concatenate([np.broadcast_to(np.asarray(p[i]), len(p[0])) for p in parts])
        for i in range(6)
    ]
    columns.append(np.concatenate([o_camp, np.full(len(columns[0]) - len(o_camp), -1)]))
    o = np.lexsort((columns[2], columns[0], columns[1]))
    user, ts, amount, status, kind, ring_device, campaign = (c[o] for c in columns)

    # honest devices: one to three per user, the first for most orders
    devices = 1 + _categorical(rng, n, DEVICES_PER_USER)
    other = (rng.random(len(user)) * devices[user]).astype(np.int64)
    slot = np.where(rng.random(len(user)) < PRIMARY_DEVICE, 0, other)
    device = np.where(kind == RING, ring_device, (uid0 + user) * DEVICE_SLOTS + slot)
    return user, ts, amount, status, campaign, kind, device


def brushing_truth(plan: _Plan, planted: dict[str, list[int]]) -> dict[str, Any]:
    """``truth.json["brushing"]``: the planted orders, users and devices (``planted`` holds
    their ids as written) and the parameters they were planted with."""
    days = brushing_days(plan)
    return {
        "ring_orders": sorted(planted["ring_orders"]),
        "ring_users": sorted(planted["ring_users"]),
        "ring_devices": sorted(planted["ring_devices"]),
        "abuser_orders": sorted(planted["abuser_orders"]),
        "abuser_users": sorted(planted["abuser_users"]),
        "rings": len(planted["ring_devices"]),
        "abusers": len(planted["abuser_users"]),
        "parameters": {
            "ring_user_share": RING_USER_SHARE,
            "min_rings": MIN_RINGS,
            "ring_accounts": list(RING_ACCOUNTS),
            "ring_minutes": RING_MINUTES,
            "ring_amounts": [float(a) for a in RING_AMOUNTS],
            "abuser_user_share": ABUSER_USER_SHARE,
            "min_abusers": MIN_ABUSERS,
            "abuser_orders": ABUSER_ORDERS,
            "abuser_refunds": ABUSER_REFUNDS,
            "abuser_days": ABUSER_DAYS,
            "min_tenure_days": BRUSHING_TENURE,
            "first_day": _iso(plan, days[0]),
            "last_day": _iso(plan, days[-1]),
            "device_id": f"honest: user_id x {DEVICE_SLOTS} + 0..2; a ring's: its first "
            f"account's user_id x {DEVICE_SLOTS} + {DEVICE_SLOTS - 1}",
        },
        "note": "a ring: dormant accounts in no experiment or campaign, one paid order each of "
        "one amount within ring_minutes on one device, with no event of theirs that local day "
        "(a script, not the app: no browsing, checkout or purchase event); an abuser: "
        "abuser_orders orders in abuser_days days, each after an app session, abuser_refunds "
        "of them refunded, no other order",
    }
