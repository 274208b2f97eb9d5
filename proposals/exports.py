"""The decision register as CSV and as a self-contained JSON export, streamed.

Both are generators of text chunks over a queryset of closed votes (decisions), read
with a server-side cursor: memory stays flat whatever the register's size. The API
(``?format=csv|json``) and ``manage.py export_decisions`` stream the same bytes.

The JSON export (format ``quorum-export/2``) carries, for every decision, the rule set,
the eligible and present units, every ballot and the frozen result, and for every
council involved its whole ledger chain and head — enough for
``proposals/verify_export.py`` to re-derive each outcome and re-check each hash offline,
without trusting the server.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import itertools
import json
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Func, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from council import ledger
from council.models import Council, LedgerEvent, LedgerHead
from members.models import MemberUnit

from .models import Ballot, Vote

FORMAT = "quorum-export/2"
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
    # Since votes are records of their own: which vote of the proposal, and its kind.
    "vote",
    "number",
    "kind",
    # With names (issue 13): the ids above stay for scripts; these are for people.
    "council_name",
    "meeting_title",
    "proposer_unit_name",
    "time_zone",
    "closed_at_local",
    "closed_at_utc",
]
BALLOT_COLUMNS = [
    "vote",
    "proposal",
    "number",
    "council_name",
    "meeting_title",
    "proposal_title",
    "unit",
    "unit_short_name",
    "unit_name",
    "choice",
    "cast_by",
    "time_zone",
    "cast_at_local",
    "cast_at_utc",
    "recorded_by_secretary",
    # The unit whose proxy cast the ballot: always empty until proxies exist.
    "proxy_holder",
]
ATTENDANCE_COLUMNS = [
    "meeting",
    "meeting_title",
    "unit",
    "unit_short_name",
    "unit_name",
    "voting",
    "time_zone",
    "checked_in_at_local",
    "checked_in_at_utc",
    "checked_out_at_local",
    "checked_out_at_utc",
    "present_at_adjournment",
]


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise a cell a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_and_utc(moment: datetime.datetime | None, zone: str) -> tuple[str, str]:
    """A moment as two ISO 8601 cells: in the council's zone (with its offset), in UTC."""
    if moment is None:
        return "", ""
    at = moment.astimezone(datetime.UTC)
    return at.astimezone(_zone(zone)).isoformat(), at.isoformat().replace("+00:00", "Z")


class _Chunks:
    """A CSV writer that hands out its text in chunks of about 64 KB, not a write a row;
    every text cell neutralised (:func:`spreadsheet_safe`)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def row(self, cells: Iterable[Any]) -> str | None:
        self.writer.writerow([spreadsheet_safe(c) for c in cells])
        if self.buffer.tell() > 64 * 1024:
            return self.rest()
        return None

    def rest(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _decisions(queryset: QuerySet[Vote]) -> Iterator[Vote]:
    """The closed votes in close order, each with its snapshot of eligible units read in
    the same query (``snapshot``, sorted ids): one query per decision cost 40% of the
    export's speed at 10,000 decisions."""
    units = (
        Vote.eligible_units.through.objects.filter(vote_id=OuterRef("pk"))
        .order_by("memberunit_id")
        .values("memberunit_id")
    )
    return (
        queryset.select_related("proposal__meeting")
        .annotate(snapshot=ArraySubquery(units))
        .order_by("closed_at", "id")
        .iterator(chunk_size=1000)
    )


def csv_rows(
    queryset: QuerySet[Vote], on_decision: Callable[[], None] | None = None
) -> Iterator[str]:
    """UTF-8 CSV with a BOM (Excel then reads Chinese names right), one row a decision."""
    out = _Chunks()
    yield "\ufeff"
    out.row(CSV_COLUMNS)
    for row in _register(queryset):
        pk, council_id, meeting_id, title, proposer, outcome, closed_at, *rest = row[:20]
        council_name, zone, meeting_title, unit_name = row[20:]
        local, utc = local_and_utc(closed_at, zone)
        chunk = out.row(
            (
                pk,
                council_id,
                meeting_id,
                title,
                proposer or "",
                outcome,
                closed_at.isoformat(),
                *rest,
                council_name,
                meeting_title,
                unit_name or "",
                zone,
                local,
                utc,
            )
        )
        if on_decision:
            on_decision()
        if chunk:
            yield chunk
    yield out.rest()


def ballot_rows(queryset: QuerySet[Vote]) -> Iterator[str]:
    """Every ballot of the decisions as CSV (UTF-8 with a BOM), in the decisions' close
    order, then by unit: who cast it, when (local and UTC), for which unit."""
    out = _Chunks()
    yield "\ufeff"
    out.row(BALLOT_COLUMNS)
    rows = (
        Ballot.objects.filter(vote__in=queryset.order_by().values("pk"))
        .order_by("vote__closed_at", "vote_id", "unit__short_name", "unit_id")
        .values_list(
            "vote_id",
            "vote__proposal_id",
            "vote__number",
            "vote__proposal__council__name",
            "vote__proposal__council__time_zone",
            "vote__proposal__meeting__title",
            "vote__proposal__title",
            "unit_id",
            "unit__short_name",
            "unit__name",
            "choice",
            "cast_by__username",
            "cast_at",
            "recorded_by_secretary",
        )
    )
    for row in rows.iterator(chunk_size=5000):
        vote, proposal, number, council, zone, meeting, title, unit, short, name = row[:10]
        choice, by, at, by_secretary = row[10:]
        local, utc = local_and_utc(at, zone)
        chunk = out.row(
            (
                *(vote, proposal, number, council, meeting, title, unit, short, name, choice, by),
                *(zone, local, utc, "yes" if by_secretary else "no", ""),
            )
        )
        if chunk:
            yield chunk
    yield out.rest()


def attendance_rows(meeting: Any) -> Iterator[str]:
    """A meeting's attendance as CSV (UTF-8 with a BOM): one row a stay (a check-in and
    its check-out, if any), in check-in order; ``present_at_adjournment`` says whether the
    unit was in the room when the meeting adjourned (empty while it has not)."""
    out = _Chunks()
    yield "\ufeff"
    out.row(ATTENDANCE_COLUMNS)
    zone = meeting.council.time_zone
    ended = meeting.adjourned_at
    stays = meeting.attendances.select_related("unit").order_by("checked_in_at", "id")
    for stay in stays:
        unit = stay.unit
        if ended is None:
            present = ""
        else:
            out_at = stay.checked_out_at
            stayed = stay.checked_in_at <= ended and (out_at is None or out_at > ended)
            present = "yes" if stayed else "no"
        out.row(
            (
                meeting.pk,
                meeting.title,
                unit.pk,
                unit.short_name,
                unit.name,
                "yes" if unit.voting else "no",
                zone,
                *local_and_utc(stay.checked_in_at, zone),
                *local_and_utc(stay.checked_out_at, zone),
                present,
            )
        )
    yield out.rest()


# The register's rows: the counts are read out of each frozen result by one
# jsonb_to_record (ten separate key lookups cost four times as much), streamed through a
# server-side cursor. ``= ANY(ARRAY(...))`` rather than ``IN (...)``: PostgreSQL planned the
# IN over the votes' join a fifth slower.
_REGISTER_SQL = """
SELECT p.id, p.council_id, p.meeting_id, p.title, p.proposer_unit_id, v.outcome, v.closed_at,
       r.eligible, r.present, r.yes, r.no, r.abstain, r.not_voted, r.majority->>'basis',
       readings.members, readings.present, readings.cast, v.id, v.number, v.kind,
       c.name, c.time_zone, m.title, u.name
FROM proposals_vote v
JOIN proposals_proposal p ON p.id = v.proposal_id
JOIN council_council c ON c.id = p.council_id
JOIN council_meeting m ON m.id = p.meeting_id
LEFT JOIN members_memberunit u ON u.id = p.proposer_unit_id,
     jsonb_to_record(v.result) AS r(eligible int, present int, yes int, no int, abstain int,
                                    not_voted int, majority jsonb, readings jsonb),
     jsonb_to_record(r.readings) AS readings(members text, present text, "cast" text)
WHERE v.id = ANY(ARRAY({ids}))
ORDER BY v.closed_at, v.id
"""


def _register(queryset: QuerySet[Vote]) -> Iterator[tuple[Any, ...]]:
    """The register's rows as plain tuples, in CSV_COLUMNS order, in close order."""
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


def _decision(vote: Vote, eligible: list[int], ballots: list[str]) -> str:
    """One decision as JSON text; ``ballots`` are its ballots, already JSON texts."""
    if vote.closed_at is None:
        raise ValueError(f"vote {vote.pk} is open: only closed votes are decisions")
    proposal = vote.proposal
    meeting = proposal.meeting
    fields = {
        "id": proposal.pk,
        "vote": vote.pk,
        "number": vote.number,
        "kind": vote.kind,
        "council": proposal.council_id,
        "meeting": {"id": meeting.pk, "title": meeting.title, "mode": meeting.mode},
        "eligible_units": eligible,
        "title": proposal.title,
        "proposer_unit": proposal.proposer_unit_id,
        "opened_at": ledger.format_time(vote.opened_at),
        "closed_at": ledger.format_time(vote.closed_at),
        "rules": vote.rules,
        "outcome": vote.outcome,
        "result": vote.result,
    }
    # Sorted keys put "ballots" first: open the object with it, then the other fields.
    return '{"ballots": [' + ", ".join(ballots) + "], " + _dump(fields)[1:]


_BALLOT = '{"unit": %d, "choice": %s, "cast_by": %s, "cast_at": "%s", "recorded_by_secretary": %s}'


def _ballots(queryset: QuerySet[Vote]) -> Iterator[tuple[Any, int, str]]:
    """Every ballot of the decisions, as (closed_at, vote, JSON text), in the decisions'
    order: one streamed query instead of one per decision."""
    rows = (
        Ballot.objects.filter(vote__in=queryset.order_by().values("pk"))
        .order_by("vote__closed_at", "vote_id", "unit_id")
        .annotate(cast_at_text=_UtcText("cast_at"))
        .values_list(
            "vote__closed_at",
            "vote_id",
            "unit_id",
            "choice",
            "cast_by__username",
            "cast_at_text",
            "recorded_by_secretary",
        )
    )
    for closed_at, vote, unit, choice, by, at, by_secretary in rows.iterator(chunk_size=5000):
        text = _BALLOT % (unit, _text(choice), _text(by), at, "true" if by_secretary else "false")
        yield closed_at, vote, text


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
    rows = events.annotate(
        at_text=_UtcText("at"), data_text=Cast("data", output_field=TextField())
    ).values_list("seq", "at_text", "actor", "action", "object", "data_text", "prev_hash", "hash")
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


def _selected_councils(selection: dict[str, Any]) -> set[int]:
    """The councils a filter names: their chains go out even without a decision, so the
    verifier can tell a council with none from one whose decisions were all cut."""
    named = selection.get("council")
    values = named if isinstance(named, list) else [] if named is None else [named]
    return {int(v) for v in values if str(v).isdecimal()}


def json_export(
    queryset: QuerySet[Vote],
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
    involved: set[int] = set(councils or []) | _selected_councils(selection or {})
    # The decisions are read first, the ballots after: a vote that closes between the two
    # queries then has ballots in the second only, which sort after every decision read
    # and are passed over. (The other way round, it would go out without its ballots.)
    decisions = _decisions(queryset)
    first = next(decisions, None)
    ballots = _ballots(queryset)
    ballot = next(ballots, None) if first is not None else None
    for i, vote in enumerate(itertools.chain([first] if first else [], decisions)):
        involved.add(vote.proposal.council_id)
        # The two streams walk the same order, (closed_at, id).
        key = (vote.closed_at, vote.pk)
        while ballot is not None and (ballot[0], ballot[1]) < key:
            ballot = next(ballots, None)
        texts = []
        while ballot is not None and ballot[1] == vote.pk:
            texts.append(ballot[2])
            ballot = next(ballots, None)
        snapshot: list[int] = vote.snapshot  # type: ignore[attr-defined]  # annotated above
        yield ("," if i else "") + _decision(vote, snapshot, texts)
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
