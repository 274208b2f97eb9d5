"""A database that goes away answers 503 with Retry-After, not a server error.

When PostgreSQL restarts (a failover, an upgrade, a crash) the requests in flight lose
their connection. Their transaction never commits, so nothing is half-written; what the
client needs to hear is "try again shortly", in the API's JSON error shape under /api/
and as a short page elsewhere. The next request reconnects by itself: Django closes a
connection that failed at the end of the request, and ``CONN_HEALTH_CHECKS`` replaces a
persistent connection that died while idle (see docs/deploy.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

log = logging.getLogger("quorum.faults")

# Long enough for a restart or a failover to finish, short enough not to lose the user.
RETRY_AFTER_SECONDS = 5
# The API's 503 body: {"detail": "...", "code": UNAVAILABLE_CODE}.
UNAVAILABLE_CODE = "database_unavailable"


class DatabaseUnavailableMiddleware:
    """Turn a lost or refused database connection raised by a view into a 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # psycopg raises OperationalError when the server is gone or refuses connections,
        # InterfaceError when a connection it had already lost is used again. Both also
        # cover transient refusals such as a deadlock victim: retrying is right for those.
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning(
            "database unavailable during %s %s", request.method, request.path, exc_info=True
        )
        return unavailable(request)


def unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: JSON under /api/, a bare page elsewhere, with Retry-After."""
    message = _("The database is briefly unavailable. Please try again in a few seconds.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": UNAVAILABLE_CODE}, status=503)
    else:
        # A bare page: the site's templates read the session and the user, which need
        # the database that just failed.
        title = escape(_("Temporarily unavailable"))
        response = HttpResponse(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
            f"</head><body><h1>{title}</h1><p>{escape(message)}</p></body></html>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class CouncilTimeZoneMiddleware:
    """Each request starts in the server's zone and leaves no zone behind.

    A page about a council activates the council's zone (``council/web/pages.py:
    visible()``) for the rest of its request; the zone is thread-local, so without the
    reset the next request served by the same thread would inherit it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
