"""The minutes of an adjourned meeting: frozen once, rendered from the frozen document.

At adjournment (``services.adjourn_meeting``, in its transaction) :func:`freeze` writes
down what the minutes show — the meeting, the eligible units with their names at that
moment, the attendance, and every closed vote with its numbers, ballots and result —
as one JSON document. The minutes page and the PDF of an adjourned meeting are rendered
from that document only, so renaming a unit or a meeting later cannot re-attribute a
past ballot. The document holds codes (mode, choice, outcome), not labels: each
language renders its own labels from them.

:func:`freeze` reads through an app registry so that the data migration freezing the
meetings adjourned before this existed runs the same code on its historical models.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import translation

from proposals import rules
from proposals.models import BallotChoice

from . import ledger
from .models import (
    LedgerEvent,
    LedgerHead,
    Meeting,
    MeetingMode,
    MeetingStatus,
    ResolutionKind,
)

# 2: each vote's motion text (``body``), each stay's unit's ``voting`` flag, each
# ballot's ``proxy_holder`` (None: Quorum has no proxies yet). Documents of version 1
# (meetings adjourned before) still render: what they lack is said to be missing.
VERSION = 2

logger = logging.getLogger(__name__)


def _time(at: datetime.datetime | None) -> str | None:
    return ledger.format_time(at) if at else None


def _parse(at: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(at) if at else None


def freeze(meeting_id: int, registry: Apps = live_apps) -> dict[str, Any]:
    """The document of a meeting's minutes, from the rows as they are now."""
    meeting_model = registry.get_model("council", "Meeting")
    attendance_model = registry.get_model("council", "Attendance")
    vote_model = registry.get_model("proposals", "Vote")
    ballot_model = registry.get_model("proposals", "Ballot")
    meeting = meeting_model.objects.select_related("council").get(pk=meeting_id)
    units = list(
        meeting.eligible_units.order_by("short_name", "pk").values("id", "short_name", "name")
    )
    attendance = [
        {
            "unit": {
                "id": a["unit_id"],
                "short_name": a["unit__short_name"],
                "name": a["unit__name"],
            },
            "voting": a["unit__voting"],
            "checked_in_at": _time(a["checked_in_at"]),
            "checked_in_by": a["checked_in_by__username"],
            "checked_out_at": _time(a["checked_out_at"]),
        }
        for a in attendance_model.objects.filter(meeting_id=meeting_id)
        .order_by("unit__short_name", "checked_in_at", "pk")
        .values(
            "unit_id",
            "unit__short_name",
            "unit__name",
            "unit__voting",
            "checked_in_at",
            "checked_in_by__username",
            "checked_out_at",
        )
    ]
    votes = list(
        vote_model.objects.filter(proposal__meeting_id=meeting_id, closed_at__isnull=False)
        .order_by("closed_at", "pk")
        .values(
            "id",
            "proposal_id",
            "proposal__title",
            "proposal__body",
            "proposal__proposer_unit__short_name",
            "proposal__proposer_unit__name",
            "number",
            "kind",
            "rules",
            "result",
            "outcome",
            "deadline",
            "opened_at",
            "closed_at",
        )
    )
    ballots: dict[int, list[dict[str, Any]]] = {v["id"]: [] for v in votes}
    for b in (
        ballot_model.objects.filter(vote_id__in=list(ballots))
        .order_by("unit__short_name", "pk")
        .values(
            "vote_id",
            "unit_id",
            "unit__short_name",
            "unit__name",
            "choice",
            "cast_by__username",
            "cast_at",
            "recorded_by_secretary",
        )
    ):
        ballots[b["vote_id"]].append(
            {
                "unit": {
                    "id": b["unit_id"],
                    "short_name": b["unit__short_name"],
                    "name": b["unit__name"],
                },
                "choice": b["choice"],
                "cast_by": b["cast_by__username"],
                "cast_at": _time(b["cast_at"]),
                "recorded_by_secretary": b["recorded_by_secretary"],
                "proxy_holder": None,
            }
        )
    return {
        "version": VERSION,
        "council": {
            "id": meeting.council_id,
            "name": meeting.council.name,
            "time_zone": meeting.council.time_zone,
        },
        "meeting": {
            "id": meeting.pk,
            "title": meeting.title,
            "mode": meeting.mode,
            "scheduled_at": _time(meeting.scheduled_at),
            "started_at": _time(meeting.started_at),
            "adjourned_at": _time(meeting.adjourned_at),
        },
        "units": units,
        "attendance": attendance,
        "votes": [
            {
                "id": v["id"],
                "proposal": v["proposal_id"],
                "title": v["proposal__title"],
                "body": v["proposal__body"],
                "proposer_unit": (
                    {
                        "short_name": v["proposal__proposer_unit__short_name"],
                        "name": v["proposal__proposer_unit__name"],
                    }
                    if v["proposal__proposer_unit__short_name"] is not None
                    else None
                ),
                "number": v["number"],
                "kind": v["kind"],
                "rules": v["rules"],
                "result": v["result"],
                "outcome": v["outcome"],
                "deadline": _time(v["deadline"]),
                "opened_at": _time(v["opened_at"]),
                "closed_at": _time(v["closed_at"]),
                "ballots": ballots[v["id"]],
            }
            for v in votes
        ],
    }


def digest(document: dict[str, Any]) -> str:
    """SHA-256 of the document's canonical JSON, as the ledger hashes its events."""
    return hashlib.sha256(ledger.canonical_json(document)).hexdigest()


# --- Rendering ----------------------------------------------------------------------------
#
# ``templates/council/_minutes_body.html`` renders live minutes from model objects; the
# frozen document is handed to it as plain objects with the same attribute names, so
# the page, the PDF and any later change to that template serve both.


def _who(username: str | None) -> SimpleNamespace | None:
    return SimpleNamespace(get_username=username) if username else None


def _unit(unit: dict[str, Any] | None) -> SimpleNamespace | None:
    return SimpleNamespace(**unit) if unit else None


def _result(vote: dict[str, Any]) -> rules.Result:
    # The same derivation as ``tally.result_of`` for a closed vote: the stored counts
    # under the vote's own frozen rule set.
    stored = vote["result"]
    counts = rules.Counts(
        eligible=stored["eligible"],
        present=stored["present"],
        yes=stored["yes"],
        no=stored["no"],
        abstain=stored["abstain"],
    )
    return rules.evaluate(counts, rules.RuleSet.from_dict(vote["rules"]))


def context(document: dict[str, Any], meeting: Meeting) -> dict[str, Any]:
    """What ``_minutes_body.html`` needs, from the frozen document. Labels are taken in
    the active language; the live ``meeting`` gives only its council's slug (a link)."""
    frozen = document["meeting"]
    frozen_meeting = SimpleNamespace(
        pk=frozen["id"],
        title=frozen["title"],
        council=SimpleNamespace(
            slug=meeting.council.slug,
            name=document["council"]["name"],
            time_zone=document["council"]["time_zone"],
        ),
        scheduled_at=_parse(frozen["scheduled_at"]),
        started_at=_parse(frozen["started_at"]),
        adjourned_at=_parse(frozen["adjourned_at"]),
        get_mode_display=MeetingMode(frozen["mode"]).label,
        get_status_display=MeetingStatus.ADJOURNED.label,
    )
    stays = [
        SimpleNamespace(
            unit=SimpleNamespace(**a["unit"], pk=a["unit"]["id"]),
            checked_in_at=_parse(a["checked_in_at"]),
            checked_in_by=_who(a["checked_in_by"]),
            checked_out_at=_parse(a["checked_out_at"]),
        )
        for a in document["attendance"]
    ]
    closed = []
    for v in document["votes"]:
        vote = SimpleNamespace(
            pk=v["id"],
            proposal_id=v["proposal"],
            number=v["number"],
            kind=v["kind"],
            get_kind_display=ResolutionKind(v["kind"]).label,
            deadline=_parse(v["deadline"]),
            opened_at=_parse(v["opened_at"]),
            closed_at=_parse(v["closed_at"]),
            proposal=SimpleNamespace(
                title=v["title"],
                # None: frozen before the minutes held the motion's text (version 1).
                body=v.get("body"),
                proposer_unit=_unit(v["proposer_unit"]),
            ),
        )
        ballots = [
            SimpleNamespace(
                unit=_unit(b["unit"]),
                get_choice_display=BallotChoice(b["choice"]).label,
                cast_by=_who(b["cast_by"]),
                recorded_by_secretary=b["recorded_by_secretary"],
                proxy_holder=b.get("proxy_holder"),
            )
            for b in v["ballots"]
        ]
        closed.append((vote, _result(v), ballots))
    units = [SimpleNamespace(**u, pk=u["id"]) for u in document["units"]]
    # The head as this copy is made (page or PDF), for a member to keep (--expect-head).
    head = LedgerHead.objects.filter(council_id=meeting.council_id).values("seq", "hash").first()
    return {
        "ledger_head": f"{head['seq']}:{head['hash']}" if head else None,
        "adjourned_head": (
            LedgerEvent.objects.filter(action="meeting.adjourned", object=ledger.ref(meeting))
            .values("seq", "hash")
            .first()
        ),
        "room": SimpleNamespace(
            meeting=frozen_meeting, quorum=SimpleNamespace(total=len(document["units"]))
        ),
        **roll_call(units, stays, frozen_meeting.adjourned_at),
        "closed": closed,
        "frozen": True,
        "version": document.get("version", 1),
    }


def roll_call(
    eligible: list[Any], stays: list[Any], adjourned_at: datetime.datetime | None
) -> dict[str, Any]:
    """Who was there: the stays, each marked ``eligible`` (a unit that may vote in this
    meeting) or not (non-voting: an observer, or a unit that joined after the meeting's
    snapshot); the eligible units ``present`` (checked in at some point) and ``absent``
    (never checked in); the non-voting units that attended; and the units still in the
    room at the adjournment. Live rows and the frozen document alike (``pk``,
    ``short_name``, ``name``)."""
    eligible_ids = {u.pk for u in eligible}
    came: dict[int, Any] = {}
    for stay in stays:
        stay.eligible = stay.unit.pk in eligible_ids
        came.setdefault(stay.unit.pk, stay.unit)
    stayed = set()
    if adjourned_at is not None:
        for s in stays:
            if s.checked_out_at is None or s.checked_out_at > adjourned_at:
                stayed.add(s.unit.pk)
    return {
        "stays": stays,
        "present_units": [u for u in eligible if u.pk in came],
        "absent_units": [u for u in eligible if u.pk not in came],
        "non_voting_units": sorted(
            (u for pk, u in came.items() if pk not in eligible_ids), key=lambda u: u.short_name
        ),
        "at_adjournment": [u for u in eligible if u.pk in stayed],
    }


def cjk_font_available() -> bool:
    """Whether fontconfig, which WeasyPrint sets its text with, has a font with Chinese
    glyphs (Debian: fonts-noto-cjk). Without one, Chinese prints as empty boxes ("tofu")."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        found = subprocess.run(  # noqa: S603 — fontconfig's own tool, fixed arguments
            [fc_list, ":lang=zh", "family"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.stdout.strip())


def render_pdf(document: dict[str, Any], meeting: Meeting, language: str) -> bytes:
    """The PDF of frozen minutes in ``language``, fonts embedded (Chinese included).

    Seconds of CPU for a long meeting: only the worker calls this (``proposals.tasks``).
    """
    from django.contrib.staticfiles import finders
    from weasyprint import HTML  # OSError without the system's Pango: the task logs it

    # The stylesheet goes inline: WeasyPrint then fetches nothing, from disk or network.
    found = finders.find("css/quorum.css")
    if found is None:
        raise ImproperlyConfigured("css/quorum.css is not among the static files")
    stylesheet = Path(str(found)).read_text(encoding="utf-8")
    no_cjk_font = not cjk_font_available()
    if no_cjk_font:
        logger.warning(
            "No font with Chinese glyphs (fontconfig: fc-list :lang=zh finds none): the "
            "minutes PDF of meeting %s says so; install fonts-noto-cjk",
            meeting.pk,
        )
    with translation.override(language):
        html = render_to_string(
            "council/minutes_pdf.html",
            {
                **context(document, meeting),
                "pdf": True,
                "stylesheet": stylesheet,
                "no_cjk_font": no_cjk_font,
            },
        )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
