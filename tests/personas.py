"""Shared fixtures: the personas every test file reuses, built through the services.

The council of the rule's worked example (docs/rules.md): 21 voting member units (U01
is the chair unit), one non-voting partner. People:

* **alice** — secretary of the council;
* **bob** — delegate of U01 (the chair unit); **bea** — second delegate of U01;
* **carol** — delegate of U02;
* **dave** — auditor;
* **erin** — secretary of *another* council;
* **root** — superuser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from council import services as council_services
from council.models import Council, Meeting
from members import services as member_services
from members.models import MemberUnit, Role
from proposals import services as proposal_services
from proposals.models import Proposal


@dataclass
class World:
    council: Council
    units: list[MemberUnit]
    partner: MemberUnit
    people: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def chair(self) -> MemberUnit:
        return self.units[0]


def make_user(username: str, **extra: Any) -> Any:
    return get_user_model().objects.create_user(username=username, password="pw", **extra)


def build_world(n_units: int = 21) -> World:
    root = get_user_model().objects.create_superuser("root", password="pw")
    council = council_services.create_council(
        actor=root, name="Test Council", slug="test", time_zone="Europe/Paris"
    )
    units = [
        member_services.create_unit(
            actor=root,
            council=council,
            name=f"Unit {i:02d}",
            short_name=f"U{i:02d}",
            label=MemberUnit.Label.CHAIR if i == 1 else "",
        )
        for i in range(1, n_units + 1)
    ]
    partner = member_services.create_unit(
        actor=root, council=council, name="Partner", short_name="P", voting=False
    )
    people: dict[str, Any] = {"root": root}
    for name, role, unit in [
        ("alice", Role.Kind.SECRETARY, None),
        ("dave", Role.Kind.AUDITOR, None),
        ("bob", Role.Kind.DELEGATE, units[0]),
        ("bea", Role.Kind.DELEGATE, units[0]),
        ("carol", Role.Kind.DELEGATE, units[1]),
    ]:
        people[name] = make_user(name)
        member_services.grant_role(
            actor=root, user=people[name], council=council, role=role, unit=unit
        )
    other = council_services.create_council(actor=root, name="Other Council", slug="other")
    people["erin"] = make_user("erin")
    member_services.grant_role(
        actor=root, user=people["erin"], council=other, role=Role.Kind.SECRETARY
    )
    return World(council=council, units=units, partner=partner, people=people)


def new_meeting(w: World, *, mode: str = Meeting.Mode.IN_PERSON, start: bool = True) -> Meeting:
    meeting = council_services.create_meeting(
        actor=w.alice, council=w.council, title="Assembly", scheduled_at=timezone.now(), mode=mode
    )
    if start:
        meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    return meeting


def check_in_units(w: World, meeting: Meeting, units: list[MemberUnit]) -> None:
    for unit in units:
        council_services.check_in(actor=w.alice, meeting=meeting, unit=unit)


def open_proposal(
    w: World, meeting: Meeting, *, present: int = 15, proposer: MemberUnit | None = None
) -> Proposal:
    """A proposal with its vote open, ``present`` units checked in (15 of 21: quorum)."""
    check_in_units(w, meeting, w.units[:present])
    proposal = proposal_services.create_proposal(
        actor=w.alice, meeting=meeting, title="Motion", proposer_unit=proposer
    )
    return proposal_services.open_vote(actor=w.alice, proposal=proposal)
