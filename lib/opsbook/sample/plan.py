"""The plan of a sample: the period's days, the campaigns, the experiments, the signup-day
distributions and the content catalogue, drawn once before any user.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from opsbook.sample.draws import _rng, _span
from opsbook.sample.parameters import (
    ACTIVE_WEEKDAY,
    CONTENT_COST,
    CONTENT_PER_DAY,
    DAY_US,
    HOUR_US,
    MIN_DAYS,
    OUTAGE_OFFSET,
    OUTAGE_SHARE,
    PRICE_MIN_TENURE,
    SIGNUP_TREND,
    SIGNUP_WEEKDAY,
    TZ_OFFSET_S,
    US,
)


@dataclass(frozen=True)
class _Experiment:
    name: str
    variants: tuple[str, str]
    lo: int  # exposure day range (day index, inclusive)
    hi: int
    min_tenure: int
    metric: str
    max_tenure: int | None = None


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


def _iso(plan: _Plan, day: int) -> str:
    return (plan.start + dt.timedelta(days=int(day))).isoformat()


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
            step=0.5,
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
            "checkout_button",
            ("control", "treatment"),
            last - 58,
            last - 14,
            0,
            "converted_14d",
            max_tenure=0,  # new users, exposed in their first session (journey)
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
