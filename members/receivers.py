"""Token revocation tied to account events that Django signals rather than our services.

- A password change revokes every token of that account: a token is as good as the
  password it was obtained with, and whoever knew the old password may hold one. Django
  has no "password changed" signal; ``pre_save`` compares the new hash with the stored
  one (any path: the admin's form, ``set_password`` in a shell, ``changepassword``), and
  ``post_save`` revokes once the row is written, so a save that fails revokes nothing.
- Signing out revokes the tokens that this session created (``ApiToken.session``);
  tokens asked for with a password alone live until they expire or are revoked.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from council.http import security

from . import services


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="members.password_check")
def _note_password_change(sender: Any, instance: Any, update_fields: Any = None, **_: Any) -> None:
    instance._quorum_password_changed = False
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # a new account has no tokens; a save of other fields changes no password
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._quorum_password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="members.password_revoke")
def _revoke_on_password_change(sender: Any, instance: Any, **_: Any) -> None:
    if getattr(instance, "_quorum_password_changed", False):
        instance._quorum_password_changed = False
        services.revoke_all_tokens(instance)


@receiver(user_logged_out, dispatch_uid="members.logout_revoke")
def _revoke_session_tokens(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is None or request is None:
        return
    revoked = services.revoke_session_tokens(user, request.session.session_key)
    if revoked:
        security.log_event("tokens_revoked_on_sign_out", request, count=revoked)


@receiver(user_logged_in, dispatch_uid="members.remember_language")
def _remember_language(sender: Any, request: Any, user: Any, **_: Any) -> None:
    """The language a person signs in with is the one they last used: their emails are
    written in it (``members.Profile``) until they sign in or switch language again."""
    if user is None or request is None or request.path.startswith("/api/"):
        return  # a script's token request says nothing about the person's language
    services.remember_language(user, getattr(request, "LANGUAGE_CODE", ""))
