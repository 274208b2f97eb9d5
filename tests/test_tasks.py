"""Deadlines and notifications: the tasks in-process (the real worker is tested apart)."""

from __future__ import annotations

import datetime
import smtplib
import threading

import pytest
from django.core import mail
from django.db import IntegrityError, OperationalError, connection
from django.utils import timezone

from council import celery_app
from council.errors import Code, Conflict
from council.models import LedgerEvent, Meeting
from proposals import services as proposal_services
from proposals import tasks
from proposals.models import Notification, Proposal, Vote

from .personas import World, check_in_units, make_user, new_meeting


def online_vote(w: World, *, deadline_in: float | None = 3600) -> Proposal:
    meeting = new_meeting(w, mode=Meeting.Mode.ONLINE)
    check_in_units(w, meeting, w.units[:15])
    deadline = timezone.now() + datetime.timedelta(seconds=deadline_in) if deadline_in else None
    proposal = proposal_services.create_proposal(
        actor=w.alice, meeting=meeting, title="Online", deadline=deadline
    )
    return proposal_services.open_vote(actor=w.alice, proposal=proposal)


def with_emails(w: World) -> None:
    for name, person in w.people.items():
        person.email = f"{name}@example.org"
        person.save(update_fields=["email"])


def test_due_votes_are_closed_once(world: World) -> None:
    proposal = online_vote(world)
    later = online_vote(world)
    Vote.objects.filter(proposal=proposal).update(
        deadline=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert tasks.close_due_votes() == 1
    assert tasks.close_due_votes() == 0
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.CLOSED
    assert Proposal.objects.get(pk=later.pk).status == Proposal.Status.OPEN
    closes = LedgerEvent.objects.filter(action="vote.closed")
    assert closes.count() == 1 and closes.get().actor == "system"


def test_a_passed_deadline_refuses_ballots_without_any_worker(world: World) -> None:
    proposal = online_vote(world)
    Vote.objects.filter(proposal=proposal).update(
        deadline=timezone.now() - datetime.timedelta(seconds=1)
    )
    with pytest.raises(Conflict) as info:
        proposal_services.cast_ballot(
            actor=world.bob, proposal=proposal, unit=world.units[0], choice="yes"
        )
    assert info.value.code == Code.VOTE_CLOSED


def test_the_opening_is_announced_to_delegates_of_eligible_units_once(world: World) -> None:
    with_emails(world)
    proposal = online_vote(world)
    assert tasks.notify_vote_opened(proposal.current_vote.pk) == 3  # bob, bea (U01) and carol (U02)
    assert tasks.notify_vote_opened(proposal.current_vote.pk) == 0
    assert sorted(m.to[0] for m in mail.outbox) == [
        "bea@example.org",
        "bob@example.org",
        "carol@example.org",
    ]
    assert "Vote open: Online" in mail.outbox[0].subject
    assert "Deadline:" in mail.outbox[0].body and "Europe/Paris" in mail.outbox[0].body


def test_reminders_go_to_units_that_have_not_voted(world: World) -> None:
    with_emails(world)
    proposal = online_vote(world, deadline_in=600)  # within the hour before the deadline
    proposal_services.cast_ballot(
        actor=world.bob, proposal=proposal, unit=world.units[0], choice="yes"
    )
    assert tasks.send_reminders() == 1
    assert tasks.send_reminders() == 0
    assert [m.to[0] for m in mail.outbox] == ["carol@example.org"]
    far = online_vote(world, deadline_in=10 * 3600)
    assert tasks.send_reminders() == 0 and far.status == "open"


def test_the_result_is_published_to_everyone_in_the_council(world: World) -> None:
    with_emails(world)
    proposal = online_vote(world)
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    assert tasks.notify_result(proposal.current_vote.pk) == 5  # alice, dave, bob, bea, carol
    assert tasks.notify_result(proposal.current_vote.pk) == 0
    assert "Result: Online — rejected" in mail.outbox[0].subject
    assert "Attendance 15 of 21 units" in mail.outbox[0].body


def test_services_queue_notifications_only_after_commit(
    world: World, django_capture_on_commit_callbacks
) -> None:
    with_emails(world)
    meeting = new_meeting(world, mode=Meeting.Mode.ONLINE)
    check_in_units(world, meeting, world.units[:15])
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="Q")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        proposal_services.open_vote(actor=world.alice, proposal=proposal)
    assert len(callbacks) == 1 and len(mail.outbox) == 3
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Conflict):
        proposal_services.open_vote(actor=world.alice, proposal=proposal)
    assert callbacks == [] and len(mail.outbox) == 3  # a refusal queues nothing


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_send_each_email_once() -> None:
    from .personas import build_world

    w = build_world()
    for i in range(30):
        person = make_user(f"extra{i}", email=f"extra{i}@example.org")
        from members import services as member_services

        member_services.grant_role(
            actor=w.alice, user=person, council=w.council, role="delegate", unit=w.units[i % 21]
        )
    proposal = online_vote(w)
    from proposals import notifications

    Notification.objects.all().delete()
    mail.outbox.clear()
    notifications.plan_vote_opened(proposal.current_vote)
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run() -> None:
        barrier.wait()
        counts.append(
            notifications.deliver(proposal.current_vote.pk, Notification.Kind.VOTE_OPENED)
        )
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    recipients = [m.to[0] for m in mail.outbox]
    # 33 delegates planned; bob, bea and carol have no address, so 30 emails, none twice.
    assert sum(counts) == 33 and len(recipients) == len(set(recipients)) == 30
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0


def test_a_deadline_vote_counts_the_units_present_at_the_deadline(world: World) -> None:
    from council import services as council_services

    proposal = online_vote(world)
    for unit in world.units[:12]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    from council.models import Attendance

    # The units arrived an hour ago; the deadline passed five seconds ago.
    Attendance.objects.update(checked_in_at=timezone.now() - datetime.timedelta(hours=1))
    Vote.objects.filter(proposal=proposal).update(
        deadline=timezone.now() - datetime.timedelta(seconds=5)
    )
    # Units leaving after the deadline, before the task ran, do not change the vote.
    for unit in world.units[12:15]:
        council_services.check_out(actor=world.alice, meeting=proposal.meeting, unit=unit)
    tasks.close_due_votes()
    closed = Proposal.objects.get(pk=proposal.pk)
    assert closed.result["present"] == 15 and closed.outcome == "passed"


def test_late_deliveries_do_not_announce_a_closed_vote(world: World) -> None:
    from proposals import notifications

    with_emails(world)
    proposal = online_vote(world)
    notifications.plan_vote_opened(proposal.current_vote)
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    assert notifications.deliver(proposal.current_vote.pk, Notification.Kind.VOTE_OPENED) == 3
    assert mail.outbox == []  # stamped, not sent: the vote had closed meanwhile


def test_a_mail_outage_loses_nothing(world: World, settings) -> None:
    from proposals import notifications

    with_emails(world)
    proposal = online_vote(world)
    settings.EMAIL_BACKEND = "tests.failing_mail.Backend"
    with pytest.raises(ConnectionError):
        tasks.notify_vote_opened.run(proposal.current_vote.pk)
    assert Notification.objects.filter(sent_at__isnull=True).count() == 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Notification.objects.update(planned_at=timezone.now() - datetime.timedelta(minutes=5))
    assert tasks.deliver_pending() == 3
    assert len(mail.outbox) == 3 and notifications.pending() == []


def test_the_sweep_sends_the_emails_of_a_vote_whose_task_never_ran(world: World) -> None:
    # In tests no task runs at commit: as when the broker was down at the open and close.
    with_emails(world)
    proposal = online_vote(world)
    assert tasks.deliver_pending() == 3  # the open vote's announcement, planned and sent
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    mail.outbox.clear()
    assert tasks.deliver_pending() == 5  # the result: alice, dave, bob, bea, carol
    assert all("Result: Online" in m.subject for m in mail.outbox)
    assert tasks.deliver_pending() == 0 and len(mail.outbox) == 5  # once each
    assert (
        tasks.notify_result(proposal.current_vote.pk) == 0
    )  # the task, arriving late, adds nothing


def test_a_closed_vote_is_not_announced_by_the_sweep(world: World) -> None:
    with_emails(world)
    proposal = online_vote(world)
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    assert tasks.deliver_pending() == 5
    assert not any("Vote open" in m.subject for m in mail.outbox)
    assert tasks.notify_vote_opened(proposal.current_vote.pk) == 0


def test_a_vote_with_nobody_to_tell_is_not_mailed_to_people_who_join_later(
    world: World,
) -> None:
    from members.models import Role

    with_emails(world)
    proposal = online_vote(world)
    roles = list(Role.objects.filter(council=world.council).values())
    Role.objects.filter(council=world.council).delete()  # nobody holds a role any more
    proposal_services.close_vote(actor=world.root, proposal=proposal)
    assert tasks.deliver_pending() == 0  # planned for nobody: recorded as planned
    Role.objects.bulk_create([Role(**row) for row in roles])  # people join afterwards
    assert tasks.deliver_pending() == 0 and mail.outbox == []


def failing_delivery(monkeypatch: pytest.MonkeyPatch, errors: list[Exception]) -> list[int]:
    """Make the delivery service raise each of ``errors`` in turn, then work again;
    return the list of its calls, one per attempt of the task."""
    from proposals import notifications

    calls: list[int] = []
    deliver = notifications.deliver

    def flaky(vote_id: int, kind: str) -> int:
        calls.append(vote_id)
        if errors:
            raise errors.pop(0)
        return deliver(vote_id, kind)

    monkeypatch.setattr(notifications, "deliver", flaky)
    # As in a worker, a failure becomes the task's result instead of reaching the caller.
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    return calls


# apply() runs a task through Celery's own tracer, as a worker does, retries included
# (eagerly: the backoff's countdown is not waited for).
def test_a_transient_error_is_retried_until_the_task_succeeds(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_emails(world)
    proposal = online_vote(world)
    outage = [OperationalError("server closed the connection"), ConnectionError("refused")]
    calls = failing_delivery(monkeypatch, outage)
    result = tasks.notify_vote_opened.apply(args=[proposal.current_vote.pk])
    assert result.successful() and result.result == 3
    assert len(calls) == 3 and len(mail.outbox) == 3


def test_retries_are_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    proposal = online_vote(world)
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    calls = failing_delivery(monkeypatch, [smtplib.SMTPServerDisconnected("gone")] * 20)
    result = tasks.notify_result.apply(args=[proposal.current_vote.pk])
    assert result.failed() and isinstance(result.result, smtplib.SMTPServerDisconnected)
    assert len(calls) == 1 + tasks.notify_result.max_retries == 6


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        Vote.DoesNotExist("no such vote"),
        # A constraint refused the row: doing it again would be refused again.
        IntegrityError("duplicate key value violates unique constraint"),
        # The mail server's answer about this message, not an outage.
        smtplib.SMTPRecipientsRefused({"bob@example.org": (550, b"no such user")}),
    ],
    ids=type,
)
def test_a_programming_error_or_a_refusal_is_not_retried(
    world: World, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    proposal = online_vote(world)
    calls = failing_delivery(monkeypatch, [error])
    result = tasks.notify_vote_opened.apply(args=[proposal.current_vote.pk])
    assert result.failed() and result.result is error
    assert len(calls) == 1


def test_a_task_for_a_missing_vote_fails_at_once(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    result = tasks.notify_result.apply(args=[10**9])
    assert result.failed() and isinstance(result.result, Vote.DoesNotExist)


# --- One failed email never holds back the others ------------------------------------------


def test_an_email_refused_for_good_is_recorded_once_and_the_others_are_sent(
    world: World, settings, caplog
) -> None:
    from proposals import notifications

    with_emails(world)
    world.bea.email = "refused@example.org"
    world.bea.save(update_fields=["email"])
    settings.EMAIL_BACKEND = "tests.failing_mail.Refusing"
    proposal = online_vote(world)
    assert tasks.notify_vote_opened.run(proposal.current_vote.pk) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.org", "carol@example.org"]
    failed = Notification.objects.get(user=world.bea)
    assert failed.sent_at is None and failed.failed_at is not None
    assert "550" in failed.failure and "SMTPRecipientsRefused" in failed.failure
    assert [r for r in caplog.records if "failed for good" in r.getMessage()]
    # The sweep does not try it again, nor report it again.
    caplog.clear()
    Notification.objects.update(planned_at=timezone.now() - datetime.timedelta(minutes=5))
    assert notifications.pending() == []
    assert tasks.deliver_pending() == 0 and len(mail.outbox) == 2
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
    # A superuser finds it, with its reason, among the failed ones in the admin.
    from django.test import Client
    from django.urls import reverse

    admin_page = Client()
    admin_page.force_login(world.root)
    listed = admin_page.get(
        reverse("admin:proposals_notification_changelist"), {"failed_at__isempty": "0"}
    ).content.decode()
    assert "SMTPRecipientsRefused" in listed and listed.count("550") >= 1


def test_a_header_django_refuses_fails_that_email_only(world: World, settings) -> None:
    # An address stored with a line break: Django refuses the header (BadHeaderError).
    with_emails(world)
    world.bob.email = "bob@example.org\nBcc: everyone@example.org"
    world.bob.save(update_fields=["email"])
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    proposal = online_vote(world)
    assert tasks.notify_vote_opened.run(proposal.current_vote.pk) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["bea@example.org", "carol@example.org"]
    assert "BadHeaderError" in Notification.objects.get(user=world.bob).failure


def test_an_email_postponed_by_the_server_is_retried_and_the_others_are_sent(
    world: World, settings
) -> None:
    with_emails(world)
    world.bea.email = "later@example.org"
    world.bea.save(update_fields=["email"])
    settings.EMAIL_BACKEND = "tests.failing_mail.Refusing"
    proposal = online_vote(world)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        tasks.notify_vote_opened.run(proposal.current_vote.pk)  # the task retries on it
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.org", "carol@example.org"]
    waiting = Notification.objects.get(user=world.bea)
    assert waiting.sent_at is None and waiting.failed_at is None
    world.bea.email = "bea@example.org"  # the server takes it now
    world.bea.save(update_fields=["email"])
    Notification.objects.update(planned_at=timezone.now() - datetime.timedelta(minutes=5))
    assert tasks.deliver_pending() == 1
    assert sorted(m.to[0] for m in mail.outbox)[0] == "bea@example.org"


def test_a_title_stored_with_a_line_break_is_mailed_on_one_line(world: World) -> None:
    # Titles are refused with line breaks now; one stored before still reaches everyone.
    with_emails(world)
    proposal = online_vote(world)
    Proposal.objects.filter(pk=proposal.pk).update(title="Budget\nBcc: x@example.org")
    assert tasks.notify_vote_opened.run(proposal.current_vote.pk) == 3
    assert {m.subject for m in mail.outbox} == {
        "[Test Council] Vote open: Budget Bcc: x@example.org"
    }
