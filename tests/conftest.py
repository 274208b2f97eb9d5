"""pytest configuration: the PostgreSQL-only policy and the shared fixtures.

The personas themselves live in ``tests/personas.py``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import connection

from council.models import Meeting
from proposals.models import Proposal

from .personas import World, build_world, new_meeting, open_proposal


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness protects real accounts; tests create dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests: skipped with the reason on SQLite, a hard failure in CI."""
    if on_postgres():
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(
            "CI=true but the suite is not running on PostgreSQL: set DATABASE_URL to a "
            "reachable server (the locking, concurrency and constraint tests need it)."
        )
    skip = pytest.mark.skip(
        reason="needs PostgreSQL (row locks and real concurrency); running on SQLite: "
        "DATABASE_URL is unset or no server answered — set it to run this test"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def meeting(world: World) -> Meeting:
    return new_meeting(world)


@pytest.fixture
def open_vote(world: World, meeting: Meeting) -> Proposal:
    return open_proposal(world, meeting)
