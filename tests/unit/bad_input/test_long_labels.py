"""Names of 100,000 characters -- a channel (two of them, alike but for their last character), a
campaign, a variant, a content type -- are shortened for display: the four reports that show them
run in about the time they take on the same data with ordinary names (laying such a legend out
took matplotlib minutes per chart), and no page shows more than the label limit of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from opsbook.plots import LABEL_LIMIT

from .conftest import Shop

pytestmark = pytest.mark.slow

LENGTH = 100_000
# each planted name is a run of one letter (the second channel ends in another letter)
PLANTED = {
    ("users", "channel"): {"kol": "K" * LENGTH, "social": "K" * (LENGTH - 1) + "S"},
    ("spend", "channel"): {"kol": "K" * LENGTH, "social": "K" * (LENGTH - 1) + "S"},
    ("assignments", "variant"): {"treatment": "T" * LENGTH},
    ("content", "type"): {"video": "V" * LENGTH},
}
LETTERS = "KTVCDEFGHIJ"
REPORTS = ("retention", "campaign_review", "segmentation", "ab_test")
NAMED = ("retention", "campaign_review", "ab_test")  # pages that name channels, campaigns, variants


def planted(sample_dir: Path, folder: Path) -> Path:
    folder.mkdir()
    for file in sample_dir.glob("*.parquet"):
        frame = pd.read_parquet(file)
        for (table, column), names in PLANTED.items():
            if table == file.stem:
                frame[column] = frame[column].replace(names)
        if file.stem == "campaigns":  # every campaign, each its own name
            frame["name"] = ["C" * (LENGTH - 1) + "DEFGHIJ"[i % 7] for i in range(len(frame))]
        frame.to_parquet(folder / file.name)
    return folder


def run(shop: Shop, data: Path, out: Path) -> dict[str, float]:
    outcome = shop.run("run", *REPORTS, "--data", str(data), "--out", str(out), "--workers", "1")
    assert outcome.code == 0, outcome.text
    manifest = json.loads((out / "latest" / "manifest.json").read_text(encoding="utf-8"))
    return {name: entry["duration_seconds"] for name, entry in manifest["reports"].items()}


def test_long_names_are_shortened_and_cost_no_time(
    shop: Shop, sample_dir: Path, repo_root: Path, sample_run
):
    shop.write_config(f"run: {{notebooks: {repo_root / 'notebooks'}}}\nlang: en\n")
    # the ordinary names' times: the session's run of every report on the same sample
    ordinary = {
        name: entry["duration_seconds"]
        for name, entry in sample_run.manifest["reports"].items()
        if name in REPORTS
    }
    long = run(shop, planted(sample_dir, shop.root / "planted"), shop.root / "long")
    assert sum(long.values()) <= 1.5 * sum(ordinary.values()) + 10, (long, ordinary)
    too_long = re.compile(f"[{LETTERS}]{{{LABEL_LIMIT},}}")
    latest = shop.root / "long" / "latest"
    for report in REPORTS:
        page = (latest / f"{report}.html").read_text(encoding="utf-8")
        text = re.sub(r"data:image/[^\"']+", "", page)  # the charts' pixels are no labels
        assert not too_long.search(text), (report, too_long.search(text))
        shortened = re.findall(f"[{LETTERS}]{{20,}}…[0-9a-f]{{6}}", text)
        assert shortened or report not in NAMED, report  # the names are there, shortened
        ticks = [
            label
            for cell in nbformat.read(latest / f"{report}.ipynb", as_version=4).cells
            for output in cell.get("outputs", [])
            for axes in output.get("metadata", {})
            .get("image/png", {})
            .get("opsbook", {})
            .get("ticks", [])
            for labels in axes.values()
            for label in labels
        ]
        assert ticks and max(len(label) for label in ticks) <= LABEL_LIMIT, report
    # the two channels alike but for their last character stay two
    retention = (latest / "retention.html").read_text(encoding="utf-8")
    assert len(set(re.findall(r"K{20,}…[0-9a-f]{6}", retention))) == 2
