"""Per-user aggregates in ranges of users: how many ranges, where they are cut, and that the
parts together are exactly the whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from opsbook import parts
from opsbook.behaviour import behaviour
from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.insight import queries as q
from tests.unit.insight.shop import simulated_shop
from tests.unit.retention.sources import source_of, users_of


def test_ranges_grow_with_the_rows_over_the_memory_limit():
    assert parts.part_count(0, 4 * 10**9) == 1
    assert parts.part_count(10**9, None) == 1  # no limit known: one part
    # 1M users' events under a 4 GB limit: one part; 10M users' (692M rows): nine
    assert parts.part_count(69_057_583, 3_972_844_748) == 1
    assert parts.part_count(692_160_624, 3_972_844_748) == 9
    assert parts.part_count(1001, 1000 * parts.BYTES_PER_ROW) == 2


def test_ranges_are_cut_at_quantiles_of_the_users_ids(tmp_path):
    numbers = source_of(tmp_path / "n", users_of(*[(u, "2026-01-01 08:00") for u in range(1, 11)]))
    assert parts.user_bounds(numbers, 3) == [5, 9]  # 1-4, 5-8, 9-10
    assert parts.user_bounds(numbers, 1) == []
    texts = source_of(
        tmp_path / "t", users_of(*[(f"u{u:02d}", "2026-01-01 08:00") for u in range(10, 0, -1)])
    )
    assert parts.user_bounds(texts, 2) == ["u06"]


def test_the_daily_activity_in_parts_is_the_whole(tmp_path, monkeypatch):
    """Forced into seven ranges of users, the user-insight daily activity is row for row the
    table computed at once, read from one Parquet file per range."""
    whole_source = simulated_shop(tmp_path / "a", users=400, days=120, seed=3)
    day = q.day_number(q.default_as_of(whole_source))
    whole, types = q.report_activity(whole_source, day, 3)
    assert len(list(_kept_files(whole_source))) == 1

    monkeypatch.setattr(parts, "part_count", lambda rows, limit: 7)
    split_source = simulated_shop(tmp_path / "b", users=400, days=120, seed=3)
    split, split_types = q.report_activity(split_source, day, 3)
    assert len(list(_kept_files(split_source))) == 7

    order = ["user_id", "day"]
    expected = whole.execute().sort_values(order, ignore_index=True)
    got = split.execute().sort_values(order, ignore_index=True)
    assert split_types == types
    assert len(got) > 1000
    pd.testing.assert_frame_equal(got, expected)


def _kept_files(source):
    con = source.con
    folder = con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]
    return Path(folder).glob("kept-*.parquet")


def test_the_behaviour_page_in_parts_is_the_whole(sample_dir, tmp_path, monkeypatch):
    """Forced into five ranges of users, the funnel's users (and so its counts, weeks, times
    and drop-off) and the paths are those computed at once: each user's row depends on their
    own events alone."""

    def page(ranges):
        monkeypatch.setattr(parts, "part_count", lambda rows, limit: ranges)
        config = load_config(data=str(sample_dir), overrides={"timezone": "Asia/Shanghai"})
        source = open_source(config)
        result = behaviour(source, breakdown="channel")
        return result.metrics(), len(list(_kept_files(source)))

    whole, whole_files = page(1)
    split, split_files = page(5)
    assert split_files >= whole_files + 4  # the funnel's users in five files, not one
    assert whole["funnels"]["purchase"]["steps"][1]["users"] > 1000
    assert split == whole
