"""What the segmentation report shows: the tier actions, every section with small groups
suppressed, and the JupyterLab widget."""

import re
from datetime import date

import pytest

from opsbook.segmentation.analysis import migration, record, segments
from opsbook.segmentation.view import explore, groups, scope, summary
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
    summary.summary(shop, result, mig)
    for chart in (scope.rf_heatmap, scope.monetary_chart, groups.size_vs_revenue_chart):
        assert chart(shop, result) is not None
    assert len(record.headline(result, mig)) == 5
    shown = "".join(h for h in html if isinstance(h, str))
    if result.customers:
        # 4 customers, all under min_cell: no count under 10 is shown, only "<10"
        # (found by their recency column: "Revenue per customer" now heads the mean M column
        # of monetary="total", where the two columns were the same numbers twice)
        profiles = [h for h in html if isinstance(h, str) and "Mean R (days)" in h]
        assert len(profiles) == 2  # segments and tiers
        assert all(table.count("Revenue per customer") == 1 for table in profiles)
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


# -- the answer first, and charts that say what they leave out ---------------------------------
def test_the_summary_states_the_verdict_cards_and_one_step_per_tier(tmp_path, monkeypatch):
    html = []
    monkeypatch.setattr("opsbook.report.display", lambda obj, **_: html.append(obj.data))
    report = report_on(tmp_path, LOG, raw={"privacy": {"min_cell": 1}})
    result = segments.resegment(report, segments.Settings(as_of=AS_OF, lookback_days=90))
    mig = migration.migration(report, result)
    summary.summary(report, result, mig)
    (block,) = html
    assert block.startswith('<section class="ob-summary')
    tiers = result.tiers.set_index("tier")
    # 4 customers with paid orders in the 90 days (u1, u2, u3, u5)
    assert result.customers == 4 and "Of 4 customers with paid orders" in block
    assert f"{tiers.loc['high_value', 'revenue_share']:.1%}" in block
    # customers, high-value share and revenue, churned, top 20 %, fell out
    assert block.count('<div class="ob-number ') == 6
    present = [t for t in segments.TIERS if tiers.loc[t, "customers"] > 0]
    steps = re.findall(r"<li>(.*?)</li>", block)
    assert len(steps) == len(present) + (1 if mig.fell_out_of_high_value else 0)
    for tier in present:  # each tier present gets its action
        assert any(report.t(f"segmentation.action.{tier}") in s for s in steps)


def test_the_rf_heatmap_names_the_scores_nobody_has(shop):
    result = segments.resegment(shop, segments.Settings(as_of=AS_OF, lookback_days=90))
    fig = scope.rf_heatmap(shop, result)
    members = result.members
    empty_f = sorted(set(range(1, result.settings.k + 1)) - set(members["f_score"]))
    assert empty_f  # 4 customers, 5 levels: some F score is empty (ties)
    label = fig.axes[0].get_xlabel()
    assert all(f"F {f}" in label for f in empty_f) and "no customers" in label


def test_threshold_and_profile_numbers_read_in_their_units(shop, monkeypatch):
    html = []
    monkeypatch.setattr("opsbook.report.display", lambda obj, **_: html.append(obj.data))
    result = segments.resegment(shop, segments.Settings(as_of=AS_OF, lookback_days=90))
    scope.show_thresholds(shop, result)
    recency = result.thresholds["recency"]
    assert f"{recency:,.1f} days" in html[-1]  # one decimal, not 51.254
    assert not re.search(r"\d\.\d{3}\b", html[-1])
