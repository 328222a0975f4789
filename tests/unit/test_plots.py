"""The chart helpers every report uses: tick labels that are distinct and in the quantity's unit,
labels that are text (never maths), one colour per category, and the tick labels each figure
records for the page checks."""

from __future__ import annotations

import time

import pytest

from opsbook.plots import (
    LABEL_LIMIT,
    LONG_TEXT,
    PALETTE,
    _png,
    bounded_text,
    category_colours,
    figure,
    percent_ticks,
    png_drawn_once,
    short_label,
    signed_percent_ticks,
    tick_labels,
)


@pytest.mark.parametrize(
    ("values", "formatter", "expected"),
    [
        # ab_data's daily share hovers around 50 %: whole percents would read 50 %, 50 %, 50 %
        ([0.495, 0.505], percent_ticks(), ["49.6%", "49.8%", "50.0%", "50.2%", "50.4%"]),
        ([0.0, 0.6], percent_ticks(), ["0%", "10%", "20%", "30%", "40%", "50%", "60%"]),
        # a forest plot of relative lifts near zero: -2 %, -2 %, -1 % ... before
        ([-0.02, 0.0], signed_percent_ticks(), None),
    ],
)
def test_percent_ticks_are_distinct_and_exact(values, formatter, expected):
    fig, ax = figure()
    ax.plot([0, 1], values)
    ax.yaxis.set_major_formatter(formatter)
    _png(fig)
    labels = tick_labels(fig)[0]["y"]
    assert len(set(labels)) == len(labels) and all(label.endswith("%") for label in labels)
    if expected is not None:
        assert labels == expected
    else:
        assert labels[0] == "-2.00%" and labels[1] == "-1.75%"  # exact, not rounded to -1.7 %


def test_labels_are_text_not_maths():
    fig, ax = figure()
    ax.bar(["$$$ Mega Sale $$$", "$x$", "a_b^c"], [1, 2, 3])  # crashed: mathtext parsed "$…$"
    ax.set_title("$$$ Mega Sale $$$")
    png, meta = _png(fig)
    assert png.startswith(b"\x89PNG")
    assert meta["opsbook"]["ticks"][0]["x"] == ["$$$ Mega Sale $$$", "$x$", "a_b^c"]


def test_one_colour_per_category_whatever_a_chart_draws():
    channels = ["organic", "kol", "search_ad", "social"]
    every = category_colours(channels)
    assert every == category_colours(reversed(channels))  # order of appearance does not matter
    assert len(set(every.values())) == len(channels)
    assert every["kol"] == PALETTE[0]  # sorted: kol, organic, search_ad, social


LONG_A = "K" * 100_000
LONG_B = "K" * 99_999 + "S"  # shares all but its last character with LONG_A


def test_a_long_label_is_shortened_and_stays_distinct():
    a, b = short_label(LONG_A), short_label(LONG_B)
    assert len(a) == len(b) == LABEL_LIMIT
    assert a != b and a.startswith("K" * 30) and "…" in a
    assert short_label(LONG_A) == a  # stable: the same name reads the same everywhere
    assert short_label("x" * LABEL_LIMIT) == "x" * LABEL_LIMIT  # a label that fits is kept
    sentence = "a definition of about four hundred characters " * 8
    assert bounded_text(sentence[:LONG_TEXT]) == sentence[:LONG_TEXT]  # sentences wrap, whole
    assert len(bounded_text(LONG_A)) == LABEL_LIMIT


def test_a_chart_of_long_names_shows_them_short_and_draws_at_normal_speed():
    """Bars of categories, a legend and a title with 100,000-character names (laying such a
    legend out took matplotlib minutes): every label shown is within the limit, distinct."""
    fig, ax = figure()
    ax.bar([LONG_A, LONG_B, "search"], [3, 2, 1])
    ax.plot([0, 1], [1, 2], label=LONG_A)
    ax.plot([0, 1], [2, 1], label=LONG_B)
    ax.legend()
    ax.set_title(f"Users by channel: {LONG_A}")
    started = time.perf_counter()
    png, _ = _png(fig)
    assert time.perf_counter() - started < 5 and png.startswith(b"\x89PNG")
    ticks = tick_labels(fig)[0]["x"]
    assert ticks == [short_label(LONG_A), short_label(LONG_B), "search"]
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == [short_label(LONG_A), short_label(LONG_B)]
    assert len(ax.get_title()) == LABEL_LIMIT


def test_a_chart_drawn_once_is_the_chart_the_notebook_shows():
    """``png_drawn_once`` (the retention explorer's images) saves the same pixels and tick
    labels as the notebook's PNG (``_png``), from one drawing; its crop, given back for a redraw
    in the same frame, yields the same image again. A label reaching past the figure's edge
    stays in the picture. A figure with a layout engine needs its layout drawing: refused."""
    import io

    import numpy as np
    from PIL import Image

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))

    def chart():
        fig, ax = figure(4, 3, layout=None)
        ax.set_position((0.3, 0.2, 0.6, 0.6))
        ax.plot([0, 1, 2], [0.1, 0.4, 0.3])
        ax.set_yticks([0.1, 0.3], ["a label longer than the left margin", "short"])
        ax.set_title("title")
        return fig

    notebook_png, notebook_meta = _png(chart())
    fig = chart()
    png, meta, crop = png_drawn_once(fig)
    assert np.array_equal(pixels(png), pixels(notebook_png)) and meta == notebook_meta
    assert crop.x0 < 0  # the long label, left of the figure, is inside the crop
    assert png_drawn_once(fig, crop)[:2] == (png, meta)
    with pytest.raises(ValueError, match="layout engine"):
        png_drawn_once(figure()[0])
