"""The A/B test report end to end: on the sample shop, on a hand-made per-user export, on Cookie
Cats and on the landing-page test (the real exports are skipped when absent)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as sps

from opsbook.experiments import RESULT_KEYS
from opsbook.run import run_reports
from tests.conftest import ROOT, dataset
from tests.pages import (
    data_values,
    language_problems,
    page_text,
    summary_problems,
    tick_problems,
)

TOP_KEYS = {"experiment", "control", "variants", "srm_p", "valid", "decision", "results"}
TOP_KEYS |= {"metrics", "alpha", "planned_split", "method", "cuped"}


def run(tmp_path, **kwargs):
    metrics, page, _ = outputs(run_reports(["ab_test"], out=tmp_path, **kwargs))
    return metrics, page


def outputs(result):
    """The report's metrics, page and run folder (the executed notebook is there), once it ran
    and they have the report's shape."""
    entry = result.manifest["reports"]["ab_test"]
    assert entry["status"] == "ok", entry["error"]
    metrics = json.loads((result.folder / "ab_test.metrics.json").read_text())
    page = (result.folder / "ab_test.html").read_text()
    assert set(metrics) >= TOP_KEYS
    assert metrics["decision"] in {"ship", "dont_ship", "inconclusive", "invalid"}
    assert all(set(r) == set(RESULT_KEYS) for r in metrics["results"])
    assert "<script" not in page
    return metrics, page, result.folder


@pytest.fixture(scope="module")
def sample_runs(sample_dir, sample_run, tmp_path_factory):
    """The report on the sample shop per language: English from the session's run of every
    report (conftest.py), Chinese run once for the module's tests."""
    runs = {"en": outputs(sample_run)}

    def get(lang: str):
        if lang not in runs:
            folder = tmp_path_factory.mktemp(f"ab_{lang}")
            runs[lang] = outputs(
                run_reports(["ab_test"], out=folder, data=str(sample_dir), lang=lang)
            )
        return runs[lang]

    return get


def text_of(page: str) -> str:
    """The page without its inlined images (base64 could hold any digits)."""
    return re.sub(r'src="data:image/[^"]+"', "", page)


def welch_p(a, b) -> float:
    # scipy.stats.ttest_ind(b, a, equal_var=False)
    return float(sps.ttest_ind(b, a, equal_var=False).pvalue)


@pytest.mark.slow
def test_sample_shop(sample_dir, sample_runs):
    metrics, page, _ = sample_runs("en")  # every report on the sample, in English (conftest.py)
    assignments = pd.read_parquet(sample_dir / "assignments.parquet")
    # the default experiment is the one of the source's first row
    name = assignments.experiment.iloc[0]
    assert metrics["experiment"] == name == "checkout_button"
    users = assignments[assignments.experiment == name]
    assert metrics["variants"] == users.variant.value_counts().to_dict()
    assert metrics["control"] == "control" and metrics["method"] == "welch"
    assert metrics["metrics"] == [
        "conversion",
        "orders_per_user",
        "revenue_per_user",
        "revenue_per_order",
    ]
    # conversion within 14 days of the first exposure, by pandas
    orders = pd.read_parquet(sample_dir / "orders.parquet")
    orders = orders[orders.status == "paid"]
    joined = users.merge(orders, on="user_id", suffixes=("", "_o"))
    hit = joined[(joined.ts_o >= joined.ts) & (joined.ts_o < joined.ts + pd.Timedelta(days=14))]
    converted = users.user_id.isin(hit.user_id)
    rate = converted.groupby(users.variant).mean()
    conversion = next(r for r in metrics["results"] if r["metric"] == "conversion")
    assert conversion["control_mean"] == pytest.approx(rate["control"])
    assert conversion["variant_mean"] == pytest.approx(rate["treatment"])
    counts = list(metrics["variants"].values())
    assert metrics["srm_p"] == pytest.approx(sps.chisquare(counts).pvalue)
    assert metrics["valid"] is True
    assert "Sample ratio mismatch" in page or "sample ratio mismatch" in page
    assert "Exploratory" in page  # the segment breakdowns are labelled
    for convention in ("Welch", "two-sided", "delta method", "Holm", "flat"):
        assert convention in page
    assert "user_id" not in text_of(page)
    assert len(metrics["headline"]) == 5


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sample_page_reads_in_one_language_decision_first(sample_dir, sample_runs, lang):
    metrics, page, folder = sample_runs(lang)
    assert language_problems(page, lang, data_values(sample_dir)) == []
    assert summary_problems(page) == []
    assert tick_problems(folder / "ab_test.ipynb") == []
    # the decision opens the page (its sentence, once), the sections follow
    summary = page.index('class="ob-summary')
    decision = metrics["headline"][0]["value"]
    assert page.index(decision, summary) < page.index("<h2", summary)
    assert page.count(f"{decision} — ") == 1
    # the metrics and the segments by their display names
    names = {
        "en": ("Conversion", "Revenue per user", "Channel"),
        "zh": ("转化率", "人均收入", "获客渠道"),
    }
    assert all(name in page for name in names[lang])
    assert "Fieller" in page and ("delta 方法" not in page)


@pytest.mark.slow
def test_hand_made_export_in_chinese(tmp_path):
    """Three variants, string ids, a misaligned and a duplicated row, a guardrail, sequential."""
    rng = np.random.default_rng(3)
    n = 1800
    variant = np.array(["A", "B", "C"])[np.arange(n) % 3]
    frame = pd.DataFrame(
        {
            "user_id": [f"uid-{i:05d}-x" for i in range(n)],
            "variant": variant,
            "page": np.where(variant == "A", "old", "new"),
            "ts": pd.Timestamp("2026-05-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 14 * 24 * 3600, n), unit="s"),
            "converted": rng.random(n) < np.where(variant == "C", 0.16, 0.10),
            "revenue": rng.gamma(2.0, 20.0, n),
            "refunds": rng.poisson(0.2, n).astype(float),
        }
    )
    frame["pre_revenue"] = frame.revenue * 0.5 + rng.gamma(2.0, 5.0, n)
    extra = frame.iloc[[0, 1]].assign(page=["new", "new"])  # user 0 (A) saw the new page
    frame = pd.concat([frame, extra.iloc[[0]], frame.iloc[[5]]], ignore_index=True)
    data = tmp_path / "data"
    data.mkdir()
    frame.to_parquet(data / "experiment_results.parquet")
    definitions = [
        {"name": "converted", "kind": "proportion", "numerator": "converted"},
        {"name": "revenue", "kind": "mean", "numerator": "revenue"},
        {"name": "refunds", "kind": "mean", "numerator": "refunds",
         "direction": "lower_is_better", "guardrail": True},
    ]  # fmt: skip
    metrics, page = run(
        tmp_path / "out",
        data=str(data),
        lang="zh",
        parameters={
            "experiment": "checkout_v2",
            "metric_definitions": definitions,
            "method": "sequential",
            "tuning_n": 600,
            "correction": "bh",
            "planned_split": [1, 1, 1],
            "exposure_check": "(variant == 'A') == (page == 'old')",
            "segments": ["page"],
        },
    )
    assert metrics["experiment"] == "checkout_v2" and metrics["control"] == "A"
    assert metrics["method"] == "sequential" and metrics["correction"] == "bh"
    assert metrics["hygiene"]["misaligned"] == {"users": 1, "rows": 2}
    assert metrics["hygiene"]["duplicate_rows"] == {"users": 1, "rows": 1}
    assert metrics["variants"] == {"A": 599, "B": 600, "C": 600}
    assert [(r["metric"], r["variant"]) for r in metrics["results"]] == [
        (m, v) for m in ("converted", "revenue", "refunds") for v in ("B", "C")
    ]
    assert metrics["guardrails"] == ["refunds"]
    assert "A/B 测试评估报告" in page and "探索性" in page and "样本比例" in page
    shown = text_of(page)
    assert not any(uid in shown for uid in frame.user_id.head(200))


@pytest.mark.real_data
@pytest.mark.slow
def test_cookie_cats(tmp_path):
    raw = pd.read_csv(dataset("cookie_cats", "cookie_cats.csv"))
    config = ROOT / "data" / "mappings" / "cookie_cats.yml"
    metrics, page = run(tmp_path, config=config, lang="en")
    counts = raw.version.value_counts()
    assert metrics["variants"] == {"gate_30": 44700, "gate_40": 45489} == counts.to_dict()
    assert metrics["control"] == "gate_30"
    # the split is NOT quite 50/50: chi-square p ~ 0.009, a warning below 0.01
    assert metrics["srm_p"] == pytest.approx(sps.chisquare(counts.to_numpy()).pvalue)
    assert 0.001 < metrics["srm_p"] < 0.01
    assert metrics["srm_status"] == "warn" and metrics["valid"] is True
    by = {r["metric"]: r for r in metrics["results"]}
    gate30, gate40 = (raw[raw.version == v] for v in ("gate_30", "gate_40"))
    r7 = by["retention_7"]
    assert r7["control_mean"] == pytest.approx(gate30.retention_7.mean())
    assert r7["variant_mean"] == pytest.approx(gate40.retention_7.mean())
    p = welch_p(gate30.retention_7.astype(float), gate40.retention_7.astype(float))
    assert r7["p_value"] == pytest.approx(p, rel=1e-6)
    # game rounds capped at the 99th percentile of all players, in the engine
    cap = np.quantile(raw.sum_gamerounds, 0.99)
    assert by["sum_gamerounds"]["control_mean"] == pytest.approx(
        gate30.sum_gamerounds.clip(upper=cap).mean()
    )
    # gate_40 loses 7-day retention: 19.0 % -> 18.2 %, p ~ 0.002
    assert metrics["decision"] == "dont_ship" and metrics["decision_variant"] == "gate_40"
    assert "Suspicious sample ratio" in page


@pytest.mark.real_data
@pytest.mark.slow
def test_cookie_cats_in_chinese_with_the_configs_metric_names(tmp_path):
    """A per-user export's metrics are its column names; the config names them per language
    (``display_names: metric:``) and the zh page shows those names, never the columns."""
    folder = dataset("cookie_cats")
    mapping = yaml.safe_load((ROOT / "data" / "mappings" / "cookie_cats.yml").read_text())
    mapping["data"]["source"] = str(folder)
    mapping["run"] = {"notebooks": str(ROOT / "notebooks"), "out": str(tmp_path / "reports")}
    names = {
        "retention_7": {"zh": "7日留存", "en": "7-day retention"},
        "retention_1": {"zh": "次日留存", "en": "1-day retention"},
        "sum_gamerounds": {"zh": "游戏局数", "en": "Game rounds"},
    }
    mapping["display_names"] = {"metric": names}
    config = tmp_path / "cookie_cats.yml"
    config.write_text(yaml.safe_dump(mapping, allow_unicode=True))
    metrics, page, folder_run = outputs(
        run_reports(["ab_test"], config=config, out=tmp_path / "out", lang="zh")
    )
    assert metrics["primary_metric"] == "retention_7"  # metrics.json keeps the data's names
    shown = page_text(page)
    for column, name in names.items():
        assert name["zh"] in shown
        assert column not in shown
    verdict = re.search(r'<p class="ob-verdict">(.*?)</p>', page).group(1)
    assert "7日留存" in verdict
    assert language_problems(page, "zh", {"gate_30", "gate_40", "cookie_cats_gate"}) == []
    assert "实验结果表表" not in shown  # the table's display name already ends in 表
    assert summary_problems(page) == []
    assert tick_problems(folder_run / "ab_test.ipynb") == []


@pytest.mark.real_data
@pytest.mark.slow
def test_landing_page_test(tmp_path):
    raw = pd.read_csv(dataset("ab_data", "ab_data.csv.gz"))
    config = ROOT / "data" / "mappings" / "ab_data.yml"
    metrics, page = run(tmp_path, config=config, lang="en")
    # the hygiene rules, by pandas
    misaligned_row = (raw.group == "treatment") != (raw.landing_page == "new_page")
    groups = raw.groupby("user_id").group.nunique()
    several = set(groups[groups > 1].index)
    bad = set(raw[misaligned_row].user_id) - several
    hygiene = metrics["hygiene"]
    assert hygiene["several_variants"]["users"] == len(several) == 1895
    assert hygiene["misaligned"]["users"] == len(bad) == 1998
    assert hygiene["misaligned"]["rows"] == raw.user_id.isin(bad).sum()
    clean = raw[~raw.user_id.isin(several | bad)]
    assert hygiene["duplicate_rows"]["rows"] == clean.user_id.duplicated().sum() == 1
    first = clean.sort_values("timestamp").drop_duplicates("user_id")
    assert metrics["variants"] == first.group.value_counts().to_dict()
    row = metrics["results"][0]
    control, treatment = (first[first.group == g].converted for g in ("control", "treatment"))
    assert row["control_mean"] == pytest.approx(control.mean())
    assert row["variant_mean"] == pytest.approx(treatment.mean())
    assert row["p_value"] == pytest.approx(welch_p(control, treatment), rel=1e-6)
    assert metrics["decision"] == "inconclusive" and metrics["srm_status"] == "ok"
    assert "Misaligned exposure" in page
