"""Every report, in zh and in en, as a reader sees it in headless Chromium at 1,400 px and at
390 px: one language (data values excepted), the answer first, distinct tick labels, nothing
scrolling sideways at 390 px but inside a table's own box. The first screen of each page at
each width is saved to tests/browser/screenshots/ for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, SHOTS
from tests.pages import data_values, language_problems, summary_problems, tick_problems

REPORTS = (
    "data_quality", "segmentation", "retention", "ab_test", "campaign_review", "kpi_dashboard",
    "user_insight", "behaviour",
)  # fmt: skip
WIDTHS = {"wide": (1400, 900), "narrow": (390, 844)}
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def runs(sample_run, sample_run_zh) -> dict[str, Path]:
    """The session's runs of every report on the sample (tests/conftest.py), by language."""
    folders = {}
    for lang, result in (("en", sample_run), ("zh", sample_run_zh)):
        failed = {n: r["error"] for n, r in result.manifest["reports"].items() if r["error"]}
        assert not failed, failed
        folders[lang] = result.folder
    return folders


@pytest.fixture(scope="module")
def values(sample_dir: Path) -> set[str]:
    return data_values(sample_dir)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("report", REPORTS)
def test_one_language_the_answer_first_distinct_ticks(runs, values, report, lang):
    folder = runs[lang]
    page = (folder / f"{report}.html").read_text(encoding="utf-8")
    assert language_problems(page, lang, values) == []
    assert summary_problems(page) == []
    assert tick_problems(folder / f"{report}.ipynb") == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_readable_at_both_widths(browser, runs, lang):
    SHOTS.mkdir(exist_ok=True)
    wide = {}
    for name in (*REPORTS, "index"):
        for width_name, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto((runs[lang] / f"{name}.html").as_uri())
            page.evaluate("document.fonts.ready")
            page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width_name}.png"))
            wide[(name, width)] = page.evaluate(
                "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
            )
            page.close()
    assert {key: px for key, px in wide.items() if px > 1} == {}  # no page scrolls sideways
