"""opsbook.experiments.analysis: the small rules (control, metric definitions, planned split,
days needed), the decision rule on constructed cases, the results against scipy on the sample,
and the sample generator's planted effects recovered."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower

from opsbook import stats
from opsbook.experiments import analysis
from opsbook.experiments.analysis import (
    MetricDefinition,
    decide,
    default_control,
    evaluate,
    more_days_needed,
    prepare,
)
from opsbook.experiments.analysis import experiment as prepared
from opsbook.experiments.analysis import metrics as definitions
from tests.unit.experiments.conftest import open_report, pandas_window_sums

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
    merged = definitions._merge_definitions(
        definitions.default_event_metrics(),
        [{"name": "carts", "kind": "mean", "numerator": "event:add_to_cart"}],
        ["carts", "conversion"],
    )
    assert [m.name for m in merged] == ["carts", "conversion"]
    # declarations without a choice: the declared metrics, in their order
    merged = definitions._merge_definitions(
        definitions.default_event_metrics(),
        [{"name": "revenue_per_user", "kind": "mean", "numerator": "revenue", "winsorize": 0.9}],
        None,
    )
    assert [(m.name, m.winsorize) for m in merged] == [("revenue_per_user", 0.9)]
    with pytest.raises(ValueError, match="unknown metric"):
        definitions._merge_definitions(definitions.default_event_metrics(), None, ["nope"])


def test_planned_split():
    assert prepared._planned_shares(None, ["a", "b"]) == {"a": 0.5, "b": 0.5}
    assert prepared._planned_shares([1, 3], ["a", "b"]) == {"a": 0.25, "b": 0.75}
    assert prepared._planned_shares({"b": 60, "a": 40}, ["a", "b"]) == {"a": 0.4, "b": 0.6}
    for bad in ([1], {"a": 1}, [1, -1], [0, 0]):
        with pytest.raises(ValueError):
            prepared._planned_shares(bad, ["a", "b"])


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


def test_horizon_days():
    # twice the run so far, at least 28 and at most 56 days in all, never less than the run
    days = (1, 3, 14, 23, 28, 43, 60)
    assert [analysis.horizon_days(d) for d in days] == [28, 28, 28, 46, 56, 56, 60]
    with pytest.raises(ValueError):
        analysis.horizon_days(0)


def test_flat_result_is_out_of_reach_with_the_mde_reachable_by_the_horizon():
    # a flat result: lift 0.05 pp, se 1 pp after 14 days, 1,000 users per variant. Detecting
    # such a lift would take ((z_.975 + z_.8)·0.01/0.0005)² − 1 ≈ 3,138 times the run so far
    z = 1.959963984540054 + 0.8416212335729143
    flat = decide(
        result_rows(primary(lift=0.0005, p=0.96, control_mean=0.10)), srm_status="ok", days_run=14
    )
    assert flat.days_needed == math.ceil(14 * ((z * 0.01 / 0.0005) ** 2 - 1))
    reach = flat.reach
    assert reach.out_of_reach and (reach.horizon_days, reach.more_days) == (28, 14)
    assert reach.more_users == 1000
    # by the horizon the sample doubles: the MDE shrinks by sqrt(2)
    assert reach.mde_abs == pytest.approx(z * 0.01 / math.sqrt(2), rel=1e-12)
    assert reach.mde_rel == pytest.approx(reach.mde_abs / 0.10, rel=1e-12)
    # one set with the days: a lift as large as the reachable MDE needs exactly the days allowed
    assert more_days_needed(reach.mde_abs * (1 + 1e-9), 0.01, days_run=14)[0] == 14
    assert more_days_needed(reach.mde_abs * (1 - 1e-6), 0.01, days_run=14)[0] == 15
    # reference: NormalIndPower().power(mde/sd, nobs1=2000, alpha=0.05) at the horizon's 2,000
    # users per variant, sd = se·sqrt(n/2) per user: the stated power (far tail ~1e-6)
    sd = 0.01 * math.sqrt(1000 / 2)
    assert NormalIndPower().power(reach.mde_abs / sd, nobs1=2000, alpha=0.05) == pytest.approx(
        0.8, abs=1e-5
    )
    as_dict = flat.to_dict()["reach"]
    assert as_dict["out_of_reach"] is True and as_dict["abs"] == reach.mde_abs
    json.dumps(flat.to_dict())


def test_reach_within_and_beyond_the_horizon():
    # lift 2.5 pp, se 1 pp after 14 days: 4 more days, inside the 14 allowed
    near = decide(result_rows(primary(lift=0.025, p=0.06)), srm_status="ok", days_run=14)
    assert near.days_needed == 4 and not near.reach.out_of_reach
    assert near.reach.mde_rel is None  # no control mean given
    # a lift of exactly 0: never detectable, out of reach
    zero = decide(result_rows(primary(lift=0.0, p=1.0)), srm_status="ok", days_run=14)
    assert zero.days_needed is None and zero.reach.out_of_reach
    # already past the 8-week horizon: no more days, the MDE is today's
    late = decide(result_rows(primary(lift=0.005, p=0.6)), srm_status="ok", days_run=60)
    assert (late.reach.horizon_days, late.reach.more_days) == (60, 0) and late.reach.out_of_reach
    assert late.reach.mde_abs == pytest.approx(2.8016 * 0.01, rel=1e-4)
    # without exposure days the horizon is doubling the users
    users = decide(result_rows(primary(lift=0.005, p=0.6)), srm_status="ok")
    assert users.reach.horizon_days is None and users.reach.more_users == 1000
    assert users.reach.out_of_reach  # (2.8/0.5)² − 1 ≈ 30 times the users
    assert users.reach.mde_abs == pytest.approx(2.8016 * 0.01 / math.sqrt(2), rel=1e-4)
    # decided tests have no reach
    assert decide(result_rows(primary()), srm_status="ok", days_run=14).reach is None


def test_decision_several_variants():
    rows = result_rows(primary("B", lift=0.02), primary("C", lift=0.05), primary("D", p=0.4))
    best = decide(rows, srm_status="ok")
    assert (best.decision, best.variant) == ("ship", "C")
    # one worse, one still open: not decided yet
    rows = result_rows(primary("B", lift=-0.02), primary("C", lift=0.01, p=0.4))
    assert decide(rows, srm_status="ok").decision == "inconclusive"
    rows = result_rows(primary("B", lift=-0.02), primary("C", lift=-0.01, p=0.001))
    assert decide(rows, srm_status="ok").decision == "dont_ship"


# ---------------------------------------------------------------------------- the sample shop


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
    assert all(set(r) == set(analysis.RESULT_KEYS) for r in metrics["results"])
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


@pytest.mark.parametrize("method", ["welch", "z", "sequential"])
@pytest.mark.parametrize("correction", ["holm", "bh", "none"])
def test_verdicts_agree_with_the_shown_intervals(sample_report, method, correction):
    """Every row of the report: the verdict (adjusted p < alpha) ⇔ the shown absolute and
    relative intervals exclude 0; cumulative and segment rows: p < alpha ⇔ rel_ci excludes 0."""
    excludes = lambda lo, hi: lo > 0 or hi < 0  # noqa: E731
    for name in ("checkout_button", "homepage_aa"):
        exp = prepare(sample_report, experiment=name, segments=["channel"])
        for alternative in ("two-sided", "greater"):
            ab = evaluate(
                exp, method=method, correction=correction, alternative=alternative, tuning_n=2000
            )
            for row in ab.results[ab.results.valid].itertuples():
                significant = row.verdict in ("better", "worse")
                assert significant == (row.p_adjusted < ab.settings.alpha)
                assert significant == excludes(row.abs_ci_low, row.abs_ci_high), row
                assert significant == excludes(row.rel_ci_low, row.rel_ci_high), row
                if correction == "none":
                    assert row.interval_alpha == ab.settings.alpha
            for frame in (ab.cumulative, ab.segments):
                shown = frame.dropna(subset=["rel_ci_low", "p_value"])
                assert (
                    (shown.p_value < ab.settings.alpha)
                    == [
                        excludes(lo, hi)
                        for lo, hi in zip(shown.rel_ci_low, shown.rel_ci_high, strict=True)
                    ]
                ).all()
