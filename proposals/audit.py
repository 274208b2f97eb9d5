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
from .models import Ballot, Proposal

_REPLAYED = (
    "meeting.started",
    "proposal.vote_opened",
    "proposal.ballot_cast",
    "proposal.vote_closed",
)


def _pk(ref: str) -> int:
    return int(ref.split(":", 1)[1])


class _Ledger:
    """What the events say about each meeting's snapshot, each vote and each ballot."""

    def __init__(self, council_ids: list[int] | None) -> None:
        self.eligible: dict[int, list[int]] = {}
        self.rules: dict[int, Any] = {}
        self.results: dict[int, Any] = {}
        self.ballots: dict[tuple[int, int], str] = {}
        self.late: list[tuple[int, int, int]] = []  # (council, seq, proposal)
        events = LedgerEvent.objects.filter(action__in=_REPLAYED)
        if council_ids is not None:
            events = events.filter(council_id__in=council_ids)
        rows = events.order_by("council_id", "seq").values_list(
            "council_id", "seq", "action", "object", "data"
        )
        for council, seq, action, ref, data in rows.iterator(chunk_size=5000):
            pk = _pk(ref)
            if action == "meeting.started":
                self.eligible[pk] = sorted(data["eligible_units"])
            elif action == "proposal.vote_opened":
                self.rules[pk] = data["rules"]
            elif action == "proposal.ballot_cast":
                if pk in self.results:
                    self.late.append((council, seq, pk))
                self.ballots[(pk, data["unit"])] = data["choice"]
            else:
                self.results[pk] = data["result"]


def verify(council_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """Re-check the chains, then every stored snapshot, vote, result and ballot.

    Returns the report of ``GET /api/v1/audit/verify/``: ``ok``, ``events`` checked,
    ``head`` (each chain's last hash by council) and ``problems``.
    """
    wanted = list(council_ids) if council_ids is not None else None
    report = ledger.verify(wanted)
    said = _Ledger(wanted)
    for council, seq, proposal in said.late:
        report.problem(
            council,
            seq,
            "ballot_after_close",
            f"proposal {proposal}: a ballot was recorded after its vote closed",
        )

    meetings = Meeting.objects.exclude(status=Meeting.Status.SCHEDULED)
    proposals = Proposal.objects.filter(
        status__in=[Proposal.Status.OPEN, Proposal.Status.CLOSED]
    ).select_related("meeting")
    ballots = Ballot.objects.select_related("proposal__meeting")
    if wanted is not None:
        meetings = meetings.filter(council_id__in=wanted)
        proposals = proposals.filter(meeting__council_id__in=wanted)
        ballots = ballots.filter(proposal__meeting__council_id__in=wanted)

    snapshots: dict[int, set[int]] = {}
    for meeting in meetings.prefetch_related("eligible_units"):
        stored = sorted(u.pk for u in meeting.eligible_units.all())
        snapshots[meeting.pk] = set(stored)
        if said.eligible.get(meeting.pk) != stored:
            report.problem(
                meeting.council_id,
                None,
                "snapshot_mismatch",
                f"meeting {meeting.pk}: eligible units differ from the ledger",
            )

    for proposal in proposals.iterator(chunk_size=500):
        council = proposal.meeting.council_id
        if said.rules.get(proposal.pk) != proposal.rules:
            report.problem(
                council,
                None,
                "rules_mismatch",
                f"proposal {proposal.pk}: rule set differs from the one it opened with",
            )
        if proposal.status != Proposal.Status.CLOSED:
            continue
        stored = {k: v for k, v in (proposal.result or {}).items() if k != "explanation"}
        logged = said.results.get(proposal.pk)
        if logged != stored or (logged or {}).get("outcome") != proposal.outcome:
            report.problem(
                council,
                None,
                "result_mismatch",
                f"proposal {proposal.pk}: stored result or outcome differs from "
                "the one recorded at the close",
            )
        diff = tally.recount(proposal)
        if diff:
            report.problem(
                council,
                None,
                "result_mismatch",
                f"proposal {proposal.pk}: stored result differs from a recount "
                f"of its ballots: {diff}",
            )

    seen: set[tuple[int, int]] = set()
    for ballot in ballots.iterator(chunk_size=2000):
        key = (ballot.proposal_id, ballot.unit_id)
        seen.add(key)
        council = ballot.proposal.meeting.council_id
        if said.ballots.get(key) != ballot.choice:
            report.problem(
                council,
                None,
                "ballot_mismatch",
                f"proposal {key[0]}, unit {key[1]}: stored ballot differs from "
                "the last one the ledger recorded",
            )
        if ballot.unit_id not in snapshots.get(ballot.proposal.meeting_id, set()):
            report.problem(
                council,
                None,
                "ballot_not_eligible",
                f"proposal {key[0]}, unit {key[1]}: the unit was not eligible",
            )
    for key in said.ballots.keys() - seen:
        report.problem(
            None,
            None,
            "ballot_missing",
            f"proposal {key[0]}, unit {key[1]}: a recorded ballot is not stored",
        )
    return {
        "ok": report.ok,
        "events": report.events,
        "head": {str(council): digest for council, digest in report.heads.items()},
        "problems": report.problems,
    }
