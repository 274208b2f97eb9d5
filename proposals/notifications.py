"""Who is told what about a vote, by email, exactly once.

``plan_*`` decides the recipients and records one :class:`Notification` per person
(idempotent); :func:`deliver` sends what is planned and not yet sent. Celery tasks
(``proposals/tasks.py``) call these after the vote's transaction has committed.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from council import ledger
from council.celery import TRANSIENT_ERRORS
from council.models import Attendance, LedgerEvent, LedgerHead, Meeting
from members.models import Role
from members.services import language_of

from . import explain, tally
from .models import Ballot, Notification, NotificationPlan, Vote

log = logging.getLogger("quorum.notifications")

# After this many transient failures in a row the mail server itself is failing: the
# delivery stops (and its task retries) rather than wait out every recipient's timeout.
TRANSIENT_IN_A_ROW = 3


@transaction.atomic
def _plan(vote: Vote, kind: str, people: QuerySet[Any]) -> int:
    """Record one notification per person of ``people`` (a query of ``user_id``), and
    that this vote's emails of this kind are planned.

    One INSERT ... SELECT inside the database, so that ten thousand recipients cost one
    statement. ON CONFLICT DO NOTHING: a second plan (a task run twice, the sweep and
    the task at once) adds nothing.
    """
    now = timezone.now()
    planned = _insert_notes(vote.pk, kind, people, now)
    NotificationPlan.objects.bulk_create(
        [NotificationPlan(kind=kind, vote=vote, planned_at=now)], ignore_conflicts=True
    )
    return planned


def _insert_notes(vote_id: int, kind: str, people: QuerySet[Any], now: datetime.datetime) -> int:
    select, params = people.values("user_id").distinct().order_by().query.sql_with_params()
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, vote_id, user_id, planned_at, sent_at, failure) "  # noqa: S608 — table name and an ORM-built select
            f"SELECT %s, %s, people.user_id, %s, NULL, '' FROM ({select}) AS people "
            "ON CONFLICT (kind, vote_id, user_id) DO NOTHING",
            [kind, vote_id, now, *params],
        )
        return cursor.rowcount


def _can_vote(vote: Vote, units: Any) -> Any:
    """Of ``units``, those that can vote now: in an in-person meeting only the units
    checked in (a unit absent from the room would be refused); online and hybrid, a
    delegate's cast checks the unit in, so all of them."""
    meeting = vote.proposal.meeting
    if meeting.mode != Meeting.Mode.IN_PERSON:
        return units
    present = Attendance.objects.filter(meeting=meeting, checked_out_at__isnull=True)
    return units.filter(pk__in=present.values("unit_id"))


def _delegates_of(units: Any) -> QuerySet[Role]:
    return Role.objects.filter(role=Role.Kind.DELEGATE, unit__in=units)


def plan_vote_opened(vote: Vote) -> int:
    """The delegates of every eligible unit that can vote (in person: checked in)."""
    units = _can_vote(vote, vote.eligible_units.all())
    return _plan(vote, Notification.Kind.VOTE_OPENED, _delegates_of(units))


def plan_reminder(vote: Vote) -> int:
    """The delegates of eligible units that have not voted yet and can vote."""
    voted = Ballot.objects.filter(vote=vote).values("unit_id")
    waiting = _can_vote(vote, vote.eligible_units.exclude(pk__in=voted))
    return _plan(vote, Notification.Kind.REMINDER, _delegates_of(waiting))


def plan_ballot_replaced(vote: Vote, unit_id: int, actor_id: int) -> int:
    """The delegates of ``unit_id`` other than ``actor_id``, who just replaced the unit's
    ballot cast by someone else. Called inside the cast's transaction (one statement):
    the notes commit or roll back with the ballot. At most one such email per person and
    vote (the notes' unique constraint): a run of changes does not flood anyone's inbox,
    and the ballot page shows every change."""
    people = Role.objects.filter(role=Role.Kind.DELEGATE, unit_id=unit_id).exclude(user_id=actor_id)
    return _insert_notes(vote.pk, Notification.Kind.REPLACED, people, timezone.now())


def plan_result(vote: Vote) -> int:
    """Everyone holding a role in the council."""
    people = Role.objects.filter(council_id=vote.proposal.council_id)
    return _plan(vote, Notification.Kind.RESULT, people)


def unplanned() -> list[tuple[int, Notification.Kind]]:
    """(vote, kind) of votes whose emails were never planned: open votes (before their
    deadline) without their "vote opened" plan, closed votes without their result's.
    Their task could not be queued (the broker was down) or was lost with the broker's
    memory; the vote's state says the emails are due."""

    def missing(kind: str) -> Any:
        return ~Exists(NotificationPlan.objects.filter(vote=OuterRef("pk"), kind=kind))

    now = timezone.now()
    opened = (
        Vote.objects.open()
        .filter(missing(Notification.Kind.VOTE_OPENED))
        .exclude(deadline__lte=now)
        .values_list("pk", flat=True)
    )
    closed = (
        Vote.objects.closed().filter(missing(Notification.Kind.RESULT)).values_list("pk", flat=True)
    )
    return [(pk, Notification.Kind.VOTE_OPENED) for pk in opened] + [
        (pk, Notification.Kind.RESULT) for pk in closed
    ]


PLANS = {Notification.Kind.VOTE_OPENED: plan_vote_opened, Notification.Kind.RESULT: plan_result}


def _one_line(text: str) -> str:
    """Header text on one line: a line break in a header is refused (BadHeaderError)."""
    return " ".join(text.split())


def _message(note: Notification, head: str | None = None) -> tuple[str, str]:
    subject, body = _compose(note, head)
    return _one_line(subject), body


def close_head(vote: Vote) -> str:
    """``SEQ:HASH`` of the event that recorded the vote's close: the council's head at
    the moment of the result. A member who keeps it can later ask either verifier to
    confirm the chain still extends it (``--expect-head``), which no one who rewrites
    the database afterwards can fake. A close written before votes were records of
    their own is named by its proposal; the council's current head stands in for one
    not found."""
    events = LedgerEvent.objects.filter(council_id=vote.proposal.council_id)
    event = (
        events.filter(action="vote.closed", object=ledger.ref(vote))
        .values_list("seq", "hash")
        .first()
    ) or (
        events.filter(action="proposal.vote_closed", object=ledger.ref(vote.proposal))
        .values_list("seq", "hash")
        .first()
        if vote.number == 1
        else None
    )
    if event is None:
        event = (
            LedgerHead.objects.filter(council_id=vote.proposal.council_id)
            .values_list("seq", "hash")
            .get()
        )
    return f"{event[0]}:{event[1]}"


def ballot_page_url(vote: Vote) -> str:
    """The absolute address of the vote's ballot page (``QUORUM_SITE_URL`` + path)."""
    return settings.QUORUM_SITE_URL + reverse("ballot-page", args=[vote.proposal_id])


def _compose(note: Notification, head: str | None = None) -> tuple[str, str]:
    """The email, in the active language (the recipient's: :func:`deliver`), with the
    absolute link to the ballot page."""
    vote = note.vote
    proposal = vote.proposal
    council = proposal.council
    names = {"council": council.name, "title": proposal.title, "zone": council.time_zone}
    if vote.deadline:
        names["at"] = f"{vote.deadline.astimezone(council.zone):%Y-%m-%d %H:%M}"
    link = "\n\n" + ballot_page_url(vote)
    if note.kind == Notification.Kind.VOTE_OPENED:
        subject = _("[%(council)s] Vote open: %(title)s") % names
        body = _("The vote on “%(title)s” is open. Cast your unit's ballot in Quorum.") % names
        if vote.deadline:
            body += "\n" + _("Deadline: %(at)s (%(zone)s).") % names
        body += link
    elif note.kind == Notification.Kind.REMINDER:
        subject = _("[%(council)s] Reminder: your unit has not voted on %(title)s") % names
        body = _("Your unit has no ballot yet on “%(title)s”.") % names
        if vote.deadline:
            body += "\n" + _("The vote closes at %(at)s (%(zone)s).") % names
        body += link
    elif note.kind == Notification.Kind.REPLACED:
        subject = _("[%(council)s] Your unit's ballot was changed: %(title)s") % names
        lines = []
        for ballot in _replaced_for(note):
            at = ballot.cast_at.astimezone(council.zone)
            lines.append(
                _(
                    "The ballot of %(unit)s on “%(title)s” was changed by %(who)s at %(at)s"
                    " (%(zone)s): it is now “%(choice)s”."
                )
                % {
                    **names,
                    "unit": ballot.unit.name,
                    "who": ballot.cast_by.get_username(),
                    "at": f"{at:%Y-%m-%d %H:%M:%S}",
                    "choice": ballot.get_choice_display(),
                }
            )
        body = "\n".join(lines) or _("Your unit's ballot on “%(title)s” was changed.") % names
        body += "\n" + _("The ballot page shows every change until the vote closes.") + link
    else:
        result = tally.result_of(vote)
        outcome = explain.outcome_word(vote.outcome or "")
        subject = _("[%(council)s] Result: %(title)s — %(outcome)s") % {
            **names,
            "outcome": outcome,
        }
        body = explain.explanation(result) if result else outcome
        # The head stays the last line: the one a member keeps (--expect-head).
        body += link + "\n\n" + _("Ledger head: %(head)s") % {"head": head or close_head(vote)}
    return subject, body


def _replaced_for(note: Notification) -> list[Ballot]:
    """The ballots of the recipient's units in the vote, as they stand, last cast by
    someone else."""
    units = Role.objects.filter(user_id=note.user_id, role=Role.Kind.DELEGATE).values("unit_id")
    return list(
        Ballot.objects.filter(vote_id=note.vote_id, unit_id__in=units)
        .exclude(cast_by_id=note.user_id)
        .select_related("unit", "cast_by")
        .order_by("unit__short_name")
    )


def is_transient(exc: BaseException) -> bool:
    """A failure that may pass: the server or network was unreachable, or the server
    answered "try later" (an SMTP 4xx, for the message or each of its recipients)."""
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(
            400 <= code < 500 for code, _msg in exc.recipients.values()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return False


def deliver(vote_id: int, kind: str) -> int:
    """Send every planned, unsent notification of this kind; return how many were sent.

    Each email is claimed in its own transaction with ``FOR UPDATE SKIP LOCKED``, so two
    deliveries at once never pick the same row, and ``sent_at`` is stamped in the same
    transaction as the claim: a crash before the commit leaves the row to be sent later.

    One failed email never holds back the others. One refused for good (a refused
    address, a header Django will not write) is stamped ``failed_at`` with its reason
    and logged once: retrying would fail alike, for ever. One that failed for the moment
    stays unsent and the rest are tried; at the end the first such error is raised so
    that the task retries (and the sweep picks up what is left) — at once after
    ``TRANSIENT_IN_A_ROW`` in a row, when the mail server itself is failing.
    """
    sent = 0
    postponed: list[int] = []
    first_transient: BaseException | None = None
    in_a_row = 0
    head: str | None = None  # the result's, read once for all its recipients
    while True:
        with transaction.atomic():
            note = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related(
                    "vote__proposal__council", "vote__proposal__meeting", "user__quorum_profile"
                )
                .filter(vote_id=vote_id, kind=kind, sent_at__isnull=True, failed_at__isnull=True)
                .exclude(pk__in=postponed)
                .order_by("id")
                .first()
            )
            if note is None:
                break
            try:
                if note.user.email and still_relevant(note):
                    if kind == Notification.Kind.RESULT and head is None:
                        head = close_head(note.vote)
                    # In the recipient's language: the last one they used here.
                    with translation.override(language_of(note.user)):
                        subject, body = _message(note, head)
                    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [note.user.email])
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:
                if is_transient(exc):
                    postponed.append(note.pk)
                    first_transient = first_transient or exc
                    in_a_row += 1
                    log.warning(
                        "%s email to user %s for vote %s postponed: %r",
                        kind,
                        note.user_id,
                        vote_id,
                        exc,
                    )
                    if in_a_row >= TRANSIENT_IN_A_ROW:
                        break
                    continue
                log.exception(
                    "%s email to user %s for vote %s failed for good", kind, note.user_id, vote_id
                )
                note.failed_at = timezone.now()
                note.failure = f"{type(exc).__name__}: {exc}"[:500]
                note.save(update_fields=["failed_at", "failure"])
                continue
            in_a_row = 0
            note.sent_at = timezone.now()
            note.save(update_fields=["sent_at"])
            sent += 1
    if first_transient is not None:
        raise first_transient
    return sent


def still_relevant(note: Notification) -> bool:
    """A late delivery (a worker that was down) must not announce an open vote that has
    closed, nor remind a unit that has voted since; such notes are stamped, not sent."""
    vote = note.vote
    if note.kind == Notification.Kind.VOTE_OPENED:
        return vote.closed_at is None
    if note.kind == Notification.Kind.REPLACED:
        return bool(_replaced_for(note))  # not if they have since cast it themselves
    if note.kind == Notification.Kind.REMINDER:
        if vote.closed_at is not None:
            return False
        units = Role.objects.filter(user_id=note.user_id, role=Role.Kind.DELEGATE).values("unit_id")
        waiting = vote.eligible_units.filter(pk__in=units).exclude(
            pk__in=Ballot.objects.filter(vote=vote).values("unit_id")
        )
        return waiting.exists()
    return True


def pending(
    older_than: datetime.timedelta = datetime.timedelta(minutes=1),
) -> list[tuple[int, str]]:
    """(vote, kind) pairs with notes planned a while ago and still unsent."""
    return list(
        Notification.objects.filter(
            sent_at__isnull=True, failed_at__isnull=True, planned_at__lt=timezone.now() - older_than
        )
        .values_list("vote_id", "kind")
        .distinct()
        .order_by()
    )


def due_reminders(now: datetime.datetime | None = None) -> list[int]:
    """Open votes whose deadline is within the reminder window."""
    now = now or timezone.now()
    window = datetime.timedelta(seconds=settings.QUORUM_REMINDER_BEFORE_SECONDS)
    return list(
        Vote.objects.open()
        .filter(deadline__gt=now, deadline__lte=now + window)
        .values_list("pk", flat=True)
    )
