"""Content: interaction rates per content type match the truth."""

from __future__ import annotations

from tests.unit.sample.shop import within


def test_content_interaction_rates(default):
    ev = default["events"]
    ev = ev[ev.content_id.notna()].assign(content_id=lambda d: d.content_id.astype(int))
    ev = ev.merge(default["content"][["content_id", "type"]], on="content_id")
    truth = default.truth["content"]
    assert 200 <= truth["items"] == len(default["content"]) <= 800
    rates = {}
    for kind, group in ev.groupby("type"):
        views = (group.event == "content_view").sum()
        rates[kind] = (
            group.event.isin(["content_like", "content_comment", "content_share"]).sum() / views
        )
        assert truth[kind]["views"] == views
        assert within(rates[kind], truth[kind]["interaction_rate"], views), kind
    assert rates["video"] > rates["article"]
