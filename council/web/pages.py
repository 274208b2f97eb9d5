"""Glue between pages and services: visibility, and refusals turned into responses.

Pages stay thin: they find the object the person may see (404 otherwise), call one
service, and use :func:`act` to turn its outcome into a message and a redirect
(POST-redirect-GET, so every form also works with JavaScript off).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from council.errors import Forbidden, Invalid, NotFound, ServiceError
from council.http import security
from members import permissions

M = TypeVar("M", bound=Model)


def visible(
    request: HttpRequest, queryset: QuerySet[M], council_of: Callable[[M], int], **lookup: Any
) -> tuple[M, permissions.Access]:
    """The object and the person's access to its council; 404 if they cannot see it.

    The page then speaks the council's time: its time zone is activated for the rest of
    the request (``CouncilTimeZoneMiddleware`` resets it after each request), so the
    full page and every live fragment, and the dates typed in its forms, agree.
    """
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Http404
    access = permissions.access(request.user, council_of(obj))
    if not access.can_view:
        raise Http404  # another council's object: do not reveal that it exists
    council = loaded_council(obj)
    if council is not None:
        timezone.activate(council.zone)
    return obj, access


def loaded_council(obj: Model) -> Any:
    """The council of a page's object when it is already loaded (the object itself, or
    its ``council`` or ``meeting.council`` read with ``select_related``): no query."""
    from council.models import Council

    if isinstance(obj, Council):
        return obj
    cache = obj._state.fields_cache
    if isinstance(cache.get("council"), Council):
        return cache["council"]
    meeting = cache.get("meeting")
    if meeting is not None and isinstance(meeting._state.fields_cache.get("council"), Council):
        return meeting._state.fields_cache["council"]
    return None


def refused(request: HttpRequest, error: ServiceError) -> HttpResponse:
    """A clear page for a refusal that a redirect would hide (403)."""
    security.log_event(f"page_refused_{error.status}", request)
    return render(request, "refused.html", {"message": error.message}, status=error.status)


def back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def act(
    request: HttpRequest, service: Callable[[], Any], *, done: str, success: str | None = None
) -> HttpResponse:
    """Run one service call for a page and answer with a redirect and a message.

    404 and 403 refusals are answered as such; state refusals (409) and bad input (400)
    go back to the page with the reason, since nothing was changed.
    """
    try:
        service()
    except NotFound as exc:
        raise Http404 from exc
    except Forbidden as exc:
        return refused(request, exc)
    except Invalid as exc:
        for field, field_messages in exc.errors.items():
            for message in field_messages:
                named = message if field == "non_field_errors" else f"{field}: {message}"
                messages.error(request, named)
        return HttpResponseRedirect(back(request, done))
    except ServiceError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(back(request, done))
    if success:
        messages.success(request, success)
    return HttpResponseRedirect(back(request, done))
