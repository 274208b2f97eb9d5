"""The decision register's filters (proposals/filters.py), read by three entry points: the
API (its list and downloads), the register page and the export command. The same input
is refused the same way by the three, and a good filter selects the same decisions.

Personas (tests/personas.py): alice secretary, dave auditor.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from proposals import services as proposal_services
from proposals.models import Proposal

from .personas import World, check_in_units, new_meeting

API = "/api/v1/decisions"
MOMENT = "Use an ISO 8601 date, or date and time."

# (parameter, value, the page's label for it, the message all three give)
REFUSED = [
    ("outcome", "maybe", "Outcome", "Unknown outcome."),
    ("outcome", "PASSED", "Outcome", "Unknown outcome."),
    ("proposer_unit", "x", "Proposer unit", "A unit id is a number."),
    ("proposer_unit", "0", "Proposer unit", "A unit id is a number."),
    ("proposer_unit", "-3", "Proposer unit", "A unit id is a number."),
    ("proposer_unit", "²", "Proposer unit", "A unit id is a number."),  # str.isdigit() says yes
    ("closed_after", "yesterday", "Closed on or after", MOMENT),
    ("closed_after", "2026-02-30", "Closed on or after", MOMENT),
    # An offset Python refuses, and one that leaves the calendar in UTC.
    ("closed_before", "2026-01-01T00:00+99:00", "Closed before", MOMENT),
    ("closed_before", "0001-01-01T00:00+01:00", "Closed before", MOMENT),
]


@pytest.fixture
def decided(world: World) -> list[Proposal]:
    """Two decisions: "Passes" (proposed by the chair unit) and "Fails"."""
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    proposals = []
    for title, choice, proposer in (("Passes", "yes", world.chair), ("Fails", "no", None)):
        p = proposal_services.create_proposal(
            actor=world.alice, meeting=meeting, title=title, proposer_unit=proposer
        )
        proposal_services.open_vote(actor=world.alice, proposal=p)
        for unit in world.units[:15]:
            proposal_services.cast_ballot(actor=world.alice, proposal=p, unit=unit, choice=choice)
        proposals.append(proposal_services.close_vote(actor=world.alice, proposal=p))
    return proposals


def auditor_api(world: World) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.dave)
    return client


def register_page(world: World, query: dict[str, str]) -> str:
    client = Client()
    client.force_login(world.dave)
    answer = client.get(reverse("register", args=[world.council.slug]) + "?" + urlencode(query))
    assert answer.status_code == 200
    return answer.content.decode()


def export(tmp_path: Path, *options: str) -> list[str]:
    """The titles the export command writes as CSV, with these options."""
    path = tmp_path / "decisions.csv"
    call_command("export_decisions", *options, format="csv", output=str(path), no_progress=True)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    return [row[rows[0].index("title")] for row in rows[1:]]


@pytest.mark.parametrize(("name", "value", "label", "message"), REFUSED)
def test_the_api_the_page_and_the_command_refuse_a_bad_filter_alike(
    world: World,
    decided: list[Proposal],
    tmp_path: Path,
    name: str,
    value: str,
    label: str,
    message: str,
) -> None:
    query = urlencode({name: value})
    client = auditor_api(world)
    for path in (f"{API}/?{query}", f"{API}/csv/?{query}", f"{API}/?format=json&{query}"):
        answer = client.get(path)
        assert (answer.status_code, answer.json()) == (400, {name: [message]}), path

    page = register_page(world, {name: value})
    assert escape(f"{label}: {message}") in page
    assert "Passes" not in page and "Fails" not in page  # nothing listed, filtered wrongly
    assert "format=csv" not in page  # nor a download of it

    option = f"--{name.replace('_', '-')}"
    with pytest.raises(CommandError) as refused:
        export(tmp_path, f"{option}={value}")
    assert str(refused.value) == f"{option}: {message}"


def test_an_empty_filter_is_malformed_but_the_pages_any_is_no_filter(
    world: World, decided: list[Proposal], tmp_path: Path
) -> None:
    assert auditor_api(world).get(f"{API}/?outcome=").json() == {"outcome": ["Unknown outcome."]}
    with pytest.raises(CommandError, match=re.escape("--outcome: Unknown outcome.")):
        export(tmp_path, "--outcome=")
    # The page's form sends "any" as an empty value.
    empty = {"outcome": "", "proposer_unit": "", "closed_after": "", "closed_before": ""}
    page = register_page(world, empty)
    assert "Passes" in page and "Fails" in page and 'role="alert"' not in page


def test_every_malformed_filter_is_named_at_once(world: World, decided: list[Proposal]) -> None:
    answer = auditor_api(world).get(f"{API}/?outcome=maybe&closed_before=soon")
    assert answer.status_code == 400
    assert answer.json() == {"outcome": ["Unknown outcome."], "closed_before": [MOMENT]}
    page = register_page(world, {"outcome": "maybe", "closed_before": "soon"})
    assert "Outcome: Unknown outcome." in page and escape(f"Closed before: {MOMENT}") in page


def test_the_page_names_a_bad_filter_in_the_persons_language(
    world: World, decided: list[Proposal]
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.dave)
    page = client.get(reverse("register", args=["test"]) + "?outcome=maybe").content.decode()
    assert "表决结果: 未知的表决结果。" in page


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ({}, ["Passes", "Fails"]),
        ({"outcome": "rejected"}, ["Fails"]),
        ({"proposer_unit": "CHAIR"}, ["Passes"]),
        ({"closed_after": "2000-01-01", "closed_before": "2999-01-01T00:00+02:00"}, None),
        ({"closed_before": "2000-01-01"}, []),
    ],
)
def test_the_api_the_page_and_the_command_select_the_same_decisions(
    world: World,
    decided: list[Proposal],
    tmp_path: Path,
    query: dict[str, str],
    titles: list[str] | None,
) -> None:
    query = {k: str(world.chair.pk) if v == "CHAIR" else v for k, v in query.items()}
    expected = ["Passes", "Fails"] if titles is None else titles
    council = {"council": str(world.council.pk)}

    listed = auditor_api(world).get(f"{API}/?{urlencode({**council, **query})}").json()
    assert [d["title"] for d in listed["results"]] == expected
    download = auditor_api(world).get(f"{API}/?{urlencode({**council, **query})}&format=json")
    exported = json.loads(b"".join(download.streaming_content))  # type: ignore[attr-defined]  # streamed; not in the stubs' test response
    assert [d["title"] for d in exported["decisions"]] == expected

    page = register_page(world, query)
    assert [t for t in ("Passes", "Fails") if t in page] == expected

    options = [f"--{k.replace('_', '-')}={v}" for k, v in query.items()]
    assert export(tmp_path, f"--council={world.council.pk}", *options) == expected
