"""Quorum's URLs plus two baselines for the HTTP benchmark.

- ``bench/trivial/``: a plain JSON view, no database — the framework's ceiling per request.
- ``bench/authenticated/``: a DRF view behind the same token authentication as the API —
  what authentication and DRF cost before any voting logic runs.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from council.urls import urlpatterns as quorum_urlpatterns


def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@api_view(["GET", "PUT"])
def authenticated(request: Request) -> Response:
    return Response({"user": request.user.pk})


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/authenticated/", authenticated),
    *quorum_urlpatterns,
]
