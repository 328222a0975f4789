"""The data-quality report end to end: on the sample shop, on planted problems, on Online Retail."""

import json

import pandas as pd
import pytest

from opsbook.run import run_reports
from tests.conftest import ROOT, dataset
from tests.pages import data_values, language_problems, summary_problems, tick_problems


def metrics_of(result, name="data_quality"):
    return json.loads((result.folder / f"{name}.metrics.json").read_text())


@pytest.fixture(scope="module")
def sample_runs(sample_run, sample_run_zh):
    """The report on the sample shop in each language, from the session's runs of every report
    (tests/conftest.py)."""
    runs = {"en": sample_run, "zh": sample_run_zh}
    for result in runs.values():
        entry = result.manifest["reports"]["data_quality"]
        assert entry["status"] == "ok", entry["error"]
    return runs


def test_sample_shop_passes_accuracy_and_its_outage_day_is_the_verdict(sample_dir, sample_runs):
    result = sample_runs["en"]
    m = metrics_of(result)
    assert m["passed"] is True
    truth = json.loads((sample_dir / "truth.json").read_text())
    for name in ("users", "events", "orders"):
        rows = pd.read_parquet(sample_dir / f"{name}.parquet").shape[0]
        assert m["tables"][name]["rows"] == rows
        assert m["tables"][name]["accuracy"] == 1.0
        assert m["tables"][name]["duplicate_keys"] == 0
    outage = truth["anomalies"]["outage_day"]
    assert {"table": "orders", "date": outage, "flag": "gap"} in [
        {k: a[k] for k in ("table", "date", "flag")} for a in m["anomalies"]
    ]
    # every row passes the contract, but the outage day makes the data unfit as they are
    # (this test used to accept the verdict "the data can be trusted" over the outage)
    assert m["usable"] is False
    assert m["problems"][0] == {
        "kind": "outage",
        "tables": ["events", "orders"],
        "start": outage,
        "end": outage,
        "days": 1,
    }
    assert m["outages"] == [
        {"tables": ["events", "orders"], "start": outage, "end": outage, "days": [outage]}
    ]
    assert {"newest", "age_days", "behind_days"} <= set(m["tables"]["orders"])
    page = (result.folder / "data_quality.html").read_text()
    assert "Data quality report" in page and "<script" not in page
    assert f"Outage: events, orders had no or collapsed rows on {outage}" in page
    assert "Verdict: the data can be trusted" not in page
    assert "Verdict: do not use the data as they are" in page
    # the verdict is the summary, above the first section, and is not repeated at the end
    summary = page[page.find('class="ob-summary') : page.find("</section>")]
    assert "Verdict: do not use the data as they are: 2 problems" in summary
    assert f"Outage: events, orders had no or collapsed rows on {outage}" in summary
    assert page.count("Verdict:") == 1


def test_brushing_section_counts_every_rule_and_lists_no_order(sample_runs, sample_dir):
    """Section 6 on the sample: a count per rule (the rules themselves are tested against
    brute force and pandas in tests/unit/brushing, their precision and recall on the planted
    rings in tests/unit/brushing/test_rings.py), the rings and refund abusers the sample plants
    among them, the summary's card, no order id on the page (tests/unit/bad_input plants
    traceable ids in every report), and no list written unless asked."""
    from opsbook.brushing import RULES

    metrics = metrics_of(sample_runs["en"])
    flagged = metrics["brushing"]
    assert set(flagged["rules"]) == set(RULES)
    per_rule = [r.get("orders", 0) for r in flagged["rules"].values()]
    assert max(per_rule) <= flagged["flagged_orders"] <= sum(per_rule)  # an order counts once
    planted = json.loads((sample_dir / "truth.json").read_text())["brushing"]
    assert flagged["rules"]["burst"]["orders"] >= len(planted["ring_orders"]) > 0
    refunds = flagged["rules"]["refund_outlier"]
    assert (refunds["users"], refunds["orders"]) == (
        len(planted["abuser_users"]),
        len(planted["abuser_orders"]),
    )
    assert "Flagged orders" in {h["label"] for h in metrics["headline"]}
    page = (sample_runs["en"].folder / "data_quality.html").read_text()
    assert "Order brushing and abnormal behaviour" in page
    assert "-p export_flags=true" in page
    assert not list(sample_runs["en"].folder.glob("brushing_flags*"))


def test_only_columns_with_nulls_are_listed(sample_runs, sample_dir):
    """The null-rate table lists the columns that have nulls (counted here with pandas), not a
    grid of every column by every table that is mostly dashes."""
    tables = {p.stem: pd.read_parquet(p) for p in sample_dir.glob("*.parquet")}
    nulls = {(t, c) for t, f in tables.items() for c in f.columns if f[c].isna().any()}
    total = sum(len(f.columns) for f in tables.values())
    page = (sample_runs["en"].folder / "data_quality.html").read_text()
    assert f"{len(nulls)} of {total} columns have nulls" in page
    listed = page[page.find("columns have nulls") : page.find("3. Findings")]
    assert listed.count("<tr>") == len(nulls) + 1  # the header row and one row per column


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_checks(sample_runs, sample_dir, lang):
    """One language (the run header included), the summary first, distinct ticks."""
    folder = sample_runs[lang].folder
    page = (folder / "data_quality.html").read_text()
    assert language_problems(page, lang, data_values(sample_dir)) == []
    assert summary_problems(page) == []
    assert tick_problems(folder / "data_quality.ipynb") == []


def test_planted_problems_are_counted_and_escaped(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    ts = pd.date_range("2026-01-01", periods=400, freq="6h", tz="UTC")
    users = pd.DataFrame({"user_id": range(100), "signup_ts": ts[:100]})
    orders = pd.DataFrame(
        {
            "order_id": list(range(399)) + [0],  # one duplicate key
            "user_id": [i % 100 for i in range(398)] + [555, 556],  # two orphans
            "ts": ts,
            "amount": [10.0] * 397 + [-1.0, 5.0, 5.0],  # one negative
            "status": ["paid"] * 396 + ["<script>alert(1)</script>", "paid", "paid", "paid"],
        }
    )
    users.to_parquet(data / "users.parquet")
    orders.to_parquet(data / "orders.parquet")
    result = run_reports(["data_quality"], data=str(data), out=tmp_path / "out", lang="zh")
    assert result.ok
    m = metrics_of(result)
    orders_m = m["tables"]["orders"]
    assert (orders_m["duplicate_keys"], orders_m["orphans"], orders_m["out_of_range"]) == (1, 2, 2)
    # rows failing any rule: duplicate copy (row 399), orphans (398, 399), negative (397), status (396)
    assert orders_m["accuracy"] == pytest.approx(396 / 400)
    assert m["passed"] is True and m["findings"] == 4
    page = (result.folder / "data_quality.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_missing_required_column_is_shown_as_a_failure_not_a_crash(tmp_path):
    # the other reports stop on a missing column; data quality shows it (accuracy 0, verdict)
    data = tmp_path / "data"
    data.mkdir()
    ts = pd.date_range("2026-01-01", periods=40, freq="1D", tz="UTC")
    pd.DataFrame({"user_id": range(40), "signup_ts": ts}).to_parquet(data / "users.parquet")
    orders = pd.DataFrame({"order_id": range(40), "user_id": range(40), "ts": ts})  # no amount
    orders.to_parquet(data / "orders.parquet")
    result = run_reports(["data_quality"], data=str(data), out=tmp_path / "out", lang="en")
    assert result.ok, result.manifest["reports"]["data_quality"]["error"]
    m = metrics_of(result)
    assert m["tables"]["orders"]["accuracy"] == 0.0
    assert m["tables"]["orders"]["missing_columns"] == ["amount"]
    assert m["usable"] is False
    assert m["problems"][0] == {"kind": "missing_column", "table": "orders", "column": "amount"}
    page = (result.folder / "data_quality.html").read_text()
    assert "Verdict: do not use the data as they are" in page


def test_strict_threshold_fails_the_check(tmp_path, sample_dir):
    result = run_reports(
        ["data_quality"], data=str(sample_dir), out=tmp_path, parameters={"accuracy_threshold": 1.0}
    )
    assert metrics_of(result)["accuracy_threshold"] == 1.0


@pytest.mark.real_data
def test_online_retail_through_a_column_mapping(tmp_path):
    dataset("online_retail", "online_retail.csv.gz")
    config = ROOT / "data" / "mappings" / "online_retail.yml"
    result = run_reports(["data_quality"], config=config, out=tmp_path, lang="en")
    assert result.ok, result.manifest["reports"]["data_quality"]["error"]
    m = metrics_of(result)
    # 25,900 invoices of which 3,836 lack a CustomerID? counted independently with pandas below
    raw = pd.read_csv(dataset("online_retail", "online_retail.csv.gz"), dtype={"InvoiceNo": str})
    with_customer = raw[raw.CustomerID.notna()]
    assert m["tables"]["orders"]["rows"] == with_customer.InvoiceNo.nunique()
    assert m["tables"]["users"]["rows"] == with_customer.CustomerID.nunique()
    manifest = result.manifest["data"]["tables"]
    assert (
        manifest["orders"]["first"] == "2010-12-01" and manifest["orders"]["last"] == "2011-12-09"
    )
    page = (result.folder / "data_quality.html").read_text()
    assert "no CustomerID" in page or "CustomerID" in page  # the mapping's exclusion is shown
    # the shop never trades on Saturdays: the pattern, not 53 anomalies per table
    assert m["closed_weekdays"] == {"orders": [5], "users": [5]}
    saturdays = [a for a in m["anomalies"] if pd.Timestamp(a["date"]).dayofweek == 5]
    assert saturdays == []
    # the Christmas closure is one outage; the others are the UK bank holidays of 2011
    christmas = m["outages"][0]
    assert (christmas["start"], christmas["end"], len(christmas["days"])) == (
        "2010-12-24",
        "2011-01-03",
        9,
    )
    assert [o["start"] for o in m["outages"][1:]] == [
        "2011-04-22",
        "2011-04-29",
        "2011-05-02",
        "2011-05-30",
        "2011-08-29",
    ]
    assert len(m["anomalies"]) < 45 and m["usable"] is False
