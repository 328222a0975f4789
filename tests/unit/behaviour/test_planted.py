"""The behaviour report's engine recovers the sample's planted truth (truth.json["behaviour"]):
the funnel's users per step and channel exactly and its step probabilities within Wilson
intervals, the next event after a drop-off exactly and its shares within intervals, the key
action's users and retained users exactly and its retention gain within the report's interval."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from opsbook.behaviour.analysis.actions import key_actions
from opsbook.behaviour.analysis.funnel import step_table
from opsbook.behaviour.queries.funnel import funnel_counts
from opsbook.behaviour.queries.paths import path_counts
from opsbook.behaviour.queries.steps import Funnel
from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.stats import wilson_interval

ALPHA = 0.001  # a planted value outside a 99.9 % interval is a defect, not bad luck


@pytest.fixture(scope="module")
def truth(sample_dir):
    return json.loads((sample_dir / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def source(sample_dir):
    config = load_config(data=str(sample_dir), overrides={"timezone": "Asia/Shanghai"}, lang="en")
    return open_source(config)


@pytest.fixture(scope="module")
def funnel(truth):
    planted = truth["behaviour"]["funnel"]
    return Funnel(tuple(planted["steps"]), window_seconds=planted["window_days"] * 86_400)


def test_funnel_users_per_step_and_channel_are_the_planted_ones(source, funnel, truth):
    planted = truth["behaviour"]["funnel"]
    counts = funnel_counts(source, funnel, breakdown="channel")
    for channel, part in counts.groupby("grp"):
        users = part.sort_values("step")["users"].tolist()
        assert users == planted["users_reaching_step"][channel], channel
        assert users[0] == truth["channels"][channel]["users"]  # every user enters at signup
        table = step_table(users, funnel.names, alpha=ALPHA)
        for row in table.iloc[1:].itertuples():
            p = planted["expected_step_probability"][channel][row.event]
            assert row.conversion_low <= p <= row.conversion_high, (channel, row.event)


def test_paths_after_a_dropoff_go_where_planted(source, funnel, truth):
    for anchor, planted in truth["behaviour"]["dropoff_paths"].items():
        paths = path_counts(source, funnel=funnel, dropoff_step=planted["dropoff_step"], steps=2)
        first = paths.transitions[paths.transitions["step"] == 0]
        assert set(first["source"]) == {anchor}
        users = dict(zip(first["target"], first["users"], strict=True))
        assert users == planted["next_users"], anchor
        total = sum(users.values())
        for target, share in planted["next_share"].items():
            low, high = wilson_interval(users[target], total, ALPHA)
            assert low <= share <= high, (anchor, target)


def test_the_key_action_raises_retention_by_the_planted_amount(source, truth):
    planted = truth["behaviour"]["key_action"]
    end = pd.Timestamp(truth["params"]["end"]) + pd.Timedelta(days=1)  # the cohort of truth
    found = key_actions(
        source, first_days=planted["first_days"], events=[planted["event"]], as_of=end
    )
    for day, table in found.tables.items():
        row = table[table["threshold"] == planted["threshold"]].iloc[0]
        retention = planted["retention"][f"d{day}"]
        assert (row["users"], row["above"]) == (planted["users"], planted["users_above"])
        assert round(row["retention_with"] * row["above"]) == retention["retained_with"]
        without = row["users"] - row["above"]
        assert round(row["retention_without"] * without) == retention["retained_without"]
        # the difference's interval (Newcombe, the report's) at 99.9 % holds the planted one
        loose = key_actions(
            source,
            first_days=planted["first_days"],
            events=[planted["event"]],
            as_of=end,
            alpha=ALPHA,
        ).tables[day]
        loose = loose[loose["threshold"] == planted["threshold"]].iloc[0]
        assert loose["diff_low"] <= retention["difference"] <= loose["diff_high"], day
        assert retention["difference"] > 0.04
