"""The auditor's check: the ledger chains plus a recount of every closed vote."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from council import ledger

from . import tally
from .models import Proposal


def verify(council_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """Re-check the chains and recount every closed vote from its stored ballots.

    Returns the report of ``GET /api/v1/audit/verify/``: ``ok``, ``events`` checked,
    ``head`` (each chain's last hash by council) and ``problems``.
    """
    wanted = list(council_ids) if council_ids is not None else None
    report = ledger.verify(wanted)
    closed = Proposal.objects.filter(status=Proposal.Status.CLOSED).select_related("meeting")
    if wanted is not None:
        closed = closed.filter(meeting__council_id__in=wanted)
    for proposal in closed.iterator(chunk_size=500):
        diff = tally.recount(proposal)
        if diff:
            report.problem(
                proposal.meeting.council_id,
                None,
                "result_mismatch",
                f"proposal {proposal.pk}: stored result differs from a recount "
                f"of its ballots: {diff}",
            )
    return {
        "ok": report.ok,
        "events": report.events,
        "head": {str(council): digest for council, digest in report.heads.items()},
        "problems": report.problems,
    }
