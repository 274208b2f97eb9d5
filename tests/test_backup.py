"""Backups and database roles, as docs/deploy.md prescribes them, on a private cluster.

A custom-format ``pg_dump`` restored into a fresh database must verify (every hash chain,
every recount) and hold the same rows; and the application's own role must be unable to
rewrite the ledger, which only holds if it does not own the table (an owner can disable
the append-only triggers).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from .private_servers import PrivatePostgres, manage, prepared_database, private_postgres, site_env

TABLES = [
    "council_council",
    "council_meeting",
    "council_attendance",
    "council_ledgerevent",
    "proposals_proposal",
    "proposals_vote",
    "proposals_vote_eligible_units",
    "proposals_ballot",
    "proposals_notification",
    "members_role",
    "auth_user",
]


@pytest.fixture
def server() -> Iterator[PrivatePostgres]:
    with private_postgres() as cluster:
        yield cluster


def verified(env: dict[str, str]) -> dict[str, object]:
    result = manage(env, "verify_ledger")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["problems"] == []
    return report


def snapshot(server: PrivatePostgres, name: str) -> dict[str, Any]:
    counts: dict[str, Any] = {
        table: server.sql(f"SELECT count(*) FROM {table}", name)[0][0]  # noqa: S608 — fixed names
        for table in TABLES
    }
    counts["heads"] = server.sql(
        "SELECT council_id, seq, hash FROM council_ledgerhead ORDER BY council_id", name
    )
    counts["outcomes"] = server.sql(
        "SELECT p.id, p.status, v.number, v.outcome FROM proposals_proposal p"
        " LEFT JOIN proposals_vote v ON v.proposal_id = p.id ORDER BY p.id, v.number",
        name,
    )
    return counts


def test_a_dump_restored_into_a_fresh_database_verifies_and_holds_the_same_rows(
    server: PrivatePostgres, tmp_path: Path
) -> None:
    env = site_env(server.url("quorum"))
    prepared_database(server, "quorum", env)  # the demo: a council, two closed votes, ballots
    before = snapshot(server, "quorum")
    assert before["proposals_ballot"] and any(row[-1] == "passed" for row in before["outcomes"])
    original = verified(env)

    dump = tmp_path / "quorum.dump"
    # The commands of docs/deploy.md, "Backups".
    made = server.tool("pg_dump", "--format=custom", f"--file={dump}", server.url("quorum"))
    assert made.returncode == 0, made.stderr
    server.sql('CREATE DATABASE "quorum_restored"')
    restored = server.tool(
        "pg_restore",
        "--exit-on-error",
        "--no-owner",
        f"--dbname={server.url('quorum_restored')}",
        str(dump),
    )
    assert restored.returncode == 0, restored.stderr

    restored_env = site_env(server.url("quorum_restored"))
    assert verified(restored_env)["events"] == original["events"]
    assert snapshot(server, "quorum_restored") == before
    # The append-only triggers came back with the table.
    with pytest.raises(psycopg2.Error, match="append-only"):
        server.sql("UPDATE council_ledgerevent SET actor = 'mallory'", "quorum_restored")


# The roles of docs/deploy.md, "Database roles": the owner runs migrations and
# grant_app_role, the app does the rest with only what it needs, and can append to the
# ledger but never rewrite it.
ROLES = """
CREATE ROLE quorum_owner LOGIN;
CREATE ROLE quorum_app LOGIN;
CREATE DATABASE quorum OWNER quorum_owner;
"""


def deploy_check_errors(env: dict[str, str]) -> str:
    """The output of the database-reading deploy check, as make prod runs it."""
    result = manage(env, "check", "--deploy", "--database", "default", "--fail-level", "ERROR")
    return result.stdout + result.stderr


def test_the_app_role_appends_to_the_ledger_but_cannot_rewrite_it(server: PrivatePostgres) -> None:
    for statement in filter(None, (s.strip() for s in ROLES.split(";"))):
        server.sql(statement)
    owner_env = site_env(server.url("quorum", user="quorum_owner"))
    result = manage(owner_env, "migrate", "--noinput", "-v0")
    assert result.returncode == 0, result.stderr
    refused = manage(owner_env, "grant_app_role", "quorum_owner")
    assert refused.returncode != 0 and "must connect as another role" in refused.stderr
    granted = manage(owner_env, "grant_app_role", "quorum_app")
    assert granted.returncode == 0, granted.stderr
    # The deploy check refuses a site that connects as the owner (or a superuser) ...
    assert "quorum.E002" in deploy_check_errors(owner_env)
    assert "quorum.E002" in deploy_check_errors(site_env(server.url("quorum")))

    # The app role runs the whole demo (ledger appends included) and verifies it ...
    app_env = site_env(server.url("quorum", user="quorum_app"), CELERY_TASK_ALWAYS_EAGER="true")
    # ... and passes one that connects as the app role.
    assert "quorum.E002" not in deploy_check_errors(app_env)
    seeded = manage(app_env, "seed_demo")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    verified(app_env)
    # ... but is refused every way of rewriting the ledger, the triggers' off switch too.
    app = server.connect("quorum", user="quorum_app")
    refusals = [
        "UPDATE council_ledgerevent SET actor = 'mallory'",
        "DELETE FROM council_ledgerevent",
        "TRUNCATE council_ledgerevent",
        "ALTER TABLE council_ledgerevent DISABLE TRIGGER USER",
        "DROP TABLE council_ledgerevent CASCADE",
        "CREATE TABLE council_shadow (id int)",
    ]
    try:
        for statement in refusals:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), app.cursor() as cursor:
                cursor.execute(statement)
        with app.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM council_ledgerevent")
            assert cursor.fetchone()[0] > 0
    finally:
        app.close()
    verified(app_env)
