"""The answer first: one verdict on retention against its targets, the six KPI cards a director
checks, and what to do next -- built from the results the sections below show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from opsbook.formats import fmt
from opsbook.retention.analysis import RateResult, StickinessResult, day_n_by, target_status
from opsbook.retention.view.groups import _drawn, group_name
from opsbook.targets import is_default, marked

SLOW_PAYBACK = 4  # periods: a channel paying back later than this is worth a look


def summary(
    report: Any,
    day_n: pd.DataFrame,
    targets: Mapping[str, float],
    *,
    stick: StickinessResult | None = None,
    conversion: RateResult | None = None,
    repeat: RateResult | None = None,
    day_n_all: pd.DataFrame | None = None,
    payback: pd.DataFrame | None = None,
    period: str = "week",
    breakdown: str | None = None,
) -> None:
    """The summary block: ``day_n`` is :func:`against_targets`'s overall D-N frame, ``day_n_all``
    the per-group one (the weakest and strongest group; ``breakdown`` the users column its
    groups are values of), ``payback`` the CAC table."""
    rates = {f"d{int(r.day)}": r for r in day_n.itertuples() if pd.notna(r.rate)}
    numbers = [_dn_card(report, key, rates.get(key), targets) for key in ("d1", "d7", "d30")]
    dau_mau = stick.dau_mau if stick is not None else None
    numbers.append(
        {
            "label": "retention.h.dau_mau",
            "value": dau_mau,
            "format": "dec2",
            "status": target_status(dau_mau, targets["dau_mau"]),
            "note": _target_note(report, targets, "dau_mau", "dec2"),
        }
    )
    for key, rate in (("first_order_conversion", conversion), ("repeat_purchase_rate", repeat)):
        if rate is not None:
            numbers.append(_rate_card(report, key, rate, targets))
    met = [r.rate >= targets[k] for k, r in rates.items() if k in targets]
    tone = None if not met else "green" if all(met) else "red" if not any(met) else "amber"
    report.summary(
        _verdict(report, rates, targets, met, dau_mau),
        tone=tone,
        numbers=numbers,
        actions=_next_steps(
            report, rates, targets, met, dau_mau, conversion, day_n_all, payback, period, breakdown
        ),
    )


def _interval(report: Any, low: Any, high: Any) -> str:
    return report.t("retention.summary.interval", low=fmt(low, "pct"), high=fmt(high, "pct"))


def _target_note(report: Any, targets: Mapping[str, float], key: str, kind: str) -> str:
    """ "target 40.0%", marked "(default)" when nobody set it."""
    text = marked(fmt(targets[key], kind), is_default(targets, key), report.lang)
    return report.t("retention.summary.target", target=text)


def _dn_card(report: Any, key: str, row: Any, targets: Mapping[str, float]) -> dict[str, Any]:
    target = targets.get(key)
    note = _target_note(report, targets, key, "pct") if target else None
    if row is not None and note:
        note += " · " + _interval(report, row.low, row.high)
    return {
        "label": f"retention.h.{key}",
        "value": None if row is None else row.rate,
        "format": "pct",
        "status": None
        if row is None or target is None
        else target_status(row.rate, target, row.high),
        "note": note,
    }


def _rate_card(
    report: Any, key: str, rate: RateResult, targets: Mapping[str, float]
) -> dict[str, Any]:
    target = targets[key]
    note = _target_note(report, targets, key, "pct")
    if rate.value is not None:
        note += " · " + _interval(report, rate.low, rate.high)
    return {
        "label": f"retention.h.{key}",
        "value": rate.value,
        "format": "pct",
        "status": target_status(rate.value, target, rate.high),
        "note": note,
    }


def _verdict(
    report: Any,
    rates: Mapping[str, Any],
    targets: Mapping[str, float],
    met: list[bool],
    dau_mau: float | None,
) -> str:
    tr = report.t
    if not met:
        return tr("retention.summary.no_rates")
    values = ", ".join(
        tr("retention.summary.dn", n=k[1:], rate=fmt(r.rate, "pct"), target=fmt(targets[k], "pct"))
        for k, r in rates.items()
        if k in targets
    )
    key = "all_met" if all(met) else "none_met" if not any(met) else "some_met"
    text = tr(f"retention.summary.{key}", met=sum(met), n=len(met), values=values)
    if dau_mau is not None:
        stick_key = "stick_met" if dau_mau >= targets["dau_mau"] else "stick_missed"
        text = tr(
            "retention.summary.with_stickiness",
            retention=text,
            stickiness=tr(
                f"retention.summary.{stick_key}",
                value=fmt(dau_mau, "dec2"),
                target=fmt(targets["dau_mau"], "dec2"),
            ),
        )
    return text


def _next_steps(
    report: Any,
    rates: Mapping[str, Any],
    targets: Mapping[str, float],
    met: list[bool],
    dau_mau: float | None,
    conversion: RateResult | None,
    day_n_all: pd.DataFrame | None,
    payback: pd.DataFrame | None,
    period: str,
    breakdown: str | None,
) -> list[str]:
    """What to look at first: the weakest channel when retention misses, the channels whose CAC
    does not pay back (soon), stickiness and first-order conversion below target."""
    tr = report.t
    steps = []
    if met and not all(met):
        steps.append(
            _weakest_group(report, rates, day_n_all, breakdown) or tr("retention.next.early")
        )
    steps += _payback_steps(report, payback, period)
    if dau_mau is not None and dau_mau < targets["dau_mau"]:
        steps.append(tr("retention.next.stickiness"))
    value = conversion.value if conversion is not None else None
    if value is not None and value < targets["first_order_conversion"]:
        steps.append(tr("retention.next.first_order"))
    if not steps:
        steps.append(tr("retention.next.keep"))
    return steps


def _weakest_group(
    report: Any,
    rates: Mapping[str, Any],
    day_n_all: pd.DataFrame | None,
    breakdown: str | None,
) -> str | None:
    """The groups with the lowest and highest D7 (else the longest day measured), among the
    groups the charts draw."""
    if day_n_all is None or "group" not in day_n_all.columns or day_n_all.empty:
        return None
    day = 7 if "d7" in rates else max(int(k[1:]) for k in rates)
    pooled = day_n_by(day_n_all, "group")
    pooled = pooled[(pooled["day"] == day) & pooled["rate"].notna()]
    # among the groups the curves draw (the largest, none below the privacy threshold): a
    # country of twelve buyers at 0 % is noise, not the place to start
    drawn = _drawn(report, dict(zip(pooled["group"], pooled["eligible"], strict=True)))
    pooled = pooled[pooled["group"].isin(drawn)]
    if len(pooled) < 2:
        return None
    ranked = pooled.sort_values(["rate", "group"])
    worst, best = ranked.iloc[0], ranked.iloc[-1]
    return report.t(
        "retention.next.weak_group",
        n=day,
        worst=group_name(report, breakdown, worst["group"]),
        worst_rate=fmt(worst["rate"], "pct"),
        best=group_name(report, breakdown, best["group"]),
        best_rate=fmt(best["rate"], "pct"),
    )


def _payback_steps(report: Any, payback: pd.DataFrame | None, period: str) -> list[str]:
    if payback is None or payback.empty:
        return []
    tr = report.t
    steps = []
    never = payback[payback["payback_age"].isna()]
    for row in never.itertuples():
        steps.append(
            tr(
                "retention.next.no_payback",
                channel=group_name(report, "channel", row.channel),
                cac=fmt(row.cac, "money"),
                ltv=fmt(row.ltv_latest, "money"),
            )
        )
    slow = payback[payback["payback_age"].notna() & (payback["payback_age"] > SLOW_PAYBACK)]
    for row in slow.itertuples():
        steps.append(
            tr(
                "retention.next.slow_payback",
                channel=group_name(report, "channel", row.channel),
                age=tr(f"retention.unit.{period}", n=int(row.payback_age)),
                cac=fmt(row.cac, "money"),
            )
        )
    return steps
