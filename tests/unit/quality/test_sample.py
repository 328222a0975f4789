"""The sample shop's planted outage day is found as an outage of orders and events."""

from __future__ import annotations

import json

import pandas as pd

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.quality import analysis
from opsbook.report import Report
from opsbook.validation import validate


def test_the_sample_outage_day_is_one_outage(sample_dir):
    truth = json.loads((sample_dir / "truth.json").read_text())["anomalies"]
    config = load_config(data=str(sample_dir), lang="en")
    source = open_source(config)
    report = Report("data_quality", config, source, validate(source, ["users", "events", "orders"]))
    newest = source.latest("orders")
    result = analysis.assess(report, now=newest + pd.Timedelta(hours=12))
    day = pd.Timestamp(truth["outage_day"])
    runs = [r for r in result.outages.itertuples() if r.start <= day <= r.end]
    assert len(runs) == 1
    assert runs[0].dates == (day,)
    assert set(runs[0].tables) >= {"orders", "events"}
    # campaigns make spikes, not outages: the outage is the sample's only one
    assert len(result.outages) == 1
    assert [p["kind"] for p in result.problems] == ["outage"]
    assert result.stale is False and result.lagging.empty
