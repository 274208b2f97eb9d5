"""The REST API against its contract: shapes, the judging order, errors, the schema.

Personas (tests/personas.py): alice secretary, bob delegate of U01, carol delegate of
U02, dave auditor, erin secretary of another council, None anonymous.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from council import services as council_services
from council.models import LedgerEvent, Meeting
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal

from .personas import World, check_in_units, new_meeting

API = "/api/v1"


def api(w: World | None = None, person: str | None = None) -> APIClient:
    client = APIClient()
    if person and w is not None:
        client.force_authenticate(w.people[person])
    return client


@pytest.fixture
def vote(world: World) -> tuple[Meeting, Proposal]:
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    proposal = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title="Budget", proposer_unit=world.chair
    )
    return meeting, proposal_services.open_vote(actor=world.alice, proposal=proposal)


# --- Authentication -------------------------------------------------------------------------


def test_a_token_is_issued_for_good_credentials_only(world: World) -> None:
    client = APIClient()
    good = client.post(f"{API}/auth/token/", {"username": "bob", "password": "pw"}, format="json")
    assert good.status_code == 200 and len(good.json()["token"]) == 64
    bad = client.post(f"{API}/auth/token/", {"username": "bob", "password": "no"}, format="json")
    assert bad.status_code == 400
    client.credentials(HTTP_AUTHORIZATION=f"Token {good.json()['token']}")
    me = client.get(f"{API}/me/").json()
    assert me == {
        "username": "bob",
        "roles": [{"council": world.council.pk, "role": "delegate", "unit": world.units[0].pk}],
    }


@pytest.mark.parametrize(
    "path",
    [
        "me/",
        "councils/",
        "roles/",
        "units/",
        "meetings/",
        "proposals/",
        "decisions/",
        "audit/events/",
        "audit/verify/",
    ],
)
def test_no_credentials_is_401(world: World, path: str) -> None:
    assert APIClient().get(f"{API}/{path}").status_code == 401


def test_unknown_paths_and_methods_answer_in_json(world: World) -> None:
    missing = api(world, "alice").get(f"{API}/nothing/")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    wrong = api(world, "alice").delete(f"{API}/me/")
    assert wrong.status_code == 405 and "detail" in wrong.json()


# --- Shapes ---------------------------------------------------------------------------------


def test_resources_have_the_contracts_fields(world: World, vote: tuple[Meeting, Proposal]) -> None:
    meeting, proposal = vote
    client = api(world, "alice")
    council = client.get(f"{API}/councils/").json()["results"][0]
    assert council["rules"] == {
        "quorum": {"numerator": 2, "denominator": 3, "strict": True},
        "majority": {"numerator": 1, "denominator": 2, "strict": True, "basis": "members"},
        "special_majority": {
            "numerator": 2,
            "denominator": 3,
            "strict": False,
            "basis": "members",
        },
    }
    assert {"id", "name", "slug"} <= set(council)
    unit = client.get(f"{API}/units/?council={world.council.pk}").json()["results"][0]
    assert {"id", "council", "name", "short_name", "voting"} <= set(unit)
    m = client.get(f"{API}/meetings/{meeting.pk}/").json()
    assert {"id", "council", "title", "scheduled_at", "mode", "status"} <= set(m)
    assert m["status"] == "in_session" and m["mode"] == "in_person"
    p = client.get(f"{API}/proposals/{proposal.pk}/").json()
    assert {
        "id",
        "meeting",
        "title",
        "body",
        "proposer_unit",
        "status",
        "outcome",
        "opened_at",
        "closed_at",
    } <= set(p)
    assert p["status"] == "open" and p["outcome"] is None
    assert client.get(f"{API}/meetings/{meeting.pk}/quorum/").json() == {
        "eligible": 21,
        "present": 15,
        "required": 15,
        "met": True,
    }
    roles = client.get(f"{API}/roles/").json()["results"]
    assert {"id", "username", "council", "role", "unit"} == set(roles[0])


def test_lists_are_paginated_and_filtered_by_council(world: World) -> None:
    page = api(world, "root").get(f"{API}/units/?page_size=5").json()
    assert {"count", "next", "previous", "results"} == set(page)
    assert page["count"] == 22 + 0 and len(page["results"]) == 5 and page["next"]
    other = api(world, "root").get(f"{API}/councils/").json()["results"]
    assert len(other) == 2
    only = api(world, "root").get(f"{API}/meetings/?council=999").json()
    assert only["count"] == 0
    # A page that is not a whole number from 1 is not quietly read as the first page.
    for bad in ("", "0", "-1", "two"):
        answer = api(world, "root").get(f"{API}/units/?page={bad}")
        assert answer.status_code == 400 and "page" in answer.json(), bad
    assert api(world, "root").get(f"{API}/units/?page_size=5&page=2").json()["previous"]


def test_a_full_vote_through_the_api(world: World) -> None:
    client = api(world, "alice")
    meeting = client.post(
        f"{API}/meetings/",
        {
            "council": world.council.pk,
            "title": "By API",
            "scheduled_at": "2027-01-05T10:00:00Z",
            "mode": "hybrid",
        },
        format="json",
    )
    assert meeting.status_code == 201, meeting.json()
    mid = meeting.json()["id"]
    assert client.post(f"{API}/meetings/{mid}/start/").json()["status"] == "in_session"
    for unit in world.units[:15]:
        r = client.put(
            f"{API}/meetings/{mid}/attendance/{unit.pk}/", {"present": True}, format="json"
        )
        assert r.status_code == 200
    assert r.json()["quorum"] == {"eligible": 21, "present": 15, "required": 15, "met": True}
    assert r.json()["unit"] == world.units[14].pk and r.json()["present"] is True
    created = client.post(
        f"{API}/proposals/",
        {"meeting": mid, "title": "Chair's budget", "proposer_unit": world.chair.pk},
        format="json",
    )
    assert created.status_code == 201
    pid = created.json()["id"]
    assert client.post(f"{API}/proposals/{pid}/open/").json()["status"] == "open"
    choices = ["yes"] * 8 + ["no"] * 4 + ["abstain"] * 3
    for unit, choice in zip(world.units[:15], choices, strict=True):
        r = client.put(
            f"{API}/proposals/{pid}/ballots/{unit.pk}/", {"choice": choice}, format="json"
        )
        assert r.status_code == 200 and set(r.json()) >= {"unit", "choice", "cast_by", "cast_at"}
    live = client.get(f"{API}/proposals/{pid}/tally/").json()
    assert live["outcome"] is None and live["yes"] == 8
    result = client.post(f"{API}/proposals/{pid}/close/").json()
    assert result["outcome"] == "rejected"
    assert (
        result["eligible"],
        result["present"],
        result["yes"],
        result["no"],
        result["abstain"],
        result["not_voted"],
    ) == (21, 15, 8, 4, 3, 0)
    assert result["quorum"] == {"required": 15, "met": True}
    assert result["majority"] == {"basis": "members", "required": 11, "met": False}
    assert result["readings"] == {"members": "rejected", "present": "passed", "cast": "passed"}
    assert "more than 10.5 needed (11) — rejected" in result["explanation"]
    ballots = client.get(f"{API}/proposals/{pid}/ballots/").json()
    assert ballots["count"] == 15
    decisions = client.get(f"{API}/decisions/").json()["results"]
    assert decisions[0]["id"] == pid and decisions[0]["tally"]["outcome"] == "rejected"
    assert decisions[0]["rules"]["majority"]["basis"] == "members"


# --- Refusals: 409 with a code, 400 with fields, nothing written ------------------------------


def unchanged(call: Any) -> Any:
    before = (
        LedgerEvent.objects.count(),
        Ballot.objects.count(),
        list(Proposal.objects.values_list("status", flat=True)),
    )
    response = call()
    assert (
        LedgerEvent.objects.count(),
        Ballot.objects.count(),
        list(Proposal.objects.values_list("status", flat=True)),
    ) == before
    return response


def test_state_refusals_are_409_with_a_stable_code(
    world: World, vote: tuple[Meeting, Proposal]
) -> None:
    meeting, proposal = vote
    client = api(world, "alice")
    draft = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="D")
    cases = [
        (
            lambda: client.put(
                f"{API}/proposals/{draft.pk}/ballots/{world.units[0].pk}/",
                {"choice": "yes"},
                format="json",
            ),
            "vote_not_open",
        ),
        (
            lambda: client.put(
                f"{API}/proposals/{proposal.pk}/ballots/{world.units[20].pk}/",
                {"choice": "yes"},
                format="json",
            ),
            "unit_not_present",
        ),
        (
            lambda: client.put(
                f"{API}/proposals/{proposal.pk}/ballots/{world.partner.pk}/",
                {"choice": "yes"},
                format="json",
            ),
            "not_eligible",
        ),
        (lambda: client.post(f"{API}/meetings/{meeting.pk}/adjourn/"), "vote_open"),
        (lambda: client.post(f"{API}/meetings/{meeting.pk}/start/"), "not_scheduled"),
        (lambda: client.post(f"{API}/proposals/{proposal.pk}/open/"), "not_draft"),
        (lambda: client.post(f"{API}/proposals/{proposal.pk}/withdraw/"), "not_draft"),
    ]
    for call, code in cases:
        response = unchanged(call)
        assert response.status_code == 409, (code, response.json())
        assert response.json()["code"] == code and response.json()["detail"]
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    closed = unchanged(
        lambda: client.put(
            f"{API}/proposals/{proposal.pk}/ballots/{world.units[0].pk}/",
            {"choice": "yes"},
            format="json",
        )
    )
    assert closed.status_code == 409 and closed.json()["code"] == "vote_closed"
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    late = unchanged(
        lambda: client.post(
            f"{API}/proposals/", {"meeting": meeting.pk, "title": "Late"}, format="json"
        )
    )
    assert late.status_code == 409 and late.json()["code"] == "meeting_adjourned"


def test_no_quorum_and_no_session_are_409(world: World) -> None:
    meeting = new_meeting(world, start=False)
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="P")
    client = api(world, "alice")
    r = unchanged(lambda: client.post(f"{API}/proposals/{proposal.pk}/open/"))
    assert r.status_code == 409 and r.json()["code"] == "not_in_session"
    council_services.start_meeting(actor=world.alice, meeting=meeting)
    r = unchanged(lambda: client.post(f"{API}/proposals/{proposal.pk}/open/"))
    assert r.status_code == 409 and r.json()["code"] == "no_quorum"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("meetings/", {"title": "x", "scheduled_at": "not a date"}, "scheduled_at"),
        ("meetings/", {"title": "x" * 300, "scheduled_at": "2027-01-01T10:00:00Z"}, "title"),
        (
            "meetings/",
            {"title": "x", "scheduled_at": "2027-01-01T10:00:00Z", "mode": "zoom"},
            "mode",
        ),
        ("roles/", {"username": "carol", "role": "delegate"}, "unit"),
        ("roles/", {"username": "carol", "role": "auditor", "unit": 1}, "unit"),
        ("roles/", {"username": "nobody", "role": "auditor"}, "username"),
        ("roles/", {"username": "carol", "role": "king"}, "role"),
        ("units/", {"name": "Unit 01", "short_name": "U01"}, "non_field_errors"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    world: World, path: str, body: dict[str, Any], field: str
) -> None:
    body = {"council": world.council.pk, **body}
    if body.get("unit") == 1:
        body["unit"] = world.units[0].pk
    response = unchanged(lambda: api(world, "alice").post(f"{API}/{path}", body, format="json"))
    assert response.status_code == 400, response.json()
    assert field in response.json()


def test_unknown_choice_is_400(world: World, vote: tuple[Meeting, Proposal]) -> None:
    _meeting, proposal = vote
    r = unchanged(
        lambda: api(world, "bob").put(
            f"{API}/proposals/{proposal.pk}/ballots/{world.units[0].pk}/",
            {"choice": "maybe"},
            format="json",
        )
    )
    assert r.status_code == 400 and "choice" in r.json()


# --- The permission table -----------------------------------------------------------------

PERSONAS = ["alice", "bob", "carol", "dave", "erin", None]


def _table() -> list[tuple[str, str, str, dict[str, int]]]:
    """(name, method, path template, expected status per persona)."""
    see = {"alice": 200, "bob": 200, "carol": 200, "dave": 200, "erin": 404, None: 401}
    manage = {"alice": 200, "bob": 403, "carol": 403, "dave": 403, "erin": 404, None: 401}
    return [
        ("read meeting", "get", "meetings/{meeting}/", see),
        ("read quorum", "get", "meetings/{meeting}/quorum/", see),
        ("read proposal", "get", "proposals/{proposal}/", see),
        ("read tally", "get", "proposals/{proposal}/tally/", see),
        ("read ballots", "get", "proposals/{proposal}/ballots/", see),
        ("read unit", "get", "units/{unit}/", see),
        (
            "cast for U01",
            "put",
            "proposals/{proposal}/ballots/{unit}/",
            {"alice": 200, "bob": 200, "carol": 403, "dave": 403, "erin": 404, None: 401},
        ),
        ("check U01 in", "put", "meetings/{meeting}/attendance/{unit}/", manage),
        ("close the vote", "post", "proposals/{proposal}/close/", manage),
        ("withdraw a draft", "post", "proposals/{draft}/withdraw/", manage),
        ("open a draft", "post", "proposals/{spare_draft}/open/", manage),
        ("adjourn", "post", "meetings/{other_meeting}/adjourn/", manage),
        ("start", "post", "meetings/{scheduled}/start/", manage),
        ("add a meeting", "post", "meetings/", {**manage, "alice": 201}),
        ("add a unit", "post", "units/", {**manage, "alice": 201}),
        ("grant a role", "post", "roles/", {**manage, "alice": 201}),
        (
            "revoke a role",
            "delete",
            "roles/{carols_role}/",
            {"alice": 204, "bob": 404, "carol": 403, "dave": 403, "erin": 404, None: 401},
        ),
        (
            "add a council",
            "post",
            "councils/",
            {"alice": 403, "bob": 403, "carol": 403, "dave": 403, "erin": 403, None: 401},
        ),
        (
            "propose for U01",
            "post",
            "proposals/",
            {"alice": 201, "bob": 201, "carol": 403, "dave": 403, "erin": 404, None: 401},
        ),
    ]


BODIES: dict[str, Any] = {
    "cast for U01": {"choice": "yes"},
    "check U01 in": {"present": True},
    "add a meeting": lambda w, ids: {
        "council": w.council.pk,
        "title": "M",
        "scheduled_at": "2027-01-05T10:00:00Z",
    },
    "add a unit": lambda w, ids: {"council": w.council.pk, "name": "New", "short_name": "N"},
    "grant a role": lambda w, ids: {"council": w.council.pk, "username": "erin", "role": "auditor"},
    "add a council": {"name": "Third", "slug": "third"},
    "propose for U01": lambda w, ids: {
        "meeting": ids["meeting"],
        "title": "Mine",
        "proposer_unit": ids["unit"],
    },
}


@pytest.mark.parametrize("row", _table(), ids=lambda r: r[0])
@pytest.mark.parametrize("person", PERSONAS, ids=lambda p: p or "anonymous")
def test_permission_table(
    world: World, vote: tuple[Meeting, Proposal], row: tuple, person: str | None
) -> None:
    name, method, template, expected = row
    meeting, proposal = vote
    from members.models import Role

    other_meeting = new_meeting(world)  # in session, no open vote: can be adjourned
    spare = new_meeting(world)  # in session with a quorum and no vote open yet
    check_in_units(world, spare, world.units[:15])
    ids = {
        "meeting": meeting.pk,
        "proposal": proposal.pk,
        "unit": world.units[0].pk,
        "draft": proposal_services.create_proposal(
            actor=world.alice, meeting=meeting, title="Draft"
        ).pk,
        "other_meeting": other_meeting.pk,
        "spare_draft": proposal_services.create_proposal(
            actor=world.alice, meeting=spare, title="Spare"
        ).pk,
        "scheduled": new_meeting(world, start=False).pk,
        "carols_role": Role.objects.get(user=world.carol).pk,
    }
    body = BODIES.get(name, {})
    if callable(body):
        body = body(world, ids)
    before = LedgerEvent.objects.count()
    response = getattr(api(world, person), method)(
        f"{API}/{template.format(**ids)}", body, format="json"
    )
    assert response.status_code == expected[person], (name, person, response.content[:300])
    if response.status_code >= 400:
        assert LedgerEvent.objects.count() == before  # a refused request writes nothing


def test_roles_are_listed_to_overseers_and_to_their_holders(world: World) -> None:
    def usernames(person: str) -> set[str]:
        results = api(world, person).get(f"{API}/roles/").json()["results"]
        return {r["username"] for r in results}

    everyone = {"alice", "dave", "bob", "bea", "carol"}
    assert usernames("alice") == everyone and usernames("dave") == everyone
    assert usernames("bob") == {"bob"} and usernames("erin") == {"erin"}


# --- Register, audit, schema ----------------------------------------------------------------


def test_the_register_downloads_as_safe_csv_and_json(
    world: World, vote: tuple[Meeting, Proposal]
) -> None:
    meeting, proposal = vote
    hostile = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title='=HYPERLINK("x") 预算'
    )
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    proposal_services.open_vote(actor=world.alice, proposal=hostile)
    proposal_services.close_vote(actor=world.alice, proposal=hostile)
    response = api(world, "dave").get(f"{API}/decisions/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]  # streamed; not in the stubs' test response
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:6] == ["id", "council", "meeting", "title", "proposer_unit", "outcome"]
    assert rows[2][3] == '\'=HYPERLINK("x") 预算'
    data = json.loads(
        b"".join(
            api(world, "dave")
            .get(f"{API}/decisions/?format=json&outcome=rejected")
            .streaming_content  # type: ignore[attr-defined]  # streamed; not in the stubs' test response
        )
    )
    assert [d["id"] for d in data["decisions"]] == [proposal.pk, hostile.pk]
    bad = api(world, "dave").get(f"{API}/decisions/?format=xml")
    assert bad.status_code == 400


def test_the_register_csv_has_a_path_of_its_own(
    world: World, vote: tuple[Meeting, Proposal]
) -> None:
    _meeting, proposal = vote
    proposal_services.close_vote(actor=world.alice, proposal=proposal)

    def download(path: str) -> tuple[str, bytes]:
        answer = api(world, "bob").get(path)
        return answer["Content-Type"], b"".join(answer.streaming_content)  # type: ignore[attr-defined]  # streamed; not in the stubs' test response

    query = f"council={world.council.pk}&outcome=rejected"
    content_type, rows = download(f"{API}/decisions/csv/?{query}")
    assert content_type.startswith("text/csv") and b"Budget" in rows
    assert download(f"{API}/decisions/?format=csv&{query}") == (content_type, rows)
    assert api(world, "bob").get(f"{API}/decisions/csv/?outcome=maybe").status_code == 400


def test_the_audit_log_and_its_verification(world: World, vote: tuple[Meeting, Proposal]) -> None:
    events = api(world, "dave").get(f"{API}/audit/events/?page_size=500").json()
    assert events["count"] == LedgerEvent.objects.filter(council=world.council).count()
    first = events["results"][0]
    assert set(first) == {
        "council",
        "seq",
        "at",
        "actor",
        "action",
        "object",
        "data",
        "prev_hash",
        "hash",
    }
    assert first["seq"] == 1 and first["action"] == "council.created"
    report = api(world, "dave").get(f"{API}/audit/verify/").json()
    assert report["ok"] is True and report["problems"] == []
    assert report["events"] == events["count"]
    assert list(report["head"]) == [str(world.council.pk)]


def test_the_schema_is_valid_and_names_every_contract_path(world: World) -> None:
    from drf_spectacular.validation import validate_schema

    response = APIClient().get("/api/schema/?format=json", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    paths = set(schema["paths"])
    for path in [
        "/api/v1/auth/token/",
        "/api/v1/me/",
        "/api/v1/councils/",
        "/api/v1/roles/",
        "/api/v1/roles/{id}/",
        "/api/v1/units/",
        "/api/v1/meetings/",
        "/api/v1/meetings/{id}/start/",
        "/api/v1/meetings/{id}/adjourn/",
        "/api/v1/meetings/{id}/attendance/{unit_id}/",
        "/api/v1/meetings/{id}/quorum/",
        "/api/v1/proposals/",
        "/api/v1/proposals/{id}/open/",
        "/api/v1/proposals/{id}/close/",
        "/api/v1/proposals/{id}/withdraw/",
        "/api/v1/proposals/{id}/ballots/{unit_id}/",
        "/api/v1/proposals/{id}/ballots/",
        "/api/v1/proposals/{id}/tally/",
        "/api/v1/decisions/",
        "/api/v1/audit/events/",
        "/api/v1/audit/verify/",
    ]:
        assert path in paths, path
    enums = json.dumps(schema["components"]["schemas"])
    for value in ("in_person", "in_session", "no_quorum", "withdrawn", "abstain", "cast"):
        assert f'"{value}"' in enums


def test_the_docs_page_works_offline(world: World) -> None:
    page = APIClient().get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_councils_filter_and_the_whole_record_is_for_overseers(
    world: World, vote: tuple[Meeting, Proposal]
) -> None:
    only = api(world, "root").get(f"{API}/councils/?council={world.council.pk}").json()
    assert [c["id"] for c in only["results"]] == [world.council.pk]
    # The ledger names every role granted: a delegate does not read it (nor its export).
    assert api(world, "bob").get(f"{API}/audit/events/").json()["count"] == 0
    assert api(world, "bob").get(f"{API}/audit/verify/").json()["events"] == 0
    assert (
        api(world, "bob")
        .get(f"{API}/decisions/?council={world.council.pk}&format=json")
        .status_code
        == 403
    )
    assert (
        api(world, "bob").get(f"{API}/decisions/?council={world.council.pk}&format=csv").status_code
        == 200
    )
    assert (
        api(world, "dave")
        .get(f"{API}/decisions/?council={world.council.pk}&format=json")
        .status_code
        == 200
    )


def test_another_councils_unit_looks_like_a_missing_one(
    world: World, vote: tuple[Meeting, Proposal]
) -> None:
    from members import services as member_services

    other = member_services.create_unit(
        actor=world.root,
        council=world.council.__class__.objects.get(slug="other"),
        name="Elsewhere",
        short_name="E",
    )
    client = api(world, "alice")
    body = {"council": world.council.pk, "username": "carol", "role": "delegate"}
    foreign = client.post(f"{API}/roles/", {**body, "unit": other.pk}, format="json").json()
    missing = client.post(f"{API}/roles/", {**body, "unit": 999_999}, format="json").json()
    assert foreign["unit"][0].replace(str(other.pk), "N") == missing["unit"][0].replace(
        "999999", "N"
    )


def test_odd_ids_in_the_ballot_path_are_not_found(world: World) -> None:
    client = api(world, "bob")
    for pk in ("%C2%B2", "99999999999999999999", "0"):  # "²" passes str.isdigit()
        answer = client.put(f"{API}/proposals/{pk}/ballots/1/", {"choice": "yes"}, format="json")
        assert answer.status_code == 404, pk


def test_odd_numbers_in_query_parameters_are_refused(world: World) -> None:
    # "²" passes str.isdigit() but not int(): a 400 naming the parameter, never a 500.
    for path, name in [
        ("/meetings/", "council"),
        ("/meetings/", "page"),
        ("/meetings/", "page_size"),
        ("/decisions/", "proposer_unit"),
        ("/decisions/?format=json", "council"),
    ]:
        separator = "&" if "?" in path else "?"
        answer = api(world, "dave").get(f"{API}{path}{separator}{name}=%C2%B2")
        assert answer.status_code == 400 and name in answer.json(), (path, name)
    page = Client()
    page.force_login(world.dave)
    assert (
        page.get(f"/councils/{world.council.slug}/decisions/?proposer_unit=%C2%B2").status_code
        == 200
    )
