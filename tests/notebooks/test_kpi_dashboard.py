"""The weekly KPI dashboard end to end on the sample shop, checked against plain pandas."""

from __future__ import annotations

import html
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import yaml

from opsbook.run import run_reports
from opsbook.stats.forecast import forecast
from opsbook.targets import STATUSES
from tests.conftest import ROOT
from tests.pages import data_values, language_problems, summary_problems, tick_problems

TZ = "Asia/Shanghai"
ISSUE_KPIS = (
    "new_users", "dau_mau", "d1_retention", "d7_retention", "d30_retention",
    "first_order_conversion", "repeat_purchase_rate", "arpu", "cac", "k_factor",
    "content_interaction_rate", "content_conversion", "campaign_conversion", "campaign_roi",
    "data_accuracy",
)  # fmt: skip


def local_day(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(TZ).dt.date


def run_in(lang, sample_dir, tmp_path_factory):
    """The run folder of the report in ``lang`` with a project config that points at its own
    targets file."""
    out = tmp_path_factory.mktemp(f"kpi_run_{lang}")
    (out / "my_targets.yml").write_text(yaml.safe_dump({"kpis": {"arpu": {"target": 40}}}))
    config = out / "opsbook.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "timezone": TZ,
                "run": {"notebooks": str(ROOT / "notebooks")},
                "reports": {"kpi_dashboard": {"targets": "my_targets.yml"}},
            }
        )
    )
    result = run_reports(
        ["kpi_dashboard"], config=config, data=str(sample_dir), out=out / "reports", lang=lang
    )
    assert result.ok, result.manifest["reports"]["kpi_dashboard"]["error"]
    return result.folder


@pytest.fixture(scope="module")
def folders(sample_dir, sample_run, tmp_path_factory):
    """English: the session's run of every report on the sample (tests/conftest.py), whose
    project config points at a targets file of its own (ARPU's target: 40), as :func:`run_in`
    writes it for Chinese."""
    entry = sample_run.manifest["reports"]["kpi_dashboard"]
    assert entry["status"] == "ok", entry["error"]
    return {"en": sample_run.folder, "zh": run_in("zh", sample_dir, tmp_path_factory)}


@pytest.fixture(scope="module")
def run(folders):
    """The English run's metrics and page."""
    metrics = json.loads((folders["en"] / "kpi_dashboard.metrics.json").read_text())
    page = (folders["en"] / "kpi_dashboard.html").read_text()
    return metrics, page


@pytest.fixture(scope="module")
def shop(sample_dir):
    tables = {
        name: pd.read_parquet(sample_dir / f"{name}.parquet")
        for name in ("users", "events", "orders", "spend")
    }
    tables["truth"] = json.loads((sample_dir / "truth.json").read_text())
    return tables


def test_the_last_complete_week_is_reported(run, shop):
    metrics, page = run
    newest = local_day(shop["events"]["ts"]).max()  # Saturday 2026-10-31 in the sample
    sunday = newest - timedelta(days=(newest.weekday() + 1) % 7)
    assert metrics["period_end"] == sunday.isoformat() == "2026-10-25"
    assert metrics["period_start"] == (sunday - timedelta(days=6)).isoformat()
    assert "the last complete week of the data" in page


def test_metrics_keys(run):
    metrics, _ = run
    assert {"period_start", "period_end", "kpis", "headline"} <= set(metrics)
    assert set(ISSUE_KPIS) <= set(metrics["kpis"])
    for name, entry in metrics["kpis"].items():
        assert {"value", "target", "direction", "status", "previous", "change"} <= set(entry)
        assert entry["status"] in STATUSES, name
        if entry["value"] is None:
            assert entry["status"] == "n/a", name


def test_kpis_against_pandas(run, shop):
    metrics, _ = run
    k = metrics["kpis"]
    start, end = (
        date.fromisoformat(metrics["period_start"]),
        date.fromisoformat(metrics["period_end"]),
    )
    users, events, orders = shop["users"], shop["events"], shop["orders"]
    users = users.assign(day=local_day(users["signup_ts"]))
    events = events.assign(day=local_day(events["ts"]))
    paid = orders[orders["status"] == "paid"].assign(day=local_day(orders["ts"]))
    in_week = lambda frame: frame[(frame["day"] >= start) & (frame["day"] <= end)]  # noqa: E731

    assert k["new_users"]["value"] == len(in_week(users))
    week_paid = in_week(paid)
    assert k["gmv"]["value"] == pytest.approx(week_paid["amount"].sum())
    active = set(in_week(events)["user_id"]) | set(week_paid["user_id"])
    assert k["paying_rate"]["value"] == pytest.approx(week_paid["user_id"].nunique() / len(active))
    assert k["arpu"]["value"] == pytest.approx(week_paid["amount"].sum() / len(active))
    # the project's targets file sets ARPU's target to 40 (tests/conftest.py)
    assert k["arpu"]["target"] == 40
    assert k["arpu"]["status"] == ("green" if k["arpu"]["value"] >= 40 else "red")

    # D7: signups 7 days before a day of the week, active on local day signup + 7
    cohort = users[(users["day"] >= start - timedelta(7)) & (users["day"] <= end - timedelta(7))]
    days = set(zip(events["user_id"], events["day"], strict=True))
    retained = sum(
        (u, d + timedelta(7)) in days for u, d in zip(cohort.user_id, cohort.day, strict=True)
    )
    assert k["d7_retention"]["value"] == pytest.approx(retained / len(cohort))
    assert k["d7_retention"]["target"] == 0.40

    # CAC: spend of the week over new users of the channels with spend
    spend = shop["spend"].assign(day=pd.to_datetime(shop["spend"]["date"]).dt.date)
    spend = in_week(spend)
    paid_channels = spend.groupby("channel")["cost"].sum()
    paid_channels = paid_channels[paid_channels > 0].index
    bought = in_week(users)["channel"].isin(paid_channels).sum()
    assert k["cac"]["value"] == pytest.approx(spend["cost"].sum() / bought)
    assert metrics["kpis"]["data_accuracy"]["value"] == 1.0


def test_content_kpis_against_pandas(run, shop):
    metrics, _ = run
    start, end = (
        date.fromisoformat(metrics["period_start"]),
        date.fromisoformat(metrics["period_end"]),
    )
    events = shop["events"].assign(day=local_day(shop["events"]["ts"]))
    week = events[(events["day"] >= start) & (events["day"] <= end)]
    views = week[week["event"] == "content_view"]
    inter = week["event"].isin(["content_like", "content_comment", "content_share"]).sum()
    k = metrics["kpis"]
    assert k["content_interaction_rate"]["value"] == pytest.approx(inter / len(views))
    # last touch: each paid order goes to the user's latest content view in the 24 h before
    all_views = events[events["event"] == "content_view"][["user_id", "ts", "day"]]
    paid = shop["orders"][shop["orders"]["status"] == "paid"][["user_id", "ts"]]
    credited = pd.merge_asof(
        paid.sort_values("ts").rename(columns={"ts": "order_ts"}),
        all_views.sort_values("ts").rename(columns={"ts": "view_ts"}),
        left_on="order_ts",
        right_on="view_ts",
        by="user_id",
        allow_exact_matches=False,
        tolerance=pd.Timedelta(hours=24),
    ).dropna(subset=["view_ts"])
    in_week = credited[(credited["day"] >= start) & (credited["day"] <= end)]
    assert k["content_conversion"]["value"] == pytest.approx(len(in_week) / len(views))


def test_the_planted_outage_is_flagged(run, shop):
    metrics, _ = run
    outage = shop["truth"]["anomalies"]["outage_day"]
    flags = {(a["metric"], a["date"]): a["flag"] for a in metrics["daily_anomalies"]}
    assert flags[("paid_orders", outage)] == "gap"
    assert flags[("active_users", outage)] == "drop"
    # busy weekends are not anomalies: every flagged day of active users is the outage
    assert [d for (m, d) in flags if m == "active_users"] == [outage]


def test_page(run):
    metrics, page = run
    assert "Weekly KPI dashboard" in page and "<script" not in page
    assert "stale by design" in page  # the sample is a static export
    assert "Status rule: met = meets the target" in page
    assert "not proven when the interval contains the target" in page
    labels = [h["label"] for h in metrics["headline"]]
    assert labels[0] == "KPIs on target" and 3 <= len(labels) <= 5


def test_the_summary_comes_first_and_reads_as_a_decision(run):
    metrics, page = run
    summary = page[page.find('class="ob-summary') :]
    assert page.find('class="ob-summary') < page.find("<h2")
    counts = metrics["statuses"]
    judged = sum(counts[s] for s in ("green", "amber", "red", "not_proven"))
    verdict = (
        f"of {judged} KPIs with a target, {counts['green']} met, {counts['not_proven']} not "
        f"proven, {counts['amber']} close and {counts['red']} missed"
    )
    assert verdict in summary[: summary.find("</section>")]
    # the campaign iROI's card shows its interval; the missed KPIs are named in the next steps
    low, high = metrics["kpis"]["campaign_roi"]["interval"]
    assert f"[{low:.3f}, {high:.3f}]" in summary[: summary.find("</section>")]
    assert f"Look into the {counts['red']} missed KPIs" in summary
    # the period's sentence is not repeated: it moved from the top to the rules at the end
    assert page.count("the last complete week of the data") == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_checks(folders, sample_dir, lang):
    """One language (the run header included), the summary first, distinct ticks."""
    page = (folders[lang] / "kpi_dashboard.html").read_text()
    assert language_problems(page, lang, data_values(sample_dir)) == []
    assert summary_problems(page) == []
    assert tick_problems(folders[lang] / "kpi_dashboard.ipynb") == []


def test_forecasts_in_metrics_against_pandas(run, shop):
    """metrics.json's forecasts: every default KPI 8 weeks ahead with its 95 % interval; GMV's
    forecast is the stats module's on the weekly paid GMV computed here with pandas (every
    complete local week from the data's first day to 2026-10-25); ARPU has a target (40 in the run's targets file), so
    its month and quarter chances are known."""
    metrics, page = run
    found = metrics["forecasts"]
    assert set(found) == {"new_users", "active_users", "orders", "gmv", "paying_rate", "arpu"}
    for name, entry in found.items():
        assert entry["horizon_weeks"] == 8 and len(entry["point"]) == 8, name
        assert all(
            lo <= p <= hi
            for lo, p, hi in zip(entry["low"], entry["point"], entry["high"], strict=True)
        )
        assert 0 <= entry["coverage"] <= 1 and entry["accuracy"] <= 1, name
    orders = shop["orders"]
    paid = orders[orders["status"].fillna("paid") == "paid"] if "status" in orders else orders
    day = local_day(paid["ts"])
    # the history: every complete week from the data's first day (an event or a paid order)
    # to the last complete week, 2026-10-25
    last = date(2026, 10, 25)
    first = min(local_day(shop["events"]["ts"]).min(), day.min())
    weeks = ((last - first).days + 1) // 7
    inside = paid[(day > last - timedelta(days=7 * weeks)) & (day <= last)]
    week = [(last - d).days // 7 for d in local_day(inside["ts"])]
    # a week without a paid order is a week of GMV 0
    # summed exactly as the engine does (amounts are whole cents): the float sum rounded to
    # cents. The forecast's fit moves by ~1e-5 when its input moves by 1e-9, so a float sum's
    # last digits would decide the test (on the insight sample they did)
    gmv = inside.groupby(week)["amount"].sum().round(2).reindex(range(weeks), fill_value=0.0)
    gmv = gmv.sort_index(ascending=False)
    expected = forecast(gmv.to_numpy(), 8, season=52, simulate_steps=14)
    assert found["gmv"]["model"] == expected.model
    np.testing.assert_allclose(found["gmv"]["point"], expected.point, rtol=1e-6)
    assert found["gmv"]["accuracy"] == pytest.approx(expected.accuracy)
    assert found["arpu"]["p_target"]["month"] is not None
    assert "Forecast: will we make it?" in page


@pytest.mark.parametrize(("lang", "marker"), [("en", " (default)"), ("zh", "（默认）")])
def test_shipped_targets_are_marked_as_defaults_and_the_projects_are_not(folders, lang, marker):
    """The project's targets file sets ARPU's target (40); every other target is shipped."""
    page = html.unescape((folders[lang] / "kpi_dashboard.html").read_text())
    assert f"≥ 55.0%{marker}" in page  # D1 retention, the shipped target
    assert "40.00" in page and f"40.00{marker}" not in page  # ARPU: the project's own
