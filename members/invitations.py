"""Email invitations to a role in a council: invite, resend, revoke, accept.

Same contract as ``members/services.py``: permission first, one transaction, the ledger
event inside it. The token is random (``secrets.token_urlsafe``) and exists only in the
emailed link; the row stores its SHA-256 digest. Accepting grants the role through
:func:`members.services.grant_role`, in the inviter's name (it is the inviter who gives
the role: an invitation they accept themselves is refused as any self-grant is), and
marks the invitation used, in one transaction that locks the invitation first: two tabs
accepting at once grant the role once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import BaseUserManager, User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from council import ledger
from council.errors import Code, Forbidden, Invalid, ServiceError, check_model
from council.locking import lock
from council.models import Council

from . import permissions, services
from .models import Invitation, MemberUnit, Role

Actor = permissions.User


class Unusable(ServiceError):
    """The link is expired, replaced, revoked or already used — which one is not said."""

    status = 404
    default_code = Code.NOT_FOUND


def digest(token: str) -> str:
    """What the table stores for a token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def _data(invitation: Invitation) -> dict[str, Any]:
    return {"email": invitation.email, "role": invitation.role, "unit": invitation.unit_id}


@transaction.atomic
def invite(
    *,
    actor: Actor,
    council: Council,
    email: str,
    role: str,
    unit: MemberUnit | None = None,
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``role``; returns the invitation and its token (for the link)."""
    permissions.require_manage(actor, council.pk)
    inviter = permissions.account(actor)
    email = BaseUserManager.normalize_email(email.strip())
    services.require_role_unit(council, role, unit)
    token, hashed = _new_token()
    invitation = Invitation(
        council=council,
        email=email,
        role=role,
        unit=unit,
        invited_by=inviter,
        token_hash=hashed,
        expires_at=timezone.now() + settings.QUORUM_INVITATION_TTL,
    )
    check_model(invitation, exclude=["token_hash"])
    pending = Invitation.objects.filter(
        council=council,
        email__iexact=email,
        role=role,
        unit=unit,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    )
    if pending.exists():
        raise Invalid(
            {"email": [_("This person is already invited to this role: resend the invitation.")]}
        )
    invitation.save()
    ledger.append(
        council_id=council.pk,
        actor=actor,
        action="invitation.created",
        object=ledger.ref(invitation),
        data=_data(invitation),
    )
    return invitation, token


def _lock_pending(actor: Actor, invitation: Invitation) -> Invitation:
    permissions.require_manage(actor, invitation.council_id)
    invitation = lock(Invitation, invitation.pk)
    if not invitation.pending:
        raise Invalid({"non_field_errors": [_("This invitation was already accepted or revoked.")]})
    return invitation


@transaction.atomic
def resend(*, actor: Actor, invitation: Invitation) -> tuple[Invitation, str]:
    """A new token and a new expiry: the link sent before stops working."""
    invitation = _lock_pending(actor, invitation)
    token, invitation.token_hash = _new_token()
    invitation.expires_at = timezone.now() + settings.QUORUM_INVITATION_TTL
    invitation.save(update_fields=["token_hash", "expires_at"])
    ledger.append(
        council_id=invitation.council_id,
        actor=actor,
        action="invitation.resent",
        object=ledger.ref(invitation),
        data={**_data(invitation), "expires_at": ledger.format_time(invitation.expires_at)},
    )
    return invitation, token


@transaction.atomic
def revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    invitation = _lock_pending(actor, invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    ledger.append(
        council_id=invitation.council_id,
        actor=actor,
        action="invitation.revoked",
        object=ledger.ref(invitation),
        data=_data(invitation),
    )
    return invitation


# --- The link -----------------------------------------------------------------------------


def find(token: str) -> Invitation | None:
    """The usable invitation of ``token``, or None (whatever the reason)."""
    if not token or len(token) > 200:
        return None
    invitation = (
        Invitation.objects.select_related("council", "unit")
        .filter(token_hash=digest(token))
        .first()
    )
    if invitation is None or not invitation.usable(timezone.now()):
        return None
    return invitation


def account_for(invitation: Invitation) -> User | None:
    """The existing account with the invitation's address, which must sign in to accept."""
    return (
        get_user_model()
        .objects.filter(email__iexact=invitation.email, is_active=True)
        .order_by("pk")
        .first()
    )


def _lock_usable(token: str) -> Invitation:
    found = Invitation.objects.filter(token_hash=digest(token)).values_list("pk", flat=True)
    pk = found.first()
    if pk is None:
        raise Unusable(_("This invitation link cannot be used."))
    invitation = lock(Invitation, pk)
    if not invitation.usable(timezone.now()):
        raise Unusable(_("This invitation link cannot be used."))
    return invitation


def _accept(invitation: Invitation, user: User) -> Role:
    role = services.grant_role(
        actor=invitation.invited_by,
        user=user,
        council=invitation.council,
        role=invitation.role,
        unit=invitation.unit,
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    ledger.append(
        council_id=invitation.council_id,
        actor=user,
        action="invitation.accepted",
        object=ledger.ref(invitation),
        data={**_data(invitation), "user": user.get_username(), "granted": ledger.ref(role)},
    )
    return role


@transaction.atomic
def accept(*, token: str, user: Actor) -> Role:
    """The signed-in ``user`` (with the invited address) accepts: the role is granted."""
    account = permissions.account(user)
    invitation = _lock_usable(token)
    if account.email.lower() != invitation.email.lower():
        raise Forbidden(
            _(
                "This invitation was sent to another email address: sign out, then open "
                "the link again."
            )
        )
    return _accept(invitation, account)


def suggested_username(email: str) -> str:
    local = re.sub(r"[^\w.@+-]", "", email.partition("@")[0])[:150]
    return local or "member"


@transaction.atomic
def accept_as_new(*, token: str, username: str, password: str) -> tuple[User, Role]:
    """Someone without an account accepts: the account is made with the invited address."""
    invitation = _lock_usable(token)
    if account_for(invitation) is not None:
        raise Invalid({"username": [_("An account with this email address exists: sign in.")]})
    model = get_user_model()
    user = model(username=username, email=invitation.email)
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = [str(m) for m in exc.messages]
    if errors:
        raise Invalid(errors)
    user.set_password(password)
    user.save()
    return user, _accept(invitation, user)


def send(invitation: Invitation, token: str, link: str, language: str) -> None:
    """Email the link, in ``language`` (the inviting secretary's, as they sent it)."""
    with translation.override(language):
        context = {
            "invitation": invitation,
            "link": link,
            "council": invitation.council,
            "role": invitation.get_role_display(),
            "unit": invitation.unit,
            "expires_at": invitation.expires_at,  # shown in the council's zone
        }
        subject = _("Invitation to %(council)s") % {"council": invitation.council.name}
        body = render_to_string("council/invitation_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
