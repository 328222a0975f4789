"""Fixtures of the KPI dashboard's tests: the hand-made shop and its dashboard."""

from __future__ import annotations

import pandas as pd
import pytest

from opsbook.kpi import analysis
from tests.unit.kpi.shop import report_of, write_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shop")
    write_shop(folder)
    return folder


@pytest.fixture(scope="module")
def board(shop):
    # the newest event is 2026-01-04 16:35 UTC; the report "runs" half an hour later
    return analysis.dashboard(report_of(shop), trend_weeks=6, now=pd.Timestamp("2026-01-04 17:05"))
