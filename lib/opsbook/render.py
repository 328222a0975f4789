"""Executed notebook -> a self-contained HTML page; run manifest -> the run's index page.

Pages load nothing from the network (a template without require.js, MathJax, mermaid or widget
scripts, images inlined as data URIs, a Content-Security-Policy that forbids anything else) and
show no code: readers see the narrative, tables and charts only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import Environment, select_autoescape
from nbconvert import HTMLExporter

from opsbook.i18n import t
from opsbook.report import METRICS_MIME, fmt

TEMPLATES = Path(str(resources.files("opsbook") / "templates"))


def _strip_for_readers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what readers should not see: warnings on stderr, the metrics payload, widget state."""
    nb = nbformat.from_dict(nb)
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
    nb = _strip_for_readers(nb)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(
        nb, resources={"language_code": "zh-CN" if lang == "zh" else "en"}
    )
    return body


def _env() -> Environment:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["fmt"] = lambda value, kind="auto": fmt(value, kind)
    return env


def index_html(
    manifest: Mapping[str, Any], metrics: Mapping[str, Mapping[str, Any]], lang: str
) -> str:
    """The run's landing page: a card per report with its status, headline numbers and links."""
    template = _env().from_string((TEMPLATES / "index.html.j2").read_text(encoding="utf-8"))
    return template.render(
        manifest=manifest,
        metrics=metrics,
        lang=lang,
        tr=lambda key, **fields: t(key, lang, **fields),
        css=(TEMPLATES / "opsbook" / "report.css").read_text(encoding="utf-8"),
    )


def escape(text: Any) -> str:
    return html.escape(str(text))
