"""Hostile input (issue 7): script injection, spreadsheet formulas, oversized and
malformed bodies, wrong JSON types, unknown enum values, other councils' ids.

Every refusal is a clear 4xx in the contract's shape — never a 500 — and writes nothing:
the rows and the ledger are counted before and after each refused request. Text a user
stored is rendered escaped on every page that shows it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from council import services as council_services
from council.errors import Invalid
from council.models import Attendance, Council, LedgerEvent, Meeting
from members import services as member_services
from members.models import MemberUnit, Role
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal

from .personas import World, check_in_units, new_meeting

API = "/api/v1"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1:A2)", "\t=1", "\r=1"]


def counts() -> dict[str, int]:
    """Every table a request could write, and the ledger."""
    return {
        model.__name__: model.objects.count()
        for model in (Council, Meeting, Attendance, MemberUnit, Role, Proposal, Ballot)
    } | {"ledger": LedgerEvent.objects.count()}


def client_for(w: World, person: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(w.people[person])
    return client


def page_client(w: World, person: str) -> Client:
    client = Client()
    client.force_login(w.people[person])
    return client


# --- Script injection: stored, then rendered escaped everywhere ------------------------------


@pytest.fixture
def hostile_meeting(world: World) -> tuple[Meeting, Proposal, Proposal, MemberUnit]:
    unit = member_services.create_unit(
        actor=world.root, council=world.council, name=ATTRIBUTE, short_name=SCRIPT[:40]
    )
    meeting = council_services.create_meeting(
        actor=world.alice,
        council=world.council,
        title=SCRIPT + ATTRIBUTE,
        scheduled_at=timezone.now(),
    )
    meeting = council_services.start_meeting(actor=world.alice, meeting=meeting)
    check_in_units(world, meeting, [*world.units[:15], unit])
    closed = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title=SCRIPT, body=ATTRIBUTE, proposer_unit=unit
    )
    closed = proposal_services.open_vote(actor=world.alice, proposal=closed)
    proposal_services.cast_ballot(actor=world.alice, proposal=closed, unit=unit, choice="yes")
    proposal_services.close_vote(actor=world.alice, proposal=closed)
    open_ = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title=ATTRIBUTE, body=SCRIPT, proposer_unit=unit
    )
    open_ = proposal_services.open_vote(actor=world.alice, proposal=open_)
    proposal_services.cast_ballot(actor=world.alice, proposal=open_, unit=unit, choice="no")
    return meeting, closed, open_, unit


PAGES = [
    ("alice", "/meetings/{m}/"),
    ("alice", "/meetings/{m}/projector/"),
    ("alice", "/meetings/{m}/live/quorum/"),
    ("alice", "/meetings/{m}/live/vote/"),
    ("alice", "/meetings/{m}/live/projector/"),
    ("alice", "/meetings/{m}/minutes/"),
    ("alice", "/councils/{slug}/"),
    ("dave", "/councils/{slug}/decisions/"),
    ("bob", "/proposals/{open}/vote/"),
    ("bob", "/proposals/{closed}/vote/"),
    ("bob", "/"),
    ("root", "/admin/proposals/proposal/"),
    ("root", "/admin/members/memberunit/"),
    ("root", "/admin/council/meeting/"),
]


@pytest.mark.parametrize(("person", "path"), PAGES)
def test_stored_markup_is_rendered_escaped(
    world: World,
    hostile_meeting: tuple[Meeting, Proposal, Proposal, MemberUnit],
    person: str,
    path: str,
) -> None:
    meeting, closed, open_, _unit = hostile_meeting
    url = path.format(m=meeting.pk, slug=world.council.slug, open=open_.pk, closed=closed.pk)
    response = page_client(world, person).get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    assert SCRIPT not in html
    assert "<img src=x" not in html
    assert "onerror=alert(1)>" not in html


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("/meetings/{m}/", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("/meetings/{m}/minutes/", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        ("/councils/{slug}/decisions/", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ],
)
def test_the_escaped_text_is_shown_not_dropped(
    world: World,
    hostile_meeting: tuple[Meeting, Proposal, Proposal, MemberUnit],
    path: str,
    escaped: str,
) -> None:
    meeting = hostile_meeting[0]
    html = page_client(world, "alice").get(path.format(m=meeting.pk, slug=world.council.slug))
    assert escaped in html.content.decode()


def test_the_json_export_keeps_the_text_exactly(
    world: World, hostile_meeting: tuple[Meeting, Proposal, Proposal, MemberUnit]
) -> None:
    response = client_for(world, "dave").get(f"{API}/decisions/?format=json")
    assert response["Content-Type"].startswith("application/json")
    export = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]  # streamed; not in the stubs' test response
    assert [d["title"] for d in export["decisions"]] == [SCRIPT]


# --- Spreadsheet formulas ------------------------------------------------------------------


def test_every_text_cell_of_the_csv_is_neutralised(world: World) -> None:
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    for title in FORMULAS:
        proposal = proposal_services.create_proposal(
            actor=world.alice, meeting=meeting, title="Formula"
        )
        # Stored directly: titles with a tab or a carriage return are refused now, and one
        # stored before must still reach the CSV neutralised.
        Proposal.objects.filter(pk=proposal.pk).update(title=title)
        proposal_services.open_vote(actor=world.alice, proposal=proposal)
        proposal_services.close_vote(actor=world.alice, proposal=proposal)
    response = client_for(world, "dave").get(f"{API}/decisions/?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]  # streamed; not in the stubs' test response
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(rows) == 1 + len(FORMULAS)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert sorted(c for c in cells if c.startswith("'")) == sorted("'" + f for f in FORMULAS)


# --- Refused requests: a clear 4xx, nothing written ----------------------------------------


def refused(response: Any, before: dict[str, int], statuses: tuple[int, ...]) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and body, body
    assert counts() == before
    return body


def test_a_body_over_the_upload_limit_is_refused(world: World, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    meeting = new_meeting(world)
    before = counts()
    body = json.dumps({"meeting": meeting.pk, "title": "Big", "body": "x" * 20_000})
    response = client_for(world, "alice").post(
        f"{API}/proposals/", body, content_type="application/json"
    )
    # Django refuses it before any view (RequestDataTooBig): a 400, in JSON under /api/.
    assert "detail" in refused(response, before, (400, 413))


def test_a_huge_text_field_is_refused_by_name(world: World) -> None:
    meeting = new_meeting(world)
    before = counts()
    response = client_for(world, "alice").post(
        f"{API}/proposals/", {"meeting": meeting.pk, "title": "x" * 5000}, format="json"
    )
    assert "title" in refused(response, before, (400,))


@pytest.mark.parametrize(
    "raw",
    [b'{"title": "\xff\xfe"}', b'{"title": "ok"', b"\xc3\x28", b"[]", b"null", b'"text"'],
)
def test_malformed_json_is_a_400(world: World, raw: bytes) -> None:
    meeting = new_meeting(world)
    before = counts()
    response = client_for(world, "alice").post(
        f"{API}/proposals/?meeting={meeting.pk}", raw, content_type="application/json"
    )
    refused(response, before, (400,))


def nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_a_400_before_authentication(db: None, kind: str, depth: int) -> None:
    # The token endpoint reads the body of anyone: the decoder's recursion was a 500 there.
    before = counts()
    response = APIClient().post(
        f"{API}/auth/token/", nested(depth, kind), content_type="application/json"
    )
    assert "nested" in refused(response, before, (400,))["detail"]


@pytest.mark.parametrize("kind", ["array", "object"])
def test_deeply_nested_json_is_a_400_for_a_signed_in_caller(world: World, kind: str) -> None:
    meeting = new_meeting(world)
    before = counts()
    response = client_for(world, "alice").post(
        f"{API}/proposals/?meeting={meeting.pk}",
        f'{{"meeting": {meeting.pk}, "title": "Deep", "body": {nested(1000, kind)}}}',
        content_type="application/json",
    )
    assert "nested" in refused(response, before, (400,))["detail"]


def test_brackets_inside_strings_are_text_not_nesting(world: World) -> None:
    meeting = new_meeting(world)
    body = json.dumps({"meeting": meeting.pk, "title": "[{" * 100, "body": '"\\[' * 500})
    response = client_for(world, "alice").post(
        f"{API}/proposals/", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content[:300]
    assert Proposal.objects.get(pk=response.json()["id"]).body == '"\\[' * 500


def test_nesting_up_to_the_bound_is_parsed(db: None) -> None:
    from council.api.parsers import MAX_DEPTH

    response = APIClient().post(
        f"{API}/auth/token/", nested(MAX_DEPTH, "object"), content_type="application/json"
    )
    # Parsed, then refused for what it says (no username, no password), not for its shape.
    assert response.status_code == 400
    assert "nested" not in response.content.decode()


def test_a_form_body_is_not_what_the_api_reads(world: World) -> None:
    meeting = new_meeting(world)
    before = counts()
    response = client_for(world, "alice").post(
        f"{API}/proposals/", {"meeting": meeting.pk, "title": "Form"}, format="multipart"
    )
    refused(response, before, (415,))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("meetings/", {"title": 12, "scheduled_at": "2027-01-01T10:00:00Z"}, "title"),
        ("meetings/", {"title": ["A"], "scheduled_at": "2027-01-01T10:00:00Z"}, "title"),
        ("meetings/", {"title": None, "scheduled_at": "2027-01-01T10:00:00Z"}, "title"),
        ("meetings/", {"title": "A", "scheduled_at": 5}, "scheduled_at"),
        ("meetings/", {"title": "A", "scheduled_at": "2027-13-45T10:00:00Z"}, "scheduled_at"),
        ("meetings/", {"title": "A", "scheduled_at": "2027-01-01T10:00:00Z", "mode": "x"}, "mode"),
        ("units/", {"name": "N", "short_name": "N", "voting": "yes"}, "voting"),
        ("units/", {"name": "N", "short_name": "N", "voting": 1}, "voting"),
        ("units/", {"name": {"a": 1}, "short_name": "N"}, "name"),
        ("units/", {"name": "N", "short_name": "N", "label": "king"}, "label"),
        ("roles/", {"username": "carol", "role": "president"}, "role"),
        ("roles/", {"username": 7, "role": "auditor"}, "username"),
    ],
)
def test_wrong_types_and_unknown_values_are_400_naming_the_field(
    world: World, path: str, body: dict[str, Any], field: str
) -> None:
    before = counts()
    response = client_for(world, "alice").post(
        f"{API}/{path}", {"council": world.council.pk, **body}, format="json"
    )
    assert field in refused(response, before, (400,))


@pytest.mark.parametrize("council", ["1", 1.0, True, None, [1], {"id": 1}, "<script>"])
def test_a_malformed_council_id_is_400(world: World, council: Any) -> None:
    before = counts()
    response = client_for(world, "alice").post(
        f"{API}/meetings/",
        {"council": council, "title": "A", "scheduled_at": "2027-01-01T10:00:00Z"},
        format="json",
    )
    assert "council" in refused(response, before, (400,))


@pytest.mark.parametrize("council", [-1, 0, 2**70])
def test_a_well_formed_id_that_names_nothing_is_404(world: World, council: int) -> None:
    before = counts()
    response = client_for(world, "alice").post(
        f"{API}/meetings/",
        {"council": council, "title": "A", "scheduled_at": "2027-01-01T10:00:00Z"},
        format="json",
    )
    refused(response, before, (404,))


@pytest.mark.parametrize("choice", ["maybe", "YES", "", None, 1, True, ["yes"]])
def test_an_unknown_choice_is_400_and_casts_nothing(
    world: World, open_vote: Proposal, choice: Any
) -> None:
    before = counts()
    response = client_for(world, "bob").put(
        f"{API}/proposals/{open_vote.pk}/ballots/{world.chair.pk}/",
        {"choice": choice},
        format="json",
    )
    assert "choice" in refused(response, before, (400,))


@pytest.mark.parametrize("present", ["yes", 1, None, "true"])
def test_attendance_wants_a_boolean(world: World, meeting: Meeting, present: Any) -> None:
    before = counts()
    response = client_for(world, "alice").put(
        f"{API}/meetings/{meeting.pk}/attendance/{world.units[3].pk}/",
        {"present": present},
        format="json",
    )
    assert "present" in refused(response, before, (400,))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ("outcome=maybe", "outcome"),
        ("outcome=", "outcome"),
        ("proposer_unit=abc", "proposer_unit"),
        ("closed_after=yesterday", "closed_after"),
        ("closed_before=0201-11-08T12:26:07%2B17:21x", "closed_before"),
        ("format=xlsx", "format"),
        ("page_size=abc", "page_size"),
        ("council=<script>", "council"),
    ],
)
def test_unknown_filter_values_are_400(world: World, params: str, field: str) -> None:
    response = client_for(world, "dave").get(f"{API}/decisions/?{params}")
    assert response.status_code == 400 and field in response.json()


def test_a_far_time_zone_offset_is_answered_not_a_500(world: World) -> None:
    response = client_for(world, "dave").get(
        f"{API}/decisions/?closed_before=0201-11-08T12:26:07%2B17:21"
    )
    assert response.status_code == 200 and response.json()["count"] == 0


# --- Another council's objects -------------------------------------------------------------


def test_another_councils_ids_are_404_and_write_nothing(world: World, open_vote: Proposal) -> None:
    erin = client_for(world, "erin")
    meeting = open_vote.meeting
    other = Council.objects.get(slug="other")
    before = counts()
    attempts = [
        erin.put(
            f"{API}/proposals/{open_vote.pk}/ballots/{world.chair.pk}/",
            {"choice": "yes"},
            format="json",
        ),
        erin.post(f"{API}/proposals/{open_vote.pk}/close/"),
        erin.post(f"{API}/meetings/{meeting.pk}/adjourn/"),
        erin.put(
            f"{API}/meetings/{meeting.pk}/attendance/{world.units[20].pk}/",
            {"present": True},
            format="json",
        ),
        erin.post(f"{API}/proposals/", {"meeting": meeting.pk, "title": "Mine now"}, format="json"),
        erin.post(
            f"{API}/units/",
            {"council": world.council.pk, "name": "X", "short_name": "X"},
            format="json",
        ),
        # Her own council, another council's unit: the unit is not hers to name.
        erin.post(
            f"{API}/roles/",
            {"council": other.pk, "username": "carol", "role": "delegate", "unit": world.chair.pk},
            format="json",
        ),
    ]
    for response in attempts[:-1]:
        assert response.status_code == 404, response.content
        assert response.json() == {"detail": "Not found."} or "detail" in response.json()
    assert attempts[-1].status_code == 400 and "unit" in attempts[-1].json()
    assert counts() == before


# --- Ids in a path are ASCII digits ----------------------------------------------------------


def arabic_indic(n: int) -> str:
    return "".join(chr(0x0660 + int(d)) for d in str(n))


def full_width(n: int) -> str:
    return "".join(chr(0xFF10 + int(d)) for d in str(n))


@pytest.mark.parametrize("digits", [arabic_indic, full_width], ids=["arabic", "fullwidth"])
def test_ids_in_other_scripts_digits_name_nothing(
    world: World, open_vote: Proposal, digits: Any
) -> None:
    # int("\u0667") == 7 and int("\uff15") == 5: each path below named a real object.
    alice, bob = client_for(world, "alice"), client_for(world, "bob")
    meeting, chair, role = open_vote.meeting, world.chair, Role.objects.get(user=world.carol)
    before = counts()
    attempts = [
        bob.put(
            f"{API}/proposals/{digits(open_vote.pk)}/ballots/{chair.pk}/",
            {"choice": "yes"},
            format="json",
        ),
        bob.put(
            f"{API}/proposals/{open_vote.pk}/ballots/{digits(chair.pk)}/",
            {"choice": "yes"},
            format="json",
        ),
        alice.put(
            f"{API}/meetings/{meeting.pk}/attendance/{digits(world.units[20].pk)}/",
            {"present": True},
            format="json",
        ),
        alice.put(
            f"{API}/meetings/{digits(meeting.pk)}/attendance/{world.units[20].pk}/",
            {"present": True},
            format="json",
        ),
        alice.post(f"{API}/proposals/{digits(open_vote.pk)}/close/"),
        alice.delete(f"{API}/roles/{digits(role.pk)}/"),
        alice.get(f"{API}/proposals/{digits(open_vote.pk)}/"),
        alice.get(f"{API}/meetings/{digits(meeting.pk)}/"),
        alice.get(f"{API}/councils/{digits(world.council.pk)}/"),
        alice.get(f"{API}/units/{digits(chair.pk)}/"),
    ]
    for response in attempts:
        assert response.status_code == 404, (response.request["PATH_INFO"], response.content)
        assert response["Content-Type"].startswith("application/json")
    assert counts() == before
    # The ASCII forms name them: the refusal was the digits', not the objects'.
    assert alice.get(f"{API}/proposals/{open_vote.pk}/").status_code == 200


@pytest.mark.parametrize("digits", [arabic_indic, full_width], ids=["arabic", "fullwidth"])
def test_pages_route_ascii_ids_only(world: World, open_vote: Proposal, digits: Any) -> None:
    alice, bob = page_client(world, "alice"), page_client(world, "bob")
    before = counts()
    assert bob.get(f"/proposals/{digits(open_vote.pk)}/vote/").status_code == 404
    assert (
        bob.post(
            f"/proposals/{open_vote.pk}/ballots/{digits(world.chair.pk)}/", {"choice": "yes"}
        ).status_code
        == 404
    )
    assert (
        alice.post(
            f"/meetings/{open_vote.meeting.pk}/attendance/{digits(world.units[20].pk)}/",
            {"present": "1"},
        ).status_code
        == 404
    )
    assert alice.get(f"/meetings/{digits(open_vote.meeting.pk)}/").status_code == 404
    assert counts() == before


# --- Titles are one line of visible text -----------------------------------------------------

BAD_TITLES = {
    "newline": ("Budget\nBcc: x@example.org", "one line"),
    "carriage return": ("Budget\r2027", "one line"),
    "tab": ("Budget\t2027", "one line"),
    "escape": ("\x1b[31mBudget", "one line"),
    "line separator": ("Budget\u20282027", "one line"),
    "right-to-left override": ("Budget \u202egpj.exe", "text direction"),
    "isolate": ("\u2067Budget\u2069", "text direction"),
    "zero-width spaces": ("\u200b\u200b\u200b", "visible"),
    "format characters": ("\u2060\ufeff\u00ad", "visible"),
    "hangul filler": ("\u3164", "visible"),
}


@pytest.mark.parametrize(("title", "says"), BAD_TITLES.values(), ids=BAD_TITLES.keys())
def test_a_title_that_is_not_one_visible_line_is_refused(
    world: World, title: str, says: str
) -> None:
    meeting = new_meeting(world)
    draft = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="Draft")
    before = counts()
    alice = client_for(world, "alice")
    answers = [
        alice.post(f"{API}/proposals/", {"meeting": meeting.pk, "title": title}, format="json"),
        alice.post(
            f"{API}/meetings/",
            {"council": world.council.pk, "title": title, "scheduled_at": "2027-01-01T10:00Z"},
            format="json",
        ),
    ]
    for response in answers:
        assert says in " ".join(refused(response, before, (400,))["title"])
    for attempt in (
        lambda: proposal_services.create_proposal(actor=world.alice, meeting=meeting, title=title),
        lambda: proposal_services.update_proposal(actor=world.alice, proposal=draft, title=title),
        lambda: council_services.update_meeting(actor=world.alice, meeting=meeting, title=title),
    ):
        with pytest.raises(Invalid) as info:
            attempt()
        assert says in " ".join(info.value.errors["title"])
    page = page_client(world, "alice").post(
        f"/meetings/{meeting.pk}/proposals/", {"title": title, "kind": "ordinary"}, follow=True
    )
    assert says in page.content.decode()
    assert counts() == before
    assert Proposal.objects.get(pk=draft.pk).title == "Draft"


@pytest.mark.parametrize(
    "title",
    ["Budget 2027 — 预算", "مشروع الميزانية", "Family 👩\u200d👩\u200d👧 day", "  padded  "],
)
def test_titles_in_any_script_are_accepted(world: World, title: str) -> None:
    meeting = new_meeting(world)
    response = client_for(world, "alice").post(
        f"{API}/proposals/", {"meeting": meeting.pk, "title": title}, format="json"
    )
    assert response.status_code == 201, response.content
