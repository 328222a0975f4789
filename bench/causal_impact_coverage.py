"""Simulation: how often do causal_impact's 95 % intervals cover series drawn from its own model?

    PYTHONPATH=lib:. .venv/bin/python bench/causal_impact_coverage.py              # ~25 min CPU
    PYTHONPATH=lib:. .venv/bin/python bench/causal_impact_coverage.py --runs 300 --plug-in-runs 100

Series come from tests/unit/stats/state_space_simulation.py (the generator of the unit test,
which runs 400 series per length): 200 + local level + weekly pattern + N(0, 10²) noise, every
other one with a control series, 28 post-period days, no effect. For each pre-period length it
prints the share of series whose post-period total lies inside the total's 95 % interval
("total") and the share of post-period days inside their day's interval ("daily"):

* ``posterior``: causal_impact's intervals (the posterior mixture over the variances);
* ``plug-in``: the previous method, the Gaussian forecast at the maximum-likelihood variances
  with its exact joint covariance, on the first ``--plug-in-runs`` (``--fixed-plug-in-runs``)
  series (one fit each).

First with the level-to-noise ratio drawn from the model's prior (the series are then draws
from the very model that is fitted, and the posterior must cover 95 %), then at fixed ratios
(a steady level covers more than 95 %, a fast-drifting one less, on short pre-periods: see
the assumptions). The Monte-Carlo standard error of a 95 % coverage over n series is
sqrt(0.0475 / n): 0.49 points at 2,000. Last, the time of one causal_impact call. A script, not
a test.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opsbook.stats._state_space_posterior import (
    forecast_design,
    forecast_moments,
    structural_model,
)
from opsbook.stats.state_space import causal_impact
from tests.unit.stats.state_space_simulation import (
    LEVEL,
    counterfactual_posterior,
    covered,
    simulated_metric,
    standardised,
)

POST_DAYS = 28
FIXED_RATIOS = (1e-4, 1e-3, 0.01, 0.04, 0.16, 1.0)


def plug_in_covered(series, controls, n_pre: int) -> tuple[bool, float]:
    """The previous intervals: Gaussian at the maximum-likelihood variances."""
    values, exog = standardised(series, controls, n_pre)
    model = structural_model(values[:n_pre], None if exog is None else exog[:n_pre], 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unconverged fits count as they are
        fitted = model.fit(disp=False, maxiter=500)
    noise, level = fitted.params[0], fitted.params[1]
    future = None if exog is None else exog[n_pre:]
    mean, covariance = forecast_moments(
        forecast_design(fitted.model, future, POST_DAYS),
        fitted.predicted_state[:, -1],
        fitted.predicted_state_cov[:, :, -1] / noise,
        level / noise,
    )
    actual = values[n_pre:]
    z = special.ndtri((1 + LEVEL) / 2)
    total_sd = math.sqrt(noise * covariance.sum())
    daily_sd = np.sqrt(noise * np.diag(covariance))
    total = abs(actual.sum() - mean.sum()) <= z * total_sd
    return bool(total), float((np.abs(actual - mean) <= z * daily_sd).mean())


def measure(
    pre_days: int, ratio: float | None, runs: int, plug_in_runs: int, seed: int
) -> dict[str, float]:
    rng = np.random.default_rng([seed, pre_days])
    posterior, plug_in = [], []
    for run in range(runs):
        series, controls, _ = simulated_metric(
            rng, pre_days + POST_DAYS, ratio, control=run % 2 == 1
        )
        posterior.append(covered(*counterfactual_posterior(series, controls, pre_days)))
        if run < plug_in_runs:
            plug_in.append(plug_in_covered(series, controls, pre_days))
    out = dict(zip(("total", "daily"), np.mean(posterior, axis=0), strict=True))
    if plug_in:
        out.update(zip(("plug_total", "plug_daily"), np.mean(plug_in, axis=0), strict=True))
    return out


def row(label: str, result: dict[str, float]) -> str:
    plug = (
        f"{result['plug_total']:.3f} | {result['plug_daily']:.3f}"
        if "plug_total" in result
        else "– | –"
    )
    return f"| {label} | {result['total']:.3f} | {result['daily']:.3f} | {plug} |"


def call_time(pre_days: int, repeat: int = 5) -> tuple[float, float]:
    """Wall and CPU seconds of one causal_impact call with a control (best of ``repeat``)."""
    series, controls, _ = simulated_metric(
        np.random.default_rng(1), pre_days + POST_DAYS, 0.02, control=True
    )
    pre = (series.index[0], series.index[pre_days - 1])
    post = (series.index[pre_days], series.index[-1])
    best = (math.inf, math.inf)
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        causal_impact(series, pre, post, controls)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="series per cell")
    parser.add_argument("--fixed-runs", type=int, default=400, help="series per fixed ratio")
    parser.add_argument("--plug-in-runs", type=int, default=400, help="of which also plug-in")
    parser.add_argument("--fixed-plug-in-runs", type=int, default=200)
    parser.add_argument("--pre-days", default="21,28,84,364")
    parser.add_argument("--fixed-pre-days", default="28,84,364")
    args = parser.parse_args()
    lengths = [int(v) for v in args.pre_days.split(",")]
    header = "| {} | total | daily | plug-in total | plug-in daily |\n|---|---:|---:|---:|---:|"
    print(f"\nRatio drawn from the prior, {args.runs} series per length "
          f"(plug-in: first {args.plug_in_runs})\n")  # fmt: skip
    print(header.format("pre-period days"))
    for pre_days in lengths:
        result = measure(pre_days, None, args.runs, args.plug_in_runs, seed=0)
        print(row(str(pre_days), result), flush=True)
    plug = min(args.fixed_plug_in_runs, args.fixed_runs)
    print(f"\nFixed level-to-noise ratio, {args.fixed_runs} series per cell (plug-in: {plug})\n")
    print(header.format("ratio, pre-period days"))
    for seed, ratio in enumerate(FIXED_RATIOS, start=1):
        for pre_days in (int(v) for v in args.fixed_pre_days.split(",")):
            result = measure(pre_days, ratio, args.fixed_runs, plug, seed)
            print(row(f"{ratio:g}, {pre_days}", result), flush=True)
    print("\nOne causal_impact call (one control, 28 post-period days), best of 5\n")
    print("| pre-period days | wall s | CPU s |\n|---|---:|---:|")
    for pre_days in lengths:
        wall, cpu = call_time(pre_days)
        print(f"| {pre_days} | {wall:.3f} | {cpu:.3f} |", flush=True)


if __name__ == "__main__":
    main()
