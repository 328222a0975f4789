"""Open the run's pages in headless Chromium: no console errors, no network requests.

Playwright drives Debian's chromium (no browser download is possible here); `.ci/run` installs
it under CI. Screenshots are kept in tests/browser/screenshots/ for a person to look at.
"""

from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, SHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def run_folder(sample_run_zh):
    """The session's Chinese run of every report on the sample (tests/conftest.py)."""
    entry = sample_run_zh.manifest["reports"]["data_quality"]
    assert entry["status"] == "ok", entry["error"]
    return sample_run_zh.folder


@pytest.mark.parametrize("page_name", ["index.html", "data_quality.html"])
def test_page_opens_offline_without_errors(browser, run_folder, page_name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto((run_folder / page_name).as_uri())
    page.wait_for_load_state("load")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / page_name.replace(".html", ".png")), full_page=True)
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert external == []
    assert problems == []
    text = page.inner_text("body")
    assert "数据质量报告" in text
    if page_name == "index.html":
        assert page.locator("a[href='data_quality.html']").count() == 1
    else:
        assert page.locator("img").count() >= 1  # the daily-volume chart is inlined
        assert page.locator("script").count() == 0
    page.close()


def test_chinese_text_renders_with_the_embedded_font(browser, run_folder):
    """Even without a system CJK font the page carries the glyphs it uses (a subset of Noto
    Sans SC as a data: font): the embedded face is declared and loads."""
    page = browser.new_page()
    page.goto((run_folder / "data_quality.html").as_uri())
    page.wait_for_load_state("load")
    loaded = page.evaluate(
        "async () => (await document.fonts.load('16px OpsbookCJK', '数据质量'))"
        ".map(f => f.family + ':' + f.status)"
    )
    assert loaded == ["OpsbookCJK:loaded"]
    # and the text uses it: the JupyterLab theme's font list (later in the page) has no CJK font,
    # so a heading that took it showed boxes where Chinese characters should be
    for selector in ("h1", "p", "table.ob-table td"):
        family = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).fontFamily")
        assert "OpsbookCJK" in family, (selector, family)
    page.close()
