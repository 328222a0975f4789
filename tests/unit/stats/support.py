"""Helpers shared by the statistics tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json

from opsbook.stats import SampleStats

REL = 1e-9  # "same formula" tolerance against scipy/statsmodels


def _json_roundtrip(result) -> dict:
    # allow_nan=False: to_dict must never emit NaN/inf
    return json.loads(json.dumps(result.to_dict(), allow_nan=False))


def _stats_with(n: int, mean: float, var: float) -> SampleStats:
    """Sums that reproduce a given mean and sample variance exactly."""
    return SampleStats(n, n * mean, var * (n - 1) + n * mean**2)
