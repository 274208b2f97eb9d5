"""Reads of the council domain that pages, the API and the services share: who is
present, and the live quorum. Nothing here locks or writes; the locking reads a use case
needs stay in ``services.py`` beside it."""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.utils import timezone

from members.models import MemberUnit
from proposals import rules as rule_module

from .models import Attendance, Meeting


def present_attendance(meeting: Meeting, unit: MemberUnit) -> Attendance | None:
    return Attendance.objects.filter(
        meeting_id=meeting.pk, unit_id=unit.pk, checked_out_at__isnull=True
    ).first()


def present_unit_ids(meeting: Meeting, at: datetime.datetime | None = None) -> set[int]:
    """Eligible units checked in now (or at the moment ``at``). Non-voting or
    late-joining units count nowhere."""
    attendance = Attendance.objects.filter(
        meeting_id=meeting.pk, unit__in=meeting.eligible_units.all()
    )
    if at is None:
        attendance = attendance.filter(checked_out_at__isnull=True)
    else:
        attendance = attendance.filter(checked_in_at__lte=at).filter(
            Q(checked_out_at__isnull=True) | Q(checked_out_at__gt=at)
        )
    return set(attendance.values_list("unit_id", flat=True))


def quorum(meeting: Meeting) -> rule_module.Line:
    """The live attendance line of a meeting, under the council's current rule set.

    Before the start there is no snapshot yet; the council's current voting members
    stand in for it so a secretary can see what the quorum will be.
    """
    if meeting.status == Meeting.Status.SCHEDULED:
        today = timezone.now().astimezone(meeting.council.zone).date()
        eligible = (
            MemberUnit.objects.filter(council_id=meeting.council_id).eligible_on(today).count()
        )
        return rule_module.quorum_line(eligible, 0, meeting.council.rule_set)
    eligible = meeting.eligible_units.count()
    return rule_module.quorum_line(
        eligible, len(present_unit_ids(meeting)), meeting.council.rule_set
    )
