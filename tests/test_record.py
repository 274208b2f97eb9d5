"""The record's verifiers against rows edited behind the services' back.

Every edit here is raw SQL, as someone who owns the database would make it: the rows
stay consistent with themselves, and only a replay of the ledger can tell.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from council import services as council_services
from council.models import Attendance, Council, LedgerEvent, LedgerHead
from proposals import audit, notifications, rules, verify_export
from proposals import services as proposal_services
from proposals.models import Notification, Proposal

from .personas import World, check_in_units, new_meeting, open_proposal

VERIFIER = Path(verify_export.__file__)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def problems(world: World) -> list[dict[str, Any]]:
    report = audit.verify([world.council.pk])
    assert report["ok"] is not bool(report["problems"])
    return report["problems"]


def closed_vote(world: World) -> Proposal:
    meeting = new_meeting(world)
    proposal = open_proposal(world, meeting)
    for unit in world.units[:12]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    return proposal_services.close_vote(actor=world.alice, proposal=proposal)


def test_an_honest_history_with_departures_and_rule_changes_verifies(world: World) -> None:
    meeting = new_meeting(world, mode="online")
    check_in_units(world, meeting, world.units[:16])
    council_services.check_out(actor=world.alice, meeting=meeting, unit=world.units[0])
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="A")
    proposal_services.open_vote(actor=world.alice, proposal=proposal)
    # Online, a delegate's cast checks the unit in again: its second stay.
    proposal_services.cast_ballot(
        actor=world.bob, proposal=proposal, unit=world.units[0], choice="no"
    )
    council_services.check_out(actor=world.alice, meeting=meeting, unit=world.units[14])
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    council_services.update_council(
        actor=world.root, council=world.council, rules=rules.RuleSet(basis=rules.Basis.CAST)
    )
    second = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="B")
    proposal_services.open_vote(actor=world.alice, proposal=second)
    proposal_services.close_vote(actor=world.alice, proposal=second)
    assert Attendance.objects.filter(meeting=meeting, unit=world.units[0]).count() == 2
    assert problems(world) == []


def test_an_edited_attendance_row_is_named(world: World) -> None:
    closed_vote(world)
    stay = Attendance.objects.filter(meeting__council=world.council).order_by("pk").first()
    sql(
        "UPDATE council_attendance SET checked_out_at = checked_in_at WHERE id = %s",
        [stay.pk],
    )
    found = problems(world)
    assert [p["problem"] for p in found] == ["attendance_mismatch"]
    assert (
        f"attendance {stay.pk} (meeting {stay.meeting_id}, unit {stay.unit_id})"
        in (found[0]["detail"])
    )


def test_attendance_edited_before_the_close_flips_nothing_unseen(world: World) -> None:
    """Four departures written straight into the table: the close counts 11 of 21
    present, no quorum — the ledger's attendance still has 15 in the room."""
    meeting = new_meeting(world)
    proposal = open_proposal(world, meeting)
    gone = [u.pk for u in world.units[11:15]]
    sql(
        "UPDATE council_attendance SET checked_out_at = %s"
        " WHERE meeting_id = %s AND unit_id = ANY(%s)",
        [timezone.now(), meeting.pk, gone],
    )
    closed = proposal_services.close_vote(actor=world.alice, proposal=proposal)
    assert closed.current_vote.outcome == "no_quorum"
    found = problems(world)
    assert sum(p["problem"] == "attendance_mismatch" for p in found) == 5
    at_close = [p for p in found if p["seq"] is not None]
    assert len(at_close) == 2  # its present units, and the result they gave
    assert all(f"proposal {proposal.pk}, vote 1" in p["detail"] for p in at_close)
    assert {p["problem"] for p in at_close} == {"attendance_mismatch", "result_mismatch"}


def test_an_edited_majority_basis_is_named_and_the_vote_it_shaped_too(world: World) -> None:
    sql("UPDATE council_council SET majority_basis = 'cast' WHERE id = %s", [world.council.pk])
    found = problems(world)
    assert [p["problem"] for p in found] == ["council_mismatch"]
    assert found[0]["detail"] == f"council {world.council.pk}: rules differ(s) from the ledger"
    # A vote opened under the edited rules freezes them: the ledger says the council
    # never had them.
    meeting = new_meeting(world)
    proposal = open_proposal(world, meeting)
    opened = [p for p in problems(world) if p["problem"] == "rules_not_the_councils"]
    assert len(opened) == 1 and f"proposal {proposal.pk}, vote 1" in opened[0]["detail"]


def test_an_edited_frozen_rule_set_is_named(world: World) -> None:
    proposal = closed_vote(world)
    sql(
        "UPDATE proposals_vote SET rules = jsonb_set(rules, '{majority,basis}', '\"cast\"')"
        " WHERE proposal_id = %s",
        [proposal.pk],
    )
    found = problems(world)
    assert "rules_mismatch" in {p["problem"] for p in found}
    assert any(
        p["problem"] == "rules_mismatch" and f"proposal {proposal.pk}, vote 1" in p["detail"]
        for p in found
    )


def test_an_edited_voting_flag_is_named(world: World) -> None:
    unit = world.units[3]
    sql("UPDATE members_memberunit SET voting = false WHERE id = %s", [unit.pk])
    found = problems(world)
    assert [p["problem"] for p in found] == ["unit_mismatch"]
    assert (
        found[0]["detail"]
        == f"unit {unit.pk} ({unit.short_name}): voting differ(s) from the ledger"
    )


# --- The export checker -----------------------------------------------------------------


def exported(tmp_path: Path, **selection: Any) -> dict[str, Any]:
    path = tmp_path / "export.json"
    call_command("export_decisions", output=str(path), no_progress=True, **selection)
    return json.loads(path.read_text(encoding="utf-8"))


def check(data: dict[str, Any], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The checker as an auditor runs it: the standard library only, on a file."""
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return subprocess.run(  # noqa: S603 — our interpreter, our script, a temp file
        [sys.executable, "-S", "-I", str(VERIFIER), str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rechain(data: dict[str, Any]) -> None:
    """Re-hash and re-link every chain after an edit, as a forger who owns the export
    would: the chain checks then pass and only the replay can object."""
    for council in data["councils"]:
        prev = verify_export.GENESIS
        for event in council["events"]:
            event["prev_hash"] = prev
            prev = event["hash"] = verify_export.event_hash(council["id"], event)
        council["head"] = {"seq": council["events"][-1]["seq"], "hash": prev}


@pytest.fixture
def two_decisions(world: World) -> tuple[Proposal, Proposal]:
    """A rejected and a passed decision (8 and 13 yes of 21)."""
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:17])
    made = []
    for title, yes in (("Budget", 8), ("Charter", 13)):
        p = proposal_services.create_proposal(
            actor=world.alice, meeting=meeting, title=title, proposer_unit=world.chair
        )
        proposal_services.open_vote(actor=world.alice, proposal=p)
        for unit in world.units[:yes]:
            proposal_services.cast_ballot(actor=world.alice, proposal=p, unit=unit, choice="yes")
        made.append(proposal_services.close_vote(actor=world.alice, proposal=p))
    return made[0], made[1]


@pytest.mark.parametrize(
    "selection",
    [
        {"outcome": "passed"},
        {"council": "SELF"},
        {"proposer_unit": "CHAIR", "closed_after": "2000-01-01"},
        {},
    ],
)
def test_a_decision_cut_from_an_export_is_named_whatever_its_filter(
    world: World, two_decisions: tuple[Proposal, Proposal], tmp_path: Path, selection: Any
) -> None:
    _budget, charter = two_decisions
    fill = {"SELF": [world.council.pk], "CHAIR": str(world.chair.pk)}
    selection = {k: fill.get(v, v) for k, v in selection.items()}
    data = exported(tmp_path, **selection)
    assert data["filter"] == selection
    intact = check(data, tmp_path)
    assert intact.returncode == 0, intact.stdout
    data["decisions"] = [d for d in data["decisions"] if d["id"] != charter.pk]
    cut = check(data, tmp_path)
    assert cut.returncode == 1
    assert (
        f"council {world.council.pk}: vote 1 on proposal {charter.pk} was closed but its "
        "decision is missing from the export"
    ) in cut.stdout


def test_a_filter_that_leaves_a_vote_out_does_not_ask_for_it(
    world: World, two_decisions: tuple[Proposal, Proposal], tmp_path: Path
) -> None:
    data = exported(tmp_path, outcome="rejected", closed_before="2999-01-01T00:00:00Z")
    assert len(data["decisions"]) == 1
    assert check(data, tmp_path).returncode == 0
    data["decisions"] = []
    assert "was closed but its decision is missing" in check(data, tmp_path).stdout


def test_a_council_whose_chain_and_decisions_were_cut_is_named(
    world: World, two_decisions: tuple[Proposal, Proposal], tmp_path: Path
) -> None:
    data = exported(tmp_path, council=[world.council.pk])
    data["decisions"], data["councils"] = [], []
    cut = check(data, tmp_path)
    assert (
        f"council {world.council.pk}: selected by the export's filter but its chain is missing"
        in (cut.stdout)
    )


def test_attendance_edited_before_a_close_shows_in_the_export(world: World, tmp_path: Path) -> None:
    meeting = new_meeting(world)
    proposal = open_proposal(world, meeting)
    sql(
        "UPDATE council_attendance SET checked_out_at = %s"
        " WHERE meeting_id = %s AND unit_id = ANY(%s)",
        [timezone.now(), meeting.pk, [u.pk for u in world.units[11:15]]],
    )
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    found = check(exported(tmp_path), tmp_path)
    assert found.returncode == 1
    assert (
        f"vote 1 on proposal {proposal.pk}: the units counted present at the close differ "
        "from the ledger's attendance and ballots"
    ) in found.stdout
    assert "differs from one re-derived from the ledger (not_voted, outcome, present" in (
        found.stdout
    )


def test_a_council_rule_edited_before_a_vote_shows_in_the_export(
    world: World, tmp_path: Path
) -> None:
    sql("UPDATE council_council SET majority_basis = 'cast' WHERE id = %s", [world.council.pk])
    closed_vote(world)
    found = check(exported(tmp_path), tmp_path)
    assert found.returncode == 1
    assert "opened with a rule set other than the council's as its ledger records it" in (
        found.stdout
    )


def test_expected_heads_extended_or_not(
    world: World, two_decisions: tuple[Proposal, Proposal], tmp_path: Path
) -> None:
    data = exported(tmp_path)
    events = data["councils"][0]["events"]
    kept = f"{events[10]['seq']}:{events[10]['hash']}"
    last = f"{events[-1]['seq']}:{events[-1]['hash']}"
    ok = check(data, tmp_path, "--expect-head", kept, "--expect-head", last)
    assert ok.returncode == 0, ok.stdout
    assert f"extends the expected head {kept}" in ok.stdout
    forged = f"{events[10]['seq']}:{'f' * 64}"
    assert (
        f"expected head {forged}: no chain of the export extends it"
        in check(data, tmp_path, "--expect-head", kept, "--expect-head", forged).stdout
    )
    beyond = f"{events[-1]['seq'] + 5}:{events[-1]['hash']}"
    out = check(data, tmp_path, "--expect-head", beyond)
    assert out.returncode == 1
    assert f"no chain of the export reaches event {events[-1]['seq'] + 5}" in out.stdout
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in str(events[10]["seq"]))
    alias = check(data, tmp_path, "--expect-head", f"{arabic_indic}:{events[10]['hash']}")
    assert alias.returncode == 1
    assert "is not SEQ:HASH" in alias.stdout


def test_a_vote_event_about_another_kind_of_object_is_a_finding(
    world: World, two_decisions: tuple[Proposal, Proposal], tmp_path: Path
) -> None:
    data = exported(tmp_path)
    event = next(e for e in data["councils"][0]["events"] if e["action"] == "vote.ballot_cast")
    event["object"] = "meeting:1"
    rechain(data)
    out = check(data, tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert (
        f"event {event['seq']}: a 'vote.ballot_cast' event about 'meeting:1', not a vote"
        in out.stdout
    )
    event["object"] = "vote:x"
    rechain(data)
    out = check(data, tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "cannot be read" in out.stdout


# --- Heads kept by members --------------------------------------------------------------


def verify_ledger(*args: str) -> tuple[bool, dict[str, Any]]:
    out = io.StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out)
    except CommandError:
        return False, json.loads(out.getvalue())
    return True, json.loads(out.getvalue())


def test_verify_ledger_checks_the_heads_members_kept(world: World) -> None:
    closed_vote(world)
    chain = list(LedgerEvent.objects.filter(council=world.council).order_by("seq"))
    kept, last = chain[5], chain[-1]
    ok, report = verify_ledger(
        "--expect-head", f"{kept.seq}:{kept.hash}", "--expect-head", f"{last.seq}:{last.hash}"
    )
    assert ok and report["problems"] == []
    ok, report = verify_ledger(
        "--council", str(world.council.pk), "--expect-head", f"{kept.seq}:{'0' * 64}"
    )
    assert not ok
    assert [(p["problem"], p["council"], p["seq"]) for p in report["problems"]] == [
        ("expected_head_not_extended", world.council.pk, kept.seq)
    ]
    ok, report = verify_ledger("--expect-head", f"{last.seq + 1}:{last.hash}")
    assert not ok
    assert [p["problem"] for p in report["problems"]] == ["expected_head_missing"]
    # The head of this council is no head of another's chain.
    other = Council.objects.get(slug="other").pk
    ok, report = verify_ledger("--council", str(other), "--expect-head", f"1:{chain[0].hash}")
    assert not ok and report["problems"][0]["problem"] == "expected_head_not_extended"


@pytest.mark.parametrize(
    "head", ["12:nothex", f"{chr(0x0661)}{chr(0x0662)}:{'0' * 64}", f"{2**64}:{'0' * 64}"]
)
def test_verify_ledger_refuses_a_head_that_is_not_seq_hash(world: World, head: str) -> None:
    with pytest.raises(CommandError, match="not SEQ:HASH"):
        call_command("verify_ledger", "--expect-head", head, stdout=io.StringIO())


def test_the_api_verification_checks_the_heads_members_kept(world: World) -> None:
    from rest_framework.test import APIClient

    closed_vote(world)
    last = LedgerEvent.objects.filter(council=world.council).order_by("seq").last()
    auditor = APIClient()
    auditor.force_authenticate(world.dave)
    url = "/api/v1/audit/verify/"
    kept = auditor.get(url, {"expect_head": f"{last.seq}:{last.hash}"}).json()
    assert kept["ok"] and kept["problems"] == []
    forged = auditor.get(
        url, {"expect_head": [f"{last.seq}:{last.hash}", f"{last.seq}:{'0' * 64}"]}
    )
    assert forged.status_code == 200 and not forged.json()["ok"]
    assert [p["problem"] for p in forged.json()["problems"]] == ["expected_head_not_extended"]
    arabic_indic_seven = chr(0x0667)  # int() reads it as 7
    for malformed in ("12:nothex", f"{arabic_indic_seven}:{last.hash}", f"{2**64}:{last.hash}"):
        answer = auditor.get(url, {"expect_head": malformed})
        assert answer.status_code == 400 and "expect_head" in answer.json(), malformed


# --- Heads published outside the database -----------------------------------------------


def test_the_result_email_carries_the_head_its_close_made(world: World, settings: Any) -> None:
    for person in world.people.values():
        person.email = f"{person.username}@example.org"
        person.save()
    proposal = closed_vote(world)
    close = LedgerEvent.objects.get(action="vote.closed", object=f"vote:{proposal.current_vote.pk}")
    assert notifications.deliver(proposal.current_vote.pk, "result") == 0  # nothing planned
    notifications.plan_result(proposal.current_vote)
    mail.outbox.clear()
    assert (
        notifications.deliver(proposal.current_vote.pk, "result") == 5
    )  # alice, dave, bob, bea, carol
    assert {m.body.splitlines()[-1] for m in mail.outbox} == {
        f"Ledger head: {close.seq}:{close.hash}"
    }
    # Later events do not move it: it is the head at the result.
    check_in_units(world, new_meeting(world), world.units[:1])
    settings.LANGUAGE_CODE = "zh-hans"
    _subject, body = notifications._message(Notification(kind="result", vote=proposal.current_vote))
    assert body.splitlines()[-1] == f"账本头：{close.seq}:{close.hash}"  # noqa: RUF001 — the Chinese colon
    assert verify_ledger("--expect-head", f"{close.seq}:{close.hash}")[0]


def test_the_minutes_carry_the_councils_head_as_printed(world: World) -> None:
    proposal = closed_vote(world)
    url = reverse("minutes", args=[proposal.meeting_id])
    head = LedgerHead.objects.get(council=world.council)
    page = signed_in(world.dave).get(url).content.decode()
    assert f"Ledger head: {head.seq}:{head.hash}" in page
    council_services.adjourn_meeting(actor=world.alice, meeting=proposal.meeting)
    head.refresh_from_db()
    client = signed_in(world.dave)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(url).content.decode()
    assert f"账本头：{head.seq}:{head.hash}" in page  # noqa: RUF001 — the Chinese colon
    assert "--expect-head" in page
