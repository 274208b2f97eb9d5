"""The pure rule module: the public boundary cases, arithmetic, and properties.

No database: these tests import only ``proposals.rules``.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from proposals.rules import (
    DEFAULT_RULES,
    Basis,
    Counts,
    Outcome,
    RuleError,
    RuleSet,
    Threshold,
    evaluate,
    quorum_line,
)

HERE = Path(__file__).parent
CASES_COPY = HERE / "data" / "rule-cases.csv"


def load_cases(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


CASES = load_cases(CASES_COPY)


def test_it_has_every_public_rule_case() -> None:
    # The 18 boundary cases published with the rule (docs/rules.md lists them), copied
    # into tests/data: a truncated or reshaped copy must fail here, not test less.
    assert len(CASES) == 18
    assert list(CASES[0]) == [
        "eligible",
        "present",
        "yes",
        "no",
        "abstain",
        "quorum_met",
        "outcome_members",
        "outcome_present",
        "outcome_cast",
    ]
    assert CASES[0] == {
        "eligible": "21",
        "present": "14",
        "yes": "14",
        "no": "0",
        "abstain": "0",
        "quorum_met": "false",
        "outcome_members": "no_quorum",
        "outcome_present": "no_quorum",
        "outcome_cast": "no_quorum",
    }


@pytest.mark.parametrize("basis", list(Basis))
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(list(c.values())[:5]))
def test_it_decides_every_spec_case_under_each_basis(case: dict[str, str], basis: Basis) -> None:
    counts = Counts(*(int(case[k]) for k in ("eligible", "present", "yes", "no", "abstain")))
    result = evaluate(counts, RuleSet(basis=basis))
    assert result.quorum.met is (case["quorum_met"] == "true")
    assert result.outcome == Outcome(case[f"outcome_{basis}"])
    # Every result shows all three readings, whatever the council's own basis.
    assert {b: str(o) for b, o in result.readings.items()} == {
        b: case[f"outcome_{b}"] for b in ("members", "present", "cast")
    }


def test_it_shows_the_arithmetic_of_the_spec_example() -> None:
    result = evaluate(Counts(eligible=21, present=15, yes=8, no=4, abstain=3))
    assert (result.quorum.count, result.quorum.total, result.quorum.exact) == (15, 21, 14)
    assert result.quorum.required == 15 and result.quorum.met
    assert result.majority.exact == Fraction(21, 2) and result.majority.required == 11
    assert result.outcome == Outcome.REJECTED
    assert result.readings == {
        Basis.MEMBERS: Outcome.REJECTED,
        Basis.PRESENT: Outcome.PASSED,
        Basis.CAST: Outcome.PASSED,
    }
    assert result.readings_disagree
    assert result.counts.not_voted == 0


@pytest.mark.parametrize(
    ("eligible", "required"),
    [(21, 15), (20, 14), (3, 3), (1, 1), (0, 1), (250, 167), (6, 5), (9, 7)],
)
def test_it_computes_the_smallest_quorum(eligible: int, required: int) -> None:
    line = quorum_line(eligible, 0)
    assert line.required == required
    assert quorum_line(eligible, min(required, eligible)).met is (required <= eligible)


def test_it_applies_at_least_when_not_strict() -> None:
    rules = RuleSet(
        quorum=Threshold(2, 3, strict=False),
        majority=Threshold(2, 3, strict=False),
        basis=Basis.CAST,
    )
    # 14 of 21 is exactly two thirds: enough when the charter says "at least".
    result = evaluate(Counts(eligible=21, present=14, yes=8, no=4, abstain=2), rules)
    assert result.quorum.met and result.majority.required == 8
    assert result.outcome == Outcome.PASSED


def test_it_never_passes_with_zero_yes() -> None:
    rules = RuleSet(majority=Threshold(2, 3, strict=False), basis=Basis.CAST)
    result = evaluate(Counts(eligible=3, present=3, yes=0, no=0, abstain=3), rules)
    assert result.majority.required == 1
    assert result.outcome == Outcome.REJECTED


def test_no_quorum_wins_over_a_majority() -> None:
    result = evaluate(Counts(eligible=21, present=14, yes=14, no=0, abstain=0))
    assert result.majority.met  # the yes count reaches the line...
    assert result.outcome == Outcome.NO_QUORUM  # ...but the meeting could not decide


@pytest.mark.parametrize(
    "bad",
    [
        dict(eligible=3, present=4, yes=0, no=0, abstain=0),
        dict(eligible=3, present=2, yes=2, no=1, abstain=0),
        dict(eligible=-1, present=0, yes=0, no=0, abstain=0),
        dict(eligible=3, present=3, yes=True, no=0, abstain=0),
        dict(eligible=3.0, present=3, yes=1, no=0, abstain=0),
    ],
)
def test_it_refuses_impossible_counts(bad: dict[str, object]) -> None:
    with pytest.raises(RuleError):
        Counts(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "d", "strict"), [(0, 3, True), (3, 3, True), (4, 3, False), (1, 0, True), (-1, 2, True)]
)
def test_it_refuses_thresholds_that_cannot_be_met(n: int, d: int, strict: bool) -> None:
    with pytest.raises(RuleError):
        Threshold(n, d, strict)


def test_a_rule_set_round_trips_through_its_record() -> None:
    rules = RuleSet(
        quorum=Threshold(1, 2, False), majority=Threshold(2, 3, True), basis=Basis.PRESENT
    )
    assert RuleSet.from_dict(rules.as_dict()) == rules
    assert DEFAULT_RULES.as_dict() == {
        "quorum": {"numerator": 2, "denominator": 3, "strict": True},
        "majority": {"numerator": 1, "denominator": 2, "strict": True, "basis": "members"},
    }
    with pytest.raises(RuleError):
        RuleSet.from_dict({"quorum": {}})


# --- Properties -------------------------------------------------------------------------

fractions = (
    st.integers(1, 12)
    .flatmap(lambda d: st.tuples(st.integers(1, d), st.just(d), st.booleans()))
    .filter(lambda t: not (t[2] and t[0] == t[1]))
)
rule_sets = st.builds(
    lambda q, m, b: RuleSet(quorum=Threshold(*q), majority=Threshold(*m), basis=b),
    fractions,
    fractions,
    st.sampled_from(list(Basis)),
)


@st.composite
def counts(draw: st.DrawFn) -> Counts:
    eligible = draw(st.integers(0, 400))
    present = draw(st.integers(0, eligible))
    yes = draw(st.integers(0, present))
    no = draw(st.integers(0, present - yes))
    abstain = draw(st.integers(0, present - yes - no))
    return Counts(eligible, present, yes, no, abstain)


@given(counts(), rule_sets)
def test_quorum_is_monotone_in_attendance(c: Counts, rules: RuleSet) -> None:
    assume(c.present < c.eligible)
    more = Counts(c.eligible, c.present + 1, c.yes, c.no, c.abstain)
    if evaluate(c, rules).quorum.met:
        assert evaluate(more, rules).quorum.met


@given(counts(), rule_sets, st.sampled_from(["no", "abstain", "not_voted"]))
def test_one_more_yes_never_turns_passed_into_rejected(
    c: Counts, rules: RuleSet, source: str
) -> None:
    # The extra yes comes from a unit that said no, abstained, or had not voted yet.
    if source == "no":
        assume(c.no > 0)
        more = Counts(c.eligible, c.present, c.yes + 1, c.no - 1, c.abstain)
    elif source == "abstain":
        assume(c.abstain > 0)
        more = Counts(c.eligible, c.present, c.yes + 1, c.no, c.abstain - 1)
    else:
        assume(c.not_voted > 0)
        more = Counts(c.eligible, c.present, c.yes + 1, c.no, c.abstain)
    before, after = evaluate(c, rules), evaluate(more, rules)
    for basis in Basis:
        if before.readings[basis] == Outcome.PASSED:
            assert after.readings[basis] == Outcome.PASSED


@given(counts(), rule_sets)
def test_passed_under_members_implies_present_implies_cast(c: Counts, rules: RuleSet) -> None:
    readings = evaluate(c, rules).readings
    if readings[Basis.MEMBERS] == Outcome.PASSED:
        assert readings[Basis.PRESENT] == Outcome.PASSED
    if readings[Basis.PRESENT] == Outcome.PASSED:
        assert readings[Basis.CAST] == Outcome.PASSED


@st.composite
def ties(draw: st.DrawFn) -> tuple[Counts, Basis]:
    """Counts where yes is exactly half of the basis (built, not filtered)."""
    basis = draw(st.sampled_from(list(Basis)))
    yes = draw(st.integers(0, 100))
    if basis == Basis.CAST:
        abstain = draw(st.integers(0, 50))
        present = 2 * yes + abstain + draw(st.integers(0, 50))
        c = Counts(present + draw(st.integers(0, 50)), present, yes, yes, abstain)
    elif basis == Basis.PRESENT:
        no = draw(st.integers(0, yes))
        c = Counts(2 * yes + draw(st.integers(0, 50)), 2 * yes, yes, no, 0)
    else:
        present = draw(st.integers(yes, 2 * yes))
        c = Counts(2 * yes, present, yes, draw(st.integers(0, present - yes)), 0)
    return c, basis


@given(ties())
def test_a_tie_never_passes(tie: tuple[Counts, Basis]) -> None:
    c, basis = tie
    assert 2 * c.yes == c.total(basis)
    assert evaluate(c, RuleSet(basis=basis)).outcome != Outcome.PASSED


@given(
    st.integers(0, 10_000),
    st.integers(1, 1000).flatmap(lambda d: st.tuples(st.integers(1, d), st.just(d), st.booleans())),
)
def test_required_is_the_smallest_count_that_meets(total: int, t: tuple[int, int, bool]) -> None:
    n, d, strict = t
    assume(not (strict and n == d))
    threshold = Threshold(n, d, strict)
    required = threshold.required(total)

    def on_the_line(count: int) -> bool:
        return count * d > n * total if strict else count * d >= n * total

    def meets_by_definition(count: int) -> bool:
        return count > 0 and on_the_line(count)  # nothing is decided by nobody

    assert meets_by_definition(required)
    assert not meets_by_definition(required - 1)
    # The line alone, before the floor of one: what a reader derives from "at least 3.335".
    smallest = threshold.smallest_on_line(total)
    assert on_the_line(smallest) and not on_the_line(smallest - 1)
    assert threshold.line(total) == Fraction(n * total, d)
    line = quorum_line(total, 0, RuleSet(quorum=threshold))
    # Only "at least" a fraction of nothing is raised: its line, 0, would accept nobody.
    assert line.raised_to_one is (not strict and total == 0)
    assert line.required == (1 if line.raised_to_one else smallest)


@given(counts(), rule_sets)
def test_the_outcome_follows_quorum_then_majority(c: Counts, rules: RuleSet) -> None:
    result = evaluate(c, rules)
    if not result.quorum.met:
        assert result.outcome == Outcome.NO_QUORUM
    else:
        assert (result.outcome == Outcome.PASSED) is result.majority.met
    assert result.counts.not_voted >= 0
