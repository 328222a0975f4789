"""Campaign review (活动复盘): did the campaign hit its targets, what did it really add, at what
cost, which channels and steps worked, and what to do next time (PDCA)?

Two kinds of source feed the same review:

* **Events and orders** (the sample shop, a real warehouse): ``campaigns``, ``campaign_members``
  (``group`` treatment / holdout, ``inviter_id`` for referrals), ``orders``, ``events`` (touches
  ``campaign_view`` / ``campaign_click`` with a ``channel``, ``campaign_join``, ``invite_sent``)
  and ``users``. Every group-by over them is one Ibis expression run by the engine; pandas gets
  per-group sums, per-day counts, per-channel counts and aggregated journeys.
* **Per-user outcomes** (a CRM test export such as Hillstrom's e-mail test): the contract's
  ``experiment_results`` table, one row per customer with ``variant`` and outcome columns. Each
  variant other than ``holdout_variant`` is a campaign compared against that holdout.

Conventions (each is printed in the report):

* **Holdout window**: a member's outcome counts paid orders (status ``paid`` or no status) placed
  from the campaign's ``start_ts`` to its ``end_ts`` (inclusive). Members invited by another user
  (``inviter_id`` set) were not randomised and are left out of the holdout comparison.
* **Lift**: Welch's t-test on per-user conversion (0/1), revenue and orders (``opsbook.stats``);
  the relative lift has its own delta-method interval; Holm-adjusted p-values across the metrics.
* **Incremental** conversions / revenue = absolute lift × treatment users, with the lift's
  interval scaled the same way. **iROI** = incremental revenue / spend (the KPI system's "1:3"
  ratio form; net iROI = iROI − 1). Spend is a known total, so iROI's interval is the incremental
  revenue interval divided by spend (a linear map: exact under the same normal approximation, no
  delta method needed). Cost per incremental conversion = spend / incremental conversions; its
  interval inverts the conversion interval (Fieller's construction with a known numerator) and
  is unbounded when that interval reaches 0.
* **Without a holdout**: the counterfactual of the site's daily paid orders and revenue from the
  ``baseline_days`` before the start (``opsbook.stats.counterfactual.causal_impact``; days of other
  campaigns and anomalous days in the pre-period are treated as missing), or, with
  ``counterfactual="did"``, difference-in-differences of members against non-members on random
  user buckets (clusters), with a pre-trend check.
* **ROAS** = gross campaign revenue (orders carrying the ``campaign_id``; without that column the
  members' paid orders in the window) / spend. **AOV lift** = AOV of those orders / AOV of all
  paid orders in the baseline period − 1.
* **Participants** = users with a ``campaign_join`` event (without any: treatment members);
  **conversion** = participants with a paid order within ``conversion_window_days`` after joining.
* **K** = invitations per participant × invitation conversion = invitees / participants
  (invitations: ``invite_sent`` events; invitees: members with ``inviter_id``).
* **CAC** = spend / users acquired by the campaign (members who signed up between the start and
  the end + ``conversion_window_days``, invitees included).
* **Funnel** (strict order): exposed (first ``campaign_view``) → clicked after exposure → joined
  after the click → paid order within ``conversion_window_days`` of joining; by the channel of
  the first exposure.
* **Attribution**: a journey is the campaign touches (``campaign_view``/``campaign_click`` with a
  channel) within ``conversion_window_days`` before a paid order placed between the start and
  end + window (one journey per order), or all touches of a touched user who never ordered (a
  null journey). ``time_decay`` weighs a touch ``d`` days before the order by ``2^(−d/half_life)``
  (computed in the engine from the timestamps); the other models come from
  :func:`opsbook.stats.attribution.attribution` on the aggregated journeys.
* **Anomalous days**: site-wide paid orders per local day, divided by the usual weekday
  pattern, flagged by :func:`opsbook.stats.timeseries.flag_anomalies` (robust z against a 7-day
  rolling median) with campaign days left out of the baseline; on campaign days only a gap or
  a drop counts. A zero day where fewer than 5 orders are normal is not a gap.
* **Targets**: the campaigns table's ``target_*`` columns, else the config's
  ``reports.campaign_review.targets``, else the KPI system's defaults (DOMAIN.md). Status: green
  when the target is met, amber within ``amber_band`` (10 %) of it, red otherwise.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from IPython.display import HTML, display

from opsbook.data import Source, inclusive_end
from opsbook.engine import keep
from opsbook.i18n import t as translate
from opsbook.plots import PALETTE, STATUS_COLOURS, figure, signed_percent_ticks
from opsbook.report import Report, jsonable
from opsbook.retention import paid_orders
from opsbook.stats import (
    CausalImpactResult,
    DidResult,
    SampleStats,
    adjust_pvalues,
    causal_impact,
    compare_means,
    diff_in_diff,
)
from opsbook.stats.attribution import attribution
from opsbook.stats.timeseries import complete_days, flag_anomalies, weekday_factors

__all__ = [
    "DEFAULT_TARGETS",
    "KPIS",
    "CampaignResult",
    "CampaignReview",
    "Settings",
    "attribution",
    "attribution_paths",
    "catalogue",
    "funnel_counts",
    "holdout_sums",
    "lift_table",
    "review",
    "status_of",
]

Mode = Literal["events", "outcomes"]
Method = Literal["holdout", "causal_impact", "did"]
Counterfactual = Literal["causal_impact", "did"]

# KPI rows of the scorecard, in order; which way is better; the shown format
KPIS: tuple[str, ...] = ("participants", "conversion", "aov_lift", "k_factor", "roi", "roas", "cac")
DIRECTION = {"cac": "lower"}
KPI_FORMAT = {
    "participants": "int",
    "conversion": "pct",
    "aov_lift": "signed_pct",
    "k_factor": "float",
    "roi": "float",
    "roas": "float",
    "cac": "money",
}
# the operations KPI system (DOMAIN.md); None: no target (shown, not scored)
DEFAULT_TARGETS: dict[str, float | None] = {
    "participants": 10_000,
    "conversion": 0.10,
    "aov_lift": 0.20,
    "k_factor": 1.5,
    "roi": 3.0,
    "roas": None,
    "cac": None,
}
AMBER_BAND = 0.10
# campaigns-table columns naming a target, and the KPI they set
TARGET_COLUMNS = {
    "target_participants": "participants",
    "target_conversion": "conversion",
    "target_aov_lift": "aov_lift",
    "target_k": "k_factor",
    "target_k_factor": "k_factor",
    "target_roi": "roi",
    "target_roas": "roas",
    "target_cac": "cac",
}
METRICS_EVENTS: tuple[str, ...] = ("conversion", "revenue", "orders")
PROPORTIONS = ("conversion", "visit")
TOUCH_EVENTS = ("campaign_view", "campaign_click")
# every event this module reads: each names its campaign
CAMPAIGN_EVENTS = (*TOUCH_EVENTS, "campaign_join", "invite_sent")
UNKNOWN_CHANNEL = "(unknown)"
DID_BUCKETS = 40
LN2 = math.log(2.0)
STEPS = ("exposed", "clicked", "joined", "ordered")
ALL_STEPS = ("exposed", "visited", "clicked", "joined", "ordered")  # outcome sources: visited


def steps_of(funnel: pd.DataFrame) -> tuple[str, ...]:
    """The funnel steps a funnel frame holds, in order."""
    return tuple(s for s in ALL_STEPS if s in funnel.columns)


# ================================================================================ settings
@dataclass(frozen=True)
class Settings:
    """The review's parameters; bad values raise at once."""

    conversion_window_days: int = 7
    baseline_days: int = 35
    alpha: float = 0.05
    half_life: float = 7.0
    counterfactual: Counterfactual = "causal_impact"
    anomaly_threshold: float = 4.0
    holdout_variant: str = "holdout"
    outcome_metrics: tuple[str, ...] | None = None
    targets: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (isinstance(self.conversion_window_days, int) and self.conversion_window_days >= 0):
            raise ValueError(
                f"conversion_window_days must be an integer >= 0, got {self.conversion_window_days!r}"
            )
        if not (isinstance(self.baseline_days, int) and self.baseline_days >= 7):
            raise ValueError(f"baseline_days must be an integer >= 7, got {self.baseline_days!r}")
        if not (isinstance(self.alpha, int | float) and 0 < self.alpha < 1):
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if not (isinstance(self.half_life, int | float) and self.half_life > 0):
            raise ValueError(f"half_life must be > 0 (days), got {self.half_life!r}")
        if self.counterfactual not in ("causal_impact", "did"):
            raise ValueError(
                f"counterfactual must be causal_impact or did, got {self.counterfactual!r}"
            )
        if not self.anomaly_threshold > 0:
            raise ValueError(f"anomaly_threshold must be > 0, got {self.anomaly_threshold!r}")
        unknown = sorted(set(self.targets) - set(DEFAULT_TARGETS) - {"amber_band"})
        if unknown:
            raise ValueError(
                f"unknown target(s) {unknown}; known: {sorted(DEFAULT_TARGETS)} and amber_band"
            )

    @property
    def amber_band(self) -> float:
        return float(self.targets.get("amber_band", AMBER_BAND))

    def target_defaults(self) -> dict[str, float | None]:
        merged = dict(DEFAULT_TARGETS)
        merged.update({k: v for k, v in self.targets.items() if k in DEFAULT_TARGETS})
        return merged


def status_of(
    actual: float | None, target: float | None, direction: str = "higher", band: float = AMBER_BAND
) -> str | None:
    """Red/amber/green of ``actual`` against ``target``: green when met, amber within ``band`` ×
    |target| of it, red beyond; None when either is missing (not scored)."""
    if actual is None or target is None or not np.isfinite(actual) or not np.isfinite(target):
        return None
    margin = band * abs(target)
    if direction == "lower":
        return "green" if actual <= target else "amber" if actual <= target + margin else "red"
    return "green" if actual >= target else "amber" if actual >= target - margin else "red"


# ================================================================================ small helpers
def _id_text(value: Any) -> str:
    """A campaign id as text: 101, 101.0 and "101" all read "101"."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def _id_equals(column: ir.Value, value: Any) -> ir.BooleanValue:
    kind = column.type()
    if kind.is_numeric():
        try:
            number = float(_id_text(value))
        except ValueError:
            return ibis.literal(False)
        return column == (number if kind.is_floating() else int(number))
    return column.cast("string") == _id_text(value)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _div(a: Any, b: Any) -> float | None:
    a, b = _finite(a), _finite(b)
    if a is None or b is None or b == 0:
        return None
    return a / b


def _events(source: Source, campaign: Any, names: Sequence[str]) -> ir.Table | None:
    """Events of ``campaign`` (None: every campaign) named ``names`` (some of
    :data:`CAMPAIGN_EVENTS`); None without events."""
    if not source.has("events") or "campaign_id" not in source.columns("events"):
        return None
    ev = source.known(CAMPAIGN_EVENTS_KEY)
    if ev is None:
        ev = source.table("events")
    ev = ev.filter(ev.user_id.notnull() & ev.ts.notnull() & ev.event.isin(list(names)))
    ev = ev.filter(ev.campaign_id.notnull())
    return ev if campaign is None else ev.filter(_id_equals(ev.campaign_id, campaign))


CAMPAIGN_EVENTS_KEY = "campaign_events"  # Source.once key of keep_campaign_events


def keep_campaign_events(source: Source, events: ir.Table | None = None) -> ir.Table | None:
    """Keep ``source``'s campaign events (:data:`CAMPAIGN_EVENTS`, a small share of all
    events) on the engine: this module's questions on ``source`` read them from then on, not
    every event (a review asks dozens). ``events``: those rows when known (a view of a source
    that keeps them); default: computed once. Returns them (None without events)."""

    def compute() -> ir.Table | None:
        if events is not None:
            return events
        found = _events(source, None, CAMPAIGN_EVENTS)
        return None if found is None else keep(found)

    return source.once(CAMPAIGN_EVENTS_KEY, compute)


def _local_day(stamp: Any, tz: str) -> pd.Timestamp:
    """The local calendar day (naive midnight) of a naive-UTC instant."""
    return pd.Timestamp(stamp).tz_localize("UTC").tz_convert(tz).tz_localize(None).normalize()


def _count(expr: ir.Table) -> int:
    return int(expr.count().execute())


# ================================================================================ catalogue
def catalogue(source: Source, settings: Settings | None = None) -> pd.DataFrame:
    """One row per campaign: key (id as text), campaign_id, name, channel, start, end (naive
    UTC), spend, the target_* columns, treatment / holdout members and has_holdout.

    Events sources read ``campaigns`` and count ``campaign_members`` in the engine; outcome
    sources (``experiment_results``) list each variant but the holdout as a campaign."""
    settings = settings or Settings()
    if _mode(source) == "outcomes":
        er = source.table("experiment_results")
        counts = er.group_by(variant=er.variant.cast("string")).aggregate(n=er.count()).execute()
        holdout_n = int(counts.loc[counts.variant == settings.holdout_variant, "n"].sum())
        rows = [
            {
                "key": v,
                "campaign_id": v,
                "name": v,
                "channel": None,
                "start": pd.NaT,
                "end": pd.NaT,
                "spend": None,
                "treatment_members": int(n),
                "holdout_members": holdout_n,
            }
            for v, n in sorted(zip(counts.variant, counts.n, strict=True))
            if v != settings.holdout_variant
        ]
        frame = pd.DataFrame(rows)
        if source.has("campaigns"):
            # names, spend and targets of the variants when a campaigns table describes them
            extra = source.table("campaigns").execute()
            extra["key"] = [_id_text(v) for v in extra["campaign_id"]]
            keep = ["key"] + [c for c in extra.columns if c in ("name", "spend", "channel")]
            keep += [c for c in extra.columns if c.startswith("target_")]
            frame = frame.drop(columns=[c for c in keep if c != "key" and c in frame]).merge(
                extra[keep], on="key", how="left"
            )
            frame["name"] = frame["name"].fillna(frame["key"])
        frame["has_holdout"] = holdout_n > 0
        return frame.reset_index(drop=True)

    table = source.table("campaigns").execute()
    if table.empty:
        raise ValueError("the campaigns table is empty: nothing to review")
    frame = table.rename(columns={"start_ts": "start", "end_ts": "end"})
    frame["key"] = [_id_text(v) for v in frame["campaign_id"]]
    for column in ("channel", "spend"):
        if column not in frame.columns:
            frame[column] = None
    frame["treatment_members"] = 0
    frame["holdout_members"] = 0
    if source.has("campaign_members"):
        members = source.table("campaign_members")
        members = members.mutate(grp=_group_expr(members))
        counts = (
            members.group_by(key=members.campaign_id)
            .aggregate(
                treatment=(members.grp != "holdout").cast("int64").sum(),
                holdout=(members.grp == "holdout").cast("int64").sum(),
            )
            .execute()
        )
        counts["key"] = [_id_text(k) for k in counts["key"]]
        frame = frame.merge(counts, on="key", how="left")
        frame["treatment_members"] = frame["treatment"].fillna(0).astype("int64")
        frame["holdout_members"] = frame["holdout"].fillna(0).astype("int64")
        frame = frame.drop(columns=["treatment", "holdout"])
    frame["has_holdout"] = frame["holdout_members"] > 0
    return frame.sort_values(["start", "key"]).reset_index(drop=True)


def _group_expr(members: ir.Table) -> ir.StringValue:
    if "group" not in members.columns:
        return ibis.literal("treatment")
    return members["group"].cast("string").lower().strip().fill_null("treatment")


def _mode(source: Source) -> Mode:
    if source.has("campaigns") and source.has("orders"):
        return "events"
    if source.has("experiment_results"):
        return "outcomes"
    missing = [t for t in ("campaigns", "orders") if not source.has(t)]
    raise ValueError(
        "a campaign review needs campaigns and orders (with campaign_members for a holdout), or "
        f"per-user outcomes in experiment_results; the source lacks {', '.join(missing)}"
    )


def resolve(frame: pd.DataFrame, campaign_id: Any) -> list[str]:
    """Keys of the campaigns to review: ``campaign_id`` (id or name), every campaign for
    ``"all"``, or by default the most recent campaign with a holdout (else the most recent)."""
    if campaign_id is None or (isinstance(campaign_id, str) and not campaign_id.strip()):
        with_holdout = frame[frame["has_holdout"]]
        pick = with_holdout if not with_holdout.empty else frame
        if pick["start"].notna().any():
            pick = pick.sort_values("start")
        return [pick["key"].iloc[-1]]
    if isinstance(campaign_id, str) and campaign_id.strip().lower() == "all":
        return list(frame["key"])
    text = _id_text(campaign_id)
    if text in set(frame["key"]):
        return [text]
    by_name = frame[frame["name"].astype(str) == str(campaign_id)]
    if not by_name.empty:
        return [by_name["key"].iloc[0]]
    raise ValueError(
        f"no campaign {campaign_id!r}; campaigns are: "
        + ", ".join(f"{k} ({n})" for k, n in zip(frame["key"], frame["name"], strict=True))
        + ', or "all"'
    )


# ================================================================================ engine steps
def _members(source: Source, campaign: Any) -> ir.Table:
    """``user_id, grp, invited, mts`` of the campaign's members."""
    m = source.table("campaign_members")
    m = m.filter(_id_equals(m.campaign_id, campaign) & m.user_id.notnull())
    invited = m.inviter_id.notnull() if "inviter_id" in m.columns else ibis.literal(False)
    mts = m.ts if "ts" in m.columns else ibis.null("timestamp")
    return m.select(user_id=m.user_id, grp=_group_expr(m), invited=invited, mts=mts)


def _first_exposure(source: Source, campaign: Any) -> ir.Table | None:
    """``user_id, exposed_ts, channel`` of each user's first ``campaign_view`` of the campaign."""
    views = _events(source, campaign, ("campaign_view",))
    if views is None:
        return None
    channel = views.channel.argmin(views.ts) if "channel" in views.columns else ibis.null("string")
    return views.group_by("user_id").aggregate(exposed_ts=views.ts.min(), channel=channel)


def holdout_sums(source: Source, row: Mapping[str, Any]) -> pd.DataFrame:
    """Per group (treatment / holdout) and first-exposure channel: users ``n``, converted users,
    Σ revenue, Σ revenue², Σ orders, Σ orders² of paid orders between start and end -- the
    sufficient statistics of the holdout comparison, summed in the engine."""
    members = _members(source, row["key"]).filter(lambda t: ~t.invited)
    members = members.select("user_id", "grp").distinct()
    # the campaign's end is the last instant it runs: orders at it count
    paid = paid_orders(source, since=row["start"], until=inclusive_end(row["end"]))
    per_user = paid.group_by("user_id").aggregate(n_orders=paid.count(), revenue=paid.amount.sum())
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
            revenue=j.revenue.sum(),
            revenue_sq=(j.revenue * j.revenue).sum(),
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
        aggs[m] = value.sum()
        aggs[f"{m}_sq"] = (value * value).sum()
    out = er.group_by(grp=er.variant.cast("string")).aggregate(**aggs).execute()
    return out.fillna(0.0)


def outcome_metrics(source: Source, settings: Settings) -> tuple[str, ...]:
    """The outcome columns compared in an outcomes source (parameter, else the usual names)."""
    columns = source.columns("experiment_results")
    if settings.outcome_metrics:
        missing = [m for m in settings.outcome_metrics if m not in columns]
        if missing:
            raise ValueError(
                f"outcome_metrics {missing} are not columns of experiment_results ({columns})"
            )
        return tuple(settings.outcome_metrics)
    found = tuple(m for m in ("visit", "conversion", "revenue", "orders") if m in columns)
    if not found:
        raise ValueError(
            "experiment_results has none of visit, conversion, revenue, orders: name the "
            "outcome columns with the parameter outcome_metrics"
        )
    return found


def _sample(frame: pd.DataFrame, metric: str) -> SampleStats:
    n = int(frame["n"].sum())
    return SampleStats(
        n=n, sum=float(frame[metric].sum()), sum_squares=float(frame[f"{metric}_sq"].sum())
    )


def lift_table(
    sums: pd.DataFrame, metrics: Sequence[str], *, alpha: float, holdout: str = "holdout"
) -> pd.DataFrame:
    """Treatment (every group but ``holdout``, summed) vs holdout on each metric: means,
    absolute and relative lift with intervals, Welch p-value and Holm-adjusted p-value."""
    control = sums[sums["grp"] == holdout]
    treated = sums[sums["grp"] != holdout]
    rows = []
    for metric in metrics:
        effect = compare_means(_sample(control, metric), _sample(treated, metric), alpha=alpha)
        rows.append(
            {
                "metric": metric,
                "treatment_n": effect.treatment_n,
                "holdout_n": effect.control_n,
                "treatment_mean": effect.treatment_mean,
                "holdout_mean": effect.control_mean,
                "abs_lift": effect.abs_lift,
                "abs_low": effect.abs_ci[0],
                "abs_high": effect.abs_ci[1],
                "rel_lift": effect.rel_lift,
                "rel_low": effect.rel_ci[0],
                "rel_high": effect.rel_ci[1],
                "p_value": effect.p_value,
                "flag": effect.flag,
            }
        )
    frame = pd.DataFrame(rows)
    # metrics without a p-value pass through as NaN and do not count in the family
    frame["p_holm"] = adjust_pvalues(frame["p_value"].to_numpy(dtype=float), "holm")
    frame["significant"] = frame["p_value"] < alpha
    return frame


def incremental(lifts: pd.DataFrame, spend: float | None) -> dict[str, Any]:
    """Incremental conversions and revenue (absolute lift × treatment users, same interval),
    iROI = incremental revenue / spend with its interval, and the cost per incremental
    conversion (interval by inverting the conversion interval; None where unbounded)."""
    by = lifts.set_index("metric")
    out: dict[str, Any] = {}
    for metric, name in (("conversion", "conversions"), ("revenue", "revenue")):
        if metric not in by.index:
            out[f"incremental_{name}"] = None
            out[f"incremental_{name}_ci"] = [None, None]
            continue
        r = by.loc[metric]
        n = r["treatment_n"]
        out[f"incremental_{name}"] = _finite(r["abs_lift"] * n)
        out[f"incremental_{name}_ci"] = [_finite(r["abs_low"] * n), _finite(r["abs_high"] * n)]
    rev, (rev_lo, rev_hi) = out["incremental_revenue"], out["incremental_revenue_ci"]
    out["iroi"] = _div(rev, spend)
    out["iroi_ci"] = [_div(rev_lo, spend), _div(rev_hi, spend)]
    out["iroi_net"] = out["iroi"] - 1 if out["iroi"] is not None else None
    conv, (lo, hi) = out["incremental_conversions"], out["incremental_conversions_ci"]
    cost = _div(spend, conv) if conv and conv > 0 else None
    out["cost_per_incremental_conversion"] = cost
    out["cost_per_incremental_conversion_ci"] = [
        _div(spend, hi) if cost is not None and hi and hi > 0 else None,
        _div(spend, lo) if cost is not None and lo and lo > 0 else None,
    ]
    return out


def participation(source: Source, row: Mapping[str, Any], window_days: int) -> dict[str, Any]:
    """Participants (``campaign_join`` users; without any, treatment members) and those with a
    paid order within ``window_days`` after joining, counted in the engine."""
    joins = _events(source, row["key"], ("campaign_join",))
    if joins is not None:
        part = joins.group_by("user_id").aggregate(part_ts=joins.ts.min())
        n, converted = _converted_after(source, part, window_days)
        if n:
            return {"participants": n, "converted": converted, "definition": "join_event"}
    if not source.has("campaign_members"):
        return {"participants": None, "converted": None, "definition": None}
    m = _members(source, row["key"])
    m = m.filter((m.grp != "holdout") & ~m.invited)
    part = m.group_by("user_id").aggregate(
        part_ts=ibis.coalesce(m.mts.min(), ibis.literal(row["start"]).cast("timestamp"))
    )
    n, converted = _converted_after(source, part, window_days)
    return {"participants": n, "converted": converted, "definition": "members"}


def _converted_after(source: Source, part: ir.Table, window_days: int) -> tuple[int, int]:
    """(users of ``part``, those with a paid order within ``window_days`` of ``part_ts``)."""
    paid = paid_orders(source).select(buyer="user_id", ots="ts")
    hit = part.join(paid, part.user_id == paid.buyer)
    hit = hit.filter(
        (hit.ots >= hit.part_ts) & (hit.ots <= hit.part_ts + ibis.interval(days=int(window_days)))
    )
    buyers = hit.select(bid=hit.user_id).distinct()
    j = part.left_join(buyers, part.user_id == buyers.bid)
    out = j.aggregate(n=j.count(), converted=j.bid.notnull().cast("int64").sum()).execute()
    return int(out["n"].iloc[0]), int(out["converted"].iloc[0] or 0)


def order_values(source: Source, row: Mapping[str, Any], baseline_days: int) -> dict[str, Any]:
    """Gross campaign orders and revenue, their AOV and the baseline AOV (all paid orders in the
    ``baseline_days`` before the start)."""
    paid = paid_orders(source)
    if "campaign_id" in paid.columns:
        camp = paid.filter(paid.campaign_id.notnull() & _id_equals(paid.campaign_id, row["key"]))
        basis = "campaign_id"
    else:
        members = _members(source, row["key"]).filter(lambda t: t.grp != "holdout")
        camp = paid.filter((paid.ts >= row["start"]) & (paid.ts <= row["end"]))
        camp = camp.semi_join(members.select("user_id"), "user_id")
        basis = "members"
    start = pd.Timestamp(row["start"]).to_pydatetime()
    base = paid.filter((paid.ts >= start - timedelta(days=int(baseline_days))) & (paid.ts < start))
    c = camp.aggregate(n=camp.count(), revenue=camp.amount.sum()).execute().iloc[0]
    b = base.aggregate(n=base.count(), revenue=base.amount.sum()).execute().iloc[0]
    aov = _div(c["revenue"], c["n"])
    base_aov = _div(b["revenue"], b["n"])
    return {
        "campaign_orders": int(c["n"]),
        "gross_revenue": float(c["revenue"] or 0.0),
        "aov": aov,
        "baseline_aov": base_aov,
        "aov_lift": aov / base_aov - 1 if aov is not None and base_aov else None,
        "revenue_basis": basis,
    }


def referral(source: Source, row: Mapping[str, Any]) -> dict[str, Any]:
    """Invitations (``invite_sent`` events) and invitees (members with ``inviter_id``)."""
    invites = _events(source, row["key"], ("invite_sent",))
    n_inv = _count(invites) if invites is not None else 0
    invitees = 0
    if source.has("campaign_members") and "inviter_id" in source.columns("campaign_members"):
        m = _members(source, row["key"])
        invitees = _count(m.filter(m.invited).select("user_id").distinct())
    return {"invitations": n_inv, "invitees": invitees}


def acquired_users(source: Source, row: Mapping[str, Any], window_days: int) -> ir.Table | None:
    """``user_id`` of users the campaign acquired: invitees, and members who signed up between
    the start and the end + ``window_days``."""
    if not source.has("campaign_members"):
        return None
    m = _members(source, row["key"])
    end = pd.Timestamp(row["end"]).to_pydatetime() + timedelta(days=int(window_days))
    if source.has("users"):
        users = source.table("users")
        new = users.filter((users.signup_ts >= row["start"]) & (users.signup_ts <= end))
        new_ids = new.select(new_id=new.user_id).distinct()
        m = m.left_join(new_ids, m.user_id == new_ids.new_id)
        m = m.filter(m.invited | m.new_id.notnull())
    else:
        m = m.filter(m.invited)
    return m.select("user_id").distinct()


def funnel_counts(source: Source, row: Mapping[str, Any], window_days: int) -> pd.DataFrame:
    """Per first-exposure channel: exposed, clicked after exposure, joined after clicking, and
    ordered (paid order within ``window_days`` after joining), strict order, in the engine.
    Without view events the treatment members are the exposed (channel: the campaign's)."""
    first = _first_exposure(source, row["key"])
    if first is not None:
        out = _funnel_from(source, row, first, window_days)
        if not out.empty and out["exposed"].sum() > 0:
            return out
    if not source.has("campaign_members"):
        return pd.DataFrame(columns=["channel", *STEPS])
    m = _members(source, row["key"])
    m = m.filter((m.grp != "holdout") & ~m.invited)
    first = m.group_by("user_id").aggregate(
        exposed_ts=ibis.coalesce(m.mts.min(), ibis.literal(row["start"]).cast("timestamp")),
        channel=ibis.literal(str(row.get("channel") or UNKNOWN_CHANNEL)),
    )
    return _funnel_from(source, row, first, window_days)


def _funnel_from(
    source: Source, row: Mapping[str, Any], first: ir.Table, window_days: int
) -> pd.DataFrame:
    clicks = _events(source, row["key"], ("campaign_click",))
    joins = _events(source, row["key"], ("campaign_join",))
    f = first.mutate(channel=first.channel.cast("string").fill_null(UNKNOWN_CHANNEL))
    never = ibis.null("timestamp")
    if clicks is not None:
        # the first click after the exposure
        c = clicks.join(first.select("user_id", fx="exposed_ts"), "user_id")
        c = c.filter(c.ts >= c.fx).group_by("user_id").aggregate(click_ts=c.ts.min())
        f = f.left_join(c, "user_id").drop("user_id_right")
    else:
        f = f.mutate(click_ts=never)
    if joins is not None:
        jn = joins.join(f.select("user_id", "click_ts"), "user_id")
        jn = jn.filter(jn.click_ts.notnull() & (jn.ts >= jn.click_ts))
        jn = jn.group_by("user_id").aggregate(join_ts=jn.ts.min())
        f = f.left_join(jn, "user_id").drop("user_id_right")
    else:
        f = f.mutate(join_ts=never)
    paid = paid_orders(source).select(buyer="user_id", ots="ts")
    o = f.filter(f.join_ts.notnull()).select("user_id", "join_ts")
    o = o.join(paid, o.user_id == paid.buyer)
    o = o.filter((o.ots >= o.join_ts) & (o.ots <= o.join_ts + ibis.interval(days=int(window_days))))
    o = o.select(buyer_id=o.user_id).distinct()
    f = f.left_join(o, f.user_id == o.buyer_id)
    out = (
        f.group_by("channel")
        .aggregate(
            exposed=f.count(),
            clicked=f.click_ts.notnull().cast("int64").sum(),
            joined=f.join_ts.notnull().cast("int64").sum(),
            ordered=f.buyer_id.notnull().cast("int64").sum(),
        )
        .execute()
    )
    return out.sort_values("exposed", ascending=False).reset_index(drop=True)


def funnel_table(counts: pd.DataFrame) -> pd.DataFrame:
    """``counts`` (channel, exposed, clicked, joined, ordered) plus a total row, and per step the
    step conversion (from the previous step) and the overall conversion (from exposed)."""
    if counts.empty:
        return counts
    steps = steps_of(counts)
    total = counts[list(steps)].sum().to_frame().T
    total.insert(0, "channel", "__total__")
    frame = pd.concat([counts, total], ignore_index=True)
    for prev, step in pairwise(steps):
        frame[f"{step}_rate"] = frame[step] / frame[prev].where(frame[prev] > 0)
    frame["overall"] = frame[steps[-1]] / frame["exposed"].where(frame["exposed"] > 0)
    for column in steps:
        frame[column] = frame[column].astype("int64")
    return frame


def biggest_drop(funnel: pd.DataFrame) -> tuple[str, str, float] | None:
    """(from step, to step, drop-off share) of the total funnel's weakest step."""
    if funnel.empty:
        return None
    total = funnel[funnel["channel"] == "__total__"].iloc[0]
    steps = steps_of(funnel)
    drops = [
        (prev, step, 1 - total[f"{step}_rate"])
        for prev, step in pairwise(steps)
        if pd.notna(total[f"{step}_rate"])
    ]
    return max(drops, key=lambda d: d[2]) if drops else None


# ---------------------------------------------------------------------------- attribution
def _touch_table(source: Source, keys: Sequence[str] | None) -> ir.Table | None:
    touches = _events(source, None, TOUCH_EVENTS)
    if touches is None or "channel" not in touches.columns:
        return None
    touches = touches.filter(touches.channel.notnull())
    if keys is not None:
        pred = ibis.literal(False)
        for key in keys:
            pred = pred | _id_equals(touches.campaign_id, key)
        touches = touches.filter(pred)
    return touches.select("user_id", tts="ts", channel=touches.channel.cast("string"))


def _conversions(
    source: Source, touches: ir.Table, windows: Sequence[tuple[datetime, datetime]], days: int
) -> ir.Table:
    """Touches within ``days`` before each paid order placed in one of ``windows``: one row
    per (order, touch) with the order's key, time and amount."""
    paid = paid_orders(source)
    pred = ibis.literal(False)
    for start, end in windows:
        pred = pred | ((paid.ts >= start) & (paid.ts <= end + timedelta(days=days)))
    paid = paid.filter(pred)
    key = paid.order_id if "order_id" in paid.columns else paid.user_id.cast("string")
    paid = paid.select(oid=key.cast("string"), buyer="user_id", ots="ts", amount="amount")
    j = paid.join(touches, paid.buyer == touches.user_id)
    return j.filter((j.tts < j.ots) & (j.tts >= j.ots - ibis.interval(days=int(days))))


_STEP_DIGITS = 9  # touches per journey are numbered 000000000, 000000001, ...


def _journeys(touches: ir.Table, keys: list[str], separator: str) -> ir.Table:
    """One row per ``keys`` with ``path``: its touches' channels, oldest first (ties by channel)
    joined by ``separator``. Ordered string aggregation is not on every engine (Spark has
    none), so each touch is prefixed with its zero-padded step number, the unordered list
    sorted, and the prefixes cut off."""
    step = ibis.row_number().over(group_by=keys, order_by=[touches.tts, touches.channel])
    labelled = touches.mutate(
        step=step.cast("string").lpad(_STEP_DIGITS, "0").concat(touches.channel)
    )
    steps = labelled.group_by(keys).aggregate(steps=labelled.step.collect())
    path = steps.steps.sort().map(lambda s: s.substr(_STEP_DIGITS)).join(separator)
    return steps.select(*keys, path=path)


def attribution_paths(
    source: Source,
    keys: Sequence[str] | None,
    windows: Sequence[tuple[datetime, datetime]],
    window_days: int,
    separator: str = " > ",
) -> pd.DataFrame:
    """The contract's ``paths`` input built from touch events in the engine: one journey per
    converting order (touches in the ``window_days`` before it, oldest first) and one null
    journey per touched user without a converting order. Columns path, conversions, value,
    nulls (aggregated per distinct path)."""
    touches = _touch_table(source, keys)
    empty = pd.DataFrame(columns=["path", "conversions", "value", "nulls"])
    if touches is None:
        return empty
    j = _conversions(source, touches, windows, window_days)
    conv = _journeys(j, ["oid", "amount"], separator)
    conv = conv.group_by("path").aggregate(conversions=conv.count(), value=conv.amount.sum())
    buyers = j.select(bid=j.buyer).distinct()
    lost = touches.left_join(buyers, touches.user_id == buyers.bid)
    lost = _journeys(lost.filter(lost.bid.isnull()), ["user_id"], separator)
    lost = lost.group_by("path").aggregate(nulls=lost.count())
    a = conv.execute()
    b = lost.execute()
    out = a.merge(b, on="path", how="outer").fillna({"conversions": 0, "value": 0.0, "nulls": 0})
    out = out.astype({"conversions": float, "value": float, "nulls": float})
    return out.sort_values(["conversions", "nulls"], ascending=False).reset_index(drop=True)


def time_decay_credit(
    source: Source,
    keys: Sequence[str] | None,
    windows: Sequence[tuple[datetime, datetime]],
    window_days: int,
    half_life: float,
) -> pd.DataFrame:
    """Time-decay attribution in days, in the engine: a touch ``d`` days before the order weighs
    ``2^(−d / half_life)``, normalised per order. Columns channel, time_decay, time_decay_value."""
    touches = _touch_table(source, keys)
    if touches is None:
        return pd.DataFrame(columns=["channel", "time_decay", "time_decay_value"])
    j = _conversions(source, touches, windows, window_days)
    # to the microsecond on every engine (Spark's epoch seconds are whole seconds)
    age = j.ots.delta(j.tts, unit="microsecond").cast("float64") / 86_400e6
    j = j.mutate(w=(-LN2 * age / float(half_life)).exp())
    total = j.group_by("oid").aggregate(wsum=j.w.sum())
    j = j.join(total, "oid")
    j = j.mutate(credit=j.w / j.wsum)
    out = (
        j.group_by("channel")
        .aggregate(time_decay=j.credit.sum(), time_decay_value=(j.credit * j.amount).sum())
        .execute()
    )
    return out


def attribution_table(
    paths: pd.DataFrame, decay: pd.DataFrame, *, separator: str = " > "
) -> pd.DataFrame:
    """One row per channel: journeys touching it, and the attributed conversions (and value) of
    first_touch, last_touch, linear, position_based (40/20/40), time_decay (days) and markov."""
    columns = ["first_touch", "last_touch", "linear", "position_based", "markov"]
    if paths.empty or paths["conversions"].sum() == 0:
        return pd.DataFrame(columns=["channel", "journeys", *columns, "time_decay"])
    table = attribution(paths, models=columns, separator=separator)
    table = table.reset_index()
    journeys = {
        channel: float(
            (paths["conversions"] + paths["nulls"])[
                paths["path"].map(lambda p, c=channel: c in [s.strip() for s in p.split(">")])
            ].sum()
        )
        for channel in table["channel"]
    }
    table.insert(1, "journeys", [int(journeys[c]) for c in table["channel"]])
    if not decay.empty:
        table = table.merge(decay, on="channel", how="left")
    else:
        table["time_decay"] = np.nan
        table["time_decay_value"] = np.nan
    table.attrs.update(
        removal_effects=table.attrs.get("removal_effects"),
        total_conversions=float(paths["conversions"].sum()),
    )
    return table


# ---------------------------------------------------------------------------- daily series
def daily_site(source: Source) -> pd.DataFrame:
    """Paid orders and revenue per local day over the whole data (engine), missing days 0."""
    paid = paid_orders(source)
    day = source.local_date(paid.ts)
    counts = (
        paid.group_by(date=day)
        .aggregate(orders=paid.count(), revenue=paid.amount.sum())
        .execute()
        .set_index("date")
    )
    if counts.empty:
        return pd.DataFrame(columns=["orders", "revenue"])
    orders = complete_days(counts["orders"])
    revenue = complete_days(counts["revenue"])
    return pd.DataFrame({"orders": orders, "revenue": revenue})


def daily_participants(source: Source, keys: Sequence[str] | None) -> pd.Series:
    """Distinct participants (``campaign_join``) per local day of the campaigns ``keys``."""
    joins = _events(source, None, ("campaign_join",))
    if joins is None:
        return pd.Series(dtype=float)
    if keys is not None:
        pred = ibis.literal(False)
        for key in keys:
            pred = pred | _id_equals(joins.campaign_id, key)
        joins = joins.filter(pred)
    counts = (
        joins.group_by(date=source.local_date(joins.ts))
        .aggregate(n=joins.user_id.nunique())
        .execute()
    )
    return (
        counts.set_index("date")["n"].astype(float) if not counts.empty else pd.Series(dtype=float)
    )


def campaign_days(frame: pd.DataFrame, tz: str) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(first local day, last local day, key) of every dated campaign."""
    out = []
    for row in frame.itertuples():
        if pd.notna(row.start) and pd.notna(row.end):
            out.append((_local_day(row.start, tz), _local_day(row.end, tz), row.key))
    return out


def flag_days(
    site: pd.DataFrame, periods: Sequence[tuple[pd.Timestamp, pd.Timestamp, str]], threshold: float
) -> pd.DataFrame:
    """Per day: orders and revenue with their robust-z flags; ``campaign`` names the campaign
    running that day (a spike on a campaign day is expected and not counted as an anomaly)."""
    if site.empty:
        return pd.DataFrame(
            columns=["date", "orders", "revenue", "baseline", "z", "flag", "revenue_flag",
                     "campaign", "anomaly"]
        )  # fmt: skip
    inside = pd.Series(False, index=site.index)
    for first, last, _ in periods:
        inside[(site.index >= first) & (site.index <= last)] = True
    inside = inside.to_numpy()
    # the weekly pattern is expected, not anomalous: flag the weekday-adjusted series
    factor = weekday_factors(site["orders"], inside)
    adjusted = site["orders"] / factor
    # campaign days are left out of the other days' baseline (a campaign is not "normal");
    # on campaign days only a gap or a drop against the whole series is an anomaly
    orders = flag_anomalies(adjusted.where(~inside), threshold=threshold)
    during = flag_anomalies(adjusted, threshold=threshold)
    orders["flag"] = np.where(
        inside, np.where(during["flag"].isin(["gap", "drop"]), during["flag"], ""), orders["flag"]
    )
    orders["baseline"] = orders["baseline"].where(~inside, during["baseline"]) * factor
    orders["z"] = orders["z"].where(~inside, during["z"])
    # a zero day where a handful of orders is normal (the first days of a shop) is no outage
    orders.loc[(orders["flag"] == "gap") & ~(orders["baseline"] >= 5), "flag"] = ""
    revenue = flag_anomalies(
        (site["revenue"] / weekday_factors(site["revenue"], inside)).where(~inside),
        threshold=threshold,
    )
    frame = pd.DataFrame(
        {
            "date": site.index,
            "orders": site["orders"].to_numpy(),
            "revenue": site["revenue"].to_numpy(),
            "baseline": orders["baseline"].to_numpy(),
            "z": orders["z"].to_numpy(),
            "flag": orders["flag"].to_numpy(),
            "revenue_flag": revenue["flag"].to_numpy(),
        }
    )
    running = pd.Series("", index=frame.index, dtype=object)
    for first, last, key in periods:
        inside = (frame["date"] >= first) & (frame["date"] <= last)
        running[inside] = key
    frame["campaign"] = running.to_numpy()
    # anomalies are judged on orders (revenue swings with single large baskets)
    frame["anomaly"] = frame["flag"] != ""
    return frame


# ---------------------------------------------------------------------------- counterfactuals
def impact_series(
    days: pd.DataFrame,
    column: str,
    first: pd.Timestamp,
    last: pd.Timestamp,
    baseline_days: int,
    mask: pd.Series,
) -> tuple[pd.Series, tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """The daily ``column`` from the pre-period start to ``last`` (at most the data's last day)
    with masked pre-period days (other campaigns, anomalies) set to NaN, and the (pre, post)
    periods."""
    data_first = days.index.min() + pd.Timedelta(days=1)  # the first day is usually partial
    last = min(last, days.index.max())
    pre_start = max(first - pd.Timedelta(days=int(baseline_days)), data_first)
    pre_end = first - pd.Timedelta(days=1)
    series = days.loc[pre_start:last, column].astype(float).copy()
    hidden = mask.reindex(series.index, fill_value=False) & (series.index <= pre_end)
    series[hidden] = np.nan
    return series, (pre_start, pre_end), (first, last)


def did_panel(
    source: Source, row: Mapping[str, Any], first: pd.Timestamp, last: pd.Timestamp,
    baseline_days: int, buckets: int = DID_BUCKETS,
) -> pd.DataFrame:  # fmt: skip
    """Members (treatment) vs users who are not members, in random user buckets (the units and
    clusters of the DiD): per bucket and local day, paid orders and revenue per user, from
    ``baseline_days`` before the start to the end. Aggregated in the engine."""
    tz_first = source.utc_from_local(first - pd.Timedelta(days=int(baseline_days)))
    tz_stop = source.utc_from_local(last + pd.Timedelta(days=1))
    members = _members(source, row["key"]).filter(lambda t: (t.grp != "holdout") & ~t.invited)
    members = members.select(mid="user_id").distinct()
    if source.has("users"):
        users = source.table("users")
        population = users.filter(users.signup_ts < row["start"]).select("user_id")
    else:
        population = paid_orders(source, until=row["start"]).select("user_id")
    population = population.distinct()
    pop = population.left_join(members, population.user_id == members.mid)
    pop = pop.select(
        "user_id",
        treated=pop.mid.notnull().cast("int64"),
        bucket=(pop.user_id.hash().abs() % buckets).cast("int64"),
    )
    sizes = pop.group_by("treated", "bucket").aggregate(users=pop.count()).execute()
    paid = paid_orders(source)
    paid = paid.filter((paid.ts >= tz_first) & (paid.ts < tz_stop))
    paid = paid.join(pop, "user_id")
    daily = (
        paid.group_by("treated", "bucket", date=source.local_date(paid.ts))
        .aggregate(orders=paid.count(), revenue=paid.amount.sum())
        .execute()
    )
    days = pd.date_range(first - pd.Timedelta(days=int(baseline_days)), last, freq="D")
    grid = sizes.merge(pd.DataFrame({"date": days}), how="cross")
    daily["date"] = pd.to_datetime(daily["date"])
    panel = grid.merge(daily, on=["treated", "bucket", "date"], how="left").fillna(
        {"orders": 0.0, "revenue": 0.0}
    )
    panel["orders_per_user"] = panel["orders"] / panel["users"]
    panel["revenue_per_user"] = panel["revenue"] / panel["users"]
    panel["post"] = (panel["date"] >= first).astype(int)
    panel["unit"] = panel["treated"].astype(str) + "-" + panel["bucket"].astype(str)
    return panel


# ================================================================================ results
@dataclass(frozen=True)
class CampaignResult:
    """Everything the review found for one campaign; frames are plain DataFrames."""

    key: str
    name: str
    channel: str | None
    start: pd.Timestamp | None  # local day
    end: pd.Timestamp | None
    spend: float | None
    method: Method
    numbers: dict[str, Any]
    scorecard: pd.DataFrame
    lifts: pd.DataFrame
    funnel: pd.DataFrame
    channels: pd.DataFrame
    quality: pd.DataFrame
    impact: CausalImpactResult | None = None
    impact_revenue: CausalImpactResult | None = None
    did: DidResult | None = None
    did_revenue: DidResult | None = None

    @property
    def targets_met(self) -> int:
        return int((self.scorecard["status"] == "green").sum())

    @property
    def targets_scored(self) -> int:
        return int(self.scorecard["status"].notna().sum())

    def holdout_metrics(self) -> dict[str, Any] | None:
        if self.method != "holdout" or self.lifts.empty:
            return None
        by = self.lifts.set_index("metric")
        n = self.numbers
        first = by.index[0]
        conv = by.loc["conversion"] if "conversion" in by.index else None
        rev = by.loc["revenue"] if "revenue" in by.index else None
        main = conv if conv is not None else by.loc[first]
        return {
            "treatment_users": int(main["treatment_n"]),
            "holdout_users": int(main["holdout_n"]),
            "conversion_treatment": _finite(conv["treatment_mean"]) if conv is not None else None,
            "conversion_holdout": _finite(conv["holdout_mean"]) if conv is not None else None,
            "rel_lift": _finite(main["rel_lift"]),
            "rel_lift_ci": [_finite(main["rel_low"]), _finite(main["rel_high"])],
            "abs_lift": _finite(main["abs_lift"]),
            "abs_lift_ci": [_finite(main["abs_low"]), _finite(main["abs_high"])],
            "p_value": _finite(main["p_value"]),
            "primary_metric": str(main.name),
            "revenue_per_user_treatment": _finite(rev["treatment_mean"])
            if rev is not None
            else None,
            "revenue_per_user_holdout": _finite(rev["holdout_mean"]) if rev is not None else None,
            "incremental_conversions": n.get("incremental_conversions"),
            "incremental_conversions_ci": n.get("incremental_conversions_ci"),
            "incremental_revenue": n.get("incremental_revenue"),
            "incremental_revenue_ci": n.get("incremental_revenue_ci"),
            "iroi": n.get("iroi"),
            "iroi_ci": n.get("iroi_ci"),
            "iroi_net": n.get("iroi_net"),
            "cost_per_incremental_conversion": n.get("cost_per_incremental_conversion"),
            "metrics": {
                str(m): {
                    "treatment_mean": _finite(r["treatment_mean"]),
                    "holdout_mean": _finite(r["holdout_mean"]),
                    "abs_lift": _finite(r["abs_lift"]),
                    "abs_lift_ci": [_finite(r["abs_low"]), _finite(r["abs_high"])],
                    "rel_lift": _finite(r["rel_lift"]),
                    "rel_lift_ci": [_finite(r["rel_low"]), _finite(r["rel_high"])],
                    "p_value": _finite(r["p_value"]),
                    "p_holm": _finite(r["p_holm"]),
                }
                for m, r in by.iterrows()
            },
        }

    def counterfactual_metrics(self) -> dict[str, Any] | None:
        if self.method == "causal_impact" and self.impact is not None:
            out = {"kpi": "orders", **self.impact.metrics()}
            if self.impact_revenue is not None:
                out["revenue"] = self.impact_revenue.metrics()
            return out
        if self.method == "did" and self.did is not None:
            out = {"kpi": "orders_per_user", **self.did.metrics()}
            if self.did_revenue is not None:
                out["revenue"] = self.did_revenue.metrics()
            return out
        return None

    def metrics(self) -> dict[str, Any]:
        n = self.numbers
        return jsonable(
            {
                "campaign_id": self.key,
                "name": self.name,
                "method": self.method,
                "start": self.start,
                "end": self.end,
                "participants": n.get("participants"),
                "conversion_rate": n.get("conversion_rate"),
                "k_factor": n.get("k_factor"),
                "spend": self.spend,
                "targets_met": self.targets_met,
                "targets_scored": self.targets_scored,
                "aov_lift": n.get("aov_lift"),
                "roas": n.get("roas"),
                "roi": n.get("iroi"),
                "cac": n.get("cac"),
                "new_users": n.get("new_users"),
                "incremental_conversions": n.get("incremental_conversions"),
                "incremental_revenue": n.get("incremental_revenue"),
                "incremental_revenue_ci": n.get("incremental_revenue_ci"),
                "iroi": n.get("iroi"),
                "iroi_ci": n.get("iroi_ci"),
                "holdout": self.holdout_metrics(),
                "counterfactual": self.counterfactual_metrics(),
                "scorecard": {
                    r.kpi: {"actual": r.actual, "target": r.target, "status": r.status}
                    for r in self.scorecard.itertuples()
                },
                "funnel": _funnel_metrics(self.funnel),
            }
        )


def _funnel_metrics(funnel: pd.DataFrame) -> dict[str, Any] | None:
    if funnel.empty:
        return None
    total = funnel[funnel["channel"] == "__total__"].iloc[0]
    drop = biggest_drop(funnel)
    return {
        **{step: int(total[step]) for step in steps_of(funnel)},
        "overall": _finite(total["overall"]),
        "biggest_drop": {"from": drop[0], "to": drop[1], "share": drop[2]} if drop else None,
    }


@dataclass(frozen=True)
class CampaignReview:
    """The review of one campaign, or of every campaign (``campaign_id == "all"``)."""

    campaign_id: str
    mode: Mode
    settings: Settings
    catalogue: pd.DataFrame
    results: tuple[CampaignResult, ...]
    attribution: pd.DataFrame
    paths: pd.DataFrame
    daily: pd.DataFrame
    period: tuple[pd.Timestamp, pd.Timestamp] | None
    timezone: str
    lang: str

    @property
    def single(self) -> CampaignResult | None:
        return self.results[0] if self.campaign_id != "all" else None

    @property
    def anomalies(self) -> pd.DataFrame:
        if self.daily.empty:
            return self.daily
        return self.daily[self.daily["anomaly"]].reset_index(drop=True)

    def comparison(self) -> pd.DataFrame:
        """One row per campaign: spend, method, participants, K, incremental revenue, iROI with
        interval, targets met."""
        rows = []
        for r in self.results:
            n = r.numbers
            lo, hi = n.get("iroi_ci") or [None, None]
            rows.append(
                {
                    "campaign_id": r.key,
                    "name": r.name,
                    "start": r.start,
                    "end": r.end,
                    "method": r.method,
                    "spend": r.spend,
                    "participants": n.get("participants"),
                    "conversion_rate": n.get("conversion_rate"),
                    "k_factor": n.get("k_factor"),
                    "incremental_revenue": n.get("incremental_revenue"),
                    "iroi": n.get("iroi"),
                    "iroi_low": lo,
                    "iroi_high": hi,
                    "targets_met": r.targets_met,
                    "targets_scored": r.targets_scored,
                }
            )
        return pd.DataFrame(rows)

    def pdca(self, lang: str | None = None) -> list[tuple[str, str]]:
        """The PDCA summary as (stage, sentence) pairs in ``lang``."""
        lang = lang or self.lang
        return [
            (stage, translate(key, lang, **fields))
            for stage, key, fields in _pdca_items(self, lang)
        ]

    def metrics(self) -> dict[str, Any]:
        anomalies = [
            {
                "date": r.date.date().isoformat(),
                "orders": r.orders,
                "flag": r.flag or r.revenue_flag,
            }
            for r in self.anomalies.itertuples()
        ]
        attribution_metrics = None
        if not self.attribution.empty:
            models = [c for c in ("first_touch", "last_touch", "linear", "position_based",
                                  "time_decay", "markov") if c in self.attribution.columns]  # fmt: skip
            attribution_metrics = {
                r["channel"]: {m: _finite(r[m]) for m in models}
                for _, r in self.attribution.iterrows()
            }
        common = {
            "mode": self.mode,
            "settings": {
                "conversion_window_days": self.settings.conversion_window_days,
                "baseline_days": self.settings.baseline_days,
                "alpha": self.settings.alpha,
                "half_life_days": self.settings.half_life,
                "counterfactual": self.settings.counterfactual,
            },
            "anomalies": anomalies,
            "attribution": attribution_metrics,
            "pdca": {lang: [s for _, s in self.pdca(lang)] for lang in ("zh", "en")},
        }
        if self.single is not None:
            return jsonable({**self.single.metrics(), **common})
        comparison = self.comparison()
        participants = [r.numbers.get("participants") for r in self.results]
        spends = [r.spend for r in self.results if r.spend is not None]
        converted = [r.numbers.get("converted") for r in self.results]
        known = [
            (p, c) for p, c in zip(participants, converted, strict=True) if p and c is not None
        ]
        return jsonable(
            {
                "campaign_id": "all",
                "method": None,
                "participants": sum(p for p in participants if p) if any(participants) else None,
                "conversion_rate": (
                    sum(c for _, c in known) / sum(p for p, _ in known) if known else None
                ),
                "k_factor": None,
                "spend": sum(spends) if spends else None,
                "targets_met": int(comparison["targets_met"].sum()),
                "targets_scored": int(comparison["targets_scored"].sum()),
                "holdout": None,
                "campaigns": [r.metrics() for r in self.results],
                **common,
            }
        )

    def headline(self) -> list[dict[str, Any]]:
        if self.single is None:
            comparison = self.comparison()
            by = "iroi" if comparison["iroi"].notna().any() else "incremental_revenue"
            best = comparison.dropna(subset=[by]).sort_values(by)
            return [
                {
                    "label": "campaign_review.h.campaigns",
                    "value": len(self.results),
                    "format": "int",
                },
                {
                    "label": "campaign_review.h.spend",
                    "value": comparison["spend"].sum(min_count=1),
                    "format": "money",
                },
                {
                    "label": "campaign_review.h.incremental_revenue",
                    "value": comparison["incremental_revenue"].sum(min_count=1),
                    "format": "money",
                },
                {
                    "label": f"campaign_review.h.best_{by}",
                    "value": best["name"].iloc[-1] if not best.empty else None,
                    "format": "text",
                },
                {
                    "label": "campaign_review.h.targets_met",
                    "value": f"{int(comparison['targets_met'].sum())} / "
                    f"{int(comparison['targets_scored'].sum())}",
                    "format": "text",
                },
            ]
        r = self.single
        card = r.scorecard.set_index("kpi")
        lift = r.holdout_metrics()
        return [
            {
                "label": "campaign_review.h.participants",
                "value": r.numbers.get("participants"),
                "format": "int",
                "status": card.loc["participants", "status"],
            },
            {
                "label": "campaign_review.h.rel_lift" if lift else "campaign_review.h.rel_effect",
                "value": lift["rel_lift"]
                if lift
                else _finite(r.impact.relative_effect if r.impact is not None else None),
                "format": "signed_pct",
                "status": None,
            },
            {
                "label": "campaign_review.h.iroi",
                "value": r.numbers.get("iroi"),
                "format": "float",
                "status": card.loc["roi", "status"],
            },
            {
                "label": "campaign_review.h.targets_met",
                "value": f"{r.targets_met} / {r.targets_scored}",
                "format": "text",
                "status": "green"
                if r.targets_scored and r.targets_met == r.targets_scored
                else "amber"
                if r.targets_met
                else "red",
            },
        ]


# ================================================================================ the review
def review(
    report: Report | Source,
    campaign_id: Any = None,
    *,
    conversion_window_days: int = 7,
    baseline_days: int = 35,
    alpha: float = 0.05,
    half_life: float = 7.0,
    counterfactual: Counterfactual = "causal_impact",
    anomaly_threshold: float = 4.0,
    holdout_variant: str = "holdout",
    outcome_metrics: Sequence[str] | None = None,
    targets: Mapping[str, Any] | None = None,
) -> CampaignReview:
    """Review ``campaign_id`` (an id or name; ``"all"``: every campaign; None: the most recent
    campaign with a holdout). Conventions: the module docstring."""
    source = report.source if isinstance(report, Report) else report
    lang = report.lang if isinstance(report, Report) else "en"
    if outcome_metrics is not None and isinstance(outcome_metrics, str):
        outcome_metrics = [outcome_metrics]
    settings = Settings(
        conversion_window_days=int(conversion_window_days),
        baseline_days=int(baseline_days),
        alpha=float(alpha),
        half_life=float(half_life),
        counterfactual=counterfactual,
        anomaly_threshold=float(anomaly_threshold),
        holdout_variant=str(holdout_variant),
        outcome_metrics=tuple(outcome_metrics) if outcome_metrics else None,
        targets=dict(targets or {}),
    )
    mode = _mode(source)
    if mode == "events":
        keep_campaign_events(source)
    frame = catalogue(source, settings)
    if mode == "outcomes" and (campaign_id is None or str(campaign_id).strip() == ""):
        campaign_id = "all"  # undated variants: no "most recent" one
    keys = resolve(frame, campaign_id)
    chosen = frame[frame["key"].isin(keys)]
    tz = source.timezone
    periods = campaign_days(frame, tz)
    site = daily_site(source) if mode == "events" else pd.DataFrame()
    days = (
        flag_days(site, periods, settings.anomaly_threshold)
        if not site.empty
        else flag_days(pd.DataFrame(), periods, settings.anomaly_threshold)
    )
    results = tuple(
        _review_one(source, row._asdict(), settings, mode, days, periods)
        for row in chosen.itertuples(index=False)
    )

    # attribution over the chosen campaigns' touches and windows
    paths = pd.DataFrame(columns=["path", "conversions", "value", "nulls"])
    table = pd.DataFrame()
    windows = [
        (pd.Timestamp(r.start).to_pydatetime(), pd.Timestamp(r.end).to_pydatetime())
        for r in chosen.itertuples()
        if pd.notna(r.start)
    ]
    if mode == "events" and windows:
        scope = None if campaign_id == "all" and len(keys) == len(frame) else keys
        paths = attribution_paths(source, scope, windows, settings.conversion_window_days)
        decay = time_decay_credit(
            source, scope, windows, settings.conversion_window_days, settings.half_life
        )
        table = attribution_table(paths, decay)

    # the daily section's window: baseline before the first chosen start to the last end
    period = None
    daily = days
    if not days.empty and windows:
        first = min(_local_day(s, tz) for s, _ in windows)
        last = max(_local_day(e, tz) for _, e in windows)
        if len(keys) == 1:
            lo = first - pd.Timedelta(days=settings.baseline_days)
            hi = last + pd.Timedelta(days=settings.conversion_window_days)
            daily = days[(days["date"] >= lo) & (days["date"] <= hi)].reset_index(drop=True)
        participants = daily_participants(source, keys)
        daily = daily.assign(
            participants=participants.reindex(pd.to_datetime(daily["date"])).fillna(0).to_numpy()
        )
        period = (first, last)
    return CampaignReview(
        campaign_id="all" if (isinstance(campaign_id, str) and campaign_id.lower() == "all")
        else keys[0],
        mode=mode,
        settings=settings,
        catalogue=frame,
        results=results,
        attribution=table,
        paths=paths,
        daily=daily,
        period=period,
        timezone=tz,
        lang=lang,
    )  # fmt: skip


def _targets_for(row: Mapping[str, Any], settings: Settings) -> dict[str, float | None]:
    targets = settings.target_defaults()
    for column, kpi in TARGET_COLUMNS.items():
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            targets[kpi] = float(value)
    return targets


def _review_one(
    source: Source,
    row: dict[str, Any],
    settings: Settings,
    mode: Mode,
    days: pd.DataFrame,
    periods: Sequence[tuple[pd.Timestamp, pd.Timestamp, str]],
) -> CampaignResult:
    tz = source.timezone
    spend = _finite(row.get("spend"))
    numbers: dict[str, Any] = {"spend": spend}
    impact = impact_rev = did = did_rev = None
    empty_funnel = pd.DataFrame(columns=["channel", *STEPS])
    funnel, channels, quality = empty_funnel, pd.DataFrame(), pd.DataFrame()

    if mode == "outcomes":
        metrics = outcome_metrics(source, settings)
        sums = outcome_sums(source, metrics)
        sums = sums[sums["grp"].isin([row["key"], settings.holdout_variant])]
        sums = sums.assign(grp=np.where(sums["grp"] == row["key"], "treatment", "holdout"))
        lifts = lift_table(sums, metrics, alpha=settings.alpha)
        method: Method = "holdout"
        numbers.update(incremental(lifts, spend))
        by = lifts.set_index("metric")
        n_t = int(by["treatment_n"].iloc[0])
        numbers["participants"] = n_t
        if "conversion" in by.index:
            numbers["conversion_rate"] = _finite(by.loc["conversion", "treatment_mean"])
            numbers["converted"] = round(by.loc["conversion", "treatment_mean"] * n_t)
        if "revenue" in by.index:
            numbers["gross_revenue"] = _finite(by.loc["revenue", "treatment_mean"] * n_t)
            numbers["roas"] = _div(numbers["gross_revenue"], spend)
        funnel = funnel_table(_outcome_funnel(source, row["key"], metrics))
    else:
        part = participation(source, row, settings.conversion_window_days)
        numbers["participants"] = part["participants"]
        numbers["converted"] = part["converted"]
        numbers["participants_definition"] = part["definition"]
        numbers["conversion_rate"] = _div(part["converted"], part["participants"])
        numbers.update(order_values(source, row, settings.baseline_days))
        numbers["roas"] = _div(numbers["gross_revenue"], spend)
        ref = referral(source, row)
        numbers.update(ref)
        if ref["invitations"] or ref["invitees"]:
            p = numbers["participants"]
            numbers["invitations_per_participant"] = _div(ref["invitations"], p)
            numbers["invitation_conversion"] = _div(ref["invitees"], ref["invitations"])
            numbers["k_factor"] = _div(ref["invitees"], p)
        acquired = acquired_users(source, row, settings.conversion_window_days)
        numbers["new_users"] = _count(acquired) if acquired is not None else None
        numbers["cac"] = _div(spend, numbers["new_users"]) if numbers["new_users"] else None
        funnel = funnel_table(funnel_counts(source, row, settings.conversion_window_days))

        first, last = _local_day(row["start"], tz), _local_day(row["end"], tz)
        if row["has_holdout"]:
            method = "holdout"
            sums = holdout_sums(source, row)
            lifts = lift_table(sums, METRICS_EVENTS, alpha=settings.alpha)
            numbers.update(incremental(lifts, spend))
            channels = _channel_roi(sums, spend, settings.alpha)
        else:
            lifts = pd.DataFrame()
            method = settings.counterfactual
            if not days.empty:
                last = min(last, days["date"].max())  # a campaign still running: up to today
            if method == "causal_impact":
                mask = _pre_mask(days, periods, row["key"])
                site = days.set_index("date")[["orders", "revenue"]]
                impact = _impact(site, "orders", first, last, settings, mask)
                impact_rev = _impact(site, "revenue", first, last, settings, mask)
            if method == "causal_impact" and (impact is None or impact_rev is None):
                numbers["counterfactual_reason"] = "outside_data"
                rev = lo = hi = None
                numbers["incremental_orders"] = None
                numbers["incremental_orders_ci"] = [None, None]
            elif method == "causal_impact":
                numbers["incremental_orders"] = _finite(impact.cumulative_effect)
                numbers["incremental_orders_ci"] = [
                    _finite(impact.cumulative_effect_lower),
                    _finite(impact.cumulative_effect_upper),
                ]
                rev, lo, hi = (
                    impact_rev.cumulative_effect,
                    impact_rev.cumulative_effect_lower,
                    impact_rev.cumulative_effect_upper,
                )
            else:
                panel = did_panel(source, row, first, last, settings.baseline_days)
                common = dict(unit="unit", time="date", treated="treated", post="post",
                              alpha=settings.alpha)  # fmt: skip
                did = diff_in_diff(panel, outcome="orders_per_user", **common)
                did_rev = diff_in_diff(panel, outcome="revenue_per_user", **common)
                treated = int(
                    panel.loc[panel["treated"] == 1].groupby("unit")["users"].first().sum()
                )
                n_days = int((last - first).days + 1)
                scale = treated * n_days
                numbers["incremental_orders"] = _finite(did.estimate * scale)
                numbers["incremental_orders_ci"] = [
                    _finite(did.ci_lower * scale), _finite(did.ci_upper * scale)
                ]  # fmt: skip
                rev, lo, hi = (
                    did_rev.estimate * scale,
                    did_rev.ci_lower * scale,
                    did_rev.ci_upper * scale,
                )
            numbers["incremental_conversions"] = numbers["incremental_orders"]
            numbers["incremental_revenue"] = _finite(rev)
            numbers["incremental_revenue_ci"] = [_finite(lo), _finite(hi)]
            numbers["iroi"] = _div(rev, spend)
            numbers["iroi_ci"] = [_div(lo, spend), _div(hi, spend)]
            numbers["iroi_net"] = numbers["iroi"] - 1 if numbers["iroi"] is not None else None
        if channels.empty:
            channels = _channel_attributed(funnel, spend)
        quality = acquisition_quality(
            source, row, settings.conversion_window_days, numbers["new_users"]
        )

    scorecard = _scorecard(numbers, _targets_for(row, settings), settings, mode)
    start = _local_day(row["start"], tz) if pd.notna(row.get("start")) else None
    end = _local_day(row["end"], tz) if pd.notna(row.get("end")) else None
    return CampaignResult(
        key=row["key"],
        name=str(row.get("name") or row["key"]),
        channel=row.get("channel") if isinstance(row.get("channel"), str) else None,
        start=start,
        end=end,
        spend=spend,
        method=method,
        numbers=numbers,
        scorecard=scorecard,
        lifts=lifts,
        funnel=funnel,
        channels=channels,
        quality=quality,
        impact=impact,
        impact_revenue=impact_rev,
        did=did,
        did_revenue=did_rev,
    )


def _impact(
    site: pd.DataFrame,
    column: str,
    first: pd.Timestamp,
    last: pd.Timestamp,
    settings: Settings,
    mask: pd.Series,
) -> CausalImpactResult | None:
    """The counterfactual of the site's daily ``column``; None when the campaign lies outside
    the data (no day before it or none of its days)."""
    if site.empty or first > site.index.max() or first <= site.index.min() + pd.Timedelta(days=1):
        return None
    series, pre, post = impact_series(site, column, first, last, settings.baseline_days, mask)
    return causal_impact(series, pre, post, alpha=settings.alpha)


def _pre_mask(
    days: pd.DataFrame, periods: Sequence[tuple[pd.Timestamp, pd.Timestamp, str]], key: str
) -> pd.Series:
    """Days to leave out of a pre-period: other campaigns' days and anomalous days."""
    index = pd.DatetimeIndex(days["date"])
    mask = pd.Series(False, index=index)
    for first, last, other in periods:
        if other != key:
            mask[(index >= first) & (index <= last)] = True
    flagged = (days["flag"] != "").to_numpy() & (days["campaign"] == "").to_numpy()
    mask[flagged] = True
    return mask


def _outcome_funnel(source: Source, key: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Outcomes sources: exposed (the variant's customers) → visited → bought (the visit and
    conversion columns; bought counts visitors who converted)."""
    columns = source.columns("experiment_results")
    if "conversion" not in columns:
        return pd.DataFrame(columns=["channel", *STEPS])
    er = source.table("experiment_results")
    er = er.filter(er.variant.cast("string") == key)
    bought = er.conversion.cast("float64") > 0
    aggs: dict[str, Any] = {"exposed": er.count()}
    if "visit" in columns:
        visit = er.visit.cast("float64") > 0
        aggs["visited"] = visit.cast("int64").sum()
        bought = visit & bought
    aggs["ordered"] = bought.cast("int64").sum()
    counts = er.aggregate(**aggs).execute()
    counts.insert(0, "channel", key)
    return counts


def _channel_roi(sums: pd.DataFrame, spend: float | None, alpha: float) -> pd.DataFrame:
    """Per first-exposure channel: its treatment users against the whole holdout -- revenue per
    user lift, incremental revenue and iROI, spend split by the channel's share of the exposed
    (the data has no per-channel cost)."""
    holdout = sums[sums["grp"] == "holdout"]
    treated = sums[sums["grp"] != "holdout"]
    total = treated["n"].sum()
    rows = []
    for channel, part in treated.groupby("channel"):
        effect = compare_means(_sample(holdout, "revenue"), _sample(part, "revenue"), alpha=alpha)
        n = int(part["n"].sum())
        share = n / total if total else math.nan
        channel_spend = spend * share if spend is not None else None
        inc = effect.abs_lift * n
        rows.append(
            {
                "channel": channel,
                "users": n,
                "spend_share": share,
                "revenue_per_user": effect.treatment_mean,
                "incremental_revenue": inc,
                "measure": "iroi",
                "value": _div(inc, channel_spend),
                "low": _div(effect.abs_ci[0] * n, channel_spend),
                "high": _div(effect.abs_ci[1] * n, channel_spend),
            }
        )
    return pd.DataFrame(rows).sort_values("value", ascending=False, na_position="last")


def _channel_attributed(funnel: pd.DataFrame, spend: float | None) -> pd.DataFrame:
    """Without a holdout: orders per exposed user of each channel's funnel (no spend split can
    be justified without incrementality, so no ROI is claimed)."""
    if funnel.empty:
        return pd.DataFrame()
    part = funnel[funnel["channel"] != "__total__"]
    return pd.DataFrame(
        {
            "channel": part["channel"],
            "users": part["exposed"].astype("int64"),
            "measure": "order_rate",
            "value": part["overall"],
        }
    ).sort_values("value", ascending=False, na_position="last")


def _scorecard(
    numbers: Mapping[str, Any],
    targets: Mapping[str, float | None],
    settings: Settings,
    mode: Mode = "events",
) -> pd.DataFrame:
    actual = {
        "participants": numbers.get("participants"),
        "conversion": numbers.get("conversion_rate"),
        "aov_lift": numbers.get("aov_lift"),
        "k_factor": numbers.get("k_factor"),
        "roi": numbers.get("iroi"),
        "roas": numbers.get("roas"),
        "cac": numbers.get("cac"),
    }
    rows = []
    for kpi in KPIS:
        direction = DIRECTION.get(kpi, "higher")
        target = targets.get(kpi)
        value = _finite(actual[kpi])
        amber = None
        if target is not None:
            margin = settings.amber_band * abs(target)
            amber = target + margin if direction == "lower" else target - margin
        own = mode == "outcomes" and kpi in ("participants", "conversion")
        rows.append(
            {
                "kpi": kpi,
                "definition": f"campaign_review.def.{kpi}" + ("_outcomes" if own else ""),
                "actual": value,
                "target": target,
                "amber": amber,
                "direction": direction,
                "status": status_of(value, target, direction, settings.amber_band),
            }
        )
    return pd.DataFrame(rows)


def acquisition_quality(
    source: Source, row: Mapping[str, Any], window_days: int, acquired_n: int | None = None
) -> pd.DataFrame:
    """Users acquired by the campaign vs organic users who signed up in the same local weeks
    (others when the users table has no channel): D1/D7/D30 retention, first-order conversion
    (30 days) and repeat purchase (≥ 2 paid orders from signup week to 30 days after the end),
    from :mod:`opsbook.retention`."""
    from opsbook import retention

    acquired = acquired_users(source, row, window_days)
    if acquired is None or not source.has("users"):
        return pd.DataFrame()
    acquired_n = _count(acquired) if acquired_n is None else int(acquired_n)
    if acquired_n == 0:
        return pd.DataFrame()
    tz = source.timezone
    first = _local_day(row["start"], tz)
    last = _local_day(row["end"], tz) + pd.Timedelta(days=int(window_days))
    week_start = first - pd.Timedelta(days=first.weekday())
    week_end = last + pd.Timedelta(days=6 - last.weekday())
    users = source.table("users")
    peers = users.filter(
        (users.signup_ts >= source.utc_from_local(week_start))
        & (users.signup_ts < source.utc_from_local(week_end + pd.Timedelta(days=1)))
    )
    label = "others"
    if "channel" in users.columns:
        organic = peers.filter(peers.channel.cast("string").lower() == "organic")
        if _count(organic.limit(1)):
            peers, label = organic, "organic"
    peers = peers.select("user_id").anti_join(acquired, "user_id")
    rows = []
    as_of = retention.resolve_as_of(source).local  # once: each call would look it up again
    data_last = as_of.normalize()
    repeat_end = min(last + pd.Timedelta(days=30), data_last)
    for group, ids in (("acquired", acquired), (label, peers)):
        entry: dict[str, Any] = {"group": group}
        day_n = retention.day_n_retention(
            source,
            (1, 7, 30),
            users=ids,
            cohort_start=week_start,
            cohort_end=week_end,
            as_of=as_of,
        )
        for r in day_n.itertuples():
            entry[f"d{r.day}"] = r.rate
            entry[f"d{r.day}_n"] = int(r.eligible)
        first_order = retention.first_order_conversion(
            source,
            within_days=30,
            users=ids,
            cohort_start=week_start,
            cohort_end=week_end,
            as_of=as_of,
        )
        entry["first_order_30d"] = first_order.value
        entry["first_order_n"] = first_order.n
        repeat = retention.repeat_purchase_rate(source, start=week_start, end=repeat_end, users=ids)
        entry["repeat_purchase"] = repeat.value
        entry["buyers"] = repeat.n
        rows.append(entry)
    frame = pd.DataFrame(rows)
    frame["users"] = [acquired_n, _count(peers)]
    frame.attrs.update(cohort_start=week_start, cohort_end=week_end, repeat_end=repeat_end)
    return frame


# ================================================================================ PDCA
def _pdca_items(rv: CampaignReview, lang: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(stage, i18n key, fields) of the PDCA summary in ``lang``, generated from the numbers."""
    items: list[tuple[str, str, dict[str, Any]]] = []
    k = "campaign_review.pdca."
    sep = "、" if lang == "zh" else ", "
    if rv.single is None:
        table = rv.comparison()
        spend = table["spend"].sum(min_count=1)
        if pd.notna(spend):
            items.append(("plan", k + "all_plan", {"n": len(table), "spend": _money(spend)}))
        else:
            items.append(("plan", k + "all_plan_nospend", {"n": len(table)}))
        for r in rv.results:
            lift = r.holdout_metrics()
            if lift is not None:
                metric = translate(f"campaign_review.metric.{lift['primary_metric']}", lang)
                m = lift["primary_metric"]
                items.append(("check", k + "all_lift", {
                    "name": r.name, "metric": metric, "abs": _abs(m, lift["abs_lift"]),
                    "low": _abs(m, lift["abs_lift_ci"][0]), "high": _abs(m, lift["abs_lift_ci"][1]),
                    "lift": _signed(lift["rel_lift"]), "p": _p(lift["p_value"]),
                }))  # fmt: skip
            elif r.numbers.get("incremental_orders") is not None:
                low, high = r.numbers.get("incremental_orders_ci") or [None, None]
                items.append(("check", k + "all_cf", {
                    "name": r.name, "method": translate(f"campaign_review.method.{r.method}", lang),
                    "effect": _num(r.numbers["incremental_orders"]), "low": _num(low),
                    "high": _num(high),
                }))  # fmt: skip
        by = "iroi" if table["iroi"].notna().any() else "incremental_revenue"
        ranked = table.dropna(subset=[by]).sort_values(by)
        show = (lambda v: f"{v:.2f}") if by == "iroi" else _money
        if not ranked.empty:
            best, worst = ranked.iloc[-1], ranked.iloc[0]
            items.append(
                ("check", k + f"all_best_{by}", {"name": best["name"], "value": show(best[by])})
            )
            if len(ranked) > 1:
                items.append(
                    (
                        "check",
                        k + f"all_worst_{by}",
                        {"name": worst["name"], "value": show(worst[by])},
                    )
                )
            items.append(("act", k + "all_act_best", {"name": best["name"]}))
        met = int(table["targets_met"].sum())
        scored = int(table["targets_scored"].sum())
        items.append(("check", k + "all_targets", {"met": met, "scored": scored}))
        below = table[(table["iroi"] < 1)]["name"].tolist()
        if below:
            items.append(("act", k + "act_cut", {"names": sep.join(map(str, below))}))
        without = [r.name for r in rv.results if r.method != "holdout"]
        if without:
            items.append(("act", k + "act_holdout", {"names": sep.join(without)}))
        if spend is None or pd.isna(spend):
            items.append(("act", k + "act_record_spend", {}))
        return items

    r = rv.single
    n = r.numbers
    items.append(
        (
            "plan",
            k + "plan",
            {
                "name": r.name,
                "start": r.start.date().isoformat() if r.start is not None else "—",
                "end": r.end.date().isoformat() if r.end is not None else "—",
                "spend": _money(r.spend),
            },
        )
    )
    items.append(
        (
            "do",
            k + "do",
            {
                "participants": _int(n.get("participants")),
                "conversion": _pct(n.get("conversion_rate")),
            },
        )
    )
    card = r.scorecard[r.scorecard["status"].notna()]
    hit = [translate(f"campaign_review.kpi.{x}", lang) for x in card[card.status == "green"].kpi]
    missed = [translate(f"campaign_review.kpi.{x}", lang) for x in card[card.status != "green"].kpi]
    if hit:
        items.append(("check", k + "hit", {"kpis": sep.join(hit)}))
    if missed:
        items.append(("check", k + "missed", {"kpis": sep.join(missed)}))
    lift = r.holdout_metrics()
    if lift is not None:
        significant = lift["p_value"] is not None and lift["p_value"] < rv.settings.alpha
        items.append(
            (
                "check",
                k + ("lift_significant" if significant else "lift_unclear"),
                {
                    "metric": translate(f"campaign_review.metric.{lift['primary_metric']}", lang),
                    "abs": _abs(lift["primary_metric"], lift["abs_lift"]),
                    "low": _abs(lift["primary_metric"], lift["abs_lift_ci"][0]),
                    "high": _abs(lift["primary_metric"], lift["abs_lift_ci"][1]),
                    "lift": _signed(lift["rel_lift"]),
                    "p": _p(lift["p_value"]),
                },
            )
        )
    elif r.method != "holdout" and n.get("incremental_orders") is None:
        items.append(("check", k + "cf_none", {}))
    elif r.impact is not None or r.did is not None:
        res = r.impact if r.impact is not None else r.did
        items.append(
            (
                "check",
                k + ("cf_significant" if res.significant else "cf_unclear"),
                {
                    "method": translate(f"campaign_review.method.{r.method}", lang),
                    "effect": _num(n.get("incremental_orders")),
                    "low": _num((n.get("incremental_orders_ci") or [None])[0]),
                    "high": _num((n.get("incremental_orders_ci") or [None, None])[1]),
                },
            )
        )
    if n.get("incremental_revenue") is not None:
        items.append(
            (
                "check",
                k + "revenue",
                {
                    "revenue": _money(n.get("incremental_revenue")),
                    "iroi": _num(n.get("iroi"), 2),
                    "low": _num((n.get("iroi_ci") or [None])[0], 2),
                    "high": _num((n.get("iroi_ci") or [None, None])[1], 2),
                },
            )
        )
    drop = biggest_drop(r.funnel)
    if drop is not None:
        items.append(
            (
                "check",
                k + "drop",
                {
                    "from": translate(f"campaign_review.step.{drop[0]}", lang),
                    "to": translate(f"campaign_review.step.{drop[1]}", lang),
                    "share": _pct(drop[2]),
                },
            )
        )
    ranked = r.channels.dropna(subset=["value"]) if not r.channels.empty else r.channels
    if not ranked.empty and len(ranked) > 1:
        measure = ranked["measure"].iloc[0]
        fmt_value = (lambda v: f"{v:.2f}") if measure == "iroi" else _pct
        items.append(
            (
                "check",
                k + f"channels_{measure}",
                {
                    "best": ranked["channel"].iloc[0],
                    "best_value": fmt_value(ranked["value"].iloc[0]),
                    "worst": ranked["channel"].iloc[-1],
                    "worst_value": fmt_value(ranked["value"].iloc[-1]),
                },
            )
        )
        if measure == "iroi" and ranked["low"].iloc[0] <= ranked["high"].iloc[-1]:
            items.append(("check", k + "channels_overlap", {}))
    # Act: rules from the numbers
    status = r.scorecard.set_index("kpi")["status"]
    if status.get("participants") in ("red", "amber"):
        items.append(("act", k + "act_reach", {}))
    if drop is not None:
        items.append(("act", k + f"act_step_{drop[1]}", {}))
    iroi = n.get("iroi")
    if iroi is not None and iroi < 1:
        items.append(("act", k + "act_loss", {}))
    elif status.get("roi") in ("red", "amber"):
        items.append(("act", k + "act_roi", {}))
    if lift is not None and not (
        lift["p_value"] is not None and lift["p_value"] < rv.settings.alpha
    ):
        items.append(("act", k + "act_power", {}))
    if status.get("k_factor") in ("red", "amber"):
        items.append(("act", k + "act_referral", {}))
    if not ranked.empty and len(ranked) > 1:
        overlap = ranked["measure"].iloc[0] != "iroi" or (
            ranked["low"].iloc[0] <= ranked["high"].iloc[-1]
        )
        items.append(
            ("act", k + ("act_channel_test" if overlap else "act_budget"),
             {"best": ranked["channel"].iloc[0]})
        )  # fmt: skip
    if r.method != "holdout":
        items.append(("act", k + "act_keep_holdout", {}))
    return items


def _abs(metric: str, v: Any) -> str:
    """An absolute lift as text: percentage points for proportions, else a number."""
    v = _finite(v)
    if v is None:
        return "—"
    return f"{v * 100:+.2f} pp" if metric in PROPORTIONS else f"{v:+,.2f}"


def _label(name: Any, key: Any) -> str:
    """A campaign as a reader sees it: its name and, when different, its id."""
    return str(name) if str(name) == str(key) else f"{name} ({key})"


def _money(v: Any) -> str:
    v = _finite(v)
    return "—" if v is None else f"{v:,.2f}"


def _int(v: Any) -> str:
    v = _finite(v)
    return "—" if v is None else f"{round(v):,}"


def _pct(v: Any) -> str:
    v = _finite(v)
    return "—" if v is None else f"{v:.1%}"


def _signed(v: Any) -> str:
    v = _finite(v)
    return "—" if v is None else f"{v:+.1%}"


def _num(v: Any, digits: int = 1) -> str:
    v = _finite(v)
    return "—" if v is None else f"{v:,.{digits}f}"


def _p(v: Any) -> str:
    v = _finite(v)
    return "—" if v is None else ("< 0.001" if v < 0.001 else f"{v:.3f}")


# ================================================================================ presentation
_STATUS_CLASS = {"green": "ob-green", "amber": "ob-amber", "red": "ob-red", None: None}


def _status_text(report: Report, status: str | None) -> str:
    return report.t(f"campaign_review.status.{status or 'na'}")


def _fmt_value(kind: str, value: Any) -> str:
    from opsbook.report import fmt

    return fmt(value, kind)


def show_overview(report: Report, rv: CampaignReview) -> None:
    """The campaigns reviewed: period (local dates), channel, spend, members and the method."""
    tr = report.t
    rows = []
    for r in rv.results:
        row = rv.catalogue.set_index("key").loc[r.key]
        rows.append(
            {
                tr("campaign_review.col.campaign"): _label(r.name, r.key),
                tr("campaign_review.col.period"): (
                    f"{r.start:%Y-%m-%d} – {r.end:%Y-%m-%d}" if r.start is not None else "—"
                ),
                tr("campaign_review.col.channel"): r.channel or "—",
                tr("campaign_review.col.spend"): r.spend,
                tr("campaign_review.col.treatment"): int(row["treatment_members"]),
                tr("campaign_review.col.holdout"): int(row["holdout_members"]),
                tr("campaign_review.col.method"): tr(f"campaign_review.method.{r.method}"),
            }
        )
    frame = pd.DataFrame(rows)
    report.show(
        frame,
        formats={tr("campaign_review.col.spend"): "money"},
        min_cell=report.min_cell,
        count_columns=[tr("campaign_review.col.treatment"), tr("campaign_review.col.holdout")],
    )
    report.say(
        "campaign_review.settings",
        window=rv.settings.conversion_window_days,
        baseline=rv.settings.baseline_days,
        alpha=f"{rv.settings.alpha:g}",
        half_life=f"{rv.settings.half_life:g}",
    )


def show_scorecard(report: Report, rv: CampaignReview) -> None:
    """Targets vs actuals with red/amber/green and the rule; one table per campaign."""
    tr = report.t
    for r in rv.results:
        if rv.single is None:
            report.heading("campaign_review.campaign_heading", level=3, name=_label(r.name, r.key))
        rows, classes = [], []
        for s in r.scorecard.itertuples():
            kind = KPI_FORMAT[s.kpi]
            if s.target is None or pd.isna(s.target):
                rule = tr("campaign_review.rule.none")
            else:
                rule = tr(
                    f"campaign_review.rule.{s.direction}",
                    target=_fmt_value(kind, s.target),
                    amber=_fmt_value(kind, s.amber),
                )
            rows.append(
                {
                    tr("campaign_review.col.kpi"): tr(f"campaign_review.kpi.{s.kpi}"),
                    tr("campaign_review.col.definition"): tr(s.definition),
                    tr("campaign_review.col.actual"): _fmt_value(kind, s.actual),
                    tr("campaign_review.col.target"): _fmt_value(kind, s.target),
                    tr("campaign_review.col.status"): _status_text(report, s.status),
                    tr("campaign_review.col.rule"): rule,
                }
            )
            classes.append(_STATUS_CLASS.get(s.status))
        report.show(
            pd.DataFrame(rows),
            classes={
                tr("campaign_review.col.status"): classes,
                tr("campaign_review.col.actual"): classes,
            },
        )
        report.say("campaign_review.scorecard_summary", met=r.targets_met, scored=r.targets_scored)
        if r.numbers.get("participants_definition") == "members":
            report.say("campaign_review.participants_members")


def show_incrementality(report: Report, rv: CampaignReview) -> None:
    """Lift against the holdout (or the counterfactual), incremental conversions and revenue,
    iROI with its interval; which method ran and what it assumes."""
    for r in rv.results:
        if rv.single is None:
            report.heading("campaign_review.campaign_heading", level=3, name=_label(r.name, r.key))
        outcomes = "_outcomes" if rv.mode == "outcomes" else ""
        report.say(f"campaign_review.method_text.{r.method}{outcomes}")
        if r.method == "holdout":
            _show_lifts(report, r)
        elif r.method == "causal_impact" and r.impact is not None:
            _show_impact(report, r, rv)
        elif r.method == "causal_impact":
            report.say("campaign_review.cf_no_data")
        elif r.did is not None:
            _show_did(report, r)
        _show_incremental(report, r)
        _show_assumptions(report, r.method)


def _show_lifts(report: Report, r: CampaignResult) -> None:
    tr = report.t
    frame = r.lifts
    columns = {
        "metric": tr("campaign_review.col.metric"),
        "treatment_n": tr("campaign_review.col.treatment"),
        "holdout_n": tr("campaign_review.col.holdout"),
        "treatment_mean": tr("campaign_review.col.treatment_mean"),
        "holdout_mean": tr("campaign_review.col.holdout_mean"),
        "abs": tr("campaign_review.col.abs_lift"),
        "rel_lift": tr("campaign_review.col.rel_lift"),
        "rel_ci": tr("campaign_review.col.rel_ci"),
        "p_value": tr("campaign_review.col.p_value"),
        "p_holm": tr("campaign_review.col.p_holm"),
    }
    rows = []
    for m in frame.itertuples():
        kind = "pct2" if m.metric in PROPORTIONS else "money" if m.metric == "revenue" else "float"
        rows.append(
            {
                columns["metric"]: tr(f"campaign_review.metric.{m.metric}")
                if f"campaign_review.metric.{m.metric}" in _keys()
                else m.metric,
                columns["treatment_n"]: m.treatment_n,
                columns["holdout_n"]: m.holdout_n,
                columns["treatment_mean"]: _fmt_value(kind, m.treatment_mean),
                columns["holdout_mean"]: _fmt_value(kind, m.holdout_mean),
                columns["abs"]: (
                    f"{_fmt_value('pp' if kind == 'pct2' else kind, m.abs_lift)} "
                    f"[{_fmt_value('pp' if kind == 'pct2' else kind, m.abs_low)}, "
                    f"{_fmt_value('pp' if kind == 'pct2' else kind, m.abs_high)}]"
                ),
                columns["rel_lift"]: m.rel_lift,
                columns["rel_ci"]: f"[{_fmt_value('signed_pct', m.rel_low)}, "
                f"{_fmt_value('signed_pct', m.rel_high)}]",
                columns["p_value"]: _p(m.p_value),
                columns["p_holm"]: _p(m.p_holm),
            }
        )
    cls = ["ob-up" if s and lift > 0 else "ob-down" if s else None
           for s, lift in zip(frame["significant"], frame["rel_lift"], strict=True)]  # fmt: skip
    report.show(
        pd.DataFrame(rows),
        formats={columns["rel_lift"]: "signed_pct"},
        min_cell=report.min_cell,
        count_columns=[columns["treatment_n"], columns["holdout_n"]],
        classes={columns["rel_lift"]: cls},
    )


def _show_impact(report: Report, r: CampaignResult, rv: CampaignReview) -> None:
    tr = report.t
    rows = []
    for label, res in (("orders", r.impact), ("revenue", r.impact_revenue)):
        if res is None:
            continue
        kind = "money" if label == "revenue" else "float"
        rows.append(
            {
                tr("campaign_review.col.metric"): tr(f"campaign_review.metric.daily_{label}"),
                tr("campaign_review.col.actual"): _fmt_value(kind, res.actual_total),
                tr("campaign_review.col.predicted"): _fmt_value(kind, res.predicted_total),
                tr("campaign_review.col.effect"): (
                    f"{_fmt_value(kind, res.cumulative_effect)} "
                    f"[{_fmt_value(kind, res.cumulative_effect_lower)}, "
                    f"{_fmt_value(kind, res.cumulative_effect_upper)}]"
                ),
                tr("campaign_review.col.rel_lift"): res.relative_effect,
                tr("campaign_review.col.p_value"): _p(res.p_value),
                tr("campaign_review.col.pre_days"): res.n_pre_days,
            }
        )
    report.show(pd.DataFrame(rows), formats={tr("campaign_review.col.rel_lift"): "signed_pct"})
    if r.impact.reason:
        report.say("campaign_review.cf_flagged", reason=r.impact.reason)
    report.say(
        "campaign_review.cf_periods",
        pre_start=f"{r.impact.pre_period[0]:%Y-%m-%d}",
        pre_end=f"{r.impact.pre_period[1]:%Y-%m-%d}",
        days=r.impact.n_pre_days,
    )


def _show_did(report: Report, r: CampaignResult) -> None:
    tr = report.t
    rows = []
    for label, res in (("orders_per_user", r.did), ("revenue_per_user", r.did_revenue)):
        rows.append(
            {
                tr("campaign_review.col.metric"): tr(f"campaign_review.metric.{label}"),
                tr("campaign_review.col.effect"): (
                    f"{res.estimate:.4f} [{res.ci_lower:.4f}, {res.ci_upper:.4f}]"
                ),
                tr("campaign_review.col.p_value"): _p(res.p_value),
                tr("campaign_review.col.pre_trend_p"): _p(res.pre_trend_p_value),
                tr("campaign_review.col.clusters"): res.n_clusters,
            }
        )
    report.show(pd.DataFrame(rows))
    if r.did.pre_trend_detected:
        report.say("campaign_review.did_pretrend")


def _show_incremental(report: Report, r: CampaignResult) -> None:
    n = r.numbers
    if n.get("incremental_revenue") is None and n.get("incremental_conversions") is None:
        return
    lo, hi = n.get("iroi_ci") or [None, None]
    rlo, rhi = n.get("incremental_revenue_ci") or [None, None]
    clo, chi = n.get("incremental_conversions_ci") or [None, None]
    fields = {
        "conversions": _num(n.get("incremental_conversions")),
        "conv_low": _num(clo),
        "conv_high": _num(chi),
        "revenue": _money(n.get("incremental_revenue")),
        "rev_low": _money(rlo),
        "rev_high": _money(rhi),
    }
    if r.spend is None:
        report.say("campaign_review.incremental_nospend", **fields)
        report.say("campaign_review.no_spend")
        return
    report.say(
        "campaign_review.incremental",
        **fields,
        iroi=_num(n.get("iroi"), 2),
        low=_num(lo, 2),
        high=_num(hi, 2),
        spend=_money(r.spend),
    )


def _show_assumptions(report: Report, method: str) -> None:
    items = report.t(f"campaign_review.assume.{method}").split("\n")
    display(
        HTML(
            "<ul class='ob-assumptions'>"
            + "".join(f"<li>{html.escape(i)}</li>" for i in items if i.strip())
            + "</ul>"
        )
    )


def incrementality_chart(report: Report, rv: CampaignReview):
    """Holdout: relative lift of each metric with its interval; counterfactual: actual vs
    predicted daily orders with the interval band and the cumulative effect."""
    r = rv.single
    if r is None:
        frame = rv.comparison().dropna(subset=["iroi"])
        if frame.empty:
            return None
        fig, ax = figure(8, 0.6 * len(frame) + 1.6)
        y = np.arange(len(frame))
        ax.errorbar(
            frame["iroi"], y,
            xerr=[(frame["iroi"] - frame["iroi_low"]).clip(lower=0).fillna(0),
                  (frame["iroi_high"] - frame["iroi"]).clip(lower=0).fillna(0)],
            fmt="o", color=PALETTE[0], capsize=4,
        )  # fmt: skip
        ax.axvline(1, color="#8c8c8c", lw=1, ls="--")
        roi_target = DEFAULT_TARGETS["roi"]
        ax.axvline(roi_target, color=STATUS_COLOURS["green"], lw=1, ls=":")
        ax.set_yticks(y, [f"{n}" for n in frame["name"]])
        ax.set_xlabel(report.t("campaign_review.chart.iroi"))
        ax.set_title(report.t("campaign_review.chart.iroi_title"))
        return fig
    if r.method == "holdout" and not r.lifts.empty:
        frame = r.lifts
        fig, ax = figure(8, 0.7 * len(frame) + 1.6)
        y = np.arange(len(frame))
        colours = [PALETTE[2] if s else PALETTE[7] for s in frame["significant"]]
        for i, row in enumerate(frame.itertuples()):
            if not np.isfinite(row.rel_low):
                continue
            ax.plot([row.rel_low, row.rel_high], [i, i], color=colours[i], lw=3)
            ax.plot(row.rel_lift, i, "o", color=colours[i])
        ax.axvline(0, color="#8c8c8c", lw=1)
        ax.set_yticks(y, [report.t(f"campaign_review.metric.{m}") if f"campaign_review.metric.{m}" in _keys() else m
                          for m in frame["metric"]])  # fmt: skip
        ax.xaxis.set_major_formatter(signed_percent_ticks())
        ax.set_title(report.t("campaign_review.chart.lift_title", name=r.name))
        return fig
    if r.impact is not None and r.impact.reason is None:
        d = r.impact.to_frame()
        fig, (top, bottom) = figure(9, 5.5, nrows=2, sharex=True)
        top.plot(
            d["date"],
            d["actual"],
            color=PALETTE[0],
            lw=1.4,
            label=report.t("campaign_review.chart.actual"),
        )
        top.plot(
            d["date"],
            d["predicted"],
            color=PALETTE[1],
            lw=1.2,
            ls="--",
            label=report.t("campaign_review.chart.predicted"),
        )
        top.fill_between(d["date"], d["lower"], d["upper"], color=PALETTE[1], alpha=0.15)
        # the start-up and the masked days have huge one-step intervals: scale to the data
        shown = pd.concat([d["actual"], d["predicted"]]).dropna()
        if not shown.empty:
            pad = 0.25 * max(float(shown.max() - shown.min()), 1.0)
            top.set_ylim(
                max(0.0, float(shown.min()) - pad)
                if shown.min() >= 0
                else float(shown.min()) - pad,
                float(shown.max()) + pad,
            )
        top.axvline(r.start, color="#8c8c8c", lw=1)
        top.legend(loc="upper left", fontsize=8)
        top.set_title(report.t("campaign_review.chart.cf_title", name=r.name))
        post = d[d["period"] == "post"]
        bottom.plot(post["date"], post["cumulative_effect"], color=PALETTE[2], lw=1.5)
        bottom.fill_between(
            post["date"],
            post["cumulative_lower"],
            post["cumulative_upper"],
            color=PALETTE[2],
            alpha=0.2,
        )
        bottom.axhline(0, color="#8c8c8c", lw=1)
        bottom.set_title(report.t("campaign_review.chart.cumulative"))
        fig.autofmt_xdate()
        return fig
    return None


def _keys() -> set[str]:
    from opsbook.i18n import catalogue as i18n_catalogue

    return set(i18n_catalogue())


def show_funnel(report: Report, rv: CampaignReview) -> None:
    """The funnel: each step's users, step conversion and overall conversion, total and by
    channel of first exposure (all campaigns: one total row per campaign)."""
    tr = report.t
    if all(r.funnel.empty for r in rv.results):
        report.say("campaign_review.no_funnel")
        return
    steps = next(steps_of(r.funnel) for r in rv.results if not r.funnel.empty)
    step_names = {s: tr(f"campaign_review.step.{s}") for s in steps}
    if rv.single is not None:
        f = rv.single.funnel
        total = f[f["channel"] == "__total__"].iloc[0]
        rows = []
        for i, step in enumerate(steps):
            rows.append(
                {
                    tr("campaign_review.col.step"): step_names[step],
                    tr("core.users"): int(total[step]),
                    tr("campaign_review.col.step_rate"): total.get(f"{step}_rate") if i else None,
                    tr("campaign_review.col.drop_off"): 1 - total[f"{step}_rate"] if i else None,
                    tr("campaign_review.col.overall"): total[step] / total["exposed"]
                    if total["exposed"]
                    else None,
                }
            )
        report.show(
            pd.DataFrame(rows),
            formats={tr("campaign_review.col.step_rate"): "pct", tr("campaign_review.col.drop_off"): "pct",
                     tr("campaign_review.col.overall"): "pct"},
            min_cell=report.min_cell,
            count_columns=[tr("core.users")],
        )  # fmt: skip
        drop = biggest_drop(f)
        if drop is not None:
            report.say(
                "campaign_review.biggest_drop",
                step_from=step_names[drop[0]],
                step_to=step_names[drop[1]],
                share=_pct(drop[2]),
            )
        frames = [f]
        label_col = tr("campaign_review.col.channel")
    else:
        frames = [
            r.funnel[r.funnel["channel"] == "__total__"].assign(channel=r.name)
            for r in rv.results
            if not r.funnel.empty
        ]
        label_col = tr("campaign_review.col.campaign")
    wide = pd.concat(frames, ignore_index=True)
    wide["channel"] = wide["channel"].replace("__total__", tr("core.total"))
    columns = {"channel": label_col, **step_names}
    rates = {f"{s}_rate": tr("campaign_review.col.rate_of", step=step_names[s]) for s in steps[1:]}
    rates["overall"] = tr("campaign_review.col.overall")
    shown = wide[list(columns) + list(rates)].rename(columns={**columns, **rates})
    report.show(
        shown,
        formats={v: "pct" for v in rates.values()},
        min_cell=report.min_cell,
        count_columns=list(step_names.values()),
    )
    if rv.mode == "outcomes":
        report.say("campaign_review.funnel_rule_outcomes")
    else:
        report.say("campaign_review.funnel_rule", window=rv.settings.conversion_window_days)


def funnel_chart(report: Report, rv: CampaignReview):
    """Users at each funnel step (log scale), one line per channel (all: per campaign)."""
    if all(r.funnel.empty for r in rv.results):
        return None
    fig, ax = figure(8, 3.8)
    steps = next(steps_of(r.funnel) for r in rv.results if not r.funnel.empty)
    x = np.arange(len(steps))
    if rv.single is not None:
        parts = [(row["channel"], row) for _, row in rv.single.funnel.iterrows()]
    else:
        parts = [
            (r.name, r.funnel[r.funnel["channel"] == "__total__"].iloc[0])
            for r in rv.results
            if not r.funnel.empty
        ]
    for i, (label, row) in enumerate(parts):
        values = [max(float(row[s]), 0.0) for s in steps]
        if max(values) < report.min_cell:
            continue
        shown = [v if v >= report.min_cell else np.nan for v in values]
        total = label == "__total__"
        ax.plot(
            x, shown, marker="o", lw=2.5 if total else 1.2,
            color="#333333" if total else PALETTE[i % len(PALETTE)],
            label=report.t("core.total") if total else label,
        )  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(x, [report.t(f"campaign_review.step.{s}") for s in steps])
    ax.set_ylabel(report.t("core.users"))
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(report.t("campaign_review.chart.funnel_title"))
    return fig


def show_channels(report: Report, rv: CampaignReview) -> None:
    """Per channel of first exposure: iROI against the holdout (or the order rate without one)."""
    r = rv.single
    if r is None or r.channels.empty:
        return
    tr = report.t
    frame = r.channels
    measure = frame["measure"].iloc[0]
    if measure == "iroi":
        shown = pd.DataFrame(
            {
                tr("campaign_review.col.channel"): frame["channel"],
                tr("core.users"): frame["users"],
                tr("campaign_review.col.spend_share"): frame["spend_share"],
                tr("campaign_review.col.revenue_per_user"): frame["revenue_per_user"],
                tr("campaign_review.col.incremental_revenue"): frame["incremental_revenue"],
                tr("campaign_review.col.iroi"): frame["value"],
                tr("campaign_review.col.iroi_ci"): [
                    f"[{_num(lo, 2)}, {_num(hi, 2)}]"
                    for lo, hi in zip(frame["low"], frame["high"], strict=True)
                ],
            }
        )
        formats = {
            tr("campaign_review.col.spend_share"): "pct",
            tr("campaign_review.col.revenue_per_user"): "money",
            tr("campaign_review.col.incremental_revenue"): "money",
            tr("campaign_review.col.iroi"): "float",
        }
        report.say("campaign_review.channels_iroi")
    else:
        shown = pd.DataFrame(
            {
                tr("campaign_review.col.channel"): frame["channel"],
                tr("core.users"): frame["users"],
                tr("campaign_review.col.order_rate"): frame["value"],
            }
        )
        formats = {tr("campaign_review.col.order_rate"): "pct"}
        report.say("campaign_review.channels_order_rate")
    report.show(shown, formats=formats, min_cell=report.min_cell, count_columns=[tr("core.users")])


def show_attribution(report: Report, rv: CampaignReview) -> None:
    """Attributed conversions per channel under each model, side by side."""
    tr = report.t
    table = rv.attribution
    if table.empty:
        report.say("campaign_review.no_attribution")
        return
    models = ["first_touch", "last_touch", "linear", "position_based", "time_decay", "markov"]
    shown = table[["channel", "journeys", *models]].rename(
        columns={"channel": tr("campaign_review.col.channel"), "journeys": tr("campaign_review.col.journeys"),
                 **{m: tr(f"campaign_review.model.{m}") for m in models}}
    )  # fmt: skip
    report.show(
        shown,
        formats={tr(f"campaign_review.model.{m}"): "float" for m in models},
        min_cell=report.min_cell,
        count_columns=[tr("campaign_review.col.journeys")],
    )
    effects = table.attrs.get("removal_effects") or {}
    report.say(
        "campaign_review.attribution_rule",
        journeys=_int(rv.paths["conversions"].sum() + rv.paths["nulls"].sum()),
        conversions=_int(rv.paths["conversions"].sum()),
        window=rv.settings.conversion_window_days,
        half_life=f"{rv.settings.half_life:g}",
    )
    if effects:
        report.say(
            "campaign_review.removal_effects",
            effects=", ".join(
                f"{c} {v:.1%}" for c, v in sorted(effects.items(), key=lambda x: -x[1])
            ),
        )


def attribution_chart(report: Report, rv: CampaignReview):
    """Grouped bars: attributed conversions per channel and model."""
    table = rv.attribution
    if table.empty:
        return None
    models = ["first_touch", "last_touch", "linear", "position_based", "time_decay", "markov"]
    table = table[table["journeys"] >= report.min_cell]
    if table.empty:
        return None
    fig, ax = figure(9, 4)
    x = np.arange(len(table))
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        ax.bar(x + (i - (len(models) - 1) / 2) * width, table[m].fillna(0), width,
               color=PALETTE[i % len(PALETTE)], label=report.t(f"campaign_review.model.{m}"))  # fmt: skip
    ax.set_xticks(x, table["channel"])
    ax.set_ylabel(report.t("campaign_review.chart.conversions"))
    ax.legend(fontsize=8, ncols=6, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    ax.set_title(report.t("campaign_review.chart.attribution_title"))
    return fig


def daily_chart(report: Report, rv: CampaignReview):
    """Daily participants, paid orders and revenue; campaign periods shaded, anomalies marked."""
    d = rv.daily
    if d.empty:
        return None
    fig, axes = figure(9, 7, nrows=3, sharex=True)
    series = (("participants", "campaign_review.chart.participants"),
              ("orders", "campaign_review.chart.orders"),
              ("revenue", "campaign_review.chart.revenue"))  # fmt: skip
    lo, hi = d["date"].min(), d["date"].max()
    periods = [
        (max(first, lo), min(last, hi))
        for first, last, _ in campaign_days(rv.catalogue, rv.timezone)
        if last >= lo and first <= hi
    ]
    for ax, (column, key) in zip(axes, series, strict=True):
        if column not in d.columns:
            continue
        ax.plot(d["date"], d[column], color=PALETTE[0], lw=1.3)
        ax.set_xlim(lo, hi)
        for first, last in periods:
            ax.axvspan(first, last, color=PALETTE[1], alpha=0.12, lw=0)
        flags = d[d["anomaly"]]
        if not flags.empty and column != "participants":
            ax.scatter(flags["date"], flags[column], color=STATUS_COLOURS["red"], zorder=3, s=30,
                       label=report.t("campaign_review.chart.anomaly"))  # fmt: skip
            ax.legend(loc="upper left", fontsize=8)
        ax.set_title(report.t(key))
    if rv.period is not None and rv.single is not None:
        base_start = rv.period[0] - pd.Timedelta(days=rv.settings.baseline_days)
        for ax in axes:
            ax.axvspan(base_start, rv.period[0], color="#8c8c8c", alpha=0.08, lw=0)
    fig.autofmt_xdate()
    return fig


def show_daily(report: Report, rv: CampaignReview) -> None:
    """Per-day means in the baseline period vs the campaign, and the anomalous days."""
    tr = report.t
    d = rv.daily
    if d.empty or rv.period is None:
        report.say("campaign_review.no_daily")
        return
    first, last = rv.period
    base = d[
        (d["date"] >= first - pd.Timedelta(days=rv.settings.baseline_days)) & (d["date"] < first)
    ]
    camp = d[(d["date"] >= first) & (d["date"] <= last)]
    if rv.single is not None:
        rows = []
        for column in ("participants", "orders", "revenue"):
            b, c = base[column].mean(), camp[column].mean()
            rows.append(
                {
                    tr("campaign_review.col.metric"): tr(f"campaign_review.chart.{column}"),
                    tr("campaign_review.col.baseline_mean"): b,
                    tr("campaign_review.col.campaign_mean"): c,
                    tr("campaign_review.col.change"): c / b - 1 if b else None,
                }
            )
        report.show(
            pd.DataFrame(rows),
            formats={tr("campaign_review.col.baseline_mean"): "float",
                     tr("campaign_review.col.campaign_mean"): "float",
                     tr("campaign_review.col.change"): "signed_pct"},
        )  # fmt: skip
        report.say("campaign_review.baseline_rule", days=rv.settings.baseline_days)
    anomalies = rv.anomalies
    if anomalies.empty:
        report.say("campaign_review.no_anomalies")
        return
    shown = pd.DataFrame(
        {
            tr("campaign_review.col.date"): anomalies["date"],
            tr("campaign_review.chart.orders"): anomalies["orders"],
            tr("campaign_review.col.baseline"): anomalies["baseline"],
            tr("campaign_review.chart.revenue"): anomalies["revenue"],
            tr("campaign_review.col.flag"): [
                tr(f"campaign_review.flag.{f or g}") for f, g in
                zip(anomalies["flag"], anomalies["revenue_flag"], strict=True)
            ],
        }
    )  # fmt: skip
    report.show(
        shown,
        formats={tr("campaign_review.chart.orders"): "int", tr("campaign_review.col.baseline"): "int",
                 tr("campaign_review.chart.revenue"): "money"},
        classes={tr("campaign_review.col.flag"): ["ob-red"] * len(shown)},
    )  # fmt: skip
    report.say("campaign_review.anomalies_note", n=len(anomalies))


def show_quality(report: Report, rv: CampaignReview) -> None:
    """Retention and repeat purchase of acquired users vs organic users of the same weeks."""
    tr = report.t
    shown_any = False
    for r in rv.results:
        q = r.quality
        if q.empty:
            continue
        shown_any = True
        if rv.single is None:
            report.heading("campaign_review.campaign_heading", level=3, name=_label(r.name, r.key))
        frame = pd.DataFrame(
            {
                tr("campaign_review.col.group"): [tr(f"campaign_review.group.{g}") for g in q["group"]],
                tr("core.users"): q["users"],
                "D1": q.get("d1"),
                "D7": q.get("d7"),
                "D30": q.get("d30"),
                tr("campaign_review.col.first_order"): q["first_order_30d"],
                tr("campaign_review.col.buyers"): q["buyers"],
                tr("campaign_review.col.repeat"): q["repeat_purchase"],
            }
        )  # fmt: skip
        report.show(
            frame,
            formats={"D1": "pct", "D7": "pct", "D30": "pct",
                     tr("campaign_review.col.first_order"): "pct",
                     tr("campaign_review.col.repeat"): "pct"},
            min_cell=report.min_cell,
            count_columns=[tr("core.users")],
        )  # fmt: skip
        report.say(
            "campaign_review.quality_rule",
            start=f"{q.attrs['cohort_start']:%Y-%m-%d}",
            end=f"{q.attrs['cohort_end']:%Y-%m-%d}",
            repeat_end=f"{q.attrs['repeat_end']:%Y-%m-%d}",
        )
    if not shown_any:
        report.say("campaign_review.no_quality")


def show_pdca(report: Report, rv: CampaignReview) -> None:
    """The PDCA summary, grouped by stage."""
    items = rv.pdca(report.lang)
    parts = []
    for stage in ("plan", "do", "check", "act"):
        sentences = [s for st, s in items if st == stage]
        if not sentences:
            continue
        parts.append(
            f"<h4>{html.escape(report.t(f'campaign_review.pdca.stage.{stage}'))}</h4><ul>"
            + "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
            + "</ul>"
        )
    display(HTML("<div class='ob-callout'>" + "".join(parts) + "</div>"))


def show_comparison(report: Report, rv: CampaignReview) -> None:
    """Every reviewed campaign in one table: spend, method, participants, K, incremental revenue,
    iROI with interval, targets met."""
    tr = report.t
    if rv.single is not None and len(rv.catalogue) > 1:
        report.say("campaign_review.comparison_hint", n=len(rv.catalogue))
    table = rv.comparison()
    shown = pd.DataFrame(
        {
            tr("campaign_review.col.campaign"): [_label(n, k) for n, k in zip(table["name"], table["campaign_id"], strict=True)],
            tr("campaign_review.col.method"): [tr(f"campaign_review.method.{m}") for m in table["method"]],
            tr("campaign_review.col.spend"): table["spend"],
            tr("campaign_review.kpi.participants"): table["participants"],
            tr("campaign_review.kpi.conversion"): table["conversion_rate"],
            tr("campaign_review.kpi.k_factor"): table["k_factor"],
            tr("campaign_review.col.incremental_revenue"): table["incremental_revenue"],
            tr("campaign_review.col.iroi"): table["iroi"],
            tr("campaign_review.col.iroi_ci"): [f"[{_num(lo, 2)}, {_num(hi, 2)}]" for lo, hi in zip(table["iroi_low"], table["iroi_high"], strict=True)],
            tr("campaign_review.col.targets_met"): [f"{m} / {s}" for m, s in zip(table["targets_met"], table["targets_scored"], strict=True)],
        }
    )  # fmt: skip
    status = [
        None if s == 0 else "ob-green" if m == s else "ob-amber" if m else "ob-red"
        for m, s in zip(table["targets_met"], table["targets_scored"], strict=True)
    ]
    report.show(
        shown,
        formats={tr("campaign_review.col.spend"): "money", tr("campaign_review.kpi.participants"): "int",
                 tr("campaign_review.kpi.conversion"): "pct", tr("campaign_review.kpi.k_factor"): "float",
                 tr("campaign_review.col.incremental_revenue"): "money", tr("campaign_review.col.iroi"): "float"},
        classes={tr("campaign_review.col.targets_met"): status},
    )  # fmt: skip


def explore(report: Report, rv: CampaignReview):
    """JupyterLab only: re-run the attribution with another half-life and window (None in batch)."""
    from opsbook.report import is_batch

    if is_batch() or rv.mode != "events":
        return None
    import ipywidgets as widgets

    half = widgets.FloatSlider(value=rv.settings.half_life, min=0.5, max=30, step=0.5,
                               description=report.t("campaign_review.widget.half_life"))  # fmt: skip
    window = widgets.IntSlider(value=rv.settings.conversion_window_days, min=1, max=30,
                               description=report.t("campaign_review.widget.window"))  # fmt: skip
    out = widgets.Output()
    keys = None if rv.campaign_id == "all" else [r.key for r in rv.results]
    windows = [
        (pd.Timestamp(r.start).to_pydatetime(), pd.Timestamp(r.end).to_pydatetime())
        for r in rv.catalogue[rv.catalogue["key"].isin([x.key for x in rv.results])].itertuples()
    ]

    def update(_: Any = None) -> None:
        paths = attribution_paths(report.source, keys, windows, window.value)
        decay = time_decay_credit(report.source, keys, windows, window.value, half.value)
        table = attribution_table(paths, decay)
        out.clear_output()
        with out:
            report.show(table.drop(columns=[c for c in table.columns if c.endswith("_value")]),
                        min_cell=report.min_cell, count_columns=["journeys"])  # fmt: skip

    half.observe(update, names="value")
    window.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([half, window]), out])
