"""Campaign review, view: what the notebook shows."""

from __future__ import annotations

import dataclasses
import html

import pytest

from opsbook import report as report_module
from opsbook.campaigns import analysis
from opsbook.campaigns.view import incrementality
from opsbook.campaigns.view.pdca import explore
from opsbook.report import Report


def test_explore_is_off_in_batch_runs(shop, monkeypatch):
    from opsbook.report import BATCH_ENV

    monkeypatch.setenv(BATCH_ENV, "1")
    assert explore(None, analysis.review(shop, 1)) is None


@pytest.mark.parametrize(
    ("lang", "drift", "constant"),
    [("en", "too few to tell how fast", "constant level"), ("zh", "不足以判断", "水平恒定")],
)
def test_a_counterfactual_on_a_short_baseline_says_its_width_is_assumed(
    shop, monkeypatch, lang, drift, constant
):
    # campaign 2 has no holdout: its counterfactual stands on 28 baseline days of a flat shop
    review = analysis.review(shop, 2)
    impact = review.results[0].impact
    assert impact.n_pre_days == 28 and impact.drift_from_prior and impact.level_collapsed
    texts: list[str] = []
    monkeypatch.setattr(report_module, "display", lambda obj: texts.append(obj.data))
    monkeypatch.setattr(incrementality, "display", lambda obj: texts.append(obj.data))
    config = dataclasses.replace(shop.config, raw={**shop.config.raw, "lang": lang})
    report = Report("campaign_review", config, shop, validation=None)
    incrementality.show_incrementality(report, review)
    page = html.unescape("\n".join(texts))
    assert drift in page and "28" in page and constant in page
    # the assumptions no longer say the variances are taken as known
    assert ("noise variances" in page) == (lang == "en") and "conditional on" not in page


@pytest.mark.parametrize(("lang", "marker"), [("en", " (default)"), ("zh", "（默认）")])
def test_a_target_nobody_set_is_marked_as_the_default(shop, monkeypatch, lang, marker):
    """The scorecard and the summary cards mark a shipped target; the user's is unmarked."""
    from opsbook.campaigns.view import overview, summary

    texts: list[str] = []
    monkeypatch.setattr(report_module, "display", lambda obj: texts.append(str(obj.data)))
    config = dataclasses.replace(shop.config, raw={**shop.config.raw, "lang": lang})
    report = Report("campaign_review", config, shop, validation=None)
    shipped = analysis.review(shop, 1)
    overview.show_scorecard(report, shipped)
    summary.summary(report, shipped)
    page = html.unescape("\n".join(texts))
    assert f"20.0%{marker}" in page  # the AOV lift's shipped target
    assert f"3.00{marker}" not in page  # the iROI target comes from the campaigns table
    texts.clear()
    own = analysis.review(shop, 1, targets={"aov_lift": 0.3})
    overview.show_scorecard(report, own)
    page = html.unescape("\n".join(texts))
    assert "30.0%" in page and f"30.0%{marker}" not in page and f"20.0%{marker}" not in page
