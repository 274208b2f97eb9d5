"""Races on real PostgreSQL, with real threads, each on its own connection.

These tests commit for real (``transaction=True``): row locks only mean something
between separate transactions. They start all threads at one barrier so the calls
really overlap, then check the stored rows, the recount and the ledger chain.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connection, transaction

from council import ledger
from council import services as council_services
from council.errors import Code, Conflict
from council.locking import lock
from council.models import Attendance, LedgerEvent, Meeting
from members import services as member_services
from members.models import Role
from proposals import services as proposal_services
from proposals import tally
from proposals.models import Ballot, Proposal

from .personas import World, build_world, check_in_units, make_user, new_meeting

pytestmark = pytest.mark.django_db(transaction=True)


# Callable[..., Any]: the calls bind their loop variables as lambda defaults
# (``lambda u=u: ...``), which mypy cannot match with Callable[[], Any].
def at_once(calls: Sequence[Callable[..., Any]]) -> list[Any]:
    """Run every call in its own thread, released together; return results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread hung: lock wait or deadlock"
    return results


def assert_chain_linear() -> None:
    report = ledger.verify()
    assert report.ok, report.problems
    for council_id in LedgerEvent.objects.values_list("council", flat=True).distinct():
        seqs = list(
            LedgerEvent.objects.filter(council_id=council_id)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))


def delegates_for(w: World, units: list[Any]) -> list[Any]:
    people = []
    for unit in units:
        user = make_user(f"d-{unit.short_name}")
        member_services.grant_role(
            actor=w.alice, user=user, council=w.council, role=Role.Kind.DELEGATE, unit=unit
        )
        people.append(user)
    return people


def test_50_units_casting_at_once_store_50_ballots() -> None:
    w = build_world(n_units=50)
    meeting = new_meeting(w, mode=Meeting.Mode.ONLINE)
    check_in_units(w, meeting, w.units[:34])  # 34 of 50 is more than two thirds
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    people = delegates_for(w, w.units)
    choices = ["yes", "no", "abstain"]

    results = at_once(
        [
            lambda u=u, p=p, c=choices[i % 3]: proposal_services.cast_ballot(
                actor=p, proposal=proposal, unit=u, choice=c
            )
            for i, (u, p) in enumerate(zip(w.units, people, strict=True))
        ]
    )

    assert [r for r in results if not isinstance(r, Ballot)] == []
    assert Ballot.objects.filter(vote__proposal=proposal).count() == 50
    # The 16 units not yet present were checked in by their cast, once each.
    assert Attendance.objects.filter(meeting=meeting).count() == 50
    closed = proposal_services.close_vote(actor=w.alice, proposal=proposal)
    assert (closed.result["yes"], closed.result["no"], closed.result["abstain"]) == (17, 17, 16)
    assert closed.result["present"] == 50
    assert LedgerEvent.objects.filter(action="vote.ballot_cast").count() == 50
    assert_chain_linear()


def test_20_concurrent_casts_for_one_unit_leave_exactly_one_ballot() -> None:
    w = build_world()
    meeting = new_meeting(w, mode=Meeting.Mode.HYBRID)
    check_in_units(w, meeting, w.units[1:16])
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    unit = w.units[0]  # not checked in yet: every cast also races to check it in
    casters = [w.bob, w.bea] * 10  # the two delegates of U01, racing each other
    choices = ["yes", "no", "abstain"] * 7

    results = at_once(
        [
            lambda a=a, c=c: proposal_services.cast_ballot(
                actor=a, proposal=proposal, unit=unit, choice=c
            )
            for a, c in zip(casters[:20], choices[:20], strict=True)
        ]
    )

    assert all(isinstance(r, Ballot) for r in results), results
    ballot = Ballot.objects.get(vote__proposal=proposal, unit=unit)
    events = LedgerEvent.objects.filter(action="vote.ballot_cast").order_by("seq")
    assert events.count() == 20
    # The stored ballot is the last one the ledger recorded, and each event names the
    # choice it replaced: the replacements form one unbroken history.
    assert events.last().data["choice"] == ballot.choice
    history = [e.data for e in events]
    assert history[0]["previous"] is None
    assert all(h["previous"] == prev["choice"] for prev, h in itertools.pairwise(history))
    assert Attendance.objects.filter(meeting=meeting, unit=unit).count() == 1
    assert LedgerEvent.objects.filter(action="attendance.checked_in").count() == 16
    assert_chain_linear()


def test_casts_racing_a_close_are_all_counted_or_all_refused() -> None:
    w = build_world(n_units=40)
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units)
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    people = delegates_for(w, w.units)

    casts = [
        lambda u=u, p=p: proposal_services.cast_ballot(
            actor=p, proposal=proposal, unit=u, choice="yes"
        )
        for u, p in zip(w.units, people, strict=True)
    ]
    close = [lambda: proposal_services.close_vote(actor=w.alice, proposal=proposal)]
    results = at_once(casts[:20] + close + casts[20:])

    closed = next(r for r in results if isinstance(r, Proposal))
    accepted = {r.unit_id for r in results if isinstance(r, Ballot)}
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, Conflict) and r.code == Code.VOTE_CLOSED for r in refused), refused
    assert len(accepted) + len(refused) == 40
    stored = set(Ballot.objects.filter(vote__proposal=proposal).values_list("unit_id", flat=True))
    # Every accepted cast is in the result; nothing was stored after the close.
    assert stored == accepted
    assert closed.result["yes"] == len(accepted)
    assert not Ballot.objects.filter(vote__proposal=proposal, cast_at__gt=closed.closed_at).exists()
    assert tally.recount(Proposal.objects.get(pk=proposal.pk).current_vote) == {}
    assert_chain_linear()


def test_5_concurrent_closes_give_one_result() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    for unit in w.units[:9]:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="yes")

    results = at_once([lambda: proposal_services.close_vote(actor=w.alice, proposal=proposal)] * 5)

    assert len([r for r in results if isinstance(r, Proposal)]) == 1
    assert all(r.code == Code.VOTE_CLOSED for r in results if not isinstance(r, Proposal)), results
    assert LedgerEvent.objects.filter(action="vote.closed").count() == 1
    assert Proposal.objects.get(pk=proposal.pk).outcome == "rejected"  # 9 of 21: not > 10.5
    assert_chain_linear()


def test_a_vote_never_opens_in_a_meeting_being_adjourned() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposals = [
        proposal_services.create_proposal(actor=w.alice, meeting=meeting, title=f"M{i}")
        for i in range(3)
    ]
    results = at_once(
        [lambda: council_services.adjourn_meeting(actor=w.alice, meeting=meeting)]
        + [lambda p=p: proposal_services.open_vote(actor=w.alice, proposal=p) for p in proposals]
    )
    meeting.refresh_from_db()
    opened = Proposal.objects.filter(meeting=meeting, status="open").count()
    # Either the adjournment won (no vote opened) or it was refused (votes opened).
    if meeting.status == Meeting.Status.ADJOURNED:
        assert opened == 0
        assert all(r.code == Code.NOT_IN_SESSION for r in results[1:])
    else:
        assert opened >= 1
        assert isinstance(results[0], Conflict) and results[0].code == Code.VOTE_OPEN
    assert_chain_linear()


def seq_of(action: str, **data: Any) -> int | None:
    for event in LedgerEvent.objects.filter(action=action).order_by("seq"):
        if all(event.data.get(k) == v for k, v in data.items()):
            return event.seq
    return None


def test_a_unit_leaving_never_votes_after_it_left() -> None:
    w = build_world()
    meeting = new_meeting(w)  # in person: casting needs presence
    check_in_units(w, meeting, w.units)
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    racing = w.units[:8]
    calls: list[Callable[..., Any]] = []
    for unit in racing:
        calls.append(
            lambda u=unit: proposal_services.cast_ballot(
                actor=w.alice, proposal=proposal, unit=u, choice="yes"
            )
        )
        calls.append(
            lambda u=unit: council_services.check_out(actor=w.alice, meeting=meeting, unit=u)
        )
    results = at_once(calls)

    refusals = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, Conflict) and r.code == Code.UNIT_NOT_PRESENT for r in refusals)
    for unit in racing:
        cast = seq_of("vote.ballot_cast", unit=unit.pk)
        left = seq_of("attendance.checked_out", unit=unit.pk)
        assert left is not None
        # Either the ballot came first, or there is none: never a ballot after leaving.
        assert cast is None or cast < left
        assert Ballot.objects.filter(unit=unit).exists() is (cast is not None)
    assert_chain_linear()


def test_units_leaving_during_the_close_are_counted_as_the_ledger_says() -> None:
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:16])
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    for unit in w.units[:10]:
        proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="yes")
    leaving = w.units[10:16]  # present, no ballot: their departure changes the count
    results = at_once(
        [
            lambda u=u: council_services.check_out(actor=w.alice, meeting=meeting, unit=u)
            for u in leaving[:3]
        ]
        + [lambda: proposal_services.close_vote(actor=w.alice, proposal=proposal)]
        + [
            lambda u=u: council_services.check_out(actor=w.alice, meeting=meeting, unit=u)
            for u in leaving[3:]
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    closed = Proposal.objects.get(pk=proposal.pk)
    close_seq = seq_of("vote.closed")
    for unit in leaving:
        left_before_close = seq_of("attendance.checked_out", unit=unit.pk) < close_seq
        assert (unit.pk in closed.result["present_units"]) is not left_before_close
    assert closed.result["present"] == len(closed.result["present_units"])
    assert_chain_linear()


def _lock_waiters() -> int:
    """Backends of this test database waiting for a lock (row or advisory)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def _until(condition: Callable[[], bool], *, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_casts_arriving_after_a_close_queue_behind_it_and_are_refused() -> None:
    # PostgreSQL lets a new FOR SHARE locker of a row pass an exclusive locker that waits,
    # so without the meeting's gate a stream of casts keeps a close waiting for as long
    # as the stream lasts. Here one cast is in flight (it holds the meeting as a cast
    # does), a close arrives and waits for it, then a second cast arrives: it must wait
    # behind the close, and find the vote closed.
    w = build_world()
    meeting = new_meeting(w)
    check_in_units(w, meeting, w.units[:15])
    proposal = proposal_services.create_proposal(actor=w.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    late_voter = delegates_for(w, [w.units[0]])[0]
    holding, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def in_flight() -> None:
        try:
            with transaction.atomic():
                lock(Meeting, meeting.pk, shared=True)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def record(name: str, call: Callable[[], Any]) -> threading.Thread:
        def run() -> None:
            try:
                results[name] = call()
            except Exception as exc:
                results[name] = exc
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    first = threading.Thread(target=in_flight)
    first.start()
    assert holding.wait(timeout=20)
    close = record("close", lambda: proposal_services.close_vote(actor=w.alice, proposal=proposal))
    assert _until(lambda: _lock_waiters() >= 1), "the close did not wait for the cast in flight"
    cast = record(
        "cast",
        lambda: proposal_services.cast_ballot(
            actor=late_voter, proposal=proposal, unit=w.units[0], choice="yes"
        ),
    )
    # The late cast either finishes at once (it passed the waiting close) or queues.
    _until(lambda: "cast" in results or _lock_waiters() >= 2)
    release.set()
    for thread in (first, close, cast):
        thread.join(timeout=60)
        assert not thread.is_alive(), "a thread hung"

    assert isinstance(results["close"], Proposal), results["close"]
    refused = results["cast"]
    assert isinstance(refused, Conflict) and refused.code == Code.VOTE_CLOSED, refused
    assert not Ballot.objects.filter(vote__proposal=proposal).exists()
    assert_chain_linear()
