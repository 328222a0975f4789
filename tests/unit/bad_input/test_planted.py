"""Values planted in the sample that real exports have: no id of a person reaches what a run
writes (orphan orders and an order id used twice, with traceable ids; every page, notebook,
manifest and metrics file is searched for them), and orders dated 0001-01-01 and 9999-12-31 (a
system's placeholders, which crashed three reports) are excluded and counted, not crashed on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .conftest import Shop

ORPHANS = (987654321, 987654322)  # users not in the users table
TWICE = 876543219  # an order id used twice
REPORTS = ("data_quality", "segmentation", "retention")


def planted(sample_dir: Path, folder: Path) -> Path:
    folder.mkdir()
    for file in sample_dir.iterdir():
        if file.suffix != ".parquet":
            continue
        frame = pd.read_parquet(file)
        if file.stem == "orders":
            # microseconds, as Parquet stores them: nanoseconds do not reach these years
            unit = f"datetime64[us, {frame['ts'].dt.tz}]"
            frame["ts"] = frame["ts"].astype(unit)
            extra = frame.head(3).copy()
            extra["user_id"] = [*ORPHANS, frame["user_id"].iloc[5]]
            extra["order_id"] = [TWICE, TWICE, TWICE + 1]
            placeholders = frame.head(2).copy()
            placeholders["order_id"] = [TWICE + 2, TWICE + 3]
            days = np.array(["0001-01-01", "9999-12-31"], dtype="datetime64[us]")
            placeholders["ts"] = pd.Series(days).dt.tz_localize("UTC").astype(unit).values
            frame = pd.concat([frame, extra, placeholders], ignore_index=True)
        frame.to_parquet(folder / file.name)
    return folder


def test_no_planted_id_is_written_and_placeholder_dates_are_excluded(
    shop: Shop, sample_dir: Path, repo_root: Path
):
    data = planted(sample_dir, shop.root / "planted")
    shop.write_config(f"run: {{notebooks: {repo_root / 'notebooks'}}}\nlang: en\n")
    out = shop.root / "reports"
    outcome = shop.run("run", *REPORTS, "--data", str(data), "--out", str(out))
    assert outcome.code == 0, outcome.text
    quality = (out / "latest" / "data_quality.html").read_text(encoding="utf-8")
    assert "user_known" in quality and "key_unique" in quality  # the planted faults are found
    for report in REPORTS:  # each shows the two placeholder rows among the exclusions
        page = (out / "latest" / f"{report}.html").read_text(encoding="utf-8")
        assert "ts ∉ [1900-01-01, 2200-01-01)" in page, report
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 10
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        for value in (*ORPHANS, TWICE, TWICE + 1):
            assert str(value) not in text, (path.name, value)
    for value in (*ORPHANS, TWICE):
        assert str(value) not in outcome.text
