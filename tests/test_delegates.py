"""The delegates' week (issue 13): the show of hands, the notice and email when someone
else replaces a unit's ballot, the ballot history and receipt on the ballot page, emails
in the recipient's language with a direct link, and none for a unit that cannot vote.

Personas (tests/personas.py): alice secretary, bob and bea delegates of U01, carol
delegate of U02, dave auditor; password "pw".
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from council import services as council_services
from council.errors import Code, Conflict, Forbidden
from council.models import LedgerEvent, Meeting
from members.models import Profile
from proposals import notifications, tasks
from proposals import services as proposal_services
from proposals.models import Ballot, Notification, Proposal

from .personas import World, check_in_units, new_meeting


def with_emails(w: World) -> None:
    for name, person in w.people.items():
        person.email = f"{name}@example.org"
        person.save(update_fields=["email"])


def casts(proposal: Proposal) -> list[LedgerEvent]:
    return list(
        LedgerEvent.objects.filter(
            action="vote.ballot_cast", object=f"vote:{proposal.current_vote.pk}"
        ).order_by("seq")
    )


# --- The show of hands ---------------------------------------------------------------------


def test_a_show_of_hands_writes_each_ballot_and_its_own_event(
    world: World, open_vote: Proposal
) -> None:
    present = world.units[:15]
    choices = {unit: "yes" for unit in present[:12]}
    choices[present[12]] = "no"
    choices[present[13]] = "abstain"  # present[14] is left not voting
    before = LedgerEvent.objects.count()
    stored = proposal_services.record_show_of_hands(
        actor=world.alice, proposal=open_vote, choices=choices
    )
    assert len(stored) == 14
    events = casts(open_vote)
    assert len(events) == 14 and LedgerEvent.objects.count() == before + 14
    assert {e.data["unit"]: e.data["choice"] for e in events} == {
        u.pk: c for u, c in choices.items()
    }
    assert all(e.data["recorded_by_secretary"] and e.actor == "alice" for e in events)
    ballots = Ballot.objects.filter(vote=open_vote.current_vote)
    assert ballots.count() == 14 and all(b.recorded_by_secretary for b in ballots)
    assert not ballots.filter(unit=present[14]).exists()
    assert ledger_ok()


def ledger_ok() -> bool:
    from council import ledger

    return ledger.verify().ok


def test_a_show_of_hands_with_one_absent_unit_records_nothing(
    world: World, open_vote: Proposal
) -> None:
    absent = world.units[20]  # not checked in
    choices = {unit: "yes" for unit in world.units[:5]}
    choices[absent] = "no"
    before = LedgerEvent.objects.count()
    with pytest.raises(Conflict) as refused:
        proposal_services.record_show_of_hands(
            actor=world.alice, proposal=open_vote, choices=choices
        )
    assert refused.value.code == Code.UNIT_NOT_PRESENT
    assert absent.short_name in refused.value.message
    assert LedgerEvent.objects.count() == before
    assert not Ballot.objects.filter(vote=open_vote.current_vote).exists()


def test_a_show_of_hands_refuses_a_unit_outside_the_snapshot_and_a_closed_vote(
    world: World, open_vote: Proposal
) -> None:
    choices = {world.units[0]: "yes", world.partner: "yes"}  # the partner does not vote
    with pytest.raises(Conflict) as refused:
        proposal_services.record_show_of_hands(
            actor=world.alice, proposal=open_vote, choices=choices
        )
    assert refused.value.code == Code.NOT_ELIGIBLE
    assert not Ballot.objects.filter(vote=open_vote.current_vote).exists()
    proposal_services.close_vote(actor=world.alice, proposal=open_vote)
    with pytest.raises(Conflict) as closed:
        proposal_services.record_show_of_hands(
            actor=world.alice, proposal=open_vote, choices={world.units[0]: "yes"}
        )
    assert closed.value.code == Code.VOTE_CLOSED


def test_only_a_secretary_records_a_show_of_hands(world: World, open_vote: Proposal) -> None:
    with pytest.raises(Forbidden):
        proposal_services.record_show_of_hands(
            actor=world.bob, proposal=open_vote, choices={world.units[0]: "yes"}
        )
    assert not Ballot.objects.filter(vote=open_vote.current_vote).exists()


def test_the_show_of_hands_page_records_yes_except_the_units_marked(
    world: World, open_vote: Proposal
) -> None:
    page = Client()
    page.force_login(world.alice)
    url = reverse("show-of-hands", args=[open_vote.pk])
    form = page.get(url)
    assert form.status_code == 200
    text = form.content.decode()
    for unit in world.units[:15]:
        assert f'id="h-{unit.pk}-yes" checked' in text
    assert f'id="h-{world.units[15].pk}-yes"' not in text  # not present: not offered
    data: dict[str, Any] = {"unit": [str(u.pk) for u in world.units[:15]]}
    data[f"choice-{world.units[1].pk}"] = "no"
    data[f"choice-{world.units[2].pk}"] = "abstain"
    data[f"choice-{world.units[3].pk}"] = "none"
    done = page.post(url, data)
    assert done.status_code == 302 and done["Location"].endswith("#vote")
    ballots = dict(
        Ballot.objects.filter(vote=open_vote.current_vote).values_list("unit_id", "choice")
    )
    assert len(ballots) == 14 and len(casts(open_vote)) == 14
    assert ballots[world.units[1].pk] == "no" and ballots[world.units[2].pk] == "abstain"
    assert world.units[3].pk not in ballots
    assert ballots[world.units[0].pk] == "yes" and ballots[world.units[14].pk] == "yes"
    room = page.get(reverse("meeting", args=[open_vote.meeting_id])).content.decode()
    assert "Recorded 14 ballots: 12 yes, 1 no, 1 abstain." in room
    assert url in room  # the vote panel links to the form


def test_a_show_of_hands_keeps_the_ballots_units_cast_themselves(
    world: World, open_vote: Proposal
) -> None:
    # bob voted no online before the room raised hands.
    proposal_services.cast_ballot(
        actor=world.bob, proposal=open_vote, unit=world.units[0], choice="no"
    )
    page = Client()
    page.force_login(world.alice)
    url = reverse("show-of-hands", args=[open_vote.pk])
    text = page.get(url).content.decode()
    chair = world.units[0].pk
    assert f'id="h-{chair}-keep" checked' in text and "Keep its ballot: no (bob)" in text
    assert f'id="h-{chair}-yes" checked' not in text
    assert f'id="h-{chair}-none"' not in text  # a ballot cast cannot be "not voting"
    # The form as sent, untouched: every other unit yes, bob's no kept, no event for it.
    data: dict[str, Any] = {"unit": [str(u.pk) for u in world.units[:15]]}
    data[f"choice-{chair}"] = "keep"
    assert page.post(url, data).status_code == 302
    ballots = Ballot.objects.filter(vote=open_vote.current_vote)
    kept = ballots.get(unit=world.units[0])
    assert (kept.choice, kept.cast_by, kept.recorded_by_secretary) == ("no", world.bob, False)
    assert ballots.filter(choice="yes").count() == 14
    assert len(casts(open_vote)) == 1 + 14
    # Picking another choice for it is a deliberate override, recorded as the secretary's.
    data[f"choice-{chair}"] = "yes"
    assert page.post(url, data).status_code == 302
    kept.refresh_from_db()
    assert (kept.choice, kept.cast_by, kept.recorded_by_secretary) == ("yes", world.alice, True)


def test_the_show_of_hands_page_refused_goes_back_to_the_form_with_nothing_written(
    world: World, open_vote: Proposal
) -> None:
    page = Client()
    page.force_login(world.alice)
    url = reverse("show-of-hands", args=[open_vote.pk])
    data = {"unit": [str(world.units[0].pk), str(world.units[20].pk)]}  # U21 is absent
    refused = page.post(url, data, follow=True)
    assert refused.redirect_chain[-1][0] == url
    assert "Not checked in: U21. Nothing was recorded." in refused.content.decode()
    assert not Ballot.objects.filter(vote=open_vote.current_vote).exists()
    bob = Client()
    bob.force_login(world.bob)
    assert bob.get(url).status_code == 403
    assert bob.post(url, {"unit": [str(world.units[0].pk)]}).status_code == 403


# --- Someone else replaced the unit's ballot -----------------------------------------------


def test_a_co_delegates_replacement_is_told_to_the_others_by_email(
    world: World, open_vote: Proposal, django_capture_on_commit_callbacks: Any
) -> None:
    with_emails(world)
    unit = world.units[0]
    proposal_services.cast_ballot(actor=world.bob, proposal=open_vote, unit=unit, choice="yes")
    # bob correcting his own ballot tells nobody
    with django_capture_on_commit_callbacks(execute=True):
        proposal_services.cast_ballot(actor=world.bob, proposal=open_vote, unit=unit, choice="no")
    assert not Notification.objects.filter(kind=Notification.Kind.REPLACED).exists()
    # bea replacing bob's ballot: bob is told, bea is not
    Profile.objects.create(user=world.bob, language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        proposal_services.cast_ballot(
            actor=world.bea, proposal=open_vote, unit=unit, choice="abstain"
        )
    assert len(callbacks) == 1
    notes = Notification.objects.filter(kind=Notification.Kind.REPLACED)
    assert list(notes.values_list("user__username", flat=True)) == ["bob"]
    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
    email = mail.outbox[0]
    # In bob's language, with the direct link to the ballot page.
    assert "您单位的选票已被更改" in email.subject
    assert "bea" in email.body and "弃权" in email.body
    assert f"http://127.0.0.1:8000/proposals/{open_vote.pk}/vote/" in email.body
    assert notes.get().sent_at is not None


def test_the_secretary_replacing_a_ballot_tells_every_delegate_of_the_unit(
    world: World, open_vote: Proposal, settings: Any
) -> None:
    settings.QUORUM_SITE_URL = "https://quorum.example.org"
    with_emails(world)
    unit = world.units[0]
    proposal_services.cast_ballot(actor=world.bob, proposal=open_vote, unit=unit, choice="yes")
    proposal_services.cast_ballot(actor=world.alice, proposal=open_vote, unit=unit, choice="no")
    notes = Notification.objects.filter(kind=Notification.Kind.REPLACED)
    assert sorted(notes.values_list("user__username", flat=True)) == ["bea", "bob"]
    vote = open_vote.current_vote
    assert notifications.deliver(vote.pk, Notification.Kind.REPLACED) == 2
    body = mail.outbox[0].body
    assert "changed by alice" in body and "it is now “no”" in body  # no profile: English
    assert f"https://quorum.example.org/proposals/{open_vote.pk}/vote/" in body
    # A refused replacement plans nothing.
    proposal_services.close_vote(actor=world.alice, proposal=open_vote)
    with pytest.raises(Conflict):
        proposal_services.cast_ballot(actor=world.bea, proposal=open_vote, unit=unit, choice="yes")
    assert notes.count() == 2


# --- Emails: the language, the link, and none for a unit that cannot vote ------------------


def test_no_vote_opened_email_for_a_unit_absent_from_an_in_person_meeting(
    world: World,
) -> None:
    with_emails(world)
    meeting = new_meeting(world)  # in person
    check_in_units(world, meeting, world.units[1:16])  # U01 (bob, bea) is not checked in
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=world.alice, proposal=proposal)
    assert tasks.notify_vote_opened(proposal.current_vote.pk) == 1
    assert [m.to for m in mail.outbox] == [["carol@example.org"]]
    assert f"/proposals/{proposal.pk}/vote/" in mail.outbox[0].body


def test_no_reminder_for_a_unit_absent_from_an_in_person_meeting(world: World) -> None:
    import datetime

    from django.utils import timezone

    with_emails(world)
    meeting = new_meeting(world)  # in person
    check_in_units(world, meeting, world.units[1:16])  # U01 (bob, bea) is not checked in
    proposal = proposal_services.create_proposal(
        actor=world.alice,
        meeting=meeting,
        title="M",
        deadline=timezone.now() + datetime.timedelta(minutes=10),
    )
    proposal_services.open_vote(actor=world.alice, proposal=proposal)
    assert tasks.send_reminders() == 1
    assert [m.to for m in mail.outbox] == [["carol@example.org"]]
    assert "Reminder" in mail.outbox[0].subject
    assert f"/proposals/{proposal.pk}/vote/" in mail.outbox[0].body


def test_online_every_eligible_units_delegates_are_told_in_their_language(
    world: World,
) -> None:
    with_emails(world)
    Profile.objects.create(user=world.carol, language="zh-hans")
    meeting = new_meeting(world, mode=Meeting.Mode.ONLINE)
    check_in_units(world, meeting, world.units[1:16])
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=world.alice, proposal=proposal)
    assert tasks.notify_vote_opened(proposal.current_vote.pk) == 3
    by_person = {m.to[0]: m for m in mail.outbox}
    assert "Vote open: M" in by_person["bob@example.org"].subject
    assert "投票已开始" in by_person["carol@example.org"].subject
    assert "Vote open" not in by_person["carol@example.org"].subject


def test_switching_language_or_signing_in_keeps_the_language_for_emails(world: World) -> None:
    page = Client()
    page.force_login(world.bob)
    switched = page.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert switched.status_code == 302
    assert Profile.objects.get(user=world.bob).language == "zh-hans"
    page.post(reverse("set_language"), {"language": "klingon", "next": "/"})
    assert Profile.objects.get(user=world.bob).language == "zh-hans"
    fresh = Client(HTTP_ACCEPT_LANGUAGE="en")
    fresh.post(reverse("login"), {"username": "bob", "password": "pw"})
    assert Profile.objects.get(user=world.bob).language == "en"


# --- The ballot page: history, notice, receipt, not checked in -----------------------------


def test_the_ballot_page_shows_the_receipt_then_the_history_and_the_change_notice(
    world: World, open_vote: Proposal
) -> None:
    unit = world.units[0]
    bob, bea = Client(), Client()
    bob.force_login(world.bob)
    bea.force_login(world.bea)
    url = reverse("ballot-page", args=[open_vote.pk])
    cast = bob.post(
        reverse("ballot", args=[open_vote.pk, unit.pk]),
        {"choice": "yes", "next": url, "receipt": "1"},
    )
    assert cast["Location"] == f"{url}?receipt={unit.pk}#receipt-{unit.pk}"
    event = casts(open_vote)[-1]
    receipt = bob.get(cast["Location"]).content.decode()
    assert f'id="receipt-{unit.pk}"' in receipt
    assert f"#{event.seq}" in receipt and event.hash[:12] in receipt
    local = event.at.astimezone(world.council.zone).strftime("%Y-%m-%d %H:%M:%S")
    assert f"{local} (Europe/Paris)" in receipt
    # Without the flag (a plain visit) there is no receipt; bea sees none for bob's cast.
    assert f'id="receipt-{unit.pk}"' not in bob.get(url).content.decode()
    assert f'id="receipt-{unit.pk}"' not in bea.get(cast["Location"]).content.decode()

    bea.post(reverse("ballot", args=[open_vote.pk, unit.pk]), {"choice": "no", "next": url})
    page = bob.get(url).content.decode()
    assert f'id="notice-{unit.pk}"' in page
    assert "Your unit's ballot was changed by bea" in page
    history = page[page.index(f'id="history-{unit.pk}"') :]
    history = history[: history.index("</ol>")]
    assert history.count("<li>") == 2
    assert history.index("by bob") < history.index("by bea")
    # bea made the latest change: no notice for her.
    assert f'id="notice-{unit.pk}"' not in bea.get(url).content.decode()
    # The secretary's replacement is marked in the history.
    proposal_services.cast_ballot(
        actor=world.alice, proposal=open_vote, unit=unit, choice="abstain"
    )
    page = bob.get(url).content.decode()
    assert "changed by alice" in page and "recorded by the secretary" in page


def test_a_unit_not_checked_in_is_told_to_ask_the_secretary(
    world: World, open_vote: Proposal
) -> None:
    # In person: U01..U15 are checked in; carol's U02 leaves the room.
    council_services.check_out(actor=world.alice, meeting=open_vote.meeting, unit=world.units[1])
    carol = Client()
    carol.force_login(world.carol)
    page = carol.get(reverse("ballot-page", args=[open_vote.pk])).content.decode()
    assert "Your unit is not checked in — ask the secretary." in page
    assert f'id="b-{world.units[1].pk}-yes"' not in page
    home = carol.get(reverse("home")).content.decode()
    assert "Your unit is not checked in — ask the secretary." in home
    bob = Client()
    bob.force_login(world.bob)  # U01 is checked in
    assert (
        f'id="b-{world.units[0].pk}-yes"'
        in bob.get(reverse("ballot-page", args=[open_vote.pk])).content.decode()
    )
    assert "not checked in" not in bob.get(reverse("home")).content.decode()


def test_the_meeting_page_links_delegates_to_the_ballot_page(
    world: World, open_vote: Proposal
) -> None:
    bob = Client()
    bob.force_login(world.bob)
    room = bob.get(reverse("meeting", args=[open_vote.meeting_id])).content.decode()
    assert f'id="to-ballot" href="{reverse("ballot-page", args=[open_vote.pk])}"' in room
    dave = Client()
    dave.force_login(world.dave)  # the auditor represents no unit
    assert (
        'id="to-ballot"'
        not in dave.get(reverse("meeting", args=[open_vote.meeting_id])).content.decode()
    )
