"""Many metrics or variants at once: multiple-comparison adjustment of p-values."""

from __future__ import annotations

from typing import Any

import numpy as np

from opsbook.stats._common import Adjustment, _check_choice


def adjust_pvalues(pvalues: Any, method: Adjustment = "holm") -> np.ndarray:
    """Multiple-comparison adjustment across metrics/variants; NaN entries pass through.

    "holm": Holm's step-down (family-wise error rate); "bh": Benjamini–Hochberg step-up (false
    discovery rate); "none": unchanged. The family is the non-NaN entries (a degenerate metric
    does not count as a test). Same results as statsmodels ``multipletests`` ("holm",
    "fdr_bh"). Returns a float array of the input's shape.
    """
    _check_choice(method, Adjustment, "method")
    p = np.array(pvalues, dtype=float)
    present = ~np.isnan(p)
    values = p[present]
    if np.any((values < 0) | (values > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = values.size
    if method == "none" or m == 0:
        return p
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adjusted = np.maximum.accumulate((m - rank + 1) * ranked)
    else:
        adjusted = np.minimum.accumulate((m / rank * ranked)[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    p[present] = result
    return p
