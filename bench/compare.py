"""Whether two methods of a step give the same numbers (counts exactly, sums to 1e-9
relative).
"""

from __future__ import annotations

from params import AS_OF


def _prepare(step: str, name: str, frame, as_of_week: int | None):
    import pandas as pd

    frame = frame.copy()
    if step == "retention" and name == "cells":
        from opsbook.retention import number_of

        last = as_of_week - 1
        keep = [
            number_of(pd.Timestamp(c), "week") + int(n) <= last and int(n) > 0
            for c, n in zip(frame["cohort"], frame["period"], strict=True)
        ]
        frame = frame[keep]
    return frame


KEYS = {
    ("rfm", "customers"): ["user_id"],
    ("rfm", "summary"): ["key"],
    ("retention", "sizes"): ["cohort"],
    ("retention", "cells"): ["cohort", "period"],
    ("experiment", "sums"): ["variant", "day"],
    ("campaign", "sums"): ["grp", "channel"],
    ("kpi", "weeks"): ["k"],
    ("funnel", "steps"): ["step"],
    ("funnel", "times"): ["step"],
    ("paths", "nodes"): ["step", "event"],
    ("paths", "transitions"): ["step", "source", "target"],
    ("paths", "top"): ["path"],
    ("insight_features", "features"): ["user_id"],
    ("brushing", "flags"): ["rule"],
    ("forecast", "series"): ["k"],
    ("brushing", "refunds"): ["peer", "orders", "refunds"],
}


def same(step: str, got: dict, ref: dict) -> str | None:
    """None when ``got`` holds the numbers of ``ref``; else what differs."""
    import numpy as np
    import pandas as pd

    from opsbook.retention import number_of

    week = number_of(pd.Timestamp(AS_OF), "week")
    for name in ref:
        keys = KEYS[(step, name)]
        a = _prepare(step, name, got[name], week)
        b = _prepare(step, name, ref[name], week)
        for frame in (a, b):
            for k in keys:
                frame[k] = frame[k].astype(str) if frame[k].dtype == object else frame[k]
            if frame[keys[0]].dtype.kind == "f":
                frame[keys[0]] = frame[keys[0]].astype("int64")
        m = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"))
        values = [c for c in a.columns if c not in keys]
        for c in values:
            x = pd.to_numeric(m[f"{c}_a"]).fillna(0).to_numpy(float)
            y = pd.to_numeric(m[f"{c}_b"]).fillna(0).to_numpy(float)
            if not np.allclose(x, y, rtol=1e-9, atol=1e-6):
                bad = int((~np.isclose(x, y, rtol=1e-9, atol=1e-6)).sum())
                return f"{name}.{c}: {bad} of {len(m)} rows differ"
    return None
