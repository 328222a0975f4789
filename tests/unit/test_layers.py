"""The package's layer rule, read off its imports (README, "Layout").

Every module of ``opsbook`` belongs to one layer; an import may only point to a layer the importer
is allowed to use. Per topic: view -> analysis -> queries -> base (data, engine, config, ...), with
statistics beside analysis. A topic may use another topic's queries and analysis, never its view.
The rule is checked statically (the ``import`` statements of every file, including those inside
functions), so a lazy import cannot hide an upward one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lib" / "opsbook"

TOPICS = (
    "quality",
    "segmentation",
    "retention",
    "experiments",
    "campaigns",
    "kpi",
    "insight",
    "behaviour",
    "brushing",
)
BASE = (
    "config",
    "settings",
    "errors",
    "sources",
    "mapping",
    "contract",
    "engine",
    "expressions",
    "data",
    "types",
    "validation",
    "i18n",
    "targets",
    "parameters",
    "sample",
    "rollup",
    "parts",
)

# layer -> the layers it may import (besides itself within the same topic)
ALLOWED: dict[str, set[str]] = {
    "base": {"base"},
    "stats": {"stats"},
    "queries": {"base", "queries"},
    "text": set(),  # formats: how a number reads (views, and sentences an analysis records)
    "display": set(),  # plots: the chart theme
    # report: the notebook's session, tables, metrics; exports: files written beside a report
    "session": {"base", "text", "display", "session"},
    "analysis": {"base", "stats", "text", "session", "queries", "analysis"},
    "view": {"base", "stats", "text", "display", "session", "analysis"},
    "facade": {"analysis", "view", "queries", "base"},  # re-exports only
    "app": {"base", "text", "display", "session", "app", "stats"},  # run, render, cli
}
# third-party packages a layer must not import
FORBIDDEN_PACKAGES: dict[str, set[str]] = {
    "stats": {"ibis", "IPython", "ipywidgets", "matplotlib"},
    "queries": {"IPython", "ipywidgets", "matplotlib", "scipy", "statsmodels"},
    "analysis": {"ibis", "IPython", "ipywidgets", "matplotlib"},
    "view": {"ibis"},
}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> tuple[str, str | None]:
    """(layer, topic) of an ``opsbook`` module name."""
    parts = module.split(".")[1:]
    if not parts:
        return "app", None
    head = parts[0]
    if head in TOPICS:
        if len(parts) == 1:
            return "facade", head
        if parts[1] in ("queries", "analysis", "view"):
            return parts[1], head
        raise AssertionError(f"{module}: a topic module must sit in queries, analysis or view")
    if head in BASE:
        return "base", None
    if head == "stats":
        return "stats", None
    if head == "formats":
        return "text", None
    if head == "plots":
        return "display", None
    if head in ("report", "exports"):
        return "session", None
    if head in ("run", "render", "cli", "progress"):
        return "app", None
    raise AssertionError(f"{module}: no layer (add it to tests/unit/test_layers.py)")


def imports_of(path: Path, module: str, modules: set[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, imported module) for every import of the file, relative ones resolved; a name
    imported from a package is the submodule of that name where ``modules`` has one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + [node.module or ""][:1])
                target = target.rstrip(".")
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                named = sub in modules or (node.level and not node.module)
                found.append((node.lineno, sub if named else target))
    return sorted(set(found))


def package_modules(root: Path) -> set[str]:
    return {module_name(p, root) for p in root.rglob("*.py")}


def violations(root: Path = PACKAGE) -> list[str]:
    problems = []
    modules = package_modules(root)
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        layer, topic = layer_of(module)
        for line, target in imports_of(path, module, modules):
            top = target.split(".")[0]
            if top != "opsbook":
                if top in FORBIDDEN_PACKAGES.get(layer, ()):
                    problems.append(f"{module}:{line} ({layer}) imports {target}")
                continue
            if target == "opsbook":
                continue
            other, other_topic = layer_of(target)
            same_topic = topic is not None and topic == other_topic
            if layer == "facade" and other_topic is not None and not same_topic:
                problems.append(f"{module}:{line} (facade) imports {target}: not of its topic")
            elif other == "view" and not same_topic:
                problems.append(f"{module}:{line} ({layer}) imports another topic's view {target}")
            elif other != layer and other not in ALLOWED[layer]:
                problems.append(f"{module}:{line} ({layer}) imports {target} ({other})")
            elif other_topic is not None and layer in (
                "base",
                "stats",
                "text",
                "display",
                "session",
            ):
                problems.append(f"{module}:{line} ({layer}) imports topic module {target}")
    return problems


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it imports (module-level and lazy alike)."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for _, target in imports_of(path, module, set(modules)):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module and target != "opsbook":
                targets.add(target)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles between topic packages (a topic imports a topic that imports it)."""

    def topic(module: str) -> str:
        return ".".join(module.split(".")[:2])

    topics: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if layer_of(module)[1] is None:
            continue
        for target in targets:
            if layer_of(target)[1] is not None and topic(target) != topic(module):
                topics.setdefault(topic(module), set()).add(topic(target))
    found = []
    for start in topics:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in topics.get(node, ()):
                if nxt == start:
                    found.append([*path, start])
                elif nxt not in path:
                    stack.append((nxt, [*path, nxt]))
    return found


def test_every_import_points_down_the_layers():
    assert violations() == []


def test_no_import_cycle_between_topics():
    assert cycles(import_graph()) == []


def test_no_source_file_is_too_long_to_hold_in_a_head():
    repo = PACKAGE.parents[1]
    long = {
        str(p.relative_to(repo)): n
        for folder in ("lib", "tests", "bench")
        for p in (repo / folder).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "opsbook"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a query that reaches up to its view
        (
            {
                "retention/queries.py": "from opsbook.retention.view import heatmap\n",
                "retention/view.py": "",
            },
            "opsbook.retention.queries:1 (queries) imports opsbook.retention.view (view)",
        ),
        # an analysis that draws
        (
            {"kpi/analysis.py": "def f():\n    from opsbook.plots import figure\n"},
            "opsbook.kpi.analysis:2 (analysis) imports opsbook.plots (display)",
        ),
        # a view that queries the engine
        (
            {"campaigns/view.py": "import ibis\n"},
            "opsbook.campaigns.view:1 (view) imports ibis",
        ),
        # a topic's view reusing another topic's view
        (
            {"kpi/view.py": "from opsbook.retention import view\n", "retention/view.py": ""},
            "opsbook.kpi.view:1 (view) imports another topic's view opsbook.retention.view",
        ),
        # statistics importing the engine layer
        (
            {"stats/bayes.py": "from opsbook.data import Source\n"},
            "opsbook.stats.bayes:1 (stats) imports opsbook.data (base)",
        ),
        # the base reaching into a topic (KPI targets importing the dashboard)
        (
            {"targets.py": "from opsbook.kpi.analysis import x\n"},
            "opsbook.targets:1 (base) imports opsbook.kpi.analysis (analysis)",
        ),
    ],
)
def test_a_planted_upward_import_is_caught(tmp_path, files, expected):
    assert violations(_plant(tmp_path, files)) == [expected]


def test_a_planted_cycle_between_topics_is_caught(tmp_path):
    root = _plant(
        tmp_path,
        {
            "kpi/analysis.py": "from opsbook.retention.analysis import x\n",
            "retention/analysis.py": "from opsbook.kpi.analysis import y\n",
        },
    )
    assert sorted(map(tuple, cycles(import_graph(root)))) == [
        ("opsbook.kpi", "opsbook.retention", "opsbook.kpi"),
        ("opsbook.retention", "opsbook.kpi", "opsbook.retention"),
    ]


def test_relative_imports_are_resolved(tmp_path):
    root = _plant(
        tmp_path, {"quality/view.py": "from ..quality.queries import q\nfrom . import x\n"}
    )
    assert imports_of(root / "quality/view.py", "opsbook.quality.view") == [
        (1, "opsbook.quality.queries"),
        (2, "opsbook.quality.x"),
    ]
