"""What the retention report shows: the summary block on known numbers, charts that show what
their tables show (or say what they leave out), and one colour per channel across charts."""

import io
import re

import numpy as np
import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.formats import STATUS_CLASS, fmt
from opsbook.plots import _png, category_colours, png_drawn_once, use_theme
from opsbook.report import Report
from opsbook.retention import analysis
from opsbook.retention.view import matrix as matrix_view
from opsbook.retention.view import rates as rates_view
from opsbook.retention.view import revenue, summary, survival
from opsbook.retention.view import widgets as widgets_view
from opsbook.retention.view.groups import group_colours, group_name
from opsbook.targets import DEFAULT_TARGETS, retention_targets

TARGETS = dict(DEFAULT_TARGETS)  # the KPI system's: D7 40 %, DAU/MAU 0.30 ...


def report_of(source_or_dir, lang="en"):
    config = load_config(data=str(source_or_dir), lang=lang)
    return Report("retention", config, open_source(config), validation=None)


@pytest.fixture(scope="module")
def sample(sample_dir):
    return report_of(sample_dir)


def captured(monkeypatch):
    html = []
    monkeypatch.setattr("opsbook.report.display", lambda obj, **_: html.append(obj.data))
    return html


# -- the summary ---------------------------------------------------------------------------------
def test_the_summary_on_known_numbers(sample, monkeypatch):
    html = captured(monkeypatch)
    by_group = pd.DataFrame(
        [
            # D1: 600/1000 = 60 % (met); D7: 300/1000 = 30 %, D30: 200/1000 = 20 % (missed)
            ("kol", 1, 500, 250),
            ("organic", 1, 500, 350),
            ("kol", 7, 500, 100),
            ("organic", 7, 500, 200),
            ("kol", 30, 500, 80),
            ("organic", 30, 500, 120),
        ],
        columns=["group", "day", "eligible", "retained"],
    )
    overall = analysis.against_targets(analysis.day_n_by(by_group), TARGETS)
    payback = pd.DataFrame(
        {
            "channel": ["kol", "organic"],
            "spend": [7000.0, 1000.0],
            "new_users": [100, 100],
            "cac": [70.0, 10.0],
            "ltv_latest": [60.0, 200.0],
            "age_latest": [12, 12],
            "payback_age": [np.nan, 1],
        }
    )
    summary.summary(
        sample, overall, TARGETS, day_n_all=by_group, payback=payback, breakdown="channel"
    )
    (block,) = html
    verdict = re.search(r'<p class="ob-verdict">(.*?)</p>', block).group(1)
    assert verdict == (
        "Retention meets 1 of its 3 targets: D1 60.0% (target 55.0%), D7 30.0% (target 40.0%),"
        " D30 20.0% (target 25.0%)"
    )
    assert 'class="ob-summary ob-amber"' in block  # some met, some missed
    # D7 of kol 100/500 = 20 % against organic 200/500 = 40 %; kol's CAC 70 > LTV 60; the
    # channels by their display names (core.yml), not their codes
    steps = re.findall(r"<li>(.*?)</li>", block)
    assert steps[0].startswith(
        "Start with Influencers (KOL): its D7 retention is 20.0% against 40.0% for Organic"
    )
    # money in the configured currency (the repository's opsbook.yml: ¥)
    assert steps[1].startswith(
        "Influencers (KOL) has not paid back its CAC of ¥70.00 yet (LTV so far ¥60.00)"
    )
    assert len(steps) == 2  # organic paid back in W1: nothing to do there
    # three D-N cards and DAU/MAU (no value without stickiness): target and interval as notes
    assert block.count('<div class="ob-number ') == 4
    assert "target 55.0% · 95% interval" in block


def test_the_summary_when_every_target_is_met(sample, monkeypatch):
    html = captured(monkeypatch)
    rows = pd.DataFrame([(d, 100, 90) for d in (1, 7, 30)], columns=["day", "eligible", "retained"])
    overall = analysis.against_targets(analysis.day_n_by(rows), TARGETS)
    summary.summary(sample, overall, TARGETS)
    assert 'class="ob-summary ob-green"' in html[0]
    assert "Retention meets all its targets" in html[0]
    assert "Every target is met" in html[0]


@pytest.mark.parametrize(("lang", "marker"), [("en", " (default)"), ("zh", "（默认）")])
def test_the_cards_and_tables_mark_a_shipped_target_and_not_the_users(
    sample_dir, monkeypatch, lang, marker
):
    report = report_of(sample_dir, lang=lang)
    targets = retention_targets(report, {"d7": 0.2})  # D7 the user's, others shipped
    day_n = analysis.against_targets(
        analysis.day_n_by(analysis.day_n_retention(report, (1, 7, 30))), targets
    )
    html = captured(monkeypatch)
    summary.summary(report, day_n, targets)
    rates_view.show_day_n(report, day_n)
    page = "".join(str(h) for h in html)
    assert f"55.0%{marker}" in page and f"25.0%{marker}" in page  # D1, D30: shipped
    assert "20.0%" in page and f"20.0%{marker}" not in page  # D7: the user's
    assert f"0.30{marker}" in page  # DAU/MAU's card
    # the user's D7 target of 20 % is met where the shipped 40 % is not (the sample's D7: 23.6 %)
    assert bool(day_n.set_index("day").loc[7, "met"]) is True
    shipped = analysis.against_targets(day_n[["day", "eligible", "retained", "rate", "low",
                                              "high"]], retention_targets(report))  # fmt: skip
    assert bool(shipped.set_index("day").loc[7, "met"]) is False


def test_a_group_is_judged_against_its_own_targets(sample_dir, monkeypatch):
    """``by_group``: kol's D7 against its own 10 %, the other channels against the overall
    40 %; the table colours each rate by its group's target and names the group's own."""
    report = report_of(sample_dir)
    day_n_all = analysis.day_n_retention(report, (1, 7), breakdown="channel")
    targets = retention_targets(report, {"by_group": {"kol": {"d7": 0.10}}})
    judged = analysis.against_group_targets(day_n_all, targets).set_index(["group", "day"])
    assert judged.loc[("kol", 7), "target"] == 0.10 and judged.loc[("kol", 7), "met"]
    assert not judged.loc[("kol", 7), "default"] and judged.loc[("kol", 1), "default"]
    assert judged.loc[("organic", 7), "target"] == 0.40 and not judged.loc[("organic", 7), "met"]
    shipped = analysis.against_group_targets(day_n_all, retention_targets(report))
    assert not shipped.set_index(["group", "day"]).loc[("kol", 7), "met"]
    html = captured(monkeypatch)
    rates_view.show_day_n_by(report, day_n_all, "group", breakdown="channel", targets=targets)
    rows = {
        re.sub(r"<[^>]+>", "|", row).split("|")[2]: row
        for row in re.findall(r"<tr>.*?</tr>", str(html[0]), re.S)[1:]
    }
    assert ">D7 retention 10.0%<" in rows["Influencers (KOL)"]  # its own target, named
    assert ">—<" in rows["Organic"] and "Own targets" in str(html[0])
    assert STATUS_CLASS["green"] in rows["Influencers (KOL)"]  # D7 against its 10 %
    assert STATUS_CLASS["red"] in rows["Organic"]  # D7 against the overall 40 %
    metrics, _ = analysis.report_metrics(
        analysis.retention_matrix(report, period="week"),
        analysis.against_targets(analysis.day_n_by(day_n_all), targets),
        targets,
        by_group=analysis.against_group_targets(day_n_all, targets),
    )
    assert metrics["targets_by_group"] == {"kol": {"d7": 0.10}}
    assert metrics["targets_met_by_group"]["kol"]["d7"] is True
    assert metrics["targets_met_by_group"]["organic"]["d7"] is False


# -- charts ----------------------------------------------------------------------------------------
def test_the_heatmap_draws_every_cohort_of_the_table_or_says_what_it_leaves_out(sample):
    weekly = analysis.retention_matrix(sample, period="week")
    fig = matrix_view.heatmap(sample, weekly)
    cohorts = list(weekly.wide().index)
    drawn = [t.get_text().split(" (")[0] for t in fig.axes[0].get_yticklabels()]
    assert drawn == cohorts  # every weekly cohort the table lists (it used to drop the oldest)
    assert "newest" not in fig.axes[0].get_title()
    daily = analysis.retention_matrix(sample, period="day")
    fig = matrix_view.heatmap(sample, daily, max_cohorts=30)
    total = len(daily.wide())
    assert len(fig.axes[0].get_yticklabels()) == 30
    assert f"the newest 30 of {total} cohorts" in fig.axes[0].get_title()


def test_the_heatmap_title_sits_above_its_period_labels_and_the_image_holds_every_label(sample):
    """The heatmap places its axes and title by hand (no layout engine): the title must clear
    the period labels on top, and the saved image, cropped to what is drawn, every label."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    daily = analysis.retention_matrix(sample, period="day")
    fig = matrix_view.heatmap(sample, daily, max_cohorts=30)
    png, _ = _png(fig)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax = fig.axes[0]
    periods = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible()]
    title = ax.title.get_window_extent(renderer)
    assert periods and title.y0 > max(b.y1 for b in periods)  # no overlap
    drawn = fig.get_tightbbox(renderer)  # inches; everything drawn, labels included
    width, height = Image.open(io.BytesIO(png)).size
    dpi = fig.dpi
    assert width >= drawn.width * dpi and height >= drawn.height * dpi


def test_a_heatmap_repainted_for_another_criterion_is_the_heatmap_drawn_for_it(sample):
    """The explorer's switch of criterion keeps the figure (axes, ticks, title, colour bar) and
    repaints only its cells: the image is pixel for pixel the heatmap drawn anew for that
    criterion, on daily cohorts (hatched incomplete cells, 30 of more cohorts)."""
    from PIL import Image

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))

    both = analysis.retention_matrices(sample, period="day", max_period=12)
    on, after = (matrix_view.heatmap_cells(sample, both[c]) for c in ("on", "on_or_after"))
    assert on.frame == after.frame and not np.array_equal(on.values, after.values, equal_nan=True)
    fig = matrix_view.draw_heatmap(on)
    ax, bar = fig.axes
    image, kept = ax.images[0], [ax.title, *ax.get_yticklabels()]
    first, _, crop = png_drawn_once(fig)
    matrix_view.repaint_heatmap(fig, after)
    repainted, _, _ = png_drawn_once(fig, crop)
    assert fig.axes == [ax, bar] and list(ax.images) == [image]
    assert [ax.title, *ax.get_yticklabels()] == kept
    assert repainted != first
    drawn_anew = _png(matrix_view.heatmap(sample, both["on_or_after"]))[0]
    assert np.array_equal(pixels(repainted), pixels(drawn_anew))
    matrix_view.repaint_heatmap(fig, on)  # and back: the first image again
    assert png_drawn_once(fig, crop)[0] == first


def test_ltv_title_promises_cac_lines_only_when_it_draws_them(sample):
    ltv = analysis.ltv_curves(sample, period="week", breakdown="channel")
    payback = analysis.cac_payback(sample, ltv)
    ax = revenue.ltv_chart(sample, ltv, payback).axes[0]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == len(payback) and "dashed" in ax.get_title()
    labels = {t.get_text() for t in ax.texts}
    for row in payback.itertuples():  # each channel by its display name, not its code
        assert (
            f"{sample.display_name('channel', row.channel)} CAC {fmt(row.cac, 'money')}" in labels
        )
    plain = revenue.ltv_chart(sample, ltv, None).axes[0]
    assert "dashed" not in plain.get_title()
    assert not [line for line in plain.get_lines() if line.get_linestyle() == "--"]


def test_a_channel_has_one_colour_in_curves_ltv_and_survival(sample, sample_dir):
    channels = sorted(pd.read_parquet(sample_dir / "users.parquet")["channel"].unique())
    colours = group_colours(sample, "channel")
    assert colours == category_colours(channels)  # every channel of the users table
    by_group = analysis.retention_matrix(sample, period="week", breakdown="channel")
    ltv = analysis.ltv_curves(sample, period="week", breakdown="channel")
    churn = analysis.churn_survival(sample, breakdown="channel")
    seen = {}
    # the legends name each channel by its display name ("Influencers (KOL)", not "kol")
    code_of = {sample.display_name("channel", c): c for c in channels}
    assert len(code_of) == len(channels) and set(code_of) != set(channels)
    for fig in (
        matrix_view.curves_chart(sample, by_group, colours=colours),
        revenue.ltv_chart(sample, ltv, colours=colours),
        survival.survival_chart(sample, churn, colours=colours),
    ):
        for line in fig.axes[0].get_lines():
            if line.get_label() in code_of:
                seen.setdefault(code_of[line.get_label()], set()).add(line.get_color())
    assert set(seen) == set(channels)
    assert all(found == {colours[name]} for name, found in seen.items())


def test_groups_show_by_their_display_names_in_every_table_legend_and_next_step(
    sample_dir, monkeypatch
):
    """A zh page names channels as the config and the workbook do: the config's name first,
    then core.yml's, a code neither knows as it is, users without a channel as "(not given)"."""
    config = load_config(data=str(sample_dir), lang="zh")
    config.raw["display_names"] = {"channel": {"organic": {"zh": "自然进入", "en": "Organic"}}}
    report = Report("retention", config, open_source(config), validation=None)
    assert group_name(report, "channel", "organic") == "自然进入"  # the config's name wins
    assert group_name(report, "channel", "kol") == "达人推广"  # core.yml
    assert group_name(report, "channel", "tiktok") == "tiktok"  # the data's own name
    assert group_name(report, "channel", "(missing)") == "（未填写）"
    names = {"自然进入", "达人推广", "搜索", "社交媒体", "好友推荐"}
    by_group = analysis.retention_matrix(report, period="week", breakdown="channel")
    churn = analysis.churn_survival(report, breakdown="channel")
    ltv = analysis.ltv_curves(report, period="week", breakdown="channel")
    for fig in (
        matrix_view.curves_chart(report, by_group),
        survival.survival_chart(report, churn),
        revenue.ltv_chart(report, ltv, analysis.cac_payback(report, ltv)),
    ):
        legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
        assert legend - {"全部"} <= names and legend & names
    html = captured(monkeypatch)
    day_n_all = analysis.day_n_retention(report, (1, 7), breakdown="channel")
    rates_view.show_day_n_by(report, day_n_all, "group", breakdown="channel")
    conversion = analysis.first_order_conversion(report, breakdown="channel")
    rates_view.show_rate_groups(report, conversion)
    survival.show_survival(report, churn)
    revenue.show_payback(report, analysis.cac_payback(report, ltv), "week")
    tables = "".join(str(h) for h in html)
    for code in ("organic", "kol", "search", "social", "referral"):
        assert f">{code}<" not in tables
    assert "达人推广" in tables and "自然进入" in tables
    day_n = analysis.against_targets(analysis.day_n_by(day_n_all), TARGETS)
    html.clear()
    summary.summary(report, day_n, TARGETS, day_n_all=day_n_all, breakdown="channel")
    steps = "".join(str(h) for h in html)
    assert (
        re.search("先看 (自然进入|达人推广|搜索|社交媒体|好友推荐)", steps) or "先看" not in steps
    )


# -- the explorer ----------------------------------------------------------------------------------
def test_the_explorer_speaks_the_page_language_and_reuses_its_matrices(sample_dir, monkeypatch):
    monkeypatch.delenv("OPSBOOK_BATCH", raising=False)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    drawn = []  # the charts the explorer renders as images, by their titles

    def render(fig, crop=None):
        drawn.append(fig.axes[0].get_title().split("\n")[0])
        return b"", {}, crop

    use_theme()  # the theme as the page has it before any explorer
    monkeypatch.setattr(widgets_view, "png_drawn_once", render)
    report = report_of(sample_dir, lang="zh")
    page = analysis.retention_matrix(report, period="week", breakdown="channel")
    calls = []
    real = widgets_view.retention_matrices
    monkeypatch.setattr(
        widgets_view, "retention_matrices", lambda *a, **k: calls.append(k) or real(*a, **k)
    )
    box = widgets_view.explore(
        report, computed={("week", "on", "channel"): page}, period="week", breakdown="channel"
    )
    period, criterion, breakdown = box.children[0].children
    assert calls == []  # the page's own matrix, not a second query
    assert (period.description, criterion.description, breakdown.description) == (
        "周期",
        "留存口径",
        "分组维度",
    )
    assert ("自然日", "day") in period.options and ("获客渠道", "channel") in breakdown.options
    assert ("不分组", None) in breakdown.options
    heat, curves = report.t("retention.chart.heatmap"), report.t("retention.chart.curves")
    assert drawn == [heat, curves]
    period.value = "day"
    criterion.value = "on_or_after"
    period.value = "week"
    period.value = "day"
    # one query per (period, breakdown) serves both criteria, for the periods the charts draw
    # (the page's weekly matrix is its one criterion only: "on or after" by week is asked once)
    assert [(c["period"], c["breakdown"], c["max_period"]) for c in calls] == [
        ("day", "channel", 12),
        ("week", "channel", 12),
    ]
    assert drawn == [heat, curves] + [heat, curves] * 3  # day/on, day/after, week/after
    breakdown.value = None
    assert drawn[-1] == curves  # the heatmap does not depend on the breakdown: kept
    assert len(calls) == 2  # no breakdown: the groups of the day's matrix summed, no query
    breakdown.value = "channel"
    assert len(drawn) == 9  # every chart of a setting seen before is kept
    assert box.children[1].value.startswith("重绘用时")


def test_the_explorer_shows_a_setting_seen_before_from_its_cache(sample_dir, monkeypatch):
    """Back to a setting already shown: the same images, without a query or a chart drawn."""
    monkeypatch.delenv("OPSBOOK_BATCH", raising=False)
    shown = []  # the PNG payloads the explorer displays, in order
    monkeypatch.setattr(
        "IPython.display.display", lambda data, **_: shown.append(data["image/png"])
    )
    formatted = []

    def render(fig, crop=None):
        formatted.append(fig)
        return f"png {len(formatted)}", {}, crop

    use_theme()
    monkeypatch.setattr(widgets_view, "png_drawn_once", render)
    queries = []
    real = widgets_view.retention_matrices
    monkeypatch.setattr(
        widgets_view, "retention_matrices", lambda *a, **k: queries.append(k) or real(*a, **k)
    )
    box = widgets_view.explore(report_of(sample_dir), period="week")
    period, criterion, _ = box.children[0].children
    first = shown[-2:]
    period.value = "month"
    criterion.value = "on_or_after"
    drawn = len(formatted)
    period.value = "week"  # week / "on or after": asked with week / "on", drawn now
    criterion.value = "on"
    assert shown[-2:] == first  # the week / "on" images as first shown
    assert len(formatted) == drawn + 2
    criterion.value = "on_or_after"
    period.value = "month"
    assert len(formatted) == drawn + 2  # every setting seen before: nothing drawn again
    assert [q["period"] for q in queries] == ["week", "month"]  # one query per period


def test_the_explorer_repaints_the_heatmap_when_only_the_criterion_changes(sample_dir, monkeypatch):
    """A switch of criterion (same period, same cohorts) draws the heatmap into the figure shown
    before, rendered in its crop (nothing measured again); a switch of period draws a new one;
    back to the first period, its figure is repainted again."""
    monkeypatch.delenv("OPSBOOK_BATCH", raising=False)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    heatmaps = []  # (figure, crop given) of every heatmap the explorer renders
    real = widgets_view.png_drawn_once

    def render(fig, crop=None):
        if fig.axes[0].images:
            heatmaps.append((fig, crop))
        return real(fig, crop)

    monkeypatch.setattr(widgets_view, "png_drawn_once", render)
    box = widgets_view.explore(report_of(sample_dir), period="week")
    period, criterion, _ = box.children[0].children
    criterion.value = "on_or_after"
    period.value = "month"
    period.value = "week"  # seen: nothing rendered
    criterion.value = "on"  # seen
    period.value = "month"
    criterion.value = "on"
    (week, none), (week_again, crop), (month, month_crop), (month_again, month_given) = heatmaps
    assert none is None and week_again is week and crop is not None
    assert month is not week and month_crop is None
    assert month_again is month and month_given is not None
