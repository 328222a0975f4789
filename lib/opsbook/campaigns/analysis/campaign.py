"""Campaign review, analysis: reviewing campaigns -- which ones (``resolve``), and everything the
review finds for each of them (``review``; its conventions: :mod:`opsbook.campaigns`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from opsbook.campaigns.analysis.channels import (
    _channel_attributed,
    channel_attribution,
    funnel_table,
)
from opsbook.campaigns.analysis.daily import _local_day, campaign_days, daily_site, flag_days
from opsbook.campaigns.analysis.incrementality import (
    METRICS_EVENTS,
    _channel_roi,
    _impact,
    _pre_mask,
    incremental,
    lift_table,
)
from opsbook.campaigns.analysis.quality import acquisition_quality
from opsbook.campaigns.analysis.results import CampaignResult, CampaignReview
from opsbook.campaigns.analysis.scorecard import _scorecard, _targets_for
from opsbook.campaigns.queries.daily import daily_participants, did_panel
from opsbook.campaigns.queries.events import _count, _div, _finite, _id_text, keep_campaign_events
from opsbook.campaigns.queries.funnel import STEPS, _outcome_funnel, funnel_counts
from opsbook.campaigns.queries.holdout import holdout_sums, outcome_metrics, outcome_sums
from opsbook.campaigns.queries.reach import acquired_users, order_values, participation, referral
from opsbook.campaigns.queries.settings import Counterfactual, Method, Mode, Settings
from opsbook.campaigns.queries.sources import _mode, catalogue
from opsbook.data import Source
from opsbook.errors import InputError
from opsbook.report import Report
from opsbook.stats import diff_in_diff


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
    raise InputError(
        "campaign_review.error.unknown_campaign",
        campaign=repr(campaign_id),
        found=", ".join(f"{k} ({n})" for k, n in zip(frame["key"], frame["name"], strict=True)),
    )


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
    campaign with a holdout). Conventions: the docstring of :mod:`opsbook.campaigns`."""
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
        paths, table = channel_attribution(
            source, scope, windows, settings.conversion_window_days, settings.half_life
        )

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
