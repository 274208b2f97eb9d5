"""The decision register as CSV and as a self-contained JSON export, streamed.

Both are generators of text chunks over a queryset of closed proposals, read with a
server-side cursor: memory stays flat whatever the register's size. The API
(``?format=csv|json``) and ``manage.py export_decisions`` stream the same bytes.

The JSON export (format ``quorum-export/1``) carries, for every decision, the rule set,
the eligible and present units, every ballot and the frozen result, and for every
council involved its whole ledger chain and head — enough for
``proposals/verify_export.py`` to re-derive each outcome and re-check each hash offline,
without trusting the server.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Func, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from council import ledger
from council.models import Council, LedgerEvent, LedgerHead
from members.models import MemberUnit

from .models import Ballot, Proposal

FORMAT = "quorum-export/1"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = [
    "id",
    "council",
    "meeting",
    "title",
    "proposer_unit",
    "outcome",
    "closed_at",
    "eligible",
    "present",
    "yes",
    "no",
    "abstain",
    "not_voted",
    "basis",
    "reading_members",
    "reading_present",
    "reading_cast",
]


# The frozen result's fields behind the CSV's last ten columns, in their order.
RESULT_COLUMNS = [
    "eligible",
    "present",
    "yes",
    "no",
    "abstain",
    "not_voted",
    "majority__basis",
    "readings__members",
    "readings__present",
    "readings__cast",
]


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise a cell a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _decisions(queryset: QuerySet[Proposal]) -> Iterator[Proposal]:
    return queryset.select_related("meeting").order_by("closed_at", "id").iterator(chunk_size=1000)


def csv_rows(
    queryset: QuerySet[Proposal], on_decision: Callable[[], None] | None = None
) -> Iterator[str]:
    """UTF-8 CSV with a BOM (Excel then reads Chinese names right), one row a decision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(CSV_COLUMNS)
    for pk, council_id, meeting_id, title, proposer, outcome, closed_at, *counts in _register(
        queryset
    ):
        writer.writerow(
            (
                pk,
                council_id,
                meeting_id,
                spreadsheet_safe(title),  # the only free text; the rest are numbers and codes
                proposer or "",
                outcome,
                closed_at.isoformat(),
                *counts,
            )
        )
        if on_decision:
            on_decision()
        if buffer.tell() > 64 * 1024:  # chunks of about 64 KB, not a write per row
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


_FIELDS = ["pk", "meeting__council_id", "meeting_id", "title", "proposer_unit_id", "outcome"]

# The register's rows on PostgreSQL: the counts are read out of each frozen result by one
# jsonb_to_record (ten separate key lookups cost four times as much), streamed through a
# server-side cursor.
_REGISTER_SQL = """
SELECT p.id, m.council_id, p.meeting_id, p.title, p.proposer_unit_id, p.outcome, p.closed_at,
       r.eligible, r.present, r.yes, r.no, r.abstain, r.not_voted, r.majority->>'basis',
       readings.members, readings.present, readings.cast
FROM proposals_proposal p
JOIN council_meeting m ON m.id = p.meeting_id,
     jsonb_to_record(p.result) AS r(eligible int, present int, yes int, no int, abstain int,
                                    not_voted int, majority jsonb, readings jsonb),
     jsonb_to_record(r.readings) AS readings(members text, present text, "cast" text)
WHERE p.id IN ({ids})
ORDER BY p.closed_at, p.id
"""


def _register(queryset: QuerySet[Proposal]) -> Iterator[tuple[Any, ...]]:
    """The register's rows as plain tuples, in CSV_COLUMNS order, in close order."""
    if connection.vendor != "postgresql":
        yield from (
            queryset.order_by("closed_at", "id")
            .values_list(*_FIELDS, "closed_at", *(f"result__{key}" for key in RESULT_COLUMNS))
            .iterator(chunk_size=2000)
        )
        return
    try:
        ids, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (an empty id list)
        return
    # A server-side cursor, as QuerySet.iterator() would use — unless the settings turn
    # them off (PgBouncer in transaction mode), then plain batches.
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        cursor.execute(_REGISTER_SQL.format(ids=ids), params)
        while batch := cursor.fetchmany(2000):
            yield from batch


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _decision(proposal: Proposal, eligible: list[int], ballots: list[str]) -> str:
    """One decision as JSON text; ``ballots`` are its ballots, already JSON texts."""
    meeting = proposal.meeting
    fields = {
        "id": proposal.pk,
        "council": meeting.council_id,
        "meeting": {
            "id": meeting.pk,
            "title": meeting.title,
            "mode": meeting.mode,
            "eligible_units": eligible,
        },
        "title": proposal.title,
        "proposer_unit": proposal.proposer_unit_id,
        "opened_at": ledger.format_time(proposal.opened_at),
        "closed_at": ledger.format_time(proposal.closed_at),
        "rules": proposal.rules,
        "outcome": proposal.outcome,
        "result": proposal.result,
    }
    # Sorted keys put "ballots" first: open the object with it, then the other fields.
    return '{"ballots": [' + ", ".join(ballots) + "], " + _dump(fields)[1:]


_BALLOT = '{"unit": %d, "choice": %s, "cast_by": %s, "cast_at": "%s", "recorded_by_secretary": %s}'


def _ballots(queryset: QuerySet[Proposal]) -> Iterator[tuple[Any, int, str]]:
    """Every ballot of the decisions, as (closed_at, proposal, JSON text), in the decisions'
    order: one streamed query instead of one per decision."""
    rows = Ballot.objects.filter(proposal__in=queryset.order_by().values("pk")).order_by(
        "proposal__closed_at", "proposal_id", "unit_id"
    )
    fields = ["proposal__closed_at", "proposal_id", "unit_id", "choice", "cast_by__username"]
    if connection.vendor == "postgresql":
        rows = rows.annotate(cast_at_text=_UtcText("cast_at")).values_list(
            *fields, "cast_at_text", "recorded_by_secretary"
        )
    else:
        rows = rows.values_list(*fields, "cast_at", "recorded_by_secretary")
    for closed_at, proposal, unit, choice, by, at, by_secretary in rows.iterator(chunk_size=5000):
        if not isinstance(at, str):
            at = ledger.format_time(at)
        text = _BALLOT % (unit, _text(choice), _text(by), at, "true" if by_secretary else "false")
        yield closed_at, proposal, text


# The event as JSON text, assembled around the stored ``data`` (jsonb's own text, which
# is JSON): decoding every event's data only to encode it again halved the export's speed.
_EVENT = (
    '{"seq":%d,"at":"%s","actor":%s,"action":%s,"object":%s,"data":%s,"prev_hash":%s,"hash":%s}'
)


class _UtcText(Func):
    """A timestamp as ``format_time`` writes it, formatted by PostgreSQL."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    output_field = TextField()


def _events(council_id: int, up_to: int) -> Iterator[str]:
    """The council's chain as JSON texts, up to the head read before (events appended
    meanwhile belong to a later export)."""
    events = LedgerEvent.objects.filter(council_id=council_id, seq__lte=up_to).order_by("seq")
    if connection.vendor == "postgresql":
        rows = events.annotate(
            at_text=_UtcText("at"), data_text=Cast("data", output_field=TextField())
        ).values_list(
            "seq", "at_text", "actor", "action", "object", "data_text", "prev_hash", "hash"
        )
        for seq, at, actor, action, obj, data, prev_hash, digest in rows.iterator(chunk_size=5000):
            yield _EVENT % (
                seq,
                at,
                _text(actor),
                _text(action),
                _text(obj),
                data,
                # Quoted like every string: a tampered row must make a verifier finding,
                # not a file that is no longer JSON.
                _quote(prev_hash),
                _quote(digest),
            )
        return
    rows = events.values_list("seq", "at", "actor", "action", "object", "data", "prev_hash", "hash")
    for seq, at, actor, action, obj, data, prev_hash, digest in rows.iterator(chunk_size=5000):
        yield _EVENT % (
            seq,
            ledger.format_time(at),
            _text(actor),
            _text(action),
            _text(obj),
            _dump(data),
            _quote(prev_hash),
            _quote(digest),
        )


# A JSON string literal, as json.dumps(ensure_ascii=False) writes it (the C encoder).
_quote = json.encoder.encode_basestring


@functools.lru_cache(maxsize=4096)
def _text(value: str) -> str:
    # Cached: actors, actions, objects and choices repeat from one row to the next.
    return _quote(value)


def _opening(fields: dict[str, Any], list_key: str) -> str:
    """``{...fields, "list_key": [`` — an object whose list is streamed after it."""
    text = json.dumps({**fields, list_key: []}, ensure_ascii=False)
    return text[: -len("]}")]


def json_export(
    queryset: QuerySet[Proposal],
    councils: Iterable[int] | None = None,
    on_decision: Callable[[], None] | None = None,
    selection: dict[str, Any] | None = None,
) -> Iterator[str]:
    """The self-contained export. ``councils`` adds chains beyond those of the decisions
    exported (whose councils are always included)."""
    # "filter" tells the verifier whether every closed vote must be present: when the
    # export is not filtered, a decision dropped from it is a problem.
    yield _opening(
        {
            "format": FORMAT,
            "generated_at": ledger.format_time(timezone.now()),
            "filter": selection or {},
        },
        "decisions",
    )
    involved: set[int] = set(councils or [])
    snapshots: dict[int, list[int]] = {}
    # The decisions are read first, the ballots after: a vote that closes between the two
    # queries then has ballots in the second only, which sort after every decision read
    # and are passed over. (The other way round, it would go out without its ballots.)
    decisions = _decisions(queryset)
    first = next(decisions, None)
    ballots = _ballots(queryset)
    ballot = next(ballots, None) if first is not None else None
    for i, proposal in enumerate(itertools.chain([first] if first else [], decisions)):
        meeting_id = proposal.meeting_id
        if meeting_id not in snapshots:
            snapshots[meeting_id] = sorted(
                proposal.meeting.eligible_units.values_list("pk", flat=True)
            )
        involved.add(proposal.meeting.council_id)
        # The two streams walk the same order, (closed_at, id).
        key = (proposal.closed_at, proposal.pk)
        while ballot is not None and (ballot[0], ballot[1]) < key:
            ballot = next(ballots, None)
        texts = []
        while ballot is not None and ballot[1] == proposal.pk:
            texts.append(ballot[2])
            ballot = next(ballots, None)
        yield ("," if i else "") + _decision(proposal, snapshots[meeting_id], texts)
        if on_decision:
            on_decision()
    yield '], "councils": ['
    for i, council in enumerate(Council.objects.filter(pk__in=involved).order_by("pk")):
        head = LedgerHead.objects.filter(council=council).first()
        units = [
            {"id": u.pk, "name": u.name, "short_name": u.short_name, "voting": u.voting}
            for u in MemberUnit.objects.filter(council=council).order_by("pk")
        ]
        fields = {
            "id": council.pk,
            "name": council.name,
            "time_zone": council.time_zone,
            "units": units,
            "head": {"seq": head.seq, "hash": head.hash} if head else None,
        }
        yield ("," if i else "") + _opening(fields, "events")
        for j, event in enumerate(_events(council.pk, head.seq if head else 0)):
            yield ("," if j else "") + event
        yield "]}"
    yield "]}"
