"""The database itself enforces the invariants, whatever code path writes.

Each test bypasses the services on purpose, as a buggy or hostile writer would, and
expects the database to refuse.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from council.models import Attendance, Council, LedgerEvent, Meeting
from members.models import MemberUnit, Role
from proposals.models import Ballot, Proposal, Vote

from .personas import World


def refused_by_database(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_the_database_rejects_a_second_ballot_for_a_unit(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    unit = world.units[0]
    fields = dict(vote=open_vote.current_vote, unit=unit, cast_by=world.bob, cast_at=timezone.now())
    Ballot.objects.create(choice="yes", **fields)
    refused_by_database(lambda: Ballot.objects.create(choice="no", **fields))
    assert Ballot.objects.filter(vote__proposal=open_vote, unit=unit).count() == 1


def test_the_database_rejects_an_unknown_choice(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    refused_by_database(
        lambda: Ballot.objects.create(
            vote=open_vote.current_vote,
            unit=world.units[0],
            cast_by=world.bob,
            cast_at=timezone.now(),
            choice="maybe",
        )
    )


def test_a_closed_vote_must_carry_its_result(world: World, open_vote: Proposal) -> None:
    votes = Vote.objects.filter(proposal=open_vote)
    refused_by_database(lambda: votes.update(closed_at=timezone.now(), outcome="passed"))
    refused_by_database(lambda: votes.update(outcome="passed"))
    refused_by_database(lambda: votes.update(closed_at=timezone.now(), result={"yes": 1}))


def test_a_proposal_has_one_open_vote_and_numbers_each_once(
    world: World, open_vote: Proposal
) -> None:
    first = open_vote.current_vote
    fields = dict(proposal=open_vote, kind="ordinary", rules=first.rules, opened_at=first.opened_at)
    # A second open vote of the same proposal, whatever its number.
    refused_by_database(lambda: Vote.objects.create(number=2, **fields))
    # The same number twice, even once the first is closed.
    refused_by_database(
        lambda: Vote.objects.create(
            number=1, closed_at=timezone.now(), outcome="passed", result={}, **fields
        )
    )


def test_a_proposal_kind_is_ordinary_or_special(world: World, open_vote: Proposal) -> None:
    refused_by_database(lambda: Proposal.objects.filter(pk=open_vote.pk).update(kind="secret"))


def test_a_unit_is_present_at_most_once_at_a_time(world: World, meeting: Meeting) -> None:
    fields = dict(meeting=meeting, unit=world.units[0], checked_in_at=timezone.now())
    Attendance.objects.create(**fields)
    refused_by_database(lambda: Attendance.objects.create(**fields))


def test_a_meeting_status_matches_its_times(world: World) -> None:
    refused_by_database(
        lambda: Meeting.objects.create(
            council=world.council, title="x", scheduled_at=timezone.now(), status="in_session"
        )
    )


def test_roles_and_units_hold_their_shape(world: World) -> None:
    refused_by_database(
        lambda: Role.objects.create(user=world.dave, council=world.council, role="delegate")
    )
    refused_by_database(
        lambda: Role.objects.create(
            user=world.dave, council=world.council, role="auditor", unit=world.units[3]
        )
    )
    refused_by_database(
        lambda: MemberUnit.objects.create(
            council=world.council, name="Second chair", short_name="C2", label="chair"
        )
    )


def test_a_council_rule_set_must_be_meetable(world: World) -> None:
    refused_by_database(
        lambda: Council.objects.filter(pk=world.council.pk).update(
            majority_numerator=2, majority_denominator=2, majority_strict=True
        )
    )
    refused_by_database(
        lambda: Council.objects.filter(pk=world.council.pk).update(majority_basis="vibes")
    )


def test_the_ledger_cannot_fork(world: World) -> None:
    last = LedgerEvent.objects.filter(council=world.council).order_by("-seq").first()
    twin = dict(
        council=world.council,
        seq=last.seq,
        at=timezone.now(),
        actor="x",
        action="x",
        object="x",
        data={},
        prev_hash=last.prev_hash,
        hash="f" * 64,
    )
    refused_by_database(lambda: LedgerEvent.objects.create(**twin))
    # Same predecessor under a new number: still a fork, still refused.
    twin.update(seq=last.seq + 1)
    refused_by_database(lambda: LedgerEvent.objects.create(**twin))
