"""Segmentation's engine step: the RFM queries (window, statuses, local dates, exclusions) run
as compute_rfm runs them, on small hand-made order logs; the engine against plain pandas on the
sample shop; the lifetimes-style summary against the published CDNOW summary."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.report import Report
from opsbook.segmentation import queries
from opsbook.segmentation.analysis import rfm as rfm_table
from tests.conftest import dataset
from tests.unit.segmentation.known_orders import AS_OF, LOG, log, report_on


# -- the engine step --------------------------------------------------------------------------
@pytest.mark.parametrize("aware", [True, False], ids=["zone-aware ts", "naive ts"])
def test_rfm_known_answers(tmp_path, aware):
    shop = report_on(tmp_path, LOG, aware=aware)
    # zone-aware and naive stored timestamps both arrive as naive UTC and give the same answers
    assert shop.source.table("orders").ts.type().timezone is None
    rfm = rfm_table.compute_rfm(shop.source, as_of=AS_OF, lookback_days=90)
    c = rfm.customers.set_index("user_id")
    assert c.index.tolist() == [1, 2, 3, 5]  # u4's only order was refunded
    assert c.loc[1, ["orders", "recency", "revenue"]].tolist() == [3, 9, 60.0]
    assert c.loc[2, ["orders", "recency", "revenue"]].tolist() == [1, 2, 50.0]
    assert c.loc[3, ["orders", "recency", "revenue"]].tolist() == [1, 45, 40.0]  # refund left out
    assert c.loc[5, ["orders", "recency", "revenue"]].tolist() == [1, 1, 8.0]  # null status = paid
    assert c.loc[1, "last_order"] == pd.Timestamp("2026-02-20")
    assert c["frequency"].tolist() == c["orders"].tolist()
    assert c["monetary"].tolist() == c["revenue"].tolist()
    assert rfm.excluded == {
        "invalid": 0,
        "outside_window": 2,
        "cancelled": 1,
        "refunded": 2,
        "other_status": 1,
        "no_user": 1,
    }
    assert rfm.included_orders == 6
    assert rfm.included_orders + sum(rfm.excluded.values()) == len(LOG)
    assert rfm.customers_without_paid_orders == 1  # u4
    assert rfm.window_start == date(2025, 12, 1)


def test_frequency_in_days_and_mean_monetary(shop):
    rfm = rfm_table.compute_rfm(
        shop.source, as_of=AS_OF, lookback_days=90, frequency="days", monetary="mean"
    )
    u1 = rfm.customers.set_index("user_id").loc[1]
    assert (u1["orders"], u1["frequency"], u1["monetary"]) == (3, 2, 20.0)


def test_all_history_and_a_later_as_of(shop):
    rfm = rfm_table.compute_rfm(shop.source, as_of=date(2026, 3, 2), lookback_days=None)
    c = rfm.customers.set_index("user_id")
    assert c.loc[1, ["orders", "recency", "revenue"]].tolist() == [4, 1, 1060.0]
    assert c.loc[2, ["orders", "revenue"]].tolist() == [2, 550.0]
    assert rfm.excluded["outside_window"] == 0 and rfm.window_start is None


def test_invalid_orders_are_counted_first(tmp_path):
    orders = log(
        (1, 1, "2026-02-01", None, "refunded"),
        (2, 1, None, 5.0, "paid"),
        (3, 1, "2026-02-02", 5.0, "paid"),
    )
    rfm = rfm_table.compute_rfm(report_on(tmp_path, orders).source, as_of=AS_OF)
    assert rfm.excluded["invalid"] == 2 and rfm.excluded["refunded"] == 0
    assert rfm.included_orders == 1


def test_local_dates_decide_the_window_recency_and_default_as_of(tmp_path):
    # 16:30 UTC on Feb 28 is 00:30 on Mar 1 in Shanghai: on as_of itself, so outside the window
    orders = log(
        (1, 1, "2026-02-27 15:00", 10.0, "paid"),  # 23:00 Feb 27 local
        (2, 2, "2026-02-27 16:30", 10.0, "paid"),  # 00:30 Feb 28 local
        (3, 3, "2026-02-28 16:30", 10.0, "paid"),  # 00:30 Mar 1 local
        (4, 3, "2026-03-05 16:30", 10.0, "refunded"),  # newer, but not paid
    )
    report = report_on(tmp_path, orders, timezone="Asia/Shanghai")
    rfm = rfm_table.compute_rfm(report.source, as_of=AS_OF, lookback_days=None)
    assert rfm.customers.set_index("user_id")["recency"].to_dict() == {1: 2, 2: 1}
    assert rfm.excluded["outside_window"] == 2
    assert queries.default_as_of(report.source) == date(2026, 3, 2)
    utc = report_on(tmp_path, orders, timezone="UTC")
    assert queries.default_as_of(utc.source) == date(2026, 3, 1)


# -- the engine against plain pandas on the sample shop ------------------------------------------
def pandas_rfm(orders, as_of, lookback_days, zone="Asia/Shanghai"):
    """Independent RFM: pandas on the raw Parquet, local dates via tz_convert."""
    o = orders.copy()
    o["day"] = o["ts"].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    status = o["status"].fillna("paid")
    end = pd.Timestamp(as_of)
    start = end - pd.Timedelta(days=lookback_days)
    paid = o[(status == "paid") & o.user_id.notna() & (o.day < end) & (o.day >= start)]
    g = paid.groupby("user_id")
    return pd.DataFrame(
        {
            "orders": g.size(),
            "days": g["day"].nunique(),
            "revenue": g["amount"].sum(),
            "recency": (end - g["day"].max()).dt.days,
        }
    )


def test_engine_agrees_with_pandas_on_the_sample(sample_dir):
    config = load_config(data=str(sample_dir))
    report = Report("segmentation", config, open_source(config), validation=None)
    orders = pd.read_parquet(sample_dir / "orders.parquet")
    as_of = queries.default_as_of(report.source)
    newest = orders[orders.status == "paid"].ts.max().tz_convert("Asia/Shanghai")
    assert as_of == (newest + pd.Timedelta(days=1)).date()
    for lookback, as_of_day in ((365, as_of), (60, as_of - timedelta(days=20))):
        rfm = rfm_table.compute_rfm(
            report.source, as_of=as_of_day, lookback_days=lookback, frequency="days"
        )
        got = rfm.customers.set_index("user_id")
        expected = pandas_rfm(orders, as_of_day, lookback)
        assert got.index.tolist() == expected.index.tolist()
        assert got["orders"].tolist() == expected["orders"].tolist()
        assert got["frequency"].tolist() == expected["days"].tolist()
        assert got["recency"].tolist() == expected["recency"].tolist()
        np.testing.assert_allclose(got["revenue"], expected["revenue"], rtol=1e-12)
        status = orders.status.fillna("paid")
        day = orders.ts.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        inside = (day < pd.Timestamp(as_of_day)) & (
            day >= pd.Timestamp(as_of_day) - pd.Timedelta(days=lookback)
        )
        assert rfm.excluded["refunded"] == int(((status == "refunded") & inside).sum())
        assert rfm.excluded["cancelled"] == int(((status == "cancelled") & inside).sum())
        assert rfm.excluded["outside_window"] == int((~inside).sum())


# -- lifetimes-style summary (CDNOW) --------------------------------------------------------------
@pytest.mark.real_data
def test_lifetimes_summary_matches_the_published_cdnow_summary():
    import ibis

    transactions = dataset("cdnow", "cdnow_sample_transactions.csv")
    published = pd.read_csv(dataset("cdnow", "cdnow_customers_summary.csv"))
    con = ibis.duckdb.connect()
    table = con.read_csv(str(transactions))
    summary = queries.lifetimes_summary(
        table, user="customer_id", day="date", observation_end="1997-09-30"
    )
    merged = published.merge(summary, left_on="ID", right_on="user_id", suffixes=("_pub", ""))
    assert len(merged) == len(published) == 2357
    assert (merged["frequency"] == merged["frequency_pub"]).all()
    # the published file rounds weeks to 2 decimals
    np.testing.assert_allclose(merged["recency"], merged["recency_pub"], atol=0.006)
    np.testing.assert_allclose(merged["T"], merged["T_pub"], atol=0.006)
