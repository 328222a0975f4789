"""srm_check against scipy.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import pytest
import scipy.stats as st

from opsbook import stats
from tests.unit.stats.support import _json_roundtrip

# ---------------------------------------------------------------------------- SRM


class TestSrm:
    def test_matches_scipy_chisquare(self):
        counts = {"control": 5000, "treatment": 5200, "b": 4900}
        planned = {"control": 1, "treatment": 1, "b": 1}
        r = stats.srm_check(counts, planned)
        # reference: scipy.stats.chisquare(f_obs, f_exp)
        ref = st.chisquare([5000, 5200, 4900], [15100 / 3] * 3)
        assert r.chi2 == pytest.approx(ref.statistic, rel=1e-12)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert r.df == 2 and r.status == "warn"  # p = 0.0097

    def test_uneven_plan_and_status_thresholds(self):
        planned = {"control": 20, "treatment": 80}  # weights are normalised
        assert stats.srm_check({"control": 2000, "treatment": 8000}, planned).status == "ok"
        # 2150/7850: chi2 = 150²/2000 + 150²/8000 = 14.06, p ≈ 1.8e-4 → invalid
        r = stats.srm_check({"control": 2150, "treatment": 7850}, planned)
        assert r.chi2 == pytest.approx(14.0625, rel=1e-12) and r.status == "invalid"
        # 2110/7890: chi2 = 110²/2000 + 110²/8000 = 7.5625, p ≈ 0.006 → warn
        r = stats.srm_check({"control": 2110, "treatment": 7890}, planned)
        assert r.chi2 == pytest.approx(7.5625, rel=1e-12) and r.status == "warn"
        assert r.expected_shares == {"control": 0.2, "treatment": 0.8}
        assert r.observed_shares["control"] == pytest.approx(0.211)

    def test_users_in_a_variant_planned_at_zero_is_invalid(self):
        r = stats.srm_check({"a": 100, "b": 100, "c": 3}, {"a": 1, "b": 1, "c": 0})
        assert r.status == "invalid" and r.p_value == 0.0
        assert _json_roundtrip(r)["chi2"] is None

    def test_no_users_is_flagged(self):
        r = stats.srm_check({"a": 0, "b": 0}, {"a": 1, "b": 1})
        assert r.flag == "no_users" and not r.valid
        _json_roundtrip(r)

    def test_tidy_frame(self):
        frame = stats.srm_check({"a": 10, "b": 12}, {"a": 1, "b": 1}).to_frame()
        assert list(frame["variant"]) == ["a", "b"] and frame["p_value"].nunique() == 1

    @pytest.mark.parametrize(
        ("counts", "planned", "kwargs"),
        [
            ({"a": 1, "b": 1}, {"a": 1, "c": 1}, {}),
            ({"a": 1}, {"a": 1}, {}),
            ({"a": -1, "b": 1}, {"a": 1, "b": 1}, {}),
            ({"a": 1, "b": 1}, {"a": -1, "b": 1}, {}),
            ({"a": 1, "b": 1}, {"a": 0, "b": 0}, {}),
            ({"a": 1, "b": 1}, {"a": 1, "b": 1}, {"warn_below": 0.001, "invalid_below": 0.01}),
        ],
    )
    def test_bad_parameters_raise(self, counts, planned, kwargs):
        with pytest.raises(ValueError):
            stats.srm_check(counts, planned, **kwargs)
