"""No id of a person reaches what a run writes: orphan orders, a duplicated user, an order id
used twice and a user in two variants are planted with traceable ids, and every page, notebook,
manifest and metrics file of the reports that show the data checks is searched for them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .conftest import Shop

ORPHANS = (987654321, 987654322)  # users not in the users table
TWICE = 876543219  # an order id used twice


def planted(sample_dir: Path, folder: Path) -> Path:
    folder.mkdir()
    for file in sample_dir.iterdir():
        if file.suffix == ".parquet":
            frame = pd.read_parquet(file)
            if file.stem == "orders":
                extra = frame.head(3).copy()
                extra["user_id"] = [*ORPHANS, frame["user_id"].iloc[5]]
                extra["order_id"] = [TWICE, TWICE, TWICE + 1]
                frame = pd.concat([frame, extra], ignore_index=True)
            frame.to_parquet(folder / file.name)
    return folder


def test_a_run_writes_no_planted_id(shop: Shop, sample_dir: Path, repo_root: Path):
    data = planted(sample_dir, shop.root / "planted")
    shop.write_config(f"run: {{notebooks: {repo_root / 'notebooks'}}}\nlang: en\n")
    out = shop.root / "reports"
    outcome = shop.run(
        "run", "data_quality", "segmentation", "--data", str(data), "--out", str(out)
    )
    assert outcome.code == 0, outcome.text
    pages = (out / "latest" / "data_quality.html").read_text(encoding="utf-8")
    assert "user_known" in pages and "key_unique" in pages  # the planted faults are reported
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 8
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        for value in (*ORPHANS, TWICE, TWICE + 1):
            assert str(value) not in text, (path.name, value)
    for value in (*ORPHANS, TWICE):
        assert str(value) not in outcome.text
