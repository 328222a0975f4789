"""Campaign review, engine step: the sufficient statistics of the holdout comparison -- per group
and first-exposure channel of the members (events sources), or per variant of a per-user
outcomes export -- summed in the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import pandas as pd

from opsbook.campaigns.queries.events import UNKNOWN_CHANNEL, _first_exposure, _members
from opsbook.campaigns.queries.settings import Settings
from opsbook.data import Source, inclusive_end
from opsbook.engine import exact_sum
from opsbook.errors import InputError
from opsbook.retention.queries import paid_orders


def holdout_sums(source: Source, row: Mapping[str, Any]) -> pd.DataFrame:
    """Per group (treatment / holdout) and first-exposure channel: users ``n``, converted users,
    Σ revenue, Σ revenue², Σ orders, Σ orders² of paid orders between start and end -- the
    sufficient statistics of the holdout comparison, summed in the engine."""
    members = _members(source, row["key"]).filter(lambda t: ~t.invited)
    members = members.select("user_id", "grp").distinct()
    # the campaign's end is the last instant it runs: orders at it count
    paid = paid_orders(source, since=row["start"], until=inclusive_end(row["end"]))
    per_user = paid.group_by("user_id").aggregate(
        n_orders=paid.count(), revenue=exact_sum(paid.amount)
    )
    j = members.left_join(per_user, "user_id")
    j = j.select(
        "user_id",
        "grp",
        n_orders=j.n_orders.fill_null(0).cast("float64"),
        revenue=j.revenue.fill_null(0.0).cast("float64"),
    )
    first = _first_exposure(source, row["key"])
    if first is not None:
        j = j.left_join(first.select("user_id", "channel"), "user_id")
        channel = j.channel.cast("string").fill_null(UNKNOWN_CHANNEL)
    else:
        channel = ibis.literal(UNKNOWN_CHANNEL)
    j = j.mutate(channel=ibis.ifelse(j.grp == "holdout", ibis.literal("-"), channel))
    out = (
        j.group_by("grp", "channel")
        .aggregate(
            n=j.count(),
            conversion=(j.n_orders > 0).cast("float64").sum(),
            revenue=exact_sum(j.revenue),
            revenue_sq=exact_sum(j.revenue * j.revenue),
            orders=j.n_orders.sum(),
            orders_sq=(j.n_orders * j.n_orders).sum(),
        )
        .execute()
    )
    out["conversion_sq"] = out["conversion"]
    return out.fillna(0.0)


def outcome_sums(source: Source, metrics: Sequence[str]) -> pd.DataFrame:
    """Per variant of ``experiment_results``: n, Σ and Σ² of each outcome column (engine)."""
    er = source.table("experiment_results")
    aggs: dict[str, Any] = {"n": er.count()}
    for m in metrics:
        value = er[m].cast("float64")
        aggs[m] = exact_sum(value)
        aggs[f"{m}_sq"] = exact_sum(value * value)
    out = er.group_by(grp=er.variant.cast("string")).aggregate(**aggs).execute()
    return out.fillna(0.0)


def outcome_metrics(source: Source, settings: Settings) -> tuple[str, ...]:
    """The outcome columns compared in an outcomes source (parameter, else the usual names)."""
    columns = source.columns("experiment_results")
    if settings.outcome_metrics:
        missing = [m for m in settings.outcome_metrics if m not in columns]
        if missing:
            raise InputError(
                "campaign_review.error.outcome_metrics",
                missing=", ".join(missing),
                found=", ".join(columns),
            )
        return tuple(settings.outcome_metrics)
    found = tuple(m for m in ("visit", "conversion", "revenue", "orders") if m in columns)
    if not found:
        raise InputError("campaign_review.error.no_outcomes", found=", ".join(columns))
    return found
