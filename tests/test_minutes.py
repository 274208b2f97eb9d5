"""Minutes frozen at adjournment, and their PDF queued once (no rendering here: the
tests that render are in tests/test_minutes_pdf.py)."""

from __future__ import annotations

import datetime
import importlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from celery import current_app
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from council import ledger, minutes
from council import services as council_services
from council.errors import Conflict
from council.models import LedgerEvent, Meeting, Minutes, MinutesPdf
from members import services as member_services
from proposals import services as proposal_services

from .personas import World, build_world, check_in_units, new_meeting


def decided_meeting(world: World) -> Meeting:
    """A meeting with one closed vote, ballots from U01 to U08, and still in session."""
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    proposal = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title="Budget", proposer_unit=world.chair
    )
    proposal_services.open_vote(actor=world.alice, proposal=proposal)
    for unit in world.units[:8]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    return meeting


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_adjournment_freezes_the_minutes_and_chains_their_hash(world: World) -> None:
    meeting = decided_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    frozen = Minutes.objects.get(meeting=meeting)
    event = LedgerEvent.objects.get(action="meeting.adjourned", object=ledger.ref(meeting))
    assert event.data["minutes_sha256"] == frozen.sha256 == minutes.digest(frozen.document)
    assert ledger.verify().ok
    [vote] = frozen.document["votes"]
    assert vote["title"] == "Budget" and vote["outcome"] == "rejected"
    assert vote["result"]["yes"] == 8 and len(vote["ballots"]) == 8
    assert vote["ballots"][0]["unit"] == {
        "id": world.units[0].pk,
        "short_name": "U01",
        "name": "Unit 01",
    }
    assert len(frozen.document["units"]) == 21 and len(frozen.document["attendance"]) == 15
    assert frozen.document["council"]["time_zone"] == "Europe/Paris"


def test_an_adjournment_that_fails_leaves_no_snapshot(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting = decided_meeting(world)

    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("the ledger append failed")

    # The snapshot is written before the ledger event: it must roll back with it.
    monkeypatch.setattr(ledger, "append", broken)
    with pytest.raises(RuntimeError):
        council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    assert not Minutes.objects.filter(meeting=meeting).exists()
    assert not MinutesPdf.objects.exists()
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.IN_SESSION


def test_a_refused_adjournment_freezes_nothing(world: World, open_vote: Any) -> None:
    with pytest.raises(Conflict):
        council_services.adjourn_meeting(actor=world.alice, meeting=open_vote.meeting)
    assert not Minutes.objects.exists()


def test_a_unit_renamed_after_adjournment_keeps_its_old_name_in_the_minutes(
    world: World,
) -> None:
    meeting = decided_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    member_services.update_unit(
        actor=world.alice, unit=world.units[0], name="Renamed", short_name="NEW"
    )
    council_services.update_council(actor=world.root, council=world.council, name="New Name")
    page = signed_in(world.dave).get(reverse("minutes", args=[meeting.pk])).content.decode()
    assert "U01 — Unit 01" in page and '<td data-label="Unit">U01</td>' in page
    assert "Renamed" not in page and "NEW" not in page
    assert "Test Council" in page  # the council's name at the adjournment


def test_the_minutes_of_a_meeting_in_session_are_live_and_offer_no_pdf(world: World) -> None:
    meeting = decided_meeting(world)
    member_services.update_unit(actor=world.alice, unit=world.units[0], name="Renamed")
    page = signed_in(world.dave).get(reverse("minutes", args=[meeting.pk])).content.decode()
    assert "U01 — Renamed" in page  # drafts follow the live rows
    assert reverse("minutes-pdf", args=[meeting.pk]) not in page
    assert not Minutes.objects.exists()


def test_adjournment_queues_one_render_per_language_after_commit(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    meeting = decided_meeting(world)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    assert len(callbacks) == 2
    rows = MinutesPdf.objects.filter(minutes_id=meeting.pk)
    assert sorted(rows.values_list("language", flat=True)) == ["en", "zh-hans"]
    assert all(row.pdf is None for row in rows)


def test_a_draft_has_no_pdf(world: World) -> None:
    meeting = decided_meeting(world)
    with pytest.raises(Conflict) as refused:
        council_services.request_minutes_pdf(actor=world.dave, meeting=meeting, language="en")
    assert refused.value.code == "not_adjourned"
    assert not MinutesPdf.objects.exists()


def test_a_lost_render_is_queued_again_once(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    meeting = decided_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        council_services.request_minutes_pdf(actor=world.dave, meeting=meeting, language="en")
    assert callbacks == []  # queued at the adjournment, not long ago: wait for it
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    MinutesPdf.objects.filter(language="en").update(requested_at=long_ago)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        council_services.request_minutes_pdf(actor=world.dave, meeting=meeting, language="en")
        council_services.request_minutes_pdf(actor=world.dave, meeting=meeting, language="en")
    assert len(callbacks) == 1
    assert MinutesPdf.objects.get(language="en").requested_at > long_ago


def test_the_data_migration_freezes_meetings_adjourned_before(world: World) -> None:
    meeting = decided_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    expected = Minutes.objects.get(meeting=meeting).document
    # As before minutes were frozen: an adjourned meeting without its snapshot.
    MinutesPdf.objects.all().delete()
    Minutes.objects.all().delete()
    migration = importlib.import_module("council.migrations.0006_freeze_adjourned_minutes")
    migration.forward(apps, None)
    frozen = Minutes.objects.get(meeting=meeting)
    assert frozen.document == expected and frozen.sha256 == minutes.digest(expected)
    assert Minutes.objects.count() == 1  # the other meetings are not adjourned


@pytest.mark.django_db(transaction=True)
def test_a_hundred_requests_at_once_queue_one_render(monkeypatch: pytest.MonkeyPatch) -> None:
    w = build_world()
    meeting = decided_meeting(w)
    council_services.adjourn_meeting(actor=w.alice, meeting=meeting)
    # As for a meeting frozen by the data migration: no PDF row yet.
    MinutesPdf.objects.all().delete()
    queued: list[tuple[int, str]] = []
    task = current_app.tasks[council_services.RENDER_TASK]
    # Count what reaches the queue instead of rendering in-process (eager mode).
    monkeypatch.setattr(task, "delay", lambda *args: queued.append(args))
    threads, per_thread = 10, 10
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                council_services.request_minutes_pdf(actor=w.dave, meeting=meeting, language="en")
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    assert queued == [(meeting.pk, "en")]
    assert MinutesPdf.objects.filter(minutes_id=meeting.pk).count() == 1
