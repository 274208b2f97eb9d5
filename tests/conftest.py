"""pytest configuration: the parts some tests need, and the shared fixtures.

Every test runs on PostgreSQL (settings.py accepts no other database).

The personas themselves live in ``tests/personas.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from council.models import Meeting
from proposals.models import Proposal

from .personas import World, build_world, new_meeting, open_proposal


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counts() -> Iterator[None]:
    # Rate-limit counts live in the cache, which outlives each test's transaction: without
    # this, a test would inherit the counts of the tests before it.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness protects real accounts; tests create dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CHROMIUM = "/usr/bin/chromium"


def _cjk_pdf_possible() -> bool:
    import shutil
    import subprocess

    try:
        import weasyprint  # noqa: F401 — fails with OSError without the system's Pango
    except (ImportError, OSError):
        return False
    if not shutil.which("fc-list"):
        return False
    fonts = subprocess.run(  # noqa: S603
        [shutil.which("fc-list") or "fc-list", ":lang=zh"],
        capture_output=True,
        text=True,
        check=False,
    )
    return bool(fonts.stdout.strip())


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping())
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need a real part (Chromium, fonts, Redis) are skipped with the reason
    when it is missing — and in CI (CI=true) a missing part is a failure, never a skip."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    missing: dict[str, str] = {}
    if not os.access(CHROMIUM, os.X_OK):
        missing["browser"] = (
            f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium); .ci/run installs it"
        )
    if not _cjk_pdf_possible():
        missing["pdf"] = (
            "needs Pango and a font with Chinese glyphs for PDF minutes "
            "(apt-get install fonts-noto-cjk); .ci/run installs it"
        )
    if not _redis_answers():
        missing["worker"] = (
            "needs Redis at 127.0.0.1:6379 for a real Celery worker; .ci/run starts it"
        )
    wanted = {name for item in items for name in missing if name in item.keywords}
    if in_ci and wanted:
        raise pytest.UsageError(
            "CI=true but a required part is missing: " + "; ".join(missing[n] for n in wanted)
        )
    for item in items:
        for name, reason in missing.items():
            if name in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def lift_ledger_protection() -> None:
    """Disable the append-only triggers inside the current transaction, as an attacker
    who owns the table would; the test's rollback puts them back."""
    with connection.cursor() as cursor:
        # Run the deferred foreign-key checks now: ALTER TABLE refuses while any wait.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE council_ledgerevent DISABLE TRIGGER USER")


@pytest.fixture(autouse=True)
def _ledger_truncate_for_flush(request: pytest.FixtureRequest) -> Any:
    """Tests on a real (transactional) database end with a flush, which TRUNCATEs every
    table: let that one through, and only that. Set up after the database fixture, so
    this teardown runs just before the flush."""
    uses_real_transactions = (
        any(m.kwargs.get("transaction") for m in request.node.iter_markers("django_db"))
        or "live_server" in request.fixturenames
    )
    if not uses_real_transactions:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE council_ledgerevent ENABLE TRIGGER ledger_no_truncate")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE council_ledgerevent DISABLE TRIGGER ledger_no_truncate")


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def meeting(world: World) -> Meeting:
    return new_meeting(world)


@pytest.fixture
def open_vote(world: World, meeting: Meeting) -> Proposal:
    return open_proposal(world, meeting)
