from datetime import datetime, timedelta

import duckdb
import ibis
import ibis.expr.operations as ops
import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import SourceError, fixed_utc_offset, open_source

USERS = pd.DataFrame(
    {
        "user_id": [1, 2, 3],
        # 15:30 UTC = 23:30 in Shanghai; 16:30 UTC = 00:30 the next day in Shanghai
        "signup_ts": pd.to_datetime(
            ["2026-01-01 15:30", "2026-01-01 16:30", "2026-07-01 23:30"]
        ).tz_localize("UTC"),
        "channel": ["organic", "search", "social"],
    }
)
LINES = pd.DataFrame(
    {
        "InvoiceNo": ["A1", "A1", "C2", "A3", "A4"],
        "Qty": [2, 1, -1, 5, 1],
        "Price": [10.0, 5.0, 10.0, 1.0, 3.0],
        "Cust": [1.0, 1.0, 1.0, None, 2.0],
        "When": [
            "2026-01-02 10:00:00",
            "2026-01-02 10:00:00",
            "2026-01-03 09:00:00",
            "2026-01-04 08:00:00",
            "2026-01-05 11:00:00",
        ],
    }
)

# LINES as retail.csv.gz mapped onto orders: derived amounts and statuses, a named filter, one
# order per invoice
RETAIL_ORDERS = {
    "file": "retail.csv.gz",
    "derive": {
        "line_amount": "Qty * Price",
        "line_status": "'cancelled' if InvoiceNo.startswith('C') else 'paid'",
    },
    "filter": {"no customer id": "Cust.notnull()"},
    "aggregate": {
        "by": {"order_id": "InvoiceNo"},
        "values": {
            "user_id": "Cust.max().cast('int64')",
            "ts": "When.min()",
            "amount": "line_amount.sum().abs()",
            "status": "line_status.max()",
        },
    },
}


def write_users(folder, suffix):
    """USERS as ``users.<suffix>``: Parquet keeps the zoned timestamps, text files hold UTC text."""
    path = folder / f"users.{suffix}"
    if suffix == "parquet":
        USERS.to_parquet(path)
    else:
        USERS.assign(signup_ts=USERS.signup_ts.dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(
            path, index=False
        )


STORED = ("zoned", "zoned_ns", "naive", "text")


def store_users(folder, stored):
    """USERS with ``signup_ts`` stored one way (``STORED``): zoned Parquet (micro- or
    nanoseconds), naive Parquet, or UTC text in a CSV file."""
    users = USERS.copy()
    if stored == "zoned_ns":
        users["signup_ts"] = users.signup_ts.astype("datetime64[ns, UTC]")
    elif stored == "naive":
        users["signup_ts"] = users.signup_ts.dt.tz_localize(None)
    if stored == "text":
        write_users(folder, "csv")
    else:
        users.to_parquet(folder / "users.parquet")


def source_of(folder, tables=None, **cfg):
    config = load_config(data=str(folder), overrides={"data": {"tables": tables or {}}, **cfg})
    return open_source(config)


@pytest.mark.parametrize("suffix", ["parquet", "csv", "csv.gz"])
def test_folder_files_of_each_format(tmp_path, suffix):
    write_users(tmp_path, suffix)
    source = source_of(tmp_path)
    assert source.names == ["users"]
    frame = source.table("users").execute()
    assert frame.user_id.tolist() == [1, 2, 3]
    # naive UTC after normalisation, whatever the file held
    assert frame.signup_ts.iloc[0] == pd.Timestamp("2026-01-01 15:30")


def test_nanosecond_zoned_parquet_is_normalised(tmp_path):
    USERS.assign(signup_ts=USERS.signup_ts.astype("datetime64[ns, UTC]")).to_parquet(
        tmp_path / "users.parquet"
    )
    frame = source_of(tmp_path).table("users").execute()
    assert frame.signup_ts.iloc[1] == pd.Timestamp("2026-01-01 16:30")


@pytest.mark.parametrize("stored", STORED)
def test_latest_and_time_bounds_however_the_column_is_stored(tmp_path, stored):
    store_users(tmp_path, stored)
    source = source_of(tmp_path)
    oracle = pd.Timestamp(source.table("users").execute().signup_ts.max())
    assert oracle == pd.Timestamp("2026-07-01 23:30")
    assert source.latest("users", "signup_ts") == oracle
    # a source as it stood before a moment: rows at or after it are left out
    earlier = source.before(datetime(2026, 7, 1, 23, 30))
    assert earlier.latest("users", "signup_ts") == pd.Timestamp("2026-01-01 16:30")
    assert earlier.table("users").count().execute() == 2
    assert source.before(datetime(2026, 1, 1)).latest("users", "signup_ts") is None
    # the original is untouched by its views
    assert source.table("users").count().execute() == 3
    # rows in [since, until), however the column is stored: bounds are exact at both ends
    between = source.table(
        "users", since=datetime(2026, 1, 1, 16, 30), until=datetime(2026, 7, 1, 23, 30)
    )
    assert between.execute().signup_ts.tolist() == [pd.Timestamp("2026-01-01 16:30")]
    since = source.table("users", since=datetime(2026, 1, 1, 16, 30))
    assert since.count().execute() == 2


def test_local_dates_follow_the_configured_zone(tmp_path):
    USERS.to_parquet(tmp_path / "users.parquet")
    for zone, expected in [
        ("Asia/Shanghai", ["2026-01-01", "2026-01-02", "2026-07-02"]),
        ("UTC", ["2026-01-01", "2026-01-01", "2026-07-01"]),
        # London: winter UTC+0, summer UTC+1 (DST: the engine's zone rules, not a fixed offset)
        ("Europe/London", ["2026-01-01", "2026-01-01", "2026-07-02"]),
    ]:
        source = source_of(tmp_path, timezone=zone)
        users = source.table("users")
        days = users.select(d=source.local_date(users.signup_ts)).execute()["d"]
        assert [str(pd.Timestamp(d).date()) for d in days] == expected, zone


@pytest.mark.parametrize("stored", STORED)
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "Europe/London"])
def test_local_day_numbers_however_the_column_is_stored(tmp_path, stored, zone):
    store_users(tmp_path, stored)
    source = source_of(tmp_path, timezone=zone)
    table = source.table("users", until=datetime(2027, 1, 1), local_day=True)
    frame = table.select("signup_ts", "local_day").execute()
    # the oracle: the local calendar date in plain pandas, as days since 1970-01-01
    local = frame.signup_ts.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
    expected = (local.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days
    assert frame.local_day.tolist() == expected.tolist()
    assert (
        frame.local_day.tolist()
        == (source.table("users").select(d=source.local_day(source.table("users").signup_ts)))
        .execute()["d"]
        .tolist()
    )
    if stored.startswith("zoned") and zone != "Europe/London":
        # read off the stored instant: nothing under the day's definition converts the time
        read = _operations_under(table, "local_day")
        assert not any(name.startswith("_timestamp_from_epoch_us") for name in read), read


def _operations_under(table, column: str) -> set[str]:
    """The names of the operations the first definition of ``column`` in ``table`` reads."""
    defining = next(
        p.values[column]
        for p in table.op().find(ops.Project)
        if column in p.values and not isinstance(p.values[column], ops.Field)
    )
    return {type(node).__name__ for node in defining.find(ops.Node)}


def test_fixed_offset_detection():
    assert fixed_utc_offset("Asia/Shanghai").total_seconds() == 8 * 3600
    assert fixed_utc_offset("Europe/London") is None


def test_mapping_renames_derives_filters_and_aggregates(tmp_path):
    LINES.to_csv(tmp_path / "retail.csv.gz", index=False)
    tables = {"orders": RETAIL_ORDERS}
    source = source_of(tmp_path, tables)
    orders = source.table("orders").order_by("order_id").execute()
    assert orders.order_id.tolist() == ["A1", "A4", "C2"]
    assert orders.amount.tolist() == [25.0, 3.0, 10.0]
    assert orders.status.tolist() == ["paid", "paid", "cancelled"]
    assert orders.ts.iloc[0] == pd.Timestamp("2026-01-02 10:00")
    excluded = source.exclusions()
    assert excluded.to_dict("records") == [{"table": "orders", "rule": "no customer id", "rows": 1}]


def test_exclusions_count_each_rule_after_the_ones_before(tmp_path):
    LINES.to_parquet(tmp_path / "lines.parquet")
    tables = {
        "orders": {
            "file": "lines.parquet",
            "rename": {"InvoiceNo": "order_id", "Cust": "user_id", "When": "ts"},
            "derive": {"amount": "Qty * Price"},
            "filter": {"positive": "Qty > 0", "known customer": "user_id.notnull()"},
        }
    }
    excluded = source_of(tmp_path, tables).exclusions()
    # C2 fails "positive"; A3 passes it and then fails "known customer"
    assert excluded.rows.tolist() == [1, 1]


def test_duckdb_file_and_url_sources(tmp_path):
    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.register("u", USERS)
    con.execute("CREATE TABLE customers AS SELECT * FROM u")
    con.close()
    config = load_config(
        data=str(db), overrides={"data": {"tables": {"users": {"table": "customers"}}}}
    )
    assert open_source(config).table("users").count().execute() == 3
    config = load_config(
        data=f"duckdb://{db}", overrides={"data": {"tables": {"users": {"table": "customers"}}}}
    )
    assert open_source(config).table("users").count().execute() == 3


def test_clear_errors_for_bad_sources(tmp_path):
    with pytest.raises(SourceError, match="opsbook sample"):
        source_of(tmp_path / "missing")
    with pytest.raises(SourceError, match="holds no table files"):
        source_of(tmp_path)
    USERS.to_parquet(tmp_path / "users.parquet")
    with pytest.raises(SourceError, match=r"no table orders \(it has: users\)"):
        source_of(tmp_path).table("orders")
    with pytest.raises(
        SourceError, match="unknown setting data.tables.users.renam; did you mean rename"
    ):
        source_of(tmp_path, {"users": {"renam": {}}})
    with pytest.raises(SourceError, match="cannot rename"):
        source_of(tmp_path, {"users": {"rename": {"uid": "user_id"}}}).table("users")


def test_fingerprint_has_rows_and_local_date_ranges(tmp_path):
    USERS.to_parquet(tmp_path / "users.parquet")
    source = source_of(tmp_path)
    fp = source.fingerprint
    assert fp["tables"]["users"] == {"rows": 3, "first": "2026-01-01", "last": "2026-07-02"}
    assert fp["timezone"] == "Asia/Shanghai"
    assert len(fp["digest"]) == 16


def test_utc_from_local():
    config = load_config(data="x")
    source = open_source.__globals__["Source"](None, {}, config, "x")
    assert source.utc_from_local("2026-01-02") == datetime(2026, 1, 1, 16, 0)


@pytest.mark.parametrize(
    "zone, day, first_instant",
    [
        # the clocks jump from 24:00 to 01:00 (UTC-4 to UTC-3): the day starts at 01:00 local
        ("America/Santiago", "2026-09-06", datetime(2026, 9, 6, 4, 0)),
        # they fall back from 01:00 to 00:00 (UTC-4 to UTC-5): the first of the two midnights
        ("America/Havana", "2026-11-01", datetime(2026, 11, 1, 4, 0)),
        # they jump from 00:00 to 01:00 (UTC-5 to UTC-4)
        ("America/Havana", "2026-03-08", datetime(2026, 3, 8, 5, 0)),
    ],
)
def test_a_day_starts_at_its_first_instant_across_a_dst_change(zone, day, first_instant):
    config = load_config(data="x", overrides={"timezone": zone})
    source = open_source.__globals__["Source"](None, {}, config, "x")
    assert source.utc_from_local(day) == first_instant
    before = pd.Timestamp(first_instant - timedelta(microseconds=1)).tz_localize("UTC")
    assert str(before.tz_convert(zone).date()) < day  # the instant before is the day before


def test_credentials_in_a_url_are_never_printed():
    from opsbook.data import redact

    assert (
        redact("postgres://ops:s3cret@db.internal:5432/shop")
        == "postgres://ops:***@db.internal:5432/shop"
    )
    assert redact("duckdb:///tmp/x.duckdb") == "duckdb:///tmp/x.duckdb"
    with pytest.raises(Exception) as caught:
        open_source(load_config(data="nosuch://ops:s3cret@host/db"))
    assert "s3cret" not in str(caught.value)


def test_a_name_too_long_to_read_is_read_as_its_short_label(tmp_path):
    """A label value past LONG_VALUE characters is shortened in the engine exactly as the charts
    shorten labels (the same text on every page); the raw table keeps it whole."""
    from opsbook.plots import LABEL_LIMIT, LONG_TEXT, short_label
    from opsbook.types import LABEL_LIMIT as ENGINE_LABEL_LIMIT
    from opsbook.types import LONG_VALUE

    assert (LONG_VALUE, ENGINE_LABEL_LIMIT) == (LONG_TEXT, LABEL_LIMIT)
    channels = ["K" * 100_000, "K" * 99_999 + "S", "K" * LONG_VALUE, "搜索" * 300]
    USERS.head(3).assign(channel=channels[:3]).to_parquet(tmp_path / "users.parquet")
    source = open_source(load_config(data=str(tmp_path)))
    read = source.table("users").order_by("user_id").channel.execute().tolist()
    assert read == [short_label(channels[0]), short_label(channels[1]), channels[2]]
    assert len(set(read)) == 3 and max(map(len, read[:2])) == LABEL_LIMIT
    assert source.mapped("users").channel.length().max().execute() == 100_000
    USERS.head(1).assign(channel=channels[3:]).to_parquet(tmp_path / "users.parquet")
    read = open_source(load_config(data=str(tmp_path))).table("users").channel.execute()
    assert read.tolist() == [short_label(channels[3])]  # characters, not bytes


@pytest.mark.parametrize("stored", STORED)
def test_implausible_times_are_left_out_and_plausible_ones_unfiltered(tmp_path, stored):
    # the oldest and newest stored time decide whether the plausibility filter runs at all
    store_users(tmp_path, stored)
    source = source_of(tmp_path)
    sql = str(ibis.to_sql(source.table("users")))
    assert "1900-01-01" not in sql  # read as timestamps (CSV: sniffed), all in range: no filter
    assert source.table("users").count().execute() == 3
    placeholder = USERS.assign(signup_ts=USERS.signup_ts.astype("datetime64[us, UTC]"))
    placeholder.loc[2, "signup_ts"] = pd.Timestamp("0001-01-01", tz="UTC")
    placeholder.to_parquet(tmp_path / "users.parquet")
    (tmp_path / "users.csv").unlink(missing_ok=True)
    frame = source_of(tmp_path).table("users").execute()
    assert frame.user_id.tolist() == [1, 2]  # the placeholder time's row is left out
