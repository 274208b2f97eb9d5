from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from council.admin_base import ReadOnlyAdmin, ServiceAdmin

from . import services
from .models import Ballot, Notification, Proposal, Vote
from .services import EDITABLE


@admin.register(Proposal)
class ProposalAdmin(ServiceAdmin):
    list_display = ("title", "meeting", "proposer_unit", "kind", "status")
    list_filter = ("status", "kind", "council")
    search_fields = ("title",)
    list_select_related = ("meeting", "proposer_unit")
    actions = ("open_votes", "close_votes", "withdraw")
    service_arg = "proposal"

    def get_fields(self, request: HttpRequest, obj: Proposal | None = None):
        if obj is None:
            return ("meeting", "title", "body", "proposer_unit", "kind", "deadline")
        return ("meeting", *EDITABLE, "status")

    def get_readonly_fields(self, request: HttpRequest, obj: Proposal | None = None):
        if obj is None:
            return ()
        frozen = ("meeting", "status")
        # Once its vote opened, a proposal is a record, not a draft (its votes: below).
        return frozen if obj.status == Proposal.Status.DRAFT else frozen + EDITABLE

    def save_model(self, request: HttpRequest, obj: Proposal, form: Any, change: bool) -> None:
        if change:
            services.update_proposal(
                actor=request.user,
                proposal=obj,
                **{f: form.cleaned_data[f] for f in form.changed_data if f in EDITABLE},
            )
        else:
            obj.pk = services.create_proposal(
                actor=request.user,
                meeting=obj.meeting,
                title=obj.title,
                body=obj.body,
                proposer_unit=obj.proposer_unit,
                kind=obj.kind,
                deadline=obj.deadline,
            ).pk

    @admin.action(description=_("Open the vote on the selected proposals"))
    def open_votes(self, request: HttpRequest, queryset: Any) -> None:
        self.run_service(request, queryset, services.open_vote)

    @admin.action(description=_("Close the vote on the selected proposals"))
    def close_votes(self, request: HttpRequest, queryset: Any) -> None:
        self.run_service(request, queryset, services.close_vote)

    @admin.action(description=_("Withdraw the selected proposals"))
    def withdraw(self, request: HttpRequest, queryset: Any) -> None:
        self.run_service(request, queryset, services.withdraw_proposal)


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ("proposal", "number", "kind", "opened_at", "closed_at", "outcome")
    list_filter = ("outcome", "kind", "proposal__council")
    list_select_related = ("proposal",)


@admin.register(Ballot)
class BallotAdmin(ReadOnlyAdmin):
    list_display = ("vote", "unit", "choice", "cast_by", "cast_at", "recorded_by_secretary")
    list_filter = ("choice", "recorded_by_secretary", "vote__proposal__council")
    list_select_related = ("vote", "unit", "cast_by")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """What was emailed to whom, and what could not be: a failed email is reported once
    (the log) and shown here with its reason, never retried (docs/deploy.md)."""

    list_display = ("kind", "vote", "user", "sent_at", "failed_at", "failure")
    list_filter = ("kind", ("failed_at", admin.EmptyFieldListFilter))
    list_select_related = ("vote__proposal", "user")
    search_fields = ("user__username", "user__email")
