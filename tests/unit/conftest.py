"""Unit tests share one process: a test that starts a report in Chinese leaves the refusals of
the tests after it in English (:func:`opsbook.errors.use_lang` is per process, as in a kernel)."""

from __future__ import annotations

import pytest

from opsbook.errors import use_lang


@pytest.fixture(autouse=True)
def refusals_in_english():
    yield
    use_lang("en")
