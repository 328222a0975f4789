"""The retention matrix on the page: the table with its means and their counts, the heatmap, and
the mean retention curves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def heatmap(report: Any, matrix: RetentionResult, max_periods: int = 12, max_cohorts: int = 30):
    """Annotated heatmap of the matrix: every cohort of the table below, or, past
    ``max_cohorts`` (daily cohorts), the newest ones with the title saying how many it leaves
    out; incomplete cells hatched grey, never 0; cohorts smaller than the privacy threshold left
    blank."""
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.patches import Rectangle

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
    fig, ax = figure(min(1.2 + 0.62 * len(periods), 13), 1.2 + 0.32 * len(wide))
    cmap = LinearSegmentedColormap.from_list("ret", ["#f4f8fc", PALETTE[0]]).with_extremes(
        bad="#ececec"
    )
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.grid(False)
    top = np.nanmax(values) if np.isfinite(values).any() else 1.0
    _cell_labels(ax, values, top)
    # the incomplete cells, hatched as one collection (one draw, not one per cell)
    blank = [Rectangle((j - 0.5, i - 0.5), 1, 1) for i, j in np.argwhere(~np.isfinite(values))]
    if blank:
        ax.add_collection(
            PatchCollection(blank, facecolor="none", edgecolor="#c8c8c8", hatch="///", lw=0),
            autolim=False,
        )
    labels = [
        f"{c} ({report.t('core.suppressed', min_cell=report.min_cell) if s else int(n)})"
        for c, n, s in zip(wide.index, sizes, small, strict=True)
    ]
    ax.set_yticks(range(len(wide)), labels, fontsize=8)
    ax.set_xticks(
        range(len(periods)), [_period_header(report, p, unit) for p in periods], fontsize=8
    )
    ax.xaxis.tick_top()
    title = report.t("retention.chart.heatmap")
    if len(wide) < len(every):
        title += "\n" + report.t("retention.chart.newest", shown=len(wide), total=len(every))
    ax.set_title(title, pad=24)
    fig.colorbar(image, ax=ax, fraction=0.025, shrink=0.5, format=percent_ticks(0))
    return fig


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
    fig, ax = figure(8, 4)
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
    ax.set_title(report.t("retention.chart.curves"))
    ax.legend(fontsize=8)
    return fig
