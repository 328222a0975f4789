"""Each notebook runs top to bottom as an analyst runs it in JupyterLab: with the defaults of its
parameters cell, the nearest opsbook.yml (the repository's, pointed at the session's small sample
shop instead of data/sample: the same code on a sixth of the rows), outside batch mode (so the
widget cells run too)."""

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from opsbook.report import BATCH_ENV
from opsbook.run import QuietKernelManager
from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def project(sample_dir, tmp_path_factory):
    """A project folder whose opsbook.yml is the repository's with the sample shop as data."""
    folder = tmp_path_factory.mktemp("project")
    config = yaml.safe_load((ROOT / "opsbook.yml").read_text(encoding="utf-8"))
    config["data"] = {**(config.get("data") or {}), "source": str(sample_dir)}
    (folder / "opsbook.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_interactively_with_its_defaults(path, project, monkeypatch):
    monkeypatch.delenv(BATCH_ENV, raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=QuietKernelManager,
        timeout=600,
        resources={"metadata": {"path": str(project)}},  # the kernel's working directory
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
