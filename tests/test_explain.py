"""The result in words, in English and Simplified Chinese, and the catalogue's health."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation

from proposals import explain
from proposals.rules import Basis, Counts, RuleSet, Threshold, evaluate

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def spec_example(basis: Basis = Basis.MEMBERS):  # type: ignore[no-untyped-def]
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
    ("value", "text"), [((14, 1), "14"), ((21, 2), "10.5"), ((40, 3), "13.33")]
)
def test_numbers_are_shown_plainly(value: tuple[int, int], text: str) -> None:
    from fractions import Fraction

    assert explain.number(Fraction(*value)) == text


def test_it_speaks_simplified_chinese() -> None:
    with translation.override("zh-hans"):
        lines = explain.explain(spec_example())
    assert lines[0] == "出席 15 / 21 个单位 — 需多于 14 — 达到法定人数。"
    assert lines[1].startswith("赞成 8 / 21 个成员单位 — 需多于 10.5 (11) — ")
    assert lines[1].endswith("。")
    assert "→" in lines[2] and not re.search(r"[A-Za-z]{3,}", "".join(lines))


def _po_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr from a .po file (multi-line strings joined; header skipped)."""
    entries: dict[str, str] = {}
    key = None
    current: dict[str, list[str]] = {}
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if line.startswith("msgid "):
            current = {"msgid": [line[6:]]}
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
