"""Counting a vote from the stored rows (read-only).

The close service calls :func:`count_vote` under its lock and freezes the answer; pages
and the API call it for the live count of an open vote; the auditor's checks call
:func:`recount` to compare a frozen result with the ballots stored beside it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from council.queries import present_unit_ids

from . import rules
from .models import Ballot, Vote


@dataclass(frozen=True)
class Count:
    counts: rules.Counts
    present_units: list[int]  # sorted ids: the units counted present for this vote


def count_vote(
    vote: Vote,
    *,
    present_ids: set[int] | None = None,
    ballots: dict[int, str] | None = None,
    eligible: int | None = None,
) -> Count:
    """Count the ballots and the units present for the vote, in a fixed number of queries.

    Present for a vote: the eligible units checked in now, plus every unit that cast a
    ballot (a unit cannot vote without attending). ``present_ids`` replaces the live
    attendance (to recount a frozen result); a page that loaded the ballots or the
    snapshot size already passes them in.
    """
    if ballots is None:
        ballots = dict(Ballot.objects.filter(vote_id=vote.pk).values_list("unit_id", "choice"))
    if present_ids is None:
        present_ids = present_unit_ids(vote.proposal.meeting)
    if eligible is None:
        # The snapshot's rows alone: the manager's count() joins the units table too.
        eligible = Vote.eligible_units.through.objects.filter(vote_id=vote.pk).count()
    present = set(present_ids) | set(ballots)
    choices = Counter(ballots.values())
    counts = rules.Counts(
        eligible=eligible,
        present=len(present),
        yes=choices[Ballot.Choice.YES],
        no=choices[Ballot.Choice.NO],
        abstain=choices[Ballot.Choice.ABSTAIN],
    )
    return Count(counts=counts, present_units=sorted(present))


def evaluate(vote: Vote, count: Count) -> rules.Result:
    """Apply the rule set frozen on the vote."""
    return rules.evaluate(count.counts, vote.rule_set)


def without_unit(vote: Vote, unit_id: int) -> rules.Result:
    """The live result if ``unit_id`` left now: what a check-out's warning shows. A unit
    that has voted stays present for the vote (its ballot counts)."""
    present = present_unit_ids(vote.proposal.meeting) - {unit_id}
    return evaluate(vote, count_vote(vote, present_ids=present))


def recount(vote: Vote) -> dict[str, Any] | None:
    """Re-derive a closed vote's result from its stored ballots and frozen records.

    Returns the differences between the stored and the recounted result (empty when
    they agree), or None when the vote has no frozen result.
    """
    if vote.closed_at is None or not vote.result:
        return None
    stored = vote.result
    present = set(stored.get("present_units", []))
    fresh = evaluate(vote, count_vote(vote, present_ids=present)).as_dict()
    keys = ("eligible", "present", "yes", "no", "abstain", "not_voted", "outcome", "readings")
    diff = {
        k: {"stored": stored.get(k), "recount": fresh[k]} for k in keys if stored.get(k) != fresh[k]
    }
    if vote.outcome != fresh["outcome"]:
        diff["outcome_column"] = {"stored": vote.outcome, "recount": fresh["outcome"]}
    return diff


def result_of(vote: Vote | None, *, live: Count | None = None) -> rules.Result | None:
    """The result to show: re-derived from the frozen record once closed, live while
    the vote is open (from ``live`` if the caller counted already), None without a
    vote."""
    if vote is None:
        return None
    if vote.closed_at is not None and vote.result:
        stored = vote.result
        counts = rules.Counts(
            eligible=stored["eligible"],
            present=stored["present"],
            yes=stored["yes"],
            no=stored["no"],
            abstain=stored["abstain"],
        )
        return rules.evaluate(counts, vote.rule_set)
    return evaluate(vote, live or count_vote(vote))
