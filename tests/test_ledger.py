"""The hash chain: it verifies when untouched and names each kind of tampering."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from council import ledger
from council.models import LedgerEvent, LedgerHead
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal, Vote

from .conftest import lift_ledger_protection
from .personas import World, open_proposal


@pytest.fixture
def history(world: World, meeting) -> World:
    proposal = open_proposal(world, meeting)
    for unit in world.units[:12]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    # The tamper tests below write around the database's append-only protection, as an
    # attacker who owns the table would; the test's rollback restores it.
    lift_ledger_protection()
    return world


def events(w: World) -> list[LedgerEvent]:
    return list(LedgerEvent.objects.filter(council=w.council).order_by("seq"))


def kinds() -> set[str]:
    return {p["problem"] for p in ledger.verify().problems}


def test_an_untouched_chain_verifies(history: World) -> None:
    report = ledger.verify()
    chain = events(history)
    assert report.ok and report.events == LedgerEvent.objects.count()
    assert report.heads[history.council.pk] == chain[-1].hash
    assert chain[0].prev_hash == ledger.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))


def test_each_hash_is_sha256_of_the_canonical_event(history: World) -> None:
    import hashlib

    event = events(history)[5]
    body = {
        "council": event.council_id,
        "seq": event.seq,
        "at": ledger.format_time(event.at),
        "actor": event.actor,
        "action": event.action,
        "object": event.object,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == event.hash


def test_it_catches_an_edited_event(history: World) -> None:
    event = events(history)[10]
    LedgerEvent.objects.filter(pk=event.pk).update(data={**event.data, "choice": "no"})
    assert kinds() == {"hash_mismatch"}


def test_it_catches_a_deleted_event(history: World) -> None:
    LedgerEvent.objects.filter(pk=events(history)[10].pk).delete()
    assert {"gap", "broken_link"} <= kinds()


def test_it_catches_two_events_swapped(history: World) -> None:
    a, b = events(history)[10:12]
    LedgerEvent.objects.filter(pk=a.pk).update(seq=10_000)
    LedgerEvent.objects.filter(pk=b.pk).update(seq=a.seq)
    LedgerEvent.objects.filter(pk=a.pk).update(seq=b.seq)
    assert "broken_link" in kinds()


def test_it_catches_a_truncated_tail(history: World) -> None:
    LedgerEvent.objects.filter(pk__in=[e.pk for e in events(history)[-3:]]).delete()
    assert kinds() == {"head_mismatch"}


def test_it_catches_a_rewritten_head(history: World) -> None:
    LedgerHead.objects.filter(pk=history.council.pk).delete()
    assert kinds() == {"missing_head"}


def test_it_catches_a_stored_ballot_changed_after_the_close(history: World) -> None:
    closed = Proposal.objects.get(status="closed")
    Ballot.objects.filter(vote=closed.current_vote, choice="yes").update(choice="no")
    out = _verify_command(expect_failure=True)
    assert {p["problem"] for p in out["problems"]} == {"result_mismatch", "ballot_mismatch"}
    assert f"proposal {closed.pk}" in out["problems"][0]["detail"]


def test_it_catches_a_flipped_outcome_that_is_consistent_with_itself(history: World) -> None:
    """An attacker rewrites the vote's basis, outcome and result together: the row agrees
    with itself and with its ballots, but not with what the ledger recorded."""
    closed = Proposal.objects.get(status="closed")
    rules = {**closed.rules, "majority": {**closed.rules["majority"], "basis": "cast"}}
    result = {
        **closed.result,
        "outcome": "passed",
        "rules": rules,
        "majority": {**closed.result["majority"], "basis": "cast"},
    }
    Vote.objects.filter(proposal=closed).update(rules=rules, result=result, outcome="passed")
    assert {"rules_mismatch", "result_mismatch"} <= {
        p["problem"] for p in _verify_command(expect_failure=True)["problems"]
    }


def test_it_catches_a_deleted_ballot_and_an_edited_snapshot(history: World) -> None:
    closed = Proposal.objects.get(status="closed")
    Ballot.objects.filter(vote__proposal=closed).first().delete()
    closed.current_vote.eligible_units.remove(history.units[20])
    problems = {p["problem"] for p in _verify_command(expect_failure=True)["problems"]}
    assert {"ballot_missing", "snapshot_mismatch", "result_mismatch"} <= problems


def test_it_catches_a_council_whose_chain_was_removed(history: World) -> None:
    LedgerEvent.objects.filter(council=history.council).delete()
    LedgerHead.objects.filter(pk=history.council.pk).delete()
    assert "missing_head" in kinds()


def test_verify_ledger_reports_json_and_exits_non_zero(history: World) -> None:
    assert _verify_command()["ok"] is True
    LedgerEvent.objects.filter(pk=events(history)[3].pk).update(actor="mallory")
    out = _verify_command(expect_failure=True)
    assert out["ok"] is False and out["problems"][0]["seq"] == 4


@pytest.mark.django_db(transaction=True)
def test_append_refuses_to_run_outside_a_transaction() -> None:
    # A real autocommit connection: the test case's own transaction would hide the error.
    from .personas import build_world

    council = build_world(n_units=2).council
    with pytest.raises(RuntimeError):
        ledger.append(council_id=council.pk, actor=None, action="x", object="x", data={})
    assert ledger.verify().ok


def test_append_refuses_data_that_would_not_hash_back(world: World) -> None:
    with pytest.raises(ValueError), transaction.atomic():
        ledger.append(
            council_id=world.council.pk,
            actor=None,
            action="x",
            object="x",
            data={"n": float("nan")},
        )


def _verify_command(*, expect_failure: bool = False) -> dict[str, Any]:
    from io import StringIO

    from django.core.management.base import CommandError

    out = StringIO()
    if expect_failure:
        with pytest.raises(CommandError):
            call_command("verify_ledger", stdout=out)
    else:
        call_command("verify_ledger", stdout=out)
    return json.loads(out.getvalue())


def test_it_catches_a_forked_chain(history: World) -> None:
    """Two events claiming the same place: possible only with the constraints dropped."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE council_ledgerevent DROP CONSTRAINT ledger_one_event_per_seq")
        cursor.execute(
            "ALTER TABLE council_ledgerevent DROP CONSTRAINT ledger_one_successor_per_event"
        )
    original = events(history)[10]
    fields: dict[str, Any] = dict(
        council=history.council.pk,
        seq=original.seq,
        at=ledger.format_time(original.at),
        actor="mallory",
        action=original.action,
        object=original.object,
        data={**original.data, "choice": "no"},
        prev_hash=original.prev_hash,
    )
    LedgerEvent.objects.create(
        council_id=history.council.pk,
        seq=original.seq,
        at=original.at,
        actor="mallory",
        action=original.action,
        object=original.object,
        data=fields["data"],
        prev_hash=original.prev_hash,
        hash=ledger.event_hash(**fields),
    )
    assert {"duplicate_seq", "broken_link"} <= kinds()


def test_the_database_refuses_to_rewrite_the_ledger(world: World) -> None:
    event = LedgerEvent.objects.filter(council=world.council).first()
    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")  # see lift_ledger_protection
    # A test on real transactions ends with a flush, for which conftest lets TRUNCATE
    # through: on a test database that ran one before, put the table as production has it
    # (inside this test's transaction, which its rollback ends).
    connection.cursor().execute("ALTER TABLE council_ledgerevent ENABLE TRIGGER ledger_no_truncate")
    for statement in (
        lambda: LedgerEvent.objects.filter(pk=event.pk).update(actor="mallory"),
        lambda: LedgerEvent.objects.filter(pk=event.pk).delete(),
        lambda: connection.cursor().execute("TRUNCATE council_ledgerevent CASCADE"),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            statement()
    assert LedgerEvent.objects.get(pk=event.pk).actor == event.actor
    assert ledger.verify().ok
