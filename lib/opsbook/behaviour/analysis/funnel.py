"""Behaviour, analysis: a funnel's typed result -- unique users per step, step and overall
conversion with Wilson intervals, drop-off, the breakdown's test per step, the times to convert
and the trend by entry week."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from opsbook.behaviour.queries.funnel import funnel_by_week, funnel_counts, time_to_convert
from opsbook.behaviour.queries.steps import Exclusion, Funnel, event_names
from opsbook.report import jsonable
from opsbook.retention.queries.periods import period_start
from opsbook.stats import adjust_pvalues, two_proportion_test, wilson_interval


def step_table(users: list[int], names: tuple[str, ...], alpha: float = 0.05) -> pd.DataFrame:
    """Per step: users, step conversion (from the previous step; the first step: 1), overall
    conversion (from the first step), both with Wilson intervals, and the users who dropped off
    before the step. A step after a step no one reached has no conversion (NaN), not 0."""
    n = np.asarray(users, dtype="int64")
    prev = np.concatenate([[n[0]], n[:-1]]) if len(n) else n
    first = np.full_like(n, n[0] if len(n) else 0)
    s_low, s_high = wilson_interval(n, prev, alpha)
    o_low, o_high = wilson_interval(n, first, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        step_rate = np.where(prev > 0, n / prev, np.nan)
        overall = np.where(first > 0, n / first, np.nan)
    return pd.DataFrame(
        {
            "step": range(len(n)),
            "event": list(names),
            "users": n,
            "conversion": step_rate,
            "conversion_low": s_low,
            "conversion_high": s_high,
            "overall": overall,
            "overall_low": o_low,
            "overall_high": o_high,
            "dropped": prev - n,
        }
    )


def breakdown_tests(counts: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per step (1..) and group: the group's step conversion against all other groups' (pooled
    two-proportion z-test, Newcombe interval for the difference group - rest), p-values
    Holm-adjusted over the groups of each step."""
    rows = []
    wide = counts.pivot_table(index="grp", columns="step", values="users", aggfunc="sum")
    wide = wide.fillna(0).astype("int64")
    for step in [s for s in wide.columns if s >= 1]:
        tests = []
        for grp in wide.index:
            x2, n2 = int(wide.loc[grp, step]), int(wide.loc[grp, step - 1])
            x1 = int(wide[step].sum()) - x2
            n1 = int(wide[step - 1].sum()) - n2
            r = two_proportion_test(x1, n1, x2, n2, alpha=alpha)
            tests.append((grp, n2, x2, r))
        p_holm = adjust_pvalues([t[3].p_value for t in tests], "holm")
        for (grp, n2, x2, r), p in zip(tests, p_holm, strict=True):
            rows.append(
                {
                    "step": step,
                    "grp": grp,
                    "entered": n2,
                    "converted": x2,
                    "conversion": r.p2,
                    "rest_conversion": r.p1,
                    "diff": r.diff,
                    "diff_low": r.ci[0],
                    "diff_high": r.ci[1],
                    "p_value": r.p_value,
                    "p_holm": p,
                    "significant": bool(p < alpha) if not np.isnan(p) else False,
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class FunnelResult:
    """A funnel's answer; ``steps`` from :func:`step_table`, ``groups`` (grp, step, users),
    ``tests`` from :func:`breakdown_tests`, ``times`` and ``histogram`` from the engine's time
    to convert, ``weeks`` (week start, step, users, overall)."""

    funnel: Funnel
    breakdown: str | None
    steps: pd.DataFrame
    groups: pd.DataFrame
    tests: pd.DataFrame
    times: pd.DataFrame
    histogram: pd.DataFrame
    weeks: pd.DataFrame
    missing: tuple[str, ...] = ()

    @property
    def overall_conversion(self) -> float | None:
        value = self.steps["overall"].iloc[-1] if len(self.steps) else np.nan
        return None if np.isnan(value) else float(value)

    @property
    def median_time_to_convert_s(self) -> float | None:
        row = self.times[self.times["step"] == "overall"]
        return float(row["median"].iloc[0]) if len(row) else None

    def biggest_drop(self) -> dict[str, Any] | None:
        """The step (1..) whose step conversion is lowest: from, to, the share lost, users. A
        step whose event the data lack is no drop-off (nobody could do it)."""
        later = self.steps[self.steps["step"] >= 1].dropna(subset=["conversion"])
        later = later[~later["event"].isin(self.missing_names)]
        if later.empty:
            return None
        row = later.loc[later["conversion"].idxmin()]
        k = int(row["step"])
        return {
            "step": k,
            "from": self.steps["event"].iloc[k - 1],
            "to": row["event"],
            "share": float(1 - row["conversion"]),
            "users": int(row["dropped"]),
        }

    @property
    def missing_names(self) -> tuple[str, ...]:
        """The names of the steps whose event the data lack."""
        return tuple(st.name for st in self.funnel.steps if st.event in self.missing)

    def metrics(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.funnel.name,
                "steps": [
                    {"event": r.event, "users": int(r.users), "conversion": r.overall}
                    for r in self.steps.itertuples()
                ],
                "overall_conversion": self.overall_conversion,
                "median_time_to_convert_s": self.median_time_to_convert_s,
                "order": self.funnel.order,
                "entry": self.funnel.entry,
                "window_seconds": int(self.funnel.window_seconds),
                "biggest_drop": self.biggest_drop(),
                "breakdown": self.breakdown,
                "missing_events": list(self.missing),
            }
        )


def funnel_analysis(
    source: Any,
    funnel: Funnel,
    *,
    breakdown: str | None = None,
    since: Any = None,
    until: Any = None,
    alpha: float = 0.05,
    bins: int = 20,
    details: bool = True,
) -> FunnelResult:
    """Everything the report shows about one funnel, from the engine's small frames; without
    ``details``, the steps and the breakdown only (no times, no weeks: the explorer's redraw)."""
    period = {"since": since, "until": until}
    names = funnel.names
    total = funnel_counts(source, funnel, **period)
    users = total.groupby("step")["users"].sum().reindex(range(len(names)), fill_value=0)
    groups = funnel_counts(source, funnel, breakdown=breakdown, **period) if breakdown else total
    tests = breakdown_tests(groups, alpha) if breakdown else pd.DataFrame()
    times = pd.DataFrame(columns=["step", "users", "median"])
    histogram = pd.DataFrame(columns=["step", "bin", "users"])
    weeks = pd.DataFrame()
    if details:
        times, histogram = time_to_convert(source, funnel, bins=bins, **period)
        weeks = funnel_by_week(source, funnel, **period)
    if not weeks.empty:
        entered = weeks[weeks["step"] == 0].set_index("week")["users"]
        weeks = weeks.assign(
            week_start=[period_start(w, "week") for w in weeks["week"]],
            overall=weeks["users"] / weeks["week"].map(entered).where(lambda s: s > 0),
        )
    return FunnelResult(
        funnel=funnel,
        breakdown=breakdown,
        steps=step_table([int(u) for u in users], names, alpha),
        groups=groups,
        tests=tests,
        times=times,
        histogram=histogram,
        weeks=weeks,
    )


def present_part(funnel: Funnel, present: Collection[str]) -> tuple[Funnel | None, tuple[str, ...]]:
    """The part of ``funnel`` the data can answer, and the step events the data lack: an
    ordered or strict funnel up to its first step whose event is absent (no one can pass it);
    an any-order funnel without its absent steps (positions past them stay empty); exclusions of
    absent events dropped (they exclude no one). None when no step's event is present."""
    missing = tuple(dict.fromkeys(st.event for st in funnel.steps if st.event not in present))
    if not missing:
        return funnel, ()
    if funnel.order == "any":
        kept = tuple(st for st in funnel.steps if st.event in present)
    else:
        first = next(i for i, st in enumerate(funnel.steps) if st.event not in present)
        kept = funnel.steps[:first]
    if not kept:
        return None, missing
    last = len(kept) - 1
    exclusions = []
    for x in funnel.exclusions:
        top = min(last, len(funnel.steps) - 1 if x.to_step is None else x.to_step)
        if x.event in present and x.from_step < top:
            exclusions.append(Exclusion(x.event, x.where, x.from_step, top))
    return replace(funnel, steps=kept, exclusions=tuple(exclusions)), missing


def _padded(
    whole: Funnel, part: FunnelResult | None, missing: tuple[str, ...], alpha: float
) -> FunnelResult:
    """``part`` (the answerable steps) as the whole funnel's result: zero users at every step
    past it, no time to the last step (nobody reached it)."""
    order = [st for st in whole.steps if st.event not in missing]
    order += [st for st in whole.steps if st.event in missing]
    shown = replace(whole, steps=tuple(order)) if whole.order == "any" else whole
    n = len(shown.steps)
    known = list(part.steps["users"]) if part is not None else []
    users = [int(u) for u in known] + [0] * (n - len(known))
    empty = pd.DataFrame(columns=["grp", "step", "users"])
    groups = part.groups if part is not None else empty
    if not groups.empty:
        pads = [
            pd.DataFrame({"grp": g, "step": range(len(known), n), "users": 0})
            for g in groups["grp"].unique()
        ]
        groups = pd.concat([groups, *pads], ignore_index=True)
    tests = (
        breakdown_tests(groups, alpha) if part is not None and part.breakdown else pd.DataFrame()
    )
    weeks = part.weeks if part is not None else pd.DataFrame()
    if not weeks.empty:
        extra = [
            pd.DataFrame(
                {"week": w, "step": range(len(known), n), "users": 0, "week_start": start}
            ).assign(overall=0.0)
            for w, start in weeks[["week", "week_start"]].drop_duplicates().itertuples(index=False)
        ]
        weeks = pd.concat([weeks, *extra], ignore_index=True)
    times = part.times if part is not None else pd.DataFrame(columns=["step", "users", "median"])
    histogram = part.histogram if part is not None else pd.DataFrame(columns=["step", "bin"])
    return FunnelResult(
        funnel=shown,
        breakdown=part.breakdown if part is not None else None,
        steps=step_table(users, shown.names, alpha),
        groups=groups,
        tests=tests,
        times=times[times["step"] != "overall"].reset_index(drop=True),
        histogram=histogram[histogram["step"] != "overall"].reset_index(drop=True),
        weeks=weeks,
        missing=missing,
    )


def lenient_funnel_analysis(
    source: Any, funnel: Funnel, *, alpha: float = 0.05, **options: Any
) -> FunnelResult:
    """:func:`funnel_analysis` on data that may lack some step's event (the default funnel on a
    log that has no checkout yet): those steps show zero users and the result names them in
    ``missing``; the steps before them are computed as usual."""
    part, missing = present_part(funnel, set(event_names(source)))
    if not missing:
        return funnel_analysis(source, funnel, alpha=alpha, **options)
    done = funnel_analysis(source, part, alpha=alpha, **options) if part is not None else None
    return _padded(funnel, done, missing, alpha)
