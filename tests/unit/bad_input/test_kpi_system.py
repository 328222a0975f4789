"""The KPI system's optional tables, spoiled: a survey score outside 0-10 and a community
membership that ends before it starts are refused by ``opsbook validate`` and stop
``opsbook run kpi_dashboard``: exit 1, the count and an example value (never an id), in the
page's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Shop

EVENTS = "user_id,ts,event\nu1,2026-01-05 09:00:00,app_open\nu2,2026-01-06 09:00:00,app_open\n"
SURVEYS = (
    "user_id,ts,score\n"
    "u1,2026-01-05 10:00:00,9\n"
    "u2,2026-01-06 10:00:00,11\n"  # out of range
    "u3,2026-01-07 10:00:00,-2\n"  # out of range
)
MEMBERS = (
    "user_id,joined_ts,left_ts,community\n"
    "u1,2026-01-05 10:00:00,,vip\n"
    "u2,2026-01-06 10:00:00,2026-01-04 10:00:00,vip\n"  # leaves before it joins
)
# (file, its text, en fragments, zh fragments)
CASES = {
    "score out of range": (
        "survey_responses.csv",
        SURVEYS,
        ["survey_responses.score", "value_in_range", "2 of 3 rows", "e.g. 11"],
        ["问卷回答表的评分", "3 行中有 2 行未通过", "例如 11"],
    ),
    "membership ends before it starts": (
        "community_members.csv",
        MEMBERS,
        ["community_members.left_ts", "ends_after_start", "1 of 2 rows", "left_ts=2026-01-04"],
        ["私域社群成员表的退出时间", "2 行中有 1 行未通过", "left_ts=2026-01-04"],
    ),
}


def spoil(shop: Shop, case: str) -> tuple[list[str], list[str]]:
    name, text, en, zh = CASES[case]
    (shop.data / "events.csv").write_text(EVENTS, encoding="utf-8")
    (shop.data / name).write_text(text, encoding="utf-8")
    return en, zh


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("case", CASES)
def test_validate_refuses_with_the_count_and_an_example(shop: Shop, case: str, lang: str):
    en, zh = spoil(shop, case)
    outcome = shop.run("validate", "--lang", lang)
    assert outcome.code == 1, outcome.text
    for fragment in en if lang == "en" else zh:
        assert fragment in outcome.err, outcome.err
    assert "u2" not in outcome.err and "u3" not in outcome.err  # an example value, never an id


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("case", CASES)
def test_the_dashboard_run_stops_on_them(shop: Shop, case: str, lang: str, repo_root: Path):
    en, zh = spoil(shop, case)
    shop.write_config(
        "data: {source: data}\ntimezone: UTC\n"
        f"lang: {lang}\nrun: {{notebooks: {repo_root / 'notebooks'}}}\n"
    )
    outcome = shop.run("run", "kpi_dashboard", "--out", str(shop.root / "out"))
    assert outcome.code == 1, outcome.text
    assert "Traceback" not in outcome.text
    page = next((shop.root / "out").rglob("kpi_dashboard.html")).read_text(encoding="utf-8")
    for fragment in en if lang == "en" else zh:
        assert fragment in page, fragment
