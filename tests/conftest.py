"""Shared fixtures: a small generated sample shop, the repository root, the real datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

# small enough to keep notebook tests quick, large enough for every report section
SAMPLE_USERS = 3000
SAMPLE_DAYS = 150


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample shop, generated once per test session (per xdist worker)."""
    from opsbook.sample import generate_sample

    return generate_sample(
        tmp_path_factory.mktemp("sample"), users=SAMPLE_USERS, days=SAMPLE_DAYS, seed=11
    )


def dataset(*parts: str) -> Path:
    """A file of ../shared/datasets, or skip the test when the folder is absent."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"real dataset {path} is absent (it lives in ../shared/datasets beside the repo)"
        )
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Spark's modules first: under xdist one worker runs them (minutes, mostly Spark's own
    per-query latency) while the other works through everything else."""
    items.sort(key=lambda item: item.get_closest_marker("spark") is None)
