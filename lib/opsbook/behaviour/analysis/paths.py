"""Behaviour, analysis: a paths result -- nodes and transitions in unique users, rare nodes in
an explicit "other" bucket, and the top paths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsbook.behaviour.queries.paths import END, OTHER, PathCounts, PathRules, path_counts
from opsbook.behaviour.queries.steps import Funnel
from opsbook.report import jsonable


def bucket_rare(counts: PathCounts, min_users: int) -> PathCounts:
    """Nodes with fewer than ``min_users`` users merged into an explicit ``(other)`` node per
    step, the transitions re-summed to match (``(end)`` is never merged); top paths unchanged."""
    if int(min_users) <= 1:
        return counts
    nodes = counts.nodes
    rare = set(
        zip(
            nodes.loc[(nodes["users"] < min_users) & (nodes["event"] != END), "step"],
            nodes.loc[(nodes["users"] < min_users) & (nodes["event"] != END), "event"],
            strict=True,
        )
    )

    def merged(step: Sequence[int], event: Sequence[str]) -> list[str]:
        return [OTHER if (s, e) in rare else e for s, e in zip(step, event, strict=True)]

    n = nodes.assign(event=merged(nodes["step"], nodes["event"]))
    n = n.groupby(["step", "event"], as_index=False)["users"].sum()
    t = counts.transitions
    t = t.assign(
        source=merged(t["step"], t["source"]),
        target=merged(t["step"] + 1, t["target"]),
    )
    t = t.groupby(["step", "source", "target"], as_index=False)["users"].sum()
    return PathCounts(
        nodes=n.sort_values(["step", "users"], ascending=[True, False]).reset_index(drop=True),
        transitions=t.sort_values(["step", "users"], ascending=[True, False]).reset_index(
            drop=True
        ),
        top=counts.top,
    )


@dataclass(frozen=True)
class PathsResult:
    """Paths from (``after``) or to (``before``) ``anchor`` (for a drop-off: the funnel's step
    the users left after); ``nodes``/``transitions`` with rare nodes bucketed; ``top`` paths."""

    anchor: str
    direction: str
    steps: int
    min_users: int
    nodes: pd.DataFrame
    transitions: pd.DataFrame
    top: pd.DataFrame

    @property
    def users(self) -> int:
        """Users who have a path (the anchor's node)."""
        first = self.nodes[self.nodes["step"] == 0]
        return int(first["users"].sum())

    def next_events(self) -> pd.DataFrame:
        """What the users did right after (or before) the anchor: target, users, share."""
        first = self.transitions[self.transitions["step"] == 0]
        first = first.groupby("target", as_index=False)["users"].sum()
        first["share"] = first["users"] / max(self.users, 1)
        return first.sort_values("users", ascending=False).reset_index(drop=True)

    def metrics(self, top: int = 10) -> dict[str, Any]:
        return jsonable(
            {
                "anchor": self.anchor,
                "direction": self.direction,
                "users": self.users,
                "top": [
                    {"path": list(r.path), "users": int(r.users)}
                    for r in self.top.head(top).itertuples()
                ],
            }
        )


def paths_analysis(
    source: Any,
    *,
    anchor: str | None = None,
    direction: str = "after",
    steps: int = 5,
    rules: PathRules | None = None,
    min_users: int = 1,
    funnel: Funnel | None = None,
    dropoff_step: int | None = None,
    top: int = 20,
    since: Any = None,
    until: Any = None,
) -> PathsResult:
    """Paths around an event or after a funnel drop-off (see :func:`path_counts`), nodes under
    ``min_users`` users merged into ``(other)``."""
    counts = path_counts(
        source,
        anchor=anchor,
        direction=direction,
        steps=steps,
        rules=rules,
        funnel=funnel,
        dropoff_step=dropoff_step,
        top=top,
        since=since,
        until=until,
    )
    if funnel is not None:
        anchor, direction = funnel.steps[int(dropoff_step) - 1].name, "after"
    counts = bucket_rare(counts, min_users)
    return PathsResult(
        anchor=str(anchor),
        direction=direction,
        steps=int(steps),
        min_users=int(min_users),
        nodes=counts.nodes,
        transitions=counts.transitions,
        top=counts.top,
    )
