"""The behaviour report end to end: the session's runs of every report on the sample (en and
zh, tests/conftest.py) give issue 21's metrics, paths that reconcile with the funnel and pages
that pass the page checks; the bad inputs go through ``opsbook run``: an unknown event (a
refusal in the reader's language, no traceback) and events without a users table, with tied
timestamps, a one-step funnel and a step no one reaches."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from opsbook.cli import main
from tests.conftest import ROOT
from tests.pages import data_values, language_problems, summary_problems, tick_problems

NAME = "behaviour"


def metrics_of(folder: Path) -> dict:
    return json.loads((folder / f"{NAME}.metrics.json").read_text())


@pytest.fixture(scope="module")
def runs(sample_run, sample_run_zh) -> dict[str, Path]:
    folders = {}
    for lang, result in (("en", sample_run), ("zh", sample_run_zh)):
        entry = result.manifest["reports"][NAME]
        assert entry["status"] == "ok", entry["error"]
        folders[lang] = result.folder
    return folders


def test_metrics_of_item_7_and_paths_reconcile_with_the_funnel(runs):
    m = metrics_of(runs["en"])
    funnel = m["funnels"]["purchase"]
    steps = funnel["steps"]
    assert [s["event"] for s in steps][:3] == ["app_open", "view_item", "add_to_cart"]
    assert set(steps[0]) == {"event", "users", "conversion"}
    users = [s["users"] for s in steps]
    assert users == sorted(users, reverse=True) and users[0] > 0
    assert {"overall_conversion", "median_time_to_convert_s"} <= set(funnel)
    assert set(m["paths"]) >= {"anchor", "direction", "top"}
    assert m["paths"]["anchor"] == "app_open" and m["paths"]["direction"] == "after"
    assert all(set(p) == {"path", "users"} for p in m["paths"]["top"])
    assert 1 <= len(m["key_actions"]) <= 5
    assert set(m["key_actions"][0]) >= {
        "event", "threshold", "share", "retention_with", "retention_without",
    }  # fmt: skip
    # unique users: the paths start with the funnel's entered users, and the drop-off paths
    # with exactly the users the funnel loses at its biggest drop-off
    assert m["paths"]["users"] == users[0]
    drop = funnel["biggest_drop"]
    assert (
        m["dropoff_paths"]["users"]
        == drop["users"]
        == users[drop["step"] - 1] - users[drop["step"]]
    )
    assert m["reconciled"] == {"dropoff": True, "anchor": True}
    # both languages compute the same numbers
    assert metrics_of(runs["zh"])["funnels"] == m["funnels"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_one_language_the_answer_first_distinct_ticks(runs, sample_dir, lang):
    page = (runs[lang] / f"{NAME}.html").read_text(encoding="utf-8")
    assert language_problems(page, lang, data_values(sample_dir)) == []
    assert summary_problems(page) == []
    assert tick_problems(runs[lang] / f"{NAME}.ipynb") == []
    # the Sankey is drawn into the page: no script, nothing fetched
    assert 'src="http' not in page and 'href="http' not in page


def config_of(folder: Path, data: Path, funnels: list, lang: str) -> Path:
    config = folder / "opsbook.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {"source": str(data)},
                "timezone": "UTC",
                "lang": lang,
                "run": {"notebooks": str(ROOT / "notebooks"), "out": str(folder / "reports")},
                "reports": {NAME: {"funnels": funnels}},
            },
            allow_unicode=True,
        )
    )
    return config


@pytest.fixture(scope="module")
def events_only(tmp_path_factory) -> Path:
    """40 users' events and no users table; each user's b and a at the same moment."""
    t0 = pd.Timestamp("2026-03-02 08:00", tz="UTC")
    rows = []
    for u in range(1, 41):
        rows += [(u, t0, "b"), (u, t0, "a"), (u, t0 + pd.Timedelta(minutes=5), "c")]
    data = tmp_path_factory.mktemp("log")
    pd.DataFrame(rows, columns=["user_id", "ts", "event"]).to_parquet(data / "events.parquet")
    return data


def test_an_unknown_event_is_refused_with_the_events_present(events_only, tmp_path, capsys):
    funnels = [{"name": "typo", "steps": ["a", "bb"]}]
    code = main(["run", NAME, "--config", str(config_of(tmp_path, events_only, funnels, "zh"))])
    said = capsys.readouterr()
    text = said.out + said.err
    assert code == 1
    assert "数据中没有事件“bb”" in text and "是否想写“b”" in text
    assert "a, b, c" in text and "Traceback" not in text


def test_events_without_users_ties_one_step_and_a_step_no_one_reaches(events_only, tmp_path):
    data = events_only
    # a user's tied events go by event name: a before b, so the strict funnel passes a -> b
    funnels = [
        {"name": "one", "steps": ["a"]},
        {"name": "never", "steps": ["a", "b", "c", "b"], "order": "strict"},
    ]
    code = main(["run", NAME, "--config", str(config_of(tmp_path, data, funnels, "en"))])
    assert code == 0
    folder = (tmp_path / "reports" / "latest").resolve()
    m = metrics_of(folder)
    assert [s["users"] for s in m["funnels"]["one"]["steps"]] == [40]
    assert [s["users"] for s in m["funnels"]["never"]["steps"]] == [40, 40, 40, 0]
    assert m["key_actions"] is None
    page = (folder / f"{NAME}.html").read_text(encoding="utf-8")
    assert "The data have no users table (signups)" in page
