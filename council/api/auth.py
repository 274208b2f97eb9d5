"""Token authentication: knox's tokens (members.ApiToken), read with their user in one
hand-written query.

knox's own ``TokenAuthentication`` reads the candidate tokens by prefix, then each
token's user, then every other token of that user (to delete the expired ones) — three
ORM queries on every API request. On the ballot's path building queries costs more
than answering them (``council/rows.py``), so this class reads the tokens with the
prefix and their users in one statement, compares the digest in constant time, and
refuses an expired token. Expired rows are deleted when their owner is next issued a
token (members.services.issue_token), not on the request path.

Answers match knox's: an unknown, wrong or expired token is "Invalid token." (401); an
inactive user "User inactive or deleted." (401).
"""

from __future__ import annotations

import binascii
import hmac
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from council import rows
from members.models import ApiToken

# Prefix collisions between live tokens are all but impossible (15 hex characters); the
# bound keeps a crafted prefix from reading many rows.
_CANDIDATES = 4


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        invalid = exceptions.AuthenticationFailed(_("Invalid token."))
        try:
            key = token.decode("utf-8")
            digest = hash_token(key)
        except (UnicodeDecodeError, TypeError, binascii.Error) as exc:
            raise invalid from exc
        User = get_user_model()
        candidates = rows.fetch_all(
            f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}"  # noqa: S608 — column names
            f" FROM {ApiToken._meta.db_table} t JOIN {User._meta.db_table} u"
            f" ON u.id = t.user_id WHERE t.token_key = %s LIMIT {_CANDIDATES}",
            [key[: CONSTANTS.TOKEN_KEY_LENGTH]],
        )
        split = rows.width(ApiToken)
        for row in candidates:
            auth_token: ApiToken = rows.build(ApiToken, row[:split])
            if not hmac.compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
                raise invalid
            auth_token.user = rows.build(User, row[split:])
            if not auth_token.user.is_active:
                raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
            return (auth_token.user, auth_token)
        raise invalid
