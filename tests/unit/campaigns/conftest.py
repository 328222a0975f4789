"""Campaign review tests: the tiny shop every layer's tests read, and how they open a source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opsbook.campaigns import queries
from opsbook.config import load_config
from opsbook.data import open_source

T = pd.Timestamp


def _write(folder: Path, **tables: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _source(folder: Path):
    # UTC keeps local days equal to the timestamps written below
    return open_source(load_config(data=str(folder), overrides={"timezone": "UTC"}))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """Campaign 1 (holdout, 10-16 March), campaign 2 (referral, no holdout, 1-7 April)."""
    signup = [T("2026-01-01")] * 10 + [T("2026-04-02 10:00")] * 2 + [T("2026-03-12")]
    users = pd.DataFrame(
        {
            "user_id": range(1, 14),
            "signup_ts": signup,
            "channel": ["organic"] * 10 + ["referral"] * 2 + ["organic"],
        }
    )
    campaigns = pd.DataFrame(
        {
            "campaign_id": [1, 2],
            "name": ["Spring", "Invite"],
            "channel": ["push", "wechat"],
            "start_ts": [T("2026-03-10"), T("2026-04-01")],
            "end_ts": [T("2026-03-16 23:59:59"), T("2026-04-07 23:59:59")],
            "spend": [100.0, 50.0],
            "target_participants": [3.0, np.nan],
            "target_conversion": [0.5, np.nan],
            "target_roi": [3.0, np.nan],
            "target_k": [np.nan, 1.5],
        }
    )
    members = pd.DataFrame(
        {
            "campaign_id": [1] * 9 + [2] * 4,
            "user_id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 11, 12],
            "group": ["treatment"] * 6 + ["holdout"] * 3 + ["treatment"] * 4,
            "ts": [T("2026-03-10 08:00")] * 9 + [T("2026-04-01")] * 2 + [T("2026-04-02 10:00")] * 2,
            "inviter_id": [None] * 11 + [1, 2],
        }
    ).astype({"inviter_id": "Int64"})
    ev = [
        # user, ts, event, campaign, channel
        (1, "2026-03-10 08:00", "campaign_view", 1, "push"),
        (1, "2026-03-10 08:05", "campaign_click", 1, "push"),
        (1, "2026-03-10 08:06", "campaign_join", 1, None),
        (2, "2026-03-10 09:00", "campaign_view", 1, "sms"),
        (2, "2026-03-11 09:00", "campaign_view", 1, "push"),
        (2, "2026-03-11 09:01", "campaign_click", 1, "push"),
        (2, "2026-03-11 09:02", "campaign_join", 1, None),
        (3, "2026-03-09 10:00", "campaign_click", 1, "push"),  # a click before any exposure
        (3, "2026-03-10 10:00", "campaign_view", 1, "push"),
        (4, "2026-03-12 10:00", "campaign_view", 1, "email"),
        (5, "2026-03-12 10:00", "campaign_view", 1, "push"),
        (5, "2026-03-12 10:01", "campaign_click", 1, "push"),
        (5, "2026-03-12 10:02", "campaign_join", 1, None),
        (1, "2026-04-01 10:00", "campaign_join", 2, None),
        (1, "2026-04-01 10:01", "invite_sent", 2, None),
        (1, "2026-04-01 10:02", "invite_sent", 2, None),
        (1, "2026-04-01 10:03", "invite_sent", 2, None),
        (2, "2026-04-02 09:00", "campaign_join", 2, None),
        (2, "2026-04-02 09:01", "invite_sent", 2, None),
    ]
    ev += [(u, f"2026-0{m}-{d:02d} 12:00", "app_open", None, None)
           for u in range(1, 14) for m, d in ((3, 1), (4, 3), (4, 9))]  # fmt: skip
    events = pd.DataFrame(ev, columns=["user_id", "ts", "event", "campaign_id", "channel"])
    events["ts"] = pd.to_datetime(events["ts"])
    events["campaign_id"] = events["campaign_id"].astype("Int64")
    orders = pd.DataFrame(
        [
            (1, 1, "2026-03-11 12:00", 100.0, "paid", 1),
            (2, 1, "2026-03-14 12:00", 50.0, "paid", 1),
            (3, 2, "2026-03-12 12:00", 80.0, "paid", 1),
            (4, 3, "2026-03-15 12:00", 40.0, "refunded", None),
            (5, 5, "2026-03-20 12:00", 60.0, "paid", None),
            (6, 7, "2026-03-13 12:00", 30.0, "paid", None),
            (7, 8, "2026-03-01 12:00", 20.0, "paid", None),
            (8, 9, "2026-03-05 12:00", 40.0, "paid", None),
            (9, 10, "2026-02-20 12:00", 60.0, "paid", None),
            (10, 11, "2026-04-03 12:00", 70.0, "paid", None),
        ],
        columns=["order_id", "user_id", "ts", "amount", "status", "campaign_id"],
    )
    orders["ts"] = pd.to_datetime(orders["ts"])
    orders["campaign_id"] = orders["campaign_id"].astype("Int64")
    folder = _write(
        tmp_path_factory.mktemp("shop"),
        users=users,
        campaigns=campaigns,
        campaign_members=members,
        events=events,
        orders=orders,
    )
    return _source(folder)


def _row(source, key):
    frame = queries.catalogue(source)
    return frame.set_index("key").loc[key].to_dict() | {"key": key}


def _source_tz(folder):
    return open_source(load_config(data=str(folder)))
