"""One chart theme for every report: matplotlib, static PNG, Chinese glyphs included.

Charts are :class:`matplotlib.figure.Figure` objects made without pyplot, so a notebook shows a
figure exactly once (as the cell's value) and batch runs leak no open figures. Chinese labels
render with Noto Sans SC, shipped by a Python package, so a fresh machine needs no system font.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib loads with the first chart, not with the package: the engine steps (and the
# benchmark's memory) never pay for it

PALETTE = ["#2f6fb0", "#e07b39", "#3c9d5d", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]
STATUS_COLOURS = {"green": "#3c9d5d", "amber": "#e0a030", "red": "#c44e52", "n/a": "#9e9e9e"}

# seaborn's "whitegrid" look, set directly: light grid behind the data, thin light frame, no
# tick marks, dark-grey text (importing seaborn for its theme alone cost 1.5 s in every kernel)
THEME = {
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


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


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


def figure(width: float = 8.0, height: float = 4.0, ncols: int = 1, nrows: int = 1, **kw):
    """A new themed figure and its axes, not registered with pyplot."""
    from matplotlib.figure import Figure

    use_theme()
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows=nrows, ncols=ncols, squeeze=True, **kw)
    return fig, axes


def percent_ticks(decimals: int | None = None) -> Any:
    """Tick labels of shares as percentages (0.25 -> 25%)."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=decimals)


def signed_percent_ticks() -> Any:
    """Tick labels of relative changes with their sign (0.05 -> +5%)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:+.0%}")


def integer_ticks() -> Any:
    """Ticks on whole numbers only (period numbers, counts)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def date_ticks(pattern: str = "%m-%d") -> Any:
    """Tick labels of dates in ``pattern``."""
    from matplotlib.dates import DateFormatter

    return DateFormatter(pattern)
