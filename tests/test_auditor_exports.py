"""The auditor's exports (issue 13): the register's CSV with names and local and UTC close
times, the CSV of every ballot, a meeting's attendance CSV, ``Accept: text/csv``, and
the register's date filters read as days of each council's own time zone.

Personas (tests/personas.py): alice secretary, dave auditor, bob delegate of U01;
erin secretary of the other council.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import subprocess
import sys
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from council import services as council_services
from members import services as member_services
from proposals import services as proposal_services
from proposals.models import Proposal, Vote

from .personas import World, check_in_units, new_meeting

API = "/api/v1/decisions"
ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / "proposals" / "verify_export.py"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def api(world: World, person: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.people[person])
    return client


def body(response: Any) -> str:
    content = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    return content.decode("utf-8")


def rows_of(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # Excel reads Chinese names right
    return list(csv.DictReader(io.StringIO(text[1:])))


def decide(world: World, meeting: Any, title: str, choices: dict[int, str]) -> Proposal:
    proposal = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title=title, proposer_unit=world.chair
    )
    proposal_services.open_vote(actor=world.alice, proposal=proposal)
    for index, choice in choices.items():
        proposal_services.cast_ballot(
            actor=world.bob if index == 0 else world.alice,
            proposal=proposal,
            unit=world.units[index],
            choice=choice,
        )
    return proposal_services.close_vote(actor=world.alice, proposal=proposal)


@pytest.fixture
def decided(world: World) -> Proposal:
    """One decision of the council (Europe/Paris), 15 units present, U01's ballot cast by
    its delegate bob, U02's and U03's recorded by the secretary."""
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    return decide(world, meeting, "Budget 预算", {0: "yes", 1: "no", 2: "abstain"})


def test_the_decisions_csv_names_council_meeting_and_unit_with_local_and_utc_times(
    world: World, decided: Proposal
) -> None:
    vote = decided.current_vote
    rows = rows_of(body(api(world, "dave").get(f"{API}/?format=csv")))
    assert len(rows) == 1
    row = rows[0]
    # The columns scripts read stay; the names come with them.
    assert (row["id"], row["council"], row["meeting"]) == (
        str(decided.pk),
        str(world.council.pk),
        str(decided.meeting_id),
    )
    assert row["council_name"] == "Test Council"
    assert row["meeting_title"] == "Assembly"
    assert row["title"] == "Budget 预算"
    assert row["proposer_unit"] == str(world.chair.pk)
    assert row["proposer_unit_name"] == "Unit 01"
    assert row["kind"] == "ordinary"
    assert (row["yes"], row["no"], row["abstain"], row["present"]) == ("1", "1", "1", "15")
    assert row["outcome"] == vote.outcome
    assert row["time_zone"] == "Europe/Paris"
    paris = vote.closed_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert row["closed_at_local"] == paris.isoformat()
    assert row["closed_at_local"][-6:] in ("+01:00", "+02:00")
    assert row["closed_at_utc"].endswith("Z")
    assert datetime.datetime.fromisoformat(row["closed_at_utc"]) == vote.closed_at
    assert {row[f"reading_{b}"] for b in ("members", "present", "cast")} <= set(
        Proposal.Outcome.values
    )


def test_every_name_in_the_csvs_is_neutralised_for_spreadsheets(
    world: World, decided: Proposal
) -> None:
    council_services.update_council(actor=world.root, council=world.council, name="=Council")
    member_services.update_unit(actor=world.root, unit=world.units[1], name="@Unit 02")
    world.council.meetings.update(title="+Assembly")
    decisions = rows_of(body(api(world, "dave").get(f"{API}/?format=csv")))
    assert decisions[0]["council_name"] == "'=Council"
    assert decisions[0]["meeting_title"] == "'+Assembly"
    ballots = rows_of(body(api(world, "dave").get(f"{API}/ballots/")))
    names = {r["unit_short_name"]: r["unit_name"] for r in ballots}
    assert names["U02"] == "'@Unit 02"
    assert {r["council_name"] for r in ballots} == {"'=Council"}


def test_the_ballots_csv_lists_every_ballot_with_who_and_when(
    world: World, decided: Proposal
) -> None:
    vote = decided.current_vote
    text = body(api(world, "dave").get(f"{API}/ballots/?council={world.council.pk}"))
    rows = rows_of(text)
    assert [r["unit_short_name"] for r in rows] == ["U01", "U02", "U03"]
    first = rows[0]
    assert first["vote"] == str(vote.pk) and first["proposal"] == str(decided.pk)
    assert first["proposal_title"] == "Budget 预算" and first["unit_name"] == "Unit 01"
    assert (first["choice"], first["cast_by"], first["recorded_by_secretary"]) == (
        "yes",
        "bob",
        "no",
    )
    assert [(r["choice"], r["cast_by"], r["recorded_by_secretary"]) for r in rows[1:]] == [
        ("no", "alice", "yes"),
        ("abstain", "alice", "yes"),
    ]
    assert {r["proxy_holder"] for r in rows} == {""}  # no proxies yet
    ballot = vote.ballots.get(unit=world.units[0])
    assert datetime.datetime.fromisoformat(first["cast_at_utc"]) == ballot.cast_at
    assert (
        first["cast_at_local"]
        == ballot.cast_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris")).isoformat()
    )
    # Filtered as the register: no decision rejected, no ballot.
    other = "rejected" if vote.outcome == "passed" else "passed"
    assert rows_of(body(api(world, "dave").get(f"{API}/ballots/?outcome={other}"))) == []
    # The other council's secretary sees none of them.
    assert rows_of(body(api(world, "erin").get(f"{API}/ballots/"))) == []
    refused = api(world, "dave").get(f"{API}/ballots/?closed_after=yesterday")
    assert refused.status_code == 400 and "closed_after" in refused.json()


@pytest.mark.parametrize("path", ["/", "/csv/", "/ballots/"])
def test_the_csv_downloads_answer_accept_text_csv(
    world: World, decided: Proposal, path: str
) -> None:
    client = api(world, "dave")
    answer = client.get(f"{API}{path}", HTTP_ACCEPT="text/csv")
    assert answer.status_code == 200, answer
    assert answer["Content-Type"].startswith("text/csv")
    text = body(answer)
    if path != "/ballots/":
        assert text == body(client.get(f"{API}/?format=csv"))
    assert rows_of(text)
    # A refusal is still the API's JSON error body.
    bad = client.get(f"{API}{path}?outcome=maybe", HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("application/json")
    assert "outcome" in bad.json()
    # JSON stays the default.
    if path == "/":
        listed = client.get(f"{API}/", HTTP_ACCEPT="application/json")
        assert listed.status_code == 200 and listed.json()["count"] == 1
        assert client.get(f"{API}/").json()["count"] == 1


def test_a_session_without_a_role_gets_no_csv(world: World, decided: Proposal) -> None:
    assert APIClient().get(f"{API}/ballots/", HTTP_ACCEPT="text/csv").status_code == 401


# --- Days of the council's own time zone ----------------------------------------------------


def close_at(proposal: Proposal, moment: datetime.datetime) -> None:
    """Move a decision's close (the filter's subject) to ``moment``."""
    Vote.objects.filter(proposal=proposal).update(opened_at=moment, closed_at=moment)


@pytest.fixture
def shanghai(world: World) -> World:
    council_services.update_council(
        actor=world.root, council=world.council, time_zone="Asia/Shanghai"
    )
    world.council.refresh_from_db()
    return world


def titles(client: APIClient, query: str) -> list[str]:
    answer = client.get(f"{API}/?{query}&page_size=100")
    assert answer.status_code == 200, answer.content
    return sorted(d["title"] for d in answer.json()["results"])


def test_a_date_filter_is_a_day_of_the_councils_time_zone(shanghai: World) -> None:
    world = shanghai
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    # 01:30 on 3 December in Shanghai is 17:30 UTC on 2 December.
    early = decide(world, meeting, "Early", {0: "yes"})
    close_at(early, datetime.datetime(2026, 12, 3, 1, 30, tzinfo=SHANGHAI))
    # The last minute of 3 December in Shanghai, and the first of the 4th.
    late = decide(world, meeting, "Late", {0: "yes"})
    close_at(late, datetime.datetime(2026, 12, 3, 23, 59, 59, tzinfo=SHANGHAI))
    next_day = decide(world, meeting, "Next day", {0: "yes"})
    close_at(next_day, datetime.datetime(2026, 12, 4, 0, 0, tzinfo=SHANGHAI))
    # 23:59 on 2 December in Shanghai: the day before.
    before = decide(world, meeting, "Day before", {0: "yes"})
    close_at(before, datetime.datetime(2026, 12, 2, 23, 59, tzinfo=SHANGHAI))
    client = api(world, "dave")
    day = "closed_after=2026-12-03&closed_before=2026-12-04"
    assert titles(client, day) == ["Early", "Late"]
    assert titles(client, "closed_after=2026-12-04") == ["Next day"]
    assert titles(client, "closed_before=2026-12-03") == ["Day before"]
    # A moment with its offset is that moment; one without is UTC, as before.
    assert titles(client, "closed_after=2026-12-02T17:30:00Z&closed_before=2026-12-02T17:31") == [
        "Early"
    ]
    # The page and its downloads read the same days.
    page = Client()
    page.force_login(world.dave)
    html = page.get(f"/councils/{world.council.slug}/decisions/?{day}").content.decode()
    assert "Early" in html and "Late" in html and "Next day" not in html
    assert "Day before" not in html
    # The table shows the day filtered for: 01:30 on 3 December.
    assert "2026-12-03 01:30" in html
    rows = rows_of(body(client.get(f"{API}/?format=csv&{day}")))
    assert sorted(r["title"] for r in rows) == ["Early", "Late"]
    assert {r["closed_at_local"] for r in rows} >= {"2026-12-03T01:30:00+08:00"}
    assert "2026-12-02T17:30:00Z" in {r["closed_at_utc"] for r in rows}


def test_several_councils_each_filter_by_their_own_zone(shanghai: World) -> None:
    world = shanghai
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    east = decide(world, meeting, "East", {0: "yes"})
    # 00:30 on 3 December in Shanghai (16:30 UTC on the 2nd).
    close_at(east, datetime.datetime(2026, 12, 3, 0, 30, tzinfo=SHANGHAI))
    # A second council in UTC whose decision closed at 16:30 UTC on 2 December: the same
    # moment, but on 2 December there.
    other = world.council.__class__.objects.get(slug="other")
    assert other.time_zone == "UTC"
    from members.models import MemberUnit

    unit = member_services.create_unit(actor=world.root, council=other, name="O1", short_name="O1")
    assert isinstance(unit, MemberUnit)
    other_meeting = council_services.create_meeting(
        actor=world.erin,
        council=other,
        title="Other",
        scheduled_at=datetime.datetime.now(datetime.UTC),
    )
    council_services.start_meeting(actor=world.erin, meeting=other_meeting)
    council_services.check_in(actor=world.erin, meeting=other_meeting, unit=unit)
    west = proposal_services.create_proposal(actor=world.erin, meeting=other_meeting, title="West")
    proposal_services.open_vote(actor=world.erin, proposal=west)
    proposal_services.close_vote(actor=world.erin, proposal=west)
    close_at(west, datetime.datetime(2026, 12, 2, 16, 30, tzinfo=datetime.UTC))
    # root sees both councils in one request.
    both = api(world, "root")
    assert titles(both, "closed_after=2026-12-03&closed_before=2026-12-04") == ["East"]
    assert titles(both, "closed_after=2026-12-02&closed_before=2026-12-03") == ["West"]


def export_of(client: APIClient, query: str, tmp_path: Path, name: str) -> Path:
    answer = client.get(f"{API}/?format=json&{query}")
    assert answer.status_code == 200
    path = tmp_path / name
    path.write_bytes(b"".join(answer.streaming_content))  # type: ignore[attr-defined]  # streamed
    return path


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — our interpreter, our script, a temp file
        [sys.executable, "-S", "-I", str(VERIFIER), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_verifier_re_applies_a_local_day_filter(shanghai: World, tmp_path: Path) -> None:
    """Closed now, the decision falls on today's date in Shanghai: the export filtered
    by that day verifies, and without its decision the verifier says it is missing."""
    world = shanghai
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    proposal = decide(world, meeting, "Today", {0: "yes"})
    local = proposal.current_vote.closed_at.astimezone(SHANGHAI).date()
    client = api(world, "dave")
    today = f"council={world.council.pk}&closed_after={local.isoformat()}"
    path = export_of(client, today, tmp_path, "today.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [d["title"] for d in data["decisions"]] == ["Today"]
    result = verify(path)
    assert result.returncode == 0, result.stdout + result.stderr
    data["decisions"] = []
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = verify(path)
    assert result.returncode == 1
    assert "was closed but its decision is missing" in result.stdout
    # The day after selects nothing, and an empty export of it verifies.
    tomorrow = (local + datetime.timedelta(days=1)).isoformat()
    path = export_of(client, f"council={world.council.pk}&closed_after={tomorrow}", tmp_path, "t")
    assert json.loads(path.read_text(encoding="utf-8"))["decisions"] == []
    result = verify(path)
    assert result.returncode == 0, result.stdout


# --- A meeting's attendance, and the minutes as a record -----------------------------------


@pytest.fixture
def adjourned(world: World) -> Any:
    """A meeting: U01-U15 and the non-voting Partner checked in, U15 checked out before
    the adjournment; one special resolution with a motion text and a deadline."""
    meeting = new_meeting(world)
    check_in_units(world, meeting, [*world.units[:15], world.partner])
    proposal = proposal_services.create_proposal(
        actor=world.alice,
        meeting=meeting,
        title="Charter",
        body="The council adopts the charter.",
        proposer_unit=world.chair,
        kind="special",
    )
    deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=3)
    proposal_services.open_vote(actor=world.alice, proposal=proposal, deadline=deadline)
    for unit in world.units[:15]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    council_services.check_out(actor=world.alice, meeting=meeting, unit=world.units[14])
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    meeting.refresh_from_db()
    return meeting


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_attendance_csv_of_a_meeting(world: World, adjourned: Any) -> None:
    url = f"/meetings/{adjourned.pk}/attendance.csv"
    answer = signed_in(world.dave).get(url)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    rows = rows_of(body(answer))
    assert len(rows) == 16
    by_unit = {r["unit_short_name"]: r for r in rows}
    assert by_unit["U01"]["unit_name"] == "Unit 01" and by_unit["U01"]["voting"] == "yes"
    assert by_unit["P"]["voting"] == "no"
    assert by_unit["U01"]["present_at_adjournment"] == "yes"
    assert by_unit["U15"]["present_at_adjournment"] == "no"
    assert by_unit["U15"]["checked_out_at_utc"].endswith("Z")
    assert by_unit["U01"]["checked_out_at_local"] == ""
    stay = adjourned.attendances.get(unit=world.units[0])
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    assert by_unit["U01"]["checked_in_at_local"] == stay.checked_in_at.astimezone(paris).isoformat()
    assert {r["time_zone"] for r in rows} == {"Europe/Paris"}
    # The council's members read it (a delegate too, as the minutes); another council's
    # secretary gets a 404, a visitor the sign-in page.
    assert signed_in(world.bob).get(url).status_code == 200
    assert signed_in(world.erin).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    # Linked from the minutes page.
    page = signed_in(world.dave).get(f"/meetings/{adjourned.pk}/minutes/").content.decode()
    assert f'href="{url}"' in page


def test_the_minutes_are_a_record(world: World, adjourned: Any) -> None:
    page = signed_in(world.dave).get(f"/meetings/{adjourned.pk}/minutes/").content.decode()
    assert "The council adopts the charter." in page  # the motion
    assert "special resolution" in page
    local = adjourned.proposals.get().current_vote.deadline.astimezone(
        zoneinfo.ZoneInfo("Europe/Paris")
    )
    assert local.strftime("%Y-%m-%d %H:%M") in page  # the deadline, in the council's zone
    assert "Present: 15 eligible units" in page and "Absent: 6 eligible units" in page
    absent = page.split('id="absent-units">')[1].split("</dd>")[0]
    assert absent == "U16, U17, U18, U19, U20, U21"
    non_voting = page.split('id="non-voting-units">')[1].split("</dd>")[0]
    assert non_voting == "P — Partner"
    assert page.count('<span class="tag">non-voting</span>') == 1
    assert "Proxy holder" in page and "Signatures" in page and "Secretary" in page
    assert "Ledger head at the adjournment" in page


def test_minutes_frozen_as_version_1_still_render(world: World, adjourned: Any) -> None:
    """Meetings adjourned before version 2 keep their document: no motion text, no
    voting flags, no proxy field; the page says what is missing and does not fail."""
    from council.models import Minutes

    frozen = Minutes.objects.get(meeting=adjourned)
    document = frozen.document
    assert document["version"] == 2 and document["votes"][0]["body"]
    document["version"] = 1
    for vote in document["votes"]:
        del vote["body"]
        for ballot in vote["ballots"]:
            del ballot["proxy_holder"]
    for stay in document["attendance"]:
        del stay["voting"]
    Minutes.objects.filter(pk=frozen.pk).update(document=document)
    page = signed_in(world.dave).get(f"/meetings/{adjourned.pk}/minutes/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "minutes version 1" in text and "The council adopts the charter." not in text
    assert "Absent: 6 eligible units" in text  # derived from the units and attendance


def test_the_verifier_downloads_as_the_exact_file_with_its_hash(
    world: World, decided: Proposal, tmp_path: Path
) -> None:
    import hashlib

    dave = signed_in(world.dave)
    page = dave.get(f"/councils/{world.council.slug}/decisions/").content.decode()
    shipped = VERIFIER.read_bytes()
    digest = hashlib.sha256(shipped).hexdigest()
    assert f'<code class="hash" id="verifier-sha256">{digest}</code>' in page
    assert 'href="/tools/verify_export.py"' in page
    assert f'href="/api/v1/decisions/ballots/?council={world.council.pk}"' in page
    answer = dave.get("/tools/verify_export.py")
    assert answer.status_code == 200 and answer.content == shipped
    assert answer["X-Content-SHA256"] == digest
    assert 'filename="verify_export.py"' in answer["Content-Disposition"]
    # The downloaded copy verifies a downloaded export, with the standard library only.
    script = tmp_path / "verify_export.py"
    script.write_bytes(answer.content)
    export = export_of(api(world, "dave"), f"council={world.council.pk}", tmp_path, "d.json")
    run = subprocess.run(  # noqa: S603 — our interpreter, the downloaded script, a temp file
        [sys.executable, "-S", "-I", str(script), str(export)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK" in run.stdout or "verified" in run.stdout.lower(), run.stdout
    helped = subprocess.run(  # noqa: S603 — as above
        [sys.executable, "-S", "-I", str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helped.returncode == 0 and "--expect-head" in helped.stdout


def test_the_api_serves_the_attendance_csv_also_to_accept_text_csv(
    world: World, adjourned: Any
) -> None:
    url = f"/api/v1/meetings/{adjourned.pk}/attendance/"
    page = body(signed_in(world.dave).get(f"/meetings/{adjourned.pk}/attendance.csv"))
    for accept in ("text/csv", "*/*"):
        answer = api(world, "dave").get(url, HTTP_ACCEPT=accept)
        assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
        assert body(answer) == page
    assert api(world, "erin").get(url, HTTP_ACCEPT="text/csv").status_code == 404
    missing = api(world, "dave").get("/api/v1/meetings/999999/attendance/", HTTP_ACCEPT="text/csv")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("application/json")


def test_the_docs_give_the_verifiers_hash() -> None:
    import hashlib
    import re

    docs = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    [said] = re.findall(r"verify_export\.py sha256 ([0-9a-f]{64})", docs)
    assert said == hashlib.sha256(VERIFIER.read_bytes()).hexdigest(), (
        "proposals/verify_export.py changed: put its new SHA-256 in docs/security.md"
    )
