"""What is a customer worth over the next horizon, and did the model predict a held-out period
well? Discounted predicted customer value from a BG/NBD and a Gamma-Gamma fit, the calibration /
holdout check by calibration frequency, and the (frequency, recency, T, monetary value) summary
built from a small transactions frame (the report computes it in the engine; this one serves
tests and documentation)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from opsbook.stats.clv.bgnbd import BgNbdFit, expected_purchases
from opsbook.stats.clv.gamma_gamma import GammaGammaFit, expected_spend


def predicted_clv(
    purchases: BgNbdFit,
    spend: GammaGammaFit,
    frequency: Any,
    recency: Any,
    T: Any,
    mean_spend: Any,
    steps: int = 12,
    step_length: float = 1.0,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> np.ndarray:
    """Predicted value of each customer over the next ``steps`` periods, discounted:

        CLV = sum_{k=1..steps} margin x E[spend] x (E[Y(k L)] - E[Y((k-1) L)]) / (1 + d)^k

    with E[Y(t)] the BG/NBD expected purchases in the next t time units, E[spend] the
    Gamma-Gamma conditional expected spend per purchase, L = ``step_length`` and d =
    ``discount_rate`` (per step). Time unit: ``step_length`` is one period (say a month) in the
    summary's time unit -- 30 (or 365.25 / 12) for a summary in days, 4.345 for one in weeks --
    and ``discount_rate`` is per such period (0.01 a month is ~12.7 % a year). ``margin``: the
    share of spend that is profit (1 = revenue). This is lifetimes' ``customer_lifetime_value``
    with ``time = steps`` and its ``freq`` factor = ``step_length``."""
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive whole number, got {steps!r}")
    if not step_length > 0 or not math.isfinite(step_length):
        raise ValueError(f"step_length must be a positive number, got {step_length!r}")
    if not discount_rate > -1 or not math.isfinite(discount_rate):
        raise ValueError(f"discount_rate must be a number above -1, got {discount_rate!r}")
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    ends = step_length * np.arange(0, int(steps) + 1)
    # the purchases once per distinct (frequency, recency, T): customers share them by the
    # thousand (whole days), and each row's figure is its own whatever else is computed
    x, t_x, age = np.broadcast_arrays(x, t_x, age)
    distinct, row = np.unique(
        np.column_stack([x.ravel(), t_x.ravel(), age.ravel()]), axis=0, return_inverse=True
    )
    # cumulative expectations at every step boundary, one column per boundary
    cumulative = expected_purchases(
        purchases, ends[None, :], distinct[:, :1], distinct[:, 1:2], distinct[:, 2:3]
    )
    per_step = np.diff(cumulative, axis=1)
    discount = (1 + discount_rate) ** -np.arange(1, int(steps) + 1)
    # a row's own sum (a matrix product's last digits depend on the rows around it)
    purchases_ahead = (per_step * discount).sum(axis=1)[row.reshape(-1)].reshape(x.shape)
    return margin * expected_spend(spend, x, mean_spend) * purchases_ahead


def holdout_check(
    fit: BgNbdFit,
    frequency: Any,
    recency: Any,
    T: Any,
    holdout_purchases: Any,
    holdout_length: Any,
    weights: Any = None,
    top: int = 7,
) -> pd.DataFrame:
    """Predicted vs actual purchases in a holdout period, by calibration frequency.

    ``fit`` was fitted on the calibration-period summary (``frequency``, ``recency``, ``T``);
    ``holdout_purchases``: each customer's purchases in the holdout period that follows, of
    ``holdout_length`` time units (scalar or per customer); ``weights``: customers per row.
    Returns one row per calibration frequency 0, 1, ..., ``top`` (the last one ``top`` or more):
    frequency, label (``"7+"`` for the last), customers, actual and predicted mean holdout
    purchases -- the paper's figure of conditional expectations."""
    x = np.asarray(frequency, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    actual = np.asarray(holdout_purchases, dtype=float) * np.ones_like(x)
    predicted = expected_purchases(fit, holdout_length, x, recency, T) * np.ones_like(x)
    group = np.minimum(x, top).astype(int)
    frame = pd.DataFrame(
        {"frequency": group, "w": w, "actual": actual * w, "predicted": predicted * w}
    )
    sums = frame.groupby("frequency").sum().reindex(range(top + 1), fill_value=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "frequency": sums.index.to_numpy(),
                "label": [str(k) if k < top else f"{top}+" for k in sums.index],
                "customers": sums["w"].to_numpy(),
                "actual": (sums["actual"] / sums["w"]).to_numpy(),
                "predicted": (sums["predicted"] / sums["w"]).to_numpy(),
            }
        )
    return out


def customer_summary(
    transactions: pd.DataFrame,
    customer: str,
    time: str,
    amount: str | None = None,
    as_of: Any = None,
    unit_days: float = 1.0,
) -> pd.DataFrame:
    """The per-customer (frequency, recency, T[, monetary_value]) summary the models take, from
    one row per transaction.

    Purchases are counted per calendar day (several orders on one day are one purchase, their
    amounts summed), as lifetimes does: ``frequency`` = purchase days - 1, ``recency`` = last
    purchase day - first, ``T`` = ``as_of`` (default: the last transaction's day) - first,
    both in units of ``unit_days`` days (7 for weeks); ``monetary_value`` = mean amount of the
    repeat purchase days (0 without repeat purchases). Transactions after ``as_of`` are
    ignored. Indexed by customer."""
    days = pd.to_datetime(transactions[time]).dt.normalize()
    end = days.max() if as_of is None else pd.Timestamp(as_of).normalize()
    frame = pd.DataFrame({"customer": transactions[customer].to_numpy(), "day": days.to_numpy()})
    frame["amount"] = 0.0 if amount is None else transactions[amount].to_numpy(dtype=float)
    frame = frame[frame["day"] <= end]
    per_day = frame.groupby(["customer", "day"], as_index=False)["amount"].sum()
    per_day = per_day.sort_values(["customer", "day"])
    first = per_day.groupby("customer")["day"].transform("min")
    per_day["repeat"] = per_day["day"] > first
    grouped = per_day.groupby("customer")
    unit = pd.Timedelta(days=unit_days)
    summary = pd.DataFrame(
        {
            "frequency": grouped["repeat"].sum().astype(int),
            "recency": (grouped["day"].max() - grouped["day"].min()) / unit,
            "T": (end - grouped["day"].min()) / unit,
        }
    )
    if amount is not None:
        repeat = per_day[per_day["repeat"]].groupby("customer")["amount"].mean()
        summary["monetary_value"] = repeat.reindex(summary.index, fill_value=0.0)
    summary.index.name = customer
    return summary
