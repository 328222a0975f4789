"""opsbook.experiments.view: the explore widgets only outside batch runs (and the headline the
run's index shows)."""

from __future__ import annotations

from opsbook.experiments import view
from opsbook.experiments.analysis import evaluate, prepare


def test_explore_only_outside_batch_runs_and_headline(sample_report, monkeypatch):
    exp = prepare(sample_report, experiment="checkout_button", segments=[])
    monkeypatch.setenv("OPSBOOK_BATCH", "1")
    assert view.explore(sample_report, exp) is None
    monkeypatch.delenv("OPSBOOK_BATCH")
    widget = view.explore(sample_report, exp, method="z")
    assert widget is not None and widget.children[0].children[0].value == "z"
    headline = evaluate(exp).headline("zh")
    assert headline[0]["value"] in {"上线", "不上线", "尚无定论", "实验无效"}
    assert 3 <= len(headline) <= 5
