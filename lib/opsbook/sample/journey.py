"""The behaviour truth: every new user's first session is a planted funnel
``app_open -> view_item -> add_to_cart -> checkout -> purchase`` with known step probabilities by
channel, a planted next event after dropping off at the cart or at checkout, and a key action
(sharing at least twice on the signup day) that halves the daily churn hazard.

Why the funnel's numbers are exact (ordered, 14-day window, first entry = the signup's app_open):
a user's *level* (how many steps they reach) is drawn at signup and their first session holds
those steps in order, a few seconds to two minutes apart. Within the new-user window (local days
signup .. signup + 14, which hold the funnel's 14 x 24 h) the one step the user does not reach
never happens: a level-1 user views no item, a level-2 user adds nothing to a cart, and only
level-5 users have orders there (the first-session purchase, then the usual ones from the next
day on) -- so checkout (which precedes every order) and purchase (one per paid order, same user
and instant) do not either. Experiments and holdout campaigns, whose orders are planted, take
users only after that window. A user who signs up on the outage day cannot pay: level 4 at most.

The session's other events start after the planted ones, so the event right after a drop-off is
the planted one (``DROPOFF_NEXT``; ``(end)``: the user leaves, nothing else that session).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsbook.sample.draws import _categorical, _span
from opsbook.sample.parameters import (
    CHANNELS,
    CHECKOUT_LIFT,
    DROPOFF_NEXT,
    EV,
    FUNNEL_P,
    FUNNEL_STEPS,
    FUNNEL_WINDOW_DAYS,
    KEY_ACTION_DAYS,
    KEY_ACTION_EVENT,
    KEY_ACTION_EXTRA,
    KEY_ACTION_HAZARD,
    KEY_ACTION_SHARE,
    KEY_ACTION_THRESHOLD,
    KEY_ONCE_SHARE,
    US,
)
from opsbook.sample.plan import _Plan
from opsbook.sample.tables import _Events
from opsbook.sample.truth import _checkout_days, _cohort_retention, _r, _signup_weights

END = "(end)"


@dataclass(frozen=True)
class _Journey:
    level: np.ndarray  # steps reached in the first session, 1..5
    times: np.ndarray  # users x 4: time of view_item, add_to_cart, checkout, purchase (-1: not)
    next_event: np.ndarray  # planted event after the drop-off: index in DROPOFF_NEXT[level]; -1
    leaves: np.ndarray  # the first session ends right after the drop-off
    shares: np.ndarray  # shares on the signup day (the key action: >= KEY_ACTION_THRESHOLD)
    share_ts: np.ndarray  # the first share's time (the others follow a second apart)
    end: np.ndarray  # the last planted instant: the session's other events come after it

    @property
    def key_action(self) -> np.ndarray:
        return self.shares >= KEY_ACTION_THRESHOLD


def _level_after(step: str) -> int:
    """The level of the users whose last step reached is ``step`` (they drop off after it)."""
    return FUNNEL_STEPS.index(step) + 1


def _journey(
    rng: np.random.Generator,
    plan: _Plan,
    ch: np.ndarray,
    sday: np.ndarray,
    signup: np.ndarray,
    purchase_boost: np.ndarray,
) -> _Journey:
    """Draw each user's first session (see the module); ``purchase_boost`` multiplies each
    user's P(purchase | checkout) (checkout_button's treatment)."""
    n = len(ch)
    key = rng.random(n) < KEY_ACTION_SHARE
    once = ~key & (rng.random(n) < KEY_ONCE_SHARE)
    shares = np.where(key, KEY_ACTION_THRESHOLD + rng.poisson(KEY_ACTION_EXTRA, n), once * 1)
    # shares come first, a second apart from a few seconds after the app_open
    share_ts = signup + _span(rng, n, 2 * US, 5 * US)
    start = np.where(shares > 0, share_ts + shares * US, signup)
    p = FUNNEL_P[:, ch].T.copy()
    p[:, -1] *= purchase_boost
    reached = rng.random((n, len(FUNNEL_STEPS) - 1)) < p
    level = 1 + np.cumprod(reached, axis=1).sum(axis=1)
    level = np.where(sday == plan.outage, np.minimum(level, len(FUNNEL_STEPS) - 1), level)
    gaps = _span(rng, n * 4, 20 * US, 120 * US).reshape(n, 4)
    t = start[:, None] + np.cumsum(gaps, axis=1)
    times = np.where(np.arange(1, 5)[None, :] < level[:, None], t, -1)
    last = np.where(level > 1, times[np.arange(n), np.maximum(level - 2, 0)], start)
    next_event = np.full(n, -1, dtype=np.int64)
    for step, options in DROPOFF_NEXT.items():
        at = np.flatnonzero(level == _level_after(step))
        p = np.array([share for _, share in options])
        next_event[at] = _categorical(rng, len(at), p)
    leaves = np.zeros(n, dtype=bool)
    next_ts = last + _span(rng, n, 5 * US, 60 * US)
    for step, options in DROPOFF_NEXT.items():
        names = [name for name, _ in options]
        if END in names:
            leaves |= (level == _level_after(step)) & (next_event == names.index(END))
    planted_next = (next_event >= 0) & ~leaves
    end = np.where(planted_next, next_ts, last)
    return _Journey(level, times, next_event, leaves, shares, share_ts, end)


def _journey_events(ev: _Events, j: _Journey) -> None:
    """The first session's planted events but the purchase (one per paid order, added with
    the orders): the funnel's steps, the event after a drop-off, the shares."""
    for k, name in enumerate(FUNNEL_STEPS[1:4]):
        who = np.flatnonzero(j.times[:, k] >= 0)
        ev.add(who, j.times[who, k], EV[name])
    for step, options in DROPOFF_NEXT.items():
        for i, (name, _) in enumerate(options):
            if name == END:
                continue
            who = np.flatnonzero((j.level == _level_after(step)) & (j.next_event == i))
            ev.add(who, j.end[who], EV[name])
    who = np.repeat(np.arange(len(j.shares)), j.shares)
    nth = np.arange(len(who)) - np.repeat(np.cumsum(j.shares) - j.shares, j.shares)
    ev.add(who, j.share_ts[who] + nth * US, EV["share"])


def _journey_stats(stats: dict, j: _Journey, ch: np.ndarray) -> None:
    """The counts truth.json reports: users per channel and level, next events per drop-off."""
    st = stats["behaviour"]
    np.add.at(st["levels"], (ch, j.level - 1), 1)
    for step, options in DROPOFF_NEXT.items():
        at = j.level == _level_after(step)
        st["dropoff"][step] += np.bincount(j.next_event[at], minlength=len(options))


def _behaviour_truth(plan: _Plan, stats: dict) -> dict:
    """``truth.json["behaviour"]``: the planted funnel, drop-off paths and key action, with
    the exact counts the behaviour queries must return on the data."""
    st = stats["behaviour"]
    levels = st["levels"]
    reached = {
        c: [int(levels[i, k:].sum()) for k in range(len(FUNNEL_STEPS))]
        for i, c in enumerate(CHANNELS)
    }
    reached["all"] = [int(levels[:, k:].sum()) for k in range(len(FUNNEL_STEPS))]
    probability, expected = {}, {}
    for i, c in enumerate(CHANNELS):
        p = {FUNNEL_STEPS[k + 1]: float(FUNNEL_P[k, i]) for k in range(len(FUNNEL_STEPS) - 1)}
        probability[c] = p
        w = _signup_weights(plan, i)
        on_outage, treated = float(w[plan.outage]), 0.5 * float(w[_checkout_days(plan)].sum())
        factor = 1 - on_outage + CHECKOUT_LIFT * treated
        expected[c] = p | {"purchase": _r(p["purchase"] * factor)}
    paths = {}
    for step, options in DROPOFF_NEXT.items():
        counts = st["dropoff"][step]
        paths[step] = {
            "dropoff_step": _level_after(step),
            "anchor": step,
            "next_share": {name: share for name, share in options},
            "next_users": {name: int(counts[i]) for i, (name, _) in enumerate(options)},
        }
    horizon = 30
    retention = {}
    for k in (7, horizon):
        with_ = _cohort_retention(plan, k, KEY_ACTION_HAZARD, horizon)
        without = _cohort_retention(plan, k, 1.0, horizon)
        n_without, n_with = (int(x) for x in st["key_n"])
        kept_without, kept_with = (int(x) for x in st[f"key_d{k}"])
        retention[f"d{k}"] = {
            "with": _r(with_),
            "without": _r(without),
            "difference": _r(with_ - without),
            "observed_with": _r(kept_with / n_with) if n_with else None,
            "observed_without": _r(kept_without / n_without) if n_without else None,
            "retained_with": kept_with,
            "retained_without": kept_without,
        }
    n_without, n_with = (int(x) for x in st["key_n"])
    return {
        "funnel": {
            "steps": list(FUNNEL_STEPS),
            "window_days": FUNNEL_WINDOW_DAYS,
            "order": "ordered",
            "entry": "first",
            "step_probability": probability,
            "expected_step_probability": expected,
            "users_reaching_step": reached,
            "definition": "every user enters at the app_open of their signup; P(step k + 1 | "
            "step k) is planted per channel in the first session, and the step a user does not "
            "reach does not happen in their first 14 days; expected_step_probability: a user "
            "who signed up on the outage day cannot pay; checkout_button's treatment raises "
            "P(purchase | checkout) by CHECKOUT_LIFT",
        },
        "dropoff_paths": paths,
        "dropoff_paths_definition": "users whose last step reached is the anchor: the share of "
        "each next event in the anchor's session ((end): none), repeats collapsed",
        "key_action": {
            "event": KEY_ACTION_EVENT,
            "threshold": KEY_ACTION_THRESHOLD,
            "first_days": KEY_ACTION_DAYS,
            "share_of_users": KEY_ACTION_SHARE,
            "hazard_multiplier": KEY_ACTION_HAZARD,
            "cohort": f"users whose day {horizon} lies in the period (as_of = the day after "
            "the end)",
            "users": n_with + n_without,
            "users_above": n_with,
            "retention": retention,
        },
        "purchase_events": "one purchase event per paid order: same user, same instant; a "
        "checkout event precedes every order",
    }
