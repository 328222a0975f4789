"""Did users land in the variants in the planned proportions? The sample-ratio-mismatch check."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from scipy import special

from opsbook.stats._common import SrmStatus, _check_alpha, _check_count, _Result


@dataclass(frozen=True)
class SrmResult(_Result):
    """Sample-ratio-mismatch check: chi-square goodness of fit against the planned split."""

    chi2: float
    df: int
    p_value: float
    status: SrmStatus
    observed_shares: dict[str, float]
    expected_shares: dict[str, float]
    counts: dict[str, int]
    total: int
    warn_below: float
    invalid_below: float
    flag: str | None
    valid: bool

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per variant, the test's figures repeated on every row."""
        return pd.DataFrame(
            {
                "variant": list(self.counts),
                "count": list(self.counts.values()),
                "observed_share": [self.observed_shares[k] for k in self.counts],
                "expected_share": [self.expected_shares[k] for k in self.counts],
                "chi2": self.chi2,
                "df": self.df,
                "p_value": self.p_value,
                "status": self.status,
            }
        )


def srm_check(
    counts: Mapping[str, int],
    planned: Mapping[str, float],
    *,
    warn_below: float = 0.01,
    invalid_below: float = 0.001,
) -> SrmResult:
    """Did users land in the variants in the planned proportions (sample ratio mismatch)?

    Pearson chi-square goodness of fit of the observed counts against ``planned`` weights
    (normalised to shares, so ``{"a": 50, "b": 50}`` and ``{"a": .5, "b": .5}`` agree), with
    k − 1 df. status: "invalid" when p < ``invalid_below``, "warn" when p < ``warn_below``,
    else "ok". A variant planned at 0 that received users → chi2 = inf, "invalid". No users at
    all → flag "no_users", status "ok", valid False.
    """
    warn_below = _check_alpha(warn_below, "warn_below")
    invalid_below = _check_alpha(invalid_below, "invalid_below")
    if invalid_below > warn_below:
        raise ValueError("invalid_below must not exceed warn_below")
    if set(counts) != set(planned):
        raise ValueError(
            f"counts and planned name different variants: {sorted(counts)} vs {sorted(planned)}"
        )
    if len(counts) < 2:
        raise ValueError("srm_check needs at least two variants")
    names = [str(k) for k in counts]
    observed = {str(k): _check_count(v, f"counts[{k!r}]") for k, v in counts.items()}
    weights = {}
    for k, v in planned.items():
        weight = float(v)
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"planned[{k!r}] must be a non-negative number, got {v!r}")
        weights[str(k)] = weight
    weight_total = sum(weights.values())
    if weight_total <= 0:
        raise ValueError("planned weights must not all be 0")
    expected_shares = {k: weights[k] / weight_total for k in names}
    total = sum(observed.values())
    common = {
        "expected_shares": expected_shares,
        "counts": observed,
        "total": total,
        "warn_below": warn_below,
        "invalid_below": invalid_below,
    }
    if total == 0:
        return SrmResult(
            math.nan,
            len(names) - 1,
            math.nan,
            "ok",
            {k: math.nan for k in names},
            **common,
            flag="no_users",
            valid=False,
        )
    observed_shares = {k: observed[k] / total for k in names}
    cells = [k for k in names if expected_shares[k] > 0]
    df = len(cells) - 1
    if any(observed[k] > 0 for k in names if expected_shares[k] == 0):
        chi2, p_value = math.inf, 0.0
    else:
        chi2 = sum(
            (observed[k] - total * expected_shares[k]) ** 2 / (total * expected_shares[k])
            for k in cells
        )
        p_value = float(special.chdtrc(df, chi2)) if df > 0 else 1.0
    status: SrmStatus = (
        "invalid" if p_value < invalid_below else "warn" if p_value < warn_below else "ok"
    )
    return SrmResult(chi2, df, p_value, status, observed_shares, **common, flag=None, valid=True)
