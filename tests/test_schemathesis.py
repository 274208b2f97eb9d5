"""API fuzzing: schemathesis against the OpenAPI schema the app serves at /api/schema/.

Every operation of the schema is called with generated requests — valid ones and
schema-violating ones — through the real WSGI stack (middleware included) over a seeded
database, and every answer goes through all of schemathesis' checks: no 5xx, a
documented status code, content type and headers, a body that matches the schema,
schema-violating input refused, valid input not refused for being invalid.

Deterministic (derandomized, a bounded number of examples per operation) so that a failure
reproduces on the next run; two passes: as the secretary (who reaches the most
endpoints) and as a delegate (whose refusals — 403, 404 — are different).

The world is seeded once; each test runs in a savepoint of it. A mutating request (a
close, a check-in) changes the world for the next examples of the same operation, as a
real client would, and is rolled back before the next operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.utils import timezone

from council import services as council_services
from council.models import Council, Meeting
from council.wsgi import application
from members import services as member_services
from members.models import MemberUnit, Role
from proposals import services as proposal_services
from proposals.models import Proposal

from .personas import World, build_world, new_meeting, open_proposal

pytestmark = pytest.mark.django_db

# Loaded from the app itself, as a client would: the schema under test is the one served.
# Loading it needs no database (the schema view reads none).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                # Both valid and schema-violating requests ("positive" and "negative").
                "mode": "all",
                "max-examples": 25,
                "deterministic": True,
            },
            "operations": [
                # Whether a well-formed unit or role can be created depends on what the
                # database holds, which no schema states: a short name already taken, a
                # second chair unit, a username with no account are each a 400 naming the
                # field (the API's contract), though the request matches the schema.
                {
                    "include-path": path,
                    "include-method": "POST",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]
                        }
                    },
                }
                for path in ("/api/v1/units/", "/api/v1/roles/")
            ],
        }
    ),
)


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Django closes the connection at the end of a request it deems stale — which, in
    the test's transaction, is every request. Its test client lifts that for the same
    reason; the WSGI app called directly must too."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def seed() -> tuple[World, dict[str, list[int]]]:
    """The personas' council with a meeting in every state and a proposal in most: a
    scheduled meeting; one in session (15 of 21 units present) with an open vote and a
    draft; an adjourned one with a closed vote."""
    world = build_world()
    council_services.create_meeting(
        actor=world.alice,
        council=world.council,
        title="Next",
        scheduled_at=timezone.now(),
    )
    past = new_meeting(world)
    closed = open_proposal(world, past)
    proposal_services.cast_ballot(actor=world.bob, proposal=closed, unit=world.chair, choice="yes")
    proposal_services.close_vote(actor=world.alice, proposal=closed)
    for unit in world.units[:15]:
        council_services.check_out(actor=world.alice, meeting=past, unit=unit)
    council_services.adjourn_meeting(actor=world.alice, meeting=past)
    current = new_meeting(world, mode="hybrid")
    open_proposal(world, current)
    proposal_services.create_proposal(actor=world.alice, meeting=current, title="Draft")

    ids = {
        "councils": list(Council.objects.order_by("id").values_list("id", flat=True)),
        "units": list(MemberUnit.objects.order_by("id").values_list("id", flat=True)),
        "meetings": list(Meeting.objects.order_by("id").values_list("id", flat=True)),
        "proposals": list(Proposal.objects.order_by("id").values_list("id", flat=True)),
        "roles": list(Role.objects.order_by("id").values_list("id", flat=True)),
    }
    return world, ids


@pytest.fixture(scope="module")
def seeded_once(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[tuple[World, dict[str, list[int]]]]:
    """Seeded once for the module, in a transaction rolled back at its end; each test
    runs in a savepoint inside it (pytest-django's ``db``), so every operation starts
    from the same world, whatever the one before it changed."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(
    seeded_once: tuple[World, dict[str, list[int]]], wsgi_in_test_transaction: None, db: None
) -> tuple[World, dict[str, list[int]]]:
    # The rate limits count in the cache: start each operation from none.
    cache.clear()
    return seeded_once


# Which pool of real ids a body field or a path parameter names.
BODY_POOLS = {
    "council": "councils",
    "meeting": "meetings",
    "proposer_unit": "units",
    "unit": "units",
}


def pick(value: Any, pool: list[int]) -> Any:
    """A generated id, mostly turned into a real one so that the requests get past the
    404 to the code behind it; one value in len+1 stays unknown. Anything that is not a
    whole number (schema-violating input) is left as generated."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return value
    if isinstance(value, str):
        if not value.isdigit():
            return value
        return str(pick(int(value), pool))
    if value < 0 or value % (len(pool) + 1) == len(pool):
        return value
    return pool[value % (len(pool) + 1)]


def aim(case: Any, ids: dict[str, list[int]]) -> None:
    resource = case.path.split("/")[3]
    if case.path_parameters:
        if "id" in case.path_parameters and resource in ids:
            case.path_parameters["id"] = pick(case.path_parameters["id"], ids[resource])
        if "unit_id" in case.path_parameters:
            case.path_parameters["unit_id"] = pick(case.path_parameters["unit_id"], ids["units"])
    if isinstance(case.body, dict):
        for field, pool in BODY_POOLS.items():
            if field in case.body:
                case.body[field] = pick(case.body[field], ids[pool])


@pytest.mark.parametrize("persona", ["alice", "bob"])
@schema.parametrize()
@hypothesis.settings(
    # The seeded world is built once per operation and persona, and the examples share
    # it on purpose (see the module's docstring).
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
    deadline=None,
)
def test_the_api_answers_as_its_schema_says(
    case: Any, persona: str, seeded: tuple[World, dict[str, list[int]]]
) -> None:
    world, ids = seeded
    aim(case, ids)
    _token, key = member_services.issue_token(user=world.people[persona])
    case.call_and_validate(headers={"Authorization": f"Token {key}"})
