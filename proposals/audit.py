"""The auditor's check: the ledger chains, then the stored state against the ledger.

A chain that verifies proves the events are as they were written. The stored rows are
then compared with what the events say, so editing a row (a ballot, a frozen result,
the rule set of a vote, a meeting's snapshot) is caught even when the row stays
consistent with itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from council import ledger
from council.models import LedgerEvent, Meeting

from . import tally
from .models import Ballot, Vote

_REPLAYED = (
    "meeting.started",
    "vote.opened",
    "vote.ballot_cast",
    "vote.closed",
    # Written before votes were records of their own: events of a proposal's first vote.
    "proposal.vote_opened",
    "proposal.ballot_cast",
    "proposal.vote_closed",
)

# A vote as the ledger names it, whatever the era of its events: (proposal, number).
VoteKey = tuple[int, int]


def vote_key(ref: str, data: dict[str, Any]) -> VoteKey:
    """The vote an event is about. Events written before votes were records of their
    own name the proposal and concern its first (and then only) vote."""
    kind, pk = ledger.parse_ref(ref)
    if kind == "proposal":
        return (pk, 1)
    return (data["proposal"], data["number"])


class _Ledger:
    """What the events say about each meeting's snapshot, each vote and each ballot."""

    def __init__(self, council_ids: list[int] | None) -> None:
        self.meeting_eligible: dict[int, list[int]] = {}
        self.eligible: dict[VoteKey, list[int]] = {}
        self.rules: dict[VoteKey, Any] = {}
        self.results: dict[VoteKey, Any] = {}
        self.ballots: dict[tuple[VoteKey, int], str] = {}
        self.late: list[tuple[int, int, VoteKey]] = []  # (council, seq, vote)
        events = LedgerEvent.objects.filter(action__in=_REPLAYED)
        if council_ids is not None:
            events = events.filter(council_id__in=council_ids)
        rows = events.order_by("council_id", "seq").values_list(
            "council_id", "seq", "action", "object", "data"
        )
        for council, seq, action, ref, data in rows.iterator(chunk_size=5000):
            if action == "meeting.started":
                self.meeting_eligible[ledger.parse_ref(ref)[1]] = sorted(data["eligible_units"])
                continue
            key = vote_key(ref, data)
            if action in ("vote.opened", "proposal.vote_opened"):
                self.rules[key] = data["rules"]
                if "eligible_units" in data:
                    self.eligible[key] = sorted(data["eligible_units"])
            elif action in ("vote.ballot_cast", "proposal.ballot_cast"):
                if key in self.results:
                    self.late.append((council, seq, key))
                self.ballots[(key, data["unit"])] = data["choice"]
            else:
                self.results[key] = data["result"]

    def eligible_of(self, key: VoteKey, meeting_id: int) -> list[int] | None:
        """A vote's snapshot as the ledger says: its own, or (first votes written before
        votes were records) its meeting's, which it was."""
        if key in self.eligible:
            return self.eligible[key]
        return self.meeting_eligible.get(meeting_id)


def verify(council_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """Re-check the chains, then every stored snapshot, vote, result and ballot.

    Returns the report of ``GET /api/v1/audit/verify/``: ``ok``, ``events`` checked,
    ``head`` (each chain's last hash by council) and ``problems``.
    """
    wanted = list(council_ids) if council_ids is not None else None
    report = ledger.verify(wanted)
    said = _Ledger(wanted)
    for council, seq, (proposal_pk, number) in said.late:
        report.problem(
            council,
            seq,
            "ballot_after_close",
            f"proposal {proposal_pk}, vote {number}: a ballot was recorded after its vote closed",
        )

    meetings = Meeting.objects.exclude(status=Meeting.Status.SCHEDULED)
    votes = Vote.objects.select_related("proposal")
    ballots = Ballot.objects.select_related("vote__proposal")
    if wanted is not None:
        meetings = meetings.filter(council_id__in=wanted)
        votes = votes.filter(proposal__council_id__in=wanted)
        ballots = ballots.filter(vote__proposal__council_id__in=wanted)

    for meeting in meetings.prefetch_related("eligible_units"):
        stored = sorted(u.pk for u in meeting.eligible_units.all())
        if said.meeting_eligible.get(meeting.pk) != stored:
            report.problem(
                meeting.council_id,
                None,
                "snapshot_mismatch",
                f"meeting {meeting.pk}: eligible units differ from the ledger",
            )

    snapshots: dict[int, set[int]] = {}
    for vote in votes.prefetch_related("eligible_units").iterator(chunk_size=500):
        proposal = vote.proposal
        council, key = proposal.council_id, (proposal.pk, vote.number)
        name = f"proposal {proposal.pk}, vote {vote.number}"
        stored_units = sorted(u.pk for u in vote.eligible_units.all())
        snapshots[vote.pk] = set(stored_units)
        if said.eligible_of(key, proposal.meeting_id) != stored_units:
            report.problem(
                council, None, "snapshot_mismatch", f"{name}: eligible units differ from the ledger"
            )
        if said.rules.get(key) != vote.rules:
            report.problem(
                council,
                None,
                "rules_mismatch",
                f"{name}: rule set differs from the one it opened with",
            )
        if vote.closed_at is None:
            continue
        stored_result = {k: v for k, v in (vote.result or {}).items() if k != "explanation"}
        logged = said.results.get(key)
        if logged != stored_result or (logged or {}).get("outcome") != vote.outcome:
            report.problem(
                council,
                None,
                "result_mismatch",
                f"{name}: stored result or outcome differs from the one recorded at the close",
            )
        diff = tally.recount(vote)
        if diff:
            report.problem(
                council,
                None,
                "result_mismatch",
                f"{name}: stored result differs from a recount of its ballots: {diff}",
            )

    seen: set[tuple[VoteKey, int]] = set()
    for ballot in ballots.iterator(chunk_size=2000):
        proposal = ballot.vote.proposal
        ballot_key = ((proposal.pk, ballot.vote.number), ballot.unit_id)
        seen.add(ballot_key)
        name = f"proposal {proposal.pk}, vote {ballot.vote.number}, unit {ballot.unit_id}"
        if said.ballots.get(ballot_key) != ballot.choice:
            report.problem(
                proposal.council_id,
                None,
                "ballot_mismatch",
                f"{name}: stored ballot differs from the last one the ledger recorded",
            )
        if ballot.unit_id not in snapshots.get(ballot.vote_id, set()):
            report.problem(
                proposal.council_id,
                None,
                "ballot_not_eligible",
                f"{name}: the unit was not eligible",
            )
    for (proposal_pk, number), unit in said.ballots.keys() - seen:
        report.problem(
            None,
            None,
            "ballot_missing",
            f"proposal {proposal_pk}, vote {number}, unit {unit}: a recorded ballot is not stored",
        )
    return {
        "ok": report.ok,
        "events": report.events,
        "head": {str(council): digest for council, digest in report.heads.items()},
        "problems": report.problems,
    }
