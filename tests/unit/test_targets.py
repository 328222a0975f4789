"""The retention report's targets: the KPI system's defaults, the project's KPI targets file and
the report's overrides."""

import pytest

from opsbook import targets as tg
from opsbook.config import load_config


def test_targets_come_from_defaults_and_overrides():
    assert tg.retention_targets() == tg.DEFAULT_TARGETS
    assert tg.retention_targets(None, {"d1": 0.6})["d1"] == 0.6
    with pytest.raises(ValueError, match="unknown target"):
        tg.retention_targets(None, {"d2": 0.5})


def test_targets_follow_the_projects_kpi_targets_file(tmp_path):
    # the same file the KPI dashboard reads (reports: kpi_dashboard: targets:)
    (tmp_path / "targets.yml").write_text("kpis:\n  d1_retention: {target: 0.5}\n  dau_mau: 0.2\n")
    (tmp_path / "opsbook.yml").write_text("reports:\n  kpi_dashboard:\n    targets: targets.yml\n")
    config = load_config(tmp_path / "opsbook.yml")
    targets = tg.retention_targets(config, {"d7": 0.45})
    assert (targets["d1"], targets["dau_mau"], targets["d7"]) == (0.5, 0.2, 0.45)
    assert targets["d30"] == 0.25
