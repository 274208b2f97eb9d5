"""The record's verifiers against rows edited behind the services' back.

Every edit here is raw SQL, as someone who owns the database would make it: the rows
stay consistent with themselves, and only a replay of the ledger can tell.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from council import services as council_services
from council.models import Attendance
from proposals import audit, rules
from proposals import services as proposal_services
from proposals.models import Proposal

from .personas import World, check_in_units, new_meeting, open_proposal


def sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def problems(world: World) -> list[dict[str, Any]]:
    report = audit.verify([world.council.pk])
    assert report["ok"] is not bool(report["problems"])
    return report["problems"]


def closed_vote(world: World) -> Proposal:
    meeting = new_meeting(world)
    proposal = open_proposal(world, meeting)
    for unit in world.units[:12]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    return proposal_services.close_vote(actor=world.alice, proposal=proposal)


def test_an_honest_history_with_departures_and_rule_changes_verifies(world: World) -> None:
    meeting = new_meeting(world, mode="online")
    check_in_units(world, meeting, world.units[:16])
    council_services.check_out(actor=world.alice, meeting=meeting, unit=world.units[0])
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="A")
    proposal_services.open_vote(actor=world.alice, proposal=proposal)
    # Online, a delegate's cast checks the unit in again: its second stay.
    proposal_services.cast_ballot(
        actor=world.bob, proposal=proposal, unit=world.units[0], choice="no"
    )
    council_services.check_out(actor=world.alice, meeting=meeting, unit=world.units[14])
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    council_services.update_council(
        actor=world.root, council=world.council, rules=rules.RuleSet(basis=rules.Basis.CAST)
    )
    second = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="B")
    proposal_services.open_vote(actor=world.alice, proposal=second)
    proposal_services.close_vote(actor=world.alice, proposal=second)
    assert Attendance.objects.filter(meeting=meeting, unit=world.units[0]).count() == 2
    assert problems(world) == []


def test_an_edited_attendance_row_is_named(world: World) -> None:
    closed_vote(world)
    stay = Attendance.objects.filter(meeting__council=world.council).order_by("pk").first()
    sql(
        "UPDATE council_attendance SET checked_out_at = checked_in_at WHERE id = %s",
        [stay.pk],
    )
    found = problems(world)
    assert [p["problem"] for p in found] == ["attendance_mismatch"]
    assert (
        f"attendance {stay.pk} (meeting {stay.meeting_id}, unit {stay.unit_id})"
        in (found[0]["detail"])
    )


def test_attendance_edited_before_the_close_flips_nothing_unseen(world: World) -> None:
    """Four departures written straight into the table: the close counts 11 of 21
    present, no quorum — the ledger's attendance still has 15 in the room."""
    meeting = new_meeting(world)
    proposal = open_proposal(world, meeting)
    gone = [u.pk for u in world.units[11:15]]
    sql(
        "UPDATE council_attendance SET checked_out_at = %s"
        " WHERE meeting_id = %s AND unit_id = ANY(%s)",
        [timezone.now(), meeting.pk, gone],
    )
    closed = proposal_services.close_vote(actor=world.alice, proposal=proposal)
    assert closed.current_vote.outcome == "no_quorum"
    found = problems(world)
    assert sum(p["problem"] == "attendance_mismatch" for p in found) == 5
    at_close = [p for p in found if p["seq"] is not None]
    assert len(at_close) == 2  # its present units, and the result they gave
    assert all(f"proposal {proposal.pk}, vote 1" in p["detail"] for p in at_close)
    assert {p["problem"] for p in at_close} == {"attendance_mismatch", "result_mismatch"}


def test_an_edited_majority_basis_is_named_and_the_vote_it_shaped_too(world: World) -> None:
    sql("UPDATE council_council SET majority_basis = 'cast' WHERE id = %s", [world.council.pk])
    found = problems(world)
    assert [p["problem"] for p in found] == ["council_mismatch"]
    assert found[0]["detail"] == f"council {world.council.pk}: rules differ(s) from the ledger"
    # A vote opened under the edited rules freezes them: the ledger says the council
    # never had them.
    meeting = new_meeting(world)
    proposal = open_proposal(world, meeting)
    opened = [p for p in problems(world) if p["problem"] == "rules_not_the_councils"]
    assert len(opened) == 1 and f"proposal {proposal.pk}, vote 1" in opened[0]["detail"]


def test_an_edited_frozen_rule_set_is_named(world: World) -> None:
    proposal = closed_vote(world)
    sql(
        "UPDATE proposals_vote SET rules = jsonb_set(rules, '{majority,basis}', '\"cast\"')"
        " WHERE proposal_id = %s",
        [proposal.pk],
    )
    found = problems(world)
    assert "rules_mismatch" in {p["problem"] for p in found}
    assert any(
        p["problem"] == "rules_mismatch" and f"proposal {proposal.pk}, vote 1" in p["detail"]
        for p in found
    )


def test_an_edited_voting_flag_is_named(world: World) -> None:
    unit = world.units[3]
    sql("UPDATE members_memberunit SET voting = false WHERE id = %s", [unit.pk])
    found = problems(world)
    assert [p["problem"] for p in found] == ["unit_mismatch"]
    assert (
        found[0]["detail"]
        == f"unit {unit.pk} ({unit.short_name}): voting differ(s) from the ledger"
    )
