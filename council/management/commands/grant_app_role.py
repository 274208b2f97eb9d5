"""Give the application's database role what it needs, and no way to rewrite the ledger.

Run as the owner of the tables (the role that runs ``migrate``), after every migration:
a migration may add tables, and the grants name the tables that exist. It is what
``make prod`` runs, and what docs/deploy.md ("Database roles") describes.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

# The app reads and writes the ordinary tables and only appends to the ledger: the owner
# keeps UPDATE, DELETE, TRUNCATE, ALTER (and so the triggers' off switch) and DROP.
GRANTS = (
    "REVOKE ALL ON SCHEMA public FROM PUBLIC",
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "REVOKE UPDATE, DELETE, TRUNCATE ON council_ledgerevent FROM {role}",
)


class Command(BaseCommand):
    help = "Grant the application's role (e.g. quorum_app) its rights; run as the owner."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("role", help="The role the web nodes and workers connect as.")

    def handle(self, *args: Any, role: str, **options: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [role]
            )
            current, exists = cursor.fetchone()
        if role == current:
            raise CommandError(
                f"{role} is the role running this command, the tables' owner: the application "
                "must connect as another role, which cannot rewrite the ledger."
            )
        if not exists:
            raise CommandError(f"No role {role!r}: create it first (docs/deploy.md).")
        quoted = connection.ops.quote_name(role)
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in GRANTS:
                cursor.execute(statement.format(role=quoted))
        self.stdout.write(f"{role}: may read and write the tables, and only append to the ledger.")
