"""What every report page must be, as checks the tests share: one language, the answer first,
distinct tick labels. Each function returns the problems it finds (an empty list: none).

Data values are excepted from the language checks: a campaign called "双11预售" stays Chinese on
an English page. They are the distinct texts of the source's tables (:func:`data_values`)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pyarrow.parquet as pq

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff01-\uff5e]+")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
# words a Chinese page may show in Latin letters: abbreviations of the trade, method names,
# units and file formats (anything else in Latin letters is an untranslated label)
LATIN_IN_ZH = frozenset(
    [
        "KPI",
        "KPIs",
        "ROI",
        "iROI",
        "ROAS",
        "GMV",
        "IP",  # an IP address: IP 地址
        "ARPU",
        "ARPPU",
        "DAU",
        "WAU",
        "MAU",
        "RFM",
        "CAC",
        "LTV",
        "AOV",
        "SRM",
        "CUPED",
        "CRM",
        "UTC",
        "ID",
        "IDs",
        "PDCA",
        "AARRR",
        "Wilson",
        "Welch",
        "Holm",
        "BH",
        "Bonferroni",
        "Kaplan",
        "Meier",
        "Fieller",
        "Gamma",
        "NBD",
        "BG",
        "Markov",
        "CSV",
        "Parquet",
        "DuckDB",
        "Spark",
        "Ibis",
        "HTML",
        "JupyterLab",
        "SQL",
        "JSON",
        "YAML",
        "Asia",
        "Shanghai",
        "pp",
        "vs",
        "PR",
        "AUC",
        "Brier",
        "MDE",
        "CausalImpact",
        "log",
        "rank",
        "Sankey",
        "Cookie",
        "Cats",
        "Hillstrom",
        "CDNOW",
        "opsbook",
        "yml",
        "Top",
    ]
)


def data_values(folder: Path, limit: int = 100_000) -> set[str]:
    """The distinct texts of every string column of the Parquet tables in ``folder``."""
    values: set[str] = set()
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(path)
        for column in table.columns:
            if str(column.type) in ("string", "large_string"):
                distinct = column.unique().to_pylist()
                if len(distinct) <= limit:
                    values |= {v for v in distinct if v}
    return values


SKIPPED = ("style", "script", "title", "code")


class _Text(HTMLParser):
    """The text a reader sees, but for style, script and the hidden title, and identifiers set
    as code (a file path, a setting's name, a redacted source URL: in no language)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in SKIPPED:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "\n".join(p for p in parser.parts if p.strip())


def _without(text: str, values: set[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        if len(value) > 1:
            text = text.replace(value, " ")
    return text


def language_problems(page: str, lang: str, values: set[str] = frozenset()) -> list[str]:
    """Chinese text on an English page, or English words on a Chinese page, outside data
    values (each problem with the line it is on)."""
    problems = []
    for line in _without(page_text(page), set(values)).splitlines():
        if lang == "en":
            found = CJK.findall(line)
        else:
            found = [w for w in WORD.findall(line) if w not in LATIN_IN_ZH and len(w) > 1]
        if found:
            problems.append(f"{', '.join(found[:5])}  ←  {line.strip()[:120]}")
    return problems


def summary_problems(page: str) -> list[str]:
    """The summary block must come before the first section heading."""
    summary = page.find('class="ob-summary')
    first_section = re.search(r"<h2[ >]", page)
    if summary < 0:
        return ["no summary block (Report.summary)"]
    if first_section and first_section.start() < summary:
        return ["the summary block comes after the first section"]
    return []


def tick_problems(notebook: Path) -> list[str]:
    """Every chart's axes have distinct tick labels (read from the executed notebook, where each
    figure records the labels it shows: :func:`opsbook.plots.tick_labels`)."""
    problems = []
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for number, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("image/png", {}).get("opsbook")
            for i, axes in enumerate((meta or {}).get("ticks", [])):
                for axis, labels in axes.items():
                    if len(set(labels)) != len(labels):
                        problems.append(f"cell {number}, axes {i}, {axis}: {labels}")
    return problems
