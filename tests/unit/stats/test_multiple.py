"""adjust_pvalues against statsmodels.

Each test names its reference call in a comment; tolerances are stated in the assertion.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from opsbook import stats

# ---------------------------------------------------------------------------- multiple testing


class TestAdjustPvalues:
    P = np.array([0.001, 0.04, 0.03, 0.2, 0.012, 0.5, 0.049])

    @pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
    def test_matches_statsmodels(self, ours, theirs):
        # reference: statsmodels.stats.multitest.multipletests(p, method=...)[1]
        expected = multipletests(self.P, method=theirs)[1]
        np.testing.assert_allclose(stats.adjust_pvalues(self.P, ours), expected, rtol=1e-12)

    @pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
    def test_nan_passes_through_and_is_not_counted(self, ours, theirs):
        with_nan = np.array([0.01, np.nan, 0.04, 0.03])
        adjusted = stats.adjust_pvalues(with_nan, ours)
        assert np.isnan(adjusted[1])
        expected = multipletests([0.01, 0.04, 0.03], method=theirs)[1]
        np.testing.assert_allclose(adjusted[[0, 2, 3]], expected, rtol=1e-12)

    def test_none_and_edge_inputs(self):
        np.testing.assert_array_equal(stats.adjust_pvalues(self.P, "none"), self.P)
        assert stats.adjust_pvalues([], "holm").size == 0
        assert np.isnan(stats.adjust_pvalues([np.nan, np.nan], "bh")).all()
        with pytest.raises(ValueError):
            stats.adjust_pvalues([0.5, 1.2], "holm")
        with pytest.raises(ValueError):
            stats.adjust_pvalues([0.5], "bonferroni")
