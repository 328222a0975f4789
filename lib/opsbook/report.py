"""What a report notebook calls: open the data, check it, show tables and text, record metrics.

A report notebook is: parameters -> ``report = start(...)`` -> calls into the topic module ->
``report.show(...)`` -> ``report.record(metrics, headline)``. Everything shown goes through here,
so every string from data is escaped and every small group is suppressed in one place.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from opsbook.config import Config, load_config
from opsbook.data import Source, open_source
from opsbook.errors import use_lang
from opsbook.formats import STATUS_CLASS, fmt, use_currency
from opsbook.i18n import display_name, t
from opsbook.parameters import check_parameters
from opsbook.plots import bounded_text
from opsbook.validation import SourceChecks, Validation, validate

METRICS_MIME = "application/vnd.opsbook.metrics+json"
BATCH_ENV = "OPSBOOK_BATCH"  # set by the runner: no widgets in batch runs
RUN_DIR_ENV = "OPSBOOK_RUN_DIR"  # set by the runner: the run folder being written
CHECKS_ENV = "OPSBOOK_CHECKS"  # set by the runner: its SourceChecks of the run's source

# The metrics that read the wall clock (the moment of the run, not the data), per report: their
# paths in ``<report>.metrics.json``, keys joined by dots, ``*`` for every key or list item. Every
# other value is the same, byte for byte, in two runs of the same code on the same data and config
# (the engine's float sums are exact: ``opsbook.engine.exact_sum``;
# tests/notebooks/test_determinism.py). A status that follows such a value (the KPI data
# freshness's, data quality's "stale") changes with it when the data's age crosses its limit.
WALL_CLOCK_METRICS: Mapping[str, tuple[str, ...]] = {
    "kpi_dashboard": ("freshness_hours", "kpis.data_freshness_hours.value"),
    "data_quality": (
        "freshness.now",
        "freshness.age_days",
        "tables.*.age_days",
        "problems.*.age_days",
        "headline.*.value",  # the data's age in days is one of the card's numbers
    ),
}


def wall_clock_values(report: str, metrics: Mapping[str, Any]) -> dict[tuple[Any, ...], Any]:
    """The values of ``report``'s :data:`WALL_CLOCK_METRICS` in ``metrics``, by their key path
    (``*`` expanded; a path the document does not have is left out)."""
    found: dict[tuple[Any, ...], Any] = {}

    def walk(node: Any, keys: list[str], at: tuple[Any, ...]) -> None:
        if not keys:
            found[at] = node
            return
        head, rest = keys[0], keys[1:]
        if isinstance(node, Mapping):
            for key in node if head == "*" else [head] if head in node else []:
                walk(node[key], rest, (*at, key))
        elif isinstance(node, list) and head == "*":
            for i, item in enumerate(node):
                walk(item, rest, (*at, i))

    for path in WALL_CLOCK_METRICS.get(report, ()):
        walk(metrics, path.split("."), ())
    return found


def without_wall_clock(report: str, metrics: Mapping[str, Any]) -> Any:
    """A copy of ``metrics`` with ``report``'s wall-clock values set to None."""
    copy = json.loads(json.dumps(metrics))
    for path in wall_clock_values(report, copy):
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = None
    return copy


def is_batch() -> bool:
    """True inside ``opsbook run`` (papermill), False in JupyterLab."""
    return os.environ.get(BATCH_ENV) == "1"


def run_folder() -> Path | None:
    """The folder of the run being written (files a report writes go beside its HTML), or None
    outside ``opsbook run``."""
    folder = os.environ.get(RUN_DIR_ENV)
    return Path(folder) if folder else None


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: numpy scalars as numbers, NaN/inf as null, dates as ISO text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series):
        return [jsonable(v) for v in (list(value) if not isinstance(value, set) else sorted(value))]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return None if pd.isna(value) else value.isoformat()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    raise TypeError(f"metrics value of type {type(value).__name__} is not JSON: {value!r}")


ENGINE_NAMES = {"duckdb": "DuckDB", "pyspark": "Spark"}
LONG_TEXT = 32  # characters: a table cell longer than this may wrap, a shorter one never does


def render_table(
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, str] | None = None,
    min_cell: int | None = None,
    count_columns: Iterable[str] = (),
    index: bool = False,
    caption: str | None = None,
    classes: Mapping[str, Sequence[str | None]] | None = None,
) -> str:
    """HTML for ``frame``, every cell escaped.

    Privacy: in a row where a count in ``count_columns`` is between 1 and ``min_cell`` - 1, the
    counts show as ``<min_cell`` and every other number of the row (shares, means, sums computed
    from those few people) as a dash. ``classes`` gives a CSS class per row for a column (status
    colours)."""
    formats = dict(formats or {})
    shown = frame.reset_index() if index else frame.copy()
    counts = [c for c in count_columns if c in shown.columns]
    small = pd.Series(False, index=shown.index)
    if min_cell is not None:
        for column in counts:
            n = pd.to_numeric(shown[column], errors="coerce").fillna(0)
            small |= (n > 0) & (n < min_cell)
    head = "".join(f"<th>{html.escape(bounded_text(str(c)))}</th>" for c in shown.columns)
    body = []
    for i, (row_id, row) in enumerate(shown.iterrows()):
        cells = []
        for column in shown.columns:
            value = row[column]
            text = bounded_text(fmt(value, formats.get(column, "auto")))
            if small[row_id] and column in counts:
                text = f"<{min_cell}"
            elif (
                small[row_id]
                and isinstance(value, int | float | np.number)
                and not isinstance(value, bool)
            ):
                text = "—"
            css = (classes or {}).get(column)
            names = [css[i]] if css is not None and css[i] else []
            if len(text) > LONG_TEXT:
                names.append("ob-long")  # may wrap; short texts never do
            attr = f' class="{html.escape(" ".join(names))}"' if names else ""
            cells.append(f"<td{attr}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="ob-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


@dataclass
class Report:
    """One report run: its config, source, checks and language."""

    name: str
    config: Config
    source: Source
    validation: Validation
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # money reads in this report's currency (one report session per kernel)
        use_currency(self.config.raw.get("currency"))

    @property
    def lang(self) -> str:
        return self.config.lang

    @property
    def min_cell(self) -> int:
        return self.config.min_cell

    def t(self, key: str, **fields: Any) -> str:
        return t(key, self.lang, **fields)

    def display_name(self, kind: str, code: Any) -> str:
        """A code of the data as this page names it (:func:`opsbook.i18n.display_name`, with
        the config's ``display_names``)."""
        return display_name(kind, code, self.lang, self.config.raw.get("display_names"))

    # -- display ------------------------------------------------------------------------------
    def heading(self, key: str, level: int = 2, **fields: Any) -> None:
        shown = {k: bounded_text(str(v)) for k, v in fields.items()}
        display(HTML(f"<h{level}>{html.escape(self.t(key, **shown))}</h{level}>"))

    def say(self, key: str, **fields: Any) -> None:
        """A narrative sentence; ``fields`` (often from data) are escaped."""
        safe = {k: html.escape(bounded_text(str(v))) for k, v in fields.items()}
        display(HTML(f'<p class="ob-text">{self.t(key, **safe)}</p>'))

    def note(self, text: str) -> None:
        display(HTML(f'<p class="ob-note">{html.escape(text)}</p>'))

    def show(self, frame: pd.DataFrame, *, top: int | None = None, **kwargs: Any) -> None:
        """A table (:func:`render_table`). With ``top``, a longer table shows its first ``top``
        rows and folds the whole table under "all N rows" (a ``<details>``)."""
        kwargs.setdefault("min_cell", None)
        if top is None or len(frame) <= top:
            display(HTML(render_table(frame, **kwargs)))
            return
        classes = kwargs.pop("classes", None) or {}
        head = {column: list(values)[:top] for column, values in classes.items()}
        label = html.escape(self.t("core.all_rows", n=f"{len(frame):,}"))
        display(
            HTML(
                render_table(frame.head(top), classes=head, **kwargs)
                + f'<details class="ob-more"><summary>{label}</summary>'
                + render_table(frame, classes=classes, **kwargs)
                + "</details>"
            )
        )

    def summary(
        self,
        verdict: str,
        *,
        tone: str | None = None,
        numbers: Sequence[Mapping[str, Any]] = (),
        actions: Sequence[str] = (),
    ) -> None:
        """The answer first, right under the title: the verdict in one sentence (``tone``: a
        status colour: green, amber, red, not_proven), the key numbers and what to do next.

        ``numbers``: 3-6 entries as in :meth:`record`'s headline -- ``label`` (an i18n key),
        ``value`` and its ``format`` (``text``: shown as given), ``status`` -- plus an optional
        ``note`` (already translated: the target, the change). ``verdict`` and ``actions`` are
        translated text. Everything is escaped."""
        cards = []
        for entry in numbers:
            kind = entry.get("format", "auto")
            value = entry.get("value")
            text = str(value) if kind == "text" and value is not None else fmt(value, kind)
            status = STATUS_CLASS.get(entry.get("status")) or ""
            note = entry.get("note")
            cards.append(
                f'<div class="ob-number {status}">'
                f'<span class="ob-label">{html.escape(self.t(entry["label"]))}</span>'
                f'<span class="ob-value">{html.escape(text)}</span>'
                + (f'<span class="ob-detail">{html.escape(note)}</span>' if note else "")
                + "</div>"
            )
        steps = "".join(f"<li>{html.escape(a)}</li>" for a in actions)
        tone_class = STATUS_CLASS.get(tone) or ""
        display(
            HTML(
                f'<section class="ob-summary {tone_class}">'
                # our own sentence (a paragraph may pass LONG_TEXT); its data values arrive
                # capped by the engine (types.capped_labels)
                f'<p class="ob-verdict">{html.escape(verdict)}</p>'
                + (f'<div class="ob-numbers">{"".join(cards)}</div>' if cards else "")
                + (
                    f'<p class="ob-next-title">{html.escape(self.t("core.next_steps"))}</p>'
                    f'<ul class="ob-next">{steps}</ul>'
                    if steps
                    else ""
                )
                + "</section>"
            )
        )

    def header(self) -> None:
        """One line on the data (source, engine, time zone, time of the run) with its tables
        folded under it, then the data checks panel (the notebook's first markdown cell carries
        the title; the report's summary follows)."""
        fp = self.source.fingerprint
        # the source is an identifier (a path, a redacted URL): shown as code, in no language
        line = self.t(
            "core.about",
            source=f"<code>{html.escape(self.source.label)}</code>",
            engine=ENGINE_NAMES.get(self.source.engine, html.escape(self.source.engine)),
            timezone=html.escape(self.source.timezone),
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        rows = [
            {
                self.t("core.table"): self.display_name("table", table),
                self.t("core.value"): self.t(
                    "core.table_summary",
                    rows=f"{info['rows']:,}",
                    first=info["first"] or "—",
                    last=info["last"] or "—",
                ),
            }
            for table, info in fp["tables"].items()
        ]
        label = html.escape(self.t("core.tables", n=len(rows)))
        display(
            HTML(
                f'<div class="ob-about"><p class="ob-note">{line}</p>'
                f"<details><summary>{label}</summary>{render_table(pd.DataFrame(rows))}"
                "</details></div>"
            )
        )
        self.checks_panel()

    def checks_panel(self) -> None:
        """The contract's findings and the config's exclusions: nothing is dropped silently."""
        findings = self.validation.findings
        if findings:
            self.say("core.checks_failed", n=len(findings))
            display(
                HTML(
                    "<ul class='ob-findings'>"
                    + "".join(f"<li>{html.escape(f.message(self.lang))}</li>" for f in findings)
                    + "</ul>"
                )
            )
        else:
            self.say("core.checks_passed")
        excluded = self.source.exclusions()
        if not excluded.empty:
            self.say("core.mapping_exclusions")
            self.show(
                excluded.rename(
                    columns={
                        "table": self.t("core.table"),
                        "rule": self.t("core.rule"),
                        "rows": self.t("core.rows"),
                    }
                )
            )

    def record(
        self, metrics: Mapping[str, Any], headline: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """Hand the report's headline numbers to the runner (it writes ``<name>.metrics.json``).

        ``headline``: 3-5 entries ``{"label": key, "value": ..., "format": "pct|int|..."}`` shown
        on the run's index page; labels are i18n keys."""
        payload = dict(jsonable(metrics))
        payload["headline"] = [
            {
                "label": self.t(h["label"]),
                "value": jsonable(h.get("value")),
                "format": h.get("format", "auto"),
                "status": h.get("status"),
            }
            for h in headline
        ]
        display({METRICS_MIME: payload, "text/plain": ""}, raw=True)


def _run_checks(source: Source) -> Validation | None:
    """The runner's checks of this source (adopting its fingerprint and exclusions), or None
    outside a run or for another source (a report given its own ``data``)."""
    path = os.environ.get(CHECKS_ENV)
    if not path or not Path(path).is_file():
        return None
    shared = SourceChecks.load(Path(path))
    if shared.identity != source.identity:
        return None
    source.adopt(shared.fingerprint, shared.exclusions)
    return shared.validation


def _notebook_values() -> dict[str, Any]:
    """The variables of the running notebook (IPython's namespace), or nothing outside one."""
    from IPython import get_ipython

    shell = get_ipython()
    return dict(shell.user_ns) if shell is not None else {}


def start(
    name: str,
    *,
    config: str | None = None,
    data: str | None = None,
    lang: str | None = None,
    tables: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
    strict: bool = True,
) -> Report:
    """Check the notebook's parameters (``params``, else the notebook's variables), open the
    source, run the contract checks on ``tables`` (structural failures raise with a message naming
    table, column and rule; with ``strict=False`` they are shown instead, for the data-quality
    report, whose subject they are) and show the report's header."""
    from opsbook.plots import use_theme

    cfg = load_config(config, data=data, lang=lang)
    use_lang(cfg.lang)  # what the notebook refuses, it refuses in the run's language
    # the notebook's parameters, checked as `opsbook run` checks them (in JupyterLab too)
    check_parameters(name, dict(params) if params is not None else _notebook_values(), cfg.lang)
    source = open_source(cfg)
    source.require(*tables)
    checks = _run_checks(source)
    if checks is None:
        checks = validate(source, tables or None)
    elif tables:
        checks = checks.of_tables(tables)
    if strict:
        checks.raise_for_errors(cfg.lang)
    use_theme()
    report = Report(
        name=name, config=cfg, source=source, validation=checks, params=dict(params or {})
    )
    report.header()
    return report


def dumps(metrics: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(metrics), ensure_ascii=False, indent=2, sort_keys=False)
