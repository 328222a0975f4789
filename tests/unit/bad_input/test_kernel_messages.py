"""Refusals raised inside a report's kernel reach the console and the failed page in the run's
language, naming the setting; every refusal's i18n key exists (in both languages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsbook.i18n import catalogue

from .conftest import Shop

PACKAGE = Path(__file__).resolve().parents[3] / "lib" / "opsbook"
# the refusals (opsbook.errors.InputError and its kinds), each made with its key first:
# InputError("retention.error.no_event", ...)
REFUSALS = ("InputError", "SourceError", "UsageError", "ExpressionError", "MissingInput")
RAISED_KEY = re.compile(r"\b(?:" + "|".join(REFUSALS) + r")\(\s*\"([A-Za-z_][\w.]*)\"")


def test_every_refusal_key_is_in_the_catalogue():
    keys = {
        (path.relative_to(PACKAGE).as_posix(), key)
        for path in PACKAGE.rglob("*.py")
        for key in RAISED_KEY.findall(path.read_text(encoding="utf-8"))
    }
    assert len(keys) >= 80  # the sweep found them: files, configs, sources, reports
    texts = catalogue()  # which refuses a key without both languages
    assert [(file, key) for file, key in sorted(keys) if key not in texts] == []
    for _, key in keys:
        assert texts[key]["zh"] != texts[key]["en"], key


# each case: the report, its -p setting, the setting's name and words of the Chinese refusal
KERNEL_REFUSALS = {
    "retention brackets out of order": (
        "retention",
        "brackets=[[3, 1]]",
        "brackets",
        "应满足 1 ≤ 起点 ≤ 终点",
    ),
    "user insight with too little history": (
        "user_insight",
        "horizon_days=30",
        "horizon_days",
        "天的历史",
    ),
}


@pytest.mark.parametrize("case", KERNEL_REFUSALS, ids=list(KERNEL_REFUSALS))
def test_a_refusal_in_the_kernel_reaches_the_console_in_chinese(
    shop: Shop, repo_root: Path, case: str
):
    report, setting, name, words = KERNEL_REFUSALS[case]
    shop.write_config(f"data: {{source: data}}\nrun: {{notebooks: {repo_root / 'notebooks'}}}\n")
    outcome = shop.run("run", report, "-p", setting, "--lang", "zh")
    assert outcome.code == 1, outcome.text
    line = next(line for line in outcome.out.splitlines() if line.startswith(f"{report}:"))
    assert "failed" in line and words in line and name in line, line
    assert "Traceback" not in outcome.text and "ValueError" not in line
    page = (shop.root / "reports" / "latest" / f"{report}.html").read_text(encoding="utf-8")
    assert words in page and "Traceback" not in page
