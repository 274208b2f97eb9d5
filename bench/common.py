"""What the benchmark scripts share: a scratch database of their own, emptied each run."""

from __future__ import annotations


def ensure_database(url: str) -> None:
    """Create the scratch database named in ``url`` if it does not exist."""
    import psycopg2

    admin_url, name = url.rsplit("/", 1)
    conn = psycopg2.connect(admin_url + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def reset_database() -> None:
    """Migrate, then empty every table (call after django.setup()).

    The ledger refuses TRUNCATE (council/migrations/0003): a scratch database's owner
    lifts that trigger for the flush only.
    """
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE council_ledgerevent DISABLE TRIGGER ledger_no_truncate")
    try:
        call_command("flush", interactive=False, verbosity=0)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE council_ledgerevent ENABLE TRIGGER ledger_no_truncate")
