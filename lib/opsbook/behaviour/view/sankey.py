"""The paths as a Sankey chart drawn offline: a layout computed here (node boxes stacked per
step, bands whose widths are unique users, so a node's bands add up to its users) and drawn
with matplotlib patches into the page's PNG -- nothing fetched, no script."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsbook.behaviour.analysis.paths import END, OTHER
from opsbook.plots import category_colours, figure

GREY, LIGHT = "#b0b0b0", "#d9d9d9"


@dataclass(frozen=True)
class Box:
    """A node: its column (steps away from the anchor), event, users and vertical extent
    (0 at the top; heights proportional to users)."""

    column: int
    event: str
    users: int
    top: float
    bottom: float


@dataclass(frozen=True)
class Band:
    """A transition from ``source`` in ``column`` to ``target`` in ``column + 1``: its users
    and the vertical extents where it leaves the source and enters the target."""

    column: int
    source: str
    target: str
    users: int
    source_span: tuple[float, float]
    target_span: tuple[float, float]


def _rank(event: str, users: int) -> tuple[int, int, str]:
    """Order within a column: the most users first, then "other", then the path's end."""
    return (2 if event == END else 1 if event == OTHER else 0, -users, event)


def sankey_layout(
    nodes: pd.DataFrame, transitions: pd.DataFrame, gap: float = 0.02
) -> tuple[list[Box], list[Band]]:
    """Boxes and bands from the paths' ``nodes`` (step, event, users) and ``transitions``
    (step, source, target, users). Paths that stop become an ``(end)`` box in the next column.
    The tallest column fills [0, 1] with ``gap`` between boxes; every column uses one scale."""
    columns: dict[int, dict[str, int]] = {}
    for row in nodes.itertuples(index=False):
        columns.setdefault(int(row.step), {})[str(row.event)] = int(row.users)
    ends = transitions[transitions["target"] == END].groupby("step")["users"].sum()
    for step, users in ends.items():
        columns.setdefault(int(step) + 1, {})[END] = int(users)
    if not columns:
        return [], []
    most = max(len(c) for c in columns.values())
    total = max(sum(c.values()) for c in columns.values())
    scale = (1 - gap * (most - 1)) / total if total else 0.0
    boxes: dict[tuple[int, str], Box] = {}
    for column, counts in sorted(columns.items()):
        y = 0.0
        for event, users in sorted(counts.items(), key=lambda kv: _rank(*kv)):
            boxes[(column, event)] = Box(column, event, users, y, y + users * scale)
            y += users * scale + gap
    order = {key: _rank(key[1], box.users) for key, box in boxes.items()}
    out_at = {key: box.top for key, box in boxes.items()}
    in_at = dict(out_at)
    links = sorted(
        transitions.itertuples(index=False),
        key=lambda r: (order[(int(r.step), r.source)], order[(int(r.step) + 1, r.target)]),
    )
    bands = []
    for r in links:
        src, dst = (int(r.step), str(r.source)), (int(r.step) + 1, str(r.target))
        height = int(r.users) * scale
        bands.append(
            Band(
                int(r.step), src[1], dst[1], int(r.users),
                (out_at[src], out_at[src] + height), (in_at[dst], in_at[dst] + height),
            )
        )  # fmt: skip
        out_at[src] += height
        in_at[dst] += height
    return list(boxes.values()), bands


def sankey_chart(
    boxes: list[Box],
    bands: list[Band],
    *,
    name: Callable[[str], str],
    title: str,
    users_label: Callable[[int], str],
    mirrored: bool = False,
    min_label: float = 0.025,
) -> Any:
    """The layout drawn: boxes coloured per event (the same colour in every column; "other"
    and the end grey), bands in their source's colour; labels on boxes tall enough to read.
    ``mirrored``: time runs right to left (paths before the anchor)."""
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path

    last = max((b.column for b in boxes), default=0)
    colours = category_colours(b.event for b in boxes if b.event not in (END, OTHER))
    colours |= {END: GREY, OTHER: LIGHT}
    width = 0.1

    def x_of(column: int) -> float:
        return float(last - column if mirrored else column)

    fig, ax = figure(10, 5.6)
    for band in bands:
        x0, x1 = x_of(band.column), x_of(band.column + 1)
        left = x0 + width if x1 > x0 else x0
        right = x1 if x1 > x0 else x1 + width
        (s0, s1), (t0, t1) = band.source_span, band.target_span
        mid = (left + right) / 2
        vertices = [
            (left, s0), (mid, s0), (mid, t0), (right, t0),
            (right, t1), (mid, t1), (mid, s1), (left, s1), (left, s0),
        ]  # fmt: skip
        codes = [Path.MOVETO, *[Path.CURVE4] * 3, Path.LINETO, *[Path.CURVE4] * 3,
                 Path.CLOSEPOLY]  # fmt: skip
        ax.add_patch(PathPatch(Path(vertices, codes), facecolor=colours[band.source],
                               edgecolor="none", alpha=0.35))  # fmt: skip
    for box in boxes:
        x = x_of(box.column)
        ax.add_patch(Rectangle((x, box.top), width, box.bottom - box.top,
                               facecolor=colours[box.event], edgecolor="none"))  # fmt: skip
        if box.bottom - box.top >= min_label:
            ax.text(x + width + 0.02, (box.top + box.bottom) / 2,
                    f"{name(box.event)}\n{users_label(box.users)}", va="center", fontsize=8)  # fmt: skip
    ax.set_xlim(-0.05, last + 0.75)
    ax.set_ylim(1.02, -0.02)
    ax.axis("off")
    ax.set_title(title)
    return fig
