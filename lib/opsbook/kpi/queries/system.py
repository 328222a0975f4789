"""The rest of the KPI system's engine work, each from its own optional table: survey answers
(NPS), private-domain community membership, the operations team's days and data requests, and
cohort LTV a year apart. Every function returns one small row per period (and channel)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from opsbook.data import Source
from opsbook.engine import backend_name, epoch_microseconds, exact_sum
from opsbook.kpi.queries.periods import Periods, _period_of
from opsbook.kpi.queries.rows import _key_like
from opsbook.kpi.queries.users import YEAR_DAYS, period_actives
from opsbook.retention.queries import paid_orders

PROMOTER_SCORE = 9  # 9-10: promoters
DETRACTOR_SCORE = 6  # 0-6: detractors (7-8: passives)
EXIT_DAYS = 7  # the early-exit window of a new community member


def _period_ends(source: Source, periods: Periods) -> ir.Table:
    """``pk, at``: each period's end as a naive-UTC instant (local midnight after its last day)."""
    ends = [periods[k].utc_bounds(source)[1] for k in range(periods.count)]
    return ibis.memtable(pd.DataFrame({"pk": range(periods.count), "at": pd.to_datetime(ends)}))


# ---------------------------------------------------------------------------- NPS
def survey_counts(source: Source, periods: Periods) -> pd.DataFrame:
    """``k, channel, respondents, promoters, detractors``: per period (and the answer's channel,
    ``(all)`` without a channel column) the users who answered, each by their latest answer of
    the period (a user who answers twice counts once)."""
    lo, hi = periods.span().utc_bounds(source)
    answers = source.table("survey_responses", since=lo, until=hi)
    answers = answers.filter(answers.user_id.notnull() & answers.score.notnull())
    answers = periods.number(source, answers)
    channel = (
        answers.channel.cast("string").fill_null("(missing)")
        if "channel" in answers.columns
        else ibis.literal("(all)")
    )
    answers = answers.mutate(channel=channel)
    latest = ibis.window(group_by=["user_id", "k"], order_by=[ibis.desc(answers.ts)])
    answers = answers.mutate(_nth=ibis.row_number().over(latest))
    answers = answers.filter(answers._nth == 0)
    frame = (
        answers.group_by(["k", "channel"])
        .aggregate(
            respondents=answers.count(),
            promoters=(answers.score >= PROMOTER_SCORE).cast("int64").sum(),
            detractors=(answers.score <= DETRACTOR_SCORE).cast("int64").sum(),
        )
        .execute()
    )
    return frame.sort_values(["k", "channel"], ignore_index=True)


# ---------------------------------------------------------------------------- private domain
def _members_at_end(source: Source, periods: Periods) -> ir.Table:
    """``user_id, k, member``: users in a community at the end of period ``k``."""
    members = source.table("community_members")
    members = members.filter(members.user_id.notnull() & members.joined_ts.notnull())
    joined = members.cross_join(_period_ends(source, periods))
    inside = joined.filter(
        (joined.joined_ts < joined.at) & (joined.left_ts.isnull() | (joined.left_ts >= joined.at))
    )
    return inside.select("user_id", k=inside.pk).distinct().mutate(member=ibis.literal(1))


def community_counts(source: Source, periods: Periods, *, repeat_window_days: int) -> pd.DataFrame:
    """Per period ``k``: ``active`` users and ``active_members`` (in a community at the
    period's end); buyers and repeat buyers (2+ paid orders) of the ``repeat_window_days``
    ending with the period, members (``member_*``) and the others (``other_*``); ``joins`` and
    ``exits`` dated in the period; ``new_members`` whose first ``EXIT_DAYS`` days close in the
    period and ``early_exits``, those of them who left within those days."""
    members = _members_at_end(source, periods)
    actives = period_actives(source, periods).distinct()
    members = members.mutate(user_id=_key_like(members.user_id, actives.user_id))
    share = actives.left_join(members, ["user_id", "k"])
    share = share.group_by("k").aggregate(
        active=share.count(), active_members=share.member.fill_null(0).sum()
    )
    frame = share.execute().set_index("k")

    ends = _period_ends(source, periods)
    window = ibis.interval(days=int(repeat_window_days))
    lo = periods.span().utc_bounds(source)[0] - pd.Timedelta(days=int(repeat_window_days))
    hi = periods.span().utc_bounds(source)[1]
    orders = paid_orders(source, since=lo, until=hi).select("user_id", "ts")
    placed = orders.cross_join(ends)
    placed = placed.filter((placed.ts >= placed.at - window) & (placed.ts < placed.at))
    buyers = placed.group_by(["user_id", placed.pk.name("k")]).aggregate(orders=placed.count())
    members = members.mutate(user_id=_key_like(members.user_id, buyers.user_id))
    buyers = buyers.left_join(members, ["user_id", "k"])
    buyers = buyers.mutate(member=buyers.member.fill_null(0), repeat=buyers.orders >= 2)
    bought = (
        buyers.group_by(["k", "member"])
        .aggregate(buyers=buyers.count(), repeaters=buyers.repeat.cast("int64").sum())
        .execute()
    )
    for flag, prefix in ((1, "member"), (0, "other")):
        part = bought[bought["member"] == flag].set_index("k")
        frame[f"{prefix}_buyers"] = part["buyers"]
        frame[f"{prefix}_repeaters"] = part["repeaters"]

    stays = source.table("community_members")
    stays = stays.filter(stays.user_id.notnull() & stays.joined_ts.notnull())
    joins = periods.tag(source, stays, "joined_ts")
    frame["joins"] = joins.group_by("k").aggregate(n=joins.count()).execute().set_index("k")["n"]
    exits = periods.tag(source, stays, "left_ts")
    frame["exits"] = exits.group_by("k").aggregate(n=exits.count()).execute().set_index("k")["n"]
    close = stays.joined_ts + ibis.interval(days=EXIT_DAYS)
    early = periods.tag(source, stays.mutate(close=close), "close")
    left_early = (early.left_ts.notnull() & (early.left_ts < early.close)).cast("int64")
    cohort = early.group_by("k").aggregate(new_members=early.count(), early_exits=left_early.sum())
    frame = frame.join(cohort.execute().set_index("k"), how="outer")
    return frame.reindex(range(periods.count)).fillna(0).astype(float)


# ---------------------------------------------------------------------------- efficiency
OPERATIONS_COLUMNS = ("operators", "operating_cost", "automated_pushes", "manual_pushes")


def operations_days(source: Source, periods: Periods) -> pd.DataFrame:
    """Per period ``k``: ``days`` reported, the mean of ``operators`` over the days that give
    it, and the sums of ``operating_cost``, ``automated_pushes`` and ``manual_pushes`` (NaN
    where the table lacks the column or no day of the period gives it)."""
    ops = source.table("operations")
    span = periods.span()
    ops = ops.filter(ops.date.notnull() & ops.date.between(span.start, span.end))
    present = [c for c in OPERATIONS_COLUMNS if c in ops.columns]
    frame = ops.group_by("date").aggregate(
        **{c: exact_sum(ops[c]) for c in present}, days=ops.count()
    )
    frame = frame.execute()
    frame["k"] = _period_of(pd.Series(pd.to_datetime(frame["date"]).dt.date), periods)
    frame = frame.dropna(subset=["k"]).astype({"k": "int64"})
    grouped = frame.groupby("k")
    out = pd.DataFrame(index=pd.RangeIndex(periods.count, name="k"))
    out["days"] = grouped["date"].nunique()
    for column in OPERATIONS_COLUMNS:
        if column not in present:
            out[column] = np.nan
        elif column == "operators":  # a headcount: the mean over the days that give it
            out[column] = grouped[column].mean()
        else:  # a day that does not give the column adds nothing (min_count: all-null is NaN)
            out[column] = grouped[column].sum(min_count=1)
    return out


def request_hours(source: Source, periods: Periods) -> pd.DataFrame:
    """``k, hours``: each data request made in the periods and the hours to its answer (NaN:
    not answered yet). Requests are a team's human-scale count, a few a day: the rows come
    back as they are."""
    lo, hi = periods.span().utc_bounds(source)
    asked = source.table("data_requests", since=lo, until=hi)
    asked = periods.number(source, asked.filter(asked.requested_ts.notnull()), "requested_ts")
    # exact microseconds on every engine (epoch_seconds drops the fraction on Spark)
    backend = backend_name(asked)
    us = epoch_microseconds(asked.answered_ts, backend) - epoch_microseconds(
        asked.requested_ts, backend
    )
    frame = asked.select("k", hours=us.cast("float64") / 3_600_000_000).execute()
    return frame.sort_values(["k", "hours"], ignore_index=True)


# ---------------------------------------------------------------------------- LTV growth
def ltv_cohorts(source: Source, periods: Periods, *, age_days: int) -> pd.DataFrame:
    """Per period ``k`` and ``shift`` (0: this year, 1: 52 weeks earlier): the ``users`` whose
    first ``age_days`` days close in period ``k`` (shifted back a year for ``shift`` 1) and
    the ``revenue`` of their paid orders within those days; ``first_signup`` (naive UTC) says
    how far back the users table reaches."""
    users = source.table("users")
    users = users.filter(users.user_id.notnull() & users.signup_ts.notnull())
    age = ibis.interval(days=int(age_days))
    users = users.select("user_id", signup=users.signup_ts, close=users.signup_ts + age)
    now = periods.tag(source, users, "close").mutate(shift=ibis.literal(0))
    later = users.mutate(moved=users.close + ibis.interval(days=YEAR_DAYS))
    before = periods.tag(source, later, "moved").mutate(shift=ibis.literal(1))
    cohort = now.select("user_id", "signup", "close", "k", "shift").union(
        before.select("user_id", "signup", "close", "k", "shift")
    )
    orders = paid_orders(source).select("user_id", "ts", "amount")
    orders = orders.mutate(user_id=_key_like(orders.user_id, cohort.user_id))
    spent = cohort.inner_join(
        orders,
        [
            cohort.user_id == orders.user_id,
            orders.ts >= cohort.signup,
            orders.ts < cohort.close,
        ],
    )
    spent = spent.group_by(["k", "shift"]).aggregate(revenue=exact_sum(spent.amount))
    sizes = cohort.group_by(["k", "shift"]).aggregate(users=cohort.count())
    frame = sizes.left_join(spent, ["k", "shift"]).select("k", "shift", "users", "revenue")
    frame = frame.execute().fillna({"revenue": 0.0})
    first = source.table("users").signup_ts.min().execute()
    frame.attrs["first_signup"] = None if first is None or pd.isna(first) else pd.Timestamp(first)
    return frame.sort_values(["k", "shift"], ignore_index=True)
