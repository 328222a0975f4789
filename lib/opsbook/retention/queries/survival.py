"""The engine step of churn as survival: users per (group, lifetime in days, churned or not)."""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from opsbook.data import Source
from opsbook.retention.queries.active import _signups, _with_group, active_periods
from opsbook.retention.queries.periods import AsOf, period_number


def churn_counts(
    src: Source,
    point: AsOf,
    churn_days: int,
    *,
    breakdown: str | None = None,
    users: Any = None,
    cohort_start: Any = None,
    cohort_end: Any = None,
    return_event: str = "any",
) -> pd.DataFrame:
    """``grp, duration, event, users``: lifetime = days from the signup day to the last active
    day; event 1 = churned (no activity for ``churn_days`` complete days after it by ``point``),
    0 = censored at (last complete day - churn_days - signup day). Users who signed up fewer than
    ``churn_days`` days before the last complete day are left out."""
    last = point.last_complete_day
    people = _signups(src, point.utc, users, cohort_start, cohort_end)
    signup = people.select("user_id", sday=period_number(src, people.signup_ts, "day"))
    signup = signup.filter(signup.sday <= last - churn_days)
    signup = _with_group(signup, src, breakdown)
    acts = active_periods(src, return_event, point.utc, "day")
    acts = acts.filter(acts.p <= last)
    latest = acts.group_by(aid="user_id").aggregate(last_day=acts.p.max())
    joined = signup.left_join(latest, signup.user_id == latest.aid)
    last_active = ibis.greatest(joined.sday, joined.last_day.fill_null(joined.sday))
    churned = last_active <= last - churn_days
    per_user = joined.select(
        "grp",
        event=churned.cast("int64"),
        duration=ibis.ifelse(churned, last_active - joined.sday, last - churn_days - joined.sday),
    )
    return (
        per_user.group_by("grp", "duration", "event")
        .aggregate(users=per_user.count())
        .execute()
        .sort_values(["grp", "duration", "event"])
        .reset_index(drop=True)
    )
