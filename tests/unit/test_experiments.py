"""opsbook.experiments: engine aggregates against plain pandas, hygiene on hand-made data, the
decision rule on constructed cases, and the sample generator's planted effects recovered."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower

from opsbook import experiments, stats
from opsbook.config import ENGINE_ENV
from opsbook.experiments import (
    MetricDefinition,
    decide,
    default_control,
    evaluate,
    more_days_needed,
    prepare,
)
from opsbook.report import start

UTC = "UTC"


def open_report(folder: Path, **kwargs):
    return start("ab_test", data=str(folder), lang="en", **kwargs)


# ---------------------------------------------------------------------------- small rules


@pytest.mark.parametrize(
    ("variants", "control"),
    [
        (["treatment", "control"], "control"),
        (["B", "A", "C"], "A"),
        (["gate_40", "gate_30"], "gate_30"),
        (["v10", "v9"], "v9"),  # natural order, not text order
        (["new", "Old"], "Old"),
        (["Ctrl", "x"], "Ctrl"),
        (["blue", "green"], "blue"),
    ],
)
def test_default_control(variants, control):
    assert default_control(variants) == control


def test_metric_definitions_parse_and_refuse():
    d = MetricDefinition.parse({"name": "rpo", "numerator": "revenue", "denominator": "orders"})
    assert d.kind == "ratio" and d.direction == "higher_is_better" and not d.guardrail
    d = MetricDefinition.parse(
        {"name": "r", "kind": "mean", "numerator": "x", "direction": "lower", "guardrail": 1}
    )
    assert d.direction == "lower_is_better" and d.guardrail is True
    for bad in (
        {"name": "x", "kind": "mean", "numerator": "x", "colour": "red"},
        {"name": "x", "kind": "ratio", "numerator": "x"},
        {"name": "x", "kind": "mean", "numerator": "x", "denominator": "y"},
        {"name": "x", "kind": "median", "numerator": "x"},
        {"name": "x", "kind": "mean", "numerator": "x", "direction": "up"},
        {"name": "x", "kind": "mean", "numerator": "x", "margin": 2},
        {"name": "x", "kind": "proportion", "numerator": "x", "winsorize": 0.99},
        {"name": "x", "kind": "mean", "numerator": "x", "winsorize": 1.5},
    ):
        with pytest.raises(ValueError):
            MetricDefinition.parse(bad)


def test_metric_selection_merges_and_orders():
    merged = experiments._merge_definitions(
        experiments.default_event_metrics(),
        [{"name": "carts", "kind": "mean", "numerator": "event:add_to_cart"}],
        ["carts", "conversion"],
    )
    assert [m.name for m in merged] == ["carts", "conversion"]
    # declarations without a choice: the declared metrics, in their order
    merged = experiments._merge_definitions(
        experiments.default_event_metrics(),
        [{"name": "revenue_per_user", "kind": "mean", "numerator": "revenue", "winsorize": 0.9}],
        None,
    )
    assert [(m.name, m.winsorize) for m in merged] == [("revenue_per_user", 0.9)]
    with pytest.raises(ValueError, match="unknown metric"):
        experiments._merge_definitions(experiments.default_event_metrics(), None, ["nope"])


def test_planned_split():
    assert experiments._planned_shares(None, ["a", "b"]) == {"a": 0.5, "b": 0.5}
    assert experiments._planned_shares([1, 3], ["a", "b"]) == {"a": 0.25, "b": 0.75}
    assert experiments._planned_shares({"b": 60, "a": 40}, ["a", "b"]) == {"a": 0.4, "b": 0.6}
    for bad in ([1], {"a": 1}, [1, -1], [0, 0]):
        with pytest.raises(ValueError):
            experiments._planned_shares(bad, ["a", "b"])


def test_more_days_needed_matches_a_power_solver():
    # n per variant needed for power 0.8 at the observed effect, by statsmodels:
    # NormalIndPower().solve_power(effect_size=delta/sd, alpha=0.05, power=0.8, ratio=1)
    sd, n, delta, days_run = 2.0, 1000, 0.12, 20
    se = sd * math.sqrt(2 / n)
    needed = NormalIndPower().solve_power(effect_size=delta / sd, alpha=0.05, power=0.8)
    days, users = more_days_needed(delta, se, days_run=days_run, users=n)
    assert users == pytest.approx(needed - n, abs=1.5)
    assert days == math.ceil((needed / n - 1) * days_run)
    assert more_days_needed(0.0, se, days_run=10) == (None, None)
    assert more_days_needed(delta, se, days_run=None, users=n)[0] is None


# ---------------------------------------------------------------------------- decision rule


def result_rows(*rows):
    base = {
        "valid": True,
        "direction": "higher_is_better",
        "abs_se": 0.01,
        "variant_n": 1000,
        "non_inferior": None,
    }
    return pd.DataFrame([base | r for r in rows])


def primary(variant="B", lift=0.03, p=0.01, **kw):
    return {"metric": "conv", "variant": variant, "role": "primary", "abs_lift": lift,
            "p_value": p, "p_adjusted": p} | kw  # fmt: skip


def guard(variant="B", lift=-0.02, p=0.01, **kw):
    return {"metric": "refunds", "variant": variant, "role": "guardrail", "abs_lift": lift,
            "p_value": p, "p_adjusted": min(1.0, 3 * p), "direction": "lower_is_better"} | kw  # fmt: skip


def test_decision_ship_and_dont_ship():
    ok = decide(result_rows(primary()), srm_status="ok")
    assert (ok.decision, ok.variant, ok.reason) == ("ship", "B", "primary_better")
    # the SRM check overrides everything
    assert decide(result_rows(primary()), srm_status="invalid").decision == "invalid"
    # a warning does not
    assert decide(result_rows(primary()), srm_status="warn").decision == "ship"
    worse = decide(result_rows(primary(lift=-0.03)), srm_status="ok")
    assert (worse.decision, worse.reason) == ("dont_ship", "primary_worse")
    # lower is better: a significant drop is a win
    down = decide(result_rows(primary(lift=-0.03, direction="lower_is_better")), srm_status="ok")
    assert down.decision == "ship"


def test_decision_guardrails():
    # refunds (lower is better) went UP significantly: harm blocks the winner
    harmed = decide(result_rows(primary(), guard(lift=0.02, p=0.02)), srm_status="ok")
    assert (harmed.decision, harmed.reason, harmed.blocking) == (
        "dont_ship",
        "guardrail",
        ("refunds",),
    )
    # the guardrail improved: no harm
    assert decide(result_rows(primary(), guard(lift=-0.02)), srm_status="ok").decision == "ship"
    # harm is judged on the unadjusted p (0.02 here; adjusted 0.06 would have missed it)
    assert decide(result_rows(primary(), guard(lift=0.02, p=0.02)), srm_status="ok").blocking
    # with a margin the guardrail must be shown non-inferior
    not_shown = guard(lift=0.0, p=0.9, non_inferior=False)
    assert decide(result_rows(primary(), not_shown), srm_status="ok").decision == "dont_ship"
    shown = guard(lift=0.0, p=0.9, non_inferior=True)
    assert decide(result_rows(primary(), shown), srm_status="ok").decision == "ship"


def test_decision_inconclusive_and_days():
    flat = decide(result_rows(primary(lift=0.01, p=0.3)), srm_status="ok", days_run=14)
    assert (flat.decision, flat.reason) == ("inconclusive", "not_significant")
    k = ((1.959964 + 0.841621) * 0.01 / 0.01) ** 2
    assert flat.days_needed == math.ceil(14 * (k - 1))
    assert flat.users_needed == math.ceil(1000 * (k - 1))
    degenerate = decide(result_rows(primary(valid=False, p=np.nan)), srm_status="ok")
    assert (degenerate.decision, degenerate.reason) == ("inconclusive", "degenerate")


def test_decision_several_variants():
    rows = result_rows(primary("B", lift=0.02), primary("C", lift=0.05), primary("D", p=0.4))
    best = decide(rows, srm_status="ok")
    assert (best.decision, best.variant) == ("ship", "C")
    # one worse, one still open: not decided yet
    rows = result_rows(primary("B", lift=-0.02), primary("C", lift=0.01, p=0.4))
    assert decide(rows, srm_status="ok").decision == "inconclusive"
    rows = result_rows(primary("B", lift=-0.02), primary("C", lift=-0.01, p=0.001))
    assert decide(rows, srm_status="ok").decision == "dont_ship"


# ---------------------------------------------------------------------------- hand-made data


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A tiny shop with one experiment full of hygiene problems (times in UTC; Shanghai +8)."""
    folder = tmp_path_factory.mktemp("handmade")
    t0 = ts("2026-03-01 02:00")
    assignments = [("exp1", i, "control" if i % 2 else "treatment", t0 + pd.Timedelta(hours=i))
                   for i in range(1, 21)]  # fmt: skip
    assignments += [
        ("exp1", 21, "control", ts("2026-03-01 05:00")),
        ("exp1", 21, "control", ts("2026-03-02 05:00")),  # a duplicate: the first one is kept
        ("exp1", 22, "control", ts("2026-03-01 06:00")),
        ("exp1", 22, "treatment", ts("2026-03-01 07:00")),  # in both variants
        ("exp1", 23, "treatment", ts("2026-02-20 06:00")),  # before the start date
        ("exp1", 24, None, ts("2026-03-01 08:00")),  # a row without variant...
        ("exp1", 24, "control", ts("2026-03-01 09:00")),  # ...the user stays with this one
        ("exp1", 25, "treatment", ts("2026-03-25 06:00")),  # its window ends after the data
        ("exp2", 26, "A", ts("2026-03-01 06:00")),
    ]
    frame = pd.DataFrame(assignments, columns=["experiment", "user_id", "variant", "ts"])
    frame.to_parquet(folder / "assignments.parquet")
    x = {i: t0 + pd.Timedelta(hours=i) for i in range(1, 21)}
    day = pd.Timedelta(days=1)
    orders = [
        (1, 1, x[1] + day, 10.0, "paid"),
        (2, 1, x[1] + 20 * day, 99.0, "paid"),  # after the window
        (3, 1, x[1] - 3 * day, 7.0, "paid"),  # pre-period
        (4, 2, x[2] + day, 20.0, "paid"),
        (5, 2, x[2] + 2 * day, 30.0, "paid"),
        (6, 2, x[2] + 2 * day, 50.0, "refunded"),  # not paid: never counted
        (7, 3, x[3], 5.0, "paid"),  # at the exposure instant: counted
        (8, 4, x[4] + 14 * day, 8.0, "paid"),  # at ts + 14 days: outside [ts, ts + 14d)
        (9, 21, ts("2026-03-01 05:00") + day, 40.0, "paid"),  # from the FIRST exposure
        (10, 6, x[6] - 30 * day, 3.0, "paid"),  # before the 28-day pre-period
        (11, 8, x[8] - 27 * day, 4.0, "paid"),  # inside it
        (12, 30, ts("2026-03-30 10:00"), 1.0, "paid"),  # last order: data end 03-31 local
    ]
    pd.DataFrame(orders, columns=["order_id", "user_id", "ts", "amount", "status"]).to_parquet(
        folder / "orders.parquet"
    )
    events = [
        (1, x[1] + day, "add_to_cart"),
        (1, x[1] + 2 * day, "add_to_cart"),
        (1, x[1] - day, "add_to_cart"),  # pre-period
        (2, x[2] + day, "add_to_cart"),
        (2, x[2] + day, "view_item"),
    ]
    pd.DataFrame(events, columns=["user_id", "ts", "event"]).to_parquet(folder / "events.parquet")
    users = pd.DataFrame(
        {
            "user_id": range(1, 31),
            "signup_ts": ts("2026-01-01"),
            "channel": ["organic", "search", "social"] * 10,
        }
    )
    users.to_parquet(folder / "users.parquet")
    return folder


@pytest.fixture(scope="module")
def shop_report(shop):
    return open_report(shop, tables=("assignments", "orders"))


@pytest.fixture(scope="module")
def sample_report(sample_dir):
    return open_report(sample_dir, tables=("assignments", "orders"))


def test_hygiene_counts_on_hand_made_assignments(shop_report):
    report = shop_report
    exp = prepare(report, exposure_start="2026-03-01", segments=["channel"])
    assert exp.name == "exp1"  # the first row's experiment
    assert exp.other_experiments == ("exp2",)
    hygiene = exp.hygiene.set_index("reason")
    assert hygiene.loc["missing_values", "rows"] == 1
    assert (hygiene.loc["several_variants", "users"], hygiene.loc["several_variants", "rows"]) == (
        1,
        2,
    )
    assert hygiene.loc["outside_dates", "users"] == 1
    assert hygiene.loc["window_incomplete", "users"] == 1
    assert hygiene.loc["misaligned", "users"] == 0
    assert (hygiene.loc["duplicate_rows", "users"], hygiene.loc["duplicate_rows", "rows"]) == (1, 1)
    assert exp.rows_read == 28  # the rows of exp1
    # kept: users 1..20, 21 (control), 24 (control)
    assert exp.users == {"control": 12, "treatment": 10}
    assert exp.control == "control" and exp.variants == ("control", "treatment")
    # data end: midnight after the last order, local time
    assert exp.data_end == pd.Timestamp("2026-03-30 16:00").to_pydatetime()


def test_window_measures_on_hand_made_data(shop_report):
    report = shop_report
    exp = prepare(
        report,
        experiment="exp1",
        exposure_start="2026-03-01",
        metric_definitions=[
            {"name": "conversion", "kind": "proportion", "numerator": "orders"},
            {"name": "revenue_per_user", "kind": "mean", "numerator": "revenue"},
            {
                "name": "revenue_per_order",
                "kind": "ratio",
                "numerator": "revenue",
                "denominator": "orders",
            },
            {"name": "carts", "kind": "mean", "numerator": "event:add_to_cart"},
        ],
        segments=["channel", "no_such_column"],
    )
    c = exp.sufficient_stats("revenue_per_user", "control", cuped=True)
    # control users with window revenue: 1 (10), 3 (5), 21 (40); pre-period: 1 (7)
    assert (c.n, c.y_sum, c.y_sum_squares) == (12, 55.0, 100 + 25 + 1600)
    assert (c.x_sum, c.xy_sum) == (7.0, 70.0)
    t = exp.sufficient_stats("revenue_per_user", "treatment", cuped=True)
    # treatment: 2 (20 + 30; the refund is not paid), 4 (order at ts + 14 d: out); pre: 8 (4)
    assert (t.n, t.y_sum, t.x_sum, t.xy_sum) == (10, 50.0, 4.0, 0.0)
    conv = exp.sufficient_stats("conversion", "control")
    assert (conv.n, conv.sum, conv.sum_squares) == (12, 3.0, 3.0)
    ratio = exp.sufficient_stats("revenue_per_order", "treatment")
    assert (ratio.num_sum, ratio.den_sum, ratio.cross_sum) == (50.0, 2.0, 100.0)
    carts = exp.sufficient_stats("carts", "control", cuped=True)
    assert (carts.y_sum, carts.x_sum, carts.xy_sum) == (2.0, 1.0, 2.0)
    assert exp.missing_segments == ("no_such_column",)
    seg = exp.segments.groupby("variant")["users"].sum()
    assert seg.to_dict() == {"control": 12, "treatment": 10}
    # daily rows add up to the totals
    assert exp.sums.groupby("variant")["users"].sum().to_dict() == exp.users


def test_results_table_with_misaligned_rows_and_inference(tmp_path):
    rows = []
    for i in range(40):
        group = "control" if i % 2 else "treatment"
        page = "old_page" if group == "control" else "new_page"
        rows.append((f"u{i:03d}", group, page, i % 3 == 0, float(i % 5), float(i % 4)))
    rows += [
        ("u900", "control", "new_page", True, 1.0, 0.0),  # misaligned only
        ("u901", "treatment", "old_page", False, 2.0, 0.0),  # misaligned...
        ("u901", "treatment", "new_page", True, 2.0, 0.0),  # ...so the user goes entirely
        ("u902", "control", "old_page", True, 3.0, 1.0),
        ("u902", "treatment", "new_page", True, 3.0, 1.0),  # several variants wins the tie
        ("u002", "control", "old_page", False, 4.0, 9.0),  # u002 is a treatment user: several
        ("u004", "treatment", "new_page", False, 4.0, 0.0),  # an exact copy of u004's row
    ]
    frame = pd.DataFrame(
        rows, columns=["user_id", "variant", "page", "converted", "amount", "pre_amount"]
    )
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    report = open_report(tmp_path, tables=("experiment_results",))
    exp = prepare(
        report,
        exposure_check="(variant == 'treatment') == (page == 'new_page')",
        segments=["page"],
    )
    h = exp.hygiene.set_index("reason")
    assert (h.loc["several_variants", "users"], h.loc["several_variants", "rows"]) == (2, 4)
    assert (h.loc["misaligned", "users"], h.loc["misaligned", "rows"]) == (2, 3)
    assert (h.loc["duplicate_rows", "users"], h.loc["duplicate_rows", "rows"]) == (1, 1)
    assert exp.users == {"control": 20, "treatment": 19}  # u002 out, u004 kept once
    kinds = {m.name: m.kind for m in exp.metrics}
    assert kinds == {"converted": "proportion", "amount": "mean"}  # pre_amount: a covariate
    assert exp.covariates == (None, "pre_amount")
    assert exp.name == "experiment_results"
    kept = frame.iloc[:40]
    kept = kept[kept.user_id != "u002"]
    for variant, part in kept.groupby("variant"):
        s = exp.sufficient_stats("amount", variant, cuped=True)
        assert s.y_sum == pytest.approx(part.amount.sum())
        assert s.xy_sum == pytest.approx((part.amount * part.pre_amount).sum())


def test_winsorising_in_the_engine(shop_report):
    report = shop_report
    exp = prepare(
        report,
        exposure_start="2026-03-01",
        metrics=["revenue_per_user"],
        winsorize=0.95,
        segments=[],
    )
    # the kept users' window revenues: 10, 50, 5, 40 and 18 zeros; the cap is their 95th
    # percentile (linear interpolation, as numpy.quantile)
    values = np.array([10.0, 50.0, 5.0, 40.0] + [0.0] * 18)
    cap = np.quantile(values, 0.95)
    assert exp.caps["revenue_per_user"] == pytest.approx(cap)
    total = sum(exp.sufficient_stats("revenue_per_user", v).sum for v in exp.variants)
    assert total == pytest.approx(np.minimum(values, cap).sum())


# ---------------------------------------------------------------------------- the sample shop


def pandas_window_sums(folder: Path, name: str, window=14, pre=28) -> pd.DataFrame:
    """Per variant: n, Σ, Σ² and cross-products of orders/revenue and their pre-period values,
    by plain pandas (independent of the engine code)."""
    a = pd.read_parquet(folder / "assignments.parquet")
    a = a[a.experiment == name][["user_id", "variant", "ts"]]
    assert a.user_id.is_unique
    o = pd.read_parquet(folder / "orders.parquet")
    o = o[o.status.isna() | (o.status == "paid")][["user_id", "ts", "amount"]]
    m = a.merge(o, on="user_id", suffixes=("", "_o"))
    post = (m.ts_o >= m.ts) & (m.ts_o < m.ts + pd.Timedelta(days=window))
    before = (m.ts_o >= m.ts - pd.Timedelta(days=pre)) & (m.ts_o < m.ts)
    m = m.assign(
        orders=post.astype(float),
        revenue=m.amount.where(post, 0.0),
        pre_orders=before.astype(float),
        pre_revenue=m.amount.where(before, 0.0),
    )
    per_user = m.groupby("user_id")[["orders", "revenue", "pre_orders", "pre_revenue"]].sum()
    users = a.set_index("user_id").join(per_user).fillna(0.0)
    users["converted"] = (users.orders > 0).astype(float)
    users["pre_converted"] = (users.pre_orders > 0).astype(float)
    return users


def test_engine_sums_match_pandas_on_the_sample(sample_dir, sample_report):
    report = sample_report
    for name in ("checkout_button", "price_display"):
        exp = prepare(report, experiment=name, segments=[])
        users = pandas_window_sums(sample_dir, name)
        for variant, part in users.groupby("variant"):
            conv = exp.sufficient_stats("conversion", variant, cuped=True)
            assert conv.n == len(part)
            assert conv.y_sum == part.converted.sum()
            assert conv.xy_sum == (part.converted * part.pre_converted).sum()
            rev = exp.sufficient_stats("revenue_per_user", variant, cuped=True)
            assert rev.y_sum == pytest.approx(part.revenue.sum(), rel=1e-12)
            assert rev.y_sum_squares == pytest.approx((part.revenue**2).sum(), rel=1e-12)
            assert rev.x_sum == pytest.approx(part.pre_revenue.sum(), rel=1e-12)
            assert rev.xy_sum == pytest.approx((part.revenue * part.pre_revenue).sum(), rel=1e-12)
            ratio = exp.sufficient_stats("revenue_per_order", variant)
            assert ratio.den_sum == part.orders.sum()
            assert ratio.cross_sum == pytest.approx((part.revenue * part.orders).sum(), rel=1e-12)
        assert exp.hygiene["rows"].sum() == 0


def test_results_agree_with_scipy_on_the_sample(sample_dir, sample_report):
    report = sample_report
    exp = prepare(report, experiment="checkout_button", segments=["channel", "device"])
    ab = evaluate(exp, cuped=False)
    users = pandas_window_sums(sample_dir, "checkout_button")
    c = users[users.variant == "control"].revenue
    t = users[users.variant == "treatment"].revenue
    row = ab.results.set_index("metric").loc["revenue_per_user"]
    # scipy.stats.ttest_ind(t, c, equal_var=False)
    assert row.p_value == pytest.approx(sps.ttest_ind(t, c, equal_var=False).pvalue, rel=1e-9)
    assert row.control_mean == pytest.approx(c.mean()) and row.variant_mean == pytest.approx(
        t.mean()
    )
    # the last cumulative day is the whole experiment
    last = ab.cumulative.iloc[-1]
    conv = ab.results.set_index("metric").loc["conversion"]
    assert last.rel_lift == pytest.approx(conv.rel_lift)
    assert last.rel_ci_high == pytest.approx(conv.rel_ci_high)
    # the daily balance counts every user once; segments add up to the totals
    assert ab.daily.groupby("variant")["users"].sum().to_dict() == exp.users
    for _, part in ab.segments.groupby("segment"):
        assert part.control_users.sum() == exp.users["control"]
    # the family of the primary metric is adjusted on its own (one test: unchanged)
    assert conv.p_adjusted == conv.p_value
    other = ab.results[ab.results.role != "primary"]
    # statsmodels.stats.multitest.multipletests(other.p_value, method="holm")[1]
    assert np.allclose(other.p_adjusted, stats.adjust_pvalues(other.p_value, "holm"))
    metrics = ab.metrics()
    assert all(set(r) == set(experiments.RESULT_KEYS) for r in metrics["results"])
    json.dumps(metrics)  # plain JSON


def test_methods_and_parameters(sample_dir, sample_report):
    report = sample_report
    exp = prepare(report, experiment="homepage_aa", segments=[])
    welch = evaluate(exp).results.set_index("metric")
    seq = evaluate(exp, method="sequential", tuning_n=2000).results.set_index("metric")
    # an always-valid interval is wider than the fixed-horizon one
    width = lambda r: r.rel_ci_high - r.rel_ci_low  # noqa: E731
    assert width(seq.loc["conversion"]) > width(welch.loc["conversion"])
    prior = evaluate(exp, prior_sd=0.01).results.set_index("metric")
    # a tight prior around 0 pulls the chance to win towards one half
    assert abs(prior.loc["conversion"].chance_to_win - 0.5) < abs(
        welch.loc["conversion"].chance_to_win - 0.5
    )
    ab = evaluate(exp, planned_split={"A": 0.5, "B": 0.5, "C": 0.0})
    assert ab.srm.status == "ok" and set(ab.planned) == {"A", "B", "C"}
    with pytest.raises(ValueError):
        evaluate(exp, method="bayes")
    with pytest.raises(ValueError, match="not a variant"):
        prepare(report, experiment="homepage_aa", control="Z", segments=[])
    with pytest.raises(ValueError, match="not in the source"):
        prepare(report, experiment="nope")


# ---------------------------------------------------------------------------- planted effects


@pytest.fixture(scope="module")
def big_sample(tmp_path_factory) -> Path:
    """20,000 users: enough for the planted effects to show (about 3 s to generate)."""
    from opsbook.sample import generate_sample

    return generate_sample(tmp_path_factory.mktemp("big"), users=20_000, days=150, seed=5)


def test_planted_effects_are_recovered(big_sample):
    truth = json.loads((big_sample / "truth.json").read_text())["experiments"]
    report = open_report(big_sample, tables=("assignments", "orders"))

    checkout = evaluate(prepare(report, experiment="checkout_button", segments=[]))
    row = checkout.results.set_index("metric").loc["conversion"]
    planted = truth["checkout_button"]
    assert checkout.experiment.users == planted["users"]
    assert row.control_mean == pytest.approx(planted["observed"]["control"], abs=1e-6)
    assert row.variant_mean == pytest.approx(planted["observed"]["treatment"], abs=1e-6)
    assert row.rel_ci_low < planted["true_rel_lift"] < row.rel_ci_high
    assert checkout.decision.decision == "ship" and checkout.valid

    price = prepare(report, experiment="price_display", metrics=["revenue_per_user"], segments=[])
    adjusted = evaluate(price).results.iloc[0]
    raw = evaluate(price, cuped=False).results.iloc[0]
    planted = truth["price_display"]
    assert adjusted.rel_ci_low < planted["true_rel_lift"] < adjusted.rel_ci_high
    assert adjusted.cuped_applied and adjusted.variance_reduction > 0.2
    assert (adjusted.rel_ci_high - adjusted.rel_ci_low) < (raw.rel_ci_high - raw.rel_ci_low)
    assert adjusted.rel_ci_low_unadjusted == pytest.approx(raw.rel_ci_low)

    aa = evaluate(prepare(report, experiment="homepage_aa", segments=[]))
    assert aa.experiment.control == "A"
    assert (aa.results.p_adjusted > 0.05).all()
    assert aa.decision.decision == "inconclusive" and aa.srm.status == "ok"

    srm = evaluate(prepare(report, experiment="banner_srm", segments=[]))
    assert srm.experiment.users == truth["banner_srm"]["users"]
    # scipy.stats.chisquare(observed counts) against an even split
    counts = list(truth["banner_srm"]["users"].values())
    assert srm.srm.p_value == pytest.approx(sps.chisquare(counts).pvalue)
    assert srm.srm.status == "invalid" and not srm.valid
    assert srm.decision.decision == "invalid"


def test_explore_only_outside_batch_runs_and_headline(sample_report, monkeypatch):
    exp = prepare(sample_report, experiment="checkout_button", segments=[])
    monkeypatch.setenv("OPSBOOK_BATCH", "1")
    assert experiments.explore(sample_report, exp) is None
    monkeypatch.delenv("OPSBOOK_BATCH")
    widget = experiments.explore(sample_report, exp, method="z")
    assert widget is not None and widget.children[0].children[0].value == "z"
    headline = evaluate(exp).headline("zh")
    assert headline[0]["value"] in {"上线", "不上线", "尚无定论", "实验无效"}
    assert 3 <= len(headline) <= 5


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def test_a_users_duplicate_rows_keep_one_whole_row(tmp_path, monkeypatch, engine):
    """Without an exposure time, a user's rows in one variant keep the row with the smallest
    metric values, every column of it (never one column from each row); with a time, the
    first exposure's row. On every engine."""
    monkeypatch.setenv(ENGINE_ENV, engine)
    rows = [
        (f"u{i:03d}", "control" if i % 2 else "treatment", "p", i % 3 == 0, float(i % 5))
        for i in range(20)
    ]
    rows += [
        ("u100", "control", "late", True, 9.0),
        ("u100", "control", "first", True, 1.0),  # the smallest (amount, converted)
        ("u100", "control", "other", False, 4.0),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "variant", "page", "converted", "amount"])
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    exp = prepare(open_report(tmp_path, tables=("experiment_results",)), segments=["page"])
    h = exp.hygiene.set_index("reason")
    assert (h.loc["duplicate_rows", "users"], h.loc["duplicate_rows", "rows"]) == (1, 2)
    kept = pd.concat([frame.iloc[:20], frame.iloc[[21]]])
    control = kept[kept.variant == "control"]
    amount = exp.sufficient_stats("amount", "control", cuped=False)
    assert (amount.n, amount.sum) == (len(control), control.amount.sum())
    converted = exp.sufficient_stats("converted", "control", cuped=False)
    assert converted.sum == control.converted.sum()
    pages = exp.segments.groupby("value")["users"].sum().to_dict()
    assert pages == {"p": 20, "first": 1}

    frame = frame.assign(ts=pd.Timestamp("2026-03-01") + pd.to_timedelta(range(len(frame)), "h"))
    frame.loc[22, "ts"] = pd.Timestamp("2026-02-01")  # "other" is u100's first exposure
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    exp = prepare(open_report(tmp_path, tables=("experiment_results",)), segments=["page"])
    pages = exp.segments.groupby("value")["users"].sum().to_dict()
    assert pages == {"p": 20, "other": 1}
    amount = exp.sufficient_stats("amount", "control", cuped=False)
    assert amount.sum == frame.iloc[:20].query("variant == 'control'").amount.sum() + 4.0


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def test_rows_with_missing_values_are_counted_and_never_a_users_first_row(
    tmp_path, monkeypatch, engine
):
    """Rows without a user or a variant are counted as missing values, in the same scan that
    groups the users; a user with no complete row is no user of the test, and an incomplete
    row never stands for a user's first exposure (even when its metric is the smallest)."""
    monkeypatch.setenv(ENGINE_ENV, engine)
    rows = [(f"u{i:03d}", "control" if i % 2 else "treatment", float(i + 1)) for i in range(20)]
    rows += [
        (None, "control", 5.0),  # no user
        ("u100", None, 7.0),  # this user's only row has no variant
        ("u001", None, 0.0),  # u001's complete row is its first exposure, not this one
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "variant", "amount"])
    frame.to_parquet(tmp_path / "experiment_results.parquet")
    exp = prepare(open_report(tmp_path, tables=("experiment_results",)))
    h = exp.hygiene.set_index("reason")
    assert h.loc["missing_values", "rows"] == 3
    assert exp.rows_read == len(frame)
    assert h.drop(index="missing_values")["users"].sum() == 0
    assert exp.users == {"control": 10, "treatment": 10}
    complete = frame.iloc[:20]
    amount = exp.sufficient_stats("amount", "control", cuped=False)
    assert amount.sum == complete[complete.variant == "control"].amount.sum()
