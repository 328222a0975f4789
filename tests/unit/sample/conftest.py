"""The sample's fixtures: a small folder (4,000 users, 120 days) and one of the default
size, generated once per test session (per xdist worker) and only read by the tests."""

from __future__ import annotations

import pytest

from opsbook.sample import generate_sample
from tests.unit.sample.shop import Sample


@pytest.fixture(scope="session")
def small(tmp_path_factory) -> Sample:
    return Sample(generate_sample(tmp_path_factory.mktemp("small"), users=4000, days=120))


@pytest.fixture(scope="session")
def default(tmp_path_factory) -> Sample:
    return Sample(generate_sample(tmp_path_factory.mktemp("default")))
