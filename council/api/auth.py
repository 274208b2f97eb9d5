"""Token authentication with the token and its user read in one hand-written query.

DRF's ``TokenAuthentication`` reads the same row through the ORM on every API request;
on the ballot's path building that query costs more than answering it
(``council/rows.py``). Same answers, same errors: an unknown token or an inactive user
is refused exactly as DRF refuses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from council import rows

if TYPE_CHECKING:
    from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        model = self.get_model()
        User = get_user_model()
        row = rows.fetch_one(
            f"SELECT {rows.columns(model, 't')}, {rows.columns(User, 'u')}"  # noqa: S608 — column names
            f" FROM {model._meta.db_table} t JOIN {User._meta.db_table} u"
            " ON u.id = t.user_id WHERE t.key = %s",
            [key],
        )
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        split = rows.width(model)
        # get_model() is Token unless a subclass says otherwise; the stubs say Model.
        token: Token = rows.build(model, row[:split])  # type: ignore[assignment]
        token.user = rows.build(User, row[split:])
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
