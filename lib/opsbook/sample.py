"""A deterministic generator of a fictional online shop with an app: the workbook's sample data.

``generate_sample(out)`` writes one Parquet file per table of the data contract (users, events,
orders, assignments, campaigns, campaign_members, spend, content) and ``truth.json``, the facts
planted in the data (true retention per channel, true experiment effects, campaign lifts, the
outage day, ...). Reports run on the sample can be checked against the truth.

The process, in short (see ``truth.json`` for the numbers):

* Users sign up over the period (weekly seasonality, mild upward trend); each has a latent type
  (engaged or casual, share by channel), a geometric lifetime (daily churn rate by type and
  channel) and, while alive, is active on a calendar day (Asia/Shanghai) with probability
  ``p_active(type, channel) x factor(day)`` (weekend, campaign days, the outage day). The signup
  day is always active. An active day is one session: an ``app_open`` and a few more events.
* Orders happen on active days with a heavy-tailed latent purchase propensity; amounts are
  lognormal around a user-level mean; some content views are followed by an order within hours.
* Experiments, campaign windows and the outage day replace the background order process for the
  users and days concerned, so the planted effects are exact.

Generation is vectorised with numpy in blocks of ``BLOCK`` users. Block ``b`` draws its random
numbers from ``SeedSequence(seed, spawn_key=(0, b))``, so the data do not depend on how blocks
are grouped into write chunks; each chunk is appended to one ``ParquetWriter`` per table, so a
million users never sit in memory at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["BLOCK", "TABLES", "generate_sample"]

TIMEZONE = "Asia/Shanghai"
TZ_OFFSET_S = 8 * 3600  # Asia/Shanghai: UTC+08:00, no daylight saving since 1991
US = 1_000_000
MIN_US = 60 * US
HOUR_US = 3600 * US
DAY_US = 86_400 * US
BLOCK = 5_000  # users per random-number block (fixed: the data do not depend on chunking)
MIN_DAYS = 120
TABLES = (
    "users",
    "events",
    "orders",
    "assignments",
    "campaigns",
    "campaign_members",
    "spend",
    "content",
)

# --- users -----------------------------------------------------------------------------------
CHANNELS = ("organic", "search", "social", "referral", "kol")
REFERRAL = CHANNELS.index("referral")
CHANNEL_MIX = np.array([0.35, 0.25, 0.20, 0.10, 0.10])
PAID_CHANNELS = ("search", "social", "kol")
CAC = {"search": 40.0, "social": 25.0, "kol": 70.0}  # yuan per new user (planted)
REGIONS = ("east", "north", "south", "west", "central")
REGION_MIX = np.array([0.30, 0.22, 0.22, 0.12, 0.14])
DEVICES = ("ios", "android", "web")
DEVICE_MIX = np.array([0.38, 0.50, 0.12])
DEVICE_AMOUNT = np.log([1.15, 1.0, 0.95])
TIERS = ("tier1", "tier2", "tier3")
TIER_MIX = np.array([0.30, 0.40, 0.30])
TIER_AMOUNT = np.log([1.25, 1.0, 0.85])
SIGNUP_WEEKDAY = np.array([0.88, 0.88, 0.88, 0.88, 0.88, 1.30, 1.30])  # Mon..Sun
SIGNUP_TREND = 0.6  # intensity grows linearly by 60 % over the period

# --- activity (per channel, in CHANNELS order) -----------------------------------------------
Q_ENGAGED = np.array([0.42, 0.37, 0.30, 0.48, 0.25])  # share of engaged users
H_ENGAGED = np.array([0.007, 0.008, 0.010, 0.006, 0.011])  # daily churn, engaged
H_CASUAL = np.array([0.20, 0.22, 0.26, 0.18, 0.28])  # daily churn, casual
P_ENGAGED = np.array([0.55, 0.50, 0.47, 0.58, 0.45])  # p_active on an average day, engaged
P_CASUAL = np.array([0.42, 0.40, 0.36, 0.45, 0.33])  # p_active on an average day, casual
ACTIVE_WEEKDAY = np.array([0.94, 0.94, 0.94, 0.94, 0.94, 1.15, 1.15])  # Mon..Sun
P_ACTIVE_MAX = 0.95
OUTAGE_OFFSET = 40  # days before the end
OUTAGE_SHARE = 0.3  # share of the normal activity left on the outage day

# --- purchases ------------------------------------------------------------------------------
PI_BASE = np.array([0.045, 0.058, 0.039, 0.052, 0.032])  # purchase prob per active day
PI_SHAPE = 0.35  # gamma shape of the propensity multiplier (heavy tail across users)
PI_ENGAGED = 1.8
PI_MAX = 0.6
AMOUNT_MEDIAN = 85.0
AMOUNT_USER_SD = 0.7
AMOUNT_ORDER_SD = 0.5
BIG_TICKET_SHARE = 0.01  # a few orders are big-ticket items (electronics, ...)
BIG_TICKET_MULT = 6.0
AMOUNT_MEAN_FACTOR = math.exp(AMOUNT_ORDER_SD**2 / 2) * (
    1 + BIG_TICKET_SHARE * (BIG_TICKET_MULT - 1)
)
STATUSES = ("paid", "refunded", "cancelled")
STATUS_MIX = np.array([0.93, 0.05, 0.02])

# --- sessions and events --------------------------------------------------------------------
EVENTS = (
    "app_open",
    "view_item",
    "add_to_cart",
    "share",
    "content_view",
    "content_like",
    "content_comment",
    "content_share",
    "campaign_view",
    "campaign_click",
    "campaign_join",
    "invite_sent",
)
EV = {name: i for i, name in enumerate(EVENTS)}
HOUR_WEIGHTS = np.array(
    [1.2, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 2.0, 3.5, 4.0, 4.2, 4.5]
    + [5.5, 5.0, 4.2, 4.0, 4.0, 4.2, 4.8, 5.8, 7.0, 7.5, 6.5, 0.75]
)
LAST_HOUR_SPAN = 0.25  # sessions start by 23:15, so a session never crosses midnight
SESSION_US = 25 * MIN_US
VIEWS_PER_DAY = 2.2
CART_PER_VIEW = 0.10
SHARE_PER_DAY = 0.04
CONTENT_VIEWS_PER_DAY = 1.1

# --- content (per type) ---------------------------------------------------------------------
CONTENT_TYPES = ("article", "video", "live")
CONTENT_PER_DAY = np.array([1.6, 0.7, 0.12])
CONTENT_COST = np.array([600.0, 2500.0, 6000.0])  # median production cost at 20k users
LIKE_RATE = np.array([0.035, 0.060, 0.080])
COMMENT_RATE = np.array([0.008, 0.012, 0.030])
SHARE_RATE = np.array([0.007, 0.012, 0.010])
CONTENT_ORDER_RATE = np.array([0.008, 0.015, 0.025])  # order within hours, per view
CONTENT_RECENCY = 30.0  # mean recency rank of a viewed item

# --- experiments ------------------------------------------------------------------------------
WINDOW_DAYS = 14
PRE_DAYS = 28
PRICE_MIN_TENURE = 21  # price_display users signed up at least this many days before exposure
CHECKOUT_P = {"control": 0.15, "treatment": 0.18}
EXTRA_ORDERS = 1.3  # extra orders of a converter: Poisson(1.3 x usual orders in the window)
PRICE_LIFT = 0.06
PRICE_SHARE = 1.0  # share of price_display-eligible users put in price_display
SRM_DROP = 0.08

# --- campaigns ------------------------------------------------------------------------------
TOUCH_CHANNELS = ("push", "sms", "email", "social_ad", "search_ad", "wechat")
CLICK_RATE = 0.30
JOIN_RATE = 0.40
STAGE_MULT = (1.0, 1.5, 2.2)  # conversion multiplier: exposed only, clicked, joined
EXTRA_TOUCHES = 0.7
INVITES_EXTRA = 1.5  # invitations per participant beyond the first (Poisson mean)
CAMPAIGN_AOV = 1.2  # amount multiplier of treatment orders through a campaign


@dataclass(frozen=True)
class _Experiment:
    name: str
    variants: tuple[str, str]
    lo: int  # exposure day range (day index, inclusive)
    hi: int
    min_tenure: int
    metric: str


@dataclass
class _Campaign:
    cid: int
    name: str
    channel: str
    touch: dict[str, float]
    start: int
    end: int
    kind: str  # holdout | referral | step
    target_share: float
    boost: float
    unit_cost: float
    fixed_cost: float
    holdout_share: float = 0.0
    p_holdout: float = 0.0
    lift: float = 0.0
    step: float = 0.0
    target_factor: float = 1.0
    target_conversion: float = 0.10
    target_roi: float = 3.0
    target_k: float | None = None

    @property
    def has_holdout(self) -> bool:
        return self.holdout_share > 0


@dataclass
class _Plan:
    users: int
    days: int
    seed: int
    end: dt.date
    start: dt.date
    last: int  # index of the last day
    day_start: np.ndarray  # UTC microseconds of each day's Shanghai midnight, len days + 1
    weekday: np.ndarray
    act_factor: np.ndarray  # activity multiplier per day (weekday, campaigns, outage)
    outage: int
    campaigns: list[_Campaign]
    experiments: list[_Experiment]
    w_base: np.ndarray  # signup-day distribution of most users
    w_invite: np.ndarray  # signup-day distribution of invited referral users
    invite_share: float  # share of referral users invited during the referral campaign
    content_pub: np.ndarray
    content_type: np.ndarray
    content_quality: np.ndarray
    content_cost: np.ndarray
    scale: float


# ============================================================================ helpers


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _span(rng: np.random.Generator, size: int, lo_us: float, hi_us: float) -> np.ndarray:
    return (lo_us + rng.random(size) * (hi_us - lo_us)).astype(np.int64)


def _categorical(rng: np.random.Generator, size: int, p: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(p) - 1)


def _time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    hour = _categorical(rng, size, HOUR_WEIGHTS)
    frac = rng.random(size) * np.where(hour == 23, LAST_HOUR_SPAN, 1.0)
    return ((hour + frac) * HOUR_US).astype(np.int64)


def _segments(owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(owner, minlength=n)
    return np.cumsum(counts) - counts, counts


def _pick(rng: np.random.Generator, owner: np.ndarray, n: int, who: np.ndarray) -> np.ndarray:
    """One random position of ``owner`` (sorted) per entry of ``who``; -1 when none."""
    starts, counts = _segments(owner, n)
    c = counts[who]
    k = starts[who] + (rng.random(len(who)) * c).astype(np.int64)
    return np.where(c > 0, k, -1)


def _first(owner: np.ndarray, n: int) -> np.ndarray:
    """Position of the first entry of each user in ``owner`` (sorted); -1 when none."""
    out = np.full(n, -1, dtype=np.int64)
    users, idx = np.unique(owner, return_index=True)
    out[users] = idx
    return out


def _balanced(rng: np.random.Generator, n: int) -> np.ndarray:
    """Blocked randomisation: 0/1 in random order, the two counts differing by at most one."""
    v = np.zeros(n, dtype=np.int8)
    perm = rng.permutation(n)
    v[perm[int(rng.integers(2)) :: 2]] = 1
    return v


def _iso(plan: _Plan, day: int) -> str:
    return (plan.start + dt.timedelta(days=int(day))).isoformat()


def _r(x: float, nd: int = 6) -> float | None:
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


# ============================================================================ the plan


def _plan(users: int, days: int, seed: int, end: str) -> _Plan:
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS} (got {days})")
    if users < 1:
        raise ValueError("users must be positive")
    end_date = dt.date.fromisoformat(end)
    start_date = end_date - dt.timedelta(days=days - 1)
    epoch_day = (start_date - dt.date(1970, 1, 1)).days
    day_start = (epoch_day + np.arange(days + 1, dtype=np.int64)) * DAY_US - TZ_OFFSET_S * US
    weekday = (start_date.weekday() + np.arange(days)) % 7
    last = days - 1
    outage = last - OUTAGE_OFFSET

    zone = days - 59  # campaigns before the experiments' exposure range
    c1 = round(0.30 * zone)
    c2 = round(0.48 * zone)
    c3 = zone - 11  # ends 2 days before the first experiment exposure
    campaigns = [
        _Campaign(
            101,
            "Member Day 会员日",
            "push",
            {"push": 0.6, "sms": 0.25, "email": 0.15},
            c1,
            c1 + 6,
            "holdout",
            target_share=0.9,
            boost=1.15,
            unit_cost=0.8,
            fixed_cost=2000.0,
            holdout_share=0.10,
            p_holdout=0.18,
            lift=0.30,
            target_factor=0.85,
        ),
        _Campaign(
            102,
            "老带新裂变 Invite Friends",
            "wechat",
            {"wechat": 0.7, "push": 0.3},
            c2,
            c2 + 13,
            "referral",
            target_share=0.9,
            boost=1.10,
            unit_cost=1.0,
            fixed_cost=3000.0,
            holdout_share=0.10,
            p_holdout=0.24,
            lift=0.25,
            target_factor=1.3,
            target_k=1.5,
        ),
        _Campaign(
            103,
            "Brand Week 品牌周",
            "social_ad",
            {"social_ad": 0.7, "search_ad": 0.3},
            c3,
            c3 + 9,
            "step",
            target_share=0.6,
            boost=1.0,
            unit_cost=0.6,
            fixed_cost=8000.0,
            step=0.35,
            target_factor=1.0,
        ),
        _Campaign(
            104,
            "双11预售 Double 11 Pre-sale",
            "push",
            {"push": 0.4, "sms": 0.2, "social_ad": 0.2, "search_ad": 0.2},
            last - 11,
            last,
            "holdout",
            target_share=0.95,
            boost=1.25,
            unit_cost=1.2,
            fixed_cost=5000.0,
            holdout_share=0.10,
            p_holdout=0.35,
            lift=0.20,
            target_factor=0.9,
        ),
    ]
    experiments = [
        _Experiment(
            "checkout_button", ("control", "treatment"), last - 58, last - 14, 0, "converted_14d"
        ),
        _Experiment(
            "price_display",
            ("control", "treatment"),
            last - 59,
            last - 14,
            PRICE_MIN_TENURE,
            "revenue_14d",
        ),
        _Experiment("homepage_aa", ("A", "B"), last - 56, last - 14, 0, "converted_14d"),
        _Experiment(
            "banner_srm", ("control", "treatment"), last - 42, last - 14, 0, "converted_14d"
        ),
    ]

    first_exposure = min(e.lo for e in experiments)
    assert all(c.end < first_exposure for c in campaigns[:3])  # only Double 11 overlaps them
    act = ACTIVE_WEEKDAY[weekday].copy()
    for c in campaigns:
        act[c.start : c.end + 1] *= c.boost
    act[outage] *= OUTAGE_SHARE
    for c in campaigns:
        assert not (c.start <= outage <= c.end)

    w_base = (1 + SIGNUP_TREND * np.arange(days) / max(days - 1, 1)) * SIGNUP_WEEKDAY[weekday]
    w_base /= w_base.sum()
    ref = campaigns[1]
    w_invite = np.zeros(days)
    span = np.arange(ref.end - ref.start + 1)
    w_invite[ref.start : ref.end + 1] = (1 + span) * SIGNUP_WEEKDAY[weekday[ref.start + span]]
    w_invite /= w_invite.sum()
    # invitees per participant grows with the users existing at the campaign: keep K near 0.7
    existing = w_base[: ref.start].sum()
    invite_share = float(min(0.5, 0.16 * existing))

    crng = _rng(seed, 1)
    n_per = crng.poisson(np.outer(np.ones(days), CONTENT_PER_DAY))  # days x types
    cday = np.repeat(np.repeat(np.arange(days), 3), n_per.ravel())
    ctype = np.repeat(np.tile(np.arange(3), days), n_per.ravel())
    pub = day_start[cday] + _span(crng, len(cday), 8 * HOUR_US, 22 * HOUR_US)
    order = np.lexsort((ctype, pub))
    pub, ctype = pub[order], ctype[order]
    quality = np.minimum(1.0, np.exp(crng.normal(-0.8, 0.7, len(pub))))
    scale = max(users / 20_000, 0.05)
    cost = np.round(CONTENT_COST[ctype] * scale * np.exp(crng.normal(0, 0.4, len(pub))), 2)

    return _Plan(
        users=users,
        days=days,
        seed=seed,
        end=end_date,
        start=start_date,
        last=last,
        day_start=day_start,
        weekday=weekday,
        act_factor=act,
        outage=outage,
        campaigns=campaigns,
        experiments=experiments,
        w_base=w_base,
        w_invite=w_invite,
        invite_share=invite_share,
        content_pub=pub,
        content_type=ctype,
        content_quality=quality,
        content_cost=cost,
        scale=scale,
    )


# ============================================================================ one block


class _Events:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, user, ts, code, content=None, campaign=None, channel=None) -> None:
        n = len(user)
        if n == 0:
            return

        def col(x):
            if x is None:
                return np.full(n, -1, dtype=np.int64)
            return np.broadcast_to(np.asarray(x, dtype=np.int64), (n,))

        self.parts.append(
            (
                np.asarray(user, dtype=np.int64),
                np.asarray(ts, dtype=np.int64),
                np.broadcast_to(np.int64(code), (n,)),
                col(content),
                col(campaign),
                col(channel),
            )
        )

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(6))


class _Orders:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, user, ts, amount, status, campaign, row) -> None:
        n = len(user)
        if n == 0:
            return
        self.parts.append(
            (
                np.asarray(user, dtype=np.int64),
                np.asarray(ts, dtype=np.int64),
                np.asarray(amount, dtype=np.float64),
                np.broadcast_to(np.asarray(status, dtype=np.int64), (n,)),
                np.broadcast_to(np.asarray(campaign, dtype=np.int64), (n,)),
                np.asarray(row, dtype=np.int64),
            )
        )

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            return tuple(np.zeros(0, dtype=np.float64 if i == 2 else np.int64) for i in range(6))
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(6))


def _block(plan: _Plan, b: int, n: int, uid0: int, stats: dict[str, Any]) -> dict[str, Any]:
    rng = _rng(plan.seed, 0, b)
    last, days = plan.last, plan.days
    ds = plan.day_start

    # ---- users
    ch = _categorical(rng, n, CHANNEL_MIX)
    invited = (ch == REFERRAL) & (rng.random(n) < plan.invite_share)
    sday = np.where(
        invited,
        _categorical(rng, n, plan.w_invite),
        _categorical(rng, n, plan.w_base),
    )
    signup = ds[sday] + _time_of_day(rng, n)
    region = _categorical(rng, n, REGION_MIX)
    device = _categorical(rng, n, DEVICE_MIX)
    tier = _categorical(rng, n, TIER_MIX)
    engaged = rng.random(n) < Q_ENGAGED[ch]
    h = np.where(engaged, H_ENGAGED[ch], H_CASUAL[ch])
    life = rng.geometric(h) - 1
    lastday = np.minimum(sday + life, last)
    p_user = np.where(engaged, P_ENGAGED[ch], P_CASUAL[ch])
    pi = PI_BASE[ch] * rng.gamma(PI_SHAPE, 1 / PI_SHAPE, n) * np.where(engaged, PI_ENGAGED, 1.0)
    pi = np.minimum(pi, PI_MAX)
    mu = (
        math.log(AMOUNT_MEDIAN)
        + AMOUNT_USER_SD * rng.standard_normal(n)
        + TIER_AMOUNT[tier]
        + DEVICE_AMOUNT[device]
    )

    def expected_days(idx: np.ndarray, x: np.ndarray, stop: np.ndarray | int) -> np.ndarray:
        """Expected order days in [x, stop] of users active on day x (outage day excluded)."""
        if len(idx) == 0:
            return np.zeros(0)
        stop = np.broadcast_to(stop, x.shape)
        j = np.arange(int((stop - x).max()) + 1)[None, :]
        d = x[:, None] + j
        p = np.minimum(P_ACTIVE_MAX, p_user[idx][:, None] * plan.act_factor[np.minimum(d, last)])
        p[:, 0] = 1.0
        p[(d == plan.outage) | (d > stop[:, None])] = 0.0
        return ((1 - h[idx])[:, None] ** j * p).sum(1)

    def amounts(users: np.ndarray) -> np.ndarray:
        a = np.exp(mu[users] + AMOUNT_ORDER_SD * rng.standard_normal(len(users)))
        big = rng.random(len(users)) < BIG_TICKET_SHARE
        return np.round(np.where(big, a * BIG_TICKET_MULT, a), 2)

    # ---- active days: rows sorted by (user, day)
    n_after = lastday - sday
    u_rep = np.repeat(np.arange(n), n_after)
    offs = np.arange(len(u_rep)) - np.repeat(np.cumsum(n_after) - n_after, n_after) + 1
    d_rep = sday[u_rep] + offs
    p = np.minimum(P_ACTIVE_MAX, p_user[u_rep] * plan.act_factor[d_rep])
    keep = rng.random(len(u_rep)) < p
    r_user = np.concatenate([np.arange(n), u_rep[keep]])
    r_day = np.concatenate([sday, d_rep[keep]])
    order = np.argsort(r_user, kind="stable")
    r_user, r_day = r_user[order], r_day[order]
    n_rows = len(r_user)
    first_row = np.zeros(n_rows, dtype=bool)
    first_row[_first(r_user, n)] = True
    r_sess = np.where(first_row, signup[r_user], ds[r_day] + _time_of_day(rng, n_rows))
    r_end = ds[r_day + 1]

    # observed retention (any event on the Shanghai day signup + k)
    age = r_day - sday[r_user]
    for k in (1, 7, 30):
        elig = sday + k <= last
        act_k = np.zeros(n, dtype=bool)
        act_k[r_user[age == k]] = True
        stats["ret_n"][k] += np.bincount(ch[elig], minlength=5)
        stats["ret_a"][k] += np.bincount(ch[elig & act_k], minlength=5)
    stats["channel_users"] += np.bincount(ch, minlength=5)
    paid_idx = [CHANNELS.index(c) for c in PAID_CHANNELS]
    for j, c in enumerate(paid_idx):
        stats["signups"][:, j] += np.bincount(sday[ch == c], minlength=days)

    ev = _Events()
    od = _Orders()
    ev.add(r_user, r_sess, EV["app_open"])

    # ---- experiments
    not_outage = r_day != plan.outage
    exposure: dict[str, np.ndarray] = {}
    for ex in plan.experiments:
        m = (r_day >= ex.lo) & (r_day <= ex.hi) & not_outage & (age >= ex.min_tenure)
        pos = np.flatnonzero(m)
        fr = _first(r_user[pos], n)
        exposure[ex.name] = np.where(fr >= 0, pos[np.maximum(fr, 0)], -1)
    u_split = rng.random(n)
    in_price = (exposure["price_display"] >= 0) & (u_split < PRICE_SHARE)
    in_checkout = (exposure["checkout_button"] >= 0) & ~in_price
    members = {
        "checkout_button": np.flatnonzero(in_checkout),
        "price_display": np.flatnonzero(in_price),
        "homepage_aa": np.flatnonzero(exposure["homepage_aa"] >= 0),
        "banner_srm": np.flatnonzero(exposure["banner_srm"] >= 0),
    }
    variant = {name: _balanced(rng, len(idx)) for name, idx in members.items()}
    a_parts = []
    for k, ex in enumerate(plan.experiments):
        idx, v = members[ex.name], variant[ex.name]
        logged = np.ones(len(idx), dtype=bool)
        if ex.name == "banner_srm":
            t = np.flatnonzero(v == 1)
            logged[rng.permutation(t)[: round(SRM_DROP * len(t))]] = False
        st = stats["exp"][ex.name]
        st["n"] += np.bincount(v, minlength=2)
        st["logged"] += np.bincount(v[logged], minlength=2)
        a_parts.append(
            (
                np.full(logged.sum(), k),
                idx[logged],
                v[logged],
                r_sess[exposure[ex.name][idx[logged]]],
            )
        )

    # per-user experiment window [x, x + 14] for the two experiments that replace orders
    x_day = np.full(n, -(10**6), dtype=np.int64)
    x_ts = np.zeros(n, dtype=np.int64)
    x_var = np.zeros(n, dtype=np.int8)
    for name in ("checkout_button", "price_display"):
        idx = members[name]
        x_day[idx] = r_day[exposure[name][idx]]
        x_ts[idx] = r_sess[exposure[name][idx]]
        x_var[idx] = variant[name]
    rel = r_day - x_day[r_user]
    in_window = (rel >= 0) & (rel <= WINDOW_DAYS - 1)
    suppressed = (rel >= 0) & (rel <= WINDOW_DAYS)  # day x + 14: no orders at all
    price_row = in_window & in_price[r_user] & not_outage
    suppressed &= ~price_row
    suppressed |= ~not_outage

    # checkout_button: P(>= 1 paid order in the window) = p(variant), exactly
    idx = members["checkout_button"]
    p_conv = np.where(
        variant["checkout_button"] == 1, CHECKOUT_P["treatment"], CHECKOUT_P["control"]
    )
    conv = idx[rng.random(len(idx)) < p_conv]
    lam = EXTRA_ORDERS * pi[conv] * expected_days(conv, x_day[conv], x_day[conv] + WINDOW_DAYS - 1)
    n_ord = 1 + rng.poisson(lam)
    who = np.repeat(conv, n_ord)
    pos = np.flatnonzero(in_window & not_outage & in_checkout[r_user])
    rows = pos[_pick(rng, r_user[pos], n, who)]
    od.add(
        who, r_sess[rows] + _span(rng, len(rows), 2 * MIN_US, SESSION_US), amounts(who), 0, -1, rows
    )
    st = stats["exp"]["checkout_button"]
    st["conv"] += np.bincount(x_var[conv], minlength=2)

    # price_display: background orders, amounts x (1 + lift) in treatment, all paid
    idx = members["price_display"]
    st = stats["exp"]["price_display"]
    n_days = expected_days(idx, x_day[idx], x_day[idx] + WINDOW_DAYS - 1)
    expected = pi[idx] * np.exp(mu[idx]) * AMOUNT_MEAN_FACTOR * n_days
    st["expected_sum"] += expected.sum()

    # ---- campaigns
    camp_window = np.zeros(n_rows, dtype=bool)  # background orders replaced
    m_parts = []
    for c in plan.campaigns:
        cst = stats["camp"][c.cid]
        in_c = (r_day >= c.start) & (r_day <= c.end)
        pos = np.flatnonzero(in_c)
        fr = _first(r_user[pos], n)
        x_row = np.where(fr >= 0, pos[np.maximum(fr, 0)], -1)
        conflict = (in_checkout | in_price) & (x_day <= c.end) & (x_day + WINDOW_DAYS >= c.start)
        cand = (x_row >= 0) & (sday < c.start) & ~conflict & (rng.random(n) < c.target_share)
        mem = np.flatnonzero(cand)
        hold = rng.random(len(mem)) < c.holdout_share
        xr = x_row[mem]
        exp_ts = r_sess[xr] + _span(rng, len(mem), US, 10 * MIN_US)
        m_parts.append((np.full(len(mem), c.cid), mem, hold, exp_ts, np.full(len(mem), -1)))
        cst["members"] += np.array([(~hold).sum(), hold.sum()])

        # funnel of the treatment group: touches, a click, a join
        tr = mem[~hold]
        tr_exp, tr_x = exp_ts[~hold], xr[~hold]
        n_touch = 1 + rng.poisson(EXTRA_TOUCHES, len(tr))
        extra_who = np.repeat(tr, n_touch - 1)
        wpos = np.flatnonzero(in_c)
        extra_rows = wpos[_pick(rng, r_user[wpos], n, extra_who)]
        t_user = np.concatenate([tr, extra_who])
        t_row = np.concatenate([tr_x, extra_rows])
        t_ts = np.concatenate(
            [tr_exp, r_sess[extra_rows] + _span(rng, len(extra_rows), US, 10 * MIN_US)]
        )
        names = list(c.touch)
        probs = np.array([c.touch[k] for k in names])
        t_ch = np.array([TOUCH_CHANNELS.index(k) for k in names])[
            _categorical(rng, len(t_user), probs)
        ]
        ev.add(t_user, t_ts, EV["campaign_view"], campaign=c.cid, channel=t_ch)
        clicked = rng.random(len(tr)) < CLICK_RATE
        joined = clicked & (rng.random(len(tr)) < JOIN_RATE)
        # the clicked touch: a random one of the user's touches
        t_order = np.argsort(t_user, kind="stable")
        t_user_s, t_row_s, t_ts_s, t_ch_s = (
            t_user[t_order],
            t_row[t_order],
            t_ts[t_order],
            t_ch[t_order],
        )
        k_touch = _pick(rng, t_user_s, n, tr)
        click_ts = t_ts_s[k_touch] + _span(rng, len(tr), 5 * US, 2 * MIN_US)
        join_ts = click_ts + _span(rng, len(tr), 10 * US, 3 * MIN_US)
        ev.add(
            tr[clicked],
            click_ts[clicked],
            EV["campaign_click"],
            campaign=c.cid,
            channel=t_ch_s[k_touch][clicked],
        )
        ev.add(tr[joined], join_ts[joined], EV["campaign_join"], campaign=c.cid)
        cst["clicked"] += int(clicked.sum())
        cst["joined"] += int(joined.sum())

        if c.kind == "step":
            # no holdout: every background order day of the campaign gets extra orders
            pos = np.flatnonzero(in_c & ~suppressed & ~price_row)
            hit = pos[rng.random(len(pos)) < pi[r_user[pos]] * c.step]
            hu = r_user[hit]
            a = amounts(hu)
            od.add(
                hu,
                r_sess[hit] + _span(rng, len(hit), 2 * MIN_US, SESSION_US),
                a,
                _categorical(rng, len(hit), STATUS_MIX),
                c.cid,
                hit,
            )
            cst["step_orders"] += len(hit)
            cst["step_revenue"] += float(a.sum())
            continue

        # holdout campaigns: P(paid order during the campaign) is p_holdout x (1 + lift)
        is_mem = np.zeros(n, dtype=bool)
        is_mem[mem] = True
        camp_window |= in_c & is_mem[r_user]
        p_t = c.p_holdout * (1 + c.lift)
        mix = (
            (1 - CLICK_RATE) * STAGE_MULT[0]
            + CLICK_RATE * (1 - JOIN_RATE) * STAGE_MULT[1]
            + CLICK_RATE * JOIN_RATE * STAGE_MULT[2]
        )
        stage = clicked.astype(np.int64) + joined
        assert p_t / mix * STAGE_MULT[2] <= 1.0, "campaign conversion above 1"
        p_tr = p_t / mix * np.asarray(STAGE_MULT)[stage]
        conv_t = rng.random(len(tr)) < p_tr
        conv_h = rng.random(hold.sum()) < c.p_holdout
        cst["converted"] += np.array([conv_t.sum(), conv_h.sum()])
        cu = np.concatenate([tr[conv_t], mem[hold][conv_h]])
        c_exp = np.concatenate([tr_exp[conv_t], exp_ts[hold][conv_h]])
        c_treat = np.concatenate([np.ones(conv_t.sum(), bool), np.zeros(conv_h.sum(), bool)])
        c_click = np.concatenate([clicked[conv_t], np.zeros(conv_h.sum(), bool)])
        c_after = np.concatenate(
            [np.where(joined, join_ts, click_ts)[conv_t], np.zeros(conv_h.sum(), np.int64)]
        )
        c_crow = np.concatenate([t_row_s[k_touch][conv_t], np.zeros(conv_h.sum(), np.int64)])
        lam = EXTRA_ORDERS * pi[cu] * expected_days(cu, r_day[x_row[cu]], c.end)
        n_ord = 1 + rng.poisson(lam)
        first_o = np.zeros(n_ord.sum(), dtype=bool)
        first_o[np.cumsum(n_ord) - n_ord] = True
        rep = np.repeat(np.arange(len(cu)), n_ord)
        ou = cu[rep]
        rows = wpos[_pick(rng, r_user[wpos], n, ou)]
        after_click = first_o & c_click[rep]
        rows = np.where(after_click, c_crow[rep], rows)
        ts = np.maximum(
            r_sess[rows] + _span(rng, len(rows), 2 * MIN_US, SESSION_US),
            c_exp[rep] + _span(rng, len(rows), 30 * US, 5 * MIN_US),
        )
        ts = np.where(after_click, c_after[rep] + _span(rng, len(rows), MIN_US, 15 * MIN_US), ts)
        a = amounts(ou) * np.where(c_treat[rep], CAMPAIGN_AOV, 1.0)
        a = np.round(a, 2)
        od.add(ou, ts, a, 0, np.where(c_treat[rep], c.cid, -1), rows)
        cst["revenue"] += np.array([a[c_treat[rep]].sum(), a[~c_treat[rep]].sum()])

        if c.kind == "referral":
            part = tr[joined]
            part_ts = join_ts[joined]
            o = np.argsort(part_ts, kind="stable")
            part, part_ts = part[o], part_ts[o]
            inv = np.flatnonzero(invited)
            inv = inv[np.argsort(signup[inv], kind="stable")]
            cnt = np.searchsorted(part_ts, signup[inv] - 10 * MIN_US, side="left")
            ok = cnt > 0
            inv, cnt = inv[ok], cnt[ok]
            k_inv = (rng.random(len(inv)) * cnt).astype(np.int64)
            inviter = part[k_inv]
            matched = np.bincount(k_inv, minlength=len(part))
            n_inv = np.maximum(1 + rng.poisson(INVITES_EXTRA, len(part)), matched)
            iu = np.repeat(part, n_inv)
            its = np.repeat(part_ts, n_inv) + _span(rng, len(iu), 10 * US, 5 * MIN_US)
            ev.add(iu, its, EV["invite_sent"], campaign=c.cid)
            m_parts.append(
                (
                    np.full(len(inv), c.cid),
                    inv,
                    np.zeros(len(inv), bool),
                    signup[inv],
                    inviter + uid0,
                )
            )
            cst["participants"] += len(part)
            cst["invitations"] += int(n_inv.sum())
            cst["invitees"] += len(inv)

    # ---- content views and interactions
    n_cv = rng.poisson(CONTENT_VIEWS_PER_DAY, n_rows)
    vrow = np.repeat(np.arange(n_rows), n_cv)
    vts = r_sess[vrow] + _span(rng, len(vrow), 5 * US, SESSION_US)
    cid = _choose_content(rng, vts, plan.content_pub, plan.content_quality)
    ok = cid >= 0
    vrow, vts, cid = vrow[ok], vts[ok], cid[ok]
    vu = r_user[vrow]
    ctype = plan.content_type[cid]
    ev.add(vu, vts, EV["content_view"], content=cid + 1)
    stats["content_views"] += np.bincount(ctype, minlength=3)
    for name, rate in (
        ("content_like", LIKE_RATE),
        ("content_comment", COMMENT_RATE),
        ("content_share", SHARE_RATE),
    ):
        hit = rng.random(len(vu)) < rate[ctype]
        ev.add(
            vu[hit],
            vts[hit] + _span(rng, hit.sum(), 5 * US, 2 * MIN_US),
            EV[name],
            content=cid[hit] + 1,
        )
        stats["content_inter"] += np.bincount(ctype[hit], minlength=3)

    # ---- background orders
    bg = ~suppressed & ~camp_window & ~price_row
    hit = np.flatnonzero((bg | price_row) & (rng.random(n_rows) < pi[r_user]))
    hu = r_user[hit]
    a = amounts(hu)
    is_price = price_row[hit]
    a = np.where(is_price & (x_var[hu] == 1), np.round(a * (1 + PRICE_LIFT), 2), a)
    status = np.where(is_price, 0, _categorical(rng, len(hit), STATUS_MIX))
    od.add(hu, r_sess[hit] + _span(rng, len(hit), 2 * MIN_US, SESSION_US), a, status, -1, hit)
    # content-driven orders, within hours of the view, on background days
    hit = np.flatnonzero(bg[vrow] & (rng.random(len(vrow)) < CONTENT_ORDER_RATE[ctype]))
    hrow = vrow[hit]
    delay = _span(rng, len(hit), 10 * MIN_US, 3 * HOUR_US)
    room = r_end[hrow] - vts[hit]
    delay = np.where(
        vts[hit] + delay < r_end[hrow],
        delay,
        (room * (0.1 + 0.8 * rng.random(len(hit)))).astype(np.int64),
    )
    od.add(
        vu[hit],
        vts[hit] + delay,
        amounts(vu[hit]),
        _categorical(rng, len(hit), STATUS_MIX),
        -1,
        hrow,
    )
    stats["content_orders"] += np.bincount(ctype[hit], minlength=3)

    # ---- orders: sort, add_to_cart before each, ids
    o_user, o_ts, o_amt, o_status, o_camp, o_row = od.arrays()
    o = np.lexsort((o_amt, o_user, o_ts))
    o_user, o_ts, o_amt, o_status, o_camp, o_row = (
        x[o] for x in (o_user, o_ts, o_amt, o_status, o_camp, o_row)
    )
    cart = o_ts - ((o_ts - r_sess[o_row]) * (0.1 + 0.8 * rng.random(len(o_ts)))).astype(np.int64)
    ev.add(o_user, np.maximum(cart, r_sess[o_row] + 1), EV["add_to_cart"])

    # price_display realised revenue and the pre-period covariate (paid orders)
    idx = members["price_display"]
    paid = o_status == 0
    stats["exp"]["price_display"]["corr_parts"].append(
        _window_sums(idx, x_ts, o_user, o_ts, o_amt, paid, n)
    )

    # ---- the other session events
    nv = rng.poisson(VIEWS_PER_DAY, n_rows)
    vr = np.repeat(np.arange(n_rows), nv)
    vts2 = r_sess[vr] + _span(rng, len(vr), 5 * US, SESSION_US)
    ev.add(r_user[vr], vts2, EV["view_item"])
    hit = rng.random(len(vr)) < CART_PER_VIEW
    ev.add(
        r_user[vr[hit]], vts2[hit] + _span(rng, hit.sum(), 5 * US, 3 * MIN_US), EV["add_to_cart"]
    )
    hit = np.flatnonzero(rng.random(n_rows) < SHARE_PER_DAY)
    ev.add(r_user[hit], r_sess[hit] + _span(rng, len(hit), 5 * US, SESSION_US), EV["share"])

    # ---- assemble
    e_user, e_ts, e_code, e_content, e_camp, e_ch = ev.arrays()
    o = np.lexsort((e_code, e_user, e_ts))
    events = _events_table(e_user[o] + uid0, e_ts[o], e_code[o], e_content[o], e_camp[o], e_ch[o])
    stats["orders_status"] += np.bincount(o_status, minlength=3)
    stats["revenue_paid"] += float(o_amt[paid].sum())
    stats["buyer_parts"].append(np.bincount(o_user[paid], weights=o_amt[paid], minlength=n))
    stats["outage_orders"] += int(
        (o_ts >= ds[plan.outage]).sum() - (o_ts >= ds[plan.outage + 1]).sum()
    )

    users_t = pa.table(
        {
            "user_id": pa.array(np.arange(n, dtype=np.int64) + uid0),
            "signup_ts": _ts(signup),
            "channel": _labels(ch, CHANNELS),
            "region": _labels(region, REGIONS),
            "device": _labels(device, DEVICES),
            "city_tier": _labels(tier, TIERS),
        }
    )
    orders_t = {
        "user": o_user + uid0,
        "ts": o_ts,
        "amount": o_amt,
        "status": o_status,
        "campaign": o_camp,
    }
    a_exp = np.concatenate([p[0] for p in a_parts])
    a_user = np.concatenate([p[1] for p in a_parts])
    a_var = np.concatenate([p[2] for p in a_parts])
    a_ts = np.concatenate([p[3] for p in a_parts])
    o = np.lexsort((a_user, a_exp))
    names = pa.array([e.name for e in plan.experiments])
    vnames = pa.array([v for e in plan.experiments for v in e.variants])
    assignments_t = pa.table(
        {
            "experiment": pc.take(names, pa.array(a_exp[o])),
            "user_id": pa.array(a_user[o] + uid0),
            "variant": pc.take(vnames, pa.array(2 * a_exp[o] + a_var[o])),
            "ts": _ts(a_ts[o]),
        }
    )
    m_cid = np.concatenate([p[0] for p in m_parts])
    m_user = np.concatenate([p[1] for p in m_parts])
    m_hold = np.concatenate([p[2] for p in m_parts])
    m_ts = np.concatenate([p[3] for p in m_parts])
    m_inv = np.concatenate([p[4] for p in m_parts])
    o = np.lexsort((m_user, m_cid))
    members_t = pa.table(
        {
            "campaign_id": pa.array(m_cid[o].astype(np.int64)),
            "user_id": pa.array(m_user[o] + uid0),
            "group": _labels(m_hold[o].astype(np.int64), ("treatment", "holdout")),
            "ts": _ts(m_ts[o]),
            "inviter_id": pa.array(m_inv[o], mask=m_inv[o] < 0),
        }
    )
    return {
        "users": users_t,
        "events": events,
        "orders": orders_t,
        "assignments": assignments_t,
        "campaign_members": members_t,
    }


def _window_sums(idx, x_ts, o_user, o_ts, o_amt, paid, n) -> np.ndarray:
    """Per price_display user: paid revenue in [x, x + 14 d) and in [x - 28 d, x)."""
    in_exp = np.zeros(n, dtype=bool)
    in_exp[idx] = True
    m = paid & in_exp[o_user]
    u, t, a = o_user[m], o_ts[m], o_amt[m]
    post = (t >= x_ts[u]) & (t < x_ts[u] + WINDOW_DAYS * DAY_US)
    pre = (t >= x_ts[u] - PRE_DAYS * DAY_US) & (t < x_ts[u])
    post_sum = np.bincount(u[post], weights=a[post], minlength=n)[idx]
    pre_sum = np.bincount(u[pre], weights=a[pre], minlength=n)[idx]
    return np.stack([pre_sum, post_sum])


def _choose_content(rng, ts, pub, quality) -> np.ndarray:
    """Index of a content item published before each view (recent, good items more often)."""
    k = np.searchsorted(pub, ts, side="left")
    out = np.full(len(ts), -1, dtype=np.int64)
    todo = np.flatnonzero(k > 0)
    for attempt in range(6):
        kk = k[todo]
        back = rng.geometric(1 / CONTENT_RECENCY, len(todo)) - 1
        cand = kk - 1 - back
        cand = np.where(cand < 0, (rng.random(len(todo)) * kk).astype(np.int64), cand)
        accept = (rng.random(len(todo)) < quality[cand]) | (attempt == 5)
        out[todo[accept]] = cand[accept]
        todo = todo[~accept]
    return out


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.int64()).cast(
        pa.timestamp("us", tz="UTC")
    )


def _labels(codes: np.ndarray, names: tuple[str, ...], mask: np.ndarray | None = None):
    idx = pa.array(np.asarray(codes, dtype=np.int64), mask=mask)
    return pc.take(pa.array(list(names), type=pa.string()), idx)


def _events_table(user, ts, code, content, camp, ch) -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array(user),
            "ts": _ts(ts),
            "event": _labels(code, EVENTS),
            "content_id": pa.array(content, mask=content < 0),
            "campaign_id": pa.array(camp, mask=camp < 0),
            "channel": _labels(np.maximum(ch, 0), TOUCH_CHANNELS, mask=ch < 0),
        }
    )


# ============================================================================ schemas, writing

TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "users": pa.schema(
        [
            ("user_id", pa.int64()),
            ("signup_ts", TS),
            ("channel", pa.string()),
            ("region", pa.string()),
            ("device", pa.string()),
            ("city_tier", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            ("user_id", pa.int64()),
            ("ts", TS),
            ("event", pa.string()),
            ("content_id", pa.int64()),
            ("campaign_id", pa.int64()),
            ("channel", pa.string()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.int64()),
            ("user_id", pa.int64()),
            ("ts", TS),
            ("amount", pa.float64()),
            ("status", pa.string()),
            ("campaign_id", pa.int64()),
        ]
    ),
    "assignments": pa.schema(
        [("experiment", pa.string()), ("user_id", pa.int64()), ("variant", pa.string()), ("ts", TS)]
    ),
    "campaigns": pa.schema(
        [
            ("campaign_id", pa.int64()),
            ("name", pa.string()),
            ("channel", pa.string()),
            ("start_ts", TS),
            ("end_ts", TS),
            ("spend", pa.float64()),
            ("target_participants", pa.float64()),
            ("target_conversion", pa.float64()),
            ("target_roi", pa.float64()),
            ("target_k", pa.float64()),
        ]
    ),
    "campaign_members": pa.schema(
        [
            ("campaign_id", pa.int64()),
            ("user_id", pa.int64()),
            ("group", pa.string()),
            ("ts", TS),
            ("inviter_id", pa.int64()),
        ]
    ),
    "spend": pa.schema([("date", pa.date32()), ("channel", pa.string()), ("cost", pa.float64())]),
    "content": pa.schema(
        [
            ("content_id", pa.int64()),
            ("published_ts", TS),
            ("type", pa.string()),
            ("cost", pa.float64()),
        ]
    ),
}
WRITER_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
}


def _writer(path: Path, name: str) -> pq.ParquetWriter:
    return pq.ParquetWriter(path / f"{name}.parquet", SCHEMAS[name], **WRITER_OPTIONS)


def _write_small(path: Path, name: str, table: pa.Table) -> None:
    with _writer(path, name) as w:
        w.write_table(table.cast(SCHEMAS[name]))


# ============================================================================ the entry point


def _new_stats(plan: _Plan) -> dict[str, Any]:
    return {
        "ret_n": {k: np.zeros(5, dtype=np.int64) for k in (1, 7, 30)},
        "ret_a": {k: np.zeros(5, dtype=np.int64) for k in (1, 7, 30)},
        "channel_users": np.zeros(5, dtype=np.int64),
        "signups": np.zeros((plan.days, len(PAID_CHANNELS)), dtype=np.int64),
        "exp": {
            e.name: {
                "n": np.zeros(2, dtype=np.int64),
                "logged": np.zeros(2, dtype=np.int64),
                "conv": np.zeros(2, dtype=np.int64),
                "expected_sum": 0.0,
                "corr_parts": [],
            }
            for e in plan.experiments
        },
        "camp": {
            c.cid: {
                "members": np.zeros(2, dtype=np.int64),
                "converted": np.zeros(2, dtype=np.int64),
                "revenue": np.zeros(2),
                "clicked": 0,
                "joined": 0,
                "participants": 0,
                "invitations": 0,
                "invitees": 0,
                "step_orders": 0,
                "step_revenue": 0.0,
            }
            for c in plan.campaigns
        },
        "content_views": np.zeros(3, dtype=np.int64),
        "content_inter": np.zeros(3, dtype=np.int64),
        "content_orders": np.zeros(3, dtype=np.int64),
        "orders_status": np.zeros(3, dtype=np.int64),
        "revenue_paid": 0.0,
        "buyer_parts": [],
        "outage_orders": 0,
    }


def generate_sample(
    out: str | Path,
    users: int = 20_000,
    days: int = 180,
    seed: int = 7,
    end: str = "2026-10-31",
    *,
    chunk_size: int = 20_000,
) -> Path:
    """Write the sample shop's tables and ``truth.json`` to the folder ``out``; return it.

    ``users`` users sign up during the ``days`` days ending on ``end`` (inclusive, Asia/Shanghai
    calendar). The same arguments always give byte-identical files. ``chunk_size`` (users
    written per batch, rounded to whole blocks of ``BLOCK`` users) bounds the memory used and does
    not change the data.
    """
    plan = _plan(users, days, seed, end)
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    stats = _new_stats(plan)
    n_blocks = math.ceil(users / BLOCK)
    per_chunk = max(1, round(chunk_size / BLOCK))
    streamed = ("users", "events", "orders", "assignments", "campaign_members")
    writers = {name: _writer(path, name) for name in streamed}
    next_order_id = 1
    try:
        for c0 in range(0, n_blocks, per_chunk):
            parts: dict[str, list] = {name: [] for name in streamed}
            for b in range(c0, min(c0 + per_chunk, n_blocks)):
                n = min(BLOCK, users - b * BLOCK)
                res = _block(plan, b, n, b * BLOCK + 1, stats)
                o = res["orders"]
                ids = np.arange(len(o["user"]), dtype=np.int64) + next_order_id
                next_order_id += len(ids)
                res["orders"] = pa.table(
                    {
                        "order_id": pa.array(ids),
                        "user_id": pa.array(o["user"]),
                        "ts": _ts(o["ts"]),
                        "amount": pa.array(o["amount"]),
                        "status": _labels(o["status"], STATUSES),
                        "campaign_id": pa.array(o["campaign"], mask=o["campaign"] < 0),
                    }
                )
                for name in streamed:
                    parts[name].append(res[name])
            for name in streamed:
                table = pa.concat_tables(parts[name]).cast(SCHEMAS[name])
                writers[name].write_table(table)
            del parts
    finally:
        for w in writers.values():
            w.close()

    spend_table, channel_truth = _spend(plan, stats)
    _write_small(path, "spend", spend_table)
    campaigns_table, campaign_truth = _campaigns(plan, stats)
    _write_small(path, "campaigns", campaigns_table)
    _write_small(
        path,
        "content",
        pa.table(
            {
                "content_id": pa.array(np.arange(len(plan.content_pub), dtype=np.int64) + 1),
                "published_ts": _ts(plan.content_pub),
                "type": _labels(plan.content_type, CONTENT_TYPES),
                "cost": pa.array(plan.content_cost),
            }
        ),
    )
    truth = _truth(plan, stats, channel_truth, campaign_truth)
    text = json.dumps(truth, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False)
    (path / "truth.json").write_text(text + "\n", encoding="utf-8")
    return path


# ============================================================================ small tables, truth


def _spend(plan: _Plan, stats: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    rng = _rng(plan.seed, 2)
    counts = stats["signups"]  # days x paid channels
    cac = np.array([CAC[c] for c in PAID_CHANNELS])
    sd = 0.2
    noise = np.exp(rng.normal(-(sd**2) / 2, sd, counts.shape))
    cost = np.round(counts * cac[None, :] * noise, 2)
    dates = np.datetime64(plan.start.isoformat(), "D") + np.arange(plan.days)
    table = pa.table(
        {
            "date": pa.array(np.repeat(dates, len(PAID_CHANNELS))).cast(pa.date32()),
            "channel": pa.array(list(PAID_CHANNELS) * plan.days),
            "cost": pa.array(cost.ravel()),
        }
    )
    truth = {}
    for i, c in enumerate(CHANNELS):
        n = int(stats["channel_users"][i])
        if c in PAID_CHANNELS:
            j = PAID_CHANNELS.index(c)
            total = float(cost[:, j].sum())
            truth[c] = {
                "users": n,
                "spend": _r(total, 2),
                "cac": _r(total / n, 4) if n else None,
                "cac_planted": CAC[c],
            }
        else:
            truth[c] = {"users": n, "spend": 0.0, "cac": None, "cac_planted": None}
    return table, truth


def _campaigns(plan: _Plan, stats: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    rows: dict[str, list] = {k: [] for k in SCHEMAS["campaigns"].names}
    truth = {}
    ds = plan.day_start
    for c in plan.campaigns:
        st = stats["camp"][c.cid]
        n_t, n_h = (int(x) for x in st["members"])
        spend = round(c.fixed_cost * plan.scale + c.unit_cost * n_t, 2)
        participants = int(st["joined"])
        rows["campaign_id"].append(c.cid)
        rows["name"].append(c.name)
        rows["channel"].append(c.channel)
        rows["start_ts"].append(int(ds[c.start]))
        rows["end_ts"].append(int(ds[c.end + 1] - US))
        rows["spend"].append(spend)
        rows["target_participants"].append(float(max(1, round(participants * c.target_factor))))
        rows["target_conversion"].append(c.target_conversion)
        rows["target_roi"].append(c.target_roi)
        rows["target_k"].append(c.target_k)
        t: dict[str, Any] = {
            "name": c.name,
            "channel": c.channel,
            "kind": c.kind,
            "start": _iso(plan, c.start),
            "end": _iso(plan, c.end),
            "has_holdout": c.has_holdout,
            "holdout_share": c.holdout_share,
            "members_treatment": n_t,
            "members_holdout": n_h,
            "exposed_clicked": int(st["clicked"]),
            "participants": participants,
            "spend": spend,
            "touch_channels": c.touch,
            "funnel": {"click_rate": CLICK_RATE, "join_rate_of_clickers": JOIN_RATE},
        }
        if c.has_holdout:
            conv_t, conv_h = (int(x) for x in st["converted"])
            p_t = c.p_holdout * (1 + c.lift)
            t.update(
                metric="paid order between start_ts and end_ts (members, inviter_id null)",
                p_holdout=c.p_holdout,
                p_treatment=_r(p_t),
                true_rel_lift=c.lift,
                true_abs_lift=_r(p_t - c.p_holdout),
                converted_treatment=conv_t,
                converted_holdout=conv_h,
                observed_rate_treatment=_r(conv_t / n_t) if n_t else None,
                observed_rate_holdout=_r(conv_h / n_h) if n_h else None,
                revenue_treatment=_r(st["revenue"][0], 2),
                revenue_holdout=_r(st["revenue"][1], 2),
                treatment_aov_multiplier=CAMPAIGN_AOV,
                incremental_conversions_expected=_r(n_t * (p_t - c.p_holdout), 2),
            )
        else:
            t.update(true_rel_lift=None, p_holdout=None)
        if c.kind == "referral":
            part = participants
            t.update(
                invitations=int(st["invitations"]),
                invitees=int(st["invitees"]),
                invitations_per_participant=_r(st["invitations"] / part) if part else None,
                invitation_conversion=(
                    _r(st["invitees"] / st["invitations"]) if st["invitations"] else None
                ),
                k=_r(st["invitees"] / part) if part else None,
            )
        if c.kind == "step":
            n_days = c.end - c.start + 1
            t.update(
                step_rel_background=c.step,
                incremental_orders=int(st["step_orders"]),
                incremental_revenue=_r(st["step_revenue"], 2),
                incremental_orders_per_day=_r(st["step_orders"] / n_days, 3),
                note="extra orders (campaign_id set) on top of the background process; "
                "no holdout: estimate with a counterfactual from the pre-period",
            )
        truth[str(c.cid)] = t
    table = pa.table(
        {
            "campaign_id": pa.array(rows["campaign_id"], type=pa.int64()),
            "name": pa.array(rows["name"]),
            "channel": pa.array(rows["channel"]),
            "start_ts": _ts(np.array(rows["start_ts"])),
            "end_ts": _ts(np.array(rows["end_ts"])),
            "spend": pa.array(rows["spend"], type=pa.float64()),
            "target_participants": pa.array(rows["target_participants"], type=pa.float64()),
            "target_conversion": pa.array(rows["target_conversion"], type=pa.float64()),
            "target_roi": pa.array(rows["target_roi"], type=pa.float64()),
            "target_k": pa.array(rows["target_k"], type=pa.float64()),
        }
    )
    return table, truth


def _retention_truth(plan: _Plan) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    w_ref = (1 - plan.invite_share) * plan.w_base + plan.invite_share * plan.w_invite
    overall: dict[str, float] = {}
    for k in (1, 7, 30):
        s = np.arange(plan.days - k)
        f = plan.act_factor[s + k]
        num_all = den_all = 0.0
        for i, c in enumerate(CHANNELS):
            w = (w_ref if i == REFERRAL else plan.w_base)[s]
            g = Q_ENGAGED[i] * (1 - H_ENGAGED[i]) ** k * np.minimum(
                P_ACTIVE_MAX, P_ENGAGED[i] * f
            ) + (1 - Q_ENGAGED[i]) * (1 - H_CASUAL[i]) ** k * np.minimum(
                P_ACTIVE_MAX, P_CASUAL[i] * f
            )
            value = float((w * g).sum() / w.sum())
            out.setdefault(c, {})[f"d{k}"] = _r(value)
            num_all += CHANNEL_MIX[i] * float((w * g).sum())
            den_all += CHANNEL_MIX[i] * float(w.sum())
        overall[f"d{k}"] = _r(num_all / den_all)
    out["all"] = overall
    return out


def _truth(plan, stats, channel_truth, campaign_truth) -> dict[str, Any]:
    retention_obs: dict[str, dict[str, Any]] = {}
    for i, c in enumerate([*CHANNELS, "all"]):
        row: dict[str, Any] = {}
        for k in (1, 7, 30):
            n = stats["ret_n"][k] if c == "all" else stats["ret_n"][k][i : i + 1]
            a = stats["ret_a"][k] if c == "all" else stats["ret_a"][k][i : i + 1]
            n, a = int(n.sum()), int(a.sum())
            row[f"d{k}"] = _r(a / n) if n else None
            row[f"n_d{k}"] = n
        retention_obs[c] = row

    experiments: dict[str, Any] = {}
    for ex in plan.experiments:
        st = stats["exp"][ex.name]
        v0, v1 = ex.variants
        t: dict[str, Any] = {
            "variants": list(ex.variants),
            "planned_split": {v0: 0.5, v1: 0.5},
            "metric": ex.metric,
            "window_days": WINDOW_DAYS,
            "exposure_start": _iso(plan, ex.lo),
            "exposure_end": _iso(plan, ex.hi),
            "users": {v0: int(st["logged"][0]), v1: int(st["logged"][1])},
            "srm": ex.name == "banner_srm",
        }
        if ex.name == "checkout_button":
            n0, n1 = (int(x) for x in st["n"])
            c0, c1 = (int(x) for x in st["conv"])
            p0, p1 = CHECKOUT_P["control"], CHECKOUT_P["treatment"]
            t.update(
                metric_definition="converted = at least one paid order in [ts, ts + 14 days)",
                control=p0,
                treatment=p1,
                true_abs_lift=_r(p1 - p0),
                true_rel_lift=_r(p1 / p0 - 1),
                observed={v0: _r(c0 / n0) if n0 else None, v1: _r(c1 / n1) if n1 else None},
            )
        elif ex.name == "price_display":
            n_all = int(st["n"].sum())
            ctrl = st["expected_sum"] / n_all if n_all else float("nan")
            sums = np.concatenate(st["corr_parts"], axis=1)
            pre, post = sums
            with np.errstate(all="ignore"):
                rho = float(np.corrcoef(pre, post)[0, 1]) if len(pre) > 2 else float("nan")
            t.update(
                metric_definition="revenue = sum of paid amounts in [ts, ts + 14 days); "
                "pre_revenue = the same over [ts - 28 days, ts)",
                pre_period_days=PRE_DAYS,
                min_tenure_days=PRICE_MIN_TENURE,
                control=_r(ctrl, 4),
                treatment=_r(ctrl * (1 + PRICE_LIFT), 4),
                true_abs_lift=_r(ctrl * PRICE_LIFT, 4),
                true_rel_lift=PRICE_LIFT,
                true_conversion_effect=0.0,
                pre_post_correlation=_r(rho, 4),
                truth_note="expected revenue per user averaged over all assigned users",
            )
        else:
            t.update(
                control=None,
                treatment=None,
                true_abs_lift=0.0,
                true_rel_lift=0.0,
                truth_note="no effect: every metric has the same expectation in both variants",
            )
        if ex.name == "banner_srm":
            t.update(
                dropped_share_of_treatment=SRM_DROP,
                users_before_logging_bug={v0: int(st["n"][0]), v1: int(st["n"][1])},
            )
        experiments[ex.name] = t

    views, inter, c_orders = stats["content_views"], stats["content_inter"], stats["content_orders"]
    content: dict[str, Any] = {"items": len(plan.content_pub)}
    for i, ty in enumerate(CONTENT_TYPES):
        content[ty] = {
            "items": int((plan.content_type == i).sum()),
            "interaction_rate": _r(LIKE_RATE[i] + COMMENT_RATE[i] + SHARE_RATE[i]),
            "like_rate": float(LIKE_RATE[i]),
            "comment_rate": float(COMMENT_RATE[i]),
            "share_rate": float(SHARE_RATE[i]),
            "order_rate_per_view": float(CONTENT_ORDER_RATE[i]),
            "views": int(views[i]),
            "interactions": int(inter[i]),
            "observed_interaction_rate": _r(inter[i] / views[i]) if views[i] else None,
            "orders_after_view": int(c_orders[i]),
        }

    rev = np.concatenate(stats["buyer_parts"])
    rev = np.sort(rev[rev > 0])[::-1]
    top = rev[: max(1, round(0.2 * len(rev)))].sum() / rev.sum() if len(rev) else float("nan")
    statuses = stats["orders_status"]
    return {
        "params": {
            "users": plan.users,
            "days": plan.days,
            "seed": plan.seed,
            "end": plan.end.isoformat(),
            "start": plan.start.isoformat(),
            "timezone": TIMEZONE,
        },
        "retention": _retention_truth(plan),
        "retention_observed": retention_obs,
        "retention_definition": "share of a channel's users with any event on the Asia/Shanghai "
        "calendar day signup + k, among users whose day signup + k is inside the period",
        "channels": channel_truth,
        "experiments": experiments,
        "campaigns": campaign_truth,
        "anomalies": {
            "outage_day": _iso(plan, plan.outage),
            "outage_activity_share": OUTAGE_SHARE,
            "outage_orders": int(stats["outage_orders"]),
            "campaign_days": [[_iso(plan, c.start), _iso(plan, c.end)] for c in plan.campaigns],
        },
        "content": content,
        "orders": {
            "count": int(statuses.sum()),
            "status_share": {
                s: _r(statuses[i] / statuses.sum()) if statuses.sum() else None
                for i, s in enumerate(STATUSES)
            },
            "paid_revenue": _r(stats["revenue_paid"], 2),
            "buyers": len(rev),
            "top20_revenue_share": _r(top, 4),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the opsbook sample data set.")
    parser.add_argument("out")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", default="2026-10-31")
    args = parser.parse_args(argv)
    print(generate_sample(args.out, args.users, args.days, args.seed, args.end))


if __name__ == "__main__":
    main()
