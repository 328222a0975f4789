"""Many metrics or variants at once: multiple-comparison adjustment of p-values, and of the
intervals shown beside them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from opsbook.stats._common import Adjustment, _check_choice
from opsbook.stats.effects import EffectResult


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


def adjust_effects(
    results: Sequence[EffectResult], method: Adjustment = "holm"
) -> list[EffectResult]:
    """A family of effects judged together: each result with ``p_adjusted`` and its intervals
    at the level its own raw p-value is judged at, ``interval_alpha = alpha · p / p_adjusted``.

    For Holm that is the step-down level α/(m − k + 1) of the metric's rank k (smaller where
    the step-down's running maximum carries an earlier, larger adjusted p-value over); for
    Benjamini–Hochberg it is the step-up level α·k/m (likewise smaller where the running
    minimum applies); for "none" it is α. Hence p_adjusted < α ⇔ p < interval_alpha ⇔ the
    shown intervals exclude 0: verdict, colour and interval agree. Where p_adjusted is 0 the
    level is α/m. Results without a p-value (degenerate) keep their intervals.
    """
    results = list(results)
    if len({r.alpha for r in results}) > 1:
        raise ValueError("a family of effects must share one alpha")
    adjusted = adjust_pvalues([r.p_value for r in results], method)
    m = int(np.sum(~np.isnan(adjusted)))
    out = []
    for r, p_adj in zip(results, adjusted, strict=True):
        if not (math.isfinite(r.p_value) and math.isfinite(p_adj)):
            out.append(replace(r, p_adjusted=float(p_adj)))
            continue
        if p_adj <= r.p_value:  # not adjusted (a family of one, "none"): the nominal level
            out.append(replace(r, p_adjusted=float(p_adj)))
            continue
        level = r.alpha * r.p_value / p_adj if p_adj > 0 else r.alpha / max(m, 1)
        out.append(replace(r.at_level(min(level, r.alpha)), p_adjusted=float(p_adj)))
    return out
