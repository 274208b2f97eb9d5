"""Reads of proposals that the API's ballot path needs before any service runs."""

from __future__ import annotations

from council import rows
from members.models import MemberUnit

from .models import Proposal


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
