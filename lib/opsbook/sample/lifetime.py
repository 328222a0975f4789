"""Who is active on which day, and until when: the user-insight truth.

Up to tenure day 30 (``SETTLED_DAY`` - 1) a user lives as the retention truth says: a geometric
lifetime with the daily churn rate of their type and channel (x ``KEY_ACTION_HAZARD`` for the
key action's users), active on a day with ``p_active(type, channel) x factor(day)``. From day 31
a survivor is *settled*:

* everyone but the repeat buyers: active on a day with ``rhythm x factor(day)`` (a rhythm drawn
  from ``RHYTHM_LEVELS``: some visit most days, some once in a while), ``Poisson(kappa)`` content
  views per active day (``kappa`` a gamma-distributed affinity), and a daily hazard of leaving
  that is a function of the features the user-insight report computes at that day (from the
  days before it): channel, tenure, the trend of active days (7 against 30 days) and the
  content views of the last 30 days (:func:`_hazard`);
* the repeat buyers (``user_id`` a multiple of ``REPEAT_EVERY``): a BG/NBD purchase process in
  days -- a purchase on day 31 (the process's first; day 32 when day 31 is the outage day),
  then a purchase day with probability ``lambda`` each day (``lambda ~ gamma(r, alpha)``; none
  on the outage day, when nobody can pay), and after each repeat purchase day they leave the shop for good with probability
  ``p ~ beta(a, b)``. They are active on their purchase days and, at their rhythm, on others.

A leaver is never active again. Every draw is per block (deterministic for a seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsbook.sample.draws import _categorical
from opsbook.sample.parameters import (
    AFFINITY_SHAPE,
    BGNBD,
    CHANNELS,
    CONTENT_VIEWS_PER_DAY,
    GAMMA_GAMMA,
    HAZARD_BASE,
    HAZARD_CAP,
    HAZARD_CONTENT,
    HAZARD_TENURE,
    HAZARD_TREND,
    P_ACTIVE_MAX,
    REPEAT_EVERY,
    RHYTHM_LEVELS,
    RHYTHM_MIX,
    SETTLED_DAY,
)
from opsbook.sample.plan import _Plan


@dataclass(frozen=True)
class _Lives:
    active: np.ndarray  # users x days: active on the day
    views: np.ndarray  # users x days: content views planned on an active day
    bought: np.ndarray  # users x days: a repeat buyer's purchase day (the BG/NBD process)
    settled: np.ndarray  # users x days: the day lies in the user's settled period
    spend_rate: np.ndarray  # per user: the Gamma-Gamma rate nu of a repeat buyer's amounts


def _hazard(ch, tenure, active_7, active_30, views_30) -> np.ndarray:
    """The settled users' daily hazard of leaving at a day, from the report's features at that
    day: ``channel``, ``tenure_days``, ``days_trend_7_30`` and ``content_view_30d``."""
    trend = active_7 / 7 - active_30 / 30
    x = HAZARD_TREND * trend + HAZARD_TENURE * np.log(tenure / 30) + HAZARD_CONTENT * views_30 / 30
    return np.minimum(HAZARD_CAP, HAZARD_BASE[ch] * np.exp(x))


def _window_sums(matrix: np.ndarray, rows: np.ndarray, day: int, width: int) -> np.ndarray:
    return matrix[rows, max(day - width, 0) : day].sum(axis=1)


def _lives(rng, plan: _Plan, ch, sday, h, p_user, repeat) -> _Lives:
    """Draw every user's active days, content views and (repeat buyers) purchase days."""
    n, days, act = len(ch), plan.days, plan.act_factor
    life = rng.geometric(h) - 1
    active = np.zeros((n, days), dtype=bool)
    views = np.zeros((n, days), dtype=np.int16)
    # the first 30 days: the retention truth's process
    j = np.arange(SETTLED_DAY)[None, :]
    d = sday[:, None] + j
    inside = d <= plan.last
    dd = np.minimum(d, plan.last)
    p = np.minimum(P_ACTIVE_MAX, p_user[:, None] * act[dd])
    on = inside & ((j == 0) | ((j <= life[:, None]) & (rng.random(d.shape) < p)))
    u, k = np.nonzero(on)
    active[u, d[u, k]] = True
    views[u, d[u, k]] = rng.poisson(CONTENT_VIEWS_PER_DAY, len(u))

    # settled from day 31: the survivors of the first 30 days
    rhythm = RHYTHM_LEVELS[_categorical(rng, n, RHYTHM_MIX)]
    kappa = rng.gamma(AFFINITY_SHAPE, CONTENT_VIEWS_PER_DAY / AFFINITY_SHAPE, n)
    rate = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n)
    drop = rng.beta(BGNBD["a"], BGNBD["b"], n)
    spend_rate = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["v"], n)
    # a repeat buyer settled on the outage day, when nobody can pay, starts the day after
    entry = sday + SETTLED_DAY + (repeat & (sday + SETTLED_DAY == plan.outage))
    alive = (life >= SETTLED_DAY - 1) & (entry <= plan.last)
    settled = np.zeros((n, days), dtype=bool)
    bought = np.zeros((n, days), dtype=bool)
    for day in range(int(entry[alive].min()) if alive.any() else days, days):
        idx = np.flatnonzero(alive & (entry <= day))
        if len(idx) == 0:
            continue
        rep = repeat[idx]
        # the others' hazard from the days before this one
        other = idx[~rep]
        hz = _hazard(
            ch[other],
            day - sday[other],
            _window_sums(active, other, day, 7),
            _window_sums(active, other, day, 30),
            _window_sums(views, other, day, 30),
        )
        left = other[rng.random(len(other)) < hz]
        alive[left] = False
        idx = np.flatnonzero(alive & (entry <= day))
        rep = repeat[idx]
        first = idx[rep & (entry[idx] == day)]
        buy = rep & (rng.random(len(idx)) < rate[idx]) & (day != plan.outage)
        buy[np.isin(idx, first)] = True
        on = buy | (rng.random(len(idx)) < np.minimum(P_ACTIVE_MAX, rhythm[idx] * act[day]))
        settled[idx, day] = True
        active[idx[on], day] = True
        views[idx[on], day] = rng.poisson(kappa[idx[on]])
        bought[idx[buy], day] = True
        repeat_day = buy & (entry[idx] != day)
        gone = idx[repeat_day][rng.random(int(repeat_day.sum())) < drop[idx[repeat_day]]]
        alive[gone] = False
    return _Lives(active, views, bought, settled, spend_rate)


def _user_insight_truth(stats: dict) -> dict:
    """``truth.json["user_insight"]``: the settled users' churn hazard and the repeat buyers'
    purchase and spend processes, with what exactly follows each."""
    customers, purchase_days = (int(x) for x in stats["repeat_buyers"])
    return {
        "churn_hazard": {
            "applies_to": f"users whose user_id is not a multiple of {REPEAT_EVERY}, from "
            f"tenure day {SETTLED_DAY} (tenure_days = local day - signup day) while they stay",
            "daily_hazard": "P(leave for good at the start of day d) = min(cap, base[channel] "
            "x exp(days_trend_7_30 x trend + ln(tenure_days / 30) x tenure + "
            "content_view_30d / 30 x content)), the features as the user-insight report "
            "computes them at cutoff d (from the days before d)",
            "base": {c: float(HAZARD_BASE[i]) for i, c in enumerate(CHANNELS)},
            "coefficients": {
                "trend": HAZARD_TREND,
                "tenure": HAZARD_TENURE,
                "content": HAZARD_CONTENT,
            },
            "cap": HAZARD_CAP,
            "rhythm": {"p_active": RHYTHM_LEVELS.tolist(), "share": RHYTHM_MIX.tolist()},
            "content_views": f"Poisson(kappa) per active day, kappa ~ gamma(shape "
            f"{AFFINITY_SHAPE}, mean {CONTENT_VIEWS_PER_DAY})",
            "first_30_days": "the retention truth's process: a daily churn rate by type and "
            "channel (x the key action's hazard_multiplier), p_active by type and channel",
            "true_risk": "opsbook.sample.oracle.true_churn_risk(folder, cutoff, horizon_days): "
            "P(no activity in [cutoff, cutoff + H) | the tables before the cutoff), exact",
        },
        "repeat_buyers": {
            "users": f"user_id a multiple of {REPEAT_EVERY}, alive on tenure day {SETTLED_DAY - 1}",
            "process": f"a paid order on tenure day {SETTLED_DAY} (the first purchase, T "
            f"counts from it; tenure day {SETTLED_DAY + 1} when day {SETTLED_DAY} is the "
            "outage day); then each day a purchase day with probability lambda (one paid "
            "order; none on the outage day); after each later purchase day the user leaves "
            "the shop with probability p. No other orders from that day on (no campaigns, "
            "no experiments' orders, no content-driven orders)",
            "subset": f"those users' paid orders from tenure day {SETTLED_DAY} on: their "
            "local purchase days give (frequency, recency, T) as the report summarises them",
            "bgnbd": {**BGNBD, "time_unit": "day"},
            "bgnbd_note": "lambda ~ gamma(r, rate alpha) per day, p ~ beta(a, b); at most one "
            "purchase a day (a Bernoulli day with probability lambda, BG/NBD's Poisson rate "
            "in days to first order)",
            "gamma_gamma": GAMMA_GAMMA,
            "gamma_gamma_note": "amount ~ gamma(shape p, rate nu), nu ~ gamma(shape q, rate v) "
            "per user, rounded to cents; the first purchase's amount too",
            "customers": customers,
            "purchase_days": purchase_days,
        },
    }
