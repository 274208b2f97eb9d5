"""Bulk fixtures for the benchmarks: councils of thousands of units, set up in seconds.

Creating 10,000 units, delegates and check-ins one service call at a time would take
minutes; the benchmarks measure the voting, not the setup. So the volume (units, people,
roles, tokens, check-ins) is written in bulk, while everything the vote's audit depends
on goes through the services (council, meeting start and its snapshot, proposals, votes)
— and every check-in written in bulk gets its ledger event, chained exactly as
``council.ledger.append`` would chain it, so ``verify_ledger`` holds after every run.

Call after ``django.setup()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from knox.crypto import create_token_string, hash_token
from knox.settings import CONSTANTS

from council import ledger
from council import services as council_services
from council.models import Attendance, Council, LedgerEvent, LedgerHead, Meeting
from members.models import ApiToken, MemberUnit, Role
from members.services import _unit_data as unit_record  # the event data create_unit writes

PASSWORD = "bench-password"  # noqa: S105 — scratch accounts of a scratch database


@dataclass
class BenchCouncil:
    council: Council
    meeting: Meeting
    secretary: Any
    units: list[MemberUnit]
    delegates: list[Any]  # delegates[i] represents units[i]
    tokens: list[str]  # tokens[i] is delegates[i]'s API token


def append_many(council_id: int, events: list[dict[str, Any]]) -> None:
    """Append events to the council's chain in one go, hashed as ``ledger.append`` does."""
    head = LedgerHead.objects.select_for_update(no_key=True).get(council_id=council_id)
    seq, prev = head.seq, head.hash
    rows = []
    for event in events:
        seq += 1
        at = event["at"]
        digest = ledger.event_hash(
            council=council_id,
            seq=seq,
            at=ledger.format_time(at),
            actor=event["actor"],
            action=event["action"],
            object=event["object"],
            data=event["data"],
            prev_hash=prev,
        )
        rows.append(
            LedgerEvent(
                council_id=council_id,
                seq=seq,
                at=at,
                actor=event["actor"],
                action=event["action"],
                object=event["object"],
                data=event["data"],
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    LedgerEvent.objects.bulk_create(rows, batch_size=5000)
    LedgerHead.objects.filter(pk=council_id).update(seq=seq, hash=prev)


def council_of(
    name: str, n_units: int, *, mode: str = Meeting.Mode.HYBRID, check_in: bool = True
) -> BenchCouncil:
    """A council of ``n_units`` units, one delegate (with a token) each, a secretary, and
    a meeting in session whose snapshot holds every unit — all checked in if asked."""
    User = get_user_model()
    root = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "root", password=None
    )
    slug = name.lower().replace(" ", "-")
    council = council_services.create_council(actor=root, name=name, slug=slug)
    password = make_password(PASSWORD)  # hashed once: PBKDF2 per user would take minutes
    with transaction.atomic():
        units = MemberUnit.objects.bulk_create(
            [
                MemberUnit(council=council, name=f"{name} unit {i}", short_name=f"U{i}")
                for i in range(n_units)
            ],
            batch_size=5000,
        )
        # The units' own events, as create_unit writes them: the verifiers replay the
        # units from the ledger and compare them with the rows.
        append_many(
            council.pk,
            [
                {
                    "at": timezone.now(),
                    "actor": root.get_username(),
                    "action": "unit.created",
                    "object": ledger.ref(unit),
                    "data": unit_record(unit),
                }
                for unit in units
            ],
        )
        secretary = User.objects.create(username=f"{slug}-secretary", password=password)
        delegates = User.objects.bulk_create(
            [User(username=f"{slug}-d{i}", password=password) for i in range(n_units)],
            batch_size=5000,
        )
        Role.objects.create(user=secretary, council=council, role=Role.Kind.SECRETARY)
        Role.objects.bulk_create(
            [
                Role(user=user, council=council, role=Role.Kind.DELEGATE, unit=unit)
                for user, unit in zip(delegates, units, strict=True)
            ],
            batch_size=5000,
        )
        # knox tokens written in bulk: the key is kept here for the load, the digest stored.
        keys = [create_token_string() for _user in delegates]
        expiry = timezone.now() + timedelta(days=1)
        ApiToken.objects.bulk_create(
            [
                ApiToken(
                    digest=hash_token(key),
                    token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                    user=user,
                    expiry=expiry,
                )
                for key, user in zip(keys, delegates, strict=True)
            ],
            batch_size=5000,
        )
    meeting = council_services.create_meeting(
        actor=secretary,
        council=council,
        title=f"{name} meeting",
        scheduled_at=timezone.now(),
        mode=mode,
    )
    meeting = council_services.start_meeting(actor=secretary, meeting=meeting)
    if check_in:
        with transaction.atomic():
            now = timezone.now()
            stays = Attendance.objects.bulk_create(
                [
                    Attendance(
                        meeting=meeting, unit=unit, checked_in_at=now, checked_in_by=secretary
                    )
                    for unit in units
                ],
                batch_size=5000,
            )
            append_many(
                council.pk,
                [
                    {
                        "at": now,
                        "actor": secretary.get_username(),
                        "action": "attendance.checked_in",
                        "object": f"meeting:{meeting.pk}",
                        "data": {
                            "unit": stay.unit_id,
                            "attendance": stay.pk,
                            "at": ledger.format_time(now),
                        },
                    }
                    for stay in stays
                ],
            )
    return BenchCouncil(
        council=council,
        meeting=meeting,
        secretary=secretary,
        units=units,
        delegates=delegates,
        tokens=keys,
    )
