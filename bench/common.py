"""What the benchmark scripts share: a scratch database of their own, emptied each run."""

from __future__ import annotations

# Every database a benchmark creates, migrates or empties is named so: the development
# (``quorum``) and test (``test_quorum*``) databases of the same server are never touched.
SCRATCH_PREFIX = "quorum_bench"


def require_scratch(name: str) -> None:
    """Refuse any database whose name does not start with ``quorum_bench``."""
    if not name.startswith(SCRATCH_PREFIX):
        raise SystemExit(
            f"refusing to use database {name!r}: benchmark databases are named "
            f"{SCRATCH_PREFIX}* (set BENCH_DATABASE_URL)"
        )


def ensure_database(url: str) -> None:
    """Create the scratch database named in ``url`` if it does not exist."""
    import psycopg2

    admin_url, name = url.rsplit("/", 1)
    require_scratch(name)
    conn = psycopg2.connect(admin_url + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def register_tasks() -> None:
    """Register the notification tasks in this process (call after django.setup()).

    The services queue them by their registered name, and nothing a plain process
    imports registers them (a Celery worker's autodiscovery does): without this, every
    ``open_vote`` and ``close_vote`` of a benchmark raises ``NotRegistered``.
    """
    import importlib

    importlib.import_module("proposals.tasks")


def reset_database() -> None:
    """Migrate, then empty every table (call after django.setup()).

    The ledger refuses TRUNCATE (council/migrations/0003): a scratch database's owner
    lifts that trigger for the flush only.
    """
    from django.core.management import call_command
    from django.db import connection

    require_scratch(connection.settings_dict["NAME"])
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE council_ledgerevent DISABLE TRIGGER ledger_no_truncate")
    try:
        call_command("flush", interactive=False, verbosity=0)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE council_ledgerevent ENABLE TRIGGER ledger_no_truncate")
