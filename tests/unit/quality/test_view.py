"""The verdict -- the report's summary block -- says what is wrong first, in both languages,
and "can be used" only when nothing is."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from opsbook import report as report_module
from opsbook.quality import analysis, view
from tests.unit.quality.shop import START, WEEKS, day_counts, report_of, write_shop

SOON = START + pd.Timedelta(days=7 * WEEKS - 1, hours=20)


@pytest.fixture
def shown(monkeypatch):
    """The text of everything the report displays."""
    out: list[str] = []

    def capture(obj, *args, **kwargs):
        data = getattr(obj, "data", obj)
        out.append(html.unescape(re.sub(r"<[^>]+>", " ", str(data))))

    monkeypatch.setattr(report_module, "display", capture)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_verdict_names_an_outage_first_and_never_says_usable(tmp_path, shown, lang):
    folder = write_shop(tmp_path, day_counts(40, zero_days=["2026-03-10", "2026-03-11"]))
    report = report_of(folder, lang)
    view.summary(report, analysis.assess(report, now=SOON))
    text = " ".join(shown)
    assert text.strip().startswith("结论" if lang == "zh" else "Verdict")
    # a Chinese page names the table in Chinese (issue 18: no raw table names on a zh page)
    assert "2026-03-10 – 2026-03-11" in text and ("订单表" if lang == "zh" else "orders") in text
    assert "can be trusted" not in text and "数据可用" not in text


def test_a_clean_shop_can_be_used(tmp_path, shown):
    folder = write_shop(tmp_path, day_counts(40))
    report = report_of(folder)
    view.summary(report, analysis.assess(report, now=SOON))
    text = " ".join(shown)
    assert "Verdict: the data can be trusted" in text


def test_a_missing_column_and_stale_data_come_first(tmp_path, shown):
    folder = write_shop(tmp_path, day_counts(40), drop_columns=("amount",))
    report = report_of(folder)
    result = analysis.assess(report, now=SOON + pd.Timedelta(days=30))
    view.summary(report, result)
    (block,) = shown  # one summary block: the verdict, the numbers, then the problems
    assert [p["kind"] for p in result.problems] == ["missing_column", "stale", "accuracy"]
    # the verdict, then each problem in that order (they are the summary's next steps)
    steps = block[block.index("Next steps") :]
    missing, stale, accuracy = (
        steps.index("lacks the required column amount"),
        steps.index("2026-05-24"),
        steps.index("fall below the accuracy target"),
    )
    assert block.strip().startswith("Verdict") and missing < stale < accuracy
