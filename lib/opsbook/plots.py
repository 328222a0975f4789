"""One chart theme for every report: matplotlib, static PNG, Chinese glyphs included.

Charts are :class:`matplotlib.figure.Figure` objects made without pyplot, so a notebook shows a
figure exactly once (as the cell's value) and batch runs leak no open figures. Chinese labels
render with Noto Sans SC, shipped by a Python package, so a fresh machine needs no system font.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterable
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

# matplotlib loads with the first chart, not with the package: the engine steps (and the
# benchmark's memory) never pay for it

PALETTE = ["#2f6fb0", "#e07b39", "#3c9d5d", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]
STATUS_COLOURS = {
    "green": "#3c9d5d",
    "amber": "#e0a030",
    "red": "#c44e52",
    "not_proven": "#e0a030",  # an estimate whose interval straddles its target: like amber
    "n/a": "#9e9e9e",
}

# seaborn's "whitegrid" look, set directly: light grid behind the data, thin light frame, no
# tick marks, dark-grey text (importing seaborn for its theme alone cost 1.5 s in every kernel)
THEME = {
    # labels are data (a campaign "$$$ Mega Sale $$$", a channel "$x$"): text, never maths
    "text.parse_math": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.linewidth": 1.25,
    "axes.labelcolor": ".15",
    "axes.labelsize": 12,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "grid.color": ".8",
    "grid.linewidth": 1,
    "text.color": ".15",
    "font.size": 12,
    "legend.fontsize": 11,
    "legend.title_fontsize": 12,
    "xtick.bottom": False,
    "ytick.left": False,
    "xtick.color": ".15",
    "ytick.color": ".15",
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    # DejaVu for Latin text, Noto Sans SC for what DejaVu lacks (per-glyph fallback); named
    # directly: the generic "sans-serif" alias resolves to its first font only
    "font.family": ["DejaVu Sans", "Noto Sans SC"],
    "axes.unicode_minus": False,
    "figure.dpi": 110,
    "savefig.dpi": 110,
}


# A data label (a channel, campaign, variant, content type ...) is shown in at most LABEL_LIMIT
# characters where it cannot wrap (a chart's ticks and legends). A table cell or a field of a
# sentence wraps, so there a value is shortened only past LONG_TEXT characters, longer than any
# sentence of ours (the longest, a definition, has about 400): such a value is no name a reader
# reads (a 100,000-character channel made pages of megabytes and charts take minutes).
LABEL_LIMIT = 40
LONG_TEXT = 500
_DIGEST_CHARS = 6


def short_label(text: str, limit: int = LABEL_LIMIT) -> str:
    """``text`` in at most ``limit`` characters: as it is when it fits, else its beginning, "…"
    and a short stable hash of the whole (two long names that share their beginning stay
    distinct, and a name reads the same on every page and run)."""
    if len(text) <= limit:
        return text
    digest = hashlib.md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
    return f"{text[: limit - _DIGEST_CHARS - 1]}…{digest[:_DIGEST_CHARS]}"


def bounded_text(text: str) -> str:
    """``text`` as a table cell or a sentence's field shows it: whole up to :data:`LONG_TEXT`
    characters (it wraps), else as a label (:func:`short_label`)."""
    return text if len(text) <= LONG_TEXT else short_label(text)


def category_colours(names: Iterable[Any]) -> dict[str, str]:
    """One colour per category (channel, segment, variant ...) for every chart of a run: the
    palette in the sorted order of ``names`` -- pass the whole set the data has (e.g. every
    channel of the users table), not only those one chart draws, and a channel keeps its colour
    from chart to chart and report to report."""
    ordered = sorted({str(n) for n in names})
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(ordered)}


def _png(fig: Figure) -> tuple[bytes, dict[str, Any]]:
    """The figure as PNG, its labels shortened (:func:`shorten_labels`), with the tick labels it
    shows in the output's metadata (the tests read them from the executed notebook: every axis's
    labels must be distinct)."""
    shorten_labels(fig)
    return _saved_png(fig, "tight")


def _saved_png(fig: Figure, crop: Any, **pil: Any) -> tuple[bytes, dict[str, Any]]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches=crop, pil_kwargs=pil or None)
    return buffer.getvalue(), {"opsbook": {"ticks": tick_labels(fig)}}


def png_drawn_once(fig: Figure, crop: Bbox | None = None) -> tuple[bytes, dict[str, Any], Bbox]:
    """The figure as a notebook shows it (:func:`_png`: the same pixels and metadata), drawn
    once instead of twice and compressed faster, and its crop, for a figure that places its
    axes itself (no layout engine) and is drawn again and again (the retention explorer).

    ``savefig(bbox_inches="tight")`` draws the figure once to find what is drawn and again to
    save it; without a layout engine to run, the crop is measured from the artists as they
    stand. Given ``crop`` (a figure redrawn with new data in an unchanged frame), nothing is
    measured. The figure keeps its own Agg canvas, so a redraw at the same size reuses the
    renderer and the text extents measured on it. zlib level 1 instead of 6: a daily heatmap's
    file some 10 % larger, its encoding a third of the time."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.get_layout_engine() is not None:
        raise ValueError("a figure with a layout engine needs the drawing that lays it out")
    shorten_labels(fig)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    if crop is None:
        measured = fig.get_tightbbox(fig.canvas.get_renderer())
        crop = measured.padded(matplotlib.rcParams["savefig.pad_inches"])
    png, metadata = _saved_png(fig, crop, compress_level=1)
    return png, metadata, crop


def shorten_labels(fig: Figure) -> None:
    """Shorten the data labels of a figure before it is drawn, for every chart in this one place:
    tick labels and legend entries to :data:`LABEL_LIMIT` characters (they
    cannot wrap; a long name is cut with a hash that keeps it distinct), titles, axis labels and
    notes to :data:`LONG_TEXT`. Laying out a 100,000-character legend entry
    took matplotlib minutes per chart and gigabytes of memory."""
    from matplotlib.text import Text

    short_ticks = _short_ticks_class()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not isinstance(axis.get_major_formatter(), short_ticks):
                axis.set_major_formatter(short_ticks(axis.get_major_formatter()))
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    entries = {id(text) for legend in legends if legend for text in legend.get_texts()}
    for text in fig.findobj(Text):
        shorten = short_label if id(text) in entries else bounded_text
        text.set_text(shorten(text.get_text()))


@cache
def _short_ticks_class() -> type:
    from matplotlib.ticker import Formatter

    class ShortTicks(Formatter):
        """An axis's own tick formatter, its labels shortened (:func:`short_label`)."""

        def __init__(self, inner: Formatter) -> None:
            self.inner = inner

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return short_label(self.inner(x, pos))

        def format_ticks(self, values: Any) -> list[str]:
            return [short_label(label) for label in self.inner.format_ticks(values)]

        def get_offset(self) -> str:
            return self.inner.get_offset()

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

    return ShortTicks


def tick_labels(fig: Figure) -> list[dict[str, list[str]]]:
    """Per axes of a drawn figure, the x and y tick labels shown within its limits."""
    shown = []
    for ax in fig.axes:
        entry = {}
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            low, high = sorted(axis.get_view_interval())
            entry[name] = [
                tick.label1.get_text()
                for tick in axis.get_major_ticks()
                if tick.label1.get_visible()
                and tick.label1.get_text()
                and low - 1e-9 * abs(high - low) <= tick.get_loc() <= high + 1e-9 * abs(high - low)
            ]
        shown.append(entry)
    return shown


@cache
def use_theme() -> None:
    """Apply the workbook's chart theme once per process, and let IPython show a Figure that is
    a cell's value as a PNG (figures made without pyplot have no inline display of their own)."""
    import matplotlib
    import pylopdf_fonts_zh_cn
    from matplotlib import cycler, font_manager
    from matplotlib.figure import Figure

    font_manager.fontManager.addfont(str(pylopdf_fonts_zh_cn.sans_path()))
    # Noto Sans SC ships one weight: bold titles use it at 400 without a note on every chart
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    matplotlib.rcParams.update(THEME | {"axes.prop_cycle": cycler(color=PALETTE)})
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, _png)


def figure(
    width: float = 8.0,
    height: float = 4.0,
    ncols: int = 1,
    nrows: int = 1,
    layout: str | None = "constrained",
    **kw,
):
    """A new themed figure and its axes, not registered with pyplot. ``layout=None``: no layout
    engine, for a chart that places its axes itself (the engine lays out every text of the
    figure again on each draw)."""
    from matplotlib.figure import Figure

    use_theme()
    fig = Figure(figsize=(width, height), layout=layout)
    axes = fig.subplots(nrows=nrows, ncols=ncols, squeeze=True, **kw)
    return fig, axes


def _distinct_ticks(render: Callable[[float, int], str], decimals: int = 0) -> Any:
    """A tick formatter of percentages that shows as few decimals as state each tick exactly
    (at least ``decimals``): 49%, 50%, 51% -- or 49.5%, 50.0%, 50.5% -- never 50%, 50%, 50%."""
    from matplotlib.ticker import Formatter

    class Distinct(Formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return render(x, decimals)

        def format_ticks(self, values: Any) -> list[str]:
            scaled = [100 * float(v) for v in values]
            step = min((abs(b - a) for a, b in pairwise(scaled)), default=1)
            places = decimals
            while places < decimals + 4 and any(
                abs(v - round(v, places)) > 1e-6 * max(step, 1e-12) for v in scaled
            ):
                places += 1
            return [render(v, places) for v in values]

    return Distinct()


def _percent(value: float, places: int, sign: str = "") -> str:
    text = f"{value * 100:{sign}.{places}f}%"
    return text.replace("+0%", "0%").replace("-0%", "0%") if places == 0 else text


def percent_ticks(decimals: int = 0) -> Any:
    """Tick labels of shares as percentages (0.25 -> 25%), distinct on each axis."""
    return _distinct_ticks(lambda v, d: _percent(v, d), decimals)


def signed_percent_ticks() -> Any:
    """Tick labels of relative changes with their sign (0.05 -> +5%), distinct on each axis."""
    return _distinct_ticks(lambda v, d: _percent(v, d, "+"))


def integer_ticks() -> Any:
    """Ticks on whole numbers only (period numbers, counts)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def date_ticks(pattern: str = "%m-%d") -> Any:
    """Tick labels of dates in ``pattern``."""
    from matplotlib.dates import DateFormatter

    return DateFormatter(pattern)
