"""Campaign review, analysis: which steps and channels worked -- the funnel's step and overall
conversion and its biggest drop, the channels' order rates (without a holdout), and the
channels' attributed conversions under six models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from opsbook.behaviour.analysis.funnel import step_table
from opsbook.campaigns.queries.attribution import attribution_paths, time_decay_credit
from opsbook.campaigns.queries.events import _finite
from opsbook.data import Source
from opsbook.i18n import display_name
from opsbook.stats.attribution import attribution

ALL_STEPS = ("exposed", "visited", "clicked", "joined", "ordered")  # outcome sources: visited


def channel_name(code: Any, lang: str) -> str:
    """A channel as a reader sees it in ``lang`` (``search_ad`` -> "搜索广告"); a channel the
    i18n table does not know shows as the data's own name."""
    return display_name("channel", code, lang)


def steps_of(funnel: pd.DataFrame) -> tuple[str, ...]:
    """The funnel steps a funnel frame holds, in order."""
    return tuple(s for s in ALL_STEPS if s in funnel.columns)


def funnel_table(counts: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """``counts`` (channel, exposed, clicked, joined, ordered) plus a total row, and per step the
    step conversion (from the previous step, ``<step>_rate``) with its Wilson interval
    (``<step>_rate_low``/``_high``), each step's overall conversion (from exposed,
    ``<step>_overall``) and the funnel's (``overall``): the behaviour funnel's arithmetic
    (:func:`~opsbook.behaviour.analysis.funnel.step_table`) on each row; a rate after a step no
    one reached is NaN."""
    if counts.empty:
        return counts
    steps = steps_of(counts)
    total = counts[list(steps)].sum().to_frame().T
    total.insert(0, "channel", "__total__")
    frame = pd.concat([counts, total], ignore_index=True)
    for column in steps:
        frame[column] = frame[column].astype("int64")
    tables = [step_table(list(users), steps, alpha) for users in frame[list(steps)].to_numpy()]
    for i, step in enumerate(steps):
        if i:
            frame[f"{step}_rate"] = [t["conversion"].iloc[i] for t in tables]
            frame[f"{step}_rate_low"] = [t["conversion_low"].iloc[i] for t in tables]
            frame[f"{step}_rate_high"] = [t["conversion_high"].iloc[i] for t in tables]
        frame[f"{step}_overall"] = [t["overall"].iloc[i] for t in tables]
    frame["overall"] = frame[f"{steps[-1]}_overall"]
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


def attribution_table(paths: pd.DataFrame, decay: pd.DataFrame) -> pd.DataFrame:
    """One row per channel: journeys touching it, and the attributed conversions (and value) of
    first_touch, last_touch, linear, position_based (40/20/40), time_decay (days) and markov."""
    columns = ["first_touch", "last_touch", "linear", "position_based", "markov"]
    if paths.empty or paths["conversions"].sum() == 0:
        return pd.DataFrame(columns=["channel", "journeys", *columns, "time_decay"])
    table = attribution(paths, models=columns)
    table = table.reset_index()
    journeys = {
        channel: float(
            (paths["conversions"] + paths["nulls"])[
                paths["path"].map(lambda p, c=channel: c in p)
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


def channel_attribution(
    source: Source,
    keys: Sequence[str] | None,
    windows: Sequence[tuple[datetime, datetime]],
    window_days: int,
    half_life: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(paths, table): the journeys of the campaigns ``keys`` (None: every campaign) around
    ``windows`` (:func:`attribution_paths`) and the attribution table built from them, time decay
    with a ``half_life`` in days."""
    paths = attribution_paths(source, keys, windows, window_days)
    decay = time_decay_credit(source, keys, windows, window_days, half_life)
    return paths, attribution_table(paths, decay)
