"""The result in words, in the reader's language.

The rule module stays free of Django; this module turns its :class:`~proposals.rules.Result`
into the sentences that show a result (``docs/rules.md``, "What a result shows"), through
Django's translation machinery.

A line is shown exactly, never rounded, so that the words cannot contradict the count:
a whole number ("more than 14"), else a decimal of at most three places when that is
exact ("more than 10.5", "at least 3.335": every line of a fraction over 10, 100 or 1000),
else a mixed number in lowest terms ("more than 13 1/3", in Chinese "13又1/3"). The
smallest passing count follows in parentheses whenever the line is not a whole number
("more than 10.5 needed (11)"); over a whole number the words already say it.
"""

from __future__ import annotations

from fractions import Fraction

from django.utils.translation import gettext as _

from . import rules

DECIMAL_PLACES = 3  # enough for any line of a fraction over 10, 100 or 1000


def number(value: Fraction) -> str:
    """A line, exactly: 14 → "14", 21/2 → "10.5", 667/200 → "3.335", 40/3 → "13 1/3",
    1/3 → "1/3". Never rounded; decisions use integers, this is what a reader checks."""
    if value < 0:
        raise ValueError(f"a line is never negative: {value}")
    whole, rest = divmod(value.numerator, value.denominator)
    if not rest:
        return str(whole)
    for places in range(1, DECIMAL_PLACES + 1):
        scaled = value * 10**places
        if scaled.denominator == 1:
            digits = str(scaled.numerator).rjust(places + 1, "0")
            return f"{digits[:-places]}.{digits[-places:]}"
    fraction = f"{rest}/{value.denominator}"
    if not whole:
        return fraction
    # Translators: a mixed number, "13 1/3" for thirteen and one third.
    return _("%(whole)s %(fraction)s") % {"whole": whole, "fraction": fraction}


def needed(line: rules.Line) -> str:
    """ "more than 14 needed", "more than 10.5 needed (11)", "at least 14 needed".

    The parenthesised count is the smallest that meets the line, shown whenever the line
    is not a whole number. "At least" a fraction of nothing would accept nobody, and
    nothing is decided by nobody: that line reads "at least 1 needed".
    """
    if line.raised_to_one:
        return _("at least %(line)s needed") % {"line": number(Fraction(line.required))}
    exact = line.exact
    if line.threshold.strict:
        text = _("more than %(line)s needed") % {"line": number(exact)}
    else:
        text = _("at least %(line)s needed") % {"line": number(exact)}
    if exact.denominator != 1:
        text += f" ({line.required})"
    return text


def outcome_word(outcome: rules.Outcome | str, *, live: bool = False) -> str:
    """The verdict; while the vote is open, what it would be if it closed now."""
    if live:
        return {
            rules.Outcome.PASSED: _("would pass"),
            rules.Outcome.REJECTED: _("would not pass"),
            rules.Outcome.NO_QUORUM: _("no quorum"),
        }[rules.Outcome(outcome)]
    return {
        rules.Outcome.PASSED: _("passed"),
        rules.Outcome.REJECTED: _("rejected"),
        rules.Outcome.NO_QUORUM: _("no quorum"),
    }[rules.Outcome(outcome)]


def basis_phrase(basis: rules.Basis, total: int) -> str:
    return {
        rules.Basis.MEMBERS: _("of all member units (%(n)s)"),
        rules.Basis.PRESENT: _("of units present (%(n)s)"),
        rules.Basis.CAST: _("of votes cast (%(n)s)"),
    }[basis] % {"n": total}


def quorum_sentence(line: rules.Line) -> str:
    """ "Attendance 15 of 21 units — more than 14 needed — quorum met." """
    verdict = _("quorum met") if line.met else _("no quorum")
    return _("Attendance %(present)s of %(eligible)s units — %(needed)s — %(verdict)s.") % {
        "present": line.count,
        "eligible": line.total,
        "needed": needed(line),
        "verdict": verdict,
    }


def attendance_sentence(line: rules.Line) -> str:
    """ "15 of 21 units present — more than 14 needed — quorum met" (the live bar)."""
    verdict = _("quorum met") if line.met else _("no quorum")
    return _("%(present)s of %(eligible)s units present — %(needed)s — %(verdict)s") % {
        "present": line.count,
        "eligible": line.total,
        "needed": needed(line),
        "verdict": verdict,
    }


def majority_sentence(result: rules.Result, *, live: bool = False) -> str:
    """ "Yes 8 of 21 member units — more than 10.5 needed (11) — rejected." """
    line = result.majority
    of = {
        rules.Basis.MEMBERS: _("Yes %(yes)s of %(total)s member units"),
        rules.Basis.PRESENT: _("Yes %(yes)s of %(total)s units present"),
        rules.Basis.CAST: _("Yes %(yes)s of %(total)s votes cast"),
    }[result.rules.basis] % {"yes": line.count, "total": line.total}
    if result.quorum.met:
        verdict = outcome_word(result.outcome, live=live)
    elif line.met:
        verdict = _("majority reached, but void without quorum")
    else:
        verdict = _("majority not reached, and void without quorum")
    return _("%(yes_of_total)s — %(needed)s — %(verdict)s.") % {
        "yes_of_total": of,
        "needed": needed(line),
        "verdict": verdict,
    }


def readings_sentence(result: rules.Result, *, live: bool = False) -> str:
    """ "Other readings: of units present (15) → passed; of votes cast (12) → passed." """
    others = [
        f"{basis_phrase(b, result.majorities[b].total)} → "
        f"{outcome_word(result.readings[b], live=live)}"
        for b in rules.Basis
        if b != result.rules.basis
    ]
    text = _("Other readings: %(readings)s.") % {"readings": "; ".join(others)}
    if result.readings_disagree:
        text += " " + _("The readings disagree: this council's choice of basis decides.")
    return text


def explain(result: rules.Result, *, live: bool = False) -> list[str]:
    """The three sentences that show a result, in the active language. ``live`` words
    an open vote's count as what it would decide if it closed now."""
    return [
        quorum_sentence(result.quorum),
        majority_sentence(result, live=live),
        readings_sentence(result, live=live),
    ]


def explanation(result: rules.Result) -> str:
    return "\n".join(explain(result))


def fraction_words(threshold: rules.Threshold) -> str:
    """ "half", "2/3", "3/5" — the fraction as a council's charter would write it."""
    if (threshold.numerator, threshold.denominator) == (1, 2):
        return _("half")
    return f"{threshold.numerator}/{threshold.denominator}"


def rule_sentences(rule_set: rules.RuleSet, eligible: int) -> list[str]:
    """The rule set in words, e.g. "More than 2/3 of the 21 member units must attend."."""
    q, m = rule_set.quorum, rule_set.majority
    if q.strict:
        quorum = _("More than %(fraction)s of the %(n)s member units must attend.")
    else:
        quorum = _("At least %(fraction)s of the %(n)s member units must attend.")
    majority = {
        (True, rules.Basis.MEMBERS): _("More than %(fraction)s of all member units must vote yes."),
        (True, rules.Basis.PRESENT): _(
            "More than %(fraction)s of the units present must vote yes."
        ),
        (True, rules.Basis.CAST): _(
            "More than %(fraction)s of the votes cast (yes and no) must be yes."
        ),
        (False, rules.Basis.MEMBERS): _("At least %(fraction)s of all member units must vote yes."),
        (False, rules.Basis.PRESENT): _(
            "At least %(fraction)s of the units present must vote yes."
        ),
        (False, rules.Basis.CAST): _(
            "At least %(fraction)s of the votes cast (yes and no) must be yes."
        ),
    }[(m.strict, rule_set.basis)]
    return [
        quorum % {"fraction": fraction_words(q), "n": eligible},
        majority % {"fraction": fraction_words(m)},
    ]
