"""Report templates are stored clean: no outputs, one parameters cell with config/data/lang."""

import json

import pytest

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_a_clean_template(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), (
        "strip outputs"
    )
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for name in ("config", "data", "lang"):
        assert f"{name} = " in source
    body = "".join("".join(c["source"]) for c in code)
    assert "\ndef " not in body and "class " not in body and "try:" not in body
    assert nb["cells"][0]["cell_type"] == "markdown"
