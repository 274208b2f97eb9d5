"""Reads of proposals that the API's ballot path needs before any service runs, and the
ballot page's history of a unit's ballot."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from council import ledger, rows
from council.models import LedgerEvent
from members.models import MemberUnit

from .models import Ballot, Proposal, Vote


def find_unit(council_id: int, pk: int) -> MemberUnit | None:
    """The council's unit ``pk``, for the ballot endpoint (hand-written, like
    :func:`find_proposal`); None when it is not one of the council's."""
    row = rows.fetch_one(
        f"SELECT {rows.columns(MemberUnit, 'u')} FROM members_memberunit u"  # noqa: S608 — column names
        " WHERE u.id = %s AND u.council_id = %s",
        [pk, council_id],
    )
    return rows.build(MemberUnit, row) if row else None


def find_proposal(pk: int) -> Proposal | None:
    """A proposal, for the ballot endpoint: one hand-written read, the hottest lookup of
    a vote (``council/rows.py`` says why)."""
    row = rows.fetch_one(
        f"SELECT {rows.columns(Proposal, 'p')} FROM proposals_proposal p"  # noqa: S608 — column names
        " WHERE p.id = %s",
        [pk],
    )
    return rows.build(Proposal, row) if row else None


@dataclass(frozen=True)
class BallotVersion:
    """One version of a unit's ballot in a vote, as its ledger event records it."""

    seq: int
    hash: str
    at: datetime.datetime
    actor: str
    choice: str
    previous: str | None
    recorded_by_secretary: bool

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    @property
    def choice_label(self) -> str:
        return str(dict(Ballot.Choice.choices).get(self.choice, self.choice))


def ballot_history(vote: Vote, unit_ids: Iterable[int]) -> dict[int, list[BallotVersion]]:
    """Every version of these units' ballots in ``vote``, oldest first, read from the
    ledger (the only record of replaced versions: the ballot row keeps the latest).
    One query, on the events' ``object`` index."""
    wanted = list(unit_ids)
    history: dict[int, list[BallotVersion]] = {pk: [] for pk in wanted}
    if not wanted:
        return history
    events = LedgerEvent.objects.filter(
        council_id=vote.proposal.council_id,
        object=ledger.ref(vote),
        action="vote.ballot_cast",
        data__unit__in=wanted,
    ).order_by("seq")
    for event in events.only("seq", "hash", "at", "actor", "data"):
        data = event.data
        history[data["unit"]].append(
            BallotVersion(
                seq=event.seq,
                hash=event.hash,
                at=event.at,
                actor=event.actor,
                choice=data["choice"],
                previous=data.get("previous"),
                recorded_by_secretary=bool(data.get("recorded_by_secretary")),
            )
        )
    return history
