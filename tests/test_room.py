"""The secretary in the room: deadlines set from the page, the read-time close of a vote
past its deadline, the warnings before a close or a check-out that loses the quorum, the
live attendance table and the projector, all in the council's time zone."""

from __future__ import annotations

import datetime
import time
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from council import services as council_services
from council.errors import Code, Conflict
from council.models import Attendance, LedgerEvent, Meeting
from members import services as member_services
from proposals import audit
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal, Vote

from .personas import World, build_world, check_in_units, new_meeting, open_proposal
from .test_concurrency import at_once

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, answer.status_code
    return answer.content.decode()


def in_shanghai(w: World) -> None:
    council_services.update_council(actor=w.root, council=w.council, time_zone="Asia/Shanghai")
    w.council.refresh_from_db()


def draft(w: World, meeting: Meeting, title: str = "Motion") -> Proposal:
    return proposal_services.create_proposal(actor=w.alice, meeting=meeting, title=title)


def events(action: str) -> list[LedgerEvent]:
    return list(LedgerEvent.objects.filter(action=action).order_by("seq"))


# A deadline a few seconds ahead: long enough for the test to fill the room and vote
# before it, short enough to wait for. Real time, so that the ledger, the stored rows and
# the auditor's recount all tell one story.
SHORT = datetime.timedelta(seconds=3)


def wait_past(deadline: datetime.datetime) -> None:
    time.sleep(max(0.0, (deadline - timezone.now()).total_seconds()) + 0.05)


# --- Deadlines set from the page ------------------------------------------------------------


@pytest.mark.django_db
def test_the_secretary_opens_a_vote_with_a_deadline_in_the_councils_time() -> None:
    w = build_world()
    in_shanghai(w)
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = draft(w, meeting)
    local = (timezone.now() + datetime.timedelta(days=2)).astimezone(SHANGHAI)
    typed = local.strftime("%Y-%m-%dT%H:%M")
    answer = client_for(w.alice).post(
        reverse("proposal-open", args=[proposal.pk]), {"deadline": typed}
    )
    assert answer.status_code == 302
    vote = Vote.objects.get(proposal=proposal)
    expected = local.replace(second=0, microsecond=0)
    assert vote.deadline == expected  # typed in Shanghai, stored as that instant
    assert vote.deadline.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") == typed
    opened = events("vote.opened")[-1]
    assert opened.data["deadline"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2001-01-01T10:00", "The deadline must be in the future."),
        ("tomorrow at ten", "Enter a valid date/time."),
    ],
)
def test_a_bad_deadline_is_refused_with_a_clear_message_and_nothing_written(
    typed: str, message: str
) -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = draft(w, meeting)
    before = LedgerEvent.objects.count()
    client = client_for(w.alice)
    answer = client.post(
        reverse("proposal-open", args=[proposal.pk]), {"deadline": typed}, follow=True
    )
    text = answer.content.decode()
    assert message in text
    assert not Vote.objects.filter(proposal=proposal).exists()
    assert LedgerEvent.objects.count() == before
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.DRAFT


@pytest.mark.django_db
def test_no_deadline_typed_opens_a_vote_without_one() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = draft(w, meeting)
    client_for(w.alice).post(reverse("proposal-open", args=[proposal.pk]), {"deadline": ""})
    assert Vote.objects.get(proposal=proposal).deadline is None


@pytest.mark.django_db
def test_only_a_secretary_opens_a_vote_or_sets_its_deadline() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = draft(w, meeting)
    later = (timezone.now() + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    answer = client_for(w.bob).post(
        reverse("proposal-open", args=[proposal.pk]), {"deadline": later}
    )
    assert answer.status_code == 403
    assert not Vote.objects.filter(proposal=proposal).exists()
    # The API says the same to a delegate's deadline.
    token = member_services.issue_token(user=w.bob)[1]
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    answer = api.post(
        f"/api/v1/proposals/{proposal.pk}/open/",
        {"deadline": (timezone.now() + datetime.timedelta(hours=3)).isoformat()},
        content_type="application/json",
    )
    assert answer.status_code == 403  # 401 → 404 → 403 → 400: not a secretary
    assert not Vote.objects.filter(proposal=proposal).exists()


@pytest.mark.django_db
def test_the_deadline_shows_in_the_councils_time_on_every_page() -> None:
    w = build_world()
    in_shanghai(w)
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = draft(w, meeting)
    # 01:58 in Shanghai is 17:58 UTC the day before: the zone must not slip anywhere.
    local = (timezone.now() + datetime.timedelta(days=3)).astimezone(SHANGHAI)
    local = local.replace(hour=1, minute=58, second=0, microsecond=0)
    proposal_services.open_vote(actor=w.alice, proposal=proposal, deadline=local)
    shown = local.strftime("%Y-%m-%d 01:58") + " (Asia/Shanghai)"
    utc = local.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    alice, bob = client_for(w.alice), client_for(w.bob)
    pages = {
        "meeting": page(alice, reverse("meeting", args=[meeting.pk])),
        "vote fragment": page(alice, reverse("meeting-live", args=[meeting.pk, "vote"])),
        "ballot": page(bob, reverse("ballot-page", args=[proposal.pk])),
        "home": page(bob, reverse("home")),
    }
    for name, text in pages.items():
        assert shown in text, name
        assert utc not in text, name
    meeting_page = pages["meeting"]
    assert f'id="deadline-shown-{proposal.pk}"' in meeting_page  # the agenda row
    assert 'id="vote-deadline"' in meeting_page  # the vote panel
    projector = page(alice, reverse("meeting-live", args=[meeting.pk, "projector"]))
    assert 'id="projector-time-left"' in projector
    assert "Time left: " in projector


# --- The read-time close --------------------------------------------------------------------


@pytest.fixture
def due(db: None) -> tuple[World, Meeting, Proposal]:
    """A vote with ballots whose deadline has just passed, with no worker running
    (tests run Celery eagerly, and beat is not running)."""
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = draft(w, meeting)
    deadline = timezone.now() + SHORT
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal, deadline=deadline)
    for unit in w.units[:12]:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="yes")
    wait_past(deadline)
    assert Vote.objects.get(proposal=proposal).closed_at is None  # nothing closed it yet
    return w, meeting, proposal


def assert_closed_by_the_system(proposal: Proposal) -> Vote:
    vote = Vote.objects.get(proposal=proposal)
    assert vote.closed_at is not None and vote.closed_by is None
    assert vote.outcome == "passed" and vote.result["yes"] == 12
    closes = events("vote.closed")
    assert len(closes) == 1 and closes[0].actor == "system"
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.CLOSED
    report = audit.verify([vote.proposal.council_id])
    assert report["ok"], report["problems"]
    return vote


@pytest.mark.parametrize("where", ["meeting", "vote", "projector", "minutes", "home", "register"])
def test_a_page_read_closes_a_vote_past_its_deadline(
    due: tuple[World, Meeting, Proposal], where: str
) -> None:
    w, meeting, proposal = due
    url = {
        "meeting": reverse("meeting", args=[meeting.pk]),
        "vote": reverse("meeting-live", args=[meeting.pk, "vote"]),
        "projector": reverse("projector", args=[meeting.pk]),
        "minutes": reverse("minutes", args=[meeting.pk]),
        "home": reverse("home"),
        "register": reverse("register", args=[w.council.slug]),
    }[where]
    text = page(client_for(w.dave), url)  # the auditor, who can close nothing
    assert_closed_by_the_system(proposal)
    assert "Vote open" not in text and "Live count" not in text
    if where in ("meeting", "register"):
        assert proposal.title in text and "passed" in text
    # A second read closes nothing more.
    page(client_for(w.dave), url)
    assert len(events("vote.closed")) == 1


def test_the_polled_vote_panel_reloads_the_page_once_its_vote_is_closed(
    due: tuple[World, Meeting, Proposal],
) -> None:
    w, meeting, proposal = due
    url = reverse("meeting-live", args=[meeting.pk, "vote"])
    answer = client_for(w.alice).get(url, {"open": proposal.pk})
    assert answer["HX-Refresh"] == "true"  # the agenda of that page is stale now
    assert_closed_by_the_system(proposal)
    answer = client_for(w.alice).get(url, {"open": ""})
    assert "HX-Refresh" not in answer  # this page already shows no open vote


def test_the_ballot_page_closes_it_and_offers_no_buttons(
    due: tuple[World, Meeting, Proposal],
) -> None:
    w, _meeting, proposal = due
    text = page(client_for(w.bob), reverse("ballot-page", args=[proposal.pk]))
    assert_closed_by_the_system(proposal)
    assert "The vote is closed." in text
    assert f'id="b-{w.units[0].pk}-yes"' not in text
    assert 'id="result-h"' in text


@pytest.mark.parametrize("way", ["api", "page"])
def test_a_vote_past_its_deadline_does_not_hold_the_adjournment_back(
    due: tuple[World, Meeting, Proposal], way: str
) -> None:
    w, meeting, proposal = due
    if way == "api":
        token = member_services.issue_token(user=w.alice)[1]
        answer = Client(HTTP_AUTHORIZATION=f"Token {token}").post(
            f"/api/v1/meetings/{meeting.pk}/adjourn/"
        )
        assert answer.status_code == 200, answer.content
        assert answer.json()["status"] == "adjourned"
    else:
        answer = client_for(w.alice).post(reverse("meeting-adjourn", args=[meeting.pk]))
        assert answer.status_code == 302
    assert_closed_by_the_system(proposal)
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.ADJOURNED


@pytest.mark.parametrize("endpoint", ["tally/", "", "ballots/", "list", "decisions", "csv"])
def test_an_api_read_closes_a_vote_past_its_deadline(
    due: tuple[World, Meeting, Proposal], endpoint: str
) -> None:
    w, _meeting, proposal = due
    api = Client(HTTP_AUTHORIZATION=f"Token {member_services.issue_token(user=w.dave)[1]}")
    url = {
        "list": f"/api/v1/proposals/?council={w.council.pk}",
        "decisions": f"/api/v1/decisions/?council={w.council.pk}",
        "csv": f"/api/v1/decisions/?council={w.council.pk}&format=csv",
    }.get(endpoint, f"/api/v1/proposals/{proposal.pk}/{endpoint}")
    answer = api.get(url)
    assert answer.status_code == 200, answer.content
    assert_closed_by_the_system(proposal)
    if endpoint == "csv":
        assert proposal.title in b"".join(answer.streaming_content).decode()  # type: ignore[attr-defined]  # streamed
        return
    body = answer.json()
    if endpoint == "decisions":
        assert [d["outcome"] for d in body["results"]] == ["passed"]
    if endpoint == "tally/":
        assert body["outcome"] == "passed"
    if endpoint in ("", "list"):
        items = [body] if endpoint == "" else body["results"]
        item = next(p for p in items if p["id"] == proposal.pk)
        assert item["status"] == "closed" and item["outcome"] == "passed"
        assert item["votes"][-1]["closed_at"] is not None


def test_a_ballot_at_or_after_the_deadline_is_refused(
    due: tuple[World, Meeting, Proposal],
) -> None:
    w, _meeting, proposal = due
    with pytest.raises(Conflict) as refused:
        proposal_services.cast_ballot(
            actor=w.alice, proposal=proposal, unit=w.units[13], choice="no"
        )
    assert refused.value.code == Code.VOTE_CLOSED
    assert not Ballot.objects.filter(unit=w.units[13]).exists()


def test_the_secretarys_close_after_the_deadline_counts_as_the_system_would(
    due: tuple[World, Meeting, Proposal],
) -> None:
    w, _meeting, proposal = due
    answer = client_for(w.alice).get(reverse("proposal-close", args=[proposal.pk]), follow=True)
    # The confirmation's own read closed it: the secretary is told, nothing is offered.
    assert "The vote is closed." in answer.content.decode()
    assert_closed_by_the_system(proposal)


def test_a_stale_closer_never_closes_a_newer_vote(db: None) -> None:
    """The task (or a reader) that read vote 1 as due must not close vote 2, opened
    meanwhile on the same proposal after vote 1 ended void."""
    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting)
    first = proposal.current_vote
    assert first is not None
    council_services.check_out(actor=w.alice, meeting=meeting, unit=w.units[14])
    proposal = proposal_services.close_vote(actor=w.alice, proposal=proposal)
    assert proposal.outcome == "no_quorum"
    council_services.check_in(actor=w.alice, meeting=meeting, unit=w.units[14])
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    with pytest.raises(Conflict) as refused:
        proposal_services.close_vote(actor=None, proposal=proposal, expected_vote=first.pk)
    assert refused.value.code == Code.VOTE_CLOSED
    assert Vote.objects.get(proposal=proposal, number=2).closed_at is None


@pytest.mark.django_db(transaction=True)
def test_two_readers_and_a_secretary_at_once_close_it_once() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    deadline = timezone.now() + SHORT
    proposal = proposal_services.open_vote(
        actor=w.alice, proposal=draft(w, meeting), deadline=deadline
    )
    for unit in w.units[:9]:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="no")
    wait_past(deadline)

    def reader() -> bool:
        fresh = Proposal.objects.prefetch_related("votes").get(pk=proposal.pk)
        return proposal_services.close_if_due(fresh)

    def secretary() -> Any:
        return proposal_services.close_vote(
            actor=w.alice, proposal=Proposal.objects.get(pk=proposal.pk)
        )

    results = at_once([reader, reader, reader, secretary])
    assert results[:3] == [True, True, True]  # each reader then reads it closed
    closes = events("vote.closed")
    assert len(closes) == 1
    vote = Vote.objects.get(proposal=proposal)
    assert vote.outcome == "rejected" and vote.result["no"] == 9
    if isinstance(results[3], Conflict):
        assert results[3].code == Code.VOTE_CLOSED and closes[0].actor == "system"
    else:
        assert closes[0].actor == "alice"
    # The ledger and the recount agree with what was stored.
    report = audit.verify([w.council.pk])
    assert report["ok"], report["problems"]
    connection.close()


# --- Warnings before irreversible steps --------------------------------------------------


@pytest.mark.django_db
def test_the_close_confirmation_shows_the_count_the_missing_units_and_the_quorum() -> None:
    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting)  # 15 of 21 present
    for unit in w.units[:3]:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="yes")
    proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=w.units[3], choice="no")
    text = page(client_for(w.alice), reverse("proposal-close", args=[proposal.pk]))
    assert "15 of 21 units present — more than 14 needed — quorum met" in text
    missing = ", ".join(u.short_name for u in w.units[4:15])
    assert f"Present units that have not voted:</strong>\n    {missing}</p>" in text
    assert 'id="no-ballot"' not in text and 'id="close-void"' not in text
    assert "<dt>Yes</dt><dd>3</dd>" in text and "<dt>No</dt><dd>1</dd>" in text
    assert not Vote.objects.get(proposal=proposal).closed_at  # asking changed nothing


@pytest.mark.django_db
def test_closing_with_no_ballot_says_so_first() -> None:
    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting)
    text = page(client_for(w.alice), reverse("proposal-close", args=[proposal.pk]))
    assert 'id="no-ballot"' in text
    assert "No unit has voted: closing now records a vote without a single ballot" in text
    assert "its result (rejected) is final" in text
    client = client_for(w.alice)
    client.cookies["django_language"] = "zh-hans"
    zh = page(client, reverse("proposal-close", args=[proposal.pk]))
    assert "尚无单位投票" in zh and "已出席但尚未投票的单位" in zh


@pytest.mark.django_db
def test_a_check_out_that_loses_the_quorum_asks_first() -> None:
    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting)  # 15 present, 15 needed
    url = reverse("attendance", args=[meeting.pk, w.units[14].pk])
    client = client_for(w.alice)
    before = LedgerEvent.objects.count()
    answer = client.post(url, {"present": "0"})
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "Check U15 out and lose the quorum?" in text
    assert "it would end void (no quorum)" in text
    assert "14 of 21 units — more than 14 needed — no quorum" in text
    assert 'name="confirmed" value="1"' in text and 'name="present" value="0"' in text
    assert proposal.title in text
    assert LedgerEvent.objects.count() == before  # asking wrote nothing
    assert Attendance.objects.filter(unit=w.units[14], checked_out_at__isnull=True).exists()
    # Confirmed: the unit leaves, and the vote, closed so, is void.
    answer = client.post(url, {"present": "0", "confirmed": "1"})
    assert answer.status_code == 302
    assert not Attendance.objects.filter(unit=w.units[14], checked_out_at__isnull=True).exists()
    closed = proposal_services.close_vote(actor=w.alice, proposal=proposal)
    assert closed.outcome == "no_quorum"


@pytest.mark.django_db
def test_a_check_out_that_keeps_the_quorum_or_of_a_unit_that_voted_asks_nothing() -> None:
    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting, present=16)
    client = client_for(w.alice)
    # 16 present: one may leave without losing the quorum.
    answer = client.post(reverse("attendance", args=[meeting.pk, w.units[15].pk]), {"present": "0"})
    assert answer.status_code == 302
    # 15 present now; U01 has voted, so it stays present for the vote when it leaves.
    proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=w.units[0], choice="yes")
    answer = client.post(reverse("attendance", args=[meeting.pk, w.units[0].pk]), {"present": "0"})
    assert answer.status_code == 302
    assert not Attendance.objects.filter(unit=w.units[0], checked_out_at__isnull=True).exists()


@pytest.mark.django_db
def test_without_an_open_vote_a_check_out_asks_nothing() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    answer = client_for(w.alice).post(
        reverse("attendance", args=[meeting.pk, w.units[0].pk]), {"present": "0"}
    )
    assert answer.status_code == 302


@pytest.mark.django_db
def test_a_void_item_is_put_to_the_vote_again_from_the_page() -> None:
    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting)
    client = client_for(w.alice)
    client.post(
        reverse("attendance", args=[meeting.pk, w.units[0].pk]), {"present": "0", "confirmed": "1"}
    )
    client.post(reverse("proposal-close", args=[proposal.pk]))
    assert Proposal.objects.get(pk=proposal.pk).outcome == "no_quorum"
    council_services.check_in(actor=w.alice, meeting=meeting, unit=w.units[0])
    text = page(client, reverse("meeting", args=[meeting.pk]))
    assert "Put to the vote again" in text
    client.post(reverse("proposal-open", args=[proposal.pk]), {"deadline": ""})
    votes = list(Vote.objects.filter(proposal=proposal).order_by("number"))
    assert [v.number for v in votes] == [1, 2]
    assert votes[0].outcome == "no_quorum" and votes[1].closed_at is None


# --- The live page, in the council's time zone ---------------------------------------------


@pytest.mark.django_db
def test_the_live_fragments_show_the_same_times_as_the_full_page() -> None:
    w = build_world()
    in_shanghai(w)
    meeting = new_meeting(w, mode=Meeting.Mode.HYBRID)
    check_in_units(w, meeting, w.units[:15])
    proposal = proposal_services.open_vote(actor=w.alice, proposal=draft(w, meeting))
    proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=w.units[0], choice="yes")
    # 01:58 in Shanghai (17:58 UTC) for the check-in and the ballot.
    moment = datetime.datetime(2026, 12, 5, 1, 58, 7, tzinfo=SHANGHAI)
    Attendance.objects.filter(unit=w.units[0]).update(checked_in_at=moment)
    Ballot.objects.filter(unit=w.units[0]).update(cast_at=moment)
    client = client_for(w.alice)
    full = page(client, reverse("meeting", args=[meeting.pk]))
    attendance = page(client, reverse("meeting-live", args=[meeting.pk, "attendance"]))
    vote = page(client, reverse("meeting-live", args=[meeting.pk, "vote"]))
    for text in (full, attendance):
        assert "01:58 · alice" in text and "17:58" not in text
    for text in (full, vote):
        assert "01:58:07" in text and "17:58:07" not in text
    # The zone does not leak into the next request of the same thread.
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.django_db
def test_the_attendance_table_follows_check_ins_made_elsewhere() -> None:
    w = build_world()
    meeting = new_meeting(w, mode=Meeting.Mode.HYBRID)
    url = reverse("meeting-live", args=[meeting.pk, "attendance"])
    client = client_for(w.alice)
    text = page(client, url)
    assert f'id="att-{w.units[1].pk}">Check U02 in' in text
    assert 'hx-trigger="every 3s"' in text
    council_services.check_in(actor=w.carol, meeting=meeting, unit=w.units[1])  # online
    text = page(client, url)
    assert f'id="att-{w.units[1].pk}">Check U02 out' in text
    assert "carol" in text


# --- The projector --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_projector_shows_the_yes_needed_and_the_time_left() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal_services.open_vote(
        actor=w.alice,
        proposal=draft(w, meeting),
        deadline=timezone.now() + datetime.timedelta(minutes=10, seconds=30),
    )
    text = page(client_for(w.dave), reverse("projector", args=[meeting.pk]))
    assert "Yes needed: 11" in text  # more than half of 21 member units
    assert "Time left: 10:2" in text or "Time left: 10:3" in text
    chinese = client_for(w.dave)
    chinese.cookies["django_language"] = "zh-hans"
    text = page(chinese, reverse("meeting-live", args=[meeting.pk, "projector"]))
    assert "所需赞成票：11" in text and "剩余时间：10:" in text  # noqa: RUF001 — Chinese colons


@pytest.mark.django_db
def test_the_projector_says_adjourned_after_the_adjournment() -> None:
    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting)
    proposal_services.close_vote(actor=w.alice, proposal=proposal)
    council_services.adjourn_meeting(actor=w.alice, meeting=meeting)
    for url in (
        reverse("projector", args=[meeting.pk]),
        reverse("meeting-live", args=[meeting.pk, "projector"]),
    ):
        text = page(client_for(w.dave), url)
        assert 'id="projector-adjourned"' in text and "The meeting is adjourned." in text
        assert "quorum-text" not in text  # no live attendance line, no open vote
        assert "Yes needed" not in text and "Time left" not in text
