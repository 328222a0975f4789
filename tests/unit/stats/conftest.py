"""Simulated per-user data shared by the statistics tests (seeded)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def skewed() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240501)
    return rng.lognormal(2.0, 1.0, 800), rng.lognormal(2.1, 1.1, 1200)


@pytest.fixture(scope="module")
def orders() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-user revenue (num) and orders (den) for two arms; revenue per order ≈ 50 vs 55."""
    rng = np.random.default_rng(11)

    def arm(n: int, value: float) -> tuple[np.ndarray, np.ndarray]:
        count = rng.poisson(1.5, n).astype(float)
        revenue = rng.gamma(shape=2.0 * count, scale=value / 2.0)  # shape 0 → 0 revenue
        return revenue, count

    return (*arm(3000, 50.0), *arm(3000, 55.0))


@pytest.fixture(scope="module")
def pre_post() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    n_c, n_t = 2500, 2600
    x = rng.gamma(2.0, 5.0, n_c + n_t)
    x[rng.random(n_c + n_t) < 0.15] = 0.0  # no pre-period data → covariate 0
    treat = np.r_[np.zeros(n_c), np.ones(n_t)]
    y = 3.0 + 0.8 * x + 0.6 * treat + rng.normal(0, 4.0, n_c + n_t)
    return {"x": x, "y": y, "treat": treat}
