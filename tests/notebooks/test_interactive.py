"""Each notebook runs top to bottom as an analyst runs it in JupyterLab: from notebooks/, with the
defaults of its parameters cell, the repository's opsbook.yml and the sample in data/sample,
outside batch mode (so the widget cells run too)."""

import nbformat
import pytest
from nbclient import NotebookClient

from opsbook.report import BATCH_ENV
from opsbook.run import QuietKernelManager
from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_interactively_with_its_defaults(path, monkeypatch):
    if not (ROOT / "data" / "sample" / "truth.json").exists():
        pytest.skip("no data/sample: `make sample` writes it (make test does)")
    monkeypatch.delenv(BATCH_ENV, raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=QuietKernelManager,
        timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
