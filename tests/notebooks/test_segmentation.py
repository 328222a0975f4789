"""The segmentation report end to end: on the sample shop (with exports) and on Online Retail."""

import json
import math
import re

import pandas as pd
import pytest

from opsbook.run import run_reports
from tests.conftest import ROOT, dataset
from tests.pages import data_values, language_problems, summary_problems, tick_problems

SALT = "never-print-this-salt"
ZONE = "Asia/Shanghai"


def metrics_of(result, name="segmentation"):
    return json.loads((result.folder / f"{name}.metrics.json").read_text())


def paid_by_customer(orders, as_of, lookback_days, zone):
    """Plain pandas: revenue per customer from paid orders in [as_of - lookback, as_of)."""
    day = orders["ts"].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    end = pd.Timestamp(as_of)
    inside = (day < end) & (day >= end - pd.Timedelta(days=lookback_days))
    paid = orders[inside & (orders["status"].fillna("paid") == "paid") & orders.user_id.notna()]
    return paid.groupby("user_id")["amount"].sum(), inside


def top20(revenue):
    values = revenue.sort_values(ascending=False)
    return values.iloc[: math.ceil(0.2 * len(values))].sum() / values.sum()


@pytest.fixture(scope="module")
def string_id_shop(sample_dir, tmp_path_factory):
    """The sample's users and orders with distinctive string ids, to look for them in the HTML."""
    folder = tmp_path_factory.mktemp("shop")
    for name in ("users", "orders"):
        frame = pd.read_parquet(sample_dir / f"{name}.parquet")
        frame["user_id"] = [f"cust-{i:06d}" for i in frame["user_id"]]
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


@pytest.fixture(scope="module")
def en_run(string_id_shop, tmp_path_factory):
    """The English report on the string-id shop, exporting pseudonymised lists, with a config
    that overrides one tier's action."""
    tmp_path = tmp_path_factory.mktemp("en")
    config = tmp_path / "opsbook.yml"
    config.write_text(
        f"data: {{source: {string_id_shop}}}\n"
        f"timezone: {ZONE}\nlang: en\n"
        f"privacy: {{pseudonym_salt: {SALT}}}\n"
        f"run: {{notebooks: {ROOT / 'notebooks'}, out: {tmp_path / 'reports'}}}\n"
        "reports:\n  segmentation:\n    actions: {churned: Ring them within a week}\n"
    )
    return run_reports(
        ["segmentation"],
        config=config,
        parameters={"export_segments": True, "pseudonymise": True},
    )


@pytest.fixture(scope="module")
def zh_run(sample_dir, tmp_path_factory):
    """The Chinese report on the sample with other parameters."""
    return run_reports(
        ["segmentation"],
        data=str(sample_dir),
        out=tmp_path_factory.mktemp("zh"),
        lang="zh",
        parameters={"k": 3, "threshold": "median", "frequency": "days", "lookback_days": 60},
    )


def test_sample_report_with_exports_and_config_actions(en_run, string_id_shop):
    result = en_run
    assert result.ok, result.manifest["reports"]["segmentation"]["error"]
    exports = result.folder  # by default the lists are written beside the report
    m = metrics_of(result)
    for key in ("customers", "as_of", "threshold", "excluded", "segments_8", "tiers_4"):
        assert key in m
    assert set(m["segments_8"]) == {
        "champions",
        "important_to_develop",
        "important_to_keep",
        "important_to_win_back",
        "general_value",
        "general_to_develop",
        "general_to_keep",
        "general_to_win_back",
    }
    assert set(m["tiers_4"]) == {"high_value", "potential", "low_activity", "churned"}

    # independent numbers from the raw files
    orders = pd.read_parquet(string_id_shop / "orders.parquet")
    newest = orders[orders.status == "paid"].ts.max().tz_convert(ZONE)
    as_of = (newest + pd.Timedelta(days=1)).date()
    assert m["as_of"] == as_of.isoformat() and m["as_of_default"] is True
    revenue, inside = paid_by_customer(orders, as_of, 365, ZONE)
    assert m["customers"] == len(revenue)
    assert m["revenue"] == pytest.approx(revenue.sum())
    assert m["top20_revenue_share"] == pytest.approx(top20(revenue))
    assert m["excluded"]["refunded"] == int(((orders.status == "refunded") & inside).sum())
    assert m["excluded"]["cancelled"] == int(((orders.status == "cancelled") & inside).sum())
    assert m["threshold"] == "mean"
    assert sum(v["customers"] for v in m["segments_8"].values()) == m["customers"]
    assert sum(v["customers"] for v in m["tiers_4"].values()) == m["customers"]
    assert sum(v["revenue_share"] for v in m["tiers_4"].values()) == pytest.approx(1.0)
    assert m["compare_to"] == (pd.Timestamp(as_of) - pd.Timedelta(days=30)).date().isoformat()
    assert m["exported_rows"] == m["customers"]

    # the activation lists: beside the report, pseudonymised, complete
    members = pd.read_parquet(exports / f"segmentation_members_{as_of}.parquet")
    listed = pd.read_csv(exports / f"segmentation_members_{as_of}.csv")
    assert len(members) == len(listed) == m["customers"]
    assert not members["user_id"].str.startswith("cust-").any()
    counts = members["tier"].value_counts()
    assert {t: int(counts.get(t, 0)) for t in m["tiers_4"]} == {
        t: v["customers"] for t, v in m["tiers_4"].items()
    }

    page = (result.folder / "segmentation.html").read_text()
    executed = (result.folder / "segmentation.ipynb").read_text()
    assert "Segmentation report" in page and "<script" not in page
    assert "cust-" not in page  # no user ids in the HTML
    assert SALT not in page and SALT not in executed  # the salt is never printed
    assert str(exports) not in page  # where the lists went is not in the HTML
    assert "Ring them within a week" in page  # the config's action
    assert "the day after the newest paid order" in page
    assert "Coupons to wake them up" in page  # the other actions keep their defaults


def test_chinese_report_with_other_parameters(zh_run, sample_dir):
    result = zh_run
    assert result.ok, result.manifest["reports"]["segmentation"]["error"]
    m = metrics_of(result)
    assert (m["k"], m["threshold"], m["frequency"], m["lookback_days"]) == (3, "median", "days", 60)
    assert m["tier_rules"]["high_value_min_m"] == 3
    orders = pd.read_parquet(sample_dir / "orders.parquet")
    revenue, _ = paid_by_customer(orders, m["as_of"], 60, ZONE)
    assert m["customers"] == len(revenue)
    page = (result.folder / "segmentation.html").read_text()
    assert "用户分层报告" in page and "重要价值客户" in page and "中位数" in page
    assert m["exported_rows"] == 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_reads_in_one_language_answer_first_with_distinct_ticks(
    lang, request, string_id_shop, sample_dir
):
    result = request.getfixturevalue(f"{lang}_run")
    assert result.ok
    page = (result.folder / "segmentation.html").read_text()
    values = data_values(string_id_shop if lang == "en" else sample_dir)
    assert summary_problems(page) == []
    assert tick_problems(result.folder / "segmentation.ipynb") == []
    assert language_problems(page, lang, values) == []
    # the summary comes first and the old verdict section is gone: no second copy at the end
    assert page.count('class="ob-summary') == 1
    # no section of its own for the verdict any more (the intro may say the summary gives it)
    assert re.search(r"<h2[^>]*>[^<]*(Verdict|结论)", page) is None


@pytest.mark.real_data
def test_online_retail_line_items_become_orders(tmp_path):
    path = dataset("online_retail", "online_retail.csv.gz")
    config = ROOT / "data" / "mappings" / "online_retail.yml"
    result = run_reports(["segmentation"], config=config, out=tmp_path, lang="en")
    assert result.ok, result.manifest["reports"]["segmentation"]["error"]
    m = metrics_of(result)

    # plain pandas on the raw line items: invoices of known customers, cancellations by "C"
    raw = pd.read_csv(path, dtype={"InvoiceNo": str}, parse_dates=["InvoiceDate"])
    known = raw[raw.CustomerID.notna()].assign(value=lambda d: d.Quantity * d.UnitPrice)
    invoices = known.groupby("InvoiceNo").agg(
        user_id=("CustomerID", "max"), ts=("InvoiceDate", "min"), amount=("value", "sum")
    )
    cancelled = invoices.index.str.startswith("C")
    assert m["as_of"] == "2011-12-10"  # newest invoice 2011-12-09, shop's wall clock (UTC)
    day = invoices.ts.dt.normalize()
    inside = day >= pd.Timestamp("2011-12-10") - pd.Timedelta(days=365)
    paid = invoices[~cancelled & inside]
    assert m["customers"] == paid.user_id.nunique()
    assert m["excluded"]["cancelled"] == int((cancelled & inside).sum())
    assert m["excluded"]["outside_window"] == int((~inside).sum())
    assert m["revenue"] == pytest.approx(paid.amount.sum())
    assert m["top20_revenue_share"] == pytest.approx(top20(paid.groupby("user_id").amount.sum()))
    page = (result.folder / "segmentation.html").read_text()
    # line items without a CustomerID are counted and shown, not dropped silently
    assert "no CustomerID" in page
    assert f"{int(raw.CustomerID.isna().sum()):,}" in page
