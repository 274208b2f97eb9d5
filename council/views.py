"""Pages. Thin: they read through querysets and change nothing themselves."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.models import Role
from proposals.models import Proposal

from .models import Council, Meeting


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The councils a person serves, their coming meetings, and votes in progress."""
    user = request.user
    if user.is_superuser:
        councils = Council.objects.all()
    else:
        councils = Council.objects.filter(roles__user=user).distinct()
    roles = Role.objects.filter(user=user).select_related("council", "unit")
    meetings = (
        Meeting.objects.filter(council__in=councils)
        .filter(Q(status=Meeting.Status.SCHEDULED) | Q(status=Meeting.Status.IN_SESSION))
        .select_related("council")
        .order_by("scheduled_at")[:20]
    )
    open_votes = (
        Proposal.objects.filter(meeting__council__in=councils, status=Proposal.Status.OPEN)
        .select_related("meeting__council", "proposer_unit")
        .order_by("opened_at")
    )
    return render(
        request,
        "council/home.html",
        {
            "councils": councils,
            "roles": roles,
            "meetings": meetings,
            "open_votes": open_votes,
        },
    )
