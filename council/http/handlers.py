"""The site's error handlers (``handler400/404/500`` in the URLconf).

Under /api/ every error body is JSON, as the API promises, with DEBUG on or off;
elsewhere Django's own pages answer.
"""

from __future__ import annotations

import sys
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


def api_server_error(request: HttpRequest) -> Any:
    """500 in JSON under /api/ (every API error body is JSON); the normal page elsewhere.

    A lost database raised outside any view (a middleware saving the session, say) is
    the same fault the view-level middleware answers: 503 with Retry-After, not a 500.
    """
    from django.db import InterfaceError, OperationalError

    from .middleware import unavailable

    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    from django.views.defaults import server_error

    return server_error(request)


def api_bad_request(request: HttpRequest, exception: Exception) -> Any:
    """400 raised before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a malformed
    request): JSON under /api/, the normal page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exception or "") or "Bad request."}, status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


# It writes nothing, and an unknown path must answer its JSON 404 to any method: the CSRF
# check would otherwise answer an unknown API path's POST with an HTML 403.
@csrf_exempt
def api_not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """404 for unknown paths: JSON under /api/, the normal page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
