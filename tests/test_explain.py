"""The result in words, in English and Simplified Chinese, and the catalogue's health."""

from __future__ import annotations

import gettext
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from proposals import explain
from proposals.rules import Basis, Counts, Line, Outcome, RuleSet, Threshold, evaluate

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def spec_example(basis: Basis = Basis.MEMBERS):
    return evaluate(Counts(eligible=21, present=15, yes=8, no=4, abstain=3), RuleSet(basis=basis))


def test_it_words_the_spec_example_exactly() -> None:
    with translation.override("en"):
        lines = explain.explain(spec_example())
    assert lines == [
        "Attendance 15 of 21 units — more than 14 needed — quorum met.",
        "Yes 8 of 21 member units — more than 10.5 needed (11) — rejected.",
        "Other readings: of units present (15) → passed; of votes cast (12) → passed. "
        "The readings disagree: this council's choice of basis decides.",
    ]


def test_it_words_other_bases_and_strictness() -> None:
    rules = RuleSet(
        quorum=Threshold(1, 2, strict=False), majority=Threshold(2, 3, False), basis=Basis.CAST
    )
    result = evaluate(Counts(eligible=20, present=12, yes=8, no=4, abstain=0), rules)
    with translation.override("en"):
        lines = explain.explain(result)
    assert lines[0] == "Attendance 12 of 20 units — at least 10 needed — quorum met."
    assert lines[1] == "Yes 8 of 12 votes cast — at least 8 needed — passed."
    assert "disagree" in lines[2]


def test_it_says_a_vote_without_quorum_is_void() -> None:
    result = evaluate(Counts(eligible=21, present=14, yes=14, no=0, abstain=0))
    with translation.override("en"):
        lines = explain.explain(result)
    assert lines[0].endswith("— no quorum.")
    assert lines[1].endswith("majority reached, but void without quorum.")


@pytest.mark.parametrize(
    ("value", "text", "chinese"),
    [
        ((14, 1), "14", "14"),
        ((0, 1), "0", "0"),
        ((21, 2), "10.5", "10.5"),
        ((667, 200), "3.335", "3.335"),
        ((2001, 500), "4.002", "4.002"),
        ((1, 200), "0.005", "0.005"),
        ((40, 3), "13 1/3", "13又1/3"),
        ((1, 3), "1/3", "1/3"),
        ((17, 16), "1 1/16", "1又1/16"),
    ],
)
def test_numbers_are_shown_exactly(value: tuple[int, int], text: str, chinese: str) -> None:
    # A decimal only when it is exact in at most three places, else a mixed number: a
    # rounded "13.33" beside "(14)" would not say where the line is.
    with translation.override("en"):
        assert explain.number(Fraction(*value)) == text
    with translation.override("zh-hans"):
        assert explain.number(Fraction(*value)) == chinese


def _majority_line(rules: RuleSet, counts: Counts, language: str) -> str:
    with translation.override(language):
        return explain.explain(evaluate(counts, rules))[1]


def test_it_shows_a_line_of_thirds_as_a_mixed_number() -> None:
    special = RuleSet(majority=Threshold(2, 3, strict=True))
    counts = Counts(eligible=20, present=15, yes=13, no=2, abstain=0)
    assert _majority_line(special, counts, "en") == (
        "Yes 13 of 20 member units — more than 13 1/3 needed (14) — rejected."
    )
    assert _majority_line(special, counts, "zh-hans") == (
        "赞成 13 / 20 个成员单位 — 需多于 13又1/3 (14) — 未通过。"
    )
    # 2/3 of 21 is a whole number: the words alone say 15.
    counts = Counts(eligible=21, present=15, yes=15, no=0, abstain=0)
    assert _majority_line(special, counts, "en") == (
        "Yes 15 of 21 member units — more than 14 needed — passed."
    )
    assert _majority_line(special, counts, "zh-hans") == (
        "赞成 15 / 21 个成员单位 — 需多于 14 — 通过。"
    )


@pytest.mark.parametrize(
    ("eligible", "english", "chinese"),
    [
        (5, "at least 3.335 needed (4)", "需至少 3.335 (4)"),
        # Rounded to two places this line read "at least 4 needed (5)".
        (6, "at least 4.002 needed (5)", "需至少 4.002 (5)"),
        (21, "at least 14.007 needed (15)", "需至少 14.007 (15)"),
        (1000, "at least 667 needed", "需至少 667"),
    ],
)
def test_it_shows_a_line_of_thousandths_exactly(eligible: int, english: str, chinese: str) -> None:
    rules = RuleSet(quorum=Threshold(667, 1000, strict=False))
    result = evaluate(Counts(eligible=eligible, present=4, yes=0, no=0, abstain=0), rules)
    with translation.override("en"):
        assert f"— {english} — " in explain.quorum_sentence(result.quorum)
    with translation.override("zh-hans"):
        assert f"— {chinese} — " in explain.quorum_sentence(result.quorum)


def test_a_line_just_below_one_is_not_shown_as_one() -> None:
    # Rounded to two places this read "more than 1 needed (1)".
    rules = RuleSet(majority=Threshold(999, 1000, strict=True))
    counts = Counts(eligible=1, present=1, yes=1, no=0, abstain=0)
    assert _majority_line(rules, counts, "en") == (
        "Yes 1 of 1 member units — more than 0.999 needed (1) — passed."
    )


def test_at_least_a_share_of_nothing_still_needs_one_yes() -> None:
    rules = RuleSet(majority=Threshold(2, 3, strict=False), basis=Basis.CAST)
    counts = Counts(eligible=3, present=3, yes=0, no=0, abstain=3)
    assert _majority_line(rules, counts, "en") == (
        "Yes 0 of 0 votes cast — at least 1 needed — rejected."
    )
    assert _majority_line(rules, counts, "zh-hans") == "赞成 0 / 已投 0 票 — 需至少 1 — 未通过。"


def test_it_speaks_simplified_chinese() -> None:
    with translation.override("zh-hans"):
        lines = explain.explain(spec_example())
    assert lines[0] == "出席 15 / 21 个单位 — 需多于 14 — 达到法定人数。"
    assert lines[1].startswith("赞成 8 / 21 个成员单位 — 需多于 10.5 (11) — ")
    assert lines[1].endswith("。")
    assert "→" in lines[2] and not re.search(r"[A-Za-z]{3,}", "".join(lines))


def test_pages_show_the_same_exact_line() -> None:
    # The quorum bar, the result card and the projector render lines through these filters.
    from django.template import Context, Template

    rules = RuleSet(quorum=Threshold(667, 1000, False), majority=Threshold(2, 3, True))
    result = evaluate(Counts(eligible=20, present=14, yes=13, no=1, abstain=0), rules)
    page = Template(
        "{% load votes %}{{ result.quorum|attendance }}|{% for line in result|explanation %}"
        "{{ line }}|{% endfor %}"
    )
    with translation.override("en"):
        text = page.render(Context({"result": result}))
    assert "14 of 20 units present — at least 13.34 needed (14) — quorum met|" in text
    assert "Yes 13 of 20 member units — more than 13 1/3 needed (14) — rejected.|" in text
    with translation.override("zh-hans"):
        text = page.render(Context({"result": result}))
    assert "出席 14 / 20 个单位 — 需至少 13.34 (14) — 达到法定人数|" in text
    assert "赞成 13 / 20 个成员单位 — 需多于 13又1/3 (14) — 未通过。|" in text


def _po_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr from a .po file (multi-line strings joined; header skipped).

    A message with a context is keyed as gettext stores it: ``context\x04msgid``.
    """
    entries: dict[str, str] = {}
    key = None
    current: dict[str, list[str]] = {}
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if line.startswith("msgctxt "):
            current = {"msgctxt": [line[8:]]}
            key = "msgctxt"
        elif line.startswith("msgid "):
            current["msgid"] = [line[6:]]
            key = "msgid"
        elif line.startswith("msgstr "):
            current["msgstr"] = [line[7:]]
            key = "msgstr"
        elif line.startswith('"') and key:
            current[key].append(line)
        elif not line and "msgstr" in current:

            def text(parts: list[str]) -> str:
                return (
                    "".join(p[1:-1] for p in parts)
                    .encode()
                    .decode("unicode_escape")
                    .encode("latin-1")
                    .decode("utf-8")
                )

            msgid = text(current["msgid"])
            if "msgctxt" in current and msgid:
                msgid = text(current["msgctxt"]) + "\x04" + msgid
            if msgid:
                entries[msgid] = text(current["msgstr"])
            current, key = {}, None
    return entries


def test_every_string_is_translated_and_compiled() -> None:
    entries = _po_entries(LOCALE / "django.po")
    assert len(entries) > 100
    assert [k for k, v in entries.items() if not v] == []
    assert "fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8")
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    # A stale .mo would miss new strings: run `make messages` after editing the .po.
    stale = [k for k, v in entries.items() if compiled.gettext(k) != v]
    assert stale == []
    for msgid, msgstr in entries.items():
        assert set(re.findall(r"%\((\w+)\)s", msgid)) == set(re.findall(r"%\((\w+)\)s", msgstr))


# --- Properties: the words against the arithmetic, in both languages --------------------


@dataclass(frozen=True)
class Words:
    """How one language writes a line, so that its sentences can be read back."""

    mixed: str  # between the whole part and the fraction of a mixed number
    needed: str  # the line, with {number} for its value
    sentences: dict[str, str]  # with {needed} for the line
    strict: dict[str, bool]  # "more than" / "at least"
    met: dict[str, bool]  # each verdict, and whether it says the line is met

    def pattern(self, sentence: str) -> re.Pattern[str]:
        number = rf"\d+\.\d+|(?:\d+{self.mixed})?\d+/\d+|\d+"
        needed = self.needed.format(number=number)
        return re.compile(self.sentences[sentence].format(needed=needed))


LANGUAGES = {
    "en": Words(
        mixed=" ",
        needed=r"(?P<word>more than|at least) (?P<line>{number}) needed"
        r"(?: \((?P<required>\d+)\))?",
        sentences={
            "quorum": r"Attendance (?P<count>\d+) of (?P<total>\d+) units — {needed} — "
            r"(?P<verdict>[^—]+)\.",
            "attendance": r"(?P<count>\d+) of (?P<total>\d+) units present — {needed} — "
            r"(?P<verdict>[^—]+)",
            "majority": r"Yes (?P<count>\d+) of (?P<total>\d+) "
            r"(?:member units|units present|votes cast) — {needed} — (?P<verdict>[^—]+)\.",
        },
        strict={"more than": True, "at least": False},
        met={
            "quorum met": True,
            "no quorum": False,
            "passed": True,
            "rejected": False,
            "would pass": True,
            "would not pass": False,
            "majority reached, but void without quorum": True,
            "majority not reached, and void without quorum": False,
        },
    ),
    "zh-hans": Words(
        mixed="又",
        needed=r"需(?P<word>多于|至少) (?P<line>{number})(?: \((?P<required>\d+)\))?",
        sentences={
            "quorum": r"出席 (?P<count>\d+) / (?P<total>\d+) 个单位 — {needed} — "
            r"(?P<verdict>[^—]+)。",
            "attendance": r"出席 (?P<count>\d+) / (?P<total>\d+) 个单位 — {needed} — "
            r"(?P<verdict>[^—]+)",
            "majority": r"赞成 (?P<count>\d+) / (?:已投 )?(?P<total>\d+) "
            r"(?:个成员单位|个出席单位|票) — {needed} — (?P<verdict>[^—]+)。",
        },
        strict={"多于": True, "至少": False},
        met={
            "达到法定人数": True,
            "不足法定人数": False,
            "通过": True,
            "未通过": False,
            "将通过": True,
            "将不通过": False,
            # The catalogue's full-width comma, as Chinese writes it.
            "已达多数，但因不足法定人数而无效": True,  # noqa: RUF001
            "未达多数，且因不足法定人数而无效": False,  # noqa: RUF001
        },
    ),
}


def _read_number(text: str, mixed: str) -> Fraction:
    """The shown line as an exact Fraction, checking that its form is the promised one."""
    if "/" not in text:
        if "." in text:
            places = len(text.partition(".")[2])
            assert 1 <= places <= explain.DECIMAL_PLACES and not text.endswith("0")
        return Fraction(text)  # "10.5" is read exactly, never through a float
    whole, _, part = text.rpartition(mixed)
    numerator, denominator = (int(x) for x in part.split("/"))
    proper = Fraction(numerator, denominator)
    # Lowest terms, a proper fraction, and only when no short decimal is exact.
    assert (proper.numerator, proper.denominator) == (numerator, denominator)
    assert 0 < numerator < denominator
    assert (proper * 10**explain.DECIMAL_PLACES).denominator != 1
    return int(whole or 0) + proper


def _smallest_passing(threshold: Threshold, total: int) -> int:
    """By definition, counting up: the first count past (or on) the line, and never 0,
    since nothing is decided by nobody."""
    n, d = threshold.numerator, threshold.denominator
    count = 1
    while not (count * d > n * total if threshold.strict else count * d >= n * total):
        count += 1
    return count


def _check_line(language: str, sentence: str, text: str, line: Line) -> None:
    """Every number of one sentence against the arithmetic of its line."""
    words = LANGUAGES[language]
    match = words.pattern(sentence).fullmatch(text)
    assert match, f"{language} {sentence}: {text!r}"
    count, total = int(match["count"]), int(match["total"])
    assert (count, total) == (line.count, line.total)

    threshold = line.threshold
    shown = _read_number(match["line"], words.mixed)
    shown_strict = words.strict[match["word"]]
    if not threshold.strict and total == 0:
        # "At least" a fraction of nothing: the line, 0, would accept nobody.
        assert (shown_strict, shown) == (False, 1)
    else:
        assert shown_strict is threshold.strict
        assert shown == Fraction(total * threshold.numerator, threshold.denominator)

    # The smallest whole count that meets the shown line is the smallest that passes.
    meets_shown = math.floor(shown) + 1 if shown_strict else math.ceil(shown)
    smallest = _smallest_passing(threshold, total)
    assert meets_shown == smallest == line.required
    # The count in parentheses: omitted over a whole number (the words say it), and
    # otherwise exactly that smallest count.
    if shown.denominator == 1:
        assert match["required"] is None
    else:
        assert int(match["required"]) == smallest

    # "met" and "not met" agree with the count against the line as shown.
    met = words.met[match["verdict"]]
    assert met is (count > shown if shown_strict else count >= shown) is line.met


thresholds = st.one_of(
    st.sampled_from(
        [Threshold(1, 2), Threshold(2, 3), Threshold(2, 3, False), Threshold(667, 1000, False)]
    ),
    st.integers(1, 1000)
    .flatmap(lambda d: st.tuples(st.integers(1, d), st.just(d), st.booleans()))
    .filter(lambda t: not (t[2] and t[0] == t[1]))  # "more than all" cannot be met
    .map(lambda t: Threshold(*t)),
)


@st.composite
def counts(draw: st.DrawFn) -> Counts:
    eligible = draw(st.integers(0, 1000))
    present = draw(st.integers(0, eligible))
    yes = draw(st.integers(0, present))
    no = draw(st.integers(0, present - yes))
    abstain = draw(st.integers(0, present - yes - no))
    return Counts(eligible, present, yes, no, abstain)


@given(counts(), thresholds, thresholds, st.sampled_from(list(Basis)), st.booleans())
@settings(max_examples=300, deadline=None)
def test_the_words_never_contradict_the_numbers(
    c: Counts, quorum: Threshold, majority: Threshold, basis: Basis, live: bool
) -> None:
    result = evaluate(c, RuleSet(quorum=quorum, majority=majority, basis=basis))
    for language in LANGUAGES:
        with translation.override(language):
            sentences = explain.explain(result, live=live)
            bar = explain.attendance_sentence(result.quorum)
        _check_line(language, "quorum", sentences[0], result.quorum)
        _check_line(language, "attendance", bar, result.quorum)
        _check_line(language, "majority", sentences[1], result.majority)
        if result.quorum.met:
            # With quorum, the majority's verdict is the outcome itself.
            assert (result.outcome == Outcome.PASSED) is result.majority.met
