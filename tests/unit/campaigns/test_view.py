"""Campaign review, view: what the notebook shows."""

from __future__ import annotations

from opsbook.campaigns import analysis, view


def test_explore_is_off_in_batch_runs(shop, monkeypatch):
    from opsbook.report import BATCH_ENV

    monkeypatch.setenv(BATCH_ENV, "1")
    assert view.explore(None, analysis.review(shop, 1)) is None
