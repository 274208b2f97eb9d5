"""The demo council of `make run`: built through the services, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from council import ledger
from council.models import Council, LedgerEvent, Meeting
from members.models import MemberUnit, Role
from proposals.models import Proposal, Vote


@pytest.mark.django_db
def test_seed_demo_builds_the_demo_council_once() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    counts = (MemberUnit.objects.count(), Role.objects.count(), LedgerEvent.objects.count())
    call_command("seed_demo", stdout=out)
    assert (MemberUnit.objects.count(), Role.objects.count(), LedgerEvent.objects.count()) == counts
    assert "password for all: quorum-demo" in out.getvalue()

    council = Council.objects.get(slug="demo")
    units = MemberUnit.objects.filter(council=council)
    assert units.filter(voting=True).count() == 21 and units.filter(voting=False).count() == 3
    assert units.get(label="chair") and units.get(label="vice_chair")
    delegates = Role.objects.filter(council=council, role="delegate")
    assert delegates.values("unit").distinct().count() == 21 and delegates.count() > 21
    assert authenticate(username="secretary", password="quorum-demo") is not None

    past = Meeting.objects.get(council=council, status="adjourned")
    assert past.attendances.count() == 17
    chair_proposal = Proposal.objects.get(meeting=past, proposer_unit__label="chair")
    assert chair_proposal.outcome == "rejected" and chair_proposal.result["present"] == 17
    assert Vote.objects.filter(proposal__meeting=past, outcome="passed").count() == 1
    upcoming = Meeting.objects.get(council=council, status="scheduled")
    assert upcoming.proposals.filter(status="draft").count() == 3
    assert upcoming.proposals.get(kind="special").title.startswith("Amend the charter")
    assert ledger.verify().ok
