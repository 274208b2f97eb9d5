"""The decision ledger: an append-only, hash-chained log of every state change.

Each council has its own chain. An event's ``hash`` is SHA-256 over the canonical JSON
(sorted keys, no spaces, UTF-8) of the event's fields and the previous event's hash, so
changing, removing, reordering or forking events breaks every later link.

Appending locks the council's :class:`~council.models.LedgerHead` row, so concurrent
appends queue up instead of forking; the unique constraints on ``(council, seq)`` and
``(council, prev_hash)`` make the database refuse a fork even if that lock were skipped.
Services append *last*, just before their transaction commits, so the chain's lock is
held for as short a time as possible — every ballot passes through it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, models
from django.utils import timezone

from .models import Council, LedgerEvent, LedgerHead

GENESIS = "0" * 64
SYSTEM_ACTOR = "system"

# How an event names the object it is about: ``"vote:12"``. One name per model.
_REF_NAMES = {
    "council": "council",
    "meeting": "meeting",
    "memberunit": "unit",
    "role": "role",
    "invitation": "invitation",
    "proposal": "proposal",
    "vote": "vote",
}


# A head as members keep it ("SEQ:HASH"): an event's seq in ASCII digits, within a bigint,
# and its hash. The verifiers read it; the API's schema states it for ``expect_head``.
HEAD_PATTERN = r"^[0-9]{1,18}:[0-9a-f]{64}$"


def ref(obj: models.Model, pk: object = None) -> str:
    """The ledger's name of ``obj`` (``pk`` for an object already deleted)."""
    return f"{_REF_NAMES[obj._meta.model_name or '']}:{obj.pk if pk is None else pk}"


def parse_ref(text: str) -> tuple[str, int]:
    """``"vote:12"`` → ``("vote", 12)``; ValueError for anything else."""
    kind, _sep, pk = text.partition(":")
    if kind not in _REF_NAMES.values() or not pk.isdecimal():
        raise ValueError(f"not a ledger reference: {text!r}")
    return kind, int(pk)


def canonical_json(value: Any) -> bytes:
    """The exact bytes that are hashed. Refuses anything JSON cannot carry exactly."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    """Floats may not survive a jsonb round trip digit for digit; the hash must."""
    if isinstance(value, float):
        raise ValueError("ledger data must not contain floats (use integers or strings)")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def format_time(at: datetime.datetime) -> str:
    """Times are hashed as UTC with microseconds, the precision the database keeps."""
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    council: int,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object: str,
    data: Any,
    prev_hash: str,
) -> str:
    body = {
        "council": council,
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "object": object,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def actor_name(user: AbstractBaseUser | AnonymousUser | None) -> str:
    if user is None or not user.is_authenticated:
        return SYSTEM_ACTOR
    return user.get_username()


def start_chain(council_id: int) -> None:
    """Create the head of a new council's chain (in the council's creating transaction)."""
    LedgerHead.objects.create(council_id=council_id, seq=0, hash=GENESIS)


def append(
    *,
    council_id: int,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    object: str,
    data: dict[str, Any],
) -> LedgerEvent:
    """Append one event to the council's chain, inside the caller's transaction.

    The caller's transaction commits (or rolls back) the change and its event together:
    there is no event without its change, nor change without its event.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.append() must run inside the transaction of its change")
    # Validates that ``data`` is plain JSON before anything is written.
    _refuse_floats(data)
    canonical_json(data)
    return _insert(council_id, actor_name(actor), action, object, data)


def _next_event(
    council_id: int,
    prev_seq: int,
    prev_hash: str,
    actor: str,
    action: str,
    object: str,
    data: dict[str, Any],
) -> LedgerEvent:
    """The event that follows the head ``(prev_seq, prev_hash)``, hashed, not yet saved.

    Stamped now: the caller holds the head's lock, so times never go backwards along
    the chain.
    """
    at = timezone.now()
    seq = prev_seq + 1
    digest = event_hash(
        council=council_id,
        seq=seq,
        at=format_time(at),
        actor=actor,
        action=action,
        object=object,
        data=data,
        prev_hash=prev_hash,
    )
    return LedgerEvent(
        council_id=council_id,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        object=object,
        data=data,
        prev_hash=prev_hash,
        hash=digest,
    )


def _insert(
    council_id: int, actor: str, action: str, object: str, data: dict[str, Any]
) -> LedgerEvent:
    """The append in two statements: every ballot of a council queues on the head's
    lock, which is held from the first statement to the commit — each round trip saved
    there is saved once per ballot, in series."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, hash FROM council_ledgerhead WHERE council_id = %s FOR NO KEY UPDATE",
            [council_id],
        )
        row = cursor.fetchone()
        if row is None:
            raise LedgerHead.DoesNotExist(f"council {council_id} has no ledger head")
        prev_seq, prev_hash = row
        event = _next_event(council_id, prev_seq, prev_hash, actor, action, object, data)
        cursor.execute(
            "WITH event AS ("
            " INSERT INTO council_ledgerevent"
            " (council_id, seq, at, actor, action, object, data, prev_hash, hash)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s) RETURNING id"
            ") UPDATE council_ledgerhead SET seq = %s, hash = %s WHERE council_id = %s"
            " RETURNING (SELECT id FROM event)",
            [
                council_id,
                event.seq,
                event.at,
                actor,
                action,
                object,
                json.dumps(data),
                event.prev_hash,
                event.hash,
                event.seq,
                event.hash,
                council_id,
            ],
        )
        (event.id,) = cursor.fetchone()
    event._state.adding, event._state.db = False, connection.alias  # as if read back
    return event


@dataclass
class Report:
    """What :func:`verify` found. ``ok`` only when ``problems`` is empty."""

    events: int = 0
    heads: dict[int, str] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, council: int | None, seq: int | None, kind: str, detail: str) -> None:
        self.problems.append({"council": council, "seq": seq, "problem": kind, "detail": detail})


_FIELDS = ("council_id", "seq", "at", "actor", "action", "object", "data", "prev_hash", "hash")


def verify_rows(
    council_id: int, rows: Iterable[tuple[Any, ...]], report: Report, head: tuple[int, str] | None
) -> None:
    """Check one chain's rows, given in ``seq`` order, against each other and the head."""
    expected_seq, prev = 1, GENESIS
    for _council, seq, at, actor, action, obj, data, prev_hash, stored in rows:
        report.events += 1
        if seq != expected_seq:
            kind = "gap" if seq > expected_seq else "duplicate_seq"
            report.problem(council_id, seq, kind, f"expected seq {expected_seq}, found {seq}")
        if prev_hash != prev:
            report.problem(
                council_id,
                seq,
                "broken_link",
                "prev_hash does not match the hash of the event before it",
            )
        computed = event_hash(
            council=council_id,
            seq=seq,
            at=format_time(at),
            actor=actor,
            action=action,
            object=obj,
            data=data,
            prev_hash=prev_hash,
        )
        if computed != stored:
            report.problem(
                council_id,
                seq,
                "hash_mismatch",
                "the event's content does not match its hash (edited)",
            )
        expected_seq, prev = seq + 1, stored
    last_seq = expected_seq - 1
    if head is None:
        report.problem(council_id, None, "missing_head", "the chain has no head record")
    elif head != (last_seq, prev):
        report.problem(
            council_id,
            last_seq,
            "head_mismatch",
            f"the head says seq {head[0]} but the chain ends at seq {last_seq} "
            "(events removed from the tail, or the head was rewritten)",
        )
    report.heads[council_id] = prev


def verify(council_ids: Iterable[int] | None = None) -> Report:
    """Re-check every chain (or the given councils'): hashes, links, numbering, heads.

    Streams the events with a server-side cursor, so memory stays flat at any size.
    """
    report = Report()
    heads = LedgerHead.objects.all()
    events = LedgerEvent.objects.all()
    councils = Council.objects.all()
    if council_ids is not None:
        wanted = list(council_ids)
        heads = heads.filter(council_id__in=wanted)
        events = events.filter(council_id__in=wanted)
        councils = councils.filter(pk__in=wanted)
    head_of = {h.council_id: (h.seq, h.hash) for h in heads}
    # Every council has a chain: one whose head or events were deleted is still checked.
    # (.order_by(): the model's ordering would turn DISTINCT into one row per event.)
    chains = (
        set(head_of)
        | set(events.order_by().values_list("council_id", flat=True).distinct())
        | set(councils.values_list("pk", flat=True))
    )
    for council_id in sorted(chains):
        rows = (
            events.filter(council_id=council_id)
            .order_by("seq", "id")
            .values_list(*_FIELDS)
            .iterator(chunk_size=5000)
        )
        verify_rows(council_id, rows, report, head_of.get(council_id))
    return report
