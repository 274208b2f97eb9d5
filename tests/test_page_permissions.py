"""Who may see and do what on the pages: a table of persona by page or action → status.

alice is the council's secretary, dave its auditor, bob the delegate of U01, erin the
secretary of another council; None is an anonymous visitor. Every refused request
must change nothing (the ledger count stays put).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from council.models import LedgerEvent, Meeting
from members import invitations
from members.models import Invitation
from proposals import services as proposal_services
from proposals.models import Proposal

from .personas import World, check_in_units, new_meeting

PEOPLE = ["alice", "dave", "bob", "erin", None]


def client_for(w: World, person: str | None) -> Client:
    client = Client()
    if person:
        client.force_login(w.people[person])
    return client


def expect(person: str | None, *, allowed: set[str], refused_status: int = 403) -> int:
    """200/302 for those allowed; 404 for strangers; login redirect for anonymous."""
    if person is None:
        return 302
    if person == "erin":
        return 404
    return 0 if person in allowed else refused_status


# --- Pages (GET) ------------------------------------------------------------------------

PAGES: dict[str, Callable[[World, Meeting, Proposal], str]] = {
    "council": lambda w, m, p: reverse("council", args=[w.council.slug]),
    "meeting": lambda w, m, p: reverse("meeting", args=[m.pk]),
    "quorum part": lambda w, m, p: reverse("meeting-live", args=[m.pk, "quorum"]),
    "vote part": lambda w, m, p: reverse("meeting-live", args=[m.pk, "vote"]),
    "projector": lambda w, m, p: reverse("projector", args=[m.pk]),
    "minutes": lambda w, m, p: reverse("minutes", args=[m.pk]),
    "register": lambda w, m, p: reverse("register", args=[w.council.slug]),
    "units": lambda w, m, p: reverse("units", args=[w.council.slug]),
    "unit": lambda w, m, p: reverse("unit", args=[w.council.slug, w.units[1].pk]),
}

# Pages that only secretaries get (they lead to a change): 403 for the council's others.
MANAGER_PAGES: dict[str, Callable[[World, Meeting, Proposal], str]] = {
    "close confirmation": lambda w, m, p: reverse("proposal-close", args=[p.pk]),
    "edit proposal": lambda w, m, p: reverse("proposal-edit", args=[p.pk]),
    "withdraw confirmation": lambda w, m, p: reverse("proposal-withdraw", args=[p.pk]),
    "adjourn confirmation": lambda w, m, p: reverse("meeting-adjourn", args=[m.pk]),
}


@pytest.mark.parametrize("page", list(MANAGER_PAGES))
@pytest.mark.parametrize("person", PEOPLE)
def test_confirmation_and_edit_pages_are_for_secretaries(
    world: World, page: str, person: str | None
) -> None:
    meeting = new_meeting(world)
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="P")
    response = client_for(world, person).get(MANAGER_PAGES[page](world, meeting, proposal))
    assert response.status_code == (expect(person, allowed={"alice"}) or 200)


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("person", PEOPLE)
def test_pages_are_visible_to_the_council_only(world: World, page: str, person: str | None) -> None:
    meeting = new_meeting(world)
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="P")
    response = client_for(world, person).get(PAGES[page](world, meeting, proposal))
    wanted = expect(person, allowed={"alice", "dave", "bob"})
    assert response.status_code == (wanted or 200)
    if person is None:
        assert response["Location"].startswith(reverse("login"))


# --- Actions (POST) ---------------------------------------------------------------------


def _open(w: World) -> tuple[Meeting, Proposal]:
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="P")
    return meeting, proposal_services.open_vote(actor=w.alice, proposal=proposal)


def _draft(w: World) -> tuple[Meeting, Proposal]:
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="First")
    return meeting, proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="P")


def _scheduled(w: World) -> tuple[Meeting, None]:
    return new_meeting(w, start=False), None


def _invited(w: World) -> tuple[Meeting, Invitation]:
    invitation, _token = invitations.invite(
        actor=w.alice, council=w.council, email="new@example.org", role="auditor"
    )
    return new_meeting(w, start=False), invitation


ACTIONS: dict[
    str, tuple[Callable[[World], tuple[Meeting, Any]], Callable[..., tuple[str, dict]], set[str]]
] = {
    "schedule meeting": (
        _scheduled,
        lambda w, m, p: (
            reverse("meeting-create", args=[w.council.slug]),
            {"title": "New", "scheduled_at": "2027-01-05T10:00", "mode": "online"},
        ),
        {"alice"},
    ),
    "start meeting": (
        _scheduled,
        lambda w, m, p: (reverse("meeting-start", args=[m.pk]), {}),
        {"alice"},
    ),
    "adjourn meeting": (
        lambda w: (new_meeting(w), None),
        lambda w, m, p: (reverse("meeting-adjourn", args=[m.pk]), {}),
        {"alice"},
    ),
    "check in": (
        lambda w: (new_meeting(w), None),
        lambda w, m, p: (reverse("attendance", args=[m.pk, w.units[0].pk]), {"present": "1"}),
        {"alice"},
    ),
    "add proposal": (
        _draft,
        lambda w, m, p: (reverse("proposal-create", args=[m.pk]), {"title": "Another"}),
        {"alice"},
    ),
    # A delegate submits drafts for their own unit (docs/architecture.md, Roles).
    "propose for U01": (
        _draft,
        lambda w, m, p: (
            reverse("proposal-create", args=[m.pk]),
            {"title": "Ours", "proposer_unit": w.units[0].pk},
        ),
        {"alice", "bob"},
    ),
    "edit proposal": (
        _draft,
        lambda w, m, p: (reverse("proposal-edit", args=[p.pk]), {"title": "Renamed"}),
        {"alice"},
    ),
    "move proposal": (
        _draft,
        lambda w, m, p: (reverse("proposal-move", args=[p.pk]), {"direction": "up"}),
        {"alice"},
    ),
    "withdraw proposal": (
        _draft,
        lambda w, m, p: (reverse("proposal-withdraw", args=[p.pk]), {}),
        {"alice"},
    ),
    "open vote": (_draft, lambda w, m, p: (reverse("proposal-open", args=[p.pk]), {}), {"alice"}),
    "close vote": (_open, lambda w, m, p: (reverse("proposal-close", args=[p.pk]), {}), {"alice"}),
    # bob is the delegate of U01: he may cast its ballot; the secretary records it too.
    "cast U01's ballot": (
        _open,
        lambda w, m, p: (reverse("ballot", args=[p.pk, w.units[0].pk]), {"choice": "yes"}),
        {"alice", "bob"},
    ),
    "cast U02's ballot": (
        _open,
        lambda w, m, p: (reverse("ballot", args=[p.pk, w.units[1].pk]), {"choice": "yes"}),
        {"alice"},
    ),
    # The council's units and people, run without the admin (council/web/people.py).
    "add unit": (
        _scheduled,
        lambda w, m, p: (
            reverse("units", args=[w.council.slug]),
            {"name": "Newcomer", "short_name": "NEW", "voting": "on"},
        ),
        {"alice"},
    ),
    "edit unit": (
        _scheduled,
        lambda w, m, p: (
            reverse("unit", args=[w.council.slug, w.units[1].pk]),
            {"name": "Unit 02 renamed", "short_name": "U02", "voting": "on"},
        ),
        {"alice"},
    ),
    "grant role": (
        _scheduled,
        lambda w, m, p: (
            reverse("role-grant", args=[w.council.slug]),
            {"person": "carol", "role": "auditor"},
        ),
        {"alice"},
    ),
    "revoke role": (
        _scheduled,
        lambda w, m, p: (
            reverse("role-revoke", args=[w.council.roles.get(user=w.carol).pk]),
            {},
        ),
        {"alice"},
    ),
    "invite": (
        _scheduled,
        lambda w, m, p: (
            reverse("invite", args=[w.council.slug]),
            {"email": "new@example.org", "role": "delegate", "unit": w.units[2].pk},
        ),
        {"alice"},
    ),
    "resend invitation": (
        _invited,
        lambda w, m, p: (reverse("invitation-resend", args=[w.council.slug, p.pk]), {}),
        {"alice"},
    ),
    "revoke invitation": (
        _invited,
        lambda w, m, p: (reverse("invitation-revoke", args=[w.council.slug, p.pk]), {}),
        {"alice"},
    ),
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("person", PEOPLE)
def test_only_the_right_people_act_and_refusals_change_nothing(
    world: World, action: str, person: str | None
) -> None:
    setup, request_of, allowed = ACTIONS[action]
    meeting, proposal = setup(world)
    url, data = request_of(world, meeting, proposal)
    before = LedgerEvent.objects.count()
    response = client_for(world, person).post(url, data)
    wanted = expect(person, allowed=allowed)
    if wanted == 0:
        assert response.status_code == 302, response.content[:500]
        assert LedgerEvent.objects.count() > before, "an allowed action must change something"
    else:
        assert response.status_code == wanted
        assert LedgerEvent.objects.count() == before
        if wanted == 403:
            assert "Nothing was changed." in response.content.decode()


def test_unsafe_requests_need_the_csrf_token(world: World) -> None:
    meeting = new_meeting(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    before = LedgerEvent.objects.count()
    response = client.post(
        reverse("attendance", args=[meeting.pk, world.units[0].pk]), {"present": "1"}
    )
    assert response.status_code == 403
    assert LedgerEvent.objects.count() == before


def test_a_state_refusal_says_why_and_changes_nothing(world: World) -> None:
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:14])
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="P")
    client = client_for(world, "alice")
    before = LedgerEvent.objects.count()
    response = client.post(reverse("proposal-open", args=[proposal.pk]), follow=True)
    assert "No quorum: 14 of 21 units present, 15 needed." in response.content.decode()
    assert LedgerEvent.objects.count() == before
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.DRAFT


def test_bad_input_on_a_form_says_which_field(world: World) -> None:
    response = client_for(world, "alice").post(
        reverse("meeting-create", args=[world.council.slug]),
        {"title": "", "scheduled_at": "not a date", "mode": "online"},
        follow=True,
    )
    page = response.content.decode()
    assert "This field is required." in page and "Enter a valid date/time." in page
    assert not Meeting.objects.filter(title="").exists()


def test_the_meeting_form_reads_the_councils_local_time(world: World) -> None:
    client_for(world, "alice").post(
        reverse("meeting-create", args=[world.council.slug]),
        {"title": "Paris", "scheduled_at": "2027-01-05T10:00", "mode": "online"},
    )
    meeting = Meeting.objects.get(title="Paris")
    # Europe/Paris is UTC+1 in January.
    assert meeting.scheduled_at == datetime.datetime(2027, 1, 5, 9, 0, tzinfo=datetime.UTC)


# --- Which councils a person sees (members/permissions.py, one rule for every list) --------

ALL = None  # every council: a superuser's answer
COUNCILS_SEEN = [
    # person, the councils they see, the councils they oversee (the ledger, every role)
    ("root", ALL, ALL),
    ("alice", {"test"}, {"test"}),
    ("dave", {"test"}, {"test"}),
    ("bob", {"test"}, set()),
    ("erin", {"other"}, {"other"}),
    ("inactive", set(), set()),  # alice, deactivated
    (None, set(), set()),
]


@pytest.mark.parametrize(("person", "seen", "overseen"), COUNCILS_SEEN)
def test_the_councils_a_person_sees_are_those_access_lets_them_view(
    world: World, person: str | None, seen: set[str] | None, overseen: set[str] | None
) -> None:
    from django.contrib.auth.models import AnonymousUser

    from council.models import Council
    from members import permissions

    user: Any = AnonymousUser() if person is None else world.people.get(person, world.alice)
    if person == "inactive":
        user.is_active = False
        user.save()

    def slugs(councils: Any) -> set[str] | None:
        return None if councils is None else set(councils.values_list("slug", flat=True))

    assert slugs(permissions.visible_councils(user)) == seen
    assert slugs(permissions.overseen_councils(user)) == overseen
    # The same answer, council by council, as access() gives for one.
    every = set(Council.objects.values_list("slug", flat=True))
    viewable = {c.slug for c in Council.objects.all() if permissions.access(user, c.pk).can_view}
    assert viewable == (every if seen is ALL else seen)


@pytest.mark.parametrize("person", ["root", "alice", "bob", "erin"])
def test_the_dashboard_shows_the_votes_of_the_councils_a_person_sees(
    world: World, person: str
) -> None:
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="Roof")
    proposal_services.open_vote(actor=world.alice, proposal=proposal)
    page = client_for(world, person).get(reverse("home")).content.decode()
    assert ("Roof" in page) == (person != "erin")
