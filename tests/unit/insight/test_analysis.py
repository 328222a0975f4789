"""The user-insight results: metrics against sklearn.metrics, the time split, bad input."""

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from opsbook import insight
from opsbook.insight.analysis import evaluation as ev
from opsbook.insight.analysis.churn import features_at, named
from opsbook.insight.analysis.model import (
    Encoding,
    contributions,
    fit_model,
    reference_row,
    risk_of,
)
from opsbook.insight.analysis.settings import stage_actions
from opsbook.insight.queries import LABEL, day_number, report_activity
from tests.unit.insight.shop import simulated_shop

FAST = insight.ChurnSettings(bootstrap=40, seed=7)


# -- evaluation against sklearn.metrics -------------------------------------------------------
@pytest.fixture
def scored():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 500)
    scores = np.round(0.3 * y + rng.random(500), 1)  # coarse: many ties
    return scores, y


def test_auc_and_average_precision_are_sklearns(scored):
    s, y = scored
    w = np.random.default_rng(2).integers(1, 4, len(y)).astype(float)
    assert ev.auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert ev.auc(s, y, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert ev.average_precision(s, y) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    got = ev.average_precision(s, y, w)
    assert got == pytest.approx(average_precision_score(y, s, sample_weight=w), abs=1e-12)


def test_top_share_is_precision_and_recall_of_the_top_k():
    rng = np.random.default_rng(4)
    s, y = rng.random(200), rng.integers(0, 2, 200)
    for share in (0.05, 0.1, 0.2):
        flagged = s >= np.sort(s)[::-1][int(np.ceil(share * 200)) - 1]
        precision, recall = ev.top_share(s, y, share)
        assert precision == pytest.approx(precision_score(y, flagged))
        assert recall == pytest.approx(recall_score(y, flagged))
    # ties at the boundary count in proportion: one of the two tied users churned
    assert ev.top_share([1, 1, 0, 0], [1, 0, 1, 0], 0.25) == (0.5, 0.25)


def test_calibration_and_brier_are_sklearns(scored):
    s, y = scored
    p = s / s.max()
    table = ev.calibration_table(p, y, bins=5)
    observed, predicted = calibration_curve(y, p, n_bins=5, strategy="quantile")
    np.testing.assert_allclose(table["observed"], observed)
    np.testing.assert_allclose(table["predicted"], predicted)
    assert table["users"].sum() == len(y)
    assert ev.brier(p, y) == pytest.approx(brier_score_loss(y, p))


def test_bootstrap_intervals_are_seeded_and_bracket_the_estimate(scored):
    s, y = scored
    a = ev.bootstrap_intervals(s, y, reps=200, seed=1)
    assert a == ev.bootstrap_intervals(s, y, reps=200, seed=1)
    assert a != ev.bootstrap_intervals(s, y, reps=200, seed=2)
    low, high = a["auc"]
    assert low < ev.auc(s, y) < high and high - low < 0.15
    low, high = a["pr_auc"]
    assert low < ev.average_precision(s, y) < high


# -- the churn model on a simulated shop ------------------------------------------------------
@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return simulated_shop(tmp_path_factory.mktemp("shop"), users=400, days=200, seed=1)


@pytest.fixture(scope="module")
def model(shop):
    return insight.churn_model(shop, settings=FAST)


def test_the_time_split_trains_two_horizons_and_evaluates_one_before_the_end(model):
    end = model.as_of
    assert end == date(2026, 7, 20)  # the day after the last simulated day
    assert model.cutoffs == {
        "train": date(2026, 5, 21),
        "evaluate": date(2026, 6, 20),
        "score": end,
    }
    assert model.kind in ("logistic", "gradient_boosting")
    best = model.candidates.set_index("kind")["pr_auc"]
    assert best[model.kind] == best.max()


def test_reported_metrics_are_sklearns_on_the_evaluation_cutoff(shop, model):
    frame = _frame_at(shop, model, "evaluate")
    risk = model.estimator.predict_proba(model.encoding.matrix(frame))[:, 1]
    y = frame[LABEL].to_numpy(dtype=int)
    e = model.evaluation
    assert e.users == len(y) == model.populations["evaluate"]["users"]
    assert e.auc == pytest.approx(roc_auc_score(y, risk), abs=1e-12)
    assert e.pr_auc == pytest.approx(average_precision_score(y, risk), abs=1e-12)
    assert e.brier == pytest.approx(brier_score_loss(y, risk))
    assert e.auc > 0.75  # the planted driver (channel, lifetimes) is learnable
    lift = e.at(0.10, "precision") / ev.top_share(frame["recency_days"], y, 0.10)[0]
    assert e.at(0.10, "lift_vs_recency") == pytest.approx(lift)


def test_training_never_reads_the_evaluation_period(shop, model, tmp_path):
    # the shop as it stood at the evaluation cutoff E - H: the training frame (features and
    # label) is the same, and so are the evaluation cutoff's features; only its label needs
    # the days after E - H
    cut = (model.cutoffs["evaluate"] - date(2026, 1, 1)).days
    past = simulated_shop(tmp_path / "past", users=400, days=200, seed=1, future_from=cut)
    pd.testing.assert_frame_equal(_frame_at(past, model, "train"), _frame_at(shop, model, "train"))
    then = _frame_at(past, model, "evaluate").drop(columns=LABEL)
    pd.testing.assert_frame_equal(then, _frame_at(shop, model, "evaluate").drop(columns=LABEL))
    assert insight.churn_model(past, as_of=model.as_of, settings=FAST).reason == (
        "single_class_evaluation"  # nobody came back after a cut-off log: no model judged
    )


def _frame_at(src, model, which):
    s = model.settings
    daily, types = report_activity(src, day_number(model.as_of), s.event_types)
    expr = features_at(src, daily, day_number(model.cutoffs[which]), s, types, label=True)
    frame = expr.execute().sort_values("user_id").reset_index(drop=True)
    return named(frame, types, s.type_window)


def test_same_seed_same_model_and_numbers(shop, model):
    again = insight.churn_model(shop, settings=FAST)
    assert again.kind == model.kind
    assert again.metrics() == model.metrics()


def test_contact_matrix_covers_every_active_user_once(shop, model):
    value = insight.predicted_value(shop)
    contact = insight.contact_matrix(shop, model, value)
    chunks = list(
        insight.scored_users(
            shop, replace(model, settings=replace(model.settings, chunk_rows=50)), value
        )
    )
    assert len(chunks) > 1
    users = np.concatenate([c["user_id"].to_numpy() for c in chunks])
    assert len(users) == len(set(users)) == contact.scored == contact.table().to_numpy().sum()
    high = np.concatenate([c["risk_tier"].to_numpy() for c in chunks]) == "high"
    assert contact.at_risk_users == high.sum()
    first = np.concatenate([c["reason_1"].to_numpy() for c in chunks])
    assert contact.top_reasons["users"].sum() == sum(r is not None for r in first[high])
    assert all(r is None for r in first[~high])
    record = insight.metrics(insight.lifecycle(shop), model, value, contact)
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
        assert key in record
    assert set(record["churn_model"]) >= {
        "kind",
        "auc",
        "pr_auc",
        "brier",
        "precision_top10",
        "lift_top10_vs_recency",
    }
    assert len(insight.headline(insight.lifecycle(shop), model, value, contact)) == 6


def test_the_pages_reasons_are_those_of_a_random_sample_of_high_risk_users(shop, model):
    value = insight.predicted_value(shop)
    size = 7
    small = replace(model, settings=replace(model.settings, reason_users=size, chunk_rows=50))
    contact = insight.contact_matrix(shop, small, value)
    assert contact.reason_sample == size < contact.at_risk_users
    # the users with the 7 smallest keyed hashes of their ids among the high-risk ones, whatever
    # the chunks: their first reasons as the activation lists give them
    rows = pd.concat(insight.scored_users(shop, small, value))
    high = rows[rows["risk_tier"] == "high"]
    key = f"{small.settings.seed:016d}"
    hashes = pd.util.hash_array(high["user_id"].astype(str).to_numpy(dtype=object), hash_key=key)
    chosen = high.iloc[np.argsort(hashes)[:size]]
    expected = chosen["reason_1"].dropna().value_counts()
    got = contact.top_reasons.set_index("reason")["users"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    whole = insight.contact_matrix(
        shop, replace(small, settings=replace(small.settings, chunk_rows=10_000)), value
    )
    pd.testing.assert_frame_equal(whole.top_reasons, contact.top_reasons)
    pd.testing.assert_frame_equal(whole.cells, contact.cells)


# -- bad input --------------------------------------------------------------------------------
def test_too_little_history_names_the_days_needed(shop):
    with pytest.raises(ValueError, match=r"needs 240 days of history .* hold 1\d\d days"):
        insight.churn_model(shop, settings=insight.ChurnSettings(horizon_days=75))


def test_a_single_class_gives_no_model_and_says_why(tmp_path):
    src = simulated_shop(tmp_path, users=40, days=160, seed=2, stay=True, orders=False)
    model = insight.churn_model(src, settings=FAST)
    assert model.kind is None and model.reason == "single_class_training"
    assert model.metrics()["churn_model"]["auc"] is None
    assert insight.contact_matrix(src, model, insight.predicted_value(src)) is None


def test_no_orders_flags_value_and_the_rest_runs(tmp_path):
    src = simulated_shop(tmp_path, users=200, days=200, seed=3, orders=False)
    value = insight.predicted_value(src)
    assert value.reason == "no_orders" and value.clv_total is None
    assert value.metrics()["bgnbd"] is None
    model = insight.churn_model(src, settings=FAST)
    assert model.available
    contact = insight.contact_matrix(src, model, value)
    assert contact.revenue_at_risk is None
    assert set(contact.cells["value_tier"]) == {"none"}
    stages = insight.lifecycle(src)
    assert not stages.high_value_available and stages.share("high_value") == 0


def test_one_purchase_customers_give_a_flagged_fit_not_a_crash(tmp_path):
    src = simulated_shop(tmp_path, users=200, days=200, seed=4, one_purchase=True)
    value = insight.predicted_value(src)
    assert value.reason == "bgnbd_no_repeat_purchases"
    assert value.one_purchase_customers == value.customers > 0
    assert np.isnan(value.clv([0], [0], [10], [0])).all()


def test_value_on_a_shop_with_repeat_buyers(shop):
    value = insight.predicted_value(shop)  # the default 60-day holdout
    assert value.bgnbd.converged and value.holdout_fit.converged
    assert value.holdout is not None and value.holdout["customers"].sum() > 0
    assert value.customers == value.summary["customers"].sum()
    assert value.available and value.gamma_gamma.converged
    tiers = value.tier(value.summary["clv"])
    high = value.summary.loc[tiers == "high", "customers"].sum() / value.customers
    assert 0.15 < high < 0.3  # the top 20 % by predicted CLV (ties may add a few)
    assert value.clv_total == pytest.approx(
        (value.summary["clv"] * value.summary["customers"]).sum()
    )


# -- settings ---------------------------------------------------------------------------------
def test_rules_and_actions_reject_bad_values():
    with pytest.raises(ValueError, match="returning_days"):
        insight.LifecycleRules(silent_days=10, returning_days=14)
    with pytest.raises(ValueError, match="silent_days"):
        insight.LifecycleRules(silent_days=90, churn_days=90)
    with pytest.raises(ValueError, match="unknown stage"):
        stage_actions({"sleepy": "call them"})
    actions = stage_actions({"churned": {"zh": "短信召回", "en": "SMS win-back"}})
    assert actions["churned"]["en"] == "SMS win-back"
    assert actions["new"] == "insight.action.new"
    with pytest.raises(ValueError, match="risk tiers"):
        insight.RiskTiers(medium=0.7, high=0.5)


def test_boosting_reasons_equal_substituting_every_user():
    """Users already at the reference are skipped per feature; the figures must equal setting
    the feature to the reference for every user and predicting all of them."""
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "orders_7d": rng.poisson(0.3, n).astype(float),  # mostly 0: at the median
            "events_30d": rng.poisson(4.0, n).astype(float),
            "channel": rng.choice(["ads", "organic", "referral"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    churned = (rng.random(n) < 1 / (1 + np.exp(frame["events_30d"] - 3))).astype(int)
    encoding = Encoding.learn(frame, ["channel"])
    x = encoding.matrix(frame)
    model = fit_model("gradient_boosting", x, churned, seed=0, c=1.0)
    reference = reference_row(encoding, x)
    effect = contributions("gradient_boosting", model, encoding, x, reference)
    base = risk_of(model, x)
    for j, block in enumerate(encoding.groups()):
        changed = x.copy()
        changed[:, block] = reference[block]
        np.testing.assert_array_equal(effect[:, j], base - risk_of(model, changed))
    assert (effect[:, 0] == 0).mean() > 0.5  # the skipped users do occur here
