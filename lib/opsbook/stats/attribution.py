"""Channel attribution: which channels deserve the credit for conversions and their value?

The input is the contract's ``paths`` table: aggregated customer journeys, one row per distinct
journey, with the touch channels joined by ``" > "`` (``path``), how many journeys of that shape
converted (``conversions``), their total value (``value``) and how many did not (``nulls``).

Conventions shared by every model:

- A path is a list of channels (each an atom: a channel named ``"crm > sms"`` is one channel),
  or, as in the contract's ``paths`` table, a text split on the separator with the whitespace
  around it ignored (``"a>b"``, ``"a >b"`` and ``" a > b "`` all read as ``a``, ``b``); empty
  tokens are dropped.
- Repeated touches of the same channel are kept: every touch counts in the heuristic models
  (``"a > a > b"`` gives ``a`` two thirds of the linear credit), and in the Markov chain they are
  self-loops. Self-loops change expected visit counts but not absorption probabilities, so the
  Markov removal effects are identical whether repeats are kept or collapsed (tested).
- A journey without any touch (empty path) cannot credit a channel: its conversions and value
  are left out of every model and reported as ``unattributed_conversions`` /
  ``unattributed_value`` in the frame's ``attrs``. Each model's conversions therefore sum to
  the conversions of the journeys that have at least one touch (the total, on clean data).
- Value is split with the same per-touch weights as the conversions of the same journey; the
  Markov model splits the total value by the same removal-effect shares as the conversions.

Models:

- ``first_touch`` / ``last_touch``: all credit to the first / last touch.
- ``linear``: equal credit to every touch.
- ``position_based`` (U-shaped, default 40/20/40): one touch gets 100 %; two touches split
  first : last in the ratio of the first and last weights (50/50 by default); three or more
  touches give the first and last their weights and spread the middle weight evenly over the
  touches in between.
- ``time_decay``: a touch ``s`` steps before the conversion (the last touch is 0 steps away)
  weighs ``2 ** (-s / half_life)``, normalised per path. Aggregated paths carry no timestamps,
  so *steps are touch positions*, not days.
- ``markov``: a first-order Markov chain over the states start, each channel, conversion and
  null, with transition counts from the paths (start → c1 → … → ck → conversion, weighted by
  ``conversions``, and … → ck → null, weighted by ``nulls``). The probability of conversion
  from start is solved exactly from the absorbing chain, ``(I − Q) x = r``. The removal effect
  of channel c is ``1 − P(conversion | c removed) / P(conversion)``, where removing c sends every
  transition into c to null; attributed conversions are the total conversions times
  ``removal_effect_c / Σ removal effects``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

AttributionModel = Literal[
    "first_touch", "last_touch", "linear", "position_based", "time_decay", "markov"
]
MODELS: tuple[AttributionModel, ...] = (
    "first_touch",
    "last_touch",
    "linear",
    "position_based",
    "time_decay",
    "markov",
)
PATH_COLUMNS: tuple[str, ...] = ("path", "conversions", "value", "nulls")
DEFAULT_SEPARATOR = " > "

# State names of the Markov chain that are not channels.
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


@dataclass(frozen=True)
class _Journeys:
    """Parsed input, journeys without touches excluded, as flat per-touch arrays.

    Touch ``i`` belongs to journey ``path[i]`` at 0-based ``position[i]`` and is a touch of
    channel ``channels[channel[i]]``; ``length[j]`` is the number of touches of journey ``j``.
    """

    channel: np.ndarray
    path: np.ndarray
    position: np.ndarray
    length: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    channels: tuple[str, ...]
    unattributed_conversions: float
    unattributed_value: float
    unattributed_nulls: float

    @property
    def touch_length(self) -> np.ndarray:
        """Length of the journey each touch belongs to."""
        return self.length[self.path]


def _parse(paths: pd.DataFrame, separator: str) -> _Journeys:
    if not isinstance(paths, pd.DataFrame):
        raise TypeError(f"paths must be a pandas DataFrame, got {type(paths).__name__}")
    missing = [c for c in PATH_COLUMNS if c not in paths.columns]
    if missing:
        raise ValueError(
            f"paths is missing the required column(s) {', '.join(map(repr, missing))}; "
            f"expected {', '.join(PATH_COLUMNS)}"
        )
    if not isinstance(separator, str) or not separator.strip():
        raise ValueError(f"separator must be a non-blank string, got {separator!r}")
    numbers = {}
    for column in ("conversions", "value", "nulls"):
        values = pd.to_numeric(paths[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            example = paths[column].to_numpy()[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"column {column!r} must hold finite numbers >= 0; "
                f"{int(bad.sum())} row(s) do not, e.g. {example!r}"
            )
        numbers[column] = values

    token = separator.strip()
    touches: list[list[str]] = []
    for raw in paths["path"].to_numpy():
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            touches.append([])
            continue
        if isinstance(raw, list | tuple | np.ndarray):  # channels as atoms
            touches.append([str(part) for part in raw if str(part).strip()])
            continue
        parts = (part.strip() for part in str(raw).split(token))
        touches.append([part for part in parts if part])

    length = np.fromiter(map(len, touches), dtype=np.intp, count=len(touches))
    has_touch = length > 0
    flat = [channel for t in touches for channel in t]
    codes, uniques = pd.factorize(pd.Series(flat, dtype=object), sort=True)
    kept_length = length[has_touch]
    path_of_touch = np.repeat(np.arange(len(kept_length)), kept_length)
    first_touch = np.cumsum(kept_length) - kept_length
    return _Journeys(
        channel=codes.astype(np.intp),
        path=path_of_touch,
        position=np.arange(len(flat)) - first_touch[path_of_touch],
        length=kept_length,
        conversions=numbers["conversions"][has_touch],
        value=numbers["value"][has_touch],
        nulls=numbers["nulls"][has_touch],
        channels=tuple(str(c) for c in uniques),
        unattributed_conversions=float(numbers["conversions"][~has_touch].sum()),
        unattributed_value=float(numbers["value"][~has_touch].sum()),
        unattributed_nulls=float(numbers["nulls"][~has_touch].sum()),
    )


# --- heuristic models: per-touch weights, summing to 1 over each journey ------------------------


def _touch_weights(
    journeys: _Journeys,
    model: str,
    half_life: float,
    position_weights: tuple[float, float, float],
) -> np.ndarray:
    position, n = journeys.position, journeys.touch_length
    is_first, is_last = position == 0, position == n - 1
    if model == "first_touch":
        return is_first.astype(float)
    if model == "last_touch":
        return is_last.astype(float)
    if model == "linear":
        return 1.0 / n
    if model == "position_based":
        first, middle, last = position_weights
        ends = first + last
        # Two touches share the end weights in their ratio (all-middle weights: evenly).
        two_first, two_last = (first / ends, last / ends) if ends > 0 else (0.5, 0.5)
        with np.errstate(divide="ignore"):
            weights = np.where(n > 2, middle / np.maximum(n - 2, 1), 0.0)
        weights = np.where(is_first, np.where(n == 2, two_first, first), weights)
        weights = np.where(is_last, np.where(n == 2, two_last, last), weights)
        return np.where(n == 1, 1.0, weights)
    if model == "time_decay":
        steps_before_conversion = (n - 1 - position).astype(float)
        raw = np.exp2(-steps_before_conversion / half_life)
        per_path = np.bincount(journeys.path, weights=raw, minlength=len(journeys.length))
        return raw / per_path[journeys.path]
    raise AssertionError(model)  # pragma: no cover - models are checked before


def _heuristic_credit(
    journeys: _Journeys,
    model: str,
    half_life: float,
    position_weights: tuple[float, float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Conversions and value credited to each channel (in ``journeys.channels`` order)."""
    weights = _touch_weights(journeys, model, half_life, position_weights)
    k = len(journeys.channels)
    conversions = np.bincount(
        journeys.channel, weights=weights * journeys.conversions[journeys.path], minlength=k
    )
    value = np.bincount(
        journeys.channel, weights=weights * journeys.value[journeys.path], minlength=k
    )
    return conversions.astype(float), value.astype(float)


# --- Markov chain ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkovChainResult:
    """The first-order Markov chain of the journeys and each channel's removal effect.

    ``transition_counts`` is a square frame (from-state rows, to-state columns) over
    ``(start)``, the channels, ``(conversion)`` and ``(null)``, weighted by journeys.
    ``conversion_probability`` is P(conversion | start), solved exactly from the absorbing chain;
    ``removed_conversion_probability[c]`` is the same with channel c removed (transitions into c
    redirected to null) and ``removal_effects[c] = 1 − removed / conversion_probability``.
    When nothing converts, probabilities are 0, removal effects are NaN and ``reason`` says so.
    """

    channels: tuple[str, ...]
    transition_counts: pd.DataFrame
    conversion_probability: float
    removed_conversion_probability: pd.Series
    removal_effects: pd.Series
    total_conversions: float
    total_value: float
    reason: str | None = None

    @property
    def removal_shares(self) -> pd.Series:
        """Removal effects normalised to sum to 1 (zeros when no channel has an effect)."""
        total = float(self.removal_effects.sum()) if len(self.removal_effects) else 0.0
        if not np.isfinite(total) or total <= 0:
            return pd.Series(0.0, index=self.removal_effects.index, name="removal_share")
        return (self.removal_effects / total).rename("removal_share")

    def transition_matrix(self) -> pd.DataFrame:
        """Transition probabilities (rows sum to 1; absorbing and unvisited rows are all 0)."""
        counts = self.transition_counts
        totals = counts.sum(axis=1).replace(0.0, np.nan)
        return counts.div(totals, axis=0).fillna(0.0)

    def to_frame(self) -> pd.DataFrame:
        """One row per channel: removal effect, its share, and the attributed conversions/value."""
        shares = self.removal_shares
        frame = pd.DataFrame(
            {
                "removal_effect": self.removal_effects,
                "conversion_probability_without": self.removed_conversion_probability,
                "removal_share": shares,
                "markov": shares * self.total_conversions,
                "markov_value": shares * self.total_value,
            }
        )
        frame.index.name = "channel"
        return frame


def _transition_counts(journeys: _Journeys) -> np.ndarray:
    """Weighted transition counts over states [start, channels..., conversion, null]."""
    k = len(journeys.channels)
    conversion, null = k + 1, k + 2
    state = journeys.channel + 1
    # start -> c1 -> ... -> ck: every journey of a shape walks these steps (conversions + nulls)
    previous = np.where(journeys.position == 0, 0, np.roll(state, 1))
    walked = (journeys.conversions + journeys.nulls)[journeys.path]
    # ck -> conversion (x conversions) and ck -> null (x nulls)
    last = state[journeys.position == journeys.touch_length - 1]
    sources = np.concatenate([previous, last, last])
    targets = np.concatenate([state, np.full(len(last), conversion), np.full(len(last), null)])
    weights = np.concatenate([walked, journeys.conversions, journeys.nulls])
    size = k + 3
    counts = np.bincount(sources * size + targets, weights=weights, minlength=size * size)
    return counts.astype(float).reshape(size, size)


def _absorption(counts: np.ndarray) -> tuple[float, np.ndarray]:
    """P(conversion | start) and, per channel, P(conversion | start, channel removed).

    Transient states are start and the channels (indices 0..k); Q holds the transition
    probabilities among them and r the probabilities of stepping into conversion. One solve of
    ``(I − Q) [x, Y] = [r, Q]`` gives the absorption probabilities ``x`` and ``Y = N − I``, with N
    the fundamental matrix (expected visits). Removing channel c (every transition into c goes to
    null instead) is a rank-one change of ``I − Q``; by Sherman–Morrison its conversion probability
    from start is exactly ``x_s − N[s, c] · x_c / N[c, c]``: the conversions that pass through c,
    P(reach c) · P(conversion | at c), are lost, and nothing else changes.
    """
    k = counts.shape[0] - 3
    transient = k + 1
    totals = counts[:transient].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        probabilities = np.where(totals[:, None] > 0, counts[:transient] / totals[:, None], 0.0)
    q = probabilities[:, :transient]
    r = probabilities[:, transient]  # column of the conversion state
    system = np.eye(transient) - q
    solution = np.linalg.solve(system, np.column_stack([r, q]))
    x, visits = solution[:, 0], solution[:, 1:] + np.eye(transient)
    channel = np.arange(1, transient)
    removed = x[0] - visits[0, channel] * x[channel] / visits[channel, channel]
    # Exact algebra can leave -1e-17 where the answer is 0.
    return float(x[0]), np.clip(removed, 0.0, x[0])


def _markov(journeys: _Journeys) -> MarkovChainResult:
    channels = journeys.channels
    states = [START, *channels, CONVERSION, NULL]
    counts = _transition_counts(journeys)
    total_conversions = float(journeys.conversions.sum())
    total_value = float(journeys.value.sum())
    counts_frame = pd.DataFrame(counts, index=states, columns=states)
    channel_index = pd.Index(channels, name="channel")
    if counts[0].sum() == 0 or counts[:, len(channels) + 1].sum() == 0:
        nan = pd.Series(np.nan, index=channel_index, dtype=float)
        zero = pd.Series(0.0, index=channel_index, dtype=float)
        return MarkovChainResult(
            channels=channels,
            transition_counts=counts_frame,
            conversion_probability=0.0,
            removed_conversion_probability=zero.rename("conversion_probability_without"),
            removal_effects=nan.rename("removal_effect"),
            total_conversions=total_conversions,
            total_value=total_value,
            reason="no_conversions" if counts[0].sum() else "no_journeys",
        )
    probability, removed = _absorption(counts)
    effects = 1.0 - removed / probability
    return MarkovChainResult(
        channels=channels,
        transition_counts=counts_frame,
        conversion_probability=probability,
        removed_conversion_probability=pd.Series(
            removed, index=channel_index, name="conversion_probability_without"
        ),
        removal_effects=pd.Series(effects, index=channel_index, name="removal_effect"),
        total_conversions=total_conversions,
        total_value=total_value,
    )


def markov_chain(paths: pd.DataFrame, *, separator: str = DEFAULT_SEPARATOR) -> MarkovChainResult:
    """Fit the first-order Markov chain of the journeys: how likely is a journey to convert,
    and how much of that probability is lost when each channel is removed?

    See the module docstring for the states, weights and the exact removal computation.
    """
    return _markov(_parse(paths, separator))


def markov_removal_effects(paths: pd.DataFrame, *, separator: str = DEFAULT_SEPARATOR) -> pd.Series:
    """Removal effect of each channel: the share of the conversion probability lost without it.

    Returns a Series indexed by channel, named ``removal_effect``, values in [0, 1] (NaN when
    nothing converts). ``attrs["conversion_probability"]`` holds P(conversion | start); the full
    chain is available from :func:`markov_chain`.
    """
    chain = markov_chain(paths, separator=separator)
    effects = chain.removal_effects.copy()
    effects.attrs["conversion_probability"] = chain.conversion_probability
    return effects


def _check_parameters(
    models: Sequence[str], half_life: float, position_weights: Sequence[float]
) -> tuple[tuple[str, ...], tuple[float, float, float]]:
    if isinstance(models, str):
        models = (models,)
    models = tuple(models)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown attribution model(s) {unknown}; choose from {list(MODELS)}")
    if len(set(models)) != len(models):
        raise ValueError(f"models are listed more than once: {list(models)}")
    if not models:
        raise ValueError("models is empty; choose at least one of " + ", ".join(MODELS))
    if not (isinstance(half_life, int | float) and math.isfinite(half_life) and half_life > 0):
        raise ValueError(f"half_life must be a finite number > 0, got {half_life!r}")
    weights = tuple(float(w) for w in position_weights)
    if (
        len(weights) != 3
        or any(not math.isfinite(w) or w < 0 for w in weights)
        or not math.isclose(sum(weights), 1.0, abs_tol=1e-9)
    ):
        raise ValueError(
            "position_weights must be three numbers >= 0 (first, middle, last) summing to 1, "
            f"got {tuple(position_weights)!r}"
        )
    return models, weights  # type: ignore[return-value]


def attribution(
    paths: pd.DataFrame,
    models: Sequence[str] = MODELS,
    *,
    half_life: float = 1.0,
    position_weights: Sequence[float] = (0.4, 0.2, 0.4),
    separator: str = DEFAULT_SEPARATOR,
) -> pd.DataFrame:
    """How many conversions, and how much value, does each channel earn under each model?

    ``paths`` has the columns ``path``, ``conversions``, ``value`` and ``nulls`` (the contract's
    ``paths`` table). Returns one row per channel (index ``channel``, sorted by name), a column of
    attributed conversions per requested model named after it (``first_touch``, ``last_touch``,
    ``linear``, ``position_based``, ``time_decay``, ``markov``), then the attributed value of each
    as ``<model>_value``. Each model's column sums to the conversions of the journeys with at
    least one touch. ``attrs`` carries ``total_conversions``, ``total_value``,
    ``unattributed_conversions`` / ``unattributed_value`` (journeys without touches) and, when
    ``markov`` is requested, ``conversion_probability``, ``removal_effects`` (a dict) and
    ``markov_reason`` (None, or why removal effects are undefined).

    ``half_life`` (touch positions, > 0) parameterises ``time_decay``; ``position_weights``
    (first, middle, last; >= 0, summing to 1) parameterises ``position_based``. Missing columns,
    negative or non-finite counts, unknown models and bad parameters raise ``ValueError``. An
    empty table gives an empty frame with the same columns.
    """
    models, weights = _check_parameters(models, half_life, position_weights)
    journeys = _parse(paths, separator)
    index = pd.Index(journeys.channels, name="channel", dtype=object)
    conversions: dict[str, np.ndarray] = {}
    value: dict[str, np.ndarray] = {}
    chain: MarkovChainResult | None = None
    for model in models:
        if model == "markov":
            chain = _markov(journeys)
            shares = chain.removal_shares.to_numpy()
            conversions[model] = shares * chain.total_conversions
            value[model] = shares * chain.total_value
        else:
            conversions[model], value[model] = _heuristic_credit(
                journeys, model, half_life, weights
            )
    frame = pd.DataFrame(
        {
            **{m: conversions[m] for m in models},
            **{f"{m}_value": value[m] for m in models},
        },
        index=index,
        dtype=float,
    )
    frame.attrs.update(
        total_conversions=float(journeys.conversions.sum()),
        total_value=float(journeys.value.sum()),
        unattributed_conversions=journeys.unattributed_conversions,
        unattributed_value=journeys.unattributed_value,
        unattributed_nulls=journeys.unattributed_nulls,
        separator=separator,
        half_life=float(half_life),
        position_weights=weights,
    )
    if chain is not None:
        frame.attrs.update(
            conversion_probability=chain.conversion_probability,
            removal_effects=chain.removal_effects.to_dict(),
            markov_reason=chain.reason,
        )
    return frame
