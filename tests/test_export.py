"""The self-contained export and the standalone verifier, honest and tampered.

The verifier runs as an auditor would: ``python -S -I`` (no site-packages, so the
standard library only), on a file, trusting nothing else.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from proposals import rules, verify_export
from proposals import services as proposal_services

from .personas import World, check_in_units, new_meeting
from .test_rules import CASES

ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / "proposals" / "verify_export.py"


@pytest.fixture
def export(world: World, tmp_path: Path) -> dict[str, Any]:
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:17])
    for title, choices in (
        ("Chair's budget", ["yes"] * 8 + ["no"] * 6 + ["abstain"] * 3),
        ("Charter in Chinese 中文", ["yes"] * 13 + ["no"] * 4),
    ):
        p = proposal_services.create_proposal(
            actor=world.alice, meeting=meeting, title=title, proposer_unit=world.chair
        )
        proposal_services.open_vote(actor=world.alice, proposal=p)
        for unit, choice in zip(world.units, choices, strict=False):
            proposal_services.cast_ballot(actor=world.alice, proposal=p, unit=unit, choice=choice)
        # A replaced ballot: the last one counts, the chain keeps both.
        proposal_services.cast_ballot(
            actor=world.alice, proposal=p, unit=world.units[0], choice=choices[0]
        )
        proposal_services.close_vote(actor=world.alice, proposal=p)
    path = tmp_path / "export.json"
    call_command("export_decisions", output=str(path), no_progress=True)
    return json.loads(path.read_text(encoding="utf-8"))


def run_verifier(data: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return subprocess.run(  # noqa: S603 — our interpreter, our script, a temp file
        [sys.executable, "-S", "-I", str(VERIFIER), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_verifier_on(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — our interpreter, our script, a temp file
        [sys.executable, "-S", "-I", str(VERIFIER), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_verifier_explains_itself_and_a_bad_file_without_a_traceback(
    export: dict[str, Any], tmp_path: Path
) -> None:
    helped = run_verifier_on("--help")
    assert helped.returncode == 0 and "--expect-head" in helped.stdout
    whole = json.dumps(export, ensure_ascii=False)
    truncated = tmp_path / "truncated.json"
    truncated.write_text(whole[: len(whole) // 2], encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}', encoding="utf-8")
    for path, says in (
        (truncated, "is not a complete Quorum JSON export"),
        (other, "is JSON but not a Quorum export"),
        (tmp_path / "missing.json", "cannot read"),
    ):
        result = run_verifier_on(path)
        assert result.returncode == 2, path
        assert says in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_an_honest_export_verifies_offline(export: dict[str, Any], tmp_path: Path) -> None:
    assert [d["outcome"] for d in export["decisions"]] == ["rejected", "passed"]
    result = run_verifier(export, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: all 2 decisions re-derived, chain intact")
    head = export["councils"][0]["head"]
    assert f"event {head['seq']}, hash {head['hash']}" in result.stdout


def _flip_outcome(data: dict[str, Any]) -> None:
    d = data["decisions"][0]
    d["outcome"] = d["result"]["outcome"] = "passed"


def _flip_rules(data: dict[str, Any]) -> None:
    d = data["decisions"][0]
    d["rules"]["majority"]["basis"] = "cast"
    d["outcome"] = d["result"]["outcome"] = "passed"


def _change_ballot(data: dict[str, Any]) -> None:
    data["decisions"][0]["ballots"][0]["choice"] = "no"


def _edit_event(data: dict[str, Any]) -> None:
    data["councils"][0]["events"][20]["actor"] = "mallory"


def _delete_event(data: dict[str, Any]) -> None:
    del data["councils"][0]["events"][20]


def _swap_events(data: dict[str, Any]) -> None:
    events = data["councils"][0]["events"]
    events[20], events[21] = events[21], events[20]


def _truncate_tail(data: dict[str, Any]) -> None:
    del data["councils"][0]["events"][-2:]


def _fork(data: dict[str, Any]) -> None:
    events = data["councils"][0]["events"]
    twin = copy.deepcopy(events[20])
    twin["actor"] = "mallory"
    twin["hash"] = verify_export.event_hash(data["councils"][0]["id"], twin)
    events.insert(21, twin)


def _drop_present_unit(data: dict[str, Any]) -> None:
    d = data["decisions"][1]
    d["result"]["present_units"] = d["result"]["present_units"][:-3]


def _retitle(data: dict[str, Any]) -> None:
    data["decisions"][1]["title"] = "Something else"


def _rename_unit(data: dict[str, Any]) -> None:
    units = data["councils"][0]["units"]
    units[0]["name"], units[1]["name"] = units[1]["name"], units[0]["name"]


def _other_caster(data: dict[str, Any]) -> None:
    data["decisions"][0]["ballots"][3]["cast_by"] = "bob"


def _drop_decision(data: dict[str, Any]) -> None:
    del data["decisions"][1]


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_retitle, "title or proposer unit differs from the ledger"),
        (_rename_unit, "name or voting status differs from the ledger"),
        (_other_caster, "names another caster or time than the ledger"),
        (_drop_decision, "decision is missing from the export"),
        (_flip_outcome, "outcome 'passed' but re-derived 'rejected'"),
        (_flip_rules, "rule set differs from the one the vote opened with"),
        (_change_ballot, "ballots differ from those recorded in the ledger"),
        (_edit_event, "content does not match its hash"),
        (_delete_event, "expected event 21"),
        (_swap_events, "does not link to the event before it"),
        (_truncate_tail, "the head does not match the end of the chain"),
        (_fork, "expected event 22"),
        (_drop_present_unit, "result differs from the one recorded when the vote closed"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else "",
)
def test_a_tampered_export_fails_loudly(
    export: dict[str, Any], tmp_path: Path, tamper: Any, says: str
) -> None:
    data = copy.deepcopy(export)
    tamper(data)
    result = run_verifier(data, tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("FAILED:") and says in result.stdout, result.stdout


@pytest.mark.parametrize("basis", ["members", "present", "cast"])
def test_the_verifiers_own_arithmetic_agrees_with_the_rule_module(basis: str) -> None:
    for case in CASES:
        counts = [int(case[k]) for k in ("eligible", "present", "yes", "no", "abstain")]
        mine = verify_export.derive(rules.RuleSet(basis=rules.Basis(basis)).as_dict(), *counts[:4])
        assert mine["readings"] == {b: case[f"outcome_{b}"] for b in verify_export.BASES}
        assert mine["outcome"] == case[f"outcome_{basis}"]


def test_the_csv_export_is_safe_and_readable(
    export: dict[str, Any], tmp_path: Path, world: World
) -> None:
    from proposals.models import Proposal

    Proposal.objects.filter(title__startswith="Chair").update(title="=cmd|' /C calc'!A0")
    path = tmp_path / "export.csv"
    call_command("export_decisions", format="csv", output=str(path), no_progress=True)
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8")[1:])))
    assert rows[1][3] == "'=cmd|' /C calc'!A0"
    assert rows[2][3] == "Charter in Chinese 中文"
    assert rows[1][5] == "rejected" and rows[2][5] == "passed"
    # The counts are read out of each frozen result by the database: they must be its own.
    header = rows[0]
    for row in rows[1:]:
        result = Proposal.objects.get(pk=int(row[0])).result
        cells = dict(zip(header, row, strict=True))
        assert [cells[k] for k in ("eligible", "present", "yes", "no", "abstain")] == [
            str(result[k]) for k in ("eligible", "present", "yes", "no", "abstain")
        ]
        assert cells["not_voted"] == str(result["not_voted"])
        assert cells["basis"] == result["majority"]["basis"]
        assert [cells[f"reading_{b}"] for b in ("members", "present", "cast")] == [
            result["readings"][b] for b in ("members", "present", "cast")
        ]
