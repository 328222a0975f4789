"""Predicted customer value: BG/NBD and Gamma-Gamma against the published CDNOW fits (Fader,
Hardie & Lee 2005; lifetimes' Quickstart), against simulated populations with planted
parameters, and on degenerate data (flagged, never raised)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

from opsbook.stats import (
    FIT_ISSUES,
    BgNbdFit,
    customer_summary,
    expected_purchases,
    expected_purchases_new,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_check,
    predicted_clv,
    probability_alive,
)
from opsbook.stats.clv import bgnbd_log_likelihood
from tests.conftest import dataset

TRUTH = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 2.5}  # weeks
SPEND_TRUTH = {"p": 6.0, "q": 4.0, "v": 15.0}


# ---------------------------------------------------------------------------------------------
# data


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """CDNOW's 2,357 first-quarter-1997 customers over 39 weeks: x, t_x, T (weeks), zbar."""
    return pd.read_csv(
        dataset("cdnow", "cdnow_customers_summary_with_transactions.csv"), index_col="ID"
    )


def simulate_bgnbd(
    n: int, params: dict[str, float], seed: int, horizon: float = 0.0
) -> pd.DataFrame:
    """A BG/NBD population: ages T ~ U(26, 52) weeks; each customer buys at Poisson rate
    lambda ~ gamma(r, alpha) and after each repeat purchase drops out with p ~ beta(a, b).
    Returns x, t_x, T, whether the customer is alive at T, and purchases in (T, T + horizon]."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params["r"], 1 / params["alpha"], n)
    dropout = rng.beta(params["a"], params["b"], n)
    age = rng.uniform(26, 52, n)
    x, t_x, clock, later = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    alive_at_age = np.ones(n, dtype=bool)
    while active.any():
        who = np.flatnonzero(active)
        clock[who] += rng.exponential(1 / rate[who])
        in_calibration = clock[who] <= age[who]
        in_holdout = ~in_calibration & (clock[who] <= age[who] + horizon)
        active[who[~in_calibration & ~in_holdout]] = False
        buyers = who[in_calibration]
        x[buyers] += 1
        t_x[buyers] = clock[buyers]
        later[who[in_holdout]] += 1
        buying = who[in_calibration | in_holdout]
        died = buying[rng.random(len(buying)) < dropout[buying]]
        active[died] = False
        alive_at_age[died[clock[died] <= age[died]]] = False
    return pd.DataFrame({"x": x, "t_x": t_x, "T": age, "alive": alive_at_age, "later": later})


def truth_fit(params: dict[str, float]) -> BgNbdFit:
    nan = math.nan
    return BgNbdFit(**params, r_se=nan, alpha_se=nan, a_se=nan, b_se=nan, log_likelihood=nan,
                    customers=0.0, rows=0, penalizer=0.0, converged=True, reason=None)  # fmt: skip


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return simulate_bgnbd(20_000, TRUTH, seed=20240611, horizon=26.0)


# ---------------------------------------------------------------------------------------------
# the published CDNOW fits


def test_bgnbd_reproduces_the_published_cdnow_fit(cdnow):
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert fit.converged and fit.reason is None and fit.customers == 2357
    # Fader, Hardie & Lee (2005), sec. 7: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
    # log-likelihood -9582.4
    assert [round(fit.r, 3), round(fit.alpha, 3), round(fit.a, 3), round(fit.b, 3)] == [
        0.243,
        4.414,
        0.793,
        2.426,
    ]
    assert round(fit.log_likelihood, 1) == -9582.4
    # lifetimes' Quickstart: BetaGeoFitter().fit(frequency, recency, T).summary (coef, se).
    # Its b is 2.425752, ours 2.4257534: the likelihood is flat there (the log-likelihood at
    # lifetimes' point and at ours agree to 3e-9), so the sixth digit is the optimiser's; its
    # standard errors (exact autograd Hessian) and ours (extrapolated differences) agree to 2e-6.
    # Tolerances allow for the printed rounding (5e-7) too.
    published = {"r": 0.242593, "alpha": 4.413532, "a": 0.792886, "b": 2.425752}
    published_se = {"r": 0.012557, "alpha": 0.378221, "a": 0.185719, "b": 0.705345}
    for name, value in published.items():
        assert getattr(fit, name) == pytest.approx(value, rel=1e-6, abs=5e-7), name
        assert getattr(fit, f"{name}_se") == pytest.approx(
            published_se[name], rel=2e-6, abs=5e-7
        ), name
    # lifetimes' Quickstart: conditional_expected_number_of_purchases_up_to_time(1, ...) for
    # customers 157 and 1516 (the two best)
    best = cdnow.loc[[157, 1516]]
    assert expected_purchases(fit, 1, best["x"], best["t_x"], best["T"]) == pytest.approx(
        [0.662396, 0.710623], abs=1e-6
    )
    frame = fit.summary_frame()
    assert list(frame.index) == ["r", "alpha", "a", "b"]
    assert (frame["lower"] < frame["estimate"]).all() and (frame["estimate"] < frame["upper"]).all()
    metrics = fit.metrics()
    assert metrics["r"] == fit.r and metrics["converged"] is True and metrics["reason"] is None


def test_gamma_gamma_reproduces_the_published_cdnow_fit(cdnow):
    fit = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert fit.converged and fit.customers == 946 and fit.excluded == 0
    # lifetimes' Quickstart: GammaGammaFitter(penalizer_coef=0).fit(frequency, monetary_value)
    # on the repeat customers -> "fitted with 946 subjects, p: 6.25, q: 3.74, v: 15.45"
    assert [round(fit.p, 2), round(fit.q, 2), round(fit.v, 2)] == [6.25, 3.74, 15.45]
    # ... returning_customers_summary[['monetary_value', 'frequency']].corr() -> 0.113884
    assert fit.frequency_spend_correlation == pytest.approx(0.113884, abs=1e-6)
    # ... conditional_expected_average_profit(frequency, monetary_value) for customers 1..10
    # (repeat customers 1, 2, 6, 9 and the population mean for the others) and its mean
    first_ten = cdnow.loc[1:10]
    spend = expected_spend(fit, first_ten["x"], first_ten["zbar"])
    published = [24.658619, 18.911489, 35.170981, 35.170981, 35.170981, 71.462843]
    assert spend[:6] == pytest.approx(published, rel=1e-6)
    assert spend[2] == pytest.approx(fit.mean_spend)
    assert expected_spend(fit, cdnow["x"], cdnow["zbar"]).mean() == pytest.approx(
        35.2529588256, rel=1e-7
    )
    assert fit.p_se > 0 and fit.q_se > 0 and fit.v_se > 0


def test_predicted_clv_reproduces_lifetimes_cdnow_example(cdnow):
    purchases = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    spend = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    # lifetimes' Quickstart: ggf.customer_lifetime_value(bgf, frequency, recency, T,
    # monetary_value, time=12, discount_rate=0.01) with its default freq="D": a step of 30 of
    # the summary's time units (weeks here), discounted 1 % per step
    first_ten = cdnow.loc[1:10]
    clv = predicted_clv(
        purchases, spend, first_ten["x"], first_ten["t_x"], first_ten["T"], first_ten["zbar"],
        steps=12, step_length=30, discount_rate=0.01,
    )  # fmt: skip
    published = [140.096211, 18.943467, 38.180574, 38.180574, 38.180574, 1003.868107]
    assert clv[:6] == pytest.approx(published, rel=1e-6)
    assert clv[8] == pytest.approx(167.418216, rel=1e-6)
    # margin scales, discounting lowers, and no discount equals spend x expected purchases
    assert predicted_clv(
        purchases, spend, [2], [30.43], [38.86], [22.35], steps=12, step_length=30,
        discount_rate=0.01, margin=0.3,
    ) == pytest.approx(0.3 * clv[0])  # fmt: skip
    undiscounted = predicted_clv(purchases, spend, [2], [30.43], [38.86], [22.35], steps=4)
    plain = expected_spend(spend, [2], [22.35]) * expected_purchases(purchases, 4, 2, 30.43, 38.86)
    assert undiscounted == pytest.approx(plain, rel=1e-12)
    with pytest.raises(ValueError, match="steps"):
        predicted_clv(purchases, spend, [2], [30.43], [38.86], [22.35], steps=0)


def test_cdnow_holdout_check_and_summary_from_transactions(cdnow):
    transactions = pd.read_csv(dataset("cdnow", "cdnow_sample_transactions.csv"))
    calibration = customer_summary(
        transactions, "customer_id", "date", "dollar_value", as_of="1997-09-30", unit_days=7
    )
    # the published summary is this one rounded to two decimals
    assert (calibration["frequency"] == cdnow["x"]).all()
    assert np.allclose(calibration["recency"], cdnow["t_x"], atol=0.005 + 1e-9)
    assert np.allclose(calibration["T"], cdnow["T"], atol=0.005 + 1e-9)
    assert np.allclose(calibration["monetary_value"], cdnow["zbar"], atol=0.005 + 1e-9)
    # holdout: purchase days in weeks 40-78 (1997-10-01 .. 1998-06-30)
    days = pd.to_datetime(transactions["date"])
    later = transactions[days > "1997-09-30"].assign(day=days)
    holdout = later.groupby("customer_id")["day"].nunique().reindex(cdnow.index, fill_value=0)
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    check = holdout_check(fit, cdnow["x"], cdnow["t_x"], cdnow["T"], holdout, 39.0)
    assert list(check["label"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert check["customers"].sum() == 2357
    # Fader, Hardie & Lee (2005), sec. 7: the 1,411 customers without a repeat purchase made
    # 334 purchases in the holdout (0.24 each); BG/NBD predicts 0.23
    zero = check.iloc[0]
    assert zero["customers"] == 1411 and zero["actual"] == pytest.approx(334 / 1411)
    assert round(zero["predicted"], 2) == 0.23
    assert check["predicted"].is_monotonic_increasing


# ---------------------------------------------------------------------------------------------
# weights, formulas and planted truth


def test_pooled_weighted_fit_equals_the_per_customer_fit(cdnow):
    per_customer = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    pooled = cdnow[["x", "t_x", "T"]].value_counts().reset_index()
    weighted = fit_bgnbd(pooled["x"], pooled["t_x"], pooled["T"], weights=pooled["count"])
    assert weighted.rows == len(pooled) < len(cdnow) and weighted.customers == 2357
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert getattr(weighted, name) == pytest.approx(getattr(per_customer, name), rel=1e-6)
    for name in ("r_se", "alpha_se", "a_se", "b_se"):  # numerical Hessians: summation order
        assert getattr(weighted, name) == pytest.approx(getattr(per_customer, name), rel=1e-5)
    # weights count customers: doubling every row doubles the information
    doubled = fit_bgnbd(pooled["x"], pooled["t_x"], pooled["T"], weights=2 * pooled["count"])
    assert doubled.r == pytest.approx(per_customer.r, rel=1e-6)
    assert doubled.log_likelihood == pytest.approx(2 * per_customer.log_likelihood, rel=1e-9)
    assert doubled.alpha_se == pytest.approx(per_customer.alpha_se / math.sqrt(2), rel=1e-4)
    # a penalty pulls the parameters towards 0
    penalised = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], penalizer=0.1)
    assert penalised.converged and penalised.b < per_customer.b
    assert penalised.log_likelihood < per_customer.log_likelihood


def test_probability_alive_and_expectations_match_the_closed_forms():
    fit = truth_fit({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    x = np.array([0.0, 1, 2, 7, 29])
    t_x = np.array([0.0, 1.71, 30.43, 29.43, 37.71])
    age = np.full(5, 38.86)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    alive = probability_alive(fit, x, t_x, age)
    assert alive[0] == 1.0  # no repeat purchase: no chance to have dropped out
    closed = 1 / (1 + a / (b + x[1:] - 1) * ((alpha + age[1:]) / (alpha + t_x[1:])) ** (r + x[1:]))
    assert alive[1:] == pytest.approx(closed, rel=1e-12)
    # the paper's eq. 10 written directly with the Gauss function (fine for moderate x)
    t = 39.0
    z = t / (alpha + age + t)
    direct = (a + b + x - 1) / (a - 1) * (
        1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    ) * alive  # fmt: skip
    assert expected_purchases(fit, t, x, t_x, age)[:4] == pytest.approx(direct[:4], rel=1e-9)
    # eq. 9 for a new customer is eq. 10 at x = 0, T = 0
    new = (a + b - 1) / (a - 1) * (
        1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    )  # fmt: skip
    assert expected_purchases_new(fit, t) == pytest.approx(new, rel=1e-12)
    assert expected_purchases(fit, t, 0, 0, 0) == pytest.approx(new, rel=1e-12)
    # a frequent buyer's expectation stays finite and grows with the horizon
    many = expected_purchases(fit, np.array([1.0, 10, 100]), 120, 38.0, 38.86)
    assert np.all(np.isfinite(many)) and np.all(np.diff(many) > 0)


def test_bgnbd_recovers_planted_parameters(population):
    fit = fit_bgnbd(population["x"], population["t_x"], population["T"])
    assert fit.converged
    for name, truth in TRUTH.items():
        estimate, se = getattr(fit, name), getattr(fit, f"{name}_se")
        assert abs(estimate - truth) < 2.6 * se, (name, estimate, se, truth)
        assert se < 0.25 * truth  # informative, not just wide
    # the likelihood is the paper's: at the optimum it beats the truth, by a chi-square margin
    at_truth = bgnbd_log_likelihood(**TRUTH, frequency=population["x"], recency=population["t_x"],
                                    T=population["T"]).sum()  # fmt: skip
    assert 0 < fit.log_likelihood - at_truth < 0.5 * 13.3  # chi2(4) 99 % quantile


def test_bgnbd_predictions_match_the_simulated_future(population):
    fit = truth_fit(TRUTH)
    x, t_x, age = population["x"], population["t_x"], population["T"]
    # P(alive): among repeat buyers, the mean predicted probability is the share alive
    repeat = x > 0
    alive = probability_alive(fit, x[repeat], t_x[repeat], age[repeat])
    share = population["alive"][repeat].mean()
    assert alive.mean() == pytest.approx(
        share, abs=3 * math.sqrt(share * (1 - share) / repeat.sum())
    )
    # expected purchases in the next 26 weeks, overall and in the holdout check's rows
    check = holdout_check(fit, x, t_x, age, population["later"], 26.0)
    spread = population["later"].std() / math.sqrt(len(population))
    predicted = expected_purchases(fit, 26.0, x, t_x, age).mean()
    assert predicted == pytest.approx(population["later"].mean(), abs=3 * spread)
    assert (check["customers"] * check["predicted"]).sum() / len(population) == pytest.approx(
        predicted
    )
    assert check.loc[0, "actual"] == pytest.approx(check.loc[0, "predicted"], rel=0.1)
    # a new customer's expected repeat purchases by age T: the mean observed x
    assert expected_purchases_new(fit, age).mean() == pytest.approx(
        x.mean(), abs=3 * x.std() / math.sqrt(len(x))
    )


def test_gamma_gamma_recovers_planted_parameters(population):
    rng = np.random.default_rng(7)
    x = population["x"].to_numpy()
    x = x[x > 0]
    scale = rng.gamma(SPEND_TRUTH["q"], 1 / SPEND_TRUTH["v"], len(x))  # nu ~ gamma(q, v)
    mean = rng.gamma(SPEND_TRUTH["p"] * x, 1 / scale) / x  # sum of x gamma(p, nu) values / x
    fit = fit_gamma_gamma(x, mean)
    assert fit.converged and fit.customers == len(x)
    for name, truth in SPEND_TRUTH.items():
        estimate, se = getattr(fit, name), getattr(fit, f"{name}_se")
        assert abs(estimate - truth) < 2.6 * se, (name, estimate, se, truth)
    assert abs(fit.frequency_spend_correlation) < 0.05  # independent by construction
    # the conditional expectation is unbiased for each customer's true mean spend p / nu
    assert expected_spend(fit, x, mean).mean() == pytest.approx(
        (SPEND_TRUTH["p"] / scale).mean(), rel=0.03
    )
    # pooled rows: identical (x, m) rows merged carry their weights
    spent = np.round(mean)
    merged = pd.DataFrame({"x": x, "m": spent}).value_counts().reset_index()
    by_row = fit_gamma_gamma(merged["x"], merged["m"], weights=merged["count"])
    assert by_row.p == pytest.approx(fit_gamma_gamma(x, spent).p, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# degenerate data: flagged, never raised


def test_fits_that_cannot_converge_are_flagged_not_raised():
    few = fit_bgnbd([2, 0, 1], [10.0, 0, 3], [20.0, 20, 20])
    assert not few.converged and few.reason == "too_few_customers"
    assert math.isnan(few.r) and math.isnan(few.b_se) and few.customers == 3
    assert few.metrics()["r"] is None and few.metrics()["reason"] == "too_few_customers"
    nobody = fit_bgnbd(np.zeros(500), np.zeros(500), np.linspace(10, 40, 500))
    assert not nobody.converged and nobody.reason == "no_repeat_purchases"
    assert np.isnan(probability_alive(nobody, [0, 2], [0, 5], [10, 10])).all()
    empty = fit_bgnbd([], [], [])
    assert empty.reason == "no_customers" and empty.customers == 0
    # everyone spends exactly the same: the customers' spread q runs off to infinity
    same = fit_gamma_gamma(np.arange(1, 201) % 5 + 1, np.full(200, 10.0))
    assert not same.converged and same.reason in FIT_ISSUES and math.isnan(same.p)
    spenders = fit_gamma_gamma([0, 1, 2], [0, 5.0, -1.0])
    assert spenders.reason == "too_few_customers" and spenders.excluded == 1
    assert set(FIT_ISSUES) >= {few.reason, nobody.reason, empty.reason, same.reason}


def test_inconsistent_summaries_and_bad_parameters_raise():
    with pytest.raises(ValueError, match="recency"):
        fit_bgnbd([1, 2], [5.0, 30], [10.0, 20])
    with pytest.raises(ValueError, match="whole numbers"):
        fit_bgnbd([1.5], [1.0], [10.0])
    with pytest.raises(ValueError, match="penalizer"):
        fit_bgnbd([1], [1.0], [10.0], penalizer=-1)
    with pytest.raises(ValueError, match="weights"):
        fit_gamma_gamma([1], [10.0], weights=[-1])
