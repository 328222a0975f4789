"""The activity rollup (:mod:`opsbook.rollup`): per user and local day, exact to the last digit
of the rows' sums; its Parquet cache kept between runs, refreshed from the new files alone only
when part files were added, rebuilt on any other change, never read when corrupt."""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from opsbook import parts, rollup
from opsbook.config import load_config
from opsbook.data import Source, open_source
from opsbook.engine import exact_sum
from opsbook.retention.queries import active_periods
from opsbook.rollup import (
    NO_CACHE_ENV,
    READERS,
    RollupCache,
    active_days,
    prepare,
    rolled_rows,
    user_days,
)

ZONE = "Asia/Shanghai"  # UTC+8: 15:59:59 UTC is 23:59:59 local, 16:00 UTC the next local day
USERS = pd.DataFrame(
    {
        "user_id": [1, 2, 3],
        "signup_ts": pd.to_datetime(["2026-01-01 01:00", "2026-01-01 02:00", "2026-01-02 03:00"]),
    }
)
ORDERS = pd.DataFrame(
    {
        "order_id": [10, 11, 12, 13, 14, 15],
        "user_id": [1, 1, 1, 2, 2, 3],
        "ts": pd.to_datetime(
            [
                "2026-01-01 15:59:59",  # local 01-01 23:59:59
                "2026-01-01 16:00:00",  # local 01-02 00:00
                "2026-01-01 17:00:00",  # local 01-02
                "2026-01-01 03:00:00",
                "2026-01-01 04:00:00",
                "2026-01-03 05:00:00",
            ]
        ),
        "amount": [0.1, 0.2, 19.99, 5.0, 7.25, 3.3],
        "status": ["paid", None, "refunded", "cancelled", "paid", "paid"],
    }
)


def events_part(day: str, users: list[int], hours: list[str]) -> pd.DataFrame:
    """Events of ``users`` at the UTC ``hours`` of ``day`` (one of each per user)."""
    times = pd.to_datetime([f"{day} {h}" for h in hours])
    return pd.DataFrame(
        {
            "user_id": [u for u in users for _ in times],
            "ts": [t for _ in users for t in times],
            "event": ["app_open" if i % 2 else "view_item" for i in range(len(users) * len(times))],
        }
    )


def write_shop(folder: Path) -> Path:
    """users and orders as files, events as a folder of two part files."""
    folder.mkdir(parents=True, exist_ok=True)
    USERS.to_parquet(folder / "users.parquet")
    ORDERS.to_parquet(folder / "orders.parquet")
    (folder / "events").mkdir()
    events_part("2026-01-01", [1, 2], ["15:59:59", "16:00:00"]).to_parquet(
        folder / "events" / "part-0.parquet"
    )
    events_part("2026-01-02", [2, 3], ["01:00:00"]).to_parquet(folder / "events" / "part-1.parquet")
    return folder


def open_shop(folder: Path, cache: Path | None, zone: str = ZONE, tables=None) -> Source:
    overrides = {
        "data": {"source": str(folder), "tables": tables or {}},
        "timezone": zone,
        "cache": {"folder": str(cache) if cache else None},
    }
    return open_source(load_config(overrides=overrides))


def rows(table) -> pd.DataFrame:
    """A rollup as a frame in a fixed order (money as exact decimals)."""
    return table.execute().sort_values(["user_id", "day"], ignore_index=True)


@pytest.fixture(autouse=True)
def with_the_cache(monkeypatch):
    """The cache as a run uses it (the other unit tests go without: tests/unit/conftest.py)."""
    monkeypatch.delenv(NO_CACHE_ENV, raising=False)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_shop(tmp_path / "shop")


# -- exact per user and local day ----------------------------------------------------------------
def test_orders_rollup_is_the_hand_count_per_local_day(shop):
    got = rows(rolled_rows(open_shop(shop, None), "orders"))
    day = (pd.Timestamp("2026-01-01") - pd.Timestamp("1970-01-01")).days
    # user 1: 0.1 paid at local 01-01 23:59:59; 0.2 (no status: paid) and 19.99 refunded on 01-02
    assert got[["user_id", "day", "orders", "paid_orders", "refunds"]].values.tolist() == [
        [1, day, 1, 1, 0],
        [1, day + 1, 2, 1, 1],
        [2, day, 2, 1, 0],  # a cancelled order counts as an order, not as paid
        [3, day + 2, 1, 1, 0],
    ]
    assert got["paid_amount"].tolist() == [
        Decimal("0.1"),
        Decimal("0.2"),
        Decimal("7.25"),
        Decimal("3.3"),
    ]
    assert got["refunded_amount"].iloc[1] == Decimal("19.99")
    assert got["first_paid_ts"].iloc[1] == pd.Timestamp("2026-01-01 16:00:00")


def test_sums_over_the_rollup_equal_sums_over_the_rows(shop):
    source = open_shop(shop, None)
    rolled = rolled_rows(source, "orders")
    orders = source.table("orders")
    paid = orders.status.isnull() | (orders.status == "paid")
    by_rows = orders.aggregate(
        revenue=exact_sum(orders.amount, where=paid),
        squares=exact_sum(orders.amount * orders.amount, where=paid),
    ).execute()
    by_rollup = rolled.aggregate(
        revenue=rolled.paid_amount.sum().cast("float64"),
        squares=rolled.paid_squares.sum().cast("float64"),
    ).execute()
    assert by_rollup.iloc[0].tolist() == by_rows.iloc[0].tolist()
    assert by_rollup["revenue"].iloc[0] == 10.85  # the decimal total, not 0.1 + 0.2 + ... in floats
    events = rows(rolled_rows(source, "events"))
    assert int(events["events"].sum()) == int(source.table("events").count().execute())


def test_active_days_are_the_local_days_with_activity_before_the_instant(shop):
    source = open_shop(shop, None)
    day = (pd.Timestamp("2026-01-01") - pd.Timestamp("1970-01-01")).days
    until = pd.Timestamp("2026-01-01 16:00:00")  # the events at 16:00 UTC are not before it
    got = active_days(source, "any", until).execute().sort_values(["user_id", "day"])
    assert got.values.tolist() == [[1, day], [2, day]]
    paid = active_days(source, "order", None).execute().sort_values(["user_id", "day"])
    assert paid.values.tolist() == [[1, day], [1, day + 1], [2, day], [3, day + 2]]
    assert active_days(source, "app_open", None) is None  # one event's days: read from the rows


def test_a_view_that_leaves_rows_out_reads_the_rows(shop):
    source = open_shop(shop, None)
    assert user_days(source, "orders") is not None
    assert user_days(source.before(pd.Timestamp("2026-01-02").to_pydatetime()), "orders") is None
    flagged = source.table("orders").filter(lambda t: t.order_id == 10)
    without = source.without("orders", flagged, "order_id")
    assert user_days(without, "orders") is None and user_days(without, "events") is not None


def test_months_of_the_rollup_are_the_months_of_the_rows(shop):
    """Month periods come from the day numbers in integer arithmetic; they match the rows'."""
    source = open_shop(shop, None)
    until = pd.Timestamp("2026-02-01").to_pydatetime()
    rolled = active_periods(source, "any", until, "month").execute()
    events = source.table("events")
    local = source.local(events.ts)
    by_rows = events.select("user_id", p=local.year() * 12 + local.month() - 1).distinct()
    key = ["user_id", "p"]
    assert (
        rolled.sort_values(key).values.tolist()
        == by_rows.execute().sort_values(key).values.tolist()
    )


# -- the cache: which path, and warm equals cold ---------------------------------------------------
def served(folder: Path, cache: Path, **kw) -> tuple[dict[str, str], dict[str, pd.DataFrame]]:
    """How the cache served each rolled table, and the tables; asserted equal to the rollup of
    the rows (a cold run without the cache)."""
    source = open_shop(folder, cache, **kw)
    keeper = RollupCache.of(source)
    tables = {name: rows(keeper.table(source, name)) for name in ("events", "orders")}
    for name, table in tables.items():
        pd.testing.assert_frame_equal(table, rows(rolled_rows(source, name)), check_dtype=False)
    return keeper.paths, tables


def test_a_second_run_reads_the_cache(shop, tmp_path):
    cache = tmp_path / "cache"
    assert served(shop, cache)[0] == {"events": "rebuilt", "orders": "rebuilt"}
    assert served(shop, cache)[0] == {"events": "read", "orders": "read"}


def test_an_appended_part_file_is_rolled_up_alone(shop, tmp_path):
    cache = tmp_path / "cache"
    served(shop, cache)
    # late rows of a day an earlier part holds (user 2, local 01-02) and a new day
    late = events_part("2026-01-02", [2, 9], ["02:00:00", "20:00:00"])
    late.to_parquet(shop / "events" / "part-2.parquet")
    paths, tables = served(shop, cache)
    assert paths == {"events": "incremental", "orders": "read"}
    assert len(list(cache.glob("*/events-*.parquet"))) == 2
    day = (pd.Timestamp("2026-01-02") - pd.Timestamp("1970-01-01")).days
    events = tables["events"]
    user2 = events[(events.user_id == 2) & (events.day == day)]
    # two events of the first parts and one of the new part (10:00 local), merged in one row
    assert user2["events"].tolist() == [3]
    assert served(shop, cache)[0] == {"events": "read", "orders": "read"}
    assert manifest(cache)["events"]["disjoint"] is False  # read re-aggregated by user and day


def manifest(cache: Path) -> dict:
    return json.loads(next(cache.glob("*/manifest.json")).read_text())["tables"]


def test_the_next_days_part_is_read_as_it_is(shop, tmp_path, monkeypatch):
    """A part whose days all follow the cached days (the next day's file) shares no user and
    day with them: the parts are read as they are, without re-aggregating; a part that brings
    rows of a day already cached (late rows) makes them re-aggregated again."""
    cache = tmp_path / "cache"
    served(shop, cache)
    assert [p["days"] for p in manifest(cache)["events"]["parts"]] == [[20454, 20455]]
    events_part("2026-01-03", [2, 9], ["02:00:00"]).to_parquet(shop / "events" / "part-2.parquet")
    events_part("2026-01-03", [], []).to_parquet(shop / "events" / "part-3.parquet")  # no rows

    def merged(table):
        raise AssertionError("re-aggregated parts that share no user and day")

    with monkeypatch.context() as patched:
        patched.setattr(rollup, "merged", merged)
        paths, tables = served(shop, cache)  # equal to the rollup of the rows (cold)
    assert paths == {"events": "incremental", "orders": "read"}
    entry = manifest(cache)["events"]
    assert entry["disjoint"] is True
    assert [p["days"] for p in entry["parts"]] == [[20454, 20455], [20456, 20456]]
    assert set(tables["events"].loc[tables["events"].day == 20456, "user_id"]) == {2, 9}
    events_part("2026-01-03", [2], ["03:00:00"]).to_parquet(shop / "events" / "part-4.parquet")
    paths, tables = served(shop, cache)
    assert paths["events"] == "incremental" and manifest(cache)["events"]["disjoint"] is False
    user2 = tables["events"][(tables["events"].user_id == 2) & (tables["events"].day == 20456)]
    assert user2["events"].tolist() == [2]  # 10:00 and 11:00 local, in one row


def test_a_large_rollup_is_built_in_ranges_of_users(shop, tmp_path, monkeypatch):
    """Forced into three ranges of users (users 1, 2 and 3 alone), each table's rollup is three
    parts read as they are (no user in two), equal to the rollup of the rows; a part file
    appended afterwards is rolled up alone and merged with them."""
    monkeypatch.setattr(parts, "part_count", lambda rows, limit: 3)
    cache = tmp_path / "cache"
    assert served(shop, cache)[0] == {"events": "rebuilt", "orders": "rebuilt"}
    entries = json.loads(next(cache.glob("*/manifest.json")).read_text())["tables"]
    assert {name: len(e["parts"]) for name, e in entries.items()} == {"events": 3, "orders": 3}
    assert all(e["disjoint"] for e in entries.values())
    events_part("2026-01-02", [2, 9], ["02:00:00"]).to_parquet(shop / "events" / "part-2.parquet")
    paths, tables = served(shop, cache)  # user 9, in no users row, lies in the last range
    assert paths == {"events": "incremental", "orders": "read"}
    assert set(tables["events"]["user_id"]) == {1, 2, 3, 9}
    source = open_shop(shop, None)
    kept = {name: rows(user_days(source, name)) for name in ("events", "orders")}
    for name, table in kept.items():  # computed in session in the same three ranges
        pd.testing.assert_frame_equal(table, rows(rolled_rows(source, name)), check_dtype=False)


def change_a_file(shop: Path) -> None:
    events_part("2026-01-05", [3], ["10:00:00"]).to_parquet(shop / "events" / "part-1.parquet")


def remove_a_file(shop: Path) -> None:
    (shop / "events" / "part-1.parquet").unlink()


def rewrite_with_the_same_size(shop: Path) -> None:
    path = shop / "events" / "part-0.parquet"
    before = path.stat()
    table = pd.read_parquet(path)
    table["user_id"] = table["user_id"].map({1: 2, 2: 1})  # the same bytes' count, other users
    table.to_parquet(path)
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns != before.st_mtime_ns


@pytest.mark.parametrize("change", [change_a_file, remove_a_file, rewrite_with_the_same_size])
def test_a_changed_removed_or_rewritten_file_rebuilds(shop, tmp_path, change):
    cache = tmp_path / "cache"
    served(shop, cache)
    change(shop)
    assert served(shop, cache)[0] == {"events": "rebuilt", "orders": "read"}


def test_a_changed_mapping_or_zone_rebuilds(shop, tmp_path):
    cache = tmp_path / "cache"
    served(shop, cache)
    mapping = {"events": {"filter": {"not view_item": "event != 'view_item'"}}}
    assert served(shop, cache, tables=mapping)[0] == {"events": "rebuilt", "orders": "rebuilt"}
    assert served(shop, cache, zone="UTC")[0] == {"events": "rebuilt", "orders": "rebuilt"}
    assert served(shop, cache, zone="UTC")[0] == {"events": "read", "orders": "read"}


def test_a_corrupt_cached_file_is_rebuilt_never_read(shop, tmp_path):
    cache = tmp_path / "cache"
    served(shop, cache)
    part = next(cache.glob("*/orders-*.parquet"))
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the same size, another digest
    part.write_bytes(bytes(data))
    assert served(shop, cache)[0] == {"events": "read", "orders": "rebuilt"}
    (next(cache.glob("*/manifest.json"))).write_text("{not json")
    assert served(shop, cache)[0] == {"events": "rebuilt", "orders": "rebuilt"}


def test_an_unwritable_folder_is_said_once_and_the_rollup_computed_in_session(shop, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    source = open_shop(shop, blocker / "cache")
    said = []
    assert prepare(source, "en", ["retention"], said.append) is False
    assert len(said) == 1
    said = said[0]
    assert said.startswith(f"The cache folder {blocker / 'cache'}") and "cannot be written" in said
    # without a runner (JupyterLab) the first report says it, once
    with pytest.warns(UserWarning, match=re.escape(str(blocker / "cache"))):
        orders = rows(user_days(source, "orders"))
    pd.testing.assert_frame_equal(orders, rows(rolled_rows(source, "orders")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        user_days(open_shop(shop, blocker / "cache"), "orders")


def test_a_source_without_files_goes_without_the_cache(shop, tmp_path):
    import duckdb

    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as con:
        for name in ("users", "orders"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM '{shop / name}.parquet'")
    source = open_shop(database, tmp_path / "cache")
    said = []
    assert prepare(source, "en", ["retention"], said.append) is False
    assert len(said) == 1 and "no files to fingerprint" in said[0]
    assert not (tmp_path / "cache").exists()
    assert len(rows(user_days(source, "orders"))) == 4  # kept on the engine for the session


def test_two_builders_at_once_leave_a_readable_cache(shop, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    errors: list[BaseException] = []
    write_part = RollupCache._write_part

    def slow_write(self, name, rows):  # every builder finds no rollup before one is written
        time.sleep(0.3)
        return write_part(self, name, rows)

    monkeypatch.setattr(RollupCache, "_write_part", slow_write)

    def build() -> None:
        try:
            source = open_shop(shop, cache)
            keeper = RollupCache.of(source)
            for name in ("events", "orders"):
                keeper.table(source, name).execute()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    # the first builder of each table held its lock: the others read what it wrote
    assert sorted(p.name.split("-")[0] for p in cache.rglob("*.parquet")) == ["events", "orders"]
    assert served(shop, cache)[0] == {"events": "read", "orders": "read"}


def test_a_run_of_readers_builds_the_rollups_before_its_reports(shop, tmp_path):
    cache = tmp_path / "cache"
    said = []
    assert prepare(open_shop(shop, cache), "en", ["ab_test", "kpi_dashboard"], said.append)
    assert sorted(p.name.split("-")[0] for p in cache.rglob("*.parquet")) == ["events", "orders"]
    assert len(said) == 1
    assert re.fullmatch(
        r"Activity rollup ready \(events: computed, orders: computed\) in [\d.]+ s\.", said[0]
    )
    # the reports read what the runner built
    assert served(shop, cache)[0] == {"events": "read", "orders": "read"}
    said = []
    assert prepare(open_shop(shop, cache), "zh", ["retention"], said.append)
    assert said[0].startswith("活动汇总已就绪（events: 从缓存读取, orders: 从缓存读取）")


def test_a_run_of_reports_that_read_no_rollup_builds_none(shop, tmp_path):
    cache = tmp_path / "cache"
    source = open_shop(shop, cache)
    said = []
    assert prepare(source, "en", ["ab_test", "segmentation"], said.append)
    assert said == [] and not list(cache.rglob("*.parquet"))
    rows(user_days(source, "orders"))  # a reader not in READERS builds the orders rollup alone
    assert [p.name.split("-")[0] for p in cache.rglob("*.parquet")] == ["orders"]
    assert served(shop, cache)[0] == {"events": "rebuilt", "orders": "read"}


def test_every_reader_is_a_report():
    from opsbook.run import discover

    assert set(discover(Path(__file__).parents[2] / "notebooks")) >= READERS


def test_no_cache_leaves_the_folder_alone(shop, tmp_path, monkeypatch):
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    source = open_shop(shop, tmp_path / "cache")
    said = []
    assert prepare(source, "en", ["retention"], said.append) is False
    assert said == []
    assert len(rows(user_days(source, "events"))) == 5
    assert not (tmp_path / "cache").exists()


def test_a_rollup_the_engine_fails_to_build_is_said_and_the_reports_go_without(
    shop, tmp_path, monkeypatch
):
    def fail(*args):
        raise RuntimeError("Out of Memory Error: failed to allocate 2.0 GiB\nmore detail")

    monkeypatch.setattr(RollupCache, "_built", fail)
    said = []
    assert (
        prepare(open_shop(shop, tmp_path / "cache"), "en", ["kpi_dashboard"], said.append) is False
    )
    assert said == [
        "The activity rollup could not be built (Out of Memory Error: failed to allocate 2.0 GiB):"
        " this run goes without the rollup cache; each report computes from the rows."
    ]
