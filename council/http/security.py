"""Defences against abuse: who the client is, sign-in lockout, rate limits, security log.

- The client's address: ``REMOTE_ADDR``, or the address the trusted proxies saw when
  ``QUORUM_PROXY_COUNT`` proxies stand in front of the site. One definition, used by the
  sign-in lockout, the rate limits and the security log alike.
- Sign-in lockout (django-axes): repeated failures lock the *username and address*
  together, so an attacker can lock out only the pairs they try from their own address,
  never a member who signs in from elsewhere.
- Sign-in limit per address: an address from which more than a handful of *distinct*
  usernames failed within a window may try no new usernames until the window ends (429
  with Retry-After). A meeting room behind one NAT address keeps signing in: the
  usernames already tried or signed in from there are left to the per-pair lockout.
- Rate limits (DRF throttles): the token endpoint per address, changes of one unit's
  ballot per person and vote, the same counter for the API and the ballot forms.
- Security events go to the ``quorum.security`` logger, one line each, with the user,
  the address and the path.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger("quorum.security")


def client_ip(request: HttpRequest) -> str:
    """The client's address as the nearest trusted proxy saw it.

    ``X-Forwarded-For`` is only believed behind a configured number of proxies: each
    appends the address it received from, so with N proxies the client is the N-th entry
    from the right. Entries further left are whatever the client chose to send.
    """
    proxies = settings.QUORUM_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    chain = [a for a in chain if a]
    if not chain:
        return remote
    return chain[-min(proxies, len(chain))]


def _who(request: Any) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return repr(user.get_username())
    return "-"


def log_event(event: str, request: Any, *, user: str | None = None, **details: Any) -> None:
    """One line per security event; values are repr()-quoted so that a crafted username
    or path cannot forge a line of its own."""
    fields = " ".join(f"{k}={v!r}" for k, v in details.items())
    log.warning(
        "%s user=%s ip=%r path=%r%s",
        event,
        user if user is not None else _who(request),
        client_ip(request),
        request.path,
        f" {fields}" if fields else "",
    )


# --- Sign-in lockout ----------------------------------------------------------------------


class SignInGuard(AxesStandaloneBackend):
    """Axes' lockout check, first in ``AUTHENTICATION_BACKENDS``.

    Without a request there is no client to lock out: that is server-side code (a
    management command, the shell), so the check steps aside and the next backend
    decides. Every sign-in from the network (login page, token endpoint, admin) passes
    its request.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        wait = address_limit_wait(request, username or "")
        if wait is not None:
            # Refused before the password is checked: an address spraying passwords
            # learns nothing from the answer. PermissionDenied stops the next backends.
            request.sign_in_address_limited = wait  # type: ignore[attr-defined]
            raise PermissionDenied("too many usernames failed from this address")
        return None


def lockout_seconds() -> int:
    cool_off = get_cool_off()
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_message() -> str:
    minutes = max(1, math.ceil(lockout_seconds() / 60))
    return ngettext(
        "Too many failed sign-ins for this account from your address. "
        "Try again in %(minutes)d minute.",
        "Too many failed sign-ins for this account from your address. "
        "Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """Axes' answer to a locked-out sign-in: 429 with Retry-After, as a page or JSON."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": lockout_message()}, status=429)
    else:
        response = render(request, "refused.html", {"message": lockout_message()}, status=429)
    response["Retry-After"] = str(lockout_seconds())
    return response


@receiver(user_login_failed, dispatch_uid="quorum.security.sign_in_failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any
) -> None:
    if request is None:
        return
    username = str(credentials.get("username", ""))
    if getattr(request, "sign_in_address_limited", None) is not None:
        log_event("sign_in_address_limited", request, user=repr(username))
        return  # not a failure of this username: its password was never checked
    log_event("sign_in_failed", request, user=repr(username))
    if getattr(request, "axes_locked_out", False):
        log_event("sign_in_locked_out", request, user=repr(username))
    else:
        _note_failed_username(request, username)


@receiver(user_logged_in, dispatch_uid="quorum.security.signed_in")
def _signed_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if request is not None and user is not None:
        remember_sign_in(request, user.get_username())


# --- Sign-in limit per address ----------------------------------------------------------------
# Counted in the shared cache, in fixed windows of QUORUM_SIGNIN_ADDRESS_WINDOW seconds:
#   signin:<address>:<window>:count       how many distinct usernames failed (atomic incr)
#   signin:<address>:<window>:u:<digest>  this username failed (add: counted once)
#   signin-ok:<address>:<digest>          this username signed in from here (a day)
# Usernames are hashed: the cache holds no list of who tried what, and keys stay short.
# A fixed window lets an address fail with at most N new usernames per window, which is
# the point; a sliding one would need a list per address, read and rewritten each time.

SIGNED_IN_REMEMBERED = 24 * 3600


def _window() -> tuple[str, int]:
    length = int(settings.QUORUM_SIGNIN_ADDRESS_WINDOW)
    now = time.time()
    return str(int(now // length)), max(1, math.ceil(length - now % length))


def _name(username: str) -> str:
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def address_limit_wait(request: Any, username: str) -> int | None:
    """None if this address may try ``username`` now, else the seconds until it may.

    An address may always retry a username it already tried in this window (the
    per-pair lockout governs those) or signed in with lately; a new one only while fewer
    than QUORUM_SIGNIN_ADDRESS_USERNAMES distinct usernames have failed from it.
    """
    address, name = client_ip(request), _name(username)
    window, remaining = _window()
    base = f"signin:{address}:{window}"
    counted = cache.get_many([f"{base}:count", f"{base}:u:{name}", f"signin-ok:{address}:{name}"])
    if f"{base}:u:{name}" in counted or f"signin-ok:{address}:{name}" in counted:
        return None
    if int(counted.get(f"{base}:count", 0)) < settings.QUORUM_SIGNIN_ADDRESS_USERNAMES:
        return None
    return remaining


def _note_failed_username(request: Any, username: str) -> None:
    address, name = client_ip(request), _name(username)
    window, remaining = _window()
    base = f"signin:{address}:{window}"
    # add() is atomic: two concurrent failures of one username count it once.
    if cache.add(f"{base}:u:{name}", 1, timeout=remaining + 1):
        cache.add(f"{base}:count", 0, timeout=remaining + 1)
        # ValueError: the window ended between the two calls, nothing left to count.
        with contextlib.suppress(ValueError):
            cache.incr(f"{base}:count")


def remember_sign_in(request: Any, username: str) -> None:
    """A username that signed in from this address is never refused by the address limit
    there for a day: members who already signed in are unaffected by a spray."""
    cache.set(f"signin-ok:{client_ip(request)}:{_name(username)}", 1, SIGNED_IN_REMEMBERED)


def address_limit_message() -> str:
    return _(
        "Too many failed sign-ins from your address. Try again later, or from another "
        "network. Accounts already signed in from here are not affected."
    )


def address_limited_response(request: HttpRequest, wait: int) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": address_limit_message()}, status=429)
    else:
        message = address_limit_message()
        response = render(request, "refused.html", {"message": message}, status=429)
    response["Retry-After"] = str(wait)
    return response


class SignInAddressLimitMiddleware:
    """Turns a sign-in refused by the address limit (the login page, the admin's) into
    429 with Retry-After; the token endpoint raises its own 429 (council/api/views.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        wait = getattr(request, "sign_in_address_limited", None)
        if wait is not None:
            return address_limited_response(request, wait)
        return response


# --- Rate limits --------------------------------------------------------------------------


class _Throttle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read at each request, not at import: the rates come from the environment and
        # tests change them.
        if self.scope is None:
            return None
        # The stubs type the rates as numbers; DRF's are strings such as "60/minute".
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[return-value]


class TokenRateThrottle(_Throttle):
    """Token requests per client address: a password sprayer tries many usernames from
    one address, which the per-(username, address) lockout alone would not slow down."""

    scope = "token"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class BallotRateThrottle(_Throttle):
    """Changes of ONE unit's ballot on one proposal's vote, per person, through the API
    and the ballot forms together.

    The key is the person, the proposal and the unit: a secretary recording the room's
    ballots one unit after another is never limited by the number of units, while a
    loop replacing one unit's ballot again and again (each replacement is a ledger
    event and a locked transaction) is. The show-of-hands form counts as one change of
    the proposal's "room" key per submission.
    """

    scope = "ballot"

    def get_cache_key(self, request: Any, view: Any) -> str:
        ident = request.user.pk if request.user.is_authenticated else client_ip(request)
        match = request.resolver_match
        kwargs = match.kwargs if match else {}
        target = f"{kwargs.get('pk', '')}:{kwargs.get('unit_id', 'room')}"
        return self.cache_format % {"scope": self.scope, "ident": f"{ident}:{target}"}


class MinutesPdfRateThrottle(_Throttle):
    """Minutes PDF downloads per person: stored PDFs are cheap to serve, but each miss
    may queue a render, and a loop of downloads should not tie up a web worker."""

    scope = "minutes_pdf"

    def get_cache_key(self, request: Any, view: Any) -> str:
        ident = request.user.pk if request.user.is_authenticated else client_ip(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AttendanceRateThrottle(_Throttle):
    """Changes of one unit's attendance per person, through the API and the pages
    together: a check-in repeated (or toggled) in a loop writes to the ledger each time
    it changes something, and costs a locked transaction each time it does not."""

    scope = "attendance"

    def get_cache_key(self, request: Any, view: Any) -> str:
        ident = request.user.pk if request.user.is_authenticated else client_ip(request)
        unit = request.resolver_match.kwargs.get("unit_id") if request.resolver_match else ""
        return self.cache_format % {"scope": self.scope, "ident": f"{ident}:{unit}"}


def wait_message(seconds: float | None) -> str:
    wait = max(1, math.ceil(seconds or 1))
    return ngettext(
        "Too many requests. Try again in %(seconds)d second.",
        "Too many requests. Try again in %(seconds)d seconds.",
        wait,
    ) % {"seconds": wait}


def page_throttled(request: HttpRequest, throttle: SimpleRateThrottle) -> HttpResponse | None:
    """For a page's form: None if the request may go on, else the 429 page (Retry-After)."""
    # DRF's throttles are typed for API requests and views; ours read only the user and
    # the address, which a page's request has too, and no view.
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return None
    wait = throttle.wait()
    log_event("rate_limited", request, scope=getattr(throttle, "scope", ""))
    response = render(request, "refused.html", {"message": wait_message(wait)}, status=429)
    response["Retry-After"] = str(max(1, math.ceil(wait or 1)))
    return response
