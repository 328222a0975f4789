"""The spend table (paid channels per day) and the channels' truth (users, spend, CAC)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from opsbook.sample.draws import _rng
from opsbook.sample.parameters import CAC, CHANNELS, PAID_CHANNELS
from opsbook.sample.plan import _Plan
from opsbook.sample.truth import _r


def _spend(plan: _Plan, stats: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    rng = _rng(plan.seed, 2)
    counts = stats["signups"]  # days x paid channels
    cac = np.array([CAC[c] for c in PAID_CHANNELS])
    sd = 0.2
    noise = np.exp(rng.normal(-(sd**2) / 2, sd, counts.shape))
    cost = np.round(counts * cac[None, :] * noise, 2)
    dates = np.datetime64(plan.start.isoformat(), "D") + np.arange(plan.days)
    table = pa.table(
        {
            "date": pa.array(np.repeat(dates, len(PAID_CHANNELS))).cast(pa.date32()),
            "channel": pa.array(list(PAID_CHANNELS) * plan.days),
            "cost": pa.array(cost.ravel()),
        }
    )
    truth = {}
    for i, c in enumerate(CHANNELS):
        n = int(stats["channel_users"][i])
        if c in PAID_CHANNELS:
            j = PAID_CHANNELS.index(c)
            total = float(cost[:, j].sum())
            truth[c] = {
                "users": n,
                "spend": _r(total, 2),
                "cac": _r(total / n, 4) if n else None,
                "cac_planted": CAC[c],
            }
        else:
            truth[c] = {"users": n, "spend": 0.0, "cac": None, "cac_planted": None}
    return table, truth
