from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from council.admin_base import ServiceAdmin
from council.errors import ServiceError

from . import services
from .models import ApiToken, Invitation, MemberUnit, Role


@admin.register(MemberUnit)
class MemberUnitAdmin(ServiceAdmin):
    list_display = ("short_name", "name", "council", "voting", "label", "joined_on", "left_on")
    list_filter = ("council", "voting", "label")
    search_fields = ("name", "short_name")

    def get_readonly_fields(self, request: HttpRequest, obj: MemberUnit | None = None):
        return ("council",) if obj else ()

    def save_model(self, request: HttpRequest, obj: MemberUnit, form: Any, change: bool) -> None:
        fields = {
            name: getattr(obj, name)
            for name in ("name", "short_name", "voting", "label", "joined_on", "left_on")
        }
        if change:
            services.update_unit(actor=request.user, unit=obj, **fields)
        else:
            obj.pk = services.create_unit(actor=request.user, council=obj.council, **fields).pk


@admin.register(Role)
class RoleAdmin(ServiceAdmin):
    list_display = ("user", "council", "role", "unit")
    list_filter = ("council", "role")
    search_fields = ("user__username",)
    autocomplete_fields = ()

    def has_change_permission(self, request: HttpRequest, obj: Role | None = None) -> bool:
        # A role is granted or revoked, never edited in place.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Role | None = None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: Role, form: Any, change: bool) -> None:
        obj.pk = services.grant_role(
            actor=request.user, user=obj.user, council=obj.council, role=obj.role, unit=obj.unit
        ).pk

    def delete_model(self, request: HttpRequest, obj: Role) -> None:
        services.revoke_role(actor=request.user, role=obj)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A refused revocation (the council's last secretary) is a message, not a 500.
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:members_role_changelist"))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens by owner, prefix and dates. Never the digest, never a key: the admin
    revokes tokens (delete) but makes none — people make their own on the tokens page."""

    list_display = ("token_key", "user", "label", "created", "expiry")
    list_filter = ("expiry",)
    search_fields = ("user__username", "token_key")
    fields = ("token_key", "user", "label", "created", "expiry")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations, read-only: secretaries send, resend and revoke them on the council's
    people page. Never the token's digest."""

    list_display = ("email", "council", "role", "unit", "created_at", "expires_at", "accepted_at")
    list_filter = ("council", "role")
    search_fields = ("email",)
    fields = (
        "council",
        "email",
        "role",
        "unit",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False
