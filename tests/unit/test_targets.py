"""The KPI targets (:mod:`opsbook.targets`): the shipped targets, a project's copy, unknown
names and fields, the status rule, and the retention report's six (defaults, the project's KPI
targets file, the report's overrides)."""

from __future__ import annotations

import pytest
import yaml

from opsbook.config import load_config
from opsbook.targets import (
    DEFAULT_TARGETS,
    Targets,
    estimate_status,
    is_default,
    kpi_status,
    load_targets,
    marked,
    retention_targets,
)


# --------------------------------------------------------------------------- targets, status
def test_shipped_targets_cover_the_kpi_system():
    targets = load_targets()
    issue_names = {
        "new_users", "dau_mau", "d1_retention", "d7_retention", "d30_retention",
        "first_order_conversion", "repeat_purchase_rate", "arpu", "cac", "k_factor",
        "content_interaction_rate", "content_conversion", "campaign_conversion", "campaign_roi",
        "data_accuracy",
    }  # fmt: skip
    assert issue_names <= set(targets)
    expected = {
        "dau_mau": 0.3, "d1_retention": 0.55, "d7_retention": 0.40, "d30_retention": 0.25,
        "first_order_conversion": 0.08, "repeat_purchase_rate": 0.30, "content_reach": 10_000,
        "content_interaction_rate": 0.05, "content_conversion": 0.02, "content_roi": 5,
        "campaign_conversion": 0.10, "k_factor": 1.5, "campaign_roi": 3, "data_accuracy": 0.95,
        "data_freshness_hours": 1,
    }  # fmt: skip
    assert {n: targets[n].target for n in expected} == pytest.approx(expected)
    assert targets["cac"].direction == "lower" and targets["cac"].target is None
    assert targets["new_users"].kind == "growth_yoy" and targets["new_users"].target == 0.30
    # monthly volumes scale to the period: 100 articles a month is 70/3 a week
    assert targets["content_articles"].resolve(7) == pytest.approx(100 * 7 / 30)


def test_a_project_copy_overrides_field_by_field(tmp_path):
    path = tmp_path / "targets.yml"
    path.write_text(yaml.safe_dump({"kpis": {"arpu": {"target": 40}, "cac": 35}}))
    targets = load_targets("targets.yml", base_dir=tmp_path)
    assert targets["arpu"].target == 40 and targets["arpu"].unit == "money"
    assert targets["cac"].target == 35 and targets["cac"].direction == "lower"
    assert targets["d1_retention"].target == 0.55  # untouched


def test_unknown_kpi_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown KPI name.*d2_retention.*known KPIs: new_users"):
        load_targets({"d2_retention": {"target": 0.5}})
    with pytest.raises(ValueError, match="unknown field.*goal"):
        load_targets({"arpu": {"goal": 5}})
    with pytest.raises(ValueError, match="direction must be one of higher, lower"):
        load_targets({"arpu": {"direction": "up"}})
    with pytest.raises(FileNotFoundError):
        load_targets("no_such_file.yml")


@pytest.mark.parametrize(
    ("value", "target", "direction", "status"),
    [
        (0.55, 0.55, "higher", "green"),
        (0.50, 0.55, "higher", "amber"),  # short by 0.05 <= 10 % of 0.55
        (0.49, 0.55, "higher", "red"),
        (1.0, 1.0, "lower", "green"),
        (1.1, 1.0, "lower", "amber"),
        (1.2, 1.0, "lower", "red"),
        (None, 0.5, "higher", "n/a"),
        (0.5, None, "higher", "n/a"),
        (float("nan"), 0.5, "higher", "n/a"),
    ],
)
def test_status_rule(value, target, direction, status):
    assert kpi_status(value, target, direction, amber_band=0.10) == status


# --------------------------------------------------------------------------- retention
def test_targets_come_from_defaults_and_overrides():
    assert retention_targets() == DEFAULT_TARGETS
    assert retention_targets(None, {"d1": 0.6})["d1"] == 0.6
    with pytest.raises(ValueError, match="unknown target"):
        retention_targets(None, {"d2": 0.5})


def test_targets_follow_the_projects_kpi_targets_file(tmp_path):
    # the same file the KPI dashboard reads (reports: kpi_dashboard: targets:)
    (tmp_path / "targets.yml").write_text("kpis:\n  d1_retention: {target: 0.5}\n  dau_mau: 0.2\n")
    (tmp_path / "opsbook.yml").write_text("reports:\n  kpi_dashboard:\n    targets: targets.yml\n")
    config = load_config(tmp_path / "opsbook.yml")
    targets = retention_targets(config, {"d7": 0.45})
    assert (targets["d1"], targets["dau_mau"], targets["d7"]) == (0.5, 0.2, 0.45)
    assert targets["d30"] == 0.25


def test_an_estimate_is_met_only_when_its_whole_interval_is():
    # the sample campaign's iROI: 11.9, interval [1.01, 22.81], against the "1:3" target
    assert estimate_status((1.01, 22.81), 3.0) == "not_proven"
    assert estimate_status((3.2, 22.81), 3.0) == "green"
    assert estimate_status((3.0, 22.81), 3.0) == "green"  # the bound on the target meets it
    assert estimate_status((0.4, 2.9), 3.0) == "red"
    assert estimate_status((40.0, 60.0), 50.0, "lower") == "not_proven"
    assert estimate_status((30.0, 45.0), 50.0, "lower") == "green"
    assert estimate_status((51.0, 60.0), 50.0, "lower") == "red"
    assert estimate_status((None, 4.0), 3.0) == "n/a"
    assert estimate_status((1.0, 4.0), None) == "n/a"
    assert estimate_status(None, 3.0) == "n/a"


# --------------------------------------------------------------------------- defaults marked
def test_a_target_knows_whether_the_user_set_it(tmp_path):
    shipped = load_targets()
    assert all(spec.default for spec in shipped.values())
    own = load_targets({"d7_retention": 0.3, "cac": {"direction": "lower"}})
    assert not own["d7_retention"].default and own["d7_retention"].target == 0.3
    assert own["cac"].default  # its direction changed, not its target
    assert own["d1_retention"].default
    # the retention report: the KPI file's own targets and the report's parameter are the user's
    (tmp_path / "targets.yml").write_text("kpis:\n  d1_retention: {target: 0.5}\n")
    (tmp_path / "opsbook.yml").write_text("reports:\n  kpi_dashboard:\n    targets: targets.yml\n")
    targets = retention_targets(load_config(tmp_path / "opsbook.yml"), {"d7": 0.45})
    assert isinstance(targets, Targets) and targets.user == {"d1", "d7"}
    assert [k for k in targets if is_default(targets, k)] == [
        "d30", "dau_mau", "first_order_conversion", "repeat_purchase_rate"
    ]  # fmt: skip
    assert retention_targets().user == frozenset()
    assert not is_default({"d7": 0.4}, "d7")  # a plain mapping is the caller's own


def test_the_default_marker_in_both_languages():
    assert marked("40.0%", True, "en") == "40.0% (default)"
    assert marked("40.0%", True, "zh") == "40.0%（默认）"
    assert marked("40.0%", False, "zh") == "40.0%"


def test_a_group_of_the_breakdown_can_have_targets_of_its_own():
    targets = retention_targets(None, {"d7": 0.35, "by_group": {"kol": {"d7": 0.25}}})
    assert targets["d7"] == 0.35 and targets.groups == {"kol": {"d7": 0.25}}
    kol, organic = targets.for_group("kol"), targets.for_group("organic")
    assert (kol["d7"], organic["d7"], kol["d1"]) == (0.25, 0.35, 0.55)
    assert not kol.is_default("d7") and kol.is_default("d1")
    with pytest.raises(ValueError, match="by_group.kol: unknown target 'd8'"):
        retention_targets(None, {"by_group": {"kol": {"d8": 0.2}}})
