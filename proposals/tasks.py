"""Celery tasks: thin wrappers that load by id and call a service. Safe to run twice.

Scheduled by celery beat (``CELERY_BEAT_SCHEDULE`` in settings): closing votes whose
deadline passed, and reminders before a deadline. Queued after commit by the services:
the "vote opened" and "result" emails. Each task plans its emails (one row per person,
idempotent) and sends what is unsent. If a task could never be queued (the broker was
down), ``deliver_pending`` finds the vote without planned emails and does the same.

Late acks and idempotence make a lost worker harmless: a task whose worker died is
redelivered (docs/deploy.md, "Faults") and sends only what is still unsent.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from council import services as council_services
from council.celery import TRANSIENT_ERRORS
from council.errors import Conflict

from . import notifications, services
from .models import Notification, Vote

log = logging.getLogger("quorum.tasks")


@shared_task
def close_due_votes() -> int:
    """Close every open vote whose deadline has passed, through the normal close service.

    Two runs at once (or one twice) close each vote once: the close locks the vote, and
    the loser finds it closed (``vote_closed``), which is not an error here.
    """
    closed = 0
    due = Vote.objects.open().filter(deadline__lte=timezone.now())
    for vote in due.select_related("proposal"):
        try:
            services.close_vote(actor=None, proposal=vote.proposal, expected_vote=vote.pk)
            closed += 1
        except Conflict:
            log.info("vote %s was closed by someone else meanwhile", vote.pk)
        except Exception:
            # One vote that cannot be closed must not keep the others open; beat retries.
            log.exception("could not close vote %s at its deadline", vote.pk)
    return closed


# Mail servers and databases fail for a moment: retry those errors only, with backoff
# (waits of up to 1, 2, 4, 8, 16 s, jittered); deliver_pending sweeps whatever is left.
# The periodic tasks are not retried: beat runs them again within minutes.
RETRY: dict[str, Any] = {"autoretry_for": TRANSIENT_ERRORS, "retry_backoff": True, "max_retries": 5}


@shared_task(**RETRY)
def notify_vote_opened(vote_id: int) -> int:
    vote = Vote.objects.get(pk=vote_id)
    if vote.closed_at is not None or (
        vote.deadline is not None and vote.deadline <= timezone.now()
    ):
        return 0  # closed (or past its deadline) before the task ran: nothing to announce
    notifications.plan_vote_opened(vote)
    return notifications.deliver(vote_id, Notification.Kind.VOTE_OPENED)


@shared_task(**RETRY)
def notify_result(vote_id: int) -> int:
    vote = Vote.objects.select_related("proposal").get(pk=vote_id)
    notifications.plan_result(vote)
    return notifications.deliver(vote_id, Notification.Kind.RESULT)


@shared_task
def deliver_pending() -> int:
    """Plan and send the emails of votes whose task never ran (the broker was down), and
    send what an earlier task planned but could not send (a crash, a mail outage)."""
    sent = 0
    for vote_id, kind in notifications.unplanned():
        try:
            vote = Vote.objects.select_related("proposal").get(pk=vote_id)
            notifications.PLANS[kind](vote)
            sent += notifications.deliver(vote_id, kind)
        except Exception:
            log.exception("planning of %s notifications for vote %s failed", kind, vote_id)
    for vote_id, planned_kind in notifications.pending():
        try:
            sent += notifications.deliver(vote_id, planned_kind)
        except Exception:
            log.exception("delivery of %s notifications for vote %s failed", planned_kind, vote_id)
    return sent


@shared_task
def send_reminders() -> int:
    """Remind units that have not voted, once per person and vote, before the deadline."""
    sent = 0
    for vote_id in notifications.due_reminders():
        vote = Vote.objects.get(pk=vote_id)
        notifications.plan_reminder(vote)
        sent += notifications.deliver(vote_id, Notification.Kind.REMINDER)
    return sent


@shared_task(**RETRY)
def render_minutes_pdf(meeting_id: int, language: str) -> bool:
    """Render an adjourned meeting's minutes as PDF once and store it. Routed to the
    ``pdf`` queue (settings, ``CELERY_TASK_ROUTES``): renders never delay the emails."""
    return council_services.render_minutes_pdf(meeting_id, language)


@shared_task(**RETRY)
def notify_ballot_replaced(vote_id: int) -> int:
    """Send the "your unit's ballot was changed" emails planned by the cast itself."""
    return notifications.deliver(vote_id, Notification.Kind.REPLACED)
