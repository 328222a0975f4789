"""What the user-insight page shows, on hand-made results with known numbers: the summary's
sentence and cards, small cells suppressed in the matrices, the no-model and no-orders pages,
display names in both languages, and the widget (off in batch runs)."""

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.exports import Export
from opsbook.insight.analysis.churn import ChurnModel, Evaluation
from opsbook.insight.analysis.contact import ContactMatrix
from opsbook.insight.analysis.lifecycle import Lifecycle, stage_table, transition_matrix
from opsbook.insight.analysis.settings import (
    ChurnSettings,
    LifecycleRules,
    ValueSettings,
    stage_actions,
)
from opsbook.insight.analysis.user_insight import UserInsight
from opsbook.insight.analysis.value import PredictedValue
from opsbook.insight.view import churn, contact, explore, lifecycle, names, summary, value
from opsbook.report import Report
from opsbook.stats.clv import BgNbdFit, GammaGammaFit

AS_OF = date(2026, 7, 1)
CUTOFFS = {"train": date(2026, 5, 2), "evaluate": date(2026, 6, 1), "score": AS_OF}


def report_of(folder: Path, lang: str = "en") -> Report:
    folder.mkdir(parents=True, exist_ok=True)
    users = pd.DataFrame(
        {"user_id": [1], "signup_ts": pd.to_datetime(["2026-01-01"]).tz_localize("UTC")}
    )
    users.to_parquet(folder / "users.parquet")
    config = load_config(data=str(folder), lang=lang)
    return Report("user_insight", config, open_source(config), validation=None)


def stages_of() -> Lifecycle:
    rules = LifecycleRules()
    counts = pd.DataFrame(
        {"stage": ["new", "churned", "silent", "active"], "users": [100, 400, 300, 200]}
    )
    pairs = pd.DataFrame(
        [("active", "silent", 150), ("active", "active", 50), ("none", "new", 100)]
        + [("churned", "churned", 400), ("silent", "churned", 3)],
        columns=["before", "after", "users"],
    )
    actions = stage_actions({"silent": {"zh": "短信唤醒", "en": "Text them"}})
    return Lifecycle(
        as_of=AS_OF,
        compare_to=date(2026, 6, 1),
        rules=rules,
        stages=stage_table(counts, rules, actions),
        transitions=transition_matrix(pairs),
        high_value_available=True,
        actions=actions,
    )


def model_of(available: bool = True) -> ChurnModel:
    evaluation = Evaluation(
        users=1000,
        churned=400,
        auc=0.81,
        auc_interval=(0.78, 0.84),
        pr_auc=0.7,
        pr_auc_interval=(0.66, 0.74),
        brier=0.15,
        top=pd.DataFrame(
            {
                "share": [0.05, 0.10, 0.20],
                "precision": [0.7, 0.62, 0.55],
                "recall": [0.09, 0.155, 0.275],
                "recency_precision": [0.25, 0.2, 0.2],
                "recency_recall": [0.03, 0.05, 0.1],
                "lift_vs_recency": [2.8, 3.1, 2.75],
            }
        ),
        calibration=pd.DataFrame(
            {"predicted": [0.1, 0.4, 0.8], "observed": [0.12, 0.38, 0.75], "users": [400] * 3}
        ),
    )
    return ChurnModel(
        settings=ChurnSettings(),
        as_of=AS_OF,
        cutoffs=CUTOFFS,
        event_types=("view",),
        populations={
            "train": {"users": 1100, "churned": 450},
            "evaluate": {"users": 1000, "churned": 400},
        },
        samples={"train": 1100, "evaluate": 1000},
        candidates=pd.DataFrame(
            {"kind": ["logistic", "gradient_boosting"], "auc": [0.81, 0.8], "pr_auc": [0.7, 0.69]}
        ),
        kind="logistic" if available else None,
        reason=None if available else "single_class_training",
        evaluation=evaluation if available else None,
    )


def value_of(orders: bool = True) -> PredictedValue:
    s = ValueSettings()
    if not orders:
        empty = pd.DataFrame(columns=["frequency", "recency", "T", "monetary", "customers", "clv"])
        return PredictedValue(s, AS_OF, empty, {}, None, None, None, None, None, "no_orders")
    summary_rows = pd.DataFrame(
        {
            "frequency": [0, 2],
            "recency": [0, 40],
            "T": [50, 90],
            "monetary": [0, 50],
            "customers": [300, 200],
            "clv": [100.0, 600.0],
        }
    )
    common = {"log_likelihood": -1.0, "rows": 2, "penalizer": 0.0, "converged": True}
    bgnbd = BgNbdFit(
        r=0.25, alpha=4.0, a=0.8, b=2.4, r_se=0.01, alpha_se=0.2, a_se=0.1, b_se=0.3,
        customers=500.0, reason=None, **common,
    )  # fmt: skip
    spend = GammaGammaFit(
        p=6.25, q=3.74, v=15.44, p_se=0.5, q_se=0.3, v_se=2.0, customers=200.0, excluded=0.0,
        frequency_spend_correlation=0.1, reason=None, **common,
    )  # fmt: skip
    holdout = pd.DataFrame(
        {
            "frequency": [0, 1, 2],
            "label": ["0", "1", "2+"],
            "customers": [300.0, 120.0, 80.0],
            "actual": [0.2, 0.6, 1.4],
            "predicted": [0.25, 0.55, 1.3],
        }
    )
    return PredictedValue(
        s,
        AS_OF,
        summary_rows,
        {"not_paid": 12, "non_positive_amount": 3},
        bgnbd,
        spend,
        holdout,
        bgnbd,
        (300.0, 550.0),
        None,
    )


def contact_of(clv: bool = True) -> ContactMatrix:
    cells = pd.DataFrame(
        [
            ("high", "high", 120, 60_000.0, 9_000.0),
            ("high", "medium", 80, 20_000.0, 3_000.0),
            ("high", "low", 5, 100.0, 50.0),  # a small cell
            ("high", "none", 300, 0.0, 0.0),
            ("medium", "high", 200, 90_000.0, 12_000.0),
            ("low", "low", 1315, 300_000.0, 40_000.0),
        ],
        columns=["risk_tier", "value_tier", "users", "clv", "recent_revenue"],
    )
    reasons = pd.DataFrame(
        {
            "reason": ["recency_days", "events_trend_7_30", "view_30d", "channel"],
            "users": [400, 90, 10, 3],
        }
    )
    return ContactMatrix(
        cells=cells, top_reasons=reasons, reason_sample=505, scored=2020, clv_available=clv
    )


def result_of(**kw) -> UserInsight:
    available = kw.get("available", True)
    return UserInsight(
        stages_of(),
        model_of(available),
        value_of(kw.get("orders", True)),
        contact_of() if available else None,
        kw.get("exported"),
    )


def captured(monkeypatch) -> list[str]:
    html: list[str] = []
    monkeypatch.setattr("opsbook.report.display", lambda obj, **_: html.append(obj.data))
    return html


@pytest.fixture
def en(tmp_path):
    return report_of(tmp_path / "en")


# -- the summary --------------------------------------------------------------------------------
def test_the_summary_on_known_numbers(en, monkeypatch):
    html = captured(monkeypatch)
    summary.summary(en, result_of())
    (block,) = html
    verdict = re.search(r'<p class="ob-verdict">(.*?)</p>', block).group(1)
    assert verdict == (
        "505 recently active users (25.0%) are at high risk of leaving in the next 30 days, with"
        " ¥80,100.00 of predicted value at stake. How good the model is: of the 10 % it flagged on"
        " the evaluation cutoff, 62.0% did leave, 3.1× the recency rule (20.0%)."
    )
    values = re.findall(r'<span class="ob-value">(.*?)</span>', block)
    assert values == ["505", "¥80,100.00", "62.0%", "3.1×", "0.81", "¥150,000.00"]
    steps = re.findall(r"<li>(.*?)</li>", block)
    assert steps[0].startswith("Contact the 120 users in High risk × High value first")
    assert steps[1].startswith("Contact the 80 users in High risk × Medium value first")
    assert steps[2] == "Silent (300 users, 30.0%): Text them"  # the override, in English
    assert steps[-1].startswith("Rerun with export=True")


def test_the_summary_without_a_model_or_orders_says_so(en, monkeypatch):
    html = captured(monkeypatch)
    summary.summary(en, result_of(available=False, orders=False))
    assert (
        "No churn warning model: every user of the training cutoff had the same outcome" in html[0]
    )
    assert "ob-summary" in html[0]


def test_exported_lists_are_a_next_step_and_said_without_paths(en, monkeypatch):
    html = captured(monkeypatch)
    paths = (Path("/secret/a.parquet"), Path("/secret/a.csv"))
    result = result_of(exported=Export(paths=paths, rows=2020, pseudonymised=True))
    summary.summary(en, result)
    contact.show_export(en, result)
    assert "(2,020 rows) for CRM import" in html[0]
    assert "1 lists (CSV, Parquet), 2,020 rows, user ids pseudonymised" in html[1]
    assert "/secret" not in "".join(html)


# -- the sections ---------------------------------------------------------------------------------
def test_small_cells_are_suppressed_one_by_one(en, monkeypatch):
    html = captured(monkeypatch)
    contact.show_risk_value(en, result_of())
    users, worth = (h for h in html if "<table" in h)
    assert "<td>&lt;10</td>" in users and "<td>120</td>" in users and "<td>300</td>" in users
    # the small cell's value is a dash; no purchase yet: no predicted value
    assert "<td>¥100.00</td>" not in worth and "<td>¥60,000.00</td>" in worth
    lifecycle.show_transitions(en, stages_of())
    assert "<td>&lt;10</td>" in html[-1] and "<td>150</td>" in html[-1]  # 3 silent -> churned


def test_reasons_counted_on_a_sample_say_on_how_many_and_how_close(en, monkeypatch):
    html = captured(monkeypatch)
    churn.show_reasons(en, contact_of())  # all 505 high-risk users counted: nothing to say
    assert not any("drawn at random" in h for h in html)
    reasons = pd.DataFrame({"reason": ["recency_days", "channel"], "users": [150, 50]})
    sampled = replace(contact_of(), top_reasons=reasons, reason_sample=200)
    churn.show_reasons(en, sampled)
    said = next(h for h in html if "drawn at random" in h)
    # 1.96 x 0.5 / sqrt(200) = 6.93 points: the widest 95 % interval of a share
    assert "Counted on 200 high-risk users drawn at random from 505" in said
    assert "±6.9 percentage points" in said
    assert "<td>75.0%</td>" in html[-1] and "<td>150</td>" in html[-1]


def test_every_section_renders_in_both_languages(tmp_path, monkeypatch):
    for lang in ("en", "zh"):
        report = report_of(tmp_path / lang, lang)
        html = captured(monkeypatch)
        result = result_of()
        lifecycle.show_stages(report, result.stages)
        lifecycle.show_transitions(report, result.stages)
        churn.show_model(report, result.model)
        churn.show_top(report, result.model)
        churn.show_reasons(report, result.contact)
        churn.show_scope(report, result.model)
        value.show_fits(report, result.value)
        value.show_clv(report, result.value)
        contact.show_risk_value(report, result)
        contact.show_export(report, result)
        for chart in (
            lifecycle.stages_chart(report, result.stages),
            churn.top_chart(report, result.model),
            churn.calibration_chart(report, result.model),
            value.holdout_chart(report, result.value),
        ):
            assert chart is not None
        shown = "".join(html)
        if lang == "en":
            assert "Top 10 %" in shown and "Logistic regression (L2)" in shown
            assert "Events per day, last 7 vs 30 days" in shown  # a reason by its meaning
            assert "“view” events in the last 30 days" in shown
            assert "<td>α</td>" in shown and "[0.78, 0.84]" in shown
        else:
            assert "风险最高 10%" in shown and "逻辑回归（L2 正则）" in shown
            assert "获客渠道" in shown  # a user column by its name (its 3 users shown as <10)
            assert "短信唤醒" in shown
        assert "user_id" not in shown


def test_no_orders_and_no_model_sections_say_so(en, monkeypatch):
    html = captured(monkeypatch)
    result = result_of(available=False, orders=False)
    value.show_fits(en, result.value)
    churn.show_model(en, result.model)
    contact.show_risk_value(en, result)
    assert value.holdout_chart(en, result.value) is None
    assert churn.calibration_chart(en, result.model) is None
    shown = "".join(html)
    assert "no valid paid orders" in shown
    assert "No churn warning model: every user of the training cutoff" in shown
    assert "No churn model: no risk tiers." in shown


def test_feature_names(en):
    assert names.feature_name(en, "recency_days") == "Days since the last activity"
    assert names.feature_name(en, "revenue_90d") == "Revenue in the last 90 days"
    assert names.feature_name(en, "days_trend_30_90") == "Share of days active, last 30 vs 90 days"
    assert names.feature_name(en, "add_to_cart_30d") == "“add_to_cart” events in the last 30 days"
    assert names.feature_name(en, "city_tier") == "City tier"
    assert names.feature_name(en, "loyalty_band") == "loyalty_band"  # a column of the data


def test_the_widget_is_off_in_batch_runs(en, monkeypatch):
    monkeypatch.setenv("OPSBOOK_BATCH", "1")
    assert explore.explore(en, result_of()) is None
