"""The KPI forecasts: settings, too short a history, and a month's and quarter's outlook built
by hand (which weeks are done, which are still to come, the target and its chance)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from opsbook.kpi.analysis.forecasts import KpiForecast, _outlook, settings
from opsbook.stats.forecast import Forecast, target_probability
from opsbook.targets import load_targets


def test_settings_refuse_bad_values_at_once():
    assert settings(None)["horizon_weeks"] == 8
    assert settings({"kpis": ["gmv", "gmv", "d7_retention"]})["kpis"] == ["gmv", "d7_retention"]
    for bad in ({"horizon_weeks": 3}, {"horizon_weeks": 13}, {"kpis": ["revenue"]},
                {"accuracy_target": 92}, {"horizon": 8}):  # fmt: skip
        with pytest.raises(ValueError):
            settings(bad)


def test_a_short_history_has_no_forecast_and_says_why(board):
    """The hand-made shop has a few weeks of data: fewer than a forecast needs."""
    found = board.forecasts
    assert found is not None and not found.items
    assert found.notes["gmv"] == "kpi_dashboard.forecast.reason.too_short"
    entry = board.metrics()["forecasts"]["gmv"]
    assert entry["point"] is None and entry["note"] == "kpi_dashboard.forecast.reason.too_short"


def weekly(values, last=date(2026, 10, 25)):
    ends = [last - timedelta(days=7 * i) for i in range(len(values))][::-1]
    return pd.Series(values, index=ends, dtype=float)


def item_with_paths(paths, volume=True, name="gmv"):
    history = weekly([100.0] * 8)
    weeks = tuple(date(2026, 10, 25) + timedelta(days=7 * (i + 1)) for i in range(8))
    result = Forecast(model="naive", horizon=8, point=(100.0,) * 8, paths=paths)
    return KpiForecast(name, "money", volume, history, weeks, result)


def test_month_and_quarter_outlook_by_hand():
    """The period ends Sunday 2026-10-25; the first forecast week ends 11-01, its Thursday is
    10-29: "this month" is October (4 weeks measured, 1 to come) and the quarter Q4 (4 measured;
    10 to come, up to the week ending 2027-01-03 whose Thursday is 12-31)."""
    paths = np.random.default_rng(0).normal(100, 30, (4000, 14))
    item = item_with_paths(paths)
    month = _outlook(item, "month", 7, 480.0, None)
    assert (month.label, month.done, month.remaining, month.actual) == ("2026-10", 4, 1, 400.0)
    assert month.probability == target_probability(paths, 480.0, steps=1, actual=[100.0] * 4)
    # 400 done: the month needs next week >= 80, P(N(100, 30) >= 80) = 0.75
    assert month.probability == pytest.approx(0.75, abs=0.03)
    quarter = _outlook(item, "quarter", 7, None, None)
    assert (quarter.label, quarter.done, quarter.remaining) == ("2026 Q4", 4, 10)
    assert quarter.target is None and quarter.probability is None


def test_period_target_from_the_weekly_target():
    """No month target in the config: GMV's weekly target of 100 summed over October's five
    weeks (volume); a rate's weekly target is averaged instead."""
    paths = np.full((10, 14), 100.0)
    specs = load_targets({"gmv": 100, "paying_rate": 0.2})
    month = _outlook(item_with_paths(paths), "month", 7, None, specs["gmv"])
    assert month.target == 500 and month.probability == 1.0
    rate = _outlook(item_with_paths(paths, volume=False), "month", 7, None, specs["paying_rate"])
    assert rate.target == pytest.approx(0.2)
