"""The retention matrix: who of each cohort comes back in each later period, every cell marked
complete or not at ``as_of``, and the weighted and simple means across cohorts (the definitions:
:mod:`opsbook.retention`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from opsbook.data import Source
from opsbook.retention.queries.active import activity_label, check_event
from opsbook.retention.queries.matrix import Bracket, matrix_counts, parse_brackets
from opsbook.retention.queries.periods import (
    CRITERIA,
    ENTRIES,
    PERIODS,
    ROLLING_SECONDS,
    WINDOWS,
    AsOf,
    Criterion,
    Entry,
    Period,
    Window,
    _check,
    _src,
    period_label,
    period_start,
    resolve_as_of,
)


@dataclass(frozen=True)
class RetentionResult:
    """A retention matrix and what it rests on.

    ``cells`` (long): [group,] cohort (label), cohort_start (local date), period (int, or the
    bracket label), users, retained, rate, complete -- retained and rate are NaN where the cell's
    period has not fully elapsed. ``cohorts``: [group,] cohort, cohort_start, users. ``mean``:
    [group,] period, cohorts, users, retained, weighted (pooled rate over the cohorts complete in
    that period), simple (mean of their rates)."""

    cells: pd.DataFrame
    cohorts: pd.DataFrame
    mean: pd.DataFrame
    periods: tuple
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def grouped(self) -> bool:
        return "group" in self.cells.columns

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(self.cells["group"])) if self.grouped else []

    @property
    def users(self) -> int:
        return int(self.cohorts["users"].sum())

    def wide(self, value: str = "rate", group: str | None = None) -> pd.DataFrame:
        """Cohorts x periods of ``value`` (rate, retained); incomplete cells NaN."""
        cells = self.cells
        if self.grouped:
            cells = cells[cells["group"] == (group if group is not None else self.groups[0])]
        wide = cells.pivot(index="cohort", columns="period", values=value)
        return wide.reindex(columns=[p for p in self.periods if p in wide.columns])

    def long(self) -> pd.DataFrame:
        return self.cells.copy()

    def curve(self, kind: str = "weighted") -> pd.DataFrame:
        """The mean retention per period ([group,] period, rate)."""
        cols = (["group"] if self.grouped else []) + ["period", kind]
        return self.mean[cols].rename(columns={kind: "rate"})

    def matrix_records(self) -> list[dict[str, Any]]:
        """Complete cells as ``{cohort, period, users, retained, rate}`` (for metrics.json)."""
        done = self.cells[self.cells["complete"]]
        cols = (["group"] if self.grouped else []) + ["cohort", "period", "users", "retained"]
        out = []
        for row in done[[*cols, "rate"]].itertuples(index=False):
            record = dict(zip([*cols, "rate"], row, strict=True))
            record["users"] = int(record["users"])
            record["retained"] = int(record["retained"])
            record["period"] = (
                int(record["period"]) if not isinstance(record["period"], str) else record["period"]
            )
            out.append(record)
        return out

    def overall(self) -> RetentionResult:
        """The matrix of all groups together. Exact: every entry belongs to one group, so cohort
        sizes and retained counts add up (for "on_or_after" too)."""
        if not self.grouped:
            return self
        keys = ["cohort", "cohort_start", "period"]
        cells = (
            self.cells.groupby(keys, sort=False)
            .agg(users=("users", "sum"), retained=("retained", "sum"), complete=("complete", "all"))
            .reset_index()
        )
        cells["retained"] = cells["retained"].where(cells["complete"])
        cells["rate"] = cells["retained"] / cells["users"]
        order = {p: i for i, p in enumerate(self.periods)}
        cells = cells.assign(_o=cells["period"].map(order)).sort_values(["cohort_start", "_o"])
        cells = cells.drop(columns="_o").reset_index(drop=True)
        cells = cells[["cohort", "cohort_start", "period", "users", "retained", "rate", "complete"]]
        cohorts = (
            self.cohorts.groupby(["cohort", "cohort_start"], sort=False)["users"]
            .sum()
            .reset_index()
            .sort_values("cohort_start")
            .reset_index(drop=True)
        )
        settings = dict(self.settings) | {"breakdown": None}
        return RetentionResult(cells, cohorts, _means(cells, None), self.periods, settings)

    def metrics(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "cohorts": int(self.cohorts["cohort"].nunique()),
            "period": self.settings.get("period"),
            "criterion": self.settings.get("criterion"),
            "matrix": self.matrix_records(),
        }


def retention_matrix(
    source: Any,
    *,
    period: Period = "week",
    criterion: Criterion = "on",
    return_event: str = "any",
    cohort_event: str | None = None,
    entry: Entry = "first",
    window: Window = "calendar",
    brackets: Any = None,
    breakdown: str | None = None,
    users: Any = None,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    max_period: int | None = None,
) -> RetentionResult:
    """Who of each cohort comes back in each later period? See :mod:`opsbook.retention` for every
    definition. ``start``/``end``: local dates (inclusive) bounding the cohort entries;
    ``users``: an Ibis table (user_id) or column restricting both entries and returns;
    ``max_period``: the last period after entry to compute (None: every one the data has)."""
    _check(criterion, CRITERIA, "criterion")
    return retention_matrices(
        source,
        criteria=(criterion,),
        period=period,
        return_event=return_event,
        cohort_event=cohort_event,
        entry=entry,
        window=window,
        brackets=brackets,
        breakdown=breakdown,
        users=users,
        start=start,
        end=end,
        as_of=as_of,
        max_period=max_period,
    )[criterion]


def retention_matrices(
    source: Any,
    *,
    criteria: tuple[Criterion, ...] = CRITERIA,
    period: Period = "week",
    return_event: str = "any",
    cohort_event: str | None = None,
    entry: Entry = "first",
    window: Window = "calendar",
    brackets: Any = None,
    breakdown: str | None = None,
    users: Any = None,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    max_period: int | None = None,
) -> dict[str, RetentionResult]:
    """The retention matrix of each of ``criteria`` from one engine query (the explorer switches
    criterion without asking the engine again); arguments as :func:`retention_matrix`."""
    src = _src(source)
    _check(period, PERIODS, "period")
    for criterion in criteria:
        _check(criterion, CRITERIA, "criterion")
    _check(entry, ENTRIES, "entry")
    _check(window, WINDOWS, "window")
    if max_period is not None and max_period < 1:
        raise ValueError(f"max_period must be at least 1, got {max_period}")
    bracket_list = parse_brackets(brackets, period)
    check_event(src, return_event)
    if cohort_event is not None:
        check_event(src, cohort_event)
    point = resolve_as_of(src, as_of)

    sizes, counts = matrix_counts(
        src,
        point,
        period=period,
        criteria=tuple(criteria),
        return_event=return_event,
        cohort_event=cohort_event,
        entry=entry,
        window=window,
        bracket_list=bracket_list,
        breakdown=breakdown,
        users=users,
        start=start,
        end=end,
        max_period=None if bracket_list else max_period,
    )
    settings = {
        "period": period,
        "return_event": return_event,
        "activity": activity_label(src, return_event),
        "cohort_event": cohort_event,
        "entry": entry if cohort_event is not None else "first",
        "window": window,
        "brackets": [[b.lo, b.hi] for b in bracket_list] or None,
        "breakdown": breakdown,
        "timezone": src.timezone,
        "as_of": point.local,
        "start": start,
        "end": end,
    }
    results = {}
    for criterion, returned in counts.items():
        cells = _assemble(
            sizes, returned, criterion, bracket_list, period, window, point, src, max_period
        )
        chosen = {"period": period, "criterion": criterion} | settings
        results[criterion] = _result(cells, sizes, bracket_list, breakdown, period, chosen)
    return results


def _complete(
    cohort: np.ndarray, n: np.ndarray, period: str, window: str, point: AsOf, src: Source
) -> np.ndarray:
    """Has period ``n`` after entry fully elapsed at ``as_of`` for every member of the cohort?"""
    if window == "calendar":
        return cohort + n <= point.last_complete(period)
    # rolling: the cohort's last possible entry is just before the next period starts
    nexts = {c: src.utc_from_local(period_start(c + 1, period)) for c in np.unique(cohort)}
    length = timedelta(seconds=ROLLING_SECONDS[period])
    return np.array(
        [nexts[c] + (k + 1) * length <= point.utc for c, k in zip(cohort, n, strict=True)],
        dtype=bool,
    )


def _assemble(
    sizes: pd.DataFrame,
    counts: pd.DataFrame,
    criterion: str,
    brackets: tuple[Bracket, ...],
    period: str,
    window: str,
    point: AsOf,
    src: Source,
    max_period: int | None = None,
) -> pd.DataFrame:
    """Every cohort x period cell (retained counts and completeness) from the engine's counts,
    periods up to ``max_period`` (None: all)."""
    sizes = sizes.astype({"cohort": "int64", "users": "int64"})
    if sizes.empty:
        return pd.DataFrame(
            columns=["grp", "cohort", "period", "hi", "users", "retained", "complete"]
        )
    if brackets:
        grid_n = pd.DataFrame(
            {
                "period": [b.label for b in brackets],
                "lo": [b.lo for b in brackets],
                "hi": [b.hi for b in brackets],
                "b": range(len(brackets)),
            }
        )
    else:
        max_n = point.last_complete(period) - int(sizes["cohort"].min()) + 1
        if max_period is not None:
            max_n = min(max_n, max_period)
        ns = np.arange(0, max(max_n, 0) + 1)
        grid_n = pd.DataFrame({"period": ns, "lo": ns, "hi": ns, "b": ns})
    grid = sizes.merge(grid_n, how="cross")
    counts = counts.rename(columns={"k": "count"})
    if criterion == "on":
        key = "b" if brackets else "n"
        counts = counts.rename(columns={key: "b"}).astype({"b": "int64", "cohort": "int64"})
        grid = grid.merge(
            counts[["grp", "cohort", "b", "count"]], on=["grp", "cohort", "b"], how="left"
        )
        grid["retained"] = grid["count"].fillna(0).astype("int64")
    else:
        # users whose last active period is >= lo: a suffix sum of the last-period histogram
        counts = counts.astype({"last": "int64", "cohort": "int64"})
        keys = pd.MultiIndex.from_frame(grid[["grp", "cohort"]].drop_duplicates())
        width = int(max(counts["last"].max() if not counts.empty else 0, grid["lo"].max())) + 1
        histogram = np.zeros((len(keys), width + 1))
        where = keys.get_indexer(pd.MultiIndex.from_frame(counts[["grp", "cohort"]]))
        np.add.at(histogram, (where, counts["last"].to_numpy()), counts["count"].to_numpy())
        at_least = histogram[:, ::-1].cumsum(axis=1)[:, ::-1]
        rows = keys.get_indexer(pd.MultiIndex.from_frame(grid[["grp", "cohort"]]))
        retained = at_least[rows, grid["lo"].to_numpy()].astype("int64")
        grid["retained"] = retained
    if not brackets:
        grid.loc[grid["period"] == 0, "retained"] = grid.loc[grid["period"] == 0, "users"]
    grid["complete"] = _complete(
        grid["cohort"].to_numpy(), grid["hi"].to_numpy(), period, window, point, src
    )
    return grid[["grp", "cohort", "period", "hi", "users", "retained", "complete"]]


def _means(cells: pd.DataFrame, group: str | None) -> pd.DataFrame:
    """Per [group and] period over the complete cohorts: cohorts, users, retained, weighted
    (pooled: retained / users) and simple (mean of the cohort rates)."""
    keys = ([group] if group else []) + ["period"]
    done = cells[cells["complete"]]
    mean = (
        done.groupby(keys, sort=False)
        .agg(
            cohorts=("cohort", "size"),
            users=("users", "sum"),
            retained=("retained", "sum"),
            simple=("rate", "mean"),
        )
        .reset_index()
    )
    mean["weighted"] = mean["retained"] / mean["users"]
    return mean[[*keys, "cohorts", "users", "retained", "weighted", "simple"]]


def _start_and_label(numbers: pd.Series, period: str) -> tuple[pd.Series, pd.Series]:
    """The start date and the label of each cohort's period number, worked out once per distinct
    number (daily cohorts by group have ~10^5 cells but a few hundred cohorts)."""
    distinct = numbers.unique()
    starts = {n: period_start(n, period) for n in distinct}
    labels = {n: period_label(n, period) for n in distinct}
    return numbers.map(starts), numbers.map(labels)


def _result(
    cells: pd.DataFrame,
    sizes: pd.DataFrame,
    brackets: tuple[Bracket, ...],
    breakdown: str | None,
    period: str,
    settings: dict[str, Any],
) -> RetentionResult:
    cells = cells.copy()
    if not cells.empty:
        # drop trailing period columns that no cohort has completed yet
        done_hi = cells.loc[cells["complete"], "hi"]
        limit = done_hi.max() if not done_hi.empty else 0
        cells = cells[(cells["hi"] <= limit) | bool(brackets)]
    cells["retained"] = cells["retained"].astype(float).where(cells["complete"])
    cells["rate"] = cells["retained"] / cells["users"]
    cells["cohort_start"], cells["cohort"] = _start_and_label(cells["cohort"], period)
    cells = cells.sort_values(["grp", "cohort_start", "hi"], kind="stable").reset_index(drop=True)
    periods = (
        tuple(b.label for b in brackets)
        if brackets
        else tuple(int(p) for p in sorted(cells["period"].unique()))
    )
    mean = _means(cells, "grp")
    cohorts = sizes.astype({"cohort": "int64"}).sort_values(["grp", "cohort"])
    starts, labels = _start_and_label(cohorts["cohort"], period)
    cohorts = cohorts.assign(cohort_start=starts, cohort=labels)
    cohorts = cohorts[["grp", "cohort", "cohort_start", "users"]].reset_index(drop=True)
    cell_cols = ["grp", "cohort", "cohort_start", "period", "users", "retained", "rate", "complete"]
    cells = cells[cell_cols]
    frames = [cells, cohorts, mean]
    if breakdown is None:
        frames = [f.drop(columns="grp") for f in frames]
    else:
        frames = [f.rename(columns={"grp": "group"}) for f in frames]
    return RetentionResult(*frames, periods=periods, settings=settings)
