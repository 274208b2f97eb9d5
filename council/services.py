"""Use cases for councils, meetings and attendance.

Each public function is one use case: it checks who is acting, takes the locks it needs
(in the order of ``council/locking.py``), changes the rows, and appends its ledger event
in the same transaction. A refusal raises a :mod:`council.errors` error and leaves
nothing written.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions
from members.models import MemberUnit
from proposals import rules as rule_module

from . import ledger, minutes, rows
from .errors import Code, Conflict, Forbidden, NotFound, check_model
from .locking import lock
from .models import Attendance, Council, Meeting, Minutes, MinutesPdf
from .queries import present_attendance

Actor = permissions.User


def _rules_fields(
    rules: rule_module.RuleSet | None, special: rule_module.RuleSet | None
) -> dict[str, Any]:
    """The council's columns for an ordinary rule set and a special resolution's rule
    (whose quorum is always the ordinary one: only its majority and basis are kept)."""
    fields: dict[str, Any] = {}
    if rules is not None:
        fields |= {
            "quorum_numerator": rules.quorum.numerator,
            "quorum_denominator": rules.quorum.denominator,
            "quorum_strict": rules.quorum.strict,
            "majority_numerator": rules.majority.numerator,
            "majority_denominator": rules.majority.denominator,
            "majority_strict": rules.majority.strict,
            "majority_basis": str(rules.basis),
        }
    if special is not None:
        fields |= {
            "special_numerator": special.majority.numerator,
            "special_denominator": special.majority.denominator,
            "special_strict": special.majority.strict,
            "special_basis": str(special.basis),
        }
    return fields


def _time(at: datetime.datetime | None) -> str | None:
    return ledger.format_time(at) if at else None


# --- Councils ---------------------------------------------------------------------------


@transaction.atomic
def create_council(
    *,
    actor: Actor,
    name: str,
    slug: str,
    time_zone: str = "UTC",
    rules: rule_module.RuleSet = rule_module.DEFAULT_RULES,
    special: rule_module.RuleSet | None = None,
) -> Council:
    """Create a council and start its ledger chain. Superusers only.

    ``special`` gives the special resolution's majority and basis (default: at least two
    thirds of all eligible units); the quorum is ``rules``' for both kinds.
    """
    if not permissions.is_superuser(actor):
        raise Forbidden(_("Only administrators create councils."))
    council = Council(name=name, slug=slug, time_zone=time_zone, **_rules_fields(rules, special))
    check_model(council)
    council.save()
    ledger.start_chain(council.pk)
    ledger.append(
        council_id=council.pk,
        actor=actor,
        action="council.created",
        object=ledger.ref(council),
        data={
            "name": name,
            "slug": slug,
            "time_zone": time_zone,
            "rules": council.rules_record(),
        },
    )
    return council


@transaction.atomic
def update_council(
    *,
    actor: Actor,
    council: Council,
    name: str | None = None,
    time_zone: str | None = None,
    rules: rule_module.RuleSet | None = None,
    special: rule_module.RuleSet | None = None,
) -> Council:
    """Rename a council, or change its time zone or rule set (``special``: the special
    resolution's majority and basis). Superusers only: the rule set is the council's
    charter, not a secretary's setting.

    A new rule set applies to votes opened afterwards; open and closed votes keep the
    rule set frozen on them.
    """
    permissions.require_view(actor, council.pk)
    if not permissions.is_superuser(actor):
        raise Forbidden(_("Only administrators change a council's settings."))
    council = lock(Council, council.pk)
    changes: dict[str, Any] = {}
    if name is not None and name != council.name:
        council.name = changes["name"] = name
    if time_zone is not None and time_zone != council.time_zone:
        council.time_zone = changes["time_zone"] = time_zone
    before = council.rules_record()
    for key, value in _rules_fields(rules, special).items():
        setattr(council, key, value)
    if council.rules_record() != before:
        changes["rules"] = council.rules_record()
    if not changes:
        return council
    check_model(council)
    council.save()
    ledger.append(
        council_id=council.pk,
        actor=actor,
        action="council.updated",
        object=ledger.ref(council),
        data=changes,
    )
    return council


# --- Meetings ---------------------------------------------------------------------------


@transaction.atomic
def create_meeting(
    *,
    actor: Actor,
    council: Council,
    title: str,
    scheduled_at: datetime.datetime,
    mode: str = Meeting.Mode.IN_PERSON,
) -> Meeting:
    permissions.require_manage(actor, council.pk)
    meeting = Meeting(council=council, title=title, scheduled_at=scheduled_at, mode=mode)
    check_model(meeting)
    meeting.save()
    ledger.append(
        council_id=council.pk,
        actor=actor,
        action="meeting.scheduled",
        object=ledger.ref(meeting),
        data={"title": title, "scheduled_at": _time(scheduled_at), "mode": mode},
    )
    return meeting


@transaction.atomic
def update_meeting(
    *,
    actor: Actor,
    meeting: Meeting,
    title: str | None = None,
    scheduled_at: datetime.datetime | None = None,
    mode: str | None = None,
) -> Meeting:
    """Edit a meeting. Its time and mode are fixed once it has started (casting rules
    depend on the mode); the title can be corrected until it is adjourned."""
    permissions.require_manage(actor, meeting.council_id)
    meeting = lock(Meeting, meeting.pk)
    changes: dict[str, Any] = {}
    if title is not None and title != meeting.title:
        meeting.title = changes["title"] = title
    if scheduled_at is not None and scheduled_at != meeting.scheduled_at:
        meeting.scheduled_at = scheduled_at
        changes["scheduled_at"] = _time(scheduled_at)
    if mode is not None and mode != meeting.mode:
        meeting.mode = changes["mode"] = mode
    if not changes:
        return meeting
    check_model(meeting)  # bad input (400) is reported before the state (409)
    if meeting.status == Meeting.Status.ADJOURNED:
        raise Conflict(_("The meeting is adjourned."), code=Code.MEETING_ADJOURNED)
    if set(changes) - {"title"} and meeting.status != Meeting.Status.SCHEDULED:
        raise Conflict(
            _("The meeting has started; its time and mode are fixed."), code=Code.NOT_SCHEDULED
        )
    meeting.save()
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="meeting.updated",
        object=ledger.ref(meeting),
        data=changes,
    )
    return meeting


@transaction.atomic
def start_meeting(*, actor: Actor, meeting: Meeting) -> Meeting:
    """Open the session and take the snapshot of eligible units.

    Eligible are the council's voting units that are members on the day of the start,
    in the council's time zone. The snapshot is the denominator of every vote of the
    meeting; later arrivals or departures of members do not move it.
    """
    permissions.require_manage(actor, meeting.council_id)
    meeting = lock(Meeting, meeting.pk)
    if meeting.status != Meeting.Status.SCHEDULED:
        raise Conflict(_("The meeting has already started."), code=Code.NOT_SCHEDULED)
    now = timezone.now()
    today = now.astimezone(meeting.council.zone).date()
    eligible = list(
        MemberUnit.objects.filter(council_id=meeting.council_id)
        .eligible_on(today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    meeting.status = Meeting.Status.IN_SESSION
    meeting.started_at = now
    meeting.save(update_fields=["status", "started_at"])
    meeting.eligible_units.set(eligible)
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="meeting.started",
        object=ledger.ref(meeting),
        data={"started_at": _time(now), "eligible_units": eligible},
    )
    return meeting


@transaction.atomic
def adjourn_meeting(*, actor: Actor, meeting: Meeting) -> Meeting:
    """End the session. Refused while a vote of the meeting is open (close it first)."""
    permissions.require_manage(actor, meeting.council_id)
    meeting = lock(Meeting, meeting.pk)
    if meeting.status != Meeting.Status.IN_SESSION:
        raise Conflict(_("The meeting is not in session."), code=Code.NOT_IN_SESSION)
    # Opening a vote takes this meeting's lock too, so none can open behind this check.
    if meeting.proposals.filter(status="open").exists():
        raise Conflict(_("A vote is still open; close it before adjourning."), code=Code.VOTE_OPEN)
    now = timezone.now()
    meeting.status = Meeting.Status.ADJOURNED
    meeting.adjourned_at = now
    meeting.save(update_fields=["status", "adjourned_at"])
    # What the minutes show is frozen with the adjournment, and its hash goes into the
    # chain: a unit renamed later cannot re-attribute a ballot, and a snapshot edited in
    # the database no longer matches its event.
    frozen = minutes.freeze(meeting.pk)
    digest = minutes.digest(frozen)
    Minutes.objects.create(meeting=meeting, document=frozen, sha256=digest, frozen_at=now)
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="meeting.adjourned",
        object=ledger.ref(meeting),
        data={"adjourned_at": _time(now), "minutes_sha256": digest},
    )
    # The PDFs are rendered by a worker once the adjournment commits, so the first
    # download is usually served from the store.
    for language, _name in settings.LANGUAGES:
        _queue_minutes_pdf(meeting.pk, language)
    return meeting


# --- Minutes as PDF ---------------------------------------------------------------------
#
# Rendering a long meeting's PDF takes seconds of CPU: never on the request path. A
# request finds the stored PDF or queues its render (once, whatever the number of
# requests) and is told to come back. The PDF is derived from the frozen minutes, which
# never change, so a stored PDF is never invalidated; it is not a change of the
# council's state and has no ledger event (the minutes' hash is in the adjournment's).

RENDER_TASK = "proposals.tasks.render_minutes_pdf"


def _render_stale() -> datetime.timedelta:
    # A render still missing well after a worker would have killed it (its hard time
    # limit) was lost — broker down, worker gone: the next request queues it again.
    return datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def _queue_minutes_pdf(meeting_id: int, language: str) -> None:
    """Create the PDF's row and queue its render after commit, unless it exists."""
    _row, created = MinutesPdf.objects.get_or_create(
        minutes_id=meeting_id, language=language, defaults={"requested_at": timezone.now()}
    )
    if created:
        _queue_render(meeting_id, language)


def _queue_render(meeting_id: int, language: str) -> None:
    # Looked up by its registered name: the tasks module calls these services.
    task = current_app.tasks[RENDER_TASK]
    # robust: a broker that cannot take the task leaves the row pending; the next request
    # after _render_stale() queues it again.
    transaction.on_commit(lambda: task.delay(meeting_id, language), robust=True)


def request_minutes_pdf(*, actor: Actor, meeting: Meeting, language: str) -> MinutesPdf:
    """The stored PDF of an adjourned meeting's minutes, or its row with ``pdf`` empty
    once its render is queued. Refused before the adjournment: minutes are drafts until
    then (their printable page is live; a PDF would be a copy that goes stale)."""
    permissions.require_view(actor, meeting.council_id)
    if language not in dict(settings.LANGUAGES):
        raise NotFound(_("No such language."))
    row = MinutesPdf.objects.filter(minutes_id=meeting.pk, language=language).first()
    if row is not None and row.pdf is not None:
        return row
    # Frozen minutes exist exactly for the adjourned meetings.
    if row is None and not Minutes.objects.filter(pk=meeting.pk).exists():
        raise Conflict(
            _("The minutes become a PDF once the meeting is adjourned; print the page until then."),
            code=Code.NOT_ADJOURNED,
        )
    with transaction.atomic():
        if row is None:
            _queue_minutes_pdf(meeting.pk, language)
        else:
            # Of many requests finding the same stale row, the one whose update matches
            # the time it read queues the render again.
            retried = MinutesPdf.objects.filter(
                pk=row.pk,
                pdf__isnull=True,
                requested_at=row.requested_at,
                requested_at__lt=timezone.now() - _render_stale(),
            ).update(requested_at=timezone.now())
            if retried:
                _queue_render(meeting.pk, language)
    # Read again: with CELERY_TASK_ALWAYS_EAGER the render ran at the commit just above.
    return MinutesPdf.objects.get(minutes_id=meeting.pk, language=language)


def render_minutes_pdf(meeting_id: int, language: str) -> bool:
    """Render and store the PDF (the worker's part). False if it was stored already:
    a task delivered twice renders at most twice and stores once."""
    if MinutesPdf.objects.filter(
        minutes_id=meeting_id, language=language, pdf__isnull=False
    ).exists():
        return False
    frozen = Minutes.objects.select_related("meeting__council").get(pk=meeting_id)
    pdf = minutes.render_pdf(frozen.document, frozen.meeting, language)
    stored = MinutesPdf.objects.filter(
        minutes_id=meeting_id, language=language, pdf__isnull=True
    ).update(pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), rendered_at=timezone.now())
    return bool(stored)


# --- Attendance -------------------------------------------------------------------------


def _unit_of(meeting: Meeting, unit: MemberUnit) -> MemberUnit:
    if unit.council_id != meeting.council_id:
        raise NotFound(_("No such unit in this council."))
    return unit


def _require_attendance_right(actor: Actor, meeting: Meeting, unit: MemberUnit) -> None:
    allowed = permissions.access(actor, meeting.council_id)
    allowed.require(
        allowed.can_record_attendance(meeting.mode == Meeting.Mode.IN_PERSON, unit),
        _("Only the secretary records attendance for this unit."),
    )


def hold_attendance(meeting: Meeting, unit: MemberUnit) -> Attendance | None:
    """The unit's open attendance, share-locked until the transaction ends (None if absent).

    A check-out of the unit then waits for the caller to commit. PostgreSQL re-checks
    ``checked_out_at IS NULL`` after waiting for a concurrent check-out, so an attendance that
    ended meanwhile is not returned.
    """
    row = rows.fetch_one(
        f"SELECT {rows.columns(Attendance, 'a')} FROM council_attendance a"  # noqa: S608 — column names
        " WHERE a.meeting_id = %s AND a.unit_id = %s AND a.checked_out_at IS NULL FOR SHARE",
        [meeting.pk, unit.pk],
    )
    return rows.build(Attendance, row) if row else None


def record_check_in(*, actor: Actor, meeting: Meeting, unit: MemberUnit) -> tuple[Attendance, bool]:
    """Check ``unit`` in, inside the caller's transaction; returns ``(attendance, created)``.

    For services that hold the meeting lock already (check-in, and casting a ballot
    online, which checks the unit in). Two concurrent check-ins of one unit both succeed
    with a single attendance: the partial unique constraint arbitrates. The caller appends the
    ledger event (:func:`log_check_in`) as the *last* step of its transaction, like every
    append, so the ledger lock is never held while waiting for another lock.
    """
    existing = present_attendance(meeting, unit)
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            attendance = Attendance.objects.create(
                meeting_id=meeting.pk,
                unit_id=unit.pk,
                checked_in_at=timezone.now(),
                checked_in_by=actor if actor and actor.is_authenticated else None,
            )
    except IntegrityError:
        # Another request checked the unit in between our read and our insert.
        concurrent = present_attendance(meeting, unit)
        if concurrent is None:
            raise
        return concurrent, False
    return attendance, True


def log_check_in(*, actor: Actor, meeting: Meeting, attendance: Attendance) -> None:
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="attendance.checked_in",
        object=ledger.ref(meeting),
        data={
            "unit": attendance.unit_id,
            "attendance": attendance.pk,
            "at": _time(attendance.checked_in_at),
        },
    )


@transaction.atomic
def check_in(*, actor: Actor, meeting: Meeting, unit: MemberUnit) -> Attendance:
    """Mark a unit present at a meeting in session. Checking in twice changes nothing."""
    _unit_of(meeting, unit)
    _require_attendance_right(actor, meeting, unit)
    meeting = lock(Meeting, meeting.pk, shared=True)
    if meeting.status != Meeting.Status.IN_SESSION:
        raise Conflict(_("The meeting is not in session."), code=Code.NOT_IN_SESSION)
    attendance, created = record_check_in(actor=actor, meeting=meeting, unit=unit)
    if created:
        log_check_in(actor=actor, meeting=meeting, attendance=attendance)
    return attendance


@transaction.atomic
def check_out(*, actor: Actor, meeting: Meeting, unit: MemberUnit) -> Attendance | None:
    """Mark a unit as gone. Its ballots stay; in person it can no longer cast or replace
    one. Returns the closed attendance, or None if the unit was not present."""
    _unit_of(meeting, unit)
    _require_attendance_right(actor, meeting, unit)
    meeting = lock(Meeting, meeting.pk, shared=True)
    if meeting.status != Meeting.Status.IN_SESSION:
        raise Conflict(_("The meeting is not in session."), code=Code.NOT_IN_SESSION)
    attendance = (
        Attendance.objects.select_for_update(of=("self",), no_key=True)
        .filter(meeting_id=meeting.pk, unit_id=unit.pk, checked_out_at__isnull=True)
        .first()
    )
    if attendance is None:
        return None
    now = timezone.now()
    attendance.checked_out_at = now
    attendance.checked_out_by = permissions.account(actor)
    attendance.save(update_fields=["checked_out_at", "checked_out_by"])
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="attendance.checked_out",
        object=ledger.ref(meeting),
        data={"unit": unit.pk, "attendance": attendance.pk, "at": _time(now)},
    )
    return attendance
