"""The true churn risk of the user-insight truth (``lifetime``), read back from a sample folder.

For each user active in the ``active_days`` days before a cutoff c: the probability, under the
generating process, of no activity in [c, c + H) given everything the tables show before c --
the best any ranking of the report's features can do, and the yardstick of the report's churn
model. Computed exactly: the user was alive on their last active day l; every day after it
without activity leaves the features (and so the hazard) known, so the chance of a quiet
stretch from l + 1 to a day D sums over the day of leaving (or none) along that one path. The
latent type (engaged or casual, first 30 days) and rhythm (settled) are averaged over with their
posterior given the user's active days up to l. Repeat buyers are left out: their leaving is the
BG/NBD process's, not the hazard's.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opsbook.sample.lifetime import _hazard
from opsbook.sample.parameters import (
    CHANNELS,
    DAY_US,
    H_CASUAL,
    H_ENGAGED,
    KEY_ACTION_DAYS,
    KEY_ACTION_EVENT,
    KEY_ACTION_HAZARD,
    KEY_ACTION_THRESHOLD,
    P_ACTIVE_MAX,
    P_CASUAL,
    P_ENGAGED,
    Q_ENGAGED,
    REPEAT_EVERY,
    RHYTHM_LEVELS,
    RHYTHM_MIX,
    SETTLED_DAY,
    TZ_OFFSET_S,
    US,
)
from opsbook.sample.plan import _plan


def _days(column, plan) -> np.ndarray:
    us = column.cast("int64").to_numpy()
    epoch = (plan.start - date(1970, 1, 1)).days
    return (us + TZ_OFFSET_S * US) // DAY_US - epoch


def true_churn_risk(
    folder: str | Path, cutoff: date | str, horizon_days: int, active_days: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """``(user_id, risk)`` of the users who are not repeat buyers, signed up and active in the
    ``active_days`` days before the local day ``cutoff`` (see the module)."""
    folder = Path(folder)
    p = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["params"]
    plan = _plan(p["users"], p["days"], p["seed"], p["end"])
    c = (date.fromisoformat(str(cutoff)) - plan.start).days
    end = c + int(horizon_days)
    if not (active_days <= c and end <= plan.days):
        raise ValueError("the cutoff and horizon must lie inside the period")
    users = pq.read_table(folder / "users.parquet", columns=["user_id", "signup_ts", "channel"])
    ids = users.column("user_id").to_numpy()
    order = np.argsort(ids)
    ids = ids[order]
    sday = _days(users.column("signup_ts"), plan)[order]
    names = users.column("channel").to_pylist()
    ch = np.array([CHANNELS.index(names[i]) for i in order])
    n = len(ids)

    events = pq.read_table(folder / "events.parquet", columns=["user_id", "ts", "event"])
    e_user = np.searchsorted(ids, events.column("user_id").to_numpy())
    e_day = _days(events.column("ts"), plan)
    orders = pq.read_table(folder / "orders.parquet", columns=["user_id", "ts", "amount", "status"])
    paid = pc.and_(pc.equal(orders.column("status"), "paid"), pc.greater(orders["amount"], 0))
    orders = orders.filter(paid)
    active = np.zeros((n, plan.days), dtype=bool)
    active[e_user, e_day] = True
    active[
        np.searchsorted(ids, orders.column("user_id").to_numpy()), _days(orders.column("ts"), plan)
    ] = True
    active[:, c:] = False  # what the cutoff sees
    name = events.column("event")
    views = np.zeros((n, plan.days))
    seen = pc.equal(name, "content_view").to_numpy(zero_copy_only=False) & (e_day < c)
    np.add.at(views, (e_user[seen], e_day[seen]), 1)
    share = pc.equal(name, KEY_ACTION_EVENT).to_numpy(zero_copy_only=False)
    early = share & (e_day < sday[e_user] + KEY_ACTION_DAYS)
    key = np.bincount(e_user[early], minlength=n) >= KEY_ACTION_THRESHOLD

    days = np.arange(plan.days)
    last = np.where(active, days[None, :], -1).max(axis=1)
    who = np.flatnonzero((last >= c - active_days) & (ids % REPEAT_EVERY != 0) & (sday < c))
    risk = _risk(plan, ch[who], sday[who], key[who], active[who], views[who], last[who], c, end)
    return ids[who], risk


def _risk(plan, ch, sday, key, active, views, last, c, end) -> np.ndarray:
    """P(no activity in [c, end) | the days before c) per user (see the module)."""
    n = len(ch)
    act = plan.act_factor
    # classes: (type, rhythm) -- type 0 engaged, 1 casual; rhythm by RHYTHM_LEVELS
    types = np.array([0, 0, 0, 1, 1, 1])
    rhythms = np.array([0, 1, 2, 0, 1, 2])
    q = Q_ENGAGED[ch][:, None]
    log_w = np.log(np.where(types == 0, q, 1 - q)) + np.log(RHYTHM_MIX[rhythms])
    key_mult = np.where(key, KEY_ACTION_HAZARD, 1.0)[:, None]
    h1 = np.where(types == 0, H_ENGAGED[ch][:, None], H_CASUAL[ch][:, None]) * key_mult
    p_type = np.where(types == 0, P_ENGAGED[ch][:, None], P_CASUAL[ch][:, None])

    def p_at(day: np.ndarray) -> np.ndarray:
        """Per user and class: P(active | alive) on ``day`` (one day per user)."""
        f = act[np.clip(day, 0, plan.last)][:, None]
        early = (day - sday < SETTLED_DAY)[:, None]
        return np.minimum(P_ACTIVE_MAX, np.where(early, 1.0, RHYTHM_LEVELS[rhythms]) * p_type * f)

    for t in range(int(sday.min()) + 1, int(last.max()) + 1):
        seen = (t > sday) & (t <= last)  # alive on day t, its activity known
        if not seen.any():
            continue
        p = p_at(np.full(n, t))
        a = active[:, t][:, None]
        term = np.where(a, np.log(p), np.log1p(-p))
        early = (t - sday < SETTLED_DAY)[:, None]
        term = term + np.where(early, np.log1p(-h1), 0.0)
        log_w += np.where(seen[:, None], term, 0.0)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))

    quiet, gone = np.ones((n, 6)), np.zeros((n, 6))
    before = np.ones((n, 6))
    for t in range(int(last.min()) + 1, end):
        step = t > last
        tenure = t - sday
        settled = _hazard(
            ch,
            np.maximum(tenure, 1),
            active[:, max(t - 7, 0) : t].sum(axis=1),
            active[:, max(t - 30, 0) : t].sum(axis=1),
            views[:, max(t - 30, 0) : t].sum(axis=1),
        )
        h = np.where((tenure < SETTLED_DAY)[:, None], h1, settled[:, None])
        p = p_at(np.full(n, t))
        gone = np.where(step[:, None], gone + quiet * h, gone)
        quiet = np.where(step[:, None], quiet * (1 - h) * (1 - p), quiet)
        if t == c - 1:
            before = quiet + gone
    after = quiet + gone
    return (w * after).sum(axis=1) / (w * before).sum(axis=1)
