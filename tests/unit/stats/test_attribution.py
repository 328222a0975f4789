"""Channel attribution: heuristic credits by hand, the Markov removal effect exactly, by a
hand-solved chain, by a direct solve and by Monte-Carlo walks of the chain."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opsbook.stats.attribution import (
    MODELS,
    attribution,
    markov_chain,
    markov_removal_effects,
)

REAL_PATHS = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "datasets"
    / "channel_attribution"
    / "channelattribution_paths.csv"
)


def journeys(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["path", "conversions", "value", "nulls"])


# Five journey shapes; d appears only in a journey that never converts.
HAND = journeys(
    [
        ("a > b > c", 2, 20.0, 1),
        ("b", 1, 6.0, 0),
        ("c > a", 1, 10.0, 3),
        ("a > b > b > c", 1, 4.0, 2),
        ("d", 0, 0.0, 5),
    ]
)


def credit(frame: pd.DataFrame, column: str) -> dict[str, float]:
    return frame[column].round(12).to_dict()


# --- heuristic models, by hand --------------------------------------------------------------


def test_first_and_last_touch_by_hand():
    result = attribution(HAND, ["first_touch", "last_touch"])
    # first: a starts "a>b>c" (2) and "a>b>b>c" (1) = 3; b starts "b" (1); c starts "c>a" (1)
    assert credit(result, "first_touch") == {"a": 3, "b": 1, "c": 1, "d": 0}
    # last: c ends "a>b>c" (2) and "a>b>b>c" (1) = 3; b ends "b"; a ends "c>a"
    assert credit(result, "last_touch") == {"a": 1, "b": 1, "c": 3, "d": 0}
    # value follows the same touch: a first in 20 + 4; c last in 20 + 4
    assert credit(result, "first_touch_value") == {"a": 24, "b": 6, "c": 10, "d": 0}
    assert credit(result, "last_touch_value") == {"a": 10, "b": 6, "c": 24, "d": 0}


def test_linear_by_hand():
    result = attribution(HAND, ["linear"])
    # a>b>c: 2/3 each (x2 conversions / 3 touches); b: 1 to b; c>a: 1/2 each;
    # a>b>b>c: 1/4 per touch, b touched twice -> b 1/2
    expected = {"a": 2 / 3 + 1 / 2 + 1 / 4, "b": 2 / 3 + 1 + 1 / 2, "c": 2 / 3 + 1 / 2 + 1 / 4}
    assert result["linear"].drop("d").to_dict() == pytest.approx(expected, abs=1e-12)
    # value: a = 20/3 + 10/2 + 4/4; b = 20/3 + 6 + 4/2; c = 20/3 + 10/2 + 4/4
    value = {"a": 20 / 3 + 5 + 1, "b": 20 / 3 + 6 + 2, "c": 20 / 3 + 5 + 1}
    assert result["linear_value"].drop("d").to_dict() == pytest.approx(value, abs=1e-12)


def test_position_based_by_hand():
    result = attribution(HAND, ["position_based"])
    # a>b>c (x2): a .4, b .2, c .4 -> .8 / .4 / .8
    # b: 1 -> b 1;  c>a: two touches, 50/50 -> c .5, a .5
    # a>b>b>c: a .4, c .4, the middle .2 spread over the two b touches -> b .2
    expected = {"a": 0.8 + 0.5 + 0.4, "b": 0.4 + 1 + 0.2, "c": 0.8 + 0.5 + 0.4, "d": 0.0}
    assert result["position_based"].to_dict() == pytest.approx(expected, abs=1e-12)


def test_position_based_custom_weights_two_touches_keep_ratio():
    # weights 0.3 / 0.2 / 0.5: two touches split 0.3 : 0.5 -> 3/8 and 5/8
    result = attribution(
        journeys([("x > y", 8, 8.0, 0)]), ["position_based"], position_weights=(0.3, 0.2, 0.5)
    )
    assert result["position_based"].to_dict() == pytest.approx({"x": 3.0, "y": 5.0})


def test_time_decay_by_hand():
    result = attribution(HAND, ["time_decay"], half_life=1.0)
    # weight 2^-(steps before the conversion), normalised per journey
    # a>b>c: 1/4, 1/2, 1 over 7/4 -> 1/7, 2/7, 4/7; x2 conversions
    # c>a: 1/2, 1 over 3/2 -> c 1/3, a 2/3
    # a>b>b>c: 1/8, 1/4, 1/2, 1 over 15/8 -> a 1/15, b 2/15 + 4/15, c 8/15
    expected = {
        "a": 2 / 7 + 2 / 3 + 1 / 15,
        "b": 4 / 7 + 1 + 6 / 15,
        "c": 8 / 7 + 1 / 3 + 8 / 15,
        "d": 0.0,
    }
    assert result["time_decay"].to_dict() == pytest.approx(expected, abs=1e-12)


def test_time_decay_half_life_two():
    # half_life 2: "p > q" weights 2^-(1/2), 1 -> p = 1 / (1 + sqrt 2)
    result = attribution(journeys([("p > q", 1, 0.0, 0)]), ["time_decay"], half_life=2.0)
    assert result.loc["p", "time_decay"] == pytest.approx(1 / (1 + np.sqrt(2)), abs=1e-12)


def test_every_model_sums_to_total_conversions_and_value():
    result = attribution(HAND)
    assert list(result.columns) == [*MODELS, *(f"{m}_value" for m in MODELS)]
    assert result.index.name == "channel"
    for model in MODELS:
        assert result[model].sum() == pytest.approx(5.0, abs=1e-9), model
        assert result[f"{model}_value"].sum() == pytest.approx(40.0, abs=1e-9), model
    assert result.attrs["total_conversions"] == 5.0
    assert result.attrs["unattributed_conversions"] == 0.0


# --- Markov chain --------------------------------------------------------------------------------

# start -> a 2 (a>b, a), start -> b 2 (b: 1 conversion + 1 null); a -> b 1, a -> null 1;
# b -> conversion 2, b -> null 1.
TWO_CHANNELS = journeys([("a > b", 1, 3.0, 0), ("a", 0, 0.0, 1), ("b", 1, 5.0, 1)])


def test_markov_transition_counts_by_hand():
    counts = markov_chain(TWO_CHANNELS).transition_counts
    nonzero = {(i, j): v for (i, j), v in counts.stack().items() if v}
    assert nonzero == {
        ("(start)", "a"): 2,
        ("(start)", "b"): 2,
        ("a", "b"): 1,
        ("a", "(null)"): 1,
        ("b", "(conversion)"): 2,
        ("b", "(null)"): 1,
    }


def test_markov_two_channel_chain_solved_by_hand():
    # P(start->a) = P(start->b) = 1/2; P(a->b) = 1/2, P(a->null) = 1/2; P(b->conv) = 2/3
    # x_b = 2/3, x_a = 1/2 * 2/3 = 1/3, x_start = 1/2 * 1/3 + 1/2 * 2/3 = 1/2
    # without a: start->a goes to null, x = 1/2 * 2/3 = 1/3 -> removal effect 1 - (1/3)/(1/2) = 1/3
    # without b: nothing converts -> removal effect 1
    # shares 1/3 : 1 = 1/4 : 3/4 of 2 conversions (and of value 8)
    chain = markov_chain(TWO_CHANNELS)
    assert chain.conversion_probability == pytest.approx(0.5, abs=1e-12)
    assert chain.removal_effects.to_dict() == pytest.approx({"a": 1 / 3, "b": 1.0}, abs=1e-12)
    assert chain.removed_conversion_probability.to_dict() == pytest.approx(
        {"a": 1 / 3, "b": 0.0}, abs=1e-12
    )
    result = attribution(TWO_CHANNELS, ["markov"])
    assert result["markov"].to_dict() == pytest.approx({"a": 0.5, "b": 1.5}, abs=1e-12)
    assert result["markov_value"].to_dict() == pytest.approx({"a": 2.0, "b": 6.0}, abs=1e-12)
    assert result.attrs["conversion_probability"] == pytest.approx(0.5)
    effects = markov_removal_effects(TWO_CHANNELS)
    assert effects.name == "removal_effect"
    assert effects.attrs["conversion_probability"] == pytest.approx(0.5)
    assert chain.to_frame()["markov"].sum() == pytest.approx(2.0)
    assert chain.transition_matrix().loc["b", "(conversion)"] == pytest.approx(2 / 3)


def conversion_probability_by_direct_solve(chain, removed: str | None = None) -> float:
    """Absorption probability from start with `removed` deleted from the chain (a second,
    independent exact computation: build Q and r without that state and solve)."""
    matrix = chain.transition_matrix()
    transient = ["(start)", *[c for c in chain.channels if c != removed]]
    q = matrix.loc[transient, transient].to_numpy()
    r = matrix.loc[transient, "(conversion)"].to_numpy()
    return float(np.linalg.solve(np.eye(len(transient)) - q, r)[0])


def simulate_conversion_rate(chain, removed: str | None, walks: int, seed: int) -> float:
    """Walk the chain from start until absorption; entering `removed` means null."""
    matrix = chain.transition_matrix()
    states = list(matrix.index)
    cumulative = matrix.to_numpy().cumsum(axis=1)
    conversion, null = states.index("(conversion)"), states.index("(null)")
    removed_state = states.index(removed) if removed else -1
    rng = np.random.default_rng(seed)
    position = np.zeros(walks, dtype=np.intp)  # everyone at start
    active = np.ones(walks, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        u = rng.random(len(idx))
        step = (u[:, None] > cumulative[position[idx]]).sum(axis=1)
        step = np.minimum(step, len(states) - 1)
        step = np.where(step == removed_state, null, step)
        position[idx] = step
        active[idx] = (step != conversion) & (step != null)
    return float(np.mean(position == conversion))


LOOPY = journeys(
    [
        ("a > b > a > c", 30, 0.0, 50),
        ("b > c", 40, 0.0, 60),
        ("c > b > b", 20, 0.0, 80),
        ("a", 10, 0.0, 90),
        ("b > a > b > c > a", 25, 0.0, 25),
        ("c", 5, 0.0, 95),
    ]
)


def test_markov_removal_effects_agree_with_monte_carlo_walks():
    chain = markov_chain(LOOPY)
    walks = 1_000_000
    simulated = simulate_conversion_rate(chain, None, walks, seed=1)
    # P(conversion) = 0.245: standard error sqrt(p (1 - p) / n) = 0.00043, tolerance ~ 5 SE
    assert simulated == pytest.approx(chain.conversion_probability, abs=0.002)
    for i, channel in enumerate(chain.channels):
        without = simulate_conversion_rate(chain, channel, walks, seed=10 + i)
        effect = 1 - without / simulated
        # effects ~ 0.5-0.7 with a standard error ~ 0.0015 (two independent runs): within 0.01
        assert effect == pytest.approx(chain.removal_effects[channel], abs=0.01), channel


def test_markov_removal_agrees_with_direct_solve_without_the_state():
    chain = markov_chain(LOOPY)
    base = conversion_probability_by_direct_solve(chain)
    assert chain.conversion_probability == pytest.approx(base, abs=1e-12)
    for channel in chain.channels:
        direct = conversion_probability_by_direct_solve(chain, removed=channel)
        assert chain.removed_conversion_probability[channel] == pytest.approx(direct, abs=1e-12)
        assert chain.removal_effects[channel] == pytest.approx(1 - direct / base, abs=1e-12)


def test_repeated_touches_are_self_loops_that_leave_removal_effects_unchanged():
    collapsed = journeys(
        [
            ("a > b > a > c", 30, 0.0, 50),
            ("b > c", 40, 0.0, 60),
            ("c > b", 20, 0.0, 80),  # "c > b > b" with the repeat collapsed
            ("a", 10, 0.0, 90),
            ("b > a > b > c > a", 25, 0.0, 25),
            ("c", 5, 0.0, 95),
        ]
    )
    kept = markov_chain(LOOPY)
    assert kept.transition_counts.loc["b", "b"] == 100  # 20 conversions + 80 nulls
    pd.testing.assert_series_equal(
        kept.removal_effects, markov_chain(collapsed).removal_effects, atol=1e-12, rtol=0
    )
    # ...while the heuristic models count every touch
    assert attribution(LOOPY, ["linear"]).loc["b", "linear"] != pytest.approx(
        attribution(collapsed, ["linear"]).loc["b", "linear"]
    )


def test_markov_credit_for_a_channel_that_never_converts_itself():
    # d is only in a non-converting journey, but d -> b continues a chain that can convert:
    # the Markov model gives d credit, the heuristics do not.
    data = journeys([("d > b", 0, 0.0, 4), ("b", 6, 6.0, 2), ("e", 0, 0.0, 3)])
    result = attribution(data)
    for model in MODELS[:-1]:
        assert result.loc["d", model] == 0
    assert result.loc["d", "markov"] > 0
    assert result.loc["e", "markov"] == 0  # e only leads to null
    assert result["markov"].sum() == pytest.approx(6.0)


# --- robustness --------------------------------------------------------------------------------


def test_empty_table_gives_empty_frame_with_all_columns():
    result = attribution(journeys([]))
    assert result.empty
    assert list(result.columns) == [*MODELS, *(f"{m}_value" for m in MODELS)]
    assert result.attrs["markov_reason"] == "no_journeys"


def test_journeys_without_touches_are_reported_not_attributed():
    data = journeys([("", 3, 30.0, 1), (None, 1, 5.0, 0), ("a", 2, 4.0, 1)])
    result = attribution(data)
    assert result.attrs["unattributed_conversions"] == 4.0
    assert result.attrs["unattributed_value"] == 35.0
    assert result.attrs["total_conversions"] == 2.0
    for model in MODELS:
        assert result.loc["a", model] == pytest.approx(2.0)
    only_empty = attribution(journeys([("", 3, 30.0, 1)]))
    assert only_empty.empty and only_empty.attrs["unattributed_conversions"] == 3.0


def test_single_channel_path_gets_everything_in_every_model():
    result = attribution(journeys([("solo", 3, 9.0, 7)]))
    for model in MODELS:
        assert result.loc["solo", model] == pytest.approx(3.0), model
        assert result.loc["solo", f"{model}_value"] == pytest.approx(9.0), model
    assert result.attrs["removal_effects"] == {"solo": pytest.approx(1.0)}
    assert result.attrs["conversion_probability"] == pytest.approx(0.3)


def test_no_conversions_flags_markov_and_credits_nothing():
    result = attribution(journeys([("a > b", 0, 0.0, 5)]))
    assert (result[list(MODELS)] == 0).all().all()
    assert result.attrs["markov_reason"] == "no_conversions"
    assert np.isnan(result.attrs["removal_effects"]["a"])


def test_whitespace_around_separators_is_ignored():
    clean = attribution(HAND)
    messy = HAND.assign(path=["a>b >c", "  b ", "c  >a", " a > b>b >  c ", "d"])
    pd.testing.assert_frame_equal(attribution(messy), clean)
    # empty tokens are dropped: "a >  > b" is a > b
    assert attribution(journeys([("a >  > b", 1, 1.0, 0)]))["linear"].to_dict() == {
        "a": 0.5,
        "b": 0.5,
    }


def test_other_separator():
    result = attribution(journeys([("a | b", 1, 1.0, 0)]), ["first_touch"], separator=" | ")
    assert result["first_touch"].to_dict() == {"a": 1.0, "b": 0.0}


@pytest.mark.parametrize("column", ["path", "conversions", "value", "nulls"])
def test_missing_column_is_named(column):
    with pytest.raises(ValueError, match=repr(column)):
        attribution(HAND.drop(columns=column))


@pytest.mark.parametrize(
    ("column", "bad"), [("conversions", -1), ("nulls", np.nan), ("value", "lots")]
)
def test_bad_numbers_are_rejected(column, bad):
    data = HAND.astype({column: object})
    data.loc[0, column] = bad
    with pytest.raises(ValueError, match=column):
        attribution(data)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"models": ["first_touch", "u_shaped"]},
        {"models": ["linear", "linear"]},
        {"models": []},
        {"half_life": 0},
        {"half_life": float("inf")},
        {"position_weights": (0.5, 0.5, 0.5)},
        {"position_weights": (0.5, 0.5)},
        {"position_weights": (1.2, -0.4, 0.2)},
        {"separator": "  "},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ValueError):
        attribution(HAND, **kwargs)


def test_subset_of_models_and_single_model_string():
    result = attribution(HAND, ["markov", "linear"])
    assert list(result.columns) == ["markov", "linear", "markov_value", "linear_value"]
    assert list(attribution(HAND, "last_touch").columns) == ["last_touch", "last_touch_value"]


# --- the real paths file ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_paths() -> pd.DataFrame:
    if not REAL_PATHS.exists():
        pytest.skip(f"real attribution paths not available at {REAL_PATHS}")
    raw = pd.read_csv(REAL_PATHS, sep=";")
    return raw.rename(
        columns={
            "total_conversions": "conversions",
            "total_conversion_value": "value",
            "total_null": "nulls",
        }
    )


@pytest.mark.real_data
def test_real_paths_totals_and_sanity(real_paths):
    started = time.perf_counter()
    result = attribution(real_paths)
    elapsed = time.perf_counter() - started
    assert len(real_paths) == 10_000
    assert elapsed < 2.0, f"attribution of 10,000 paths took {elapsed:.2f} s"

    total, value = real_paths["conversions"].sum(), real_paths["value"].sum()
    assert total == 19_785
    for model in MODELS:
        assert result[model].sum() == pytest.approx(total, rel=1e-12), model
        assert result[f"{model}_value"].sum() == pytest.approx(value, rel=1e-12), model
        assert (result[model] >= 0).all()

    # first touch, independently: conversions of the journeys starting with each channel
    starts = real_paths["path"].str.split(" > ").str[0]
    by_start = real_paths.groupby(starts)["conversions"].sum()
    pd.testing.assert_series_equal(
        result["first_touch"].loc[by_start.index], by_start.astype(float), check_names=False
    )

    effects = markov_removal_effects(real_paths)
    assert ((effects >= 0) & (effects <= 1)).all()
    # pinned (exact algebra; 1e-9): P(conversion) and the largest removal effects
    assert effects.attrs["conversion_probability"] == pytest.approx(0.2238451356, abs=1e-9)
    assert effects.nlargest(3).index.tolist() == ["alpha", "iota", "eta"]
    assert effects["alpha"] == pytest.approx(0.5583994895, abs=1e-9)
    # the Sherman-Morrison shortcut equals deleting each state and solving again
    chain = markov_chain(real_paths)
    base = conversion_probability_by_direct_solve(chain)
    for channel in chain.channels:
        direct = conversion_probability_by_direct_solve(chain, removed=channel)
        assert effects[channel] == pytest.approx(1 - direct / base, abs=1e-10), channel


def test_a_channel_is_an_atom_whatever_its_name():
    # a touch channel called "crm > sms" was split at ">" into two channels (issue 19)
    from opsbook.stats.attribution import attribution

    paths = pd.DataFrame(
        {
            "path": [("crm > sms", "push"), ("crm > sms",), ()],
            "conversions": [2.0, 1.0, 1.0],
            "value": [20.0, 10.0, 5.0],
            "nulls": [1.0, 0.0, 0.0],
        }
    )
    out = attribution(paths, models=["first_touch", "last_touch", "markov"])
    assert sorted(out.index) == ["crm > sms", "push"]
    assert out.loc["crm > sms", "first_touch"] == 3.0 and out.loc["push", "last_touch"] == 2.0
    assert out.attrs["unattributed_conversions"] == 1.0  # the journey without a touch
