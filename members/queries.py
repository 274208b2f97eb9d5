"""Reads of accounts and units that views need before calling a service."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from council.errors import Invalid


def user_by_username(username: str) -> User:
    """The existing account named ``username``, or a 400 naming the field."""
    try:
        return get_user_model().objects.get_by_natural_key(username)
    except get_user_model().DoesNotExist as exc:
        raise Invalid({"username": [_("No such user.")]}) from exc
