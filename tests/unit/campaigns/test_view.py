"""Campaign review, view: what the notebook shows."""

from __future__ import annotations

from opsbook.campaigns import analysis
from opsbook.campaigns.view.pdca import explore


def test_explore_is_off_in_batch_runs(shop, monkeypatch):
    from opsbook.report import BATCH_ENV

    monkeypatch.setenv(BATCH_ENV, "1")
    assert explore(None, analysis.review(shop, 1)) is None
