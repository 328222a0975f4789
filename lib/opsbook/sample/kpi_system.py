"""The optional tables of the rest of the KPI system, drawn after the shop's own tables from the
users and orders just written: survey answers (NPS), private-domain community memberships, the
operations team's days and its data requests. Their own random stream (``spawn_key`` 9), so the
shop's tables are the same bytes with or without them; the planted facts go to
``truth.json["kpi_system"]``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from opsbook.sample.draws import _rng
from opsbook.sample.parameters import DAY_US, HOUR_US
from opsbook.sample.plan import _Plan
from opsbook.sample.tables import WRITER_OPTIONS, _ts

KPI_SYSTEM_TABLES = ("survey_responses", "community_members", "operations", "data_requests")
STREAM = 9  # SeedSequence spawn key of these tables

# survey: a paid order is followed by the recommend-us question with this chance, answered
# 1-48 hours later through one of the channels, whose answers differ (planted shares)
SURVEY_RATE = 0.3
SURVEY_CHANNELS = ("app", "sms", "email")
SURVEY_CHANNEL_MIX = np.array([0.6, 0.25, 0.15])
# (promoter 9-10, passive 7-8, detractor 0-6) shares per channel: NPS 40, 5, 25
SURVEY_SHARES = np.array([[0.55, 0.30, 0.15], [0.35, 0.35, 0.30], [0.45, 0.35, 0.20]])
# community: a user joins with a chance that grows with their paid orders (repeat buyers are
# the ones a WeCom group keeps), on average JOIN_DAYS after signup; some leave
JOIN_CHANCE = {0: 0.04, 1: 0.15, 2: 0.45}  # by paid orders: 0, 1, 2 or more
JOIN_DAYS = 10.0
LEAVE_CHANCE = 0.3
LEAVE_DAYS = 15.0
COMMUNITIES = ("wecom_vip", "wecom_new")
# operations: the team's days and its data requests
OPERATORS = 12
COST_PER_DAY = 8_000.0
AUTOMATED_PER_DAY = 700
MANUAL_PER_DAY = 300
REQUESTS_PER_DAY = 5
RESPONSE_MEDIAN_HOURS = 0.8
UNANSWERED = 0.05

SCHEMAS = {
    "survey_responses": pa.schema(
        [
            ("user_id", pa.int64()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("score", pa.int64()),
            ("channel", pa.string()),
        ]
    ),
    "community_members": pa.schema(
        [
            ("user_id", pa.int64()),
            ("joined_ts", pa.timestamp("us", tz="UTC")),
            ("left_ts", pa.timestamp("us", tz="UTC")),
            ("community", pa.string()),
        ]
    ),
    "operations": pa.schema(
        [
            ("date", pa.date32()),
            ("operators", pa.int64()),
            ("operating_cost", pa.float64()),
            ("automated_pushes", pa.int64()),
            ("manual_pushes", pa.int64()),
        ]
    ),
    "data_requests": pa.schema(
        [
            ("requested_ts", pa.timestamp("us", tz="UTC")),
            ("answered_ts", pa.timestamp("us", tz="UTC")),
        ]
    ),
}


def _write(path: Path, name: str, columns: dict[str, Any]) -> None:
    with pq.ParquetWriter(path / f"{name}.parquet", SCHEMAS[name], **WRITER_OPTIONS) as w:
        w.write_table(pa.table(columns).cast(SCHEMAS[name]))


def _micros(column: pa.ChunkedArray) -> np.ndarray:
    return column.cast(pa.int64()).to_numpy()


def kpi_system_tables(path: Path, plan: _Plan) -> dict[str, Any]:
    """Write the four tables beside the shop's (``path`` holds users and orders already) and
    return their truth."""
    rng = _rng(plan.seed, STREAM)
    users = pq.read_table(path / "users.parquet", columns=["user_id", "signup_ts"])
    orders = pq.read_table(path / "orders.parquet", columns=["user_id", "ts", "status"])
    paid = np.asarray(orders["status"].to_pylist()) == "paid"
    o_user, o_ts = orders["user_id"].to_numpy()[paid], _micros(orders["ts"])[paid]
    end_us = int(plan.day_start[-1])  # the Shanghai midnight after the last day
    truth: dict[str, Any] = {}

    # survey answers after paid orders
    asked = rng.random(len(o_user)) < SURVEY_RATE
    n = int(asked.sum())
    channel = rng.choice(len(SURVEY_CHANNELS), size=n, p=SURVEY_CHANNEL_MIX)
    kind = np.array([rng.choice(3, p=SURVEY_SHARES[c]) for c in channel], dtype=np.int64)
    score = np.where(
        kind == 0, rng.integers(9, 11, n), np.where(kind == 1, rng.integers(7, 9, n), 0)
    )
    score = np.where(kind == 2, rng.integers(0, 7, n), score)
    ts = o_ts[asked] + rng.integers(HOUR_US, 48 * HOUR_US, n)
    keep = ts < end_us
    order = np.lexsort((o_user[asked][keep], ts[keep]))
    _write(
        path,
        "survey_responses",
        {
            "user_id": o_user[asked][keep][order],
            "ts": _ts(ts[keep][order]),
            "score": score[keep][order],
            "channel": np.asarray(SURVEY_CHANNELS)[channel[keep][order]],
        },
    )
    shares = SURVEY_SHARES
    truth["nps_planted"] = {
        c: round(100 * float(shares[i, 0] - shares[i, 2]), 6) for i, c in enumerate(SURVEY_CHANNELS)
    }
    overall = SURVEY_CHANNEL_MIX @ shares
    truth["nps_planted_overall"] = round(100 * float(overall[0] - overall[2]), 6)

    # community memberships, more likely for repeat buyers
    u_id, signup = users["user_id"].to_numpy(), _micros(users["signup_ts"])
    bought = np.bincount(np.searchsorted(u_id, o_user), minlength=len(u_id))
    chance = np.select([bought >= 2, bought == 1], [JOIN_CHANCE[2], JOIN_CHANCE[1]], JOIN_CHANCE[0])
    joins = rng.random(len(u_id)) < chance
    joined = signup + (rng.exponential(JOIN_DAYS, len(u_id)) * DAY_US).astype(np.int64)
    leaves = rng.random(len(u_id)) < LEAVE_CHANCE
    left = joined + (rng.exponential(LEAVE_DAYS, len(u_id)) * DAY_US).astype(np.int64)
    community = rng.integers(0, len(COMMUNITIES), len(u_id))
    member = joins & (joined < end_us)
    gone = leaves & (left < end_us)
    _write(
        path,
        "community_members",
        {
            "user_id": u_id[member],
            "joined_ts": _ts(joined[member]),
            "left_ts": pa.array(left[member], type=pa.int64(), mask=~gone[member]).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "community": np.asarray(COMMUNITIES)[community[member]],
        },
    )
    truth["community_join_chance"] = {str(k): v for k, v in JOIN_CHANCE.items()}
    truth["community_members"] = int(member.sum())

    # the operations team's days
    days = plan.days
    operators = OPERATORS + rng.integers(-1, 2, days)
    cost = np.round(COST_PER_DAY * rng.uniform(0.9, 1.1, days), 2)
    automated = rng.poisson(AUTOMATED_PER_DAY, days)
    manual = rng.poisson(MANUAL_PER_DAY, days)
    dates = [plan.start + dt.timedelta(days=d) for d in range(days)]
    _write(
        path,
        "operations",
        {
            "date": pa.array(dates, type=pa.date32()),
            "operators": operators,
            "operating_cost": cost,
            "automated_pushes": automated,
            "manual_pushes": manual,
        },
    )
    truth["automation_share_planted"] = AUTOMATED_PER_DAY / (AUTOMATED_PER_DAY + MANUAL_PER_DAY)

    # data requests: a few a day, answered in about RESPONSE_MEDIAN_HOURS, some not yet
    per_day = rng.poisson(REQUESTS_PER_DAY, days)
    day = np.repeat(np.arange(days), per_day)
    requested = plan.day_start[day] + 9 * HOUR_US + rng.integers(0, 9 * HOUR_US, len(day))
    hours = RESPONSE_MEDIAN_HOURS * np.exp(rng.normal(0.0, 0.8, len(day)))
    answered = requested + (hours * HOUR_US).astype(np.int64)
    open_ = (rng.random(len(day)) < UNANSWERED) | (answered >= end_us)
    _write(
        path,
        "data_requests",
        {
            "requested_ts": _ts(requested),
            "answered_ts": pa.array(answered, type=pa.int64(), mask=open_).cast(
                pa.timestamp("us", tz="UTC")
            ),
        },
    )
    truth["data_response_median_hours_planted"] = RESPONSE_MEDIAN_HOURS

    # the last complete local week (what the dashboard reports by default) and its exact sums
    last = plan.end - dt.timedelta(days=(plan.end.weekday() + 1) % 7)
    first = last - dt.timedelta(days=6)
    week = np.array([first <= d <= last for d in dates])
    lo = int(plan.day_start[(first - plan.start).days])
    hi = int(plan.day_start[(last - plan.start).days + 1])
    in_week = (requested >= lo) & (requested < hi)
    waited = np.where(open_, np.inf, hours)[in_week]
    truth["week"] = {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "automation_share": float(automated[week].sum() / (automated + manual)[week].sum()),
        "operators_mean": float(operators[week].mean()),
        "operating_cost": round(float(cost[week].sum()), 2),
        "data_requests": int(in_week.sum()),
        "data_response_median_hours": float(np.median(waited)),
    }
    truth["ltv_growth"] = None  # the sample spans less than a year plus the LTV age
    truth["ltv_growth_reason"] = "the sample spans less than a year plus the LTV age (90 days)"
    return truth
