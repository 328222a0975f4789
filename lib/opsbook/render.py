"""Executed notebook -> a self-contained HTML page; run manifest -> the run's index page.

Pages load nothing from the network (a template without require.js, MathJax, mermaid or widget
scripts, images inlined as data URIs, a Content-Security-Policy that forbids anything else) and
show no code: readers see the narrative, tables and charts only.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import Environment, select_autoescape
from markupsafe import Markup
from nbconvert import HTMLExporter

from opsbook.formats import fmt
from opsbook.i18n import t
from opsbook.report import METRICS_MIME

TEMPLATES = Path(str(resources.files("opsbook") / "templates"))


CJK_FONT_FAMILY = "OpsbookCJK"


def embed_cjk_font(page: str) -> str:
    """``page`` with a subset of Noto Sans SC (OFL) inlined for the CJK characters it uses, as
    the last resort of its font list: a reader without a Chinese system font still sees
    characters, not boxes, and the page stays one file with no network request."""
    import pylopdf_fonts_zh_cn
    from fontTools import subset
    from fontTools.ttLib import TTFont

    needed = sorted({ord(c) for c in page if ord(c) >= 0x2E80})
    if not needed:
        return page
    options = subset.Options()
    options.notdef_outline = True
    font = TTFont(str(pylopdf_fonts_zh_cn.sans_path()))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=needed)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    face = (
        f'<style>@font-face {{ font-family: "{CJK_FONT_FAMILY}"; '
        f'src: url(data:font/otf;base64,{data}) format("opentype"); }}</style>'
    )
    return page.replace("</head>", face + "\n</head>", 1)


LANGUAGES = ("zh", "en")


def cell_language(cell: Mapping[str, Any]) -> str | None:
    """The language a cell is written in (its tag ``lang-zh`` or ``lang-en``), or None."""
    tags = cell.get("metadata", {}).get("tags", [])
    return next((lang for lang in LANGUAGES if f"lang-{lang}" in tags), None)


PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"  # papermill's banners around a failed cell


def failure_message(error: Mapping[str, Any]) -> str:
    """What failed, in words: the exception's message without its Python class name (opsbook's
    own errors are written for readers, in the report's language)."""
    text = str(error.get("evalue") or "").strip().rstrip("。.")
    return text or str(error.get("ename") or "")


def _failure_as_message(nb: nbformat.NotebookNode, lang: str) -> None:
    """A failed report reads as a message: the first error output becomes a sentence saying what
    failed and where the analyst finds the executed notebook; the traceback (library source,
    absolute paths) and the cells after it (empty sections) are dropped."""
    for number, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        notebook = nb.metadata.get("papermill", {}).get("output_path") or ""
        name = Path(notebook).name if notebook else ""
        message = t(
            "core.report_failed", lang, message=failure_message(errors[0]), notebook=name or "—"
        )
        kept = [o for o in cell.outputs if o.get("output_type") != "error"]
        cell.outputs = [
            *kept,
            nbformat.v4.new_output(
                "display_data",
                data={
                    "text/html": f'<div class="ob-callout ob-red ob-failure">'
                    f"{html.escape(message)}</div>"
                },
            ),
        ]
        nb.cells = nb.cells[: number + 1]
        return


def _strip_for_readers(nb: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """Drop what readers should not see: the cells written in the other language (a notebook
    keeps both for the analyst; a page is in one), warnings on stderr, the metrics payload,
    widget state."""
    nb = nbformat.from_dict(nb)
    nb.cells = [
        c
        for c in nb.cells
        if cell_language(c) in (None, lang)
        and PAPERMILL_ERROR_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    _failure_as_message(nb, lang)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            o
            for o in cell.get("outputs", [])
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            and METRICS_MIME not in o.get("data", {})
            and "application/vnd.jupyter.widget-view+json" not in o.get("data", {})
        ]
    nb.metadata.pop("widgets", None)
    return nb


def notebook_html(nb: nbformat.NotebookNode, *, title: str, lang: str) -> str:
    """The reader's page of an executed notebook (code cells hidden)."""
    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="opsbook",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    nb = _strip_for_readers(nb, lang)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(
        nb, resources={"language_code": "zh-CN" if lang == "zh" else "en"}
    )
    return embed_cjk_font(body)


def _env() -> Environment:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["fmt"] = lambda value, kind="auto": fmt(value, kind)
    return env


def index_html(
    manifest: Mapping[str, Any], metrics: Mapping[str, Mapping[str, Any]], lang: str
) -> str:
    """The run's landing page: a card per report with its status, headline numbers and links."""
    template = _env().from_string((TEMPLATES / "index.html.j2").read_text(encoding="utf-8"))
    return embed_cjk_font(
        template.render(
            manifest=manifest,
            metrics=metrics,
            lang=lang,
            tr=lambda key, **fields: t(key, lang, **fields),
            parameters_text=parameters_text,
            css=(TEMPLATES / "opsbook" / "report.css").read_text(encoding="utf-8"),
        )
    )


def escape(text: Any) -> str:
    return html.escape(str(text))


def read_runs(out: Path) -> list[dict[str, Any]]:
    """Every run folder under ``out``, newest first, with its manifest and metrics; a folder
    whose manifest is missing or unreadable is listed as ``unreadable`` rather than breaking
    the page (hidden ``.partial`` folders are runs still being written: skipped)."""
    runs = []
    for folder in sorted(out.iterdir(), reverse=True):
        if not folder.is_dir() or folder.name.startswith(".") or folder.is_symlink():
            continue
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
        # a manifest the runner did not finish (or another tool wrote) is listed, not read
        if not isinstance(manifest, dict) or manifest.get("status") not in ("ok", "failed"):
            runs.append(
                {"run_id": folder.name, "status": "unreadable", "reports": {}, "metrics": {}}
            )
            continue
        metrics = {}
        for name, entry in (manifest.get("reports") or {}).items():
            if entry.get("metrics"):
                with contextlib.suppress(OSError, ValueError):
                    metrics[name] = json.loads(
                        (folder / entry["metrics"]).read_text(encoding="utf-8")
                    )
        runs.append({**manifest, "metrics": metrics})
    return runs


def run_source(run: Mapping[str, Any]) -> str:
    """The source a run read (its label, secrets already redacted by the runner) or a dash."""
    return str((run.get("data") or {}).get("source") or "—")


def parameters_text(parameters: Mapping[str, Any] | None) -> str:
    """A report's explicit parameters as ``name=value, ...`` (empty: the defaults)."""
    return ", ".join(f"{k}={v}" for k, v in sorted((parameters or {}).items()))


def headline_trends(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per report, headline label, source and parameters, the numeric values across runs
    (oldest first): a line joins only runs of the same source with the same parameters, so the
    sample, Cookie Cats and ab_data never share one "users in the test" line."""
    series: dict[tuple[str, ...], dict[str, Any]] = {}
    for run in reversed(runs):
        source = run_source(run)
        for report, metrics in run.get("metrics", {}).items():
            entry_of_report = (run.get("reports") or {}).get(report) or {}
            parameters = parameters_text(entry_of_report.get("parameters"))
            for item in metrics.get("headline") or []:
                value = item.get("value")
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                entry = series.setdefault(
                    (report, item["label"], source, parameters),
                    {
                        "report": report,
                        "title": entry_of_report.get("title") or report,
                        "label": item["label"],
                        "source": source,
                        "parameters": parameters,
                        "format": item.get("format", "auto"),
                        "points": [],
                    },
                )
                entry["points"].append((run["run_id"], float(value)))
    return list(series.values())


def sparkline(points: list[tuple[str, float]], width: int = 160, height: int = 32) -> str:
    """An inline SVG line of the values (no script, no external resource)."""
    values = [v for _, v in points]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    coords = " ".join(
        f"{i * step:.1f},{height - 3 - (v - low) / span * (height - 6):.1f}"
        for i, v in enumerate(values)
    )
    return Markup(
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<polyline fill="none" stroke="#2f6fb0" stroke-width="1.6" points="{coords}"/></svg>'
    )


def history_html(out: Path, lang: str) -> str:
    """``reports/index.html``: every run, newest first, and each headline number across runs."""
    runs = read_runs(out)
    template = _env().from_string((TEMPLATES / "history.html.j2").read_text(encoding="utf-8"))
    return embed_cjk_font(
        template.render(
            runs=runs,
            trends=headline_trends(runs),
            sparkline=sparkline,
            run_source=run_source,
            parameters_text=parameters_text,
            lang=lang,
            tr=lambda key, **fields: t(key, lang, **fields),
            css=(TEMPLATES / "opsbook" / "report.css").read_text(encoding="utf-8"),
        )
    )
