"""Unit tests share one process: a test that starts a report in Chinese leaves the refusals of
the tests after it in English (:func:`opsbook.errors.use_lang` is per process, as in a kernel).
And they keep no activity rollup between tests: their sources are temporary folders, whose
rollups would pile up in the repository's cache folder (``tests/unit/test_rollup.py`` tests the
cache in folders of its own)."""

from __future__ import annotations

import pytest

from opsbook.errors import use_lang
from opsbook.rollup import NO_CACHE_ENV


@pytest.fixture(autouse=True)
def refusals_in_english():
    yield
    use_lang("en")


@pytest.fixture(autouse=True)
def no_rollup_cache(monkeypatch):
    monkeypatch.setenv(NO_CACHE_ENV, "1")
