"""System checks for production (``manage.py check --deploy``).

The database role: the ledger's append-only triggers hold only against a role that does
not own the table (an owner may disable them) and is no superuser. That check reads the
database, so it runs with ``check --deploy --database default``, as ``make prod`` does.

The rate limits and the sign-in lockout's throttles count in Django's cache. With each
process's own memory (the default without ``CACHE_URL``) every gunicorn worker and every
node counts apart, so a limit of 60 a minute becomes 60 per process: production must
name a shared cache.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections

_PER_PROCESS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(deploy=True)
def shared_cache(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend not in _PER_PROCESS:
        return []
    return [
        Error(
            "No shared cache: the rate limits would count per process.",
            hint="Set CACHE_URL=redis://host:6379/1 (a Redis every web process reaches).",
            id="quorum.E001",
        )
    ]


@register(Tags.database, deploy=True)
def app_role_cannot_rewrite_the_ledger(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Error]:
    if not databases or "default" not in databases:
        return []
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, c.relowner = r.oid,"
            " has_table_privilege(current_user, c.oid, 'UPDATE, DELETE, TRUNCATE')"
            " FROM pg_roles r, pg_class c"
            " WHERE r.rolname = current_user AND c.relname = 'council_ledgerevent'"
            " AND c.relkind = 'r'"
        )
        row = cursor.fetchone()
    if row is None:  # not migrated yet: migrate (as the owner) comes first
        return []
    superuser, owner, may_rewrite = row
    if not (superuser or owner or may_rewrite):
        return []
    why = "a superuser" if superuser else "the ledger's owner" if owner else "granted UPDATE"
    return [
        Error(
            f"The site connects to PostgreSQL as {why}: it could disable the ledger's "
            "append-only triggers and rewrite the chain.",
            hint="Connect as an application role (quorum_app) given its rights by "
            "`manage.py grant_app_role quorum_app`, run as the owner (docs/deploy.md).",
            id="quorum.E002",
        )
    ]
