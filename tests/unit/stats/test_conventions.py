"""conventions() and CONVENTIONS: the codes a report prints, JSON-safe."""

from __future__ import annotations

import json

import pytest

from opsbook import stats

# ---------------------------------------------------------------------------- conventions


def test_conventions_describe_the_defaults():
    conv = stats.conventions()
    assert conv == stats.CONVENTIONS
    assert conv["test"] == "welch_t" and conv["sidedness"] == "two-sided" and conv["alpha"] == 0.05
    assert conv["interval_relative"] == "fieller_inverting_the_same_test"
    assert conv["multiple_comparisons"] == "holm" and conv["bayesian_prior"] == "flat"
    json.dumps(conv, allow_nan=False)
    seq = stats.conventions(method="sequential", tuning_n=5000, correction="bh", prior_var=0.09)
    assert seq["test"] == "msprt_normal_mixture" and seq["sequential_tuning_n"] == 5000
    assert seq["bayesian_prior"] == "normal(mean=0, var=0.09)"
    with pytest.raises(ValueError):
        stats.conventions(correction="bonferroni")
