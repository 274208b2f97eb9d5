"""Use cases for member units and people's roles.

Same contract as every service module: permission first, one transaction, the ledger
event appended inside it, typed refusals that leave nothing written. API tokens, at the
end, belong to accounts rather than councils.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from council import ledger
from council.errors import Code, Conflict, Forbidden, Invalid, NotFound, check_model
from council.locking import lock
from council.models import Council

from . import permissions
from .models import ApiToken, MemberUnit, Profile, Role

Actor = permissions.User

_UNIT_FIELDS = ("name", "short_name", "voting", "label", "joined_on", "left_on")


def _unit_data(unit: MemberUnit) -> dict[str, Any]:
    data = {name: getattr(unit, name) for name in _UNIT_FIELDS}
    for day in ("joined_on", "left_on"):
        data[day] = data[day].isoformat() if data[day] else None
    return data


@transaction.atomic
def create_unit(
    *,
    actor: Actor,
    council: Council,
    name: str,
    short_name: str,
    voting: bool = True,
    label: str = "",
    joined_on: datetime.date | None = None,
    left_on: datetime.date | None = None,
) -> MemberUnit:
    """Add a member unit (voting or not). It becomes eligible from the next meeting start."""
    permissions.require_manage(actor, council.pk)
    if joined_on is None:
        # "Today" is the council's day: eligibility is decided on the council's calendar.
        joined_on = timezone.now().astimezone(council.zone).date()
    unit = MemberUnit(
        council=council,
        name=name,
        short_name=short_name,
        voting=voting,
        label=label,
        joined_on=joined_on,
        left_on=left_on,
    )
    check_model(unit)
    unit.save()
    ledger.append(
        council_id=council.pk,
        actor=actor,
        action="unit.created",
        object=ledger.ref(unit),
        data=_unit_data(unit),
    )
    return unit


@transaction.atomic
def update_unit(*, actor: Actor, unit: MemberUnit, **fields: Any) -> MemberUnit:
    """Change a unit's names, voting status, label or membership dates.

    Meetings already started keep their snapshot of eligible units.
    """
    permissions.require_manage(actor, unit.council_id)
    unknown = set(fields) - set(_UNIT_FIELDS)
    if unknown:
        raise Invalid({name: [_("This field cannot be changed.")] for name in sorted(unknown)})
    unit = lock(MemberUnit, unit.pk)
    before = _unit_data(unit)
    for name, value in fields.items():
        setattr(unit, name, value)
    check_model(unit)
    after = _unit_data(unit)
    changes = {k: v for k, v in after.items() if before[k] != v}
    if not changes:
        return unit
    unit.save()
    ledger.append(
        council_id=unit.council_id,
        actor=actor,
        action="unit.updated",
        object=ledger.ref(unit),
        data=changes,
    )
    return unit


def require_role_unit(council: Council, role: str, unit: MemberUnit | None) -> None:
    """A delegate represents one unit of the council; the other roles represent none.
    The one check of a role's unit, for a grant and for an invitation to it."""
    if role == Role.Kind.DELEGATE and unit is None:
        raise Invalid({"unit": [_("A delegate represents one unit: name it.")]})
    if role != Role.Kind.DELEGATE and unit is not None:
        raise Invalid({"unit": [_("Only delegates represent a unit.")]})
    if unit is not None and unit.council_id != council.pk:
        raise Invalid({"unit": [_("This unit is not a member of the council.")]})


@transaction.atomic
def grant_role(
    *,
    actor: Actor,
    user: User,
    council: Council,
    role: str,
    unit: MemberUnit | None = None,
) -> Role:
    """Give ``user`` a role in ``council``; a delegate role names the unit represented.

    Nobody grants a role to themselves: a secretary could otherwise make themselves a
    delegate, vote as the unit and revoke the role. Another secretary grants it, or a
    superuser (the site's administrators, in the admin), who may act everywhere anyway.
    """
    permissions.require_manage(actor, council.pk)
    if actor is not None and actor.pk == user.pk and not permissions.is_superuser(actor):
        raise Forbidden(_("You cannot grant a role to yourself: ask another secretary."))
    require_role_unit(council, role, unit)
    granted = Role(user=user, council=council, role=role, unit=unit)
    check_model(granted)
    granted.save()
    ledger.append(
        council_id=council.pk,
        actor=actor,
        action="role.granted",
        object=ledger.ref(granted),
        data={"user": user.get_username(), "role": role, "unit": unit.pk if unit else None},
    )
    return granted


@transaction.atomic
def revoke_role(*, actor: Actor, role: Role) -> None:
    """Take a role away. A council's last secretary role is kept (409 ``last_secretary``),
    for everyone, superusers included: grant another secretary first.

    The council row is locked before the role, so that two secretaries revoking each
    other at once are serialised: the second finds itself the last one and is refused.
    """
    permissions.require_manage(actor, role.council_id)
    lock(Council, role.council_id)
    # Again, now that the council is locked: a concurrent revocation may have just taken
    # the actor's own secretary role.
    permissions.require_manage(actor, role.council_id)
    try:
        role = lock(Role, role.pk)
    except Role.DoesNotExist as exc:
        raise NotFound(_("Not found.")) from exc
    if role.role == Role.Kind.SECRETARY:
        others = Role.objects.filter(council_id=role.council_id, role=Role.Kind.SECRETARY)
        if not others.exclude(pk=role.pk).exists():
            raise Conflict(
                _(
                    "This is the council's last secretary: grant the role to someone else "
                    "before revoking it."
                ),
                code=Code.LAST_SECRETARY,
            )
    data = {"user": role.user.get_username(), "role": role.role, "unit": role.unit_id}
    council_id, name = role.council_id, ledger.ref(role)
    role.delete()
    ledger.append(council_id=council_id, actor=actor, action="role.revoked", object=name, data=data)


# --- API tokens ---------------------------------------------------------------------------
# Account state, not a council's: no council ledger records them. Each change is one
# statement (or one transaction) and logged by the caller as a security event.


def session_digest(session_key: str | None) -> str:
    """What ApiToken.session stores for a session: a digest, never the key itself."""
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()


def issue_token(*, user: User, session_key: str | None = None, label: str = "") -> tuple[Any, str]:
    """A new token for ``user``: the stored row and the key, which exists only here.

    The key is returned once and cannot be read back (only its digest is stored). The
    user's expired tokens are deleted in the same transaction: nothing else would.
    """
    if not user.is_active:
        raise Invalid({"username": [_("This account is inactive.")]})
    with transaction.atomic():
        ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        token, key = ApiToken.objects.create(
            user=user, session=session_digest(session_key), label=label[:100]
        )
    return token, str(key)


def revoke_token(*, actor: Actor, token_id: int) -> None:
    """Revoke one of the actor's own tokens; anyone else's is 404, as if it did not exist."""
    deleted, _rows = ApiToken.objects.filter(pk=token_id, user_id=actor.pk).delete()
    if not deleted:
        raise NotFound(_("No such token."))


def revoke_all_tokens(user: User) -> int:
    """Every token of ``user`` (a changed password: whoever knew the old one may hold one)."""
    deleted, _rows = ApiToken.objects.filter(user_id=user.pk).delete()
    return int(deleted)


def revoke_session_tokens(user: User, session_key: str | None) -> int:
    """The tokens that the session ``session_key`` of ``user`` created (it is ending)."""
    digest = session_digest(session_key)
    if not digest:
        return 0
    deleted, _rows = ApiToken.objects.filter(user_id=user.pk, session=digest).delete()
    return int(deleted)


# --- Preferences --------------------------------------------------------------------------


def remember_language(user: User, language: str) -> None:
    """Keep ``language`` as the language of ``user``'s emails (the last one they used).

    A person's own preference, not a council's record: no ledger event, as for tokens.
    An unknown language is ignored (the menu offers only the site's languages). One
    statement when it is unchanged, two when it changes.
    """
    if language not in dict(settings.LANGUAGES) or user.pk is None:
        return
    if Profile.objects.filter(user_id=user.pk, language=language).exists():
        return
    Profile.objects.update_or_create(user_id=user.pk, defaults={"language": language})


def language_of(user: User) -> str:
    """The language of ``user``'s emails: their last used, else the site's default."""
    try:
        chosen = user.quorum_profile.language
    except Profile.DoesNotExist:
        chosen = ""
    return chosen or settings.LANGUAGE_CODE
