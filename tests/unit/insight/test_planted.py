"""The user-insight report recovers the truth planted in the sample (truth.json["user_insight"]):
its churn model ranks the users nearly as well as the true hazard does and better than the
recency rule; its BG/NBD and Gamma-Gamma fits on the repeat buyers' purchases hold the planted
parameters in their intervals. The report's own functions, on the session's sample."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from opsbook import insight
from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.insight.analysis import evaluation as ev
from opsbook.insight.analysis.churn import features_at, named
from opsbook.insight.analysis.value import fit_value
from opsbook.insight.queries import (
    LABEL,
    day_number,
    default_as_of,
    pooled_summary,
    report_activity,
)
from opsbook.sample.oracle import true_churn_risk

SETTINGS = insight.ChurnSettings(bootstrap=40)


@pytest.fixture(scope="module")
def truth(sample_dir):
    return json.loads((sample_dir / "truth.json").read_text())["user_insight"]


@pytest.fixture(scope="module")
def source(sample_dir):
    return open_source(load_config(data=str(sample_dir), lang="en"))


@pytest.fixture(scope="module")
def model(source):
    return insight.churn_model(source, settings=SETTINGS)


@pytest.fixture(scope="module")
def scored(sample_dir, source, model):
    """The evaluation cutoff's users with the model's risk, the true risk (None for the repeat
    buyers, whose leaving is not the hazard's) and the outcome."""
    s = model.settings
    daily, types = report_activity(source, day_number(model.as_of), s.event_types)
    evaluate = day_number(model.cutoffs["evaluate"])
    frame = features_at(source, daily, evaluate, s, types, label=True).execute()
    frame = named(frame, types, s.type_window).sort_values("user_id", ignore_index=True)
    frame["risk"] = model.estimator.predict_proba(model.encoding.matrix(frame))[:, 1]
    users, risk = true_churn_risk(
        sample_dir, model.cutoffs["evaluate"], s.horizon_days, s.active_days
    )
    return frame.merge(pd.DataFrame({"user_id": users, "truth": risk}), on="user_id", how="left")


def test_the_true_risk_covers_the_hazard_users_and_is_calibrated(scored, truth):
    assert "content_view_30d" in scored.columns  # the hazard's content feature is the report's
    hazard_users = scored["user_id"] % 3 != 0
    assert truth["churn_hazard"]["applies_to"].startswith("users whose user_id is not a multiple")
    assert scored["truth"].notna().to_numpy().tolist() == hazard_users.tolist()
    known = scored[scored["truth"].notna()]
    y = known[LABEL].to_numpy(dtype=float)
    # the true probabilities sum to the churners up to sampling error
    spread = np.sqrt((known["truth"] * (1 - known["truth"])).sum())
    assert abs(known["truth"].sum() - y.sum()) <= 4 * spread


def test_the_churn_model_ranks_nearly_as_well_as_the_true_hazard(scored, model):
    known = scored[scored["truth"].notna()]
    y = known[LABEL].to_numpy(dtype=int)
    model_auc, true_auc = ev.auc(known["risk"], y), ev.auc(known["truth"], y)
    recency_auc = ev.auc(known["recency_days"], y)
    assert true_auc - 0.03 <= model_auc <= true_auc + 0.01, (model_auc, true_auc)
    assert model_auc > recency_auc + 0.02  # more than recency predicts leaving
    # the report's own figure: of the 10 % flagged, more churners than the recency rule's
    assert model.evaluation.at(0.10, "lift_vs_recency") > 1.04


@pytest.fixture(scope="module")
def repeat_buyers(source, truth):
    """The report's pooled (frequency, recency, T, monetary) summary of the planted subset: the
    repeat buyers' purchase days from their settled day on (truth.json says which)."""
    end = day_number(default_as_of(source))
    daily, _ = report_activity(source, end)
    users = source.table("users")
    users = users.select("user_id", signup=source.local_day(users.signup_ts))
    joined = daily.join(users, "user_id")
    subset = joined.filter((joined.user_id % 3 == 0) & (joined.day >= joined.signup + 31))
    return pooled_summary(subset.drop("signup"), end)


def test_bgnbd_and_gamma_gamma_hold_the_planted_parameters(repeat_buyers, truth):
    planted = truth["repeat_buyers"]
    assert planted["users"].startswith("user_id a multiple of 3")
    assert "tenure day 31" in planted["process"]
    assert repeat_buyers["customers"].sum() == planted["customers"]
    purchases, spend, reason = fit_value(repeat_buyers, insight.ValueSettings())
    assert reason is None
    for fit, params in ((purchases, planted["bgnbd"]), (spend, planted["gamma_gamma"])):
        # seven parameters at once: 99 % intervals each (Bonferroni for a joint ~95 %)
        intervals = fit.summary_frame(alpha=0.01)
        for name, row in intervals.iterrows():
            assert row["lower"] <= params[name] <= row["upper"], (name, row.to_dict())
