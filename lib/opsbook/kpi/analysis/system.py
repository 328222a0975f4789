"""The rest of the KPI system: NPS with its interval, the private domain (share of actives,
repurchase against the others, joins and exits), efficiency (automation, data response time,
users per operator, operating cost share) and LTV growth year over year.

Each KPI needs its own input -- survey_responses, community_members, operations (or the config's
``reports.kpi_dashboard.efficiency``), data_requests, a year plus the LTV age of users -- and is
n/a with the reason when that input is absent: never invented.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from opsbook.data import Source
from opsbook.kpi.queries.periods import Periods
from opsbook.kpi.queries.rows import _ratio, _row, _rows
from opsbook.kpi.queries.system import (
    community_counts,
    ltv_cohorts,
    operations_days,
    request_hours,
    survey_counts,
)
from opsbook.kpi.queries.users import YEAR_DAYS
from opsbook.stats import net_promoter_score

#: what ``reports.kpi_dashboard.efficiency`` may state when no operations table gives it
EFFICIENCY_FIELDS = (
    "operators",
    "operating_cost_per_month",
    "automation_share",
    "data_response_hours",
)
PRIVATE_DOMAIN_KPIS = (
    "private_domain_share",
    "private_domain_repurchase_rate",
    "public_repurchase_rate",
    "private_domain_repurchase_ratio",
    "community_joins",
    "community_exits",
    "community_exit_rate_7d",
)
EFFICIENCY_KPIS = (
    "automation_share",
    "data_response_hours",
    "users_per_operator",
    "operating_cost_share",
)


def efficiency_settings(value: Mapping[str, Any] | None) -> dict[str, float]:
    """The config's stated efficiency numbers, checked: known fields, positive numbers, a share
    within 0..1. Bad settings raise at once (before any query)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"efficiency must be a mapping of {', '.join(EFFICIENCY_FIELDS)}, got {value!r}"
        )
    unknown = sorted(set(value) - set(EFFICIENCY_FIELDS))
    if unknown:
        raise ValueError(
            f"efficiency: unknown field(s) {', '.join(map(str, unknown))}; "
            f"allowed: {', '.join(EFFICIENCY_FIELDS)}"
        )
    settings = {}
    for name, number in value.items():
        if number is None:
            continue
        if isinstance(number, bool) or not isinstance(number, int | float) or not number > 0:
            raise ValueError(f"efficiency: {name} must be a positive number, got {number!r}")
        if name == "automation_share" and number > 1:
            raise ValueError(f"efficiency: automation_share is a share 0..1, got {number!r}")
        settings[name] = float(number)
    return settings


@dataclass(frozen=True)
class SystemKpis:
    """The rows (one per KPI and period) of the rest of the KPI system, why some are n/a, NPS by
    the answers' channel in the current period, and where each efficiency number came from."""

    rows: list[dict[str, Any]]
    notes: dict[str, str]
    nps_channels: pd.DataFrame  # channel, respondents, promoters, detractors, nps, low, high
    origins: dict[str, str] = field(default_factory=dict)  # efficiency kpi -> table | config
    details: dict[str, Any] = field(default_factory=dict)  # metrics.json's kpi_system

    def metrics(self) -> dict[str, Any]:
        return {**self.details, "efficiency_origin": self.origins}


def system_kpis(
    source: Source,
    periods: Periods,
    rows: list[dict[str, Any]],
    *,
    efficiency: Mapping[str, float],
    nps_min_respondents: int = 30,
    alpha: float = 0.05,
    ltv_age_days: int = 90,
    repeat_window_days: int = 30,
) -> SystemKpis:
    """Every KPI of the rest of the KPI system per period. ``rows``: the dashboard's rows so far
    (active users and GMV per period come from them, so both read alike everywhere)."""
    earlier = pd.DataFrame(rows)
    actives = _column(earlier, "paying_rate", "den", periods.count)
    gmv = _column(earlier, "gmv", "value", periods.count)
    out: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    details: dict[str, Any] = {}
    channels = pd.DataFrame(
        columns=["channel", "respondents", "promoters", "detractors", "nps", "low", "high"]
    )
    if source.has("survey_responses"):
        part, channels, nps_note, details["nps"] = _nps(
            survey_counts(source, periods), periods, nps_min_respondents, alpha
        )
        out += part
        notes |= nps_note
    else:
        notes["nps"] = "kpi_dashboard.na.no_surveys"
    if source.has("community_members"):
        counts = community_counts(source, periods, repeat_window_days=repeat_window_days)
        out += _private_domain(counts)
        details["private_domain"] = {
            "active_members": int(counts.loc[0, "active_members"]),
            "active": int(counts.loc[0, "active"]),
            "member_buyers": int(counts.loc[0, "member_buyers"]),
            "other_buyers": int(counts.loc[0, "other_buyers"]),
            "new_members": int(counts.loc[0, "new_members"]),
        }
    else:
        notes |= {name: "kpi_dashboard.na.no_community" for name in PRIVATE_DOMAIN_KPIS}
    part, eff_notes, origins = _efficiency(source, periods, actives, gmv, efficiency)
    out += part
    notes |= eff_notes
    part, ltv_note, details["ltv"] = _ltv_growth(source, periods, ltv_age_days)
    out += part
    notes |= ltv_note
    return SystemKpis(out, notes, channels, origins, details)


def _column(frame: pd.DataFrame, kpi: str, column: str, count: int) -> pd.Series:
    if frame.empty:
        return pd.Series(math.nan, index=range(count))
    part = frame[frame["kpi"] == kpi].set_index("k")[column]
    return part.reindex(range(count)).astype(float)


# ---------------------------------------------------------------------------- NPS
def _nps(
    counts: pd.DataFrame, periods: Periods, minimum: int, alpha: float
) -> tuple[list[dict[str, Any]], pd.DataFrame, dict[str, str], dict[str, Any]]:
    """NPS per period (every channel together) and per channel in the current period."""
    totals = counts.groupby("k")[["respondents", "promoters", "detractors"]].sum()
    totals = totals.reindex(range(periods.count), fill_value=0)
    rows = []
    for k, total in totals.iterrows():
        result = net_promoter_score(
            int(total.promoters),
            int(total.detractors),
            int(total.respondents),
            alpha=alpha,
            minimum=minimum,
        )
        rows.append(
            _row(
                "nps",
                k,
                result.score,
                total.promoters - total.detractors,
                total.respondents,
                (result.low, result.high),
            )
        )
    current = totals.loc[0]
    notes = {}
    if 0 < current.respondents < minimum:
        notes["nps"] = "kpi_dashboard.na.few_respondents"
    elif current.respondents == 0:
        notes["nps"] = "kpi_dashboard.na.no_answers"
    records = []
    if not (counts["channel"] == "(all)").all():
        for r in counts[counts["k"] == 0].itertuples():
            result = net_promoter_score(
                int(r.promoters),
                int(r.detractors),
                int(r.respondents),
                alpha=alpha,
                minimum=minimum,
            )
            records.append(
                {
                    "channel": r.channel,
                    "respondents": int(r.respondents),
                    "promoters": int(r.promoters),
                    "detractors": int(r.detractors),
                    "nps": result.score,
                    "low": result.low,
                    "high": result.high,
                }
            )
    by_channel = pd.DataFrame(
        records,
        columns=["channel", "respondents", "promoters", "detractors", "nps", "low", "high"],
    )
    detail = {
        "respondents": int(current.respondents),
        "promoters": int(current.promoters),
        "detractors": int(current.detractors),
        "min_respondents": int(minimum),
        "by_channel": {
            r.channel: {
                "respondents": r.respondents,
                "nps": None if math.isnan(r.nps) else r.nps,
                "interval": None if math.isnan(r.nps) else [r.low, r.high],
            }
            for r in by_channel.itertuples()
        },
    }
    return rows, by_channel, notes, detail


# ---------------------------------------------------------------------------- private domain
def _private_domain(counts: pd.DataFrame) -> list[dict[str, Any]]:
    member_rate = _ratio(counts["member_repeaters"], counts["member_buyers"])
    other_rate = _ratio(counts["other_repeaters"], counts["other_buyers"])
    ratio = (member_rate / other_rate.where(other_rate > 0)).astype(float)
    return (
        _rows(
            "private_domain_share",
            _ratio(counts["active_members"], counts["active"]),
            counts["active_members"],
            counts["active"],
        )
        + _rows(
            "private_domain_repurchase_rate",
            member_rate,
            counts["member_repeaters"],
            counts["member_buyers"],
        )
        + _rows(
            "public_repurchase_rate", other_rate, counts["other_repeaters"], counts["other_buyers"]
        )
        + _rows("private_domain_repurchase_ratio", ratio, member_rate, other_rate)
        + _rows("community_joins", counts["joins"])
        + _rows("community_exits", counts["exits"])
        + _rows(
            "community_exit_rate_7d",
            _ratio(counts["early_exits"], counts["new_members"]),
            counts["early_exits"],
            counts["new_members"],
        )
    )


# ---------------------------------------------------------------------------- efficiency
def _efficiency(
    source: Source,
    periods: Periods,
    actives: pd.Series,
    gmv: pd.Series,
    stated: Mapping[str, float],
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    """The four efficiency KPIs: from the operations and data_requests tables where they give
    them, else from the config's stated numbers, else n/a."""
    count = periods.count
    nan = pd.Series(math.nan, index=range(count))
    ops = operations_days(source, periods) if source.has("operations") else None
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    origins: dict[str, str] = {}

    def given(column: str) -> pd.Series | None:
        if ops is None or ops[column].isna().all():
            return None
        return ops[column].reindex(range(count)).astype(float)

    automated, manual = given("automated_pushes"), given("manual_pushes")
    if automated is not None and manual is not None:
        total = automated.fillna(0) + manual.fillna(0)
        rows += _rows("automation_share", _ratio(automated.fillna(0), total), automated, total)
        origins["automation_share"] = "table"
    elif "automation_share" in stated:
        rows += _rows("automation_share", nan.fillna(stated["automation_share"]))
        origins["automation_share"] = "config"

    operators = given("operators")
    if operators is None and "operators" in stated:
        operators, origins["users_per_operator"] = nan.fillna(stated["operators"]), "config"
    elif operators is not None:
        origins["users_per_operator"] = "table"
    if operators is not None:
        rows += _rows("users_per_operator", _ratio(actives, operators), actives, operators)

    cost = given("operating_cost")
    if cost is None and "operating_cost_per_month" in stated:
        cost = nan.fillna(stated["operating_cost_per_month"] * periods.days / 30)
        origins["operating_cost_share"] = "config"
    elif cost is not None:
        origins["operating_cost_share"] = "table"
    if cost is not None:
        rows += _rows("operating_cost_share", _ratio(cost, gmv), cost, gmv)

    if source.has("data_requests"):
        hours = request_hours(source, periods)
        rows += _rows("data_response_hours", _median_hours(hours, count))
        origins["data_response_hours"] = "table"
        if hours[hours["k"] == 0].empty:
            notes["data_response_hours"] = "kpi_dashboard.na.no_requests"
    elif "data_response_hours" in stated:
        rows += _rows("data_response_hours", nan.fillna(stated["data_response_hours"]))
        origins["data_response_hours"] = "config"
    for name in EFFICIENCY_KPIS:
        if name not in origins:
            notes[name] = "kpi_dashboard.na.no_operations"
        elif origins[name] == "config":
            notes[name] = "kpi_dashboard.na.from_config"
    return rows, notes, origins


def _median_hours(hours: pd.DataFrame, count: int) -> pd.Series:
    """The median hours from request to answer per period; a request not answered yet counts
    as longer than any answered one (so it still moves the median); n/a when most are open."""
    medians = pd.Series(math.nan, index=range(count))
    for k, part in hours.groupby("k"):
        median = float(np.median(part["hours"].fillna(math.inf)))
        medians[int(k)] = median if math.isfinite(median) else math.nan
    return medians


# ---------------------------------------------------------------------------- LTV growth
def _ltv_growth(
    source: Source, periods: Periods, age_days: int
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, Any]]:
    """LTV at ``age_days`` (paid revenue in a user's first ``age_days`` days / users) of the
    cohort whose age is reached in the period, against the cohort reaching it 52 weeks
    earlier: growth = LTV now / LTV a year earlier - 1. n/a where the users table does not
    reach back a year plus the age (the earlier cohort would be cut)."""
    if not source.has("users") or not source.has("orders"):
        return [], {"ltv_growth": "kpi_dashboard.na.no_users"}, {}
    cohorts = ltv_cohorts(source, periods, age_days=age_days)
    first = cohorts.attrs.get("first_signup")
    first_day = (
        None
        if first is None
        else pd.Timestamp(first).tz_localize("UTC").tz_convert(source.timezone).date()
    )
    table = cohorts.set_index(["shift", "k"])
    rows = []
    for k in range(periods.count):
        reach = periods[k].start - timedelta(days=YEAR_DAYS + int(age_days))
        now, before = _ltv(table, 0, k), _ltv(table, 1, k)
        growth = math.nan
        if first_day is not None and first_day <= reach and before > 0:
            growth = now / before - 1
        rows.append(_row("ltv_growth", k, growth, now, before))
    now, before = _ltv(table, 0, 0), _ltv(table, 1, 0)
    notes = {}
    if math.isnan(rows[0]["value"]):
        notes["ltv_growth"] = "kpi_dashboard.na.no_ltv_year"
    detail = {
        "age_days": int(age_days),
        "ltv": None if math.isnan(now) else now,
        "ltv_year_earlier": None if math.isnan(rows[0]["value"]) else before,
    }
    return rows, notes, detail


def _ltv(table: pd.DataFrame, shift: int, k: int) -> float:
    if (shift, k) not in table.index:
        return math.nan
    row = table.loc[(shift, k)]
    return float(row["revenue"]) / float(row["users"]) if row["users"] else math.nan
