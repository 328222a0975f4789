"""Who is active on which day, and until when: the user-insight truth.

Up to tenure day 30 (``SETTLED_DAY`` - 1) a user lives as the retention truth says: a geometric
lifetime with the daily churn rate of their type and channel (x ``KEY_ACTION_HAZARD`` for the
key action's users), active on a day with ``p_active(type, channel) x factor(day)``. From day 31
a survivor is *settled*:

* everyone but the repeat buyers: active on a day with ``p_active(type, channel) x rhythm x
  factor(day)`` (a rhythm drawn from ``RHYTHM_LEVELS``: some come once in a while, most about as
  often as in their first month, some more; on average about as before), ``Poisson(kappa)`` content
  views per active day (``kappa`` a gamma-distributed affinity), and a daily hazard of leaving
  that is a function of the features the user-insight report computes at that day (from the
  days before it): channel, tenure, the trend of active days (7 against 30 days) and the
  content views of the last 30 days (:func:`_hazard`);
* the repeat buyers (``user_id`` a multiple of ``REPEAT_EVERY``): a BG/NBD purchase process in
  days -- a purchase on day 31 (the process's first; day 32 when day 31 is the outage day),
  then a purchase day with probability ``lambda`` each day (``lambda ~ gamma(r, alpha)``, by
  rank the user's purchase propensity of the first 30 days; none on the outage day, when nobody
  can pay), and after each repeat purchase day they leave the shop for good with probability
  ``p ~ beta(a, b)``. They are active on their purchase days and, at their rhythm, on others.

A leaver is never active again. Every draw is per block (deterministic for a seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats as sps

from opsbook.sample.draws import _categorical, _span
from opsbook.sample.parameters import (
    AFFINITY_SHAPE,
    BGNBD,
    CHANNELS,
    CONTENT_VIEWS_PER_DAY,
    DAY_US,
    GAMMA_GAMMA,
    HAZARD_BASE,
    HAZARD_CAP,
    HAZARD_CONTENT,
    HAZARD_TENURE,
    HAZARD_TREND,
    MIN_US,
    P_ACTIVE_MAX,
    PRICE_LIFT,
    REPEAT_EVERY,
    RHYTHM_LEVELS,
    RHYTHM_MIX,
    SESSION_US,
    SETTLED_DAY,
    STATUS_MIX,
    WINDOW_DAYS,
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


def _lives(rng, own, plan: _Plan, ch, sday, life, p_user, repeat, ranks) -> _Lives:
    """Draw every user's active days, content views and (repeat buyers) purchase days.

    The first 30 days take the block's stream ``rng`` exactly as the retention truth always
    drew them (one uniform per day from signup to the end of the geometric ``life``), so the
    users, experiments and campaigns that live in those days are the same as before the
    settled process existed; content views and everything from day 31 come from ``own``.
    ``ranks`` are each user's upper-tail rank of purchase propensity and lower-tail rank of
    spend in the first 30 days: a repeat buyer's ``lambda`` and ``nu`` are the gamma quantiles
    of those ranks (exactly gamma-distributed, and in step with the user's earlier orders)."""
    n, days, act = len(ch), plan.days, plan.act_factor
    active = np.zeros((n, days), dtype=bool)
    views = np.zeros((n, days), dtype=np.int16)
    active[np.arange(n), sday] = True
    # the first 30 days: the retention truth's process
    n_after = np.minimum(sday + life, plan.last) - sday
    u_rep = np.repeat(np.arange(n), n_after)
    offs = np.arange(len(u_rep)) - np.repeat(np.cumsum(n_after) - n_after, n_after) + 1
    d_rep = sday[u_rep] + offs
    p = np.minimum(P_ACTIVE_MAX, p_user[u_rep] * act[d_rep])
    on = (rng.random(len(u_rep)) < p) & (offs < SETTLED_DAY)
    active[u_rep[on], d_rep[on]] = True
    u, d = np.nonzero(active)
    views[u, d] = own.poisson(CONTENT_VIEWS_PER_DAY, len(u))

    # settled from day 31: the survivors of the first 30 days
    rhythm = p_user * RHYTHM_LEVELS[_categorical(own, n, RHYTHM_MIX)]
    kappa = own.gamma(AFFINITY_SHAPE, CONTENT_VIEWS_PER_DAY / AFFINITY_SHAPE, n)
    rate = sps.gamma.isf(ranks[0], BGNBD["r"], scale=1 / BGNBD["alpha"])
    drop = own.beta(BGNBD["a"], BGNBD["b"], n)
    spend_rate = sps.gamma.isf(ranks[1], GAMMA_GAMMA["q"], scale=1 / GAMMA_GAMMA["v"])
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
        left = other[own.random(len(other)) < hz]
        alive[left] = False
        idx = np.flatnonzero(alive & (entry <= day))
        rep = repeat[idx]
        first = idx[rep & (entry[idx] == day)]
        buy = rep & (own.random(len(idx)) < rate[idx]) & (day != plan.outage)
        buy[np.isin(idx, first)] = True
        on = buy | (own.random(len(idx)) < np.minimum(P_ACTIVE_MAX, rhythm[idx] * act[day]))
        settled[idx, day] = True
        active[idx[on], day] = True
        views[idx[on], day] = own.poisson(kappa[idx[on]])
        bought[idx[buy], day] = True
        repeat_day = buy & (entry[idx] != day)
        gone = idx[repeat_day][own.random(int(repeat_day.sum())) < drop[idx[repeat_day]]]
        alive[gone] = False
    return _Lives(active, views, bought, settled, spend_rate)


def _repeat_orders(rng, lives: _Lives, stats, users, rows, sessions, amounts, price) -> tuple:
    """The repeat buyers' orders on their purchase days (``users``, ``rows`` and session
    starts of the block's purchase rows): one paid order each, Gamma-Gamma amounts after the
    first purchase (the user's usual order from ``amounts``: the fit leaves it out), x (1 +
    lift) inside a price_display treatment's 14 days (``price``: membership, exposure time,
    variant and a usual order's mean per user; the experiment's expected revenue counts them),
    and now and then an unpaid one the same day. Returns the orders' columns (``_Orders.add``)."""
    in_price, x_ts, x_var, usual_mean = price
    a = _spend(rng, lives, users)
    first_buy = np.zeros(len(users), dtype=bool)
    first_buy[np.unique(users, return_index=True)[1]] = True
    a[first_buy] = amounts(users[first_buy])
    ts = sessions + _span(rng, len(users), 2 * MIN_US, SESSION_US)
    priced = in_price[users] & (ts >= x_ts[users]) & (ts < x_ts[users] + WINDOW_DAYS * DAY_US)
    a = np.where(priced & (x_var[users] == 1), np.round(a * (1 + PRICE_LIFT), 2), a)
    mean = np.where(first_buy, usual_mean[users], GAMMA_GAMMA["p"] / lives.spend_rate[users])
    stats["exp"]["price_display"]["expected_sum"] += mean[priced].sum()
    stats["repeat_buyers"] += np.array([len(np.unique(users)), len(users)])
    unpaid = np.flatnonzero(rng.random(len(users)) < STATUS_MIX[1:].sum() / STATUS_MIX[0])
    u_ts = sessions[unpaid] + _span(rng, len(unpaid), 2 * MIN_US, SESSION_US)
    u_amount = _spend(rng, lives, users[unpaid])
    u_status = 1 + _categorical(rng, len(unpaid), STATUS_MIX[1:])
    status = np.concatenate([np.zeros(len(users), np.int64), u_status])
    return (
        np.concatenate([users, users[unpaid]]),
        np.concatenate([ts, u_ts]),
        np.concatenate([a, u_amount]),
        status,
        -1,
        np.concatenate([rows, rows[unpaid]]),
    )


def _spend(rng, lives: _Lives, users: np.ndarray) -> np.ndarray:
    """Gamma-Gamma amounts of ``users``' purchases, rounded to cents (at least one cent)."""
    return np.maximum(np.round(rng.gamma(GAMMA_GAMMA["p"], 1 / lives.spend_rate[users]), 2), 0.01)


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
            "rhythm": {
                "p_active_multiplier": RHYTHM_LEVELS.tolist(),
                "share": RHYTHM_MIX.tolist(),
                "note": "p_active from day 31 = min(0.95, p_active of the first 30 days (by "
                "type and channel) x multiplier x the day's factor)",
            },
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
            "the shop with probability p. No other paid orders from that day on (no "
            "campaigns, no content-driven orders; in a price_display window their purchases "
            "are the experiment's orders)",
            "subset": f"those users' paid orders from tenure day {SETTLED_DAY} on: their "
            "local purchase days give (frequency, recency, T) as the report summarises them",
            "bgnbd": {**BGNBD, "time_unit": "day"},
            "bgnbd_note": "lambda ~ gamma(r, rate alpha) per day, p ~ beta(a, b); at most one "
            "purchase a day (a Bernoulli day with probability lambda, BG/NBD's Poisson rate "
            "in days to first order). lambda is the gamma(r, alpha) quantile of the user's "
            "rank in purchase propensity (the first 30 days' pi), nu the gamma(q, v) quantile "
            "of the rank in spend level (reversed): exactly gamma-distributed, in step with "
            "the user's earlier orders",
            "gamma_gamma": GAMMA_GAMMA,
            "gamma_gamma_note": "amount ~ gamma(shape p, rate nu), nu ~ gamma(shape q, rate v) "
            "per user, rounded to cents, of the repeat purchases (the first purchase is an "
            "ordinary order, as the fit leaves it out); x (1 + price_display's lift) inside a "
            "price_display treatment's 14 days (repeat buyers take part in it). Beside a "
            "purchase, now and then an unpaid (refunded or cancelled) order the same day",
            "customers": customers,
            "purchase_days": purchase_days,
        },
    }
