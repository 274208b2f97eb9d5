"""The API's one permission class: every write names its rule, and the order holds.

Personas (tests/personas.py): alice secretary, bob delegate of U01, carol delegate of
U02, dave auditor, erin secretary of another council.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from council.api.permissions import CouncilAccess, CouncilScopedMixin
from council.api.urls import router
from council.models import Meeting
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal

from .personas import World, check_in_units, new_meeting

API = "/api/v1"
UNSAFE = {"post", "put", "patch", "delete"}
# Writes that are not a council's: only superusers create councils (a site-level rule,
# checked in the view before any council exists).
SITE_LEVEL = {("council", "create")}


def _writes() -> list[tuple[str, type, str]]:
    """Every (basename, viewset, action) of the router that changes something."""
    standard = {"create": "post", "update": "put", "partial_update": "patch", "destroy": "delete"}
    found = []
    for _prefix, viewset, basename in router.registry:
        found += [(basename, viewset, name) for name in standard if hasattr(viewset, name)]
        found += [
            (basename, viewset, extra.__name__)
            for extra in viewset.get_extra_actions()
            if set(extra.mapping) & UNSAFE  # type: ignore[attr-defined]  # set by @action
        ]
    return found


def test_every_write_of_the_api_names_its_rule() -> None:
    writes = _writes()
    assert len(writes) >= 9  # the checker sees the writes (start, open, ballot, ...)
    for basename, viewset, name in writes:
        if (basename, name) in SITE_LEVEL:
            continue
        assert issubclass(viewset, CouncilScopedMixin), basename
        assert name in viewset.rules, f"{basename}.{name} has no permission rule"


def test_every_view_is_judged_by_the_one_permission_class() -> None:
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] == [
        "council.api.permissions.CouncilAccess"
    ]
    for _prefix, viewset, _basename in router.registry:
        assert viewset.permission_classes == [CouncilAccess], viewset  # type: ignore[attr-defined]


@pytest.fixture
def vote(world: World) -> tuple[Meeting, Proposal]:
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    proposal = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title="Budget", proposer_unit=world.chair
    )
    return meeting, proposal_services.open_vote(actor=world.alice, proposal=proposal)


def _as(world: World, person: str | None) -> APIClient:
    client = APIClient()
    if person:
        client.force_authenticate(world.people[person])
    return client


@pytest.mark.parametrize(
    ("person", "status"),
    [(None, 401), ("erin", 404), ("carol", 403), ("bob", 400)],
)
def test_a_ballot_is_judged_401_then_404_then_403_then_400(
    world: World, vote: tuple[Meeting, Proposal], person: str | None, status: int
) -> None:
    _meeting, proposal = vote
    # An invalid body: only a caller who passes every permission check reaches the 400.
    answer = _as(world, person).put(
        f"{API}/proposals/{proposal.pk}/ballots/{world.units[0].pk}/",
        {"choice": "maybe"},
        format="json",
    )
    assert answer.status_code == status, answer.content
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    ("person", "status"),
    [(None, 401), ("erin", 404), ("bob", 403), ("alice", 400)],
)
def test_a_reference_in_the_body_is_judged_in_the_same_order(
    world: World, person: str | None, status: int
) -> None:
    before = Meeting.objects.count()
    answer = _as(world, person).post(
        f"{API}/meetings/",
        {"council": world.council.pk, "title": "", "scheduled_at": "not a time"},
        format="json",
    )
    assert answer.status_code == status, answer.content
    assert Meeting.objects.count() == before


@pytest.mark.parametrize("pk", ["%D9%A7", "%EF%BC%95", "%C2%B2", "7.0", "-1"])
def test_path_ids_are_ascii_digits_only(
    world: World, vote: tuple[Meeting, Proposal], pk: str
) -> None:
    meeting, proposal = vote
    client = _as(world, "bob")
    unit = world.units[0].pk
    for path in (
        f"{API}/proposals/{pk}/ballots/{unit}/",
        f"{API}/proposals/{proposal.pk}/ballots/{pk}/",
    ):
        answer = client.put(path, {"choice": "yes"}, format="json")
        assert answer.status_code == 404, (path, answer.status_code)
    answer = client.put(f"{API}/meetings/{meeting.pk}/attendance/{pk}/", {"present": True})
    assert answer.status_code == 404
    assert not Ballot.objects.exists()
