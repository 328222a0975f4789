"""Fixtures shared by the retention tests' layers."""

import pytest

from tests.unit.retention.sources import events_of, source_of, users_of


@pytest.fixture
def three_users(tmp_path):
    # all sign up on 2026-01-01 (UTC); A is active on days 1 and 3, B on day 2, C never again
    users = users_of((1, "2026-01-01 10:00"), (2, "2026-01-01 11:00"), (3, "2026-01-01 12:00"))
    events = events_of(
        (1, "2026-01-01 10:00"),
        (1, "2026-01-02 09:00"),
        (1, "2026-01-04 20:00"),
        (2, "2026-01-01 11:00"),
        (2, "2026-01-03 08:00"),
        (3, "2026-01-01 12:00"),
    )
    return source_of(tmp_path / "three", users, events)
