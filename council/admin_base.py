"""Shared admin plumbing: the admin changes data only through the services.

Every save, delete and action below calls the same service function the pages and the
API call, so the admin writes its ledger events too and obeys the same rules. A refusal
becomes an error message and the change is rolled back whole.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from .errors import ServiceError


class ServiceAdmin(admin.ModelAdmin):
    """Base class: no bulk delete, refusals shown as messages."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # Bulk delete would bypass the services (and the ledger).
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def run_service(self, request: HttpRequest, queryset: Any, service: Any, **kwargs: Any) -> None:
        """Apply a service to each selected object; report each refusal by name."""
        done = 0
        for obj in queryset:
            try:
                service(actor=request.user, **{self.service_arg: obj}, **kwargs)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} done.", messages.SUCCESS)

    service_arg = "obj"


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records only services write: attendance, ballots, ledger events."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
