"""The OpenAPI schema serves the clients people generate from it.

A Python client is generated with openapi-python-client from the schema a live server
serves, imported, and used for a delegate's whole flow with no workaround: a token, who
they are, the council's proposals, a ballot, the tally with its enums, a 409 read by
its code, and the register as CSV. An operation the generator has to skip
(``--fail-on-warning``), or an answer the schema does not document
(``raise_on_unexpected_status``), fails the test.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from council.api.operations import DESCRIPTIONS
from members.models import Role
from proposals import services as proposal_services
from proposals.models import Proposal

from .personas import World, new_meeting, open_proposal

PACKAGE = "quorum_api_client"


@pytest.fixture
def generated(live_server: Any, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package, generated from the live server's ``/api/schema/?format=json``."""
    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json") as answer:
        schema = answer.read()
    (tmp_path / "schema.json").write_bytes(schema)
    # No post-generation hooks: they would run ruff on the generated code.
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")
    generation = subprocess.run(  # noqa: S603 — our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yaml"),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generation.returncode == 0, generation.stdout + generation.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(name: str) -> Any:
    """A generated operation's module (``sync``, ``sync_detailed``, ...)."""
    return importlib.import_module(f"{PACKAGE}.api.v1.{name}")


def test_a_delegate_votes_through_a_generated_client(
    generated: ModuleType, live_server: Any, world: World
) -> None:
    meeting = new_meeting(world)
    vote = open_proposal(world, meeting)
    earlier = open_proposal(world, new_meeting(world))
    proposal_services.close_vote(actor=world.alice, proposal=earlier)

    models = importlib.import_module(f"{PACKAGE}.models")
    anonymous = generated.Client(base_url=live_server.url, raise_on_unexpected_status=True)

    token = operation("v1_auth_token_create").sync(
        client=anonymous, body=models.AuthTokenRequest(username="bob", password="pw")
    )
    assert isinstance(token, models.Token)
    bob = generated.AuthenticatedClient(
        base_url=live_server.url,
        token=token.token,
        prefix="Token",  # the security scheme's prefix: Authorization: Token <key>
        raise_on_unexpected_status=True,
    )

    def call(name: str, **kwargs: Any) -> Any:
        return operation(name).sync(client=bob, **kwargs)

    me = call("v1_me_retrieve")
    assert isinstance(me, models.Me) and me.username == "bob"
    [role] = me.roles
    assert role.role == models.RoleEnum.DELEGATE and role.unit == world.chair.pk
    assert role.council == world.council.pk

    proposals = call("v1_proposals_list", council=role.council)
    assert isinstance(proposals, models.PaginatedProposalList)
    assert {p.id for p in proposals.results} == {vote.pk, earlier.pk}
    assert proposals.next_ is None and proposals.previous is None
    [open_one] = [p for p in proposals.results if p.status == models.ProposalStatusEnum.OPEN]
    # Another council's: none that bob may see.
    other = Role.objects.get(user=world.erin).council_id
    assert call("v1_proposals_list", council=other).count == 0

    ballot = call(
        "v1_proposals_ballots_update",
        id=open_one.id,
        unit_id=role.unit,
        body=models.BallotInRequest(choice=models.BallotChoiceEnum.YES),
    )
    assert isinstance(ballot, models.Ballot)
    assert ballot.unit == role.unit and ballot.choice == models.BallotChoiceEnum.YES
    assert ballot.cast_by == "bob" and ballot.recorded_by_secretary is False

    live = call("v1_proposals_tally_retrieve", id=open_one.id)
    assert isinstance(live, models.Tally)
    assert live.outcome is None and live.yes == 1
    assert isinstance(live.readings.members, models.OutcomeEnum)

    proposal_services.close_vote(actor=world.alice, proposal=Proposal.objects.get(pk=vote.pk))
    final = call("v1_proposals_tally_retrieve", id=open_one.id)
    assert isinstance(final, models.Tally)
    assert final.outcome == models.OutcomeEnum.REJECTED  # 1 yes of 21 members
    assert final.majority.basis == models.BasisEnum.MEMBERS
    assert {final.readings.members, final.readings.present, final.readings.cast} <= set(
        models.OutcomeEnum
    )

    refused = call(
        "v1_proposals_ballots_update",
        id=open_one.id,
        unit_id=role.unit,
        body=models.BallotInRequest(choice=models.BallotChoiceEnum.NO),
    )
    assert isinstance(refused, models.Conflict)
    assert refused.code == models.ConflictCodeEnum.VOTE_CLOSED

    register = call("v1_decisions_list", council=role.council)
    assert isinstance(register, models.PaginatedDecisionList)
    assert [d.id for d in register.results] == [earlier.pk, vote.pk]
    assert {d.tally.outcome for d in register.results} == {models.OutcomeEnum.REJECTED}
    assert register.results[1].rules.majority.basis == models.BasisEnum.MEMBERS
    csv = call("v1_decisions_csv_retrieve", council=role.council)
    assert isinstance(csv, str) and csv.lstrip("\ufeff").startswith("id,council,meeting,")

    stranger = generated.AuthenticatedClient(
        base_url=live_server.url, token="not-a-token", prefix="Token"
    )
    denied = operation("v1_me_retrieve").sync(client=stranger)
    assert isinstance(denied, models.Error)


def test_the_schema_generates_without_warnings_and_describes_each_operation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "schema.json"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", path
    )
    schema = json.loads(path.read_text())
    operations = {
        f"{method.upper()} {route}": operation
        for route, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert set(DESCRIPTIONS) == set(operations), "a description for an operation that is gone"
    descriptions = [operation["description"] for operation in operations.values()]
    assert len(descriptions) == len(set(descriptions)), "two operations share a description"
    # It is read by people who have only the API: no paths into a source tree.
    assert "spec/" not in path.read_text()


def test_the_schema_answers_in_the_format_asked() -> None:
    client = APIClient()
    as_json = client.get("/api/schema/?format=json")
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(as_json.content)["openapi"].startswith("3.")
    for asked in ("?format=yaml", ""):
        as_yaml = client.get(f"/api/schema/{asked}")
        assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi;")
        assert as_yaml.content.startswith(b"openapi: 3.")
    assert client.get("/api/schema/?format=xml").status_code == 404
