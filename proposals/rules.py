"""The voting rule, as pure integer arithmetic.

This module is the reference implementation of the rule described in ``docs/rules.md``.
It imports nothing from Django: plain integers go in, a :class:`Result` with every line of
its arithmetic comes out, so the rule can be tested exhaustively without a database and
re-run by an auditor on an exported record.

Fractions are never turned into floats: "more than 2/3 of 21" is decided by
``3 * present > 2 * 21``. ``fractions.Fraction`` gives the exact line to *show*, such as
"more than 10.5" or "at least 3.335", so that the words can never disagree with the count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any


class RuleError(ValueError):
    """A rule set or a set of counts that cannot exist."""


class Basis(StrEnum):
    """What the majority of rule 3 is counted against (the three readings)."""

    MEMBERS = "members"  # all eligible member units — the literal, strictest reading
    PRESENT = "present"  # units present for the vote
    CAST = "cast"  # yes + no ballots; abstentions left out


class Outcome(StrEnum):
    PASSED = "passed"
    REJECTED = "rejected"
    NO_QUORUM = "no_quorum"


def _check_int(name: str, value: object) -> int:
    # bool is an int subclass; True as a count is always a bug upstream.
    if not isinstance(value, int) or isinstance(value, bool):
        raise RuleError(f"{name} must be an integer, not {value!r}")
    return value


@dataclass(frozen=True)
class Threshold:
    """A fraction of a total that a count must exceed (strict) or reach (not strict)."""

    numerator: int
    denominator: int
    strict: bool = True

    def __post_init__(self) -> None:
        n = _check_int("numerator", self.numerator)
        d = _check_int("denominator", self.denominator)
        if d <= 0 or n <= 0:
            raise RuleError("a threshold needs a positive numerator and denominator")
        if n > d or (self.strict and n == d):
            # "more than all" or "at least more than all" could never be met.
            raise RuleError("a threshold cannot exceed the whole")

    def line(self, total: int) -> Fraction:
        """The exact point on the total: 2/3 of 21 is 14, 1/2 of 21 is 21/2."""
        return Fraction(self.numerator * total, self.denominator)

    def smallest_on_line(self, total: int) -> int:
        """The smallest whole count that meets the line itself: past it when strict, on
        or past it when not. It is 0 only for "at least" a fraction of nothing."""
        product = self.numerator * total
        if self.strict:
            return product // self.denominator + 1
        return -(-product // self.denominator)  # ceiling division, integers only

    def required(self, total: int) -> int:
        """The smallest count that meets the threshold, and never less than one.

        Nothing is decided by nobody: "at least" a fraction of nothing still needs one
        unit, so that no proposal passes with zero yes ballots (``docs/rules.md``).
        """
        return max(1, self.smallest_on_line(total))

    def meets(self, count: int, total: int) -> bool:
        return count >= self.required(total)

    def as_dict(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator, "strict": self.strict}


@dataclass(frozen=True)
class RuleSet:
    """A council's rule, frozen onto each vote when it opens."""

    quorum: Threshold = field(default_factory=lambda: Threshold(2, 3, strict=True))
    majority: Threshold = field(default_factory=lambda: Threshold(1, 2, strict=True))
    basis: Basis = Basis.MEMBERS

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "basis", Basis(self.basis))
        except ValueError as exc:
            raise RuleError(f"unknown majority basis {self.basis!r}") from exc

    def as_dict(self) -> dict[str, Any]:
        """The API's shape: ``{"quorum": {...}, "majority": {..., "basis"}}``."""
        return {
            "quorum": self.quorum.as_dict(),
            "majority": {**self.majority.as_dict(), "basis": str(self.basis)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleSet:
        try:
            quorum = data["quorum"]
            majority = data["majority"]
            return cls(
                quorum=Threshold(quorum["numerator"], quorum["denominator"], quorum["strict"]),
                majority=Threshold(
                    majority["numerator"], majority["denominator"], majority["strict"]
                ),
                basis=Basis(majority["basis"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleError(f"not a rule set: {exc}") from exc


DEFAULT_RULES = RuleSet()


@dataclass(frozen=True)
class Counts:
    """What a vote counted. ``present`` already includes every unit that voted."""

    eligible: int
    present: int
    yes: int
    no: int
    abstain: int

    def __post_init__(self) -> None:
        for name in ("eligible", "present", "yes", "no", "abstain"):
            if _check_int(name, getattr(self, name)) < 0:
                raise RuleError(f"{name} cannot be negative")
        if self.present > self.eligible:
            raise RuleError("more units present than eligible")
        if self.yes + self.no + self.abstain > self.present:
            raise RuleError("more ballots than units present (a unit cannot vote unseen)")

    @property
    def cast(self) -> int:
        """Ballots that take a side; abstentions are left out."""
        return self.yes + self.no

    @property
    def not_voted(self) -> int:
        return self.present - self.yes - self.no - self.abstain

    def as_dict(self) -> dict[str, int]:
        """The six counts every result shows (``docs/rules.md``, "What a result shows")."""
        return {
            "eligible": self.eligible,
            "present": self.present,
            "yes": self.yes,
            "no": self.no,
            "abstain": self.abstain,
            "not_voted": self.not_voted,
        }

    def total(self, basis: Basis) -> int:
        return {
            Basis.MEMBERS: self.eligible,
            Basis.PRESENT: self.present,
            Basis.CAST: self.cast,
        }[Basis(basis)]


@dataclass(frozen=True)
class Line:
    """One line of arithmetic: ``count`` against ``threshold`` of ``total``."""

    count: int
    total: int
    threshold: Threshold
    required: int
    met: bool

    @property
    def exact(self) -> Fraction:
        """The line itself, exactly: ``threshold`` of ``total``."""
        return self.threshold.line(self.total)

    @property
    def raised_to_one(self) -> bool:
        """The line is 0 and "at least" it would accept nobody: one is required anyway."""
        return self.required > self.threshold.smallest_on_line(self.total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total": self.total,
            **self.threshold.as_dict(),
            "required": self.required,
            "met": self.met,
        }


def _line(threshold: Threshold, count: int, total: int) -> Line:
    required = threshold.required(total)
    return Line(
        count=count, total=total, threshold=threshold, required=required, met=count >= required
    )


@dataclass(frozen=True)
class Result:
    """The verdict with its arithmetic, under the council's basis and all three readings."""

    counts: Counts
    rules: RuleSet
    quorum: Line
    majorities: dict[Basis, Line]
    readings: dict[Basis, Outcome]

    @property
    def majority(self) -> Line:
        """The majority line under the council's own basis (``majority.met``)."""
        return self.majorities[self.rules.basis]

    @property
    def outcome(self) -> Outcome:
        return self.readings[self.rules.basis]

    @property
    def readings_disagree(self) -> bool:
        return len(set(self.readings.values())) > 1

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record, enough to re-derive the outcome with this module."""
        return {
            **self.counts.as_dict(),
            "quorum": self.quorum.as_dict(),
            "majority": {"basis": str(self.rules.basis), **self.majority.as_dict()},
            "outcome": str(self.outcome),
            "readings": {str(b): str(o) for b, o in self.readings.items()},
            "readings_disagree": self.readings_disagree,
            "rules": self.rules.as_dict(),
        }


def evaluate(counts: Counts, rules: RuleSet = DEFAULT_RULES) -> Result:
    """Apply ``rules`` to ``counts``: quorum first (``no_quorum`` wins), then majority.

    The three readings apply the council's own fraction and strictness; only the basis
    changes between them.
    """
    quorum = _line(rules.quorum, counts.present, counts.eligible)
    majorities = {basis: _line(rules.majority, counts.yes, counts.total(basis)) for basis in Basis}
    readings = {
        basis: (
            Outcome.NO_QUORUM
            if not quorum.met
            else Outcome.PASSED
            if majorities[basis].met
            else Outcome.REJECTED
        )
        for basis in Basis
    }
    return Result(
        counts=counts, rules=rules, quorum=quorum, majorities=majorities, readings=readings
    )


def quorum_line(eligible: int, present: int, rules: RuleSet = DEFAULT_RULES) -> Line:
    """The attendance line alone, for a meeting's live quorum display."""
    if present > eligible or present < 0:
        raise RuleError("present must be between 0 and eligible")
    return _line(rules.quorum, present, eligible)
