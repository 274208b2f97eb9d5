"""Build the demo council, through the services (so its ledger is real). Idempotent."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from council import services as council_services
from council.models import Council, Meeting
from members import services as member_services
from members.models import MemberUnit, Role
from proposals import services as proposal_services
from proposals.models import Proposal

DEMO_SLUG = "demo"
DEMO_PASSWORD = "quorum-demo"

# 21 voting member units; the first is the chair unit, the second the vice-chair unit.
VOTING_UNITS = [
    ("Aurora Systems", "AUR"),
    ("Borealis Networks", "BOR"),
    ("华东开源联盟", "HDOS"),
    ("Cobalt Labs", "COB"),
    ("Delta Foundry", "DEL"),
    ("Ember Analytics", "EMB"),
    ("Fjord Software", "FJO"),
    ("Granite Cloud", "GRA"),
    ("深圳数智科技", "SZDT"),
    ("Harbor Data", "HAR"),
    ("Iris Robotics", "IRI"),
    ("Juniper Devices", "JUN"),
    ("Kestrel Security", "KES"),
    ("Lumen Media", "LUM"),
    ("Meridian Energy", "MER"),
    ("Nimbus Mobility", "NIM"),
    ("北京云图信息", "BJYT"),
    ("Orchid Health", "ORC"),
    ("Pioneer Telecom", "PIO"),
    ("Quartz Finance", "QUA"),
    ("Riverbank University", "RIV"),
]
PARTNERS = [
    ("Open Standards Institute", "OSI"),
    ("City Innovation Office", "CIO"),
    ("学术观察员协会", "XSGC"),
]
# Units that send two delegates (index into VOTING_UNITS).
TWO_DELEGATES = {0, 2, 5}


class Command(BaseCommand):
    help = "Create the demo council, its people, a past meeting and an upcoming one."

    def handle(self, *args: Any, **options: Any) -> None:
        if Council.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write("The demo council exists already; nothing to do.")
        else:
            # The demo's past votes notify nobody: their emails go nowhere.
            with (
                override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
                transaction.atomic(),
            ):
                self._build()
            self.stdout.write(self.style.SUCCESS("Demo council created."))
        self._print_logins()

    def _user(self, username: str, **extra: Any) -> Any:
        user, created = get_user_model().objects.get_or_create(username=username, defaults=extra)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _build(self) -> None:
        admin = self._user("admin", is_staff=True, is_superuser=True, email="admin@example.org")
        council = council_services.create_council(
            actor=admin, name="Open Hardware Alliance", slug=DEMO_SLUG, time_zone="Asia/Shanghai"
        )
        joined = datetime.date(2024, 1, 15)
        units = []
        for i, (name, short) in enumerate(VOTING_UNITS):
            label = {0: MemberUnit.Label.CHAIR, 1: MemberUnit.Label.VICE_CHAIR}.get(i, "")
            units.append(
                member_services.create_unit(
                    actor=admin,
                    council=council,
                    name=name,
                    short_name=short,
                    label=label,
                    joined_on=joined,
                )
            )
        for name, short in PARTNERS:
            member_services.create_unit(
                actor=admin,
                council=council,
                name=name,
                short_name=short,
                voting=False,
                joined_on=joined,
            )

        secretary = self._user("secretary", email="secretary@example.org")
        member_services.grant_role(
            actor=admin, user=secretary, council=council, role=Role.Kind.SECRETARY
        )
        auditor = self._user("auditor", email="auditor@example.org")
        member_services.grant_role(
            actor=admin, user=auditor, council=council, role=Role.Kind.AUDITOR
        )
        delegates = []
        for i, unit in enumerate(units):
            names = [f"delegate{i + 1:02d}"] + (
                [f"delegate{i + 1:02d}b"] if i in TWO_DELEGATES else []
            )
            for username in names:
                user = self._user(username, email=f"{username}@example.org")
                member_services.grant_role(
                    actor=secretary, user=user, council=council, role=Role.Kind.DELEGATE, unit=unit
                )
            delegates.append(get_user_model().objects.get(username=names[0]))

        self._past_meeting(council, secretary, units, delegates)

        upcoming = council_services.create_meeting(
            actor=secretary,
            council=council,
            title="Spring general assembly",
            scheduled_at=timezone.now() + datetime.timedelta(days=14),
            mode=Meeting.Mode.HYBRID,
        )
        proposal_services.create_proposal(
            actor=secretary,
            meeting=upcoming,
            title="Admit Riverbank University as a mentor",
            body="The council names Riverbank University mentor of the student programme.",
            proposer_unit=units[20],
        )
        proposal_services.create_proposal(
            actor=delegates[3],
            meeting=upcoming,
            title="Open the test lab to partners",
            body="Partners may book the shared test lab two days a month.",
            proposer_unit=units[3],
        )
        proposal_services.create_proposal(
            actor=secretary,
            meeting=upcoming,
            title="Amend the charter: two vice-chair units",
            body="Article 7 names two vice-chair units instead of one.",
            proposer_unit=units[0],
            # A charter change needs the council's special majority (at least 2/3).
            kind=Proposal.Kind.SPECIAL,
        )

    def _past_meeting(
        self, council: Council, secretary: Any, units: list[MemberUnit], delegates: list[Any]
    ) -> None:
        meeting = council_services.create_meeting(
            actor=secretary,
            council=council,
            title="Autumn general assembly",
            scheduled_at=timezone.now() - datetime.timedelta(days=30),
            mode=Meeting.Mode.IN_PERSON,
        )
        budget = proposal_services.create_proposal(
            actor=secretary,
            meeting=meeting,
            title="Adopt the chair's 2027 budget plan",
            body="The chair unit proposes to double the events budget.",
            proposer_unit=units[0],
        )
        charter = proposal_services.create_proposal(
            actor=secretary,
            meeting=meeting,
            title="Publish the charter in Chinese",
            body="An official Chinese translation of the charter, reviewed by 华东开源联盟.",
            proposer_unit=units[2],
        )
        council_services.start_meeting(actor=secretary, meeting=meeting)
        present = units[:17]
        for unit in present:
            council_services.check_in(actor=secretary, meeting=meeting, unit=unit)

        # 8 yes, 6 no, 3 abstain among 17 present of 21: rejected under the council's
        # basis (members: 11 needed) though "votes cast" would pass it — readings disagree.
        budget_choices = ["yes"] * 8 + ["no"] * 6 + ["abstain"] * 3
        charter_choices = ["yes"] * 13 + ["no"] * 2 + ["abstain"] * 2
        for proposal, choices in ((budget, budget_choices), (charter, charter_choices)):
            proposal_services.open_vote(actor=secretary, proposal=proposal)
            for i, (unit, choice) in enumerate(zip(present, choices, strict=True)):
                # Most vote themselves; a few votes are given in the room to the secretary.
                actor = secretary if i % 5 == 4 else delegates[units.index(unit)]
                proposal_services.cast_ballot(
                    actor=actor, proposal=proposal, unit=unit, choice=choice
                )
            proposal_services.close_vote(actor=secretary, proposal=proposal)
        council_services.adjourn_meeting(actor=secretary, meeting=meeting)

    def _print_logins(self) -> None:
        self.stdout.write(
            f"\nDemo logins (password for all: {DEMO_PASSWORD})\n"
            "  admin        — site administrator (/admin/)\n"
            "  secretary    — secretary of the Open Hardware Alliance\n"
            "  auditor      — auditor of the Open Hardware Alliance\n"
            "  delegate01 … delegate21 — delegates of the 21 voting units "
            "(delegate01b, delegate03b, delegate06b: second delegates)\n"
        )
