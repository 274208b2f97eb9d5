"""Use cases for proposals and their votes.

The vote services act on a proposal's *current vote* (its latest): that is what the
agenda, the ballot pages and the API's ``/proposals/{id}/...`` paths address.

How a cast and a close are kept from racing (see docs/architecture.md):

* ``cast_ballot`` holds a *shared* lock on the meeting and on the vote: many units cast
  at once, none waits for another except on the ledger append at the very end.
* ``close_vote`` takes an *exclusive* lock on the vote, so it waits until every cast in
  flight has committed, and every cast after it finds the vote closed. The result is
  counted from the committed ballots under that lock, so the stored result is exactly a
  recount of the stored ballots.
* ``open_vote`` and ``adjourn_meeting`` take the meeting's exclusive lock, so a vote
  cannot open in a meeting that is being adjourned.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Mapping
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from council import ledger, rows
from council.errors import Code, Conflict, Forbidden, Invalid, NotFound, check_model
from council.locking import lock
from council.models import Meeting
from council.queries import present_unit_ids, quorum
from council.services import hold_attendance, log_check_in, record_check_in
from members import permissions
from members.models import MemberUnit

from . import explain, notifications, tally
from .models import Ballot, Proposal, Vote

Actor = permissions.User


def _after_commit(task_name: str, vote_id: int) -> None:
    """Queue a notification task once the transaction commits (never for a rollback).

    Nothing is planned here: the vote's new state is itself the durable record that its
    emails are due. If the broker cannot take the task, ``deliver_pending``'s sweep finds
    the open or closed vote without planned emails and sends them — so a close stays a
    handful of statements however many people the council has.
    """
    # Looked up by its registered name: the tasks module calls these services, so they
    # do not import it (no import cycle). ``delay`` keeps eager mode working.
    task = current_app.tasks[f"proposals.tasks.{task_name}"]
    # robust: a broker or mail failure must not turn a committed change into an error.
    transaction.on_commit(lambda: task.delay(vote_id), robust=True)


def _time(at: datetime.datetime | None) -> str | None:
    return ledger.format_time(at) if at else None


def _council_id(proposal: Proposal) -> int:
    return proposal.council_id


# --- The agenda -------------------------------------------------------------------------


def _require_agenda_open(meeting: Meeting) -> None:
    """An adjourned meeting's agenda is part of its record: nothing is added or changed."""
    if meeting.status == Meeting.Status.ADJOURNED:
        raise Conflict(_("The meeting is adjourned."), code=Code.MEETING_ADJOURNED)


@transaction.atomic
def create_proposal(
    *,
    actor: Actor,
    meeting: Meeting,
    title: str,
    body: str = "",
    proposer_unit: MemberUnit | None = None,
    kind: str = Proposal.Kind.ORDINARY,
    deadline: datetime.datetime | None = None,
) -> Proposal:
    """Put a draft proposal on a meeting's agenda, at the end.

    ``kind`` says which majority it needs (the council's ordinary or special one).

    Secretaries add any proposal; a delegate submits drafts with their own unit as
    proposer. Proposals may be added to a scheduled meeting (to prepare its agenda) or
    one in session, not to an adjourned one.
    """
    allowed = permissions.access(actor, meeting.council_id)
    allowed.require(
        allowed.can_submit_for(proposer_unit.pk if proposer_unit else None),
        _("Delegates submit proposals in the name of their own unit only."),
    )
    if deadline is not None and not allowed.can_set_deadline:
        raise Invalid({"deadline": [_("Only the council's secretaries set deadlines.")]})
    if proposer_unit is not None and proposer_unit.council_id != meeting.council_id:
        raise Invalid({"proposer_unit": [_("This unit is not a member of the council.")]})
    proposal = Proposal(
        council_id=meeting.council_id,
        meeting=meeting,
        title=title,
        body=body,
        proposer_unit=proposer_unit,
        kind=kind,
        deadline=deadline,
        created_by=permissions.account(actor),
    )
    check_model(proposal, exclude=["position"])
    meeting = lock(Meeting, meeting.pk, shared=True)
    _require_agenda_open(meeting)
    if not allowed.can_manage and proposer_unit is not None:
        _require_draft_room(meeting, proposer_unit)
    last = meeting.proposals.aggregate(last=Max("position"))["last"]
    proposal.position = 0 if last is None else last + 1
    proposal.save()
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="proposal.created",
        object=ledger.ref(proposal),
        data={
            "meeting": meeting.pk,
            "title": title,
            "body": body,
            "proposer_unit": proposer_unit.pk if proposer_unit else None,
            "kind": kind,
            "deadline": _time(deadline),
            "position": proposal.position,
        },
    )
    return proposal


def _require_draft_room(meeting: Meeting, unit: MemberUnit) -> None:
    """A delegate's unit has at most ``QUORUM_DRAFTS_PER_UNIT`` open drafts on a meeting's
    agenda: submissions are not rate-limited otherwise, and each one grows the meeting
    page of everyone in the room. The unit's row lock (after the meeting's) makes two
    submissions at once count one after the other."""
    lock(MemberUnit, unit.pk)
    drafts = meeting.proposals.filter(proposer_unit=unit, status=Proposal.Status.DRAFT).count()
    if drafts >= settings.QUORUM_DRAFTS_PER_UNIT:
        raise Conflict(
            _("This unit already has %(count)d drafts on this agenda: wait for the secretary.")
            % {"count": drafts},
            code=Code.DRAFT_LIMIT,
        )


# What a draft's editor may change (the admin's form lists the same).
EDITABLE = ("title", "body", "proposer_unit", "kind", "deadline", "position")


@transaction.atomic
def update_proposal(*, actor: Actor, proposal: Proposal, **fields: Any) -> Proposal:
    """Edit a draft (its text, proposer, kind, deadline or agenda position). Secretaries
    only."""
    permissions.require_manage(actor, _council_id(proposal))
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise Invalid({name: [_("This field cannot be changed.")] for name in sorted(unknown)})
    unit = fields.get("proposer_unit")
    if unit is not None and unit.council_id != _council_id(proposal):
        raise Invalid({"proposer_unit": [_("This unit is not a member of the council.")]})
    meeting = lock(Meeting, proposal.meeting_id, shared=True)
    proposal = lock(Proposal, proposal.pk)
    _require_agenda_open(meeting)
    if proposal.status != Proposal.Status.DRAFT:
        raise Conflict(_("Only a draft can be edited."), code=Code.NOT_DRAFT)
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        attname = "proposer_unit_id" if name == "proposer_unit" else name
        new = value.pk if name == "proposer_unit" and value is not None else value
        if getattr(proposal, attname) != new:
            setattr(proposal, attname, new)
            changes[name] = _time(new) if name == "deadline" else new
    if not changes:
        return proposal
    check_model(proposal)
    proposal.save()
    ledger.append(
        council_id=_council_id(proposal),
        actor=actor,
        action="proposal.updated",
        object=ledger.ref(proposal),
        data=changes,
    )
    return proposal


@transaction.atomic
def move_proposal(*, actor: Actor, proposal: Proposal, up: bool) -> Proposal:
    """Move a draft one place up or down the agenda, among the drafts.

    Takes the meeting's exclusive lock: reorderings are rare, and serialising them
    keeps two concurrent moves from swapping the same pair twice.
    """
    permissions.require_manage(actor, _council_id(proposal))
    meeting = lock(Meeting, proposal.meeting_id)
    proposal = lock(Proposal, proposal.pk)
    _require_agenda_open(meeting)
    if proposal.status != Proposal.Status.DRAFT:
        raise Conflict(_("Only a draft can be moved."), code=Code.NOT_DRAFT)
    drafts = list(
        meeting.proposals.filter(status=Proposal.Status.DRAFT)
        .order_by("position", "id")
        .select_for_update(of=("self",), no_key=True)
    )
    index = next(i for i, p in enumerate(drafts) if p.pk == proposal.pk)
    other_index = index - 1 if up else index + 1
    if not 0 <= other_index < len(drafts):
        return proposal  # already first or last: nothing to change
    other = drafts[other_index]
    order = drafts[:]
    order[index], order[other_index] = other, proposal
    slots = sorted(p.position for p in drafts)
    if len(set(slots)) < len(slots):  # ties from hand-set positions: renumber the drafts
        slots = list(range(slots[0], slots[0] + len(slots)))
    changed = []
    for draft, slot in zip(order, slots, strict=True):
        if draft.position != slot:
            draft.position = slot
            changed.append(draft)
    Proposal.objects.bulk_update(changed, ["position"])
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="proposal.moved",
        object=ledger.ref(proposal),
        data={"order": [p.pk for p in order], "positions": slots},
    )
    return proposal


@transaction.atomic
def withdraw_proposal(*, actor: Actor, proposal: Proposal) -> Proposal:
    """Take a proposal off the agenda before its vote opens (``not_draft`` after)."""
    permissions.require_manage(actor, _council_id(proposal))
    meeting = lock(Meeting, proposal.meeting_id, shared=True)
    proposal = lock(Proposal, proposal.pk)
    _require_agenda_open(meeting)
    if proposal.status != Proposal.Status.DRAFT:
        raise Conflict(
            _("Only a proposal whose vote has not opened can be withdrawn."), code=Code.NOT_DRAFT
        )
    now = timezone.now()
    proposal.status = Proposal.Status.WITHDRAWN
    proposal.withdrawn_at = now
    proposal.save(update_fields=["status", "withdrawn_at"])
    ledger.append(
        council_id=_council_id(proposal),
        actor=actor,
        action="proposal.withdrawn",
        object=ledger.ref(proposal),
        data={"withdrawn_at": _time(now)},
    )
    return proposal


# --- The vote ---------------------------------------------------------------------------


@transaction.atomic
def open_vote(
    *, actor: Actor, proposal: Proposal, deadline: datetime.datetime | None = None
) -> Proposal:
    """Put a proposal to the vote: a new :class:`Vote`, which becomes its current one.

    Allowed on a draft, and on a proposal whose last vote was void (``no_quorum``); a
    passed or rejected proposal is final (``not_draft``). Refused outside a session,
    while another vote of the meeting is open, or without quorum. The vote freezes the
    council's rule for the proposal's kind and the meeting's snapshot of eligible units,
    so later changes of the council's settings or membership never touch it.
    """
    permissions.require_manage(actor, _council_id(proposal))
    meeting = lock(Meeting, proposal.meeting_id)
    proposal = lock(Proposal, proposal.pk)
    if not proposal.can_be_put_to_vote:
        raise Conflict(
            _("This proposal's vote has already been opened, or it was withdrawn."),
            code=Code.NOT_DRAFT,
        )
    if meeting.status != Meeting.Status.IN_SESSION:
        raise Conflict(
            _("Votes open only while the meeting is in session."), code=Code.NOT_IN_SESSION
        )
    # One vote at a time per meeting: the room, the projector and the minutes follow one
    # open vote. The meeting's exclusive lock makes this check race-free.
    if Vote.objects.open().filter(proposal__meeting=meeting).exists():
        raise Conflict(_("Another vote is open; close it first."), code=Code.VOTE_OPEN)
    now = timezone.now()
    deadline = deadline or (proposal.deadline if proposal.status == Proposal.Status.DRAFT else None)
    if deadline is not None and deadline <= now:
        raise Invalid({"deadline": [_("The deadline must be in the future.")]})
    line = quorum(meeting)
    if not line.met:
        raise Conflict(
            _("No quorum: %(present)s of %(eligible)s units present, %(required)s needed.")
            % {"present": line.count, "eligible": line.total, "required": line.required},
            code=Code.NO_QUORUM,
        )
    previous = proposal.current_vote
    eligible = sorted(meeting.eligible_units.values_list("pk", flat=True))
    vote = Vote.objects.create(
        proposal=proposal,
        number=previous.number + 1 if previous else 1,
        kind=proposal.kind,
        rules=meeting.council.rule_set_for(proposal.kind).as_dict(),
        deadline=deadline,
        opened_at=now,
        opened_by=permissions.account(actor),
    )
    vote.eligible_units.set(eligible)
    proposal.status = Proposal.Status.OPEN
    proposal.deadline = deadline
    proposal.save(update_fields=["status", "deadline"])
    proposal.current_vote = vote
    _after_commit("notify_vote_opened", vote.pk)
    ledger.append(
        council_id=meeting.council_id,
        actor=actor,
        action="vote.opened",
        object=ledger.ref(vote),
        data={
            "proposal": proposal.pk,
            "number": vote.number,
            "kind": vote.kind,
            "rules": vote.rules,
            "eligible_units": eligible,
            "opened_at": _time(now),
            "deadline": _time(deadline),
            "quorum": {"eligible": line.total, "present": line.count},
        },
    )
    return proposal


def _require_open(vote: Vote | None, now: datetime.datetime) -> Vote:
    if vote is None:
        raise Conflict(_("The vote is not open."), code=Code.VOTE_NOT_OPEN)
    if vote.closed_at is not None:
        raise Conflict(_("The vote is closed."), code=Code.VOTE_CLOSED)
    # A passed deadline closes the vote to ballots at once, whether or not the task
    # that formally closes it has run yet.
    if vote.deadline is not None and now >= vote.deadline:
        raise Conflict(_("The deadline has passed; the vote is closed."), code=Code.VOTE_CLOSED)
    return vote


@transaction.atomic
def cast_ballot(
    *,
    actor: Actor,
    proposal: Proposal,
    unit: MemberUnit,
    choice: str,
    allowed: permissions.Access | None = None,
) -> Ballot:
    """Cast or replace ``unit``'s single ballot in the proposal's open vote.

    A delegate casts for their own unit; a secretary records a vote given in the room
    for any present unit (``recorded_by_secretary``). Refused with ``vote_not_open``,
    ``vote_closed``, ``not_eligible`` (not in the vote's snapshot) or, in person,
    ``unit_not_present``; online and hybrid, casting checks the unit in. The latest
    ballot counts; the ledger keeps every one.

    ``allowed`` is the actor's access to the council when the caller (a view) has just
    read it for this request; otherwise it is read here.

    Every ballot of a vote passes through here, so the path is kept to a few statements:
    the meeting and the vote (with the unit's eligibility) are read under their share
    locks, the present attendance under its own, the ballot row is locked or inserted
    without a savepoint, and the ledger append is two statements.
    """
    council_id = _council_id(proposal)
    if allowed is None:
        allowed = permissions.access(actor, council_id)
    allowed.require_view()
    if unit.council_id != council_id:
        raise NotFound(_("No such unit in this council."))
    if not allowed.can_cast_for(unit):
        raise Forbidden(_("You may cast a ballot only for the unit you represent."))
    recorded_by_secretary = allowed.records_for(unit)
    if choice not in Ballot.Choice.values:
        raise Invalid({"choice": [_("Choose yes, no or abstain.")]})

    meeting = lock(Meeting, proposal.meeting_id, shared=True)
    vote, eligible = _lock_current_vote(proposal.pk, unit.pk)
    now = timezone.now()
    vote = _require_open(vote, now)
    if not eligible:
        raise Conflict(
            _("This unit is not eligible to vote in this meeting."), code=Code.NOT_ELIGIBLE
        )
    check_in = None
    # Hold the attendance: a check-out of this unit now waits for this cast to commit,
    # so the ledger never shows a ballot after the unit left.
    attendance = hold_attendance(meeting, unit)
    if attendance is None:
        # Online and hybrid, a delegate's cast checks their unit in; nobody else's does
        # (a secretary records ballots only for units present).
        if meeting.mode == Meeting.Mode.IN_PERSON or recorded_by_secretary:
            raise Conflict(_("The unit is not checked in."), code=Code.UNIT_NOT_PRESENT)
        check_in, created = record_check_in(actor=actor, meeting=meeting, unit=unit)
        if not created:
            check_in = None  # a concurrent cast of the same unit checked it in

    account = permissions.account(actor)
    ballot, previous = _store_ballot(vote, unit, choice, account, now, recorded_by_secretary)
    _tell_co_delegates(vote, unit, account, ballot)
    # Ledger appends come last: the chain's lock is then never held while this
    # transaction waits for another lock (the ballot row, an attendance insert).
    if check_in is not None:
        log_check_in(actor=actor, meeting=meeting, attendance=check_in)
    _log_ballot(actor, proposal, vote, unit, choice, previous, now, recorded_by_secretary)
    return ballot


def _log_ballot(
    actor: Actor,
    proposal: Proposal,
    vote: Vote,
    unit: MemberUnit,
    choice: str,
    previous: str | None,
    now: datetime.datetime,
    recorded_by_secretary: bool,
) -> None:
    """The ballot's ledger event: every version of every unit's ballot is one."""
    ledger.append(
        council_id=proposal.council_id,
        actor=actor,
        action="vote.ballot_cast",
        object=ledger.ref(vote),
        data={
            "proposal": proposal.pk,
            "number": vote.number,
            "unit": unit.pk,
            "choice": choice,
            "previous": previous,
            "at": _time(now),
            "recorded_by_secretary": recorded_by_secretary,
        },
    )


def _tell_co_delegates(vote: Vote, unit: MemberUnit, actor: User, ballot: Ballot) -> None:
    """A ballot that replaced one cast by someone else (a co-delegate, the secretary) is
    announced to the unit's other delegates: planned here, in the cast's transaction, and
    sent after the commit by the task (or the sweep). Nothing for a first ballot or for a
    person correcting their own — the hot path stays as it was for those."""
    replaced_by_other = getattr(ballot, "replaced_cast_by_id", None)
    if replaced_by_other is None or replaced_by_other == actor.pk:
        return
    if notifications.plan_ballot_replaced(vote, unit.pk, actor.pk):
        _after_commit("notify_ballot_replaced", vote.pk)


def _lock_current_vote(proposal_id: int, unit_id: int) -> tuple[Vote | None, bool]:
    """Share-lock the proposal's current vote (after its meeting: the global lock order)
    and say, in the same statement, whether the unit is in the vote's snapshot."""
    row = rows.fetch_one(
        f"SELECT {rows.columns(Vote, 'v')}, EXISTS (SELECT 1"  # noqa: S608 — column names
        " FROM proposals_vote_eligible_units e"
        " WHERE e.vote_id = v.id AND e.memberunit_id = %s)"
        " FROM proposals_vote v WHERE v.proposal_id = %s"
        " ORDER BY v.number DESC LIMIT 1 FOR SHARE",
        [unit_id, proposal_id],
    )
    if row is None:
        return None, False
    return rows.build(Vote, row[:-1]), row[-1]


def _store_ballot(
    vote: Vote,
    unit: MemberUnit,
    choice: str,
    actor: User,
    now: datetime.datetime,
    recorded_by_secretary: bool,
) -> tuple[Ballot, str | None]:
    """Insert or replace the unit's ballot row; return it with the replaced choice."""
    ballot = Ballot(
        vote=vote,
        unit=unit,
        choice=choice,
        cast_by=actor,
        cast_at=now,
        recorded_by_secretary=recorded_by_secretary,
    )
    values = (choice, actor.pk, now, recorded_by_secretary)
    with connection.cursor() as cursor:
        # A first ballot is one statement: in a burst nearly every cast is a first one.
        # The unique constraint arbitrates two first casts of one unit (no savepoint:
        # DO NOTHING raises nothing).
        cursor.execute(
            "INSERT INTO proposals_ballot"
            " (vote_id, unit_id, choice, cast_by_id, cast_at, recorded_by_secretary)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (vote_id, unit_id) DO NOTHING RETURNING id",
            [vote.pk, unit.pk, *values],
        )
        row = cursor.fetchone()
        previous = None
        if row is None:
            # Replace: the row lock serialises two casts of one unit, and the old choice
            # is read under it, in the same statement. Ballots are never deleted, so the
            # conflicting row is there.
            cursor.execute(
                "UPDATE proposals_ballot AS b SET choice = %s, cast_by_id = %s,"
                " cast_at = %s, recorded_by_secretary = %s"
                " FROM (SELECT id, choice, cast_by_id FROM proposals_ballot"
                "  WHERE vote_id = %s AND unit_id = %s FOR NO KEY UPDATE) AS old"
                " WHERE b.id = old.id RETURNING b.id, old.choice, old.cast_by_id",
                [*values, vote.pk, unit.pk],
            )
            row = cursor.fetchone()
            previous = row[1]
            # Who cast the replaced version: its other delegates are told when it was
            # not the same person (read under the row lock, in the same statement).
            ballot.replaced_cast_by_id = row[2]  # type: ignore[attr-defined]
    ballot.pk = row[0]
    ballot._state.adding = False
    ballot._state.db = connection.alias
    return ballot, previous


@transaction.atomic
def record_show_of_hands(
    *, actor: Actor, proposal: Proposal, choices: Mapping[MemberUnit, str]
) -> list[Ballot]:
    """Record a show of hands: one ballot per unit of ``choices`` (unit → yes, no or
    abstain), all or nothing, in one transaction.

    Secretaries only. Each ballot is its own ballot row and its own ``vote.ballot_cast``
    event (``recorded_by_secretary``), exactly as :func:`cast_ballot` would write it, under
    the same locks: the meeting's share lock, then for each unit (in id order) the vote's
    share lock with the unit's eligibility and the unit's attendance. If the vote is not
    open, or any unit is not eligible or not present, nothing is written and the refusal
    names every such unit.
    """
    council_id = _council_id(proposal)
    allowed = permissions.access(actor, council_id)
    allowed.require_manage()
    if not choices:
        raise Invalid({"units": [_("Choose the units whose votes you record.")]})
    for unit, choice in choices.items():
        if unit.council_id != council_id:
            raise NotFound(_("No such unit in this council."))
        if choice not in Ballot.Choice.values:
            raise Invalid({"choice": [_("Choose yes, no or abstain.")]})
    units = sorted(choices, key=lambda u: u.pk)  # one lock order for every caller

    meeting = lock(Meeting, proposal.meeting_id, shared=True)
    now = timezone.now()
    not_eligible: list[MemberUnit] = []
    absent: list[MemberUnit] = []
    vote: Vote | None = None
    for unit in units:
        current, eligible = _lock_current_vote(proposal.pk, unit.pk)
        vote = _require_open(current, now)
        if not eligible:
            not_eligible.append(unit)
        elif hold_attendance(meeting, unit) is None:
            absent.append(unit)
    if not_eligible:
        raise Conflict(
            _("Not eligible to vote in this meeting: %(units)s. Nothing was recorded.")
            % {"units": ", ".join(u.short_name for u in not_eligible)},
            code=Code.NOT_ELIGIBLE,
        )
    if absent:
        raise Conflict(
            _("Not checked in: %(units)s. Nothing was recorded.")
            % {"units": ", ".join(u.short_name for u in absent)},
            code=Code.UNIT_NOT_PRESENT,
        )
    assert vote is not None  # noqa: S101 — choices is not empty
    account = permissions.account(actor)
    stored = []
    for unit in units:
        recorded = allowed.records_for(unit)
        ballot, previous = _store_ballot(vote, unit, choices[unit], account, now, recorded)
        stored.append((unit, ballot, previous, recorded))
    # Told once every ballot row is held: no note is inserted while this transaction may
    # still wait for a unit's row (a person who is the delegate of two units would
    # otherwise be a cycle with a cast of the other unit).
    for unit, ballot, _previous, _recorded in stored:
        _tell_co_delegates(vote, unit, account, ballot)
    # The appends last, as in cast_ballot: one event per ballot, in unit order.
    for unit, _ballot, previous, recorded in stored:
        _log_ballot(actor, proposal, vote, unit, choices[unit], previous, now, recorded)
    return [ballot for _unit, ballot, _previous, _recorded in stored]


@transaction.atomic
def close_vote(
    *, actor: Actor | None, proposal: Proposal, expected_vote: int | None = None
) -> Proposal:
    """Close the proposal's open vote atomically and freeze its result.

    Waits for the casts in flight (exclusive lock on the vote), counts the committed
    ballots and the units present now, evaluates the rule set frozen on the vote — a
    lost quorum gives ``no_quorum`` — and stores the result with its arithmetic.
    ``actor=None`` is the system closing a vote whose deadline passed.

    ``expected_vote``: close only that vote. A closer that decided to close from what
    it read before taking the locks (the deadline task, a read-time close) passes the
    vote it read, so that it never closes a newer vote opened meanwhile (``vote_closed``).
    """
    if actor is not None:
        permissions.require_manage(actor, _council_id(proposal))
    # Exclusive on the meeting: no unit checks in or out while the present units are
    # counted, so the ledger order and the frozen result tell the same story. Every
    # service that changes a proposal holds its meeting's lock first, so holding the
    # meeting exclusively, the proposal row needs no lock of its own before its update.
    meeting = lock(Meeting, proposal.meeting_id)
    proposal.meeting = meeting  # already loaded under its lock: no second read
    vote = (
        Vote.objects.select_for_update(no_key=True)
        .filter(proposal_id=proposal.pk)
        .order_by("-number")
        .first()
    )
    if vote is None:
        raise Conflict(_("The vote is not open."), code=Code.VOTE_NOT_OPEN)
    if vote.closed_at is not None or (expected_vote is not None and vote.pk != expected_vote):
        raise Conflict(_("The vote is already closed."), code=Code.VOTE_CLOSED)
    vote.proposal = proposal
    now = timezone.now()
    # A vote that reached its deadline closed then, whenever the task runs: count the
    # units present at the deadline (no ballot could be cast after it).
    closes_at = vote.deadline if vote.deadline and vote.deadline <= now else None
    present = present_unit_ids(meeting, at=closes_at) if closes_at else None
    count = tally.count_vote(vote, present_ids=present)
    result = tally.evaluate(vote, count)
    record = result.as_dict()
    record["present_units"] = count.present_units
    with override("en"):
        # The frozen record keeps the words of the day; pages re-derive them per language.
        record["explanation"] = explain.explanation(result)
    vote.outcome = str(result.outcome)
    vote.result = record
    vote.closed_at = now
    vote.closed_by = None if actor is None else permissions.account(actor)
    vote.save(update_fields=["outcome", "result", "closed_at", "closed_by"])
    Proposal.objects.filter(pk=proposal.pk).update(status=Proposal.Status.CLOSED)
    proposal.status = Proposal.Status.CLOSED
    proposal.current_vote = vote
    _after_commit("notify_result", vote.pk)
    ledger.append(
        council_id=_council_id(proposal),
        actor=actor,
        action="vote.closed",
        object=ledger.ref(vote),
        data={
            "proposal": proposal.pk,
            "number": vote.number,
            "closed_at": _time(now),
            "result": {k: v for k, v in record.items() if k != "explanation"},
        },
    )
    return proposal


def is_due(vote: Vote | None, now: datetime.datetime | None = None) -> bool:
    """An open vote whose deadline has passed: closed to ballots, and to be closed."""
    return (
        vote is not None
        and vote.closed_at is None
        and vote.deadline is not None
        and vote.deadline <= (now or timezone.now())
    )


def close_if_due(proposal: Proposal) -> bool:
    """The read-time close: if the proposal's current vote (as already loaded) is open
    past its deadline, close it as the system, as the deadline task does. True when it
    was due (closed now, or by someone else meanwhile): the caller re-reads.

    Race-free by the close's own locks: of two readers, a reader and the task, or a
    reader and a secretary's close, one closes and the others find the vote closed
    (``vote_closed``, ignored here). Costs nothing while no deadline has passed.
    """
    vote = proposal.current_vote
    if vote is None or not is_due(vote):
        return False
    # Closed meanwhile by someone else: the reader reads it closed all the same.
    with contextlib.suppress(Conflict):
        close_vote(actor=None, proposal=proposal, expected_vote=vote.pk)
    # Read again as it is now: drops the cached current vote and prefetched votes.
    proposal.refresh_from_db()
    return True


def close_due(votes: Any) -> int:
    """The read-time close of a list of decisions: close every vote of ``votes`` (a
    queryset of the reader's scope) that is open past its deadline, as the system. One
    indexed query when none is; race-free as :func:`close_if_due`. Returns how many
    this call closed."""
    closed = 0
    due = votes.filter(closed_at__isnull=True, deadline__lte=timezone.now())
    for vote in due.select_related("proposal"):
        with contextlib.suppress(Conflict):  # closed meanwhile by someone else
            close_vote(actor=None, proposal=vote.proposal, expected_vote=vote.pk)
            closed += 1
    return closed
