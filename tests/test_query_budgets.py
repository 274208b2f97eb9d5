"""Query budgets on the hot paths: a regression here fails the suite (no timings).

Each budget is checked at two council sizes, so a query per unit (N+1) fails too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from proposals import services as proposal_services

from .personas import build_world, check_in_units, new_meeting

# Casting: the actor's roles (1), the meeting's gate and its share lock (2), the vote's
# share lock with the unit's eligibility (1), the unit's attendance under a share lock
# (1); the ballot: a
# first one is one INSERT ... ON CONFLICT DO NOTHING, a replacement adds an UPDATE that
# reads the old choice under the row lock (1-2); the ledger head lock (1) and the event
# insert with the head update in one statement (1). Inside a test's transaction the
# service's own atomic block adds a savepoint and its release (2).
# A close writes the vote's record and its proposal's status: one statement more than when
# the proposal carried its vote. The close passes the meeting's gate too (1).
BUDGET = {"first_cast": 10, "replace": 11, "close": 13}


def queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [3, 60])
def test_casting_and_closing_cost_a_fixed_number_of_queries(size: int) -> None:
    w = build_world(n_units=size)
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units)
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    for unit in w.units[1:]:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="yes")

    def cast(choice: str) -> Callable[[], Any]:
        return lambda: proposal_services.cast_ballot(
            actor=w.bob, proposal=proposal, unit=w.units[0], choice=choice
        )

    cost = {
        "first_cast": queries(cast("no")),
        "replace": queries(cast("yes")),
        "close": queries(lambda: proposal_services.close_vote(actor=w.alice, proposal=proposal)),
    }
    assert cost == BUDGET


# The agenda reads its proposals' votes (one prefetch), and the meeting page first the
# agenda's order to show one page of it; the minutes list closed votes and read
# the council's ledger head as printed (members keep it for --expect-head).
PAGE_BUDGET = {
    "meeting": 11,
    "projector": 10,
    "vote": 10,
    "quorum": 6,
    # The attendance table alone (polled every 3 s): the meeting, the roles, session and
    # user, then units, snapshot, open stays.
    "attendance": 7,
    "minutes": 15,
    "council": 8,
}


@pytest.mark.django_db
@pytest.mark.parametrize("size", [25, 250])
def test_the_meeting_room_costs_a_fixed_number_of_queries(size: int) -> None:
    from django.test import Client
    from django.urls import reverse

    w = build_world(n_units=size)
    meeting = new_meeting(w)
    quorum = size * 2 // 3 + 1
    check_in_units(w, meeting, w.units[:quorum])
    proposals = [
        proposal_services.create_proposal(actor=w.alice, meeting=meeting, title=f"P{i}")
        for i in range(20)
    ]
    for proposal in proposals[:5]:  # five decided, one open, fourteen drafts
        proposal_services.open_vote(actor=w.alice, proposal=proposal)
        for unit in w.units[:10]:
            proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="yes")
        proposal_services.close_vote(actor=w.alice, proposal=proposal)
    proposal_services.open_vote(actor=w.alice, proposal=proposals[5])
    for unit in w.units[:12]:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposals[5], unit=unit, choice="no")

    client = Client()
    client.force_login(w.alice)
    urls = {
        "meeting": reverse("meeting", args=[meeting.pk]),
        "projector": reverse("projector", args=[meeting.pk]),
        "vote": reverse("meeting-live", args=[meeting.pk, "vote"]),
        "quorum": reverse("meeting-live", args=[meeting.pk, "quorum"]),
        "attendance": reverse("meeting-live", args=[meeting.pk, "attendance"]),
        "minutes": reverse("minutes", args=[meeting.pk]),
        "council": reverse("council", args=[w.council.slug]),
    }
    cost = {}
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        cost[name] = len(ctx.captured_queries)
    assert cost == PAGE_BUDGET
    assert max(cost.values()) <= 20


# Through the API a cast adds the token (1), the proposal (1), the unit (1) and the roles
# (1), which the view hands to the service instead of the service reading them again;
# the service's own statements are those of BUDGET above.
# Pages: the ballot page, the register.
HOT_PATH_BUDGET = {
    "api_cast": 13,
    "api_replace": 14,
    "api_tally": 6,  # the proposal with its votes, then the count
    # The proposal, then its current vote; the unit's ballot history from the ledger (1)
    # and, in person, whether the unit is checked in (1).
    "ballot_page": 10,
    # The register first closes any vote past its deadline (the read-time close): one
    # indexed query for open votes with a passed deadline, usually answering nothing.
    "register": 7,
}


@pytest.mark.django_db
@pytest.mark.parametrize("size", [25, 250])
def test_the_delegate_and_auditor_paths_cost_a_fixed_number_of_queries(size: int) -> None:
    from django.test import Client
    from django.urls import reverse

    from members import services as member_services

    w = build_world(n_units=size)
    meeting = new_meeting(w)
    present = w.units[: size * 2 // 3 + 1]
    check_in_units(w, meeting, present)
    for i in range(3):  # a register with decisions in it
        decided = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title=f"D{i}")
        proposal_services.open_vote(actor=w.alice, proposal=decided)
        for unit in present[1:10]:
            proposal_services.cast_ballot(actor=w.alice, proposal=decided, unit=unit, choice="yes")
        proposal_services.close_vote(actor=w.alice, proposal=decided)
    vote = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="Open")
    proposal_services.open_vote(actor=w.alice, proposal=vote)
    for unit in present[1:]:
        proposal_services.cast_ballot(actor=w.alice, proposal=vote, unit=unit, choice="no")

    api = Client(HTTP_AUTHORIZATION=f"Token {member_services.issue_token(user=w.bob)[1]}")
    secretary_api = Client(
        HTTP_AUTHORIZATION=f"Token {member_services.issue_token(user=w.alice)[1]}"
    )
    delegate, auditor = Client(), Client()
    delegate.force_login(w.bob)
    auditor.force_login(w.dave)
    ballot_url = f"/api/v1/proposals/{vote.pk}/ballots/{w.units[0].pk}/"

    def cost(call: Callable[[], Any]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            answer = call()
        assert answer.status_code == 200, answer.content
        return len(ctx.captured_queries)

    measured = {
        "api_cast": cost(
            lambda: api.put(ballot_url, {"choice": "yes"}, content_type="application/json")
        ),
        "api_replace": cost(
            lambda: api.put(ballot_url, {"choice": "no"}, content_type="application/json")
        ),
        "api_tally": cost(lambda: secretary_api.get(f"/api/v1/proposals/{vote.pk}/tally/")),
        "ballot_page": cost(lambda: delegate.get(reverse("ballot-page", args=[vote.pk]))),
        "register": cost(lambda: auditor.get(reverse("register", args=[w.council.slug]))),
    }
    assert measured == HOT_PATH_BUDGET
