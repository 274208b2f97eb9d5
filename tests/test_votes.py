"""Votes as records of their own: a void vote put again, and special resolutions.

A proposal is put to the vote zero or more times. Each vote freezes its own rule set and
snapshot; a proposal whose last vote was void (``no_quorum``) may be opened again, a
passed or rejected one is final.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from council import services as council_services
from council.errors import Code, Conflict
from council.models import Meeting
from proposals import audit, services, verify_export
from proposals.exports import json_export
from proposals.models import Ballot, Proposal, Vote
from proposals.rules import Basis, Threshold

from .personas import World, check_in_units, open_proposal

API = "/api/v1"


def cast(w: World, proposal: Proposal, choices: list[str]) -> None:
    for unit, choice in zip(w.units, choices, strict=False):
        services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice=choice)


def void_vote(w: World, meeting: Meeting) -> Proposal:
    """A vote that loses its quorum before the close: 15 present, 2 leave → 13 of 21."""
    proposal = open_proposal(w, meeting, present=15)
    cast(w, proposal, ["yes"] * 10)
    for unit in w.units[13:15]:
        council_services.check_out(actor=w.alice, meeting=meeting, unit=unit)
    closed = services.close_vote(actor=w.alice, proposal=proposal)
    assert closed.outcome == "no_quorum"
    return closed


def voted_twice(w: World, meeting: Meeting) -> Proposal:
    """A void vote, then the same proposal put again with 17 present: passed with 12 yes."""
    proposal = void_vote(w, meeting)
    check_in_units(w, meeting, w.units[13:17])
    again = services.open_vote(actor=w.alice, proposal=proposal)
    cast(w, again, ["yes"] * 12)
    return services.close_vote(actor=w.alice, proposal=again)


def test_a_void_vote_can_be_put_again_and_both_stay_on_record(
    world: World, meeting: Meeting
) -> None:
    w = world
    proposal = void_vote(w, meeting)
    check_in_units(w, meeting, w.units[13:17])  # 17 present now
    again = services.open_vote(actor=w.alice, proposal=proposal)
    first, second = list(Vote.objects.filter(proposal=proposal).order_by("number"))
    assert again.status == Proposal.Status.OPEN and again.current_vote == second
    assert (first.number, first.outcome, second.number, second.closed_at) == (
        1,
        "no_quorum",
        2,
        None,
    )
    # The new vote starts with no ballot; the void one keeps its ten.
    assert Ballot.objects.filter(vote=first).count() == 10
    assert not Ballot.objects.filter(vote=second).exists()
    cast(w, again, ["yes"] * 12 + ["no"] * 5)
    closed = services.close_vote(actor=w.alice, proposal=again)
    assert closed.outcome == "passed" and closed.result["yes"] == 12
    # Both are decisions of the register, and both verify against the ledger.
    register = APIClient()
    register.force_authenticate(w.dave)
    rows = register.get(f"{API}/decisions/?council={w.council.pk}").json()["results"]
    assert [(r["proposal"], r["number"], r["outcome"]) for r in rows] == [
        (proposal.pk, 1, "no_quorum"),
        (proposal.pk, 2, "passed"),
    ]
    assert {r["id"] for r in rows} == {proposal.pk}
    report = audit.verify([w.council.pk])
    assert report["ok"], report["problems"]


def test_a_passed_or_rejected_proposal_is_final(world: World, meeting: Meeting) -> None:
    proposal = open_proposal(world, meeting)
    cast(world, proposal, ["no"] * 15)
    services.close_vote(actor=world.alice, proposal=proposal)
    with pytest.raises(Conflict) as refused:
        services.open_vote(actor=world.alice, proposal=proposal)
    assert refused.value.code == Code.NOT_DRAFT
    assert Vote.objects.filter(proposal=proposal).count() == 1


def test_the_api_lists_a_proposals_votes_and_refuses_to_reopen_a_decision(
    world: World, meeting: Meeting
) -> None:
    proposal = void_vote(world, meeting)
    check_in_units(world, meeting, world.units[13:17])
    client = APIClient()
    client.force_authenticate(world.alice)
    opened = client.post(f"{API}/proposals/{proposal.pk}/open/")
    assert opened.status_code == 200, opened.json()
    body = opened.json()
    assert (body["status"], body["outcome"], body["kind"]) == ("open", None, "ordinary")
    assert [v["outcome"] for v in body["votes"]] == ["no_quorum", None]
    assert body["council"] == world.council.pk
    # The ballot path acts on the current vote.
    put = client.put(
        f"{API}/proposals/{proposal.pk}/ballots/{world.units[0].pk}/",
        {"choice": "no"},
        format="json",
    )
    assert put.status_code == 200
    tally = client.post(f"{API}/proposals/{proposal.pk}/close/").json()
    assert (tally["kind"], tally["outcome"], tally["no"]) == ("ordinary", "rejected", 1)
    again = client.post(f"{API}/proposals/{proposal.pk}/open/")
    assert again.status_code == 409 and again.json()["code"] == "not_draft"


def test_a_special_resolution_freezes_the_special_majority(world: World, meeting: Meeting) -> None:
    w = world
    check_in_units(w, meeting, w.units[:21])
    special = services.create_proposal(
        actor=w.alice, meeting=meeting, title="Amend the charter", kind=Proposal.Kind.SPECIAL
    )
    opened = services.open_vote(actor=w.alice, proposal=special)
    assert opened.current_vote.kind == "special"
    assert opened.rules["majority"] == {
        "numerator": 2,
        "denominator": 3,
        "strict": False,
        "basis": "members",
    }
    # At least 2/3 of 21 is 14: 13 yes would pass an ordinary resolution, not this one.
    cast(w, opened, ["yes"] * 13 + ["no"] * 8)
    assert services.close_vote(actor=w.alice, proposal=opened).outcome == "rejected"

    ordinary = services.create_proposal(actor=w.alice, meeting=meeting, title="Ordinary")
    ordinary = services.open_vote(actor=w.alice, proposal=ordinary)
    cast(w, ordinary, ["yes"] * 13 + ["no"] * 8)
    assert services.close_vote(actor=w.alice, proposal=ordinary).outcome == "passed"


def test_a_later_change_of_the_special_rule_leaves_an_open_special_vote_alone(
    world: World, meeting: Meeting
) -> None:
    w = world
    check_in_units(w, meeting, w.units[:21])
    special = services.create_proposal(
        actor=w.alice, meeting=meeting, title="Dissolve", kind=Proposal.Kind.SPECIAL
    )
    special = services.open_vote(actor=w.alice, proposal=special)
    stricter = w.council.rule_set_for(Proposal.Kind.SPECIAL)
    council_services.update_council(
        actor=w.root,
        council=w.council,
        special=type(stricter)(
            quorum=stricter.quorum, majority=Threshold(3, 4, strict=False), basis=Basis.MEMBERS
        ),
    )
    w.council.refresh_from_db()
    assert w.council.rules_record()["special_majority"]["numerator"] == 3
    cast(w, special, ["yes"] * 14 + ["no"] * 7)  # 14 of 21: meets 2/3, not 3/4
    assert services.close_vote(actor=w.alice, proposal=special).outcome == "passed"


def test_the_kind_is_chosen_while_a_draft(world: World, meeting: Meeting) -> None:
    draft = services.create_proposal(actor=world.alice, meeting=meeting, title="Draft")
    services.update_proposal(actor=world.alice, proposal=draft, kind=Proposal.Kind.SPECIAL)
    draft.refresh_from_db()
    assert draft.kind == "special"
    check_in_units(world, meeting, world.units[:15])
    opened = services.open_vote(actor=world.alice, proposal=draft)
    with pytest.raises(Conflict) as refused:
        services.update_proposal(actor=world.alice, proposal=opened, kind="ordinary")
    assert refused.value.code == Code.NOT_DRAFT


def test_the_offline_verifier_re_derives_every_vote_of_a_proposal(
    world: World, meeting: Meeting
) -> None:
    w = world
    proposal = voted_twice(w, meeting)
    export = json.loads("".join(json_export(Vote.objects.closed())))
    assert [(d["id"], d["number"]) for d in export["decisions"]] == [
        (proposal.pk, 1),
        (proposal.pk, 2),
    ]
    checked = verify_export.verify(export)
    assert checked.problems == []
    # Dropping the void vote from an unfiltered export is found.
    export["decisions"] = export["decisions"][1:]
    assert any("vote 1 on proposal" in p for p in verify_export.verify(export).problems)


def test_verify_ledger_finds_a_deleted_ballot_of_a_second_vote(
    world: World, meeting: Meeting
) -> None:
    w = world
    proposal = voted_twice(w, meeting)
    second = Vote.objects.get(proposal=proposal, number=2)
    Ballot.objects.filter(vote=second, unit=w.units[11]).delete()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_ledger", stdout=out)
    problems = {p["problem"] for p in json.loads(out.getvalue())["problems"]}
    assert {"ballot_missing", "result_mismatch"} <= problems
