"""The services: every use case, every refusal code, and that a refusal writes nothing."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone
from rest_framework.test import APIClient

from council import ledger
from council import queries as council_queries
from council import services as council_services
from council.errors import Code, Conflict, Forbidden, Invalid, NotFound, ServiceError
from council.models import Attendance, LedgerEvent, Meeting
from members import services as member_services
from members.models import Role
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal, Vote
from proposals.rules import Basis, RuleSet, Threshold

from .personas import World, check_in_units, new_meeting, open_proposal


def row_counts() -> dict[str, int]:
    """Rows in every table of the project's apps (and auth), to prove nothing changed."""
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"council", "members", "proposals", "auth"}
    ]
    return {m._meta.label: m._default_manager.count() for m in models}


def state() -> tuple[
    dict[str, int], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]
]:
    return (
        row_counts(),
        list(Proposal.objects.order_by("pk").values_list("pk", "status")),
        list(Vote.objects.order_by("pk").values_list("pk", "closed_at", "outcome", "result")),
        list(Ballot.objects.order_by("pk").values_list("pk", "choice", "cast_at")),
    )


# Callable[..., Any]: some calls bind a loop variable as a lambda default
# (``lambda p=person: ...``), which mypy cannot match with Callable[[], Any].
def refused(
    call: Callable[..., Any], error: type[ServiceError], code: Code | None = None
) -> ServiceError:
    """Assert ``call`` is refused with ``error`` (and ``code``) and leaves no trace."""
    before = state()
    with pytest.raises(error) as info:
        call()
    if code is not None:
        assert info.value.code == code
    assert state() == before
    return info.value


def actions() -> list[str]:
    return list(LedgerEvent.objects.order_by("council", "seq").values_list("action", flat=True))


# --- Meetings and attendance ------------------------------------------------------------


def test_it_snapshots_eligible_units_when_the_meeting_starts(world: World) -> None:
    w = world
    member_services.update_unit(
        actor=w.alice,
        unit=w.units[20],
        left_on=timezone.now().date() - datetime.timedelta(days=1),
        joined_on=datetime.date(2020, 1, 1),
    )
    meeting = new_meeting(w)
    eligible = set(meeting.eligible_units.values_list("short_name", flat=True))
    assert len(eligible) == 20 and "U21" not in eligible and "P" not in eligible
    # A unit joining afterwards does not move this meeting's denominator.
    member_services.create_unit(actor=w.alice, council=w.council, name="Late", short_name="L")
    assert meeting.eligible_units.count() == 20
    assert council_queries.quorum(meeting).total == 20
    assert actions()[-2:] == ["meeting.started", "unit.created"]


def test_it_refuses_to_start_a_meeting_twice(world: World, meeting: Meeting) -> None:
    refused(
        lambda: council_services.start_meeting(actor=world.alice, meeting=meeting),
        Conflict,
        Code.NOT_SCHEDULED,
    )


def test_it_checks_in_outside_a_session_never(world: World) -> None:
    meeting = new_meeting(world, start=False)
    refused(
        lambda: council_services.check_in(actor=world.alice, meeting=meeting, unit=world.units[0]),
        Conflict,
        Code.NOT_IN_SESSION,
    )


def test_checking_in_twice_keeps_one_stay(world: World, meeting: Meeting) -> None:
    first = council_services.check_in(actor=world.alice, meeting=meeting, unit=world.units[0])
    again = council_services.check_in(actor=world.alice, meeting=meeting, unit=world.units[0])
    assert first.pk == again.pk
    assert actions().count("attendance.checked_in") == 1
    assert first.checked_in_by == world.alice


def test_check_out_keeps_the_history(world: World, meeting: Meeting) -> None:
    w, unit = world, world.units[0]
    council_services.check_in(actor=w.alice, meeting=meeting, unit=unit)
    council_services.check_out(actor=w.alice, meeting=meeting, unit=unit)
    council_services.check_in(actor=w.alice, meeting=meeting, unit=unit)
    stays = Attendance.objects.filter(meeting=meeting, unit=unit)
    assert stays.count() == 2 and stays.filter(checked_out_at__isnull=True).count() == 1
    assert council_services.check_out(actor=w.alice, meeting=meeting, unit=w.units[5]) is None


def test_the_quorum_counts_only_eligible_units(world: World, meeting: Meeting) -> None:
    w = world
    check_in_units(w, meeting, [*w.units[:14], w.partner])
    line = council_queries.quorum(meeting)
    assert (line.count, line.total, line.required, line.met) == (14, 21, 15, False)
    check_in_units(w, meeting, [w.units[14]])
    assert council_queries.quorum(meeting).met


def test_delegates_check_their_own_unit_in_online_only(world: World) -> None:
    w = world
    in_person = new_meeting(w)
    refused(
        lambda: council_services.check_in(actor=w.bob, meeting=in_person, unit=w.units[0]),
        Forbidden,
    )
    online = new_meeting(w, mode=Meeting.Mode.ONLINE)
    refused(
        lambda: council_services.check_in(actor=w.bob, meeting=online, unit=w.units[1]), Forbidden
    )
    council_services.check_in(actor=w.bob, meeting=online, unit=w.units[0])
    assert council_queries.quorum(online).count == 1


def test_another_councils_secretary_sees_nothing(world: World, meeting: Meeting) -> None:
    refused(
        lambda: council_services.check_in(actor=world.erin, meeting=meeting, unit=world.units[0]),
        NotFound,
    )
    refused(lambda: council_services.adjourn_meeting(actor=world.erin, meeting=meeting), NotFound)


def test_delegates_and_auditors_cannot_run_the_meeting(world: World, meeting: Meeting) -> None:
    for person in (world.bob, world.dave):
        refused(
            lambda p=person: council_services.adjourn_meeting(actor=p, meeting=meeting), Forbidden
        )


def test_it_refuses_to_adjourn_while_a_vote_is_open(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    refused(
        lambda: council_services.adjourn_meeting(actor=world.alice, meeting=meeting),
        Conflict,
        Code.VOTE_OPEN,
    )
    proposal_services.close_vote(actor=world.alice, proposal=open_vote)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.ADJOURNED
    refused(
        lambda: council_services.adjourn_meeting(actor=world.alice, meeting=meeting),
        Conflict,
        Code.NOT_IN_SESSION,
    )
    refused(
        lambda: proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="Late"),
        Conflict,
        Code.MEETING_ADJOURNED,
    )


# --- Proposals ----------------------------------------------------------------------------


def test_proposals_can_be_prepared_before_the_meeting(world: World) -> None:
    meeting = new_meeting(world, start=False)
    first = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="A")
    second = proposal_services.create_proposal(
        actor=world.bob, meeting=meeting, title="B", proposer_unit=world.units[0]
    )
    assert (first.position, second.position) == (0, 1)
    assert second.status == Proposal.Status.DRAFT


def test_a_delegate_proposes_only_for_their_own_unit(world: World, meeting: Meeting) -> None:
    w = world
    refused(
        lambda: proposal_services.create_proposal(
            actor=w.bob, meeting=meeting, title="X", proposer_unit=w.units[1]
        ),
        Forbidden,
    )
    refused(
        lambda: proposal_services.create_proposal(actor=w.bob, meeting=meeting, title="X"),
        Forbidden,
    )


def test_bad_input_is_a_field_error(world: World, meeting: Meeting) -> None:
    error = refused(
        lambda: proposal_services.create_proposal(
            actor=world.alice, meeting=meeting, title="x" * 201
        ),
        Invalid,
    )
    assert "title" in error.errors  # type: ignore[attr-defined]


def test_withdraw_only_before_the_vote_opens(world: World, meeting: Meeting) -> None:
    draft = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="A")
    withdrawn = proposal_services.withdraw_proposal(actor=world.alice, proposal=draft)
    assert withdrawn.status == Proposal.Status.WITHDRAWN and withdrawn.withdrawn_at
    refused(
        lambda: proposal_services.withdraw_proposal(actor=world.alice, proposal=draft),
        Conflict,
        Code.NOT_DRAFT,
    )
    refused(
        lambda: proposal_services.open_vote(actor=world.alice, proposal=draft),
        Conflict,
        Code.NOT_DRAFT,
    )


# --- Opening a vote -------------------------------------------------------------------------


def test_a_vote_cannot_open_without_quorum(world: World, meeting: Meeting) -> None:
    w = world
    check_in_units(w, meeting, w.units[:14])  # exactly two thirds: not a quorum
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="A")
    error = refused(
        lambda: proposal_services.open_vote(actor=w.alice, proposal=proposal),
        Conflict,
        Code.NO_QUORUM,
    )
    assert "14 of 21" in error.message
    check_in_units(w, meeting, [w.units[14]])
    opened = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    assert opened.status == Proposal.Status.OPEN and opened.current_vote.opened_by == w.alice
    assert opened.rules == RuleSet().as_dict()
    refused(
        lambda: proposal_services.open_vote(actor=w.alice, proposal=proposal),
        Conflict,
        Code.NOT_DRAFT,
    )


def test_a_vote_opens_only_in_session(world: World) -> None:
    meeting = new_meeting(world, start=False)
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="A")
    refused(
        lambda: proposal_services.open_vote(actor=world.alice, proposal=proposal),
        Conflict,
        Code.NOT_IN_SESSION,
    )


def test_only_secretaries_open_and_close(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    for person in (world.bob, world.dave):
        refused(
            lambda p=person: proposal_services.close_vote(actor=p, proposal=open_vote), Forbidden
        )
    refused(lambda: proposal_services.close_vote(actor=world.erin, proposal=open_vote), NotFound)


# --- Casting ballots ------------------------------------------------------------------------


def test_casting_needs_an_open_vote(world: World, meeting: Meeting) -> None:
    w = world
    check_in_units(w, meeting, w.units[:15])
    draft = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="A")
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.bob, proposal=draft, unit=w.units[0], choice="yes"
        ),
        Conflict,
        Code.VOTE_NOT_OPEN,
    )
    proposal_services.open_vote(actor=w.alice, proposal=draft)
    proposal_services.close_vote(actor=w.alice, proposal=draft)
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.bob, proposal=draft, unit=w.units[0], choice="yes"
        ),
        Conflict,
        Code.VOTE_CLOSED,
    )


def test_a_passed_deadline_closes_the_vote_to_ballots(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    Vote.objects.filter(proposal=open_vote).update(
        deadline=timezone.now() - datetime.timedelta(seconds=1)
    )
    refused(
        lambda: proposal_services.cast_ballot(
            actor=world.bob, proposal=open_vote, unit=world.units[0], choice="yes"
        ),
        Conflict,
        Code.VOTE_CLOSED,
    )


def test_non_eligible_units_cannot_vote(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    w = world
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.alice, proposal=open_vote, unit=w.partner, choice="yes"
        ),
        Conflict,
        Code.NOT_ELIGIBLE,
    )
    late = member_services.create_unit(
        actor=w.alice, council=w.council, name="Late", short_name="L"
    )
    council_services.check_in(actor=w.alice, meeting=meeting, unit=late)
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.alice, proposal=open_vote, unit=late, choice="yes"
        ),
        Conflict,
        Code.NOT_ELIGIBLE,
    )


def test_in_person_a_unit_must_be_checked_in(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    w = world
    absent = w.units[20]
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.alice, proposal=open_vote, unit=absent, choice="yes"
        ),
        Conflict,
        Code.UNIT_NOT_PRESENT,
    )
    # A unit that leaves after voting keeps its ballot but cannot replace it.
    proposal_services.cast_ballot(actor=w.bob, proposal=open_vote, unit=w.units[0], choice="no")
    council_services.check_out(actor=w.alice, meeting=meeting, unit=w.units[0])
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.bob, proposal=open_vote, unit=w.units[0], choice="yes"
        ),
        Conflict,
        Code.UNIT_NOT_PRESENT,
    )
    closed = proposal_services.close_vote(actor=w.alice, proposal=open_vote)
    # Counted present for this vote because it voted, though checked out at the close.
    assert closed.result["present"] == 15 and closed.result["no"] == 1


def test_online_casting_checks_the_unit_in(world: World) -> None:
    w = world
    meeting = new_meeting(w, mode=Meeting.Mode.HYBRID)
    proposal = open_proposal(w, meeting, present=15)
    assert council_queries.quorum(meeting).count == 15
    proposal_services.cast_ballot(
        actor=w.carol, proposal=proposal, unit=w.units[1], choice="yes"
    )  # already present
    absent = w.units[20]
    member_services.grant_role(
        actor=w.alice, user=w.dave, council=w.council, role="delegate", unit=absent
    )
    proposal_services.cast_ballot(actor=w.dave, proposal=proposal, unit=absent, choice="yes")
    assert council_queries.quorum(meeting).count == 16
    assert actions()[-2:] == ["attendance.checked_in", "vote.ballot_cast"]


def test_one_unit_one_ballot_the_latest_counts(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    w = world
    proposal_services.cast_ballot(actor=w.bob, proposal=open_vote, unit=w.units[0], choice="no")
    ballot = proposal_services.cast_ballot(
        actor=w.bea, proposal=open_vote, unit=w.units[0], choice="yes"
    )
    assert Ballot.objects.filter(vote__proposal=open_vote).count() == 1
    assert (ballot.choice, ballot.cast_by, ballot.recorded_by_secretary) == ("yes", w.bea, False)
    events = LedgerEvent.objects.filter(action="vote.ballot_cast").order_by("seq")
    assert [(e.actor, e.data["choice"], e.data["previous"]) for e in events] == [
        ("bob", "no", None),
        ("bea", "yes", "no"),
    ]


def test_the_secretary_records_votes_given_in_the_room(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    ballot = proposal_services.cast_ballot(
        actor=world.alice, proposal=open_vote, unit=world.units[5], choice="abstain"
    )
    assert ballot.recorded_by_secretary and ballot.cast_by == world.alice


def test_no_one_casts_for_a_unit_they_do_not_represent(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    w = world
    for person in (w.carol, w.dave):
        refused(
            lambda p=person: proposal_services.cast_ballot(
                actor=p, proposal=open_vote, unit=w.units[0], choice="yes"
            ),
            Forbidden,
        )
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.erin, proposal=open_vote, unit=w.units[0], choice="yes"
        ),
        NotFound,
    )


def test_an_unknown_choice_is_a_field_error(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    error = refused(
        lambda: proposal_services.cast_ballot(
            actor=world.bob, proposal=open_vote, unit=world.units[0], choice="maybe"
        ),
        Invalid,
    )
    assert list(error.errors) == ["choice"]  # type: ignore[attr-defined]


# --- Closing --------------------------------------------------------------------------------


def cast_all(w: World, proposal: Proposal, choices: list[str]) -> None:
    for unit, choice in zip(w.units, choices, strict=False):
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice=choice)


def test_the_chair_units_proposal_with_8_yes_is_rejected(world: World, meeting: Meeting) -> None:
    w = world
    proposal = open_proposal(w, meeting, present=15, proposer=w.chair)
    cast_all(w, proposal, ["yes"] * 8 + ["no"] * 4 + ["abstain"] * 3)
    closed = proposal_services.close_vote(actor=w.alice, proposal=proposal)
    assert closed.outcome == "rejected" and closed.current_vote.closed_by == w.alice
    assert closed.closed_at
    result = closed.result
    assert (
        result["eligible"],
        result["present"],
        result["yes"],
        result["no"],
        result["abstain"],
        result["not_voted"],
    ) == (21, 15, 8, 4, 3, 0)
    assert result["quorum"]["required"] == 15 and result["majority"]["required"] == 11
    assert result["readings"] == {"members": "rejected", "present": "passed", "cast": "passed"}
    assert result["explanation"].splitlines() == [
        "Attendance 15 of 21 units — more than 14 needed — quorum met.",
        "Yes 8 of 21 member units — more than 10.5 needed (11) — rejected.",
        "Other readings: of units present (15) → passed; of votes cast (12) → passed. "
        "The readings disagree: this council's choice of basis decides.",
    ]
    assert len(result["present_units"]) == 15
    refused(
        lambda: proposal_services.close_vote(actor=w.alice, proposal=proposal),
        Conflict,
        Code.VOTE_CLOSED,
    )


def test_lost_quorum_at_close_is_no_quorum_not_rejected(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    w = world
    proposal_services.cast_ballot(actor=w.alice, proposal=open_vote, unit=w.units[0], choice="yes")
    for unit in w.units[10:15]:
        council_services.check_out(actor=w.alice, meeting=meeting, unit=unit)
    closed = proposal_services.close_vote(actor=w.alice, proposal=open_vote)
    assert closed.outcome == "no_quorum" and closed.result["present"] == 10


def test_the_rule_set_is_frozen_when_the_vote_opens(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    w = world
    council_services.update_council(
        actor=w.root,
        council=w.council,
        rules=RuleSet(quorum=Threshold(1, 2), majority=Threshold(1, 2), basis=Basis.CAST),
    )
    cast_all(w, open_vote, ["yes"] * 8 + ["no"] * 4)
    closed = proposal_services.close_vote(actor=w.alice, proposal=open_vote)
    assert closed.rules["majority"]["basis"] == "members"
    assert closed.outcome == "rejected"  # 8 of 21 members; under the new basis it would pass
    assert closed.result["readings"]["cast"] == "passed"


def test_a_vote_that_nobody_attends_does_not_pass(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    closed = proposal_services.close_vote(actor=None, proposal=open_vote)  # the system
    assert closed.outcome == "rejected" and closed.result["not_voted"] == 15
    assert LedgerEvent.objects.filter(action="vote.closed").get().actor == "system"


def test_every_change_is_in_the_ledger_and_the_chain_verifies(
    world: World, meeting: Meeting
) -> None:
    w = world
    proposal = open_proposal(w, meeting)
    cast_all(w, proposal, ["yes"] * 12)
    proposal_services.close_vote(actor=w.alice, proposal=proposal)
    council_services.adjourn_meeting(actor=w.alice, meeting=meeting)
    assert actions().count("vote.ballot_cast") == 12
    assert {
        "council.created",
        "unit.created",
        "role.granted",
        "meeting.scheduled",
        "meeting.started",
        "attendance.checked_in",
        "proposal.created",
        "vote.opened",
        "vote.closed",
        "meeting.adjourned",
    } <= set(actions())
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.events == LedgerEvent.objects.count()


def test_only_administrators_change_the_rule_set(world: World) -> None:
    lenient = RuleSet(quorum=Threshold(1, 10, strict=False), basis=Basis.CAST)
    refused(
        lambda: council_services.update_council(
            actor=world.alice, council=world.council, rules=lenient
        ),
        Forbidden,
    )
    council_services.update_council(actor=world.root, council=world.council, rules=lenient)
    world.council.refresh_from_db()
    assert world.council.rule_set == lenient


def test_a_secretary_records_ballots_only_for_units_present(world: World) -> None:
    w = world
    meeting = new_meeting(w, mode=Meeting.Mode.HYBRID)
    proposal = open_proposal(w, meeting, present=15)
    refused(
        lambda: proposal_services.cast_ballot(
            actor=w.alice, proposal=proposal, unit=w.units[20], choice="yes"
        ),
        Conflict,
        Code.UNIT_NOT_PRESENT,
    )


def test_eligibility_follows_the_councils_calendar(db: None) -> None:
    from zoneinfo import ZoneInfo

    from .personas import make_user

    root = make_user("root-ny", is_superuser=True, is_staff=True)
    council = council_services.create_council(
        actor=root, name="NY", slug="ny", time_zone="America/New_York"
    )
    unit = member_services.create_unit(actor=root, council=council, name="A", short_name="A")
    assert unit.joined_on == timezone.now().astimezone(ZoneInfo("America/New_York")).date()
    meeting = council_services.create_meeting(
        actor=root, council=council, title="M", scheduled_at=timezone.now()
    )
    meeting = council_services.start_meeting(actor=root, meeting=meeting)
    assert list(meeting.eligible_units.all()) == [unit]


def test_bad_input_is_reported_before_the_state(world: World, meeting: Meeting) -> None:
    error = refused(
        lambda: council_services.update_meeting(
            actor=world.alice, meeting=meeting, mode="carrier-pigeon"
        ),
        Invalid,
    )
    assert "mode" in error.errors  # type: ignore[attr-defined]


def test_one_vote_at_a_time_in_a_meeting(
    world: World, meeting: Meeting, open_vote: Proposal
) -> None:
    second = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="2")
    refused(
        lambda: proposal_services.open_vote(actor=world.alice, proposal=second),
        Conflict,
        Code.VOTE_OPEN,
    )


def test_an_adjourned_meetings_agenda_is_closed(world: World, meeting: Meeting) -> None:
    draft = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="D")
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    for call in (
        lambda: proposal_services.update_proposal(actor=world.alice, proposal=draft, title="X"),
        lambda: proposal_services.withdraw_proposal(actor=world.alice, proposal=draft),
        lambda: proposal_services.move_proposal(actor=world.alice, proposal=draft, up=True),
    ):
        refused(call, Conflict, Code.MEETING_ADJOURNED)


# --- Nobody grants themselves a role; a secretary's ballot is always theirs as secretary ----


def test_nobody_grants_a_role_to_themselves(world: World) -> None:
    before = (Role.objects.count(), LedgerEvent.objects.count())
    with pytest.raises(Forbidden, match="yourself"):
        member_services.grant_role(
            actor=world.alice,
            user=world.alice,
            council=world.council,
            role="delegate",
            unit=world.units[20],
        )
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.post(
        "/api/v1/roles/",
        {"council": world.council.pk, "username": "alice", "role": "auditor"},
        format="json",
    )
    assert response.status_code == 403 and "yourself" in response.json()["detail"]
    assert (Role.objects.count(), LedgerEvent.objects.count()) == before
    # Another secretary's grant is the ordinary path; so is the site's administrator's own.
    member_services.grant_role(
        actor=world.alice,
        user=world.dave,
        council=world.council,
        role="delegate",
        unit=world.units[20],
    )
    member_services.grant_role(
        actor=world.root, user=world.root, council=world.council, role="auditor"
    )


def test_a_secretary_who_is_also_a_delegate_casts_as_the_secretary(world: World) -> None:
    w = world
    absent = w.units[20]
    member_services.grant_role(
        actor=w.root, user=w.alice, council=w.council, role="delegate", unit=absent
    )
    meeting = new_meeting(w, mode=Meeting.Mode.ONLINE)
    proposal = open_proposal(w, meeting, present=15)
    before = LedgerEvent.objects.count()
    # A delegate's online cast would check the unit in; the secretary's records a ballot
    # given by a unit present, so the unit must be checked in first (and visibly).
    with pytest.raises(Conflict) as info:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=absent, choice="yes")
    assert info.value.code == Code.UNIT_NOT_PRESENT
    assert LedgerEvent.objects.count() == before
    council_services.check_in(actor=w.alice, meeting=meeting, unit=absent)
    ballot = proposal_services.cast_ballot(
        actor=w.alice, proposal=proposal, unit=absent, choice="yes"
    )
    assert ballot.recorded_by_secretary and ballot.cast_by == w.alice
    cast = LedgerEvent.objects.filter(action="vote.ballot_cast").latest("seq")
    assert cast.data["recorded_by_secretary"] is True
