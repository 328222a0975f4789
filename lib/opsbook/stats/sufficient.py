"""Per-variant sufficient statistics: the sums the engine hands over for one metric.

``SampleStats`` (a mean or a rate), ``RatioStats`` (Σnum / Σden, e.g. revenue per order) and
``CupedStats`` (an outcome with its pre-period covariate); stats of one kind add up like the rows
they summarise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from opsbook.stats._common import _check_count

_ZERO_TOLERANCE = 1e-12


# --------------------------------------------------------------------------------------------
# sufficient statistics


def _as_sum(value: Any, n: int) -> float:
    # SQL SUM over no rows is NULL: an empty variant may arrive with None sums.
    if value is None:
        return 0.0 if n == 0 else math.nan
    return float(value)


def _centered(sum_ab: float, sum_a: float, sum_b: float, n: int) -> float:
    """Σ(a - ā)(b - b̄) from raw sums; rounding noise around zero becomes exactly zero."""
    if n == 0:
        return 0.0
    centered = sum_ab - sum_a * sum_b / n
    if abs(centered) <= _ZERO_TOLERANCE * max(abs(sum_ab), abs(sum_a * sum_b / n)):
        return 0.0
    return centered


def _sample_cov(sum_ab: float, sum_a: float, sum_b: float, n: int) -> float:
    if n < 2:
        return math.nan
    return _centered(sum_ab, sum_a, sum_b, n) / (n - 1)


def _sample_var(sum_squares: float, sum_: float, n: int) -> float:
    if n < 2:
        return math.nan
    return max(_centered(sum_squares, sum_, sum_, n), 0.0) / (n - 1)


def _finite_values(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf; fill or drop them explicitly first")
    return array


class _Addable:
    def __add__(self, other: Any) -> Any:
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))  # type: ignore[arg-type]

    def __radd__(self, other: Any) -> Any:
        # lets builtin sum() start from 0
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True)
class SampleStats(_Addable):
    """Per-variant sums of a per-user metric: count, Σy and Σy².

    For a conversion rate pass ``sum = sum_squares = conversions`` (a 0/1 value squares to
    itself). ``None`` sums are read as 0 when ``n == 0`` (SQL SUM over no rows).
    """

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        n = _check_count(self.n, "n")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "sum", _as_sum(self.sum, n))
        object.__setattr__(self, "sum_squares", _as_sum(self.sum_squares, n))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof = 1); NaN below two users."""
        return _sample_var(self.sum_squares, self.sum, self.n)

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    @classmethod
    def from_values(cls, values: Any) -> SampleStats:
        """Sums of an array of per-user values (NaN is refused: decide on missing users first)."""
        array = _finite_values(values, "values")
        return cls(n=array.size, sum=float(array.sum()), sum_squares=float(array @ array))


@dataclass(frozen=True)
class RatioStats(_Addable):
    """Per-variant sums of a ratio metric Σnum / Σden, with the user as randomisation unit.

    Revenue per order: ``num`` = a user's revenue, ``den`` = a user's orders; ``cross_sum`` =
    Σ num·den over users.
    """

    n: int
    num_sum: float
    num_sum_squares: float
    den_sum: float
    den_sum_squares: float
    cross_sum: float

    def __post_init__(self) -> None:
        n = _check_count(self.n, "n")
        object.__setattr__(self, "n", n)
        for name in ("num_sum", "num_sum_squares", "den_sum", "den_sum_squares", "cross_sum"):
            object.__setattr__(self, name, _as_sum(getattr(self, name), n))

    @property
    def num_mean(self) -> float:
        return self.num_sum / self.n if self.n > 0 else math.nan

    @property
    def den_mean(self) -> float:
        return self.den_sum / self.n if self.n > 0 else math.nan

    @property
    def ratio(self) -> float:
        return self.num_sum / self.den_sum if self.den_sum != 0 else math.nan

    @property
    def num_variance(self) -> float:
        return _sample_var(self.num_sum_squares, self.num_sum, self.n)

    @property
    def den_variance(self) -> float:
        return _sample_var(self.den_sum_squares, self.den_sum, self.n)

    @property
    def covariance(self) -> float:
        return _sample_cov(self.cross_sum, self.num_sum, self.den_sum, self.n)

    @classmethod
    def from_values(cls, num: Any, den: Any) -> RatioStats:
        num_a, den_a = _finite_values(num, "num"), _finite_values(den, "den")
        if num_a.shape != den_a.shape:
            raise ValueError("num and den must have one value per user each")
        return cls(
            n=num_a.size,
            num_sum=float(num_a.sum()),
            num_sum_squares=float(num_a @ num_a),
            den_sum=float(den_a.sum()),
            den_sum_squares=float(den_a @ den_a),
            cross_sum=float(num_a @ den_a),
        )


@dataclass(frozen=True)
class CupedStats(_Addable):
    """Per-variant sums of an outcome ``y`` and its pre-period covariate ``x`` (usually the same
    metric measured before exposure).

    Users without pre-period data count with ``x = 0``: the caller fills 0 in the engine (and may
    run a separate analysis by an indicator of "had pre-period data"). Filling 0 keeps every
    user in the comparison; since θ is one number for everybody the adjustment stays unbiased
    under randomisation, it only reduces variance less for those users.
    """

    n: int
    y_sum: float
    y_sum_squares: float
    x_sum: float
    x_sum_squares: float
    xy_sum: float

    def __post_init__(self) -> None:
        n = _check_count(self.n, "n")
        object.__setattr__(self, "n", n)
        for name in ("y_sum", "y_sum_squares", "x_sum", "x_sum_squares", "xy_sum"):
            object.__setattr__(self, name, _as_sum(getattr(self, name), n))

    @property
    def y_mean(self) -> float:
        return self.y_sum / self.n if self.n > 0 else math.nan

    @property
    def x_mean(self) -> float:
        return self.x_sum / self.n if self.n > 0 else math.nan

    @property
    def y_variance(self) -> float:
        return _sample_var(self.y_sum_squares, self.y_sum, self.n)

    @property
    def x_variance(self) -> float:
        return _sample_var(self.x_sum_squares, self.x_sum, self.n)

    @property
    def covariance(self) -> float:
        return _sample_cov(self.xy_sum, self.x_sum, self.y_sum, self.n)

    def outcome(self) -> SampleStats:
        """The unadjusted outcome sums."""
        return SampleStats(self.n, self.y_sum, self.y_sum_squares)

    @classmethod
    def from_values(cls, y: Any, x: Any) -> CupedStats:
        y_a, x_a = _finite_values(y, "y"), _finite_values(x, "x")
        if y_a.shape != x_a.shape:
            raise ValueError("y and x must have one value per user each")
        return cls(
            n=y_a.size,
            y_sum=float(y_a.sum()),
            y_sum_squares=float(y_a @ y_a),
            x_sum=float(x_a.sum()),
            x_sum_squares=float(x_a @ x_a),
            xy_sum=float(x_a @ y_a),
        )


#: The same thing under its generic name.
CovariateStats = CupedStats

AnyStats = SampleStats | RatioStats | CupedStats
