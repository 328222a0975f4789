"""The behaviour analysis: step tables with Wilson intervals, breakdown tests, the metrics'
keys, and key actions recovering a planted effect."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from opsbook.behaviour.analysis.actions import action_table, key_actions, phi
from opsbook.behaviour.analysis.funnel import breakdown_tests, funnel_analysis, step_table
from opsbook.behaviour.analysis.record import metrics
from opsbook.behaviour.queries.steps import Funnel
from opsbook.stats import wilson_interval
from tests.unit.behaviour.logs import log_source
from tests.unit.retention.sources import events_of, source_of, users_of


def test_step_table_conversions_intervals_and_a_step_no_one_reaches():
    table = step_table([200, 50, 0, 0], ("a", "b", "c", "d"))
    assert table["users"].tolist() == [200, 50, 0, 0]
    assert table["conversion"].iloc[1] == 0.25 and table["overall"].iloc[1] == 0.25
    assert table["conversion"].iloc[2] == 0.0 and math.isnan(table["conversion"].iloc[3])
    assert table["dropped"].tolist() == [0, 150, 50, 0]
    low, high = wilson_interval(50, 200)
    assert table["conversion_low"].iloc[1] == pytest.approx(low)
    assert table["conversion_high"].iloc[1] == pytest.approx(high)


def test_breakdown_tests_compare_each_group_with_the_rest_holm_adjusted():
    counts = pd.DataFrame(
        {
            "grp": ["x", "x", "y", "y", "z", "z"],
            "step": [0, 1] * 3,
            "users": [1000, 600, 1000, 400, 1000, 500],
        }
    )
    tests = breakdown_tests(counts).set_index("grp")
    assert tests.loc["x", "conversion"] == 0.6
    assert tests.loc["x", "rest_conversion"] == pytest.approx(900 / 2000)
    raw = tests["p_value"].to_numpy()
    order = np.argsort(raw)
    assert tests["p_holm"].to_numpy()[order[0]] == pytest.approx(min(1, 3 * raw[order[0]]))
    assert bool(tests.loc["x", "significant"]) and not bool(tests.loc["z", "significant"])


def test_funnel_analysis_and_its_metrics(tmp_path):
    rows = [(1, 0, "a"), (1, 10, "b"), (2, 0, "a"), (3, 0, "a"), (3, 30, "b")]
    source = log_source(tmp_path, rows, users=[(1, "ad"), (2, "ad"), (3, "seo")])
    result = funnel_analysis(source, Funnel(("a", "b"), name="ab"), breakdown="channel")
    assert result.steps["users"].tolist() == [3, 2]
    assert result.overall_conversion == pytest.approx(2 / 3)
    assert result.median_time_to_convert_s == 20 * 60
    drop = result.biggest_drop()
    assert drop == {"step": 1, "from": "a", "to": "b", "share": pytest.approx(1 / 3), "users": 1}
    assert set(result.tests["grp"]) == {"ad", "seo"}
    out = metrics([result])
    second = out["funnels"]["ab"]["steps"][1]
    assert second == {"event": "b", "users": 2, "conversion": pytest.approx(2 / 3)}
    assert out["paths"] is None and out["key_actions"] is None


def test_phi_of_a_perfect_and_an_empty_association():
    assert phi(above=10, retained_above=10, users=20, retained=10) == 1.0
    assert math.isnan(phi(above=0, retained_above=0, users=20, retained=10))


def test_action_table_from_counts():
    counts = pd.DataFrame(
        [{"event": "share", "threshold": 1, "users": 100, "above": 40,
          "retained_d7": 30, "retained_d7_above": 20}]
    )  # fmt: skip
    row = action_table(counts, 7).iloc[0]
    assert row["share"] == 0.4 and row["retention_with"] == 0.5
    assert row["retention_without"] == pytest.approx(10 / 60)
    assert row["recall"] == pytest.approx(20 / 30) and row["precision"] == 0.5
    assert row["diff_low"] < row["diff"] < row["diff_high"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """400 users signed up on 2026-01-05; the 200 who share twice on day 0 return on day 7 and
    day 30 at 60 %, the others at 20 %; everyone opens the app on day 0."""
    rng = np.random.default_rng(5)
    people, events = [], []
    day0 = pd.Timestamp("2026-01-05 09:00")
    for u in range(1, 401):
        people.append((u, str(day0)))
        events.append((u, str(day0), "app_open"))
        doer = u <= 200
        if doer:
            events += [(u, str(day0 + pd.Timedelta(hours=h)), "share") for h in (1, 2)]
        elif u % 4 == 0:
            events.append((u, str(day0 + pd.Timedelta(hours=1)), "share"))  # once: below 2
        rate = 0.6 if doer else 0.2
        for k in (7, 30):
            if rng.random() < rate:
                events.append((u, str(day0 + pd.Timedelta(days=k)), "app_open"))
    events.append((1, "2026-03-01 00:00:00", "app_open"))  # the data run past day 30
    folder = tmp_path_factory.mktemp("planted")
    return source_of(folder, users_of(*people), events_of(*events))


def test_key_actions_recover_a_planted_effect(planted):
    result = key_actions(planted, first_days=3, thresholds=(1, 2, 3), min_users=20)
    top = result.top(1).iloc[0]
    assert (top["event"], top["threshold"]) == ("share", 2)
    assert top["share"] == 0.5
    assert top["diff_low"] < 0.4 < top["diff_high"]
    assert top["retention_with"] == pytest.approx(0.6, abs=0.08)
    d7 = result.tables[7].set_index(["event", "threshold"]).loc[("share", 2)]
    assert d7["diff_low"] < 0.4 < d7["diff_high"]
    # everyone opened the app: no one is on the other side, so it is not ranked
    assert "app_open" not in set(result.ranked["event"])
    assert metrics([], None, result)["key_actions"][0]["event"] == "share"
