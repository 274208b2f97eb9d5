"""Who may do what, in one place.

Services call these before they touch anything, so every entry point (pages, API,
admin, commands) gets the same answer. Superusers may do everything. ``None`` as an
actor means the system itself (a scheduled task) and is only accepted where a service
documents it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from council.errors import Forbidden, NotFound

from .models import MemberUnit, Role

User = AbstractBaseUser | AnonymousUser


def _active(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def is_superuser(user: User | None) -> bool:
    return _active(user) and bool(getattr(user, "is_superuser", False))


def roles(user: User | None, council_id: int) -> list[Role]:
    if not _active(user):
        return []
    return list(Role.objects.filter(user_id=user.pk, council_id=council_id))


def can_view(user: User | None, council_id: int) -> bool:
    """Anyone holding a role in the council sees it; others must not learn it exists."""
    return is_superuser(user) or bool(roles(user, council_id))


def can_manage(user: User | None, council_id: int) -> bool:
    """Secretaries run their council: units, meetings, attendance, proposals, votes."""
    if is_superuser(user):
        return True
    return (
        _active(user)
        and Role.objects.filter(
            user_id=user.pk, council_id=council_id, role=Role.Kind.SECRETARY
        ).exists()
    )


def represents(user: User | None, unit: MemberUnit) -> bool:
    """Is ``user`` a delegate of ``unit``? Only delegates act *as* their unit."""
    return (
        _active(user)
        and Role.objects.filter(user_id=user.pk, unit_id=unit.pk, role=Role.Kind.DELEGATE).exists()
    )


def require_view(user: User | None, council_id: int) -> None:
    if not can_view(user, council_id):
        raise NotFound("Not found.")


def require_manage(user: User | None, council_id: int) -> None:
    """404 for strangers (do not reveal existence), 403 for members without the role."""
    require_view(user, council_id)
    if not can_manage(user, council_id):
        raise Forbidden("Only the council's secretaries may do this.")
