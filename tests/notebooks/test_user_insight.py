"""The user-insight report end to end on the sample shop: one run per language (English with
pseudonymised activation lists, Chinese with plain lists of ids a spreadsheet would read as
formulas), the metrics of issue 20's item 8, the page checks, no user id in any file the run
writes but the lists, and the bad input: no orders, too little history."""

import json
from pathlib import Path

import pandas as pd
import pytest

from opsbook.cli import main
from opsbook.exports import FORMULA_TRIGGERS
from opsbook.run import run_reports
from tests.conftest import ROOT
from tests.pages import data_values, language_problems, summary_problems, tick_problems

SALT = "never-print-this-salt"
NAME = "user_insight"


def shop_with_ids(sample_dir: Path, folder: Path, prefix: str) -> Path:
    """The sample's users, events and orders with distinctive string ids (``<prefix>000123``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in ("users", "events", "orders"):
        frame = pd.read_parquet(sample_dir / f"{table}.parquet")
        frame["user_id"] = [f"{prefix}{i:06d}" for i in frame["user_id"]]
        frame.to_parquet(folder / f"{table}.parquet")
    return folder


def config_of(folder: Path, data: Path, lang: str) -> Path:
    config = folder / "opsbook.yml"
    config.write_text(
        f"data: {{source: {data}}}\ntimezone: Asia/Shanghai\nlang: {lang}\ncurrency: ¥\n"
        f"privacy: {{pseudonym_salt: {SALT}}}\n"
        f"run: {{notebooks: {ROOT / 'notebooks'}, out: {folder / 'reports'}}}\n"
    )
    return config


@pytest.fixture(scope="module")
def en_run(sample_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("en")
    data = shop_with_ids(sample_dir, folder / "shop", "cust-")
    result = run_reports(
        [NAME],
        config=config_of(folder, data, "en"),
        parameters={"export": True, "pseudonymise": True},
    )
    return result, data


@pytest.fixture(scope="module")
def zh_run(sample_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("zh")
    data = shop_with_ids(sample_dir, folder / "shop", "+cust-")  # a formula to a spreadsheet
    result = run_reports(
        [NAME],
        config=config_of(folder, data, "zh"),
        parameters={"export": True, "horizon_days": 14},
    )
    return result, data


def metrics_of(result):
    return json.loads((result.folder / f"{NAME}.metrics.json").read_text())


def lists_of(result):
    return sorted(result.folder.glob("user_insight_contacts_*.csv"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_metrics_of_item_8(lang, request):
    result, _ = request.getfixturevalue(f"{lang}_run")
    assert result.ok, result.manifest["reports"][NAME]["error"]
    m = metrics_of(result)
    for key in (
        "users",
        "as_of",
        "horizon_days",
        "stages",
        "churn_model",
        "at_risk_users",
        "revenue_at_risk",
        "bgnbd",
        "gamma_gamma",
        "predicted_clv_total",
    ):
        assert key in m, key
    assert m["horizon_days"] == (30 if lang == "en" else 14)
    assert m["users"] == sum(s["users"] for s in m["stages"].values())
    assert sum(s["share"] for s in m["stages"].values()) == pytest.approx(1.0)
    model = m["churn_model"]
    assert model["kind"] in ("logistic", "gradient_boosting")
    for key in ("auc", "pr_auc", "brier", "precision_top10", "lift_top10_vs_recency"):
        assert isinstance(model[key], float), key
    assert 0.5 < model["auc"] <= 1
    assert set(m["bgnbd"]) == {"r", "alpha", "a", "b"} and set(m["gamma_gamma"]) == {"p", "q", "v"}
    assert m["predicted_clv_total"] > m["revenue_at_risk"] > 0
    assert (
        0
        < m["at_risk_users"]
        == m["risk_value"].get("high/high", 0)
        + sum(
            n
            for cell, n in m["risk_value"].items()
            if cell.startswith("high/") and cell != "high/high"
        )
    )
    assert m["exported_rows"] == m["scored_users"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_checks(lang, request, sample_dir):
    result, data = request.getfixturevalue(f"{lang}_run")
    page = (result.folder / f"{NAME}.html").read_text(encoding="utf-8")
    values = data_values(sample_dir) | data_values(data)
    assert language_problems(page, lang, values) == []
    assert summary_problems(page) == []
    assert tick_problems(result.folder / f"{NAME}.ipynb") == []
    title = "User insight report" if lang == "en" else "用户洞察报告"
    assert title in page and "<script" not in page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_user_id_in_any_file_but_the_lists(lang, request):
    result, _ = request.getfixturevalue(f"{lang}_run")
    lists = {p for p in result.folder.glob("user_insight_contacts_*")}
    for path in result.folder.rglob("*"):
        if path.is_file() and path not in lists and path.suffix != ".parquet":
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "cust-" not in text, path.name
            assert SALT not in text, path.name
    assert lists  # written beside the report


def test_pseudonymised_lists_per_cell(en_run):
    result, _ = en_run
    m = metrics_of(result)
    rows = 0
    for csv in lists_of(result):
        frame = pd.read_csv(csv)
        parquet = pd.read_parquet(csv.with_suffix(".parquet"))
        assert len(frame) == len(parquet) > 0
        assert not parquet["user_id"].str.contains("cust-").any()
        risk, worth = csv.stem.split("_")[-4], csv.stem.split("_")[-2]
        assert set(parquet["risk_tier"]) == {risk} and set(parquet["value_tier"]) == {worth}
        assert m["risk_value"][f"{risk}/{worth}"] == len(parquet)
        assert parquet["risk"].is_monotonic_decreasing
        rows += len(parquet)
    assert rows == m["scored_users"]


def test_plain_lists_are_spreadsheet_safe(zh_run):
    result, _ = zh_run
    for csv in lists_of(result):
        text = pd.read_csv(csv, dtype=str, keep_default_na=False)
        parquet = pd.read_parquet(csv.with_suffix(".parquet"))
        assert parquet["user_id"].str.startswith("+cust-").all()  # the values as they are
        assert text["user_id"].str.startswith("'+cust-").all()  # read as text, not a formula
        for column in text.columns:
            assert not text[column].str.startswith(FORMULA_TRIGGERS).any(), column


# -- bad input ------------------------------------------------------------------------------------
def test_without_orders_the_value_sections_say_so(sample_dir, tmp_path):
    data = tmp_path / "shop"
    data.mkdir()
    for table in ("users", "events"):
        (data / f"{table}.parquet").symlink_to(sample_dir / f"{table}.parquet")
    result = run_reports([NAME], data=str(data), out=tmp_path / "out", lang="en")
    assert result.ok, result.manifest["reports"][NAME]["error"]
    m = metrics_of(result)
    assert m["bgnbd"] is None and m["predicted_clv_total"] is None
    assert m["revenue_at_risk"] is None and m["churn_model"]["auc"] is not None
    page = (result.folder / f"{NAME}.html").read_text(encoding="utf-8")
    assert "The data hold no valid paid orders" in page
    assert "no orders: no predicted value" in page
    assert summary_problems(page) == []


def test_too_little_history_is_a_clear_message(sample_dir, tmp_path, capsys):
    data = tmp_path / "shop"
    data.mkdir()
    for table in ("users", "events", "orders"):
        frame = pd.read_parquet(sample_dir / f"{table}.parquet")
        column = "signup_ts" if table == "users" else "ts"
        frame[frame[column] >= frame[column].max() - pd.Timedelta(days=60)].to_parquet(
            data / f"{table}.parquet"
        )
    code = main(["run", NAME, "--data", str(data), "--out", str(tmp_path / "out"), "--lang", "en"])
    out = capsys.readouterr()
    assert code == 1
    said = out.out + out.err
    assert "needs 150 days of history" in said and "Traceback" not in said
