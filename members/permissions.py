"""Who may do what, in one place.

Services call these before they touch anything, so every entry point (pages, API,
admin, commands) gets the same answer. Superusers may do everything. ``None`` as an
actor means the system itself (a scheduled task) and is only accepted where a service
documents it.

A person's roles in a council are read in one query (:func:`access`); every question
about that person and council is then answered from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from django.contrib.auth import models as auth
from django.db import connection
from django.utils.translation import gettext as _

from council.errors import Forbidden, NotFound

from .models import MemberUnit, Role

# Whoever asks: ``request.user``, signed in or not (AUTH_USER_MODEL is Django's own User).
User = auth.User | auth.AnonymousUser


def _active(user: User | None) -> TypeGuard[auth.User]:
    return user is not None and user.is_authenticated and user.is_active


def is_superuser(user: User | None) -> bool:
    return _active(user) and bool(getattr(user, "is_superuser", False))


@dataclass(frozen=True)
class Access:
    """What one person may do in one council."""

    superuser: bool
    roles: frozenset[str]
    units: frozenset[int]  # the units this person is a delegate of

    @property
    def can_view(self) -> bool:
        """Anyone holding a role in the council sees it; others must not learn it exists."""
        return self.superuser or bool(self.roles)

    @property
    def can_manage(self) -> bool:
        """Secretaries run their council: units, meetings, attendance, proposals, votes."""
        return self.superuser or Role.Kind.SECRETARY in self.roles

    def represents(self, unit: MemberUnit) -> bool:
        """Only delegates act *as* their unit (a superuser records, never represents)."""
        return unit.pk in self.units

    def require_view(self) -> None:
        if not self.can_view:
            raise NotFound(_("Not found."))

    def require_manage(self) -> None:
        """404 for strangers (do not reveal existence), 403 for members without the role."""
        self.require_view()
        if not self.can_manage:
            raise Forbidden(_("Only the council's secretaries may do this."))


def access(user: User | None, council_id: int) -> Access:
    if not _active(user):
        return Access(superuser=False, roles=frozenset(), units=frozenset())
    # Asked on every request, the ballot's included: a plain statement costs a fraction of
    # building the same query through the ORM.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT role, unit_id FROM {Role._meta.db_table} "  # noqa: S608 — a table name
            "WHERE user_id = %s AND council_id = %s",
            [user.pk, council_id],
        )
        rows = cursor.fetchall()
    return Access(
        superuser=is_superuser(user),
        roles=frozenset(role for role, _unit in rows),
        units=frozenset(unit for role, unit in rows if role == Role.Kind.DELEGATE),
    )


def require_view(user: User | None, council_id: int) -> None:
    access(user, council_id).require_view()


def require_manage(user: User | None, council_id: int) -> None:
    access(user, council_id).require_manage()


def account(user: User | None) -> auth.User:
    """The signed-in account acting as ``user``: what a service records as the one who
    created, opened, cast or closed something. Services call it after their permission
    check, which lets no anonymous or inactive user through; it refuses them as that
    check does."""
    if not _active(user):
        raise NotFound(_("Not found."))
    return user
