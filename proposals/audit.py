"""The auditor's check: the ledger chains, then the stored state against the ledger.

A chain that verifies proves the events are as they were written. The stored rows are
then compared with what the events say, so editing a row (a ballot, a frozen result,
the rule set of a vote, a meeting's snapshot) is caught even when the row stays
consistent with itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from council import ledger
from council.models import Attendance, Council, LedgerEvent, Meeting
from members.models import MemberUnit

from . import rules as rule_module
from . import tally
from .models import Ballot, Vote

_REPLAYED = (
    "council.created",
    "council.updated",
    "unit.created",
    "unit.updated",
    "meeting.started",
    "attendance.checked_in",
    "attendance.checked_out",
    "proposal.created",
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

# The result's fields a replay re-derives (the rest repeat the rule set or these).
_DERIVED = ("eligible", "present", "yes", "no", "abstain", "not_voted", "outcome", "readings")


def vote_key(ref: str, data: dict[str, Any]) -> VoteKey:
    """The vote an event is about. Events written before votes were records of their
    own name the proposal and concern its first (and then only) vote."""
    kind, pk = ledger.parse_ref(ref)
    if kind == "proposal":
        return (pk, 1)
    return (data["proposal"], data["number"])


def vote_name(key: VoteKey) -> str:
    return f"proposal {key[0]}, vote {key[1]}"


@dataclass
class Stay:
    """One attendance as the ledger tells it (times as ``ledger.format_time`` writes
    them, which sort as the moments do)."""

    meeting: int
    unit: int
    checked_in_at: str
    checked_out_at: str | None = None


def rules_for(council_rules: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The rule set a vote of ``kind`` freezes under the council's rules record (None
    when the record predates special resolutions and the vote is one)."""
    if kind == "special":
        special = council_rules.get("special_majority")
        if special is None:
            return None
        return {"quorum": council_rules["quorum"], "majority": special}
    return {"quorum": council_rules["quorum"], "majority": council_rules["majority"]}


class _Ledger:
    """What the events say: each council's rules, each unit, each attendance, each
    meeting's snapshot, each vote and each ballot — and what does not add up among
    them (a vote opened under rules the council did not have, a close that counted
    units the attendance does not place in the room)."""

    def __init__(self, council_ids: list[int] | None) -> None:
        self.councils: dict[int, dict[str, Any]] = {}
        self.units: dict[int, dict[str, Any]] = {}
        self.stays: dict[int, Stay] = {}
        self.meeting_stays: dict[int, list[Stay]] = {}
        self.proposal_meeting: dict[int, int] = {}
        self.meeting_eligible: dict[int, list[int]] = {}
        self.eligible: dict[VoteKey, list[int]] = {}
        self.rules: dict[VoteKey, Any] = {}
        self.deadlines: dict[VoteKey, str | None] = {}
        self.results: dict[VoteKey, Any] = {}
        self.ballots: dict[tuple[VoteKey, int], str] = {}
        self.vote_ballots: dict[VoteKey, dict[int, str]] = {}
        self.late: list[tuple[int, int, VoteKey]] = []  # (council, seq, vote)
        self.problems: list[tuple[int, int, str, str]] = []  # (council, seq, kind, detail)
        events = LedgerEvent.objects.filter(action__in=_REPLAYED)
        if council_ids is not None:
            events = events.filter(council_id__in=council_ids)
        rows = events.order_by("council_id", "seq").values_list(
            "council_id", "seq", "action", "object", "data"
        )
        for council, seq, action, ref, data in rows.iterator(chunk_size=5000):
            try:
                self._replay(council, seq, action, ref, data)
            except (KeyError, TypeError, ValueError) as exc:
                # An event the chain vouches for but whose data cannot be read: a
                # finding, not a crash (the rest of the chain is still checked).
                self.problems.append((council, seq, "unreadable_event", f"{action} {ref}: {exc!r}"))

    def _replay(self, council: int, seq: int, action: str, ref: str, data: Any) -> None:
        _kind, pk = ledger.parse_ref(ref)
        if action in ("council.created", "council.updated"):
            known = self.councils.setdefault(pk, {})
            known.update({k: data[k] for k in ("name", "time_zone", "rules") if k in data})
        elif action in ("unit.created", "unit.updated"):
            self.units.setdefault(pk, {"council": council}).update(data)
        elif action == "attendance.checked_in":
            stay = Stay(meeting=pk, unit=data["unit"], checked_in_at=data["at"])
            self.stays[data["attendance"]] = stay
            self.meeting_stays.setdefault(pk, []).append(stay)
        elif action == "attendance.checked_out":
            self.stays[data["attendance"]].checked_out_at = data["at"]
        elif action == "meeting.started":
            self.meeting_eligible[pk] = sorted(data["eligible_units"])
        elif action == "proposal.created":
            self.proposal_meeting[pk] = data["meeting"]
        elif action in ("vote.opened", "proposal.vote_opened"):
            self._opened(council, seq, vote_key(ref, data), data)
        elif action in ("vote.ballot_cast", "proposal.ballot_cast"):
            key = vote_key(ref, data)
            if key in self.results:
                self.late.append((council, seq, key))
            self.ballots[(key, data["unit"])] = data["choice"]
            self.vote_ballots.setdefault(key, {})[data["unit"]] = data["choice"]
        elif action in ("vote.closed", "proposal.vote_closed"):
            key = vote_key(ref, data)
            self.results[key] = data["result"]
            self._closed(council, seq, key, data)

    def present_at(self, meeting: int, moment: str) -> set[int]:
        """The meeting's eligible units checked in at ``moment``, by the ledger."""
        eligible = set(self.meeting_eligible.get(meeting, ()))
        return {
            s.unit
            for s in self.meeting_stays.get(meeting, ())
            if s.unit in eligible
            and s.checked_in_at <= moment
            and (s.checked_out_at is None or s.checked_out_at > moment)
        }

    def _opened(self, council: int, seq: int, key: VoteKey, data: dict[str, Any]) -> None:
        self.rules[key] = data["rules"]
        self.deadlines[key] = data.get("deadline")
        if "eligible_units" in data:
            self.eligible[key] = sorted(data["eligible_units"])
        charter = self.councils.get(council, {}).get("rules")
        frozen = rules_for(charter, data.get("kind", "ordinary")) if charter else None
        if frozen is not None and frozen != data["rules"]:
            self.problems.append(
                (
                    council,
                    seq,
                    "rules_not_the_councils",
                    f"{vote_name(key)}: opened with a rule set other than the council's "
                    "as its ledger records it",
                )
            )
        meeting = self.proposal_meeting.get(key[0])
        # Votes written before votes were records do not say when they opened.
        if meeting is None or "opened_at" not in data or "quorum" not in data:
            return
        present = len(self.present_at(meeting, data["opened_at"]))
        eligible = len(self.eligible_of(key, meeting) or [])
        if data["quorum"] != {"eligible": eligible, "present": present}:
            self.problems.append(
                (
                    council,
                    seq,
                    "attendance_mismatch",
                    f"{vote_name(key)}: opened counting {data['quorum']} but the ledger's "
                    f"attendance gives {eligible} eligible, {present} present",
                )
            )

    def _closed(self, council: int, seq: int, key: VoteKey, data: dict[str, Any]) -> None:
        """Re-derive the frozen result from the ledger alone: its attendance at the
        close (at the deadline, for a vote that reached it), its ballots, the snapshot
        and the rule set the vote opened with."""
        meeting = self.proposal_meeting.get(key[0])
        eligible = self.eligible_of(key, meeting) if meeting is not None else None
        if meeting is None or eligible is None or key not in self.rules:
            return  # reported as a snapshot or rules mismatch against the stored vote
        deadline = self.deadlines.get(key)
        moment = deadline if deadline and deadline <= data["closed_at"] else data["closed_at"]
        ballots = self.vote_ballots.get(key, {})
        present = self.present_at(meeting, moment) | set(ballots)
        result = data["result"]
        name = vote_name(key)
        if sorted(present) != result.get("present_units"):
            self.problems.append(
                (
                    council,
                    seq,
                    "attendance_mismatch",
                    f"{name}: the units counted present at the close differ from the "
                    "ledger's attendance and ballots",
                )
            )
        choices = list(ballots.values())
        try:
            derived = rule_module.evaluate(
                rule_module.Counts(
                    eligible=len(eligible),
                    present=len(present),
                    yes=choices.count("yes"),
                    no=choices.count("no"),
                    abstain=choices.count("abstain"),
                ),
                rule_module.RuleSet.from_dict(self.rules[key]),
            ).as_dict()
        except rule_module.RuleError as exc:
            self.problems.append((council, seq, "result_mismatch", f"{name}: {exc}"))
            return
        differ = sorted(k for k in _DERIVED if result.get(k) != derived[k])
        if differ:
            self.problems.append(
                (
                    council,
                    seq,
                    "result_mismatch",
                    f"{name}: the result recorded at the close differs from one re-derived "
                    f"from the ledger ({', '.join(differ)})",
                )
            )

    def eligible_of(self, key: VoteKey, meeting_id: int) -> list[int] | None:
        """A vote's snapshot as the ledger says: its own, or (first votes written before
        votes were records) its meeting's, which it was."""
        if key in self.eligible:
            return self.eligible[key]
        return self.meeting_eligible.get(meeting_id)


def _check_councils(report: ledger.Report, said: _Ledger, wanted: list[int] | None) -> None:
    """Each council's name, time zone and rules as its events last set them. A record
    written before special resolutions existed has no special majority: that part of
    the stored rules is then not checked."""
    councils = Council.objects.all() if wanted is None else Council.objects.filter(pk__in=wanted)
    for council in councils.order_by("pk"):
        logged = said.councils.get(council.pk)
        if logged is None:
            report.problem(
                council.pk, None, "council_mismatch", f"council {council.pk}: not in its ledger"
            )
            continue
        stored: dict[str, Any] = {
            "name": council.name,
            "time_zone": council.time_zone,
            "rules": council.rules_record(),
        }
        if "rules" in logged and "special_majority" not in logged["rules"]:
            del stored["rules"]["special_majority"]
        differ = sorted(k for k in logged if logged[k] != stored[k])
        if differ:
            report.problem(
                council.pk,
                None,
                "council_mismatch",
                f"council {council.pk}: {', '.join(differ)} differ(s) from the ledger",
            )


def _check_units(report: ledger.Report, said: _Ledger, wanted: list[int] | None) -> None:
    """Each unit's names, voting status, label and membership dates as its events last
    set them (only the fields its events carry)."""
    units = (
        MemberUnit.objects.all()
        if wanted is None
        else MemberUnit.objects.filter(council_id__in=wanted)
    )
    for unit in units.order_by("pk").iterator(chunk_size=2000):
        logged = said.units.get(unit.pk)
        if logged is None or logged["council"] != unit.council_id:
            report.problem(
                unit.council_id,
                None,
                "unit_mismatch",
                f"unit {unit.pk}: not in its council's ledger",
            )
            continue
        stored = {
            "name": unit.name,
            "short_name": unit.short_name,
            "voting": unit.voting,
            "label": unit.label,
            "joined_on": unit.joined_on.isoformat() if unit.joined_on else None,
            "left_on": unit.left_on.isoformat() if unit.left_on else None,
        }
        differ = sorted(k for k in stored if k in logged and logged[k] != stored[k])
        if differ:
            report.problem(
                unit.council_id,
                None,
                "unit_mismatch",
                f"unit {unit.pk} ({unit.short_name}): {', '.join(differ)} "
                "differ(s) from the ledger",
            )


def _check_attendance(report: ledger.Report, said: _Ledger, wanted: list[int] | None) -> None:
    """Every stored stay against its check-in and check-out events, and back."""
    stays = Attendance.objects.select_related("meeting")
    if wanted is not None:
        stays = stays.filter(meeting__council_id__in=wanted)
    seen: set[int] = set()
    for stay in stays.order_by("pk").iterator(chunk_size=2000):
        seen.add(stay.pk)
        logged = said.stays.get(stay.pk)
        stored = Stay(
            meeting=stay.meeting_id,
            unit=stay.unit_id,
            checked_in_at=ledger.format_time(stay.checked_in_at),
            checked_out_at=ledger.format_time(stay.checked_out_at) if stay.checked_out_at else None,
        )
        if logged != stored:
            report.problem(
                stay.meeting.council_id,
                None,
                "attendance_mismatch",
                f"attendance {stay.pk} (meeting {stay.meeting_id}, unit {stay.unit_id}): "
                "differs from its check-in and check-out in the ledger",
            )
    for pk in sorted(said.stays.keys() - seen):
        logged = said.stays[pk]
        report.problem(
            None,
            None,
            "attendance_missing",
            f"attendance {pk} (meeting {logged.meeting}, unit {logged.unit}): "
            "recorded in the ledger but not stored",
        )


def parse_head(text: str) -> tuple[int, str]:
    """``"SEQ:HASH"`` → ``(seq, hash)``; ValueError for anything else.

    Only ASCII digits: ``int()`` also reads other scripts' digits (U+0667 is 7)."""
    if not re.fullmatch(ledger.HEAD_PATTERN[1:-1], text):
        raise ValueError(f"not SEQ:HASH (a number, a colon, 64 hex digits): {text!r}")
    seq, _sep, digest = text.partition(":")
    return int(seq), digest


def _check_expected_heads(
    report: ledger.Report, wanted: list[int] | None, heads: Iterable[tuple[int, str]]
) -> None:
    """Each head a member kept must be an event of a verified chain, with that hash: the
    chain then extends it (its links from there on are checked)."""
    for seq, digest in heads:
        events = LedgerEvent.objects.filter(seq=seq)
        if wanted is not None:
            events = events.filter(council_id__in=wanted)
        found = dict(events.values_list("hash", "council_id"))
        if digest in found:
            continue
        council = next(iter(found.values())) if len(found) == 1 else None
        if not found:
            report.problem(
                None, seq, "expected_head_missing", f"{seq}:{digest}: no chain reaches event {seq}"
            )
        else:
            report.problem(
                council,
                seq,
                "expected_head_not_extended",
                f"{seq}:{digest}: the chain does not extend this head (its event {seq} has "
                "another hash)",
            )


def verify(
    council_ids: Iterable[int] | None = None, expect_heads: Iterable[tuple[int, str]] = ()
) -> dict[str, Any]:
    """Re-check the chains, then every stored snapshot, vote, result and ballot, and that
    the chains extend each of ``expect_heads`` (``(seq, hash)`` kept by a member).

    Returns the report of ``GET /api/v1/audit/verify/``: ``ok``, ``events`` checked,
    ``head`` (each chain's last hash by council) and ``problems``.
    """
    wanted = list(council_ids) if council_ids is not None else None
    report = ledger.verify(wanted)
    _check_expected_heads(report, wanted, expect_heads)
    said = _Ledger(wanted)
    for council, seq, (proposal_pk, number) in said.late:
        report.problem(
            council,
            seq,
            "ballot_after_close",
            f"proposal {proposal_pk}, vote {number}: a ballot was recorded after its vote closed",
        )

    for council, seq, kind, detail in said.problems:
        report.problem(council, seq, kind, detail)
    _check_councils(report, said, wanted)
    _check_units(report, said, wanted)
    _check_attendance(report, said, wanted)

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
