"""What the segmentation report shows: the tier actions, every section with small groups
suppressed, and the JupyterLab widget."""

import re
from datetime import date

import pytest

from opsbook.segmentation.analysis import migration, record, segments
from opsbook.segmentation.view import conclusion, explore, groups, scope
from opsbook.segmentation.view import export as export_view
from opsbook.segmentation.view import migration as migration_view
from tests.unit.segmentation.known_orders import AS_OF, LOG, report_on


# -- actions ----------------------------------------------------------------------------------
def test_actions_come_from_i18n_then_config_then_parameter(tmp_path):
    actions = {"churned": "Call them", "potential": {"zh": "推荐", "en": "Recommend"}}
    report = report_on(tmp_path, LOG, raw={"reports": {"segmentation": {"actions": actions}}})
    got = groups.tier_actions(report)
    assert got["churned"] == "Call them" and got["potential"] == "Recommend"
    assert got["low_activity"] == report.t("segmentation.action.low_activity")
    assert groups.tier_actions(report, {"high_value": "VIP"})["churned"] == report.t(
        "segmentation.action.churned"
    )
    with pytest.raises(ValueError, match="unknown tier"):
        groups.tier_actions(report, {"vip": "x"})


# -- presentation -------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", [AS_OF, date(2025, 1, 1)], ids=["shop", "empty window"])
def test_every_section_renders_and_suppresses_small_groups(shop, as_of, monkeypatch):
    html = []
    collect = lambda obj, **_: html.append(getattr(obj, "data", ""))  # noqa: E731
    monkeypatch.setattr("opsbook.report.display", collect)
    monkeypatch.setattr("opsbook.segmentation.view.migration.display", collect)
    result = segments.resegment(shop, segments.Settings(as_of=as_of, lookback_days=90))
    mig = migration.migration(shop, result)
    scope.show_scope(shop, result)
    scope.show_score_bins(shop, result)
    scope.show_thresholds(shop, result)
    groups.show_segment_profile(shop, result)
    groups.show_tier_rules(shop, result)
    groups.show_tier_profile(shop, result)
    groups.show_pareto(shop, result)
    migration_view.show_migration(shop, mig)
    export_view.show_export(shop, result, None)
    conclusion.conclusion(shop, result, mig)
    for chart in (scope.rf_heatmap, scope.monetary_chart, groups.size_vs_revenue_chart):
        assert chart(shop, result) is not None
    assert len(record.headline(result, mig)) == 5
    shown = "".join(h for h in html if isinstance(h, str))
    if result.customers:
        # 4 customers, all under min_cell: no count under 10 is shown, only "<10"
        profiles = [h for h in html if isinstance(h, str) and "Revenue per customer" in h]
        assert len(profiles) == 2  # segments and tiers
        for table in profiles:
            assert "&lt;10" in table
            assert not re.search(r"<td>[1-9]</td>", table)  # no count under 10
            assert "<td>0</td>" in table  # empty groups are shown as 0
        assert "No paid order in the 90 days before as_of" in shown
    else:
        assert "No paid orders in the window" in shown


def test_the_widget_is_off_in_batch_runs_and_recomputes_in_the_lab(shop, monkeypatch):
    result = segments.resegment(shop, segments.Settings(as_of=AS_OF, lookback_days=90))
    monkeypatch.setenv("OPSBOOK_BATCH", "1")
    assert explore.explore(shop, result) is None
    monkeypatch.delenv("OPSBOOK_BATCH")
    box = explore.explore(shop, result)
    threshold, k, lookback = box.children[0].children
    k.value = 3
    threshold.value = "median"
    lookback.value = None  # a new engine run: all history
    assert {k.value, threshold.value, lookback.value} == {3, "median", None}
