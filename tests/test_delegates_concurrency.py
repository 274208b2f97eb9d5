"""Races of the show of hands on real PostgreSQL, with real threads (issue 13).

The show of hands takes the same locks as a cast, for many units at once: it must not
deadlock with the casts of those units (also when one person is the delegate of two of
them, so both casts tell that person), and against a close it is counted whole or
refused whole.
"""

from __future__ import annotations

from typing import Any

import pytest

from council import services as council_services
from council.errors import Conflict
from members import services as member_services
from members.models import Role
from proposals import services as proposal_services
from proposals.models import Ballot, Notification

from .personas import build_world, make_user, new_meeting, open_proposal
from .test_concurrency import assert_chain_linear, at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _delegate(w: Any, name: str, *units: Any) -> Any:
    user = make_user(name)
    for unit in units:
        member_services.grant_role(
            actor=w.alice, user=user, council=w.council, role=Role.Kind.DELEGATE, unit=unit
        )
    return user


def test_a_show_of_hands_racing_the_units_own_casts_never_deadlocks() -> None:
    w = build_world()
    u3, u4 = w.units[2], w.units[3]
    pat = _delegate(w, "pat", u3, u4)  # tells pat about both units' replacements
    quinn, rose = _delegate(w, "quinn", u3), _delegate(w, "rose", u4)
    for _ in range(4):
        proposal = open_proposal(w, new_meeting(w))
        for unit in (u3, u4):
            proposal_services.cast_ballot(actor=pat, proposal=proposal, unit=unit, choice="yes")
        hands = {unit: "no" for unit in w.units[:15]}
        results = at_once(
            [
                lambda p=proposal, h=hands: proposal_services.record_show_of_hands(
                    actor=w.alice, proposal=p, choices=h
                ),
                lambda p=proposal: proposal_services.cast_ballot(
                    actor=quinn, proposal=p, unit=u3, choice="abstain"
                ),
                lambda p=proposal: proposal_services.cast_ballot(
                    actor=rose, proposal=p, unit=u4, choice="abstain"
                ),
            ]
        )
        assert not any(isinstance(r, Exception) for r in results), results
        vote = proposal.current_vote
        assert Ballot.objects.filter(vote=vote).count() == 15
        # pat was told (once per vote), whichever replacement came first.
        assert Notification.objects.filter(
            vote=vote, kind=Notification.Kind.REPLACED, user=pat
        ).exists()
        proposal_services.close_vote(actor=w.alice, proposal=proposal)
        council_services.adjourn_meeting(actor=w.alice, meeting=proposal.meeting)
    assert_chain_linear()


def test_a_show_of_hands_racing_a_close_is_counted_whole_or_refused_whole() -> None:
    w = build_world()
    for _ in range(4):
        proposal = open_proposal(w, new_meeting(w))
        hands = {unit: "yes" for unit in w.units[:15]}
        hands_result, _closed = at_once(
            [
                lambda p=proposal, h=hands: proposal_services.record_show_of_hands(
                    actor=w.alice, proposal=p, choices=h
                ),
                lambda p=proposal: proposal_services.close_vote(actor=w.alice, proposal=p),
            ]
        )
        vote = proposal.current_vote
        vote.refresh_from_db()
        stored = Ballot.objects.filter(vote=vote).count()
        if isinstance(hands_result, Conflict):
            assert stored == 0
        else:
            assert not isinstance(hands_result, Exception), hands_result
            assert stored == 15
        assert vote.result["yes"] == stored  # the close counted exactly what is stored
        council_services.adjourn_meeting(actor=w.alice, meeting=proposal.meeting)
    assert_chain_linear()
