from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from proposals import rules

from . import services
from .admin_base import ReadOnlyAdmin, ServiceAdmin
from .models import Attendance, Council, LedgerEvent, Meeting


@admin.register(Council)
class CouncilAdmin(ServiceAdmin):
    list_display = ("name", "slug", "time_zone", "majority_basis")
    search_fields = ("name", "slug")
    fieldsets = (
        (None, {"fields": ("name", "slug", "time_zone")}),
        (_("Rule set"), {"fields": Council.RULE_FIELDS}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Council | None = None):
        return ("slug",) if obj else ()

    def save_model(self, request: HttpRequest, obj: Council, form: Any, change: bool) -> None:
        try:
            rule_set, special = obj.rule_set, obj.special_rule_set
        except rules.RuleError as exc:
            self.message_user(request, str(exc), level="error")
            return
        if change:
            services.update_council(
                actor=request.user,
                council=obj,
                name=obj.name,
                time_zone=obj.time_zone,
                rules=rule_set,
                special=special,
            )
        else:
            created = services.create_council(
                actor=request.user,
                name=obj.name,
                slug=obj.slug,
                time_zone=obj.time_zone,
                rules=rule_set,
                special=special,
            )
            obj.pk = created.pk


@admin.register(Meeting)
class MeetingAdmin(ServiceAdmin):
    list_display = ("title", "council", "scheduled_at", "mode", "status")
    list_filter = ("council", "status", "mode")
    search_fields = ("title",)
    readonly_fields = ("status", "started_at", "adjourned_at", "eligible_units")
    actions = ("start", "adjourn")
    service_arg = "meeting"

    def get_fields(self, request: HttpRequest, obj: Meeting | None = None):
        base = ["council", "title", "scheduled_at", "mode"]
        return base + list(self.readonly_fields) if obj else base

    def get_readonly_fields(self, request: HttpRequest, obj: Meeting | None = None):
        return ("council", *self.readonly_fields) if obj else ()

    def save_model(self, request: HttpRequest, obj: Meeting, form: Any, change: bool) -> None:
        if change:
            services.update_meeting(
                actor=request.user,
                meeting=obj,
                title=obj.title,
                scheduled_at=obj.scheduled_at,
                mode=obj.mode,
            )
        else:
            created = services.create_meeting(
                actor=request.user,
                council=obj.council,
                title=obj.title,
                scheduled_at=obj.scheduled_at,
                mode=obj.mode,
            )
            obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The snapshot of eligible units is the start service's to write.
        pass

    @admin.action(description=_("Start the selected meetings"))
    def start(self, request: HttpRequest, queryset: Any) -> None:
        self.run_service(request, queryset, services.start_meeting)

    @admin.action(description=_("Adjourn the selected meetings"))
    def adjourn(self, request: HttpRequest, queryset: Any) -> None:
        self.run_service(request, queryset, services.adjourn_meeting)


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ("meeting", "unit", "checked_in_at", "checked_in_by", "checked_out_at")
    list_filter = ("meeting__council",)
    list_select_related = ("meeting", "unit", "checked_in_by")


@admin.register(LedgerEvent)
class LedgerEventAdmin(ReadOnlyAdmin):
    list_display = ("council", "seq", "at", "actor", "action", "object")
    list_filter = ("council", "action")
    search_fields = ("object", "actor", "hash")
    list_select_related = ("council",)
