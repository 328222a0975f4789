"""The retention matrix on the page: the table with its means and their counts, the heatmap, and
the mean retention curves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from opsbook.formats import count_text, fmt, is_small
from opsbook.plots import PALETTE, figure, percent_ticks
from opsbook.retention.analysis import RetentionResult
from opsbook.retention.view.groups import _drawn, colour_of, group_name


def _period_header(report: Any, period: Any, unit: str) -> str:
    if isinstance(period, str):
        return period
    return report.t(f"retention.unit.{unit}", n=int(period))


def show_matrix(report: Any, matrix: RetentionResult, max_periods: int = 12, top: int = 6) -> None:
    """The means across cohorts (weighted, simple, and the complete cohorts and users behind
    them) in one short table, then the matrix by cohort: the first ``top`` cohorts and the whole
    matrix folded under "all N rows" (the heatmap above draws every cohort)."""
    tr = report.t
    unit = matrix.settings["period"]
    periods = list(matrix.periods)[: max_periods + 1]
    if matrix.cells.empty:
        report.say("retention.empty")
        return
    headers = {p: _period_header(report, p, unit) for p in periods}
    mean = matrix.mean.set_index("period").reindex(periods)
    rows = []
    for kind in ("weighted", "simple"):
        rows.append(
            {tr("retention.col.mean"): tr(f"retention.row.{kind}")}
            | {
                headers[p]: "—"
                if is_small(mean.loc[p, "users"], report.min_cell)
                else fmt(mean.loc[p, kind], "pct")
                for p in periods
            }
        )
    for kind in ("cohorts", "users"):
        rows.append(
            {tr("retention.col.mean"): tr(f"retention.row.{kind}")}
            | {
                headers[p]: count_text(
                    mean.loc[p, kind], report.min_cell if kind == "users" else None
                )
                for p in periods
            }
        )
    report.show(pd.DataFrame(rows))
    wide = matrix.wide().reindex(columns=periods)
    sizes = matrix.cohorts.set_index("cohort")["users"]
    table = wide.rename(columns=headers)
    table.insert(0, tr("retention.col.users"), sizes.reindex(table.index).to_numpy())
    table.insert(0, tr("retention.col.cohort"), table.index)
    table = table.reset_index(drop=True)
    formats = {headers[p]: "pct" for p in periods} | {tr("retention.col.users"): "int"}
    report.show(
        table,
        top=top,
        formats=formats,
        min_cell=report.min_cell,
        count_columns=[tr("retention.col.users")],
    )


# the heatmap's geometry, in inches: a cell, the margins around the cells (the cohort labels at
# the left, the period labels and the title above, the colour bar at the right)
_CELL_WIDTH, _CELL_HEIGHT = 0.55, 0.3
_LEFT, _RIGHT, _BOTTOM, _TOP = 1.3, 0.8, 0.1, 0.5
# the title's baseline above the cells, in points: the period ticks (3.5 pt), their pad (3.5 pt),
# their 8-pt labels and a gap
_TITLE_RISE = 26


class HeatmapCells(NamedTuple):
    """What a heatmap draws: the frame (cohort labels, period labels, title) and the rates in it
    (NaN where a cell is incomplete or its cohort too small to show)."""

    cohorts: tuple[str, ...]
    periods: tuple[str, ...]
    title: str
    values: np.ndarray

    @property
    def frame(self) -> tuple:
        """Everything of the figure but its cells: two settings of one frame share one figure."""
        return self.cohorts, self.periods, self.title


def heatmap_cells(
    report: Any, matrix: RetentionResult, max_periods: int = 12, max_cohorts: int = 30
) -> HeatmapCells | None:
    """The cells :func:`heatmap` draws for ``matrix``: every cohort, or past ``max_cohorts`` the
    newest ones with the title saying how many it leaves out; None for an empty matrix."""
    if matrix.cells.empty:
        return None
    unit = matrix.settings["period"]
    periods = list(matrix.periods)[: max_periods + 1]
    every = matrix.wide().reindex(columns=periods)
    wide = every.tail(max_cohorts)
    sizes = matrix.cohorts.set_index("cohort")["users"].reindex(wide.index)
    values = wide.to_numpy(dtype=float)
    small = np.array([is_small(n, report.min_cell) for n in sizes])
    values[small, :] = np.nan
    title = report.t("retention.chart.heatmap")
    if len(wide) < len(every):
        title += "\n" + report.t("retention.chart.newest", shown=len(wide), total=len(every))
    cohorts = tuple(
        f"{c} ({report.t('core.suppressed', min_cell=report.min_cell) if s else int(n)})"
        for c, n, s in zip(wide.index, sizes, small, strict=True)
    )
    headers = tuple(_period_header(report, p, unit) for p in periods)
    return HeatmapCells(cohorts, headers, title, values)


def heatmap(report: Any, matrix: RetentionResult, max_periods: int = 12, max_cohorts: int = 30):
    """Annotated heatmap of the matrix: every cohort of the table below, or, past
    ``max_cohorts`` (daily cohorts), the newest ones with the title saying how many it leaves
    out; incomplete cells hatched grey, never 0; cohorts smaller than the privacy threshold left
    blank."""
    cells = heatmap_cells(report, matrix, max_periods, max_cohorts)
    return None if cells is None else draw_heatmap(cells)


def draw_heatmap(cells: HeatmapCells):
    """The heatmap of ``cells`` as a new figure.

    The axes, the colour bar and the title are placed by hand, from the number of cells: a
    layout engine (and the title's automatic place above the period labels) measured every
    cohort label three times per draw, most of the time of drawing a daily heatmap in the
    explorer. The saved image is cropped to what is drawn, so a longer label still shows."""
    from matplotlib.colors import LinearSegmentedColormap

    cells_width = min(_CELL_WIDTH * len(cells.periods), 11)
    cells_height = _CELL_HEIGHT * len(cells.cohorts)
    top = _TOP + 0.25 * (cells.title.count("\n") + 1)
    width, height = _LEFT + cells_width + _RIGHT, _BOTTOM + cells_height + top
    fig, ax = figure(width, height, layout=None)
    ax.set_position((_LEFT / width, _BOTTOM / height, cells_width / width, cells_height / height))
    cmap = LinearSegmentedColormap.from_list("ret", ["#f4f8fc", PALETTE[0]]).with_extremes(
        bad="#ececec"
    )
    image = ax.imshow(np.ma.masked_invalid(cells.values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.grid(False)
    _paint(ax, cells.values)
    ax.set_yticks(range(len(cells.cohorts)), cells.cohorts, fontsize=8)
    ax.set_xticks(range(len(cells.periods)), cells.periods, fontsize=8)
    ax.xaxis.tick_top()
    ax.set_title(cells.title, y=1 + _TITLE_RISE / 72 / cells_height)
    bar_height = min(cells_height / 2, 4)
    bar = fig.add_axes(
        (
            (_LEFT + cells_width + 0.2) / width,
            (_BOTTOM + (cells_height - bar_height) / 2) / height,
            0.15 / width,
            bar_height / height,
        )
    )
    fig.colorbar(image, cax=bar, format=percent_ticks(0))
    return fig


# the heatmap's collections drawn from its rates: replaced when the explorer repaints a figure
_PAINT = ("cell labels", "incomplete cells")


def repaint_heatmap(fig: Any, cells: HeatmapCells) -> None:
    """Draw ``cells`` into ``fig``, a :func:`draw_heatmap` figure of the same frame, in place of
    its own: the image's rates, the cell labels and the hatching change; the axes, ticks, title
    and colour bar stay (the explorer's switch of criterion: same cohorts, same periods). The
    figure then draws as a new one of ``cells`` would."""
    ax = fig.axes[0]
    ax.images[0].set_data(np.ma.masked_invalid(cells.values))
    for painted in [c for c in ax.collections if c.get_gid() in _PAINT]:
        painted.remove()
    _paint(ax, cells.values)


def _paint(ax: Any, values: np.ndarray) -> None:
    """The rates written in the cells and the incomplete cells hatched, over the image."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    highest = np.nanmax(values) if np.isfinite(values).any() else 1.0
    _cell_labels(ax, values, highest)
    # the incomplete cells, hatched as one collection (one draw, not one per cell)
    blank = [Rectangle((j - 0.5, i - 0.5), 1, 1) for i, j in np.argwhere(~np.isfinite(values))]
    if blank:
        hatched = PatchCollection(blank, facecolor="none", edgecolor="#c8c8c8", hatch="///", lw=0)
        hatched.set_gid(_PAINT[1])
        ax.add_collection(hatched, autolim=False)


def _cell_labels(ax: Any, values: np.ndarray, top: float) -> None:
    """Each complete cell's rate written in its centre, as one collection of glyph outlines: a
    single draw for every label of the matrix, where one text artist per cell (390 for daily
    cohorts) took most of the time of drawing the heatmap. Dark text on light cells, white on
    dark ones; 7 pt, in the figure's resolution."""
    from matplotlib.collections import PathCollection
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    font = FontProperties(family="DejaVu Sans", size=7)
    shapes: dict[str, Any] = {}  # one outline per distinct label, centred on the origin
    paths, offsets, colours = [], [], []
    for (i, j), v in np.ndenumerate(values):
        if not np.isfinite(v):
            continue
        text = f"{v:.0%}"
        if text not in shapes:
            outline = TextPath((0, 0), text, prop=font)
            # centred on the box of its points (the exact curve extents cost more than the rest)
            low, high = outline.vertices.min(axis=0), outline.vertices.max(axis=0)
            centre = Affine2D().translate(*(-(low + high) / 2))
            shapes[text] = outline.transformed(centre)
        paths.append(shapes[text])
        offsets.append((j, i))
        colours.append("white" if v > 0.55 * max(top, 0.01) and v > 0.35 else "#222222")
    if not paths:
        return
    labels = PathCollection(
        paths,
        offsets=offsets,
        offset_transform=ax.transData,
        # outlines in points, drawn at the figure's (or the saved image's) resolution
        transform=Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans,
        facecolors=colours,
        edgecolors="none",
        linewidths=0,
    )
    labels.set_in_layout(False)
    labels.set_gid(_PAINT[0])
    ax.add_collection(labels, autolim=False)


def curves_chart(
    report: Any,
    matrix: RetentionResult,
    max_periods: int = 12,
    colours: Mapping[str, str] | None = None,
):
    """The weighted mean retention curve, per group when the matrix has a breakdown, each group
    in its colour of ``colours`` (:func:`group_colours`)."""
    if matrix.mean.empty:
        return None
    unit = matrix.settings["period"]
    periods = list(matrix.periods)[: max_periods + 1]
    # the axes where the figure's margins put them (a layout engine measured every label twice
    # more on each draw); the saved image is cropped to what is drawn
    fig, ax = figure(8, 4, layout=None)
    mean = matrix.mean
    groups = [None]
    if matrix.grouped:
        drawn = set(_drawn(report, matrix.cohorts.groupby("group")["users"].sum().to_dict()))
        groups = [g for g in matrix.groups if g in drawn]
    for i, group in enumerate(groups):
        part = mean if group is None else mean[mean["group"] == group]
        part = part.set_index("period").reindex(periods)
        # privacy: a point resting on fewer users than the threshold is not drawn
        part.loc[part["users"].map(lambda n: is_small(n, report.min_cell)), "weighted"] = np.nan
        ax.plot(
            range(len(periods)),
            part["weighted"].to_numpy(dtype=float),
            marker="o",
            ms=3,
            color=PALETTE[0] if group is None else colour_of(colours or {}, group, i),
            label=report.t("retention.chart.all")
            if group is None
            else group_name(report, matrix.settings.get("breakdown"), group),
        )
    ax.set_xticks(range(len(periods)), [_period_header(report, p, unit) for p in periods])
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_ylim(0, None)
    ax.set_ylabel(report.t("retention.chart.rate"))
    # at the top of the axes, where matplotlib would place it: given, it is not searched for on
    # every draw (measuring the tick labels of both axes)
    ax.set_title(report.t("retention.chart.curves"), y=1.0)
    ax.legend(fontsize=8)
    return fig
