"""Who may do what, in one place.

Services call these before they touch anything, so every entry point (pages, API,
admin, commands) gets the same answer. Superusers may do everything. ``None`` as an
actor means the system itself (a scheduled task) and is only accepted where a service
documents it.

A person's roles in a council are read in one query (:func:`access`); every question
about that person and council is then answered from it. Which councils a person sees,
across all of them, is :func:`visible_councils` (the same rule as ``can_view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from django.contrib.auth import models as auth
from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from council.errors import Forbidden, NotFound
from council.models import Council

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

    # Each question below is answered here once, for the services, the API (which must
    # answer 403 before it validates a body) and the pages (which show only what works).

    @property
    def can_set_deadline(self) -> bool:
        """Deadlines are the secretaries' to set: a delegate's body naming one is refused."""
        return self.can_manage

    def can_submit_for(self, unit_id: int | None) -> bool:
        """Secretaries add any proposal; a delegate submits one in their own unit's name."""
        return self.can_manage or (unit_id is not None and unit_id in self.units)

    def can_cast_for(self, unit: MemberUnit) -> bool:
        """A delegate casts their own unit's ballot; a secretary records one given in the
        room (``recorded_by_secretary``)."""
        return self.represents(unit) or self.can_manage

    def records_for(self, unit: MemberUnit) -> bool:
        """Whether this person's ballot for ``unit`` is one recorded by the secretary.

        A secretary's ballot always is, even for a unit they are also a delegate of:
        otherwise whoever runs the council could cast unflagged, and (online) check an
        absent unit in by casting. Such a ballot needs the unit present, as every ballot
        the secretary records."""
        return self.can_manage

    def can_record_attendance(self, in_person: bool, unit: MemberUnit) -> bool:
        """Secretaries check any unit in or out; a delegate only their own unit, and only
        online or hybrid (in the room, attendance is the secretary's to record)."""
        return self.can_manage or (not in_person and self.represents(unit))

    def require(self, allowed: bool, message: str) -> None:
        """404 for strangers (do not reveal existence), 403 with ``message`` for members
        the predicate ``allowed`` refuses."""
        self.require_view()
        if not allowed:
            raise Forbidden(message)

    def require_view(self) -> None:
        if not self.can_view:
            raise NotFound(_("Not found."))

    def require_manage(self) -> None:
        """404 for strangers (do not reveal existence), 403 for members without the role."""
        self.require(self.can_manage, _("Only the council's secretaries may do this."))


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


def visible_councils(user: User | None) -> QuerySet[Council] | None:
    """The councils a person sees: those they hold a role in, as :attr:`Access.can_view`
    says of one council. None means every council (a superuser)."""
    return _councils_with_role(user, kinds=None)


def overseen_councils(user: User | None) -> QuerySet[Council] | None:
    """The councils whose whole record (the ledger, every role granted) a person reads:
    those they are a secretary or an auditor of. None means every council (a superuser)."""
    return _councils_with_role(user, kinds=(Role.Kind.SECRETARY, Role.Kind.AUDITOR))


def _councils_with_role(
    user: User | None, *, kinds: tuple[str, ...] | None
) -> QuerySet[Council] | None:
    if is_superuser(user):
        return None
    if not _active(user):
        return Council.objects.none()
    roles = Role.objects.filter(user_id=user.pk)
    if kinds is not None:
        roles = roles.filter(role__in=kinds)
    # A subquery, not a join: callers filter by it without duplicate rows or .distinct().
    return Council.objects.filter(pk__in=roles.values("council_id"))


def account(user: User | None) -> auth.User:
    """The signed-in account acting as ``user``: what a service records as the one who
    created, opened, cast or closed something. Services call it after their permission
    check, which lets no anonymous or inactive user through; it refuses them as that
    check does."""
    if not _active(user):
        raise NotFound(_("Not found."))
    return user
