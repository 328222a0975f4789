"""Random draws shared by the generator: per-block generators, time spans, categories,
times of day, positions per user, balanced variants, the content item a view picks.
"""

from __future__ import annotations

import numpy as np

from opsbook.sample.parameters import CONTENT_RECENCY, HOUR_US, HOUR_WEIGHTS, LAST_HOUR_SPAN


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _span(rng: np.random.Generator, size: int, lo_us: float, hi_us: float) -> np.ndarray:
    return (lo_us + rng.random(size) * (hi_us - lo_us)).astype(np.int64)


def _categorical(rng: np.random.Generator, size: int, p: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(p) - 1)


def _time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    hour = _categorical(rng, size, HOUR_WEIGHTS)
    frac = rng.random(size) * np.where(hour == 23, LAST_HOUR_SPAN, 1.0)
    return ((hour + frac) * HOUR_US).astype(np.int64)


def _segments(owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(owner, minlength=n)
    return np.cumsum(counts) - counts, counts


def _pick(rng: np.random.Generator, owner: np.ndarray, n: int, who: np.ndarray) -> np.ndarray:
    """One random position of ``owner`` (sorted) per entry of ``who``; -1 when none."""
    starts, counts = _segments(owner, n)
    c = counts[who]
    k = starts[who] + (rng.random(len(who)) * c).astype(np.int64)
    return np.where(c > 0, k, -1)


def _first(owner: np.ndarray, n: int) -> np.ndarray:
    """Position of the first entry of each user in ``owner`` (sorted); -1 when none."""
    out = np.full(n, -1, dtype=np.int64)
    users, idx = np.unique(owner, return_index=True)
    out[users] = idx
    return out


def _balanced(rng: np.random.Generator, n: int) -> np.ndarray:
    """Blocked randomisation: 0/1 in random order, the two counts differing by at most one."""
    v = np.zeros(n, dtype=np.int8)
    perm = rng.permutation(n)
    v[perm[int(rng.integers(2)) :: 2]] = 1
    return v


def _choose_content(rng, ts, pub, quality) -> np.ndarray:
    """Index of a content item published before each view (recent, good items more often)."""
    k = np.searchsorted(pub, ts, side="left")
    out = np.full(len(ts), -1, dtype=np.int64)
    todo = np.flatnonzero(k > 0)
    for attempt in range(6):
        kk = k[todo]
        back = rng.geometric(1 / CONTENT_RECENCY, len(todo)) - 1
        cand = kk - 1 - back
        cand = np.where(cand < 0, (rng.random(len(todo)) * kk).astype(np.int64), cand)
        accept = (rng.random(len(todo)) < quality[cand]) | (attempt == 5)
        out[todo[accept]] = cand[accept]
        todo = todo[~accept]
    return out
