"""The answer first: how many users got through the first funnel, its biggest drop-off and what
those users did instead, and the key action worth pushing -- one paragraph with the numbers,
the cards and the next steps, from the results the sections below show."""

from __future__ import annotations

from typing import Any

from opsbook.behaviour.analysis.behaviour import Behaviour
from opsbook.behaviour.analysis.funnel import FunnelResult
from opsbook.behaviour.analysis.paths import END
from opsbook.behaviour.view.actions import action_text
from opsbook.behaviour.view.names import (
    column_name,
    duration_text,
    event_name,
    funnel_title,
    group_name,
    listed,
)
from opsbook.formats import fmt, interval_text
from opsbook.report import Report


def last_answerable(result: FunnelResult) -> int:
    """The last step whose event the data hold (the funnel's end when it lacks none)."""
    present = [k for k, st in enumerate(result.funnel.steps) if st.event not in result.missing]
    return present[-1] if present else 0


def _reach(report: Report, result: FunnelResult) -> tuple[str, dict[str, Any]]:
    f, s = result.funnel, result.steps
    k = last_answerable(result)
    entered = int(s["users"].iloc[0])
    share = s["overall"].iloc[k] if entered else None
    fields = {
        "entered": fmt(entered, "int"),
        "name": funnel_title(report, f.name),
        "share": fmt(share, "pct"),
        "last": event_name(report, f.steps[k].event),
        "window": duration_text(report, f.window_seconds),
    }
    card = {
        "label": "behaviour.h.reached",
        "value": share,
        "format": "pct",
        "note": report.t("behaviour.summary.reached_note", **fields),
    }
    return report.t("behaviour.summary.reach", **fields), card


def _drop(report: Report, result: Behaviour) -> tuple[str, dict[str, Any] | None, str | None]:
    """The drop-off sentence (with where those users went), its card and its next step."""
    drop = result.main.biggest_drop()
    if drop is None or drop["users"] == 0:
        return report.t("behaviour.summary.no_drop"), None, None
    steps = result.main.funnel.steps
    fields = {
        "before": event_name(report, steps[drop["step"] - 1].event),
        "after": event_name(report, steps[drop["step"]].event),
        "share": fmt(drop["share"], "pct"),
        "users": fmt(drop["users"], "int"),
    }
    sentence = report.t("behaviour.summary.drop", **fields)
    step = report.t("behaviour.summary.next_drop", **fields)
    if result.dropoff is not None:
        after = result.dropoff.next_events()
        went = after[after["target"] != END].head(2)
        ended = after.loc[after["target"] == END, "share"].sum()
        places = listed(
            report,
            (
                report.t(
                    "behaviour.summary.place", event=event_name(report, e), share=fmt(v, "pct")
                )
                for e, v in zip(went["target"], went["share"], strict=True)
            ),
        )
        sentence += report.t(
            "behaviour.summary.instead", places=places or "—", ended=fmt(ended, "pct")
        )
        if len(went):
            step = report.t(
                "behaviour.summary.next_drop_where",
                where=event_name(report, went["target"].iloc[0]),
                **fields,
            )
    card = {
        "label": "behaviour.h.biggest_drop",
        "value": drop["share"],
        "format": "pct",
        "status": "amber",
        "note": report.t("behaviour.summary.drop_note", **fields),
    }
    return sentence, card, step


def _action(report: Report, result: Behaviour) -> tuple[str, dict[str, Any] | None, str | None]:
    found = result.actions
    if found is None:
        return report.t("behaviour.summary.no_users"), None, None
    best = found.top(1)
    if best.empty or not best["diff"].iloc[0] > 0:
        return report.t("behaviour.summary.no_action"), None, None
    row = best.iloc[0]
    action = action_text(report, row["event"], row["threshold"], found.first_days)
    fields = {
        "action": action,
        "day": found.day,
        "with": fmt(row["retention_with"], "pct"),
        "without": fmt(row["retention_without"], "pct"),
        "diff": fmt(row["diff"], "pp"),
        "interval": interval_text(row["diff_low"], row["diff_high"], "pp"),
        "share": fmt(row["share"], "pct"),
    }
    card = {
        "label": "behaviour.h.key_action",
        "value": row["diff"],
        "format": "pp",
        "status": "green",
        "note": report.t("behaviour.summary.action_note", **fields),
    }
    return (
        report.t("behaviour.summary.action", **fields),
        card,
        report.t("behaviour.summary.next_action", **fields),
    )


def _weakest_group(report: Report, result: FunnelResult) -> str | None:
    """The next step for the group that converts least against the rest (significant)."""
    tests = result.tests
    if tests.empty:
        return None
    worse = tests[tests["significant"] & (tests["diff"] < 0)]
    if worse.empty:
        return None
    row = worse.loc[worse["diff"].idxmin()]
    steps = result.funnel.steps
    return report.t(
        "behaviour.summary.next_group",
        column=column_name(report, result.breakdown),
        group=group_name(report, result.breakdown, row["grp"]),
        diff=fmt(row["diff"], "pp"),
        before=event_name(report, steps[int(row["step"]) - 1].event),
        after=event_name(report, steps[int(row["step"])].event),
    )


def summary(report: Report, result: Behaviour) -> None:
    """The summary block: one paragraph (reach, biggest drop-off and where those users went,
    the key action), 3-5 cards and the next steps."""
    main = result.main
    reach, reach_card = _reach(report, main)
    drop, drop_card, drop_step = _drop(report, result)
    action, action_card, action_step = _action(report, result)
    parts = [reach, drop, action]
    if main.missing:
        parts.append(
            report.t(
                "behaviour.summary.missing",
                events=listed(report, (event_name(report, e) for e in main.missing)),
            )
        )
    times = main.times
    median = times["median"].iloc[-1] if len(times) else None
    numbers = [
        {"label": "behaviour.h.entered", "value": int(main.steps["users"].iloc[0]),
         "format": "int"},
        reach_card,
        drop_card,
        {"label": "behaviour.h.median_time", "value": duration_text(report, median),
         "format": "text",
         "note": report.t("behaviour.summary.time_note") if len(times) else None},
        action_card,
    ]  # fmt: skip
    steps = [drop_step, _weakest_group(report, main), action_step]
    if main.missing:
        steps.append(
            report.t(
                "behaviour.summary.next_track",
                events=listed(report, (event_name(report, e) for e in main.missing)),
            )
        )
    report.summary(
        " ".join(parts),
        tone="amber" if drop_card else None,
        numbers=[n for n in numbers if n is not None],
        actions=[s for s in steps if s],
    )
