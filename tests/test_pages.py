"""Sign-in, the dashboard, and the admin — which writes through the services too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from council.models import Council, LedgerEvent, Meeting
from proposals.models import Ballot, Proposal
from proposals.rules import Threshold

from .personas import World

ADMIN_MODELS = [
    "council_council",
    "council_meeting",
    "council_attendance",
    "council_ledgerevent",
    "members_memberunit",
    "members_role",
    "members_invitation",
    "proposals_proposal",
    "proposals_ballot",
    "proposals_notification",
]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_sign_in_page_works(world: World) -> None:
    client = Client()
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    bad = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200 and b"didn't match" in bad.content
    good = client.post(reverse("login"), {"username": "alice", "password": "pw"})
    assert good.status_code == 302 and good["Location"] == reverse("home")


def test_the_dashboard_needs_a_sign_in(world: World) -> None:
    response = Client().get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_dashboard_shows_only_the_persons_councils(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    page = signed_in(world.bob).get(reverse("home")).content.decode()
    assert "Test Council" in page and "Other Council" not in page
    assert "Motion" in page  # the open vote
    assert "Test Council" not in signed_in(world.erin).get(reverse("home")).content.decode()


def test_the_page_follows_the_chosen_language(world: World) -> None:
    client = signed_in(world.alice)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert 'lang="zh-hans"' in page and "您的理事会" in page


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_every_model_is_in_the_admin(world: World, open_vote: Proposal, model: str) -> None:
    client = signed_in(world.root)
    assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_ledger_ballots_and_closed_results_are_read_only_in_the_admin(
    world: World, open_vote: Proposal
) -> None:
    from proposals import services

    services.cast_ballot(actor=world.bob, proposal=open_vote, unit=world.units[0], choice="yes")
    services.close_vote(actor=world.alice, proposal=open_vote)
    client = signed_in(world.root)
    event = LedgerEvent.objects.last()
    ballot = Ballot.objects.get()
    assert client.get(reverse("admin:council_ledgerevent_add")).status_code == 403
    assert client.get(reverse("admin:proposals_ballot_add")).status_code == 403
    edit = client.post(
        reverse("admin:council_ledgerevent_change", args=[event.pk]), {"actor": "mallory"}
    )
    assert edit.status_code == 403
    assert client.post(reverse("admin:proposals_ballot_delete", args=[ballot.pk])).status_code in (
        403,
        302,
    )
    assert Ballot.objects.filter(pk=ballot.pk).exists()
    # A closed proposal's result cannot be edited through its form.
    url = reverse("admin:proposals_proposal_change", args=[open_vote.pk])
    page = client.get(url).content.decode()
    assert 'name="title"' not in page and 'name="result"' not in page


def test_the_admin_creates_through_the_services(world: World) -> None:
    client = signed_in(world.root)
    response = client.post(
        reverse("admin:council_council_add"),
        {
            "name": "Admin Council",
            "slug": "admin-council",
            "time_zone": "Asia/Shanghai",
            "quorum_numerator": 2,
            "quorum_denominator": 3,
            "quorum_strict": "on",
            "majority_numerator": 1,
            "majority_denominator": 2,
            "majority_strict": "on",
            "majority_basis": "present",
            "special_numerator": 3,
            "special_denominator": 4,
            "special_basis": "members",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    council = Council.objects.get(slug="admin-council")
    assert council.majority_basis == "present"
    assert council.special_rule_set.majority == Threshold(3, 4, strict=False)
    created = LedgerEvent.objects.get(council=council)
    assert (created.action, created.actor, created.seq) == ("council.created", "root", 1)


def test_an_admin_action_refusal_changes_nothing(world: World) -> None:
    meeting = Meeting.objects.create(
        council=world.council, title="Raw", scheduled_at=timezone.now()
    )
    client = signed_in(world.root)
    changelist = reverse("admin:council_meeting_changelist")
    client.post(changelist, {"action": "adjourn", "_selected_action": [meeting.pk]})
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.SCHEDULED
    client.post(changelist, {"action": "start", "_selected_action": [meeting.pk]})
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.IN_SESSION and meeting.eligible_units.count() == 21


def test_the_register_filters_and_links_the_downloads(world: World) -> None:
    from proposals import services as proposal_services

    from .personas import check_in_units, new_meeting

    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    for title, choice in (("Passes", "yes"), ("Fails", "no")):
        p = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title=title)
        proposal_services.open_vote(actor=world.alice, proposal=p)
        for unit in world.units[:15]:
            proposal_services.cast_ballot(actor=world.alice, proposal=p, unit=unit, choice=choice)
        proposal_services.close_vote(actor=world.alice, proposal=p)
    client = signed_in(world.dave)
    page = client.get(reverse("register", args=["test"]) + "?outcome=passed").content.decode()
    assert "Passes" in page and "Fails" not in page
    assert (
        f"/api/v1/decisions/?council={world.council.pk}&amp;outcome=passed&amp;format=csv" in page
    )
    csv_response = client.get(f"/api/v1/decisions/?council={world.council.pk}&format=csv")
    assert csv_response.status_code == 200  # the auditor's session downloads it


def test_the_minutes_print_the_ledger_head_at_adjournment(world: World) -> None:
    from council import services as council_services
    from council.models import LedgerEvent

    from .personas import new_meeting

    meeting = new_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    head = LedgerEvent.objects.get(action="meeting.adjourned")
    page = signed_in(world.dave).get(reverse("minutes", args=[meeting.pk])).content.decode()
    assert head.hash in page and "verify_export.py" in page
