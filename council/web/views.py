"""Pages for councils and meetings. Thin: they read, call one service, and redirect.

Every change goes through a service (``council/services.py``, ``proposals/services.py``);
``council/web/pages.py`` turns refusals into messages. The meeting page is assembled by
:func:`meeting_room` in a fixed number of queries, whatever the number of units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, get_supported_language_variant, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from council import ledger, queries, services
from council import minutes as minutes_module
from council.errors import Forbidden, ServiceError
from council.http.security import AttendanceRateThrottle, MinutesPdfRateThrottle, page_throttled
from council.models import Attendance, Council, LedgerEvent, LedgerHead, Meeting, Minutes
from members import permissions
from members.models import MemberUnit, Role
from proposals import explain, rules, tally
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal, Vote

from .pages import act, refused, visible


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The councils a person serves, their coming meetings, and votes in progress."""
    user = permissions.account(request.user)
    councils = permissions.visible_councils(user)
    if councils is None:
        councils = Council.objects.all()
    roles = Role.objects.filter(user=user).select_related("council", "unit")
    meetings = (
        Meeting.objects.filter(council__in=councils)
        .filter(Q(status=Meeting.Status.SCHEDULED) | Q(status=Meeting.Status.IN_SESSION))
        .select_related("council")
        .order_by("scheduled_at")[:20]
    )
    votes = (
        Vote.objects.open()
        .filter(proposal__council__in=councils)
        .select_related("proposal__meeting__council", "proposal__proposer_unit")
        .order_by("opened_at")
    )
    # For delegates: which of their units still owe a ballot on each open vote.
    mine = [r.unit for r in roles if r.unit is not None]
    open_votes = []
    for vote in votes:
        vote.proposal.current_vote = vote
        if proposal_services.close_if_due(vote.proposal):
            continue  # past its deadline: closed now, no longer in progress
        open_votes.append(vote.proposal)
    still_open = [p.current_vote for p in open_votes]
    cast = set(
        Ballot.objects.filter(vote__in=still_open, unit__in=mine).values_list(
            "vote__proposal_id", "unit_id"
        )
    )
    # In person, a unit not checked in cannot vote: say so instead of offering a ballot.
    in_person = [p.meeting_id for p in open_votes if p.meeting.mode == Meeting.Mode.IN_PERSON]
    present = (
        set(
            Attendance.objects.filter(
                meeting_id__in=in_person, unit__in=mine, checked_out_at__isnull=True
            ).values_list("meeting_id", "unit_id")
        )
        if in_person and mine
        else set()
    )
    for proposal in open_votes:
        absent = proposal.meeting.mode == Meeting.Mode.IN_PERSON
        proposal.my_units = [  # type: ignore[attr-defined]  # for the template only
            (u, (proposal.pk, u.pk) in cast, absent and (proposal.meeting_id, u.pk) not in present)
            for u in mine
            if u.council_id == proposal.meeting.council_id
        ]
    return render(
        request,
        "council/home.html",
        {"councils": councils, "roles": roles, "meetings": meetings, "open_votes": open_votes},
    )


# --- The council page ---------------------------------------------------------------------


class MeetingForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), choices=Meeting.Mode.choices)


@login_required
def council_page(request: HttpRequest, slug: str) -> HttpResponse:
    council, access = visible(request, Council.objects.all(), lambda c: c.pk, slug=slug)
    units = list(council.units.order_by("-voting", "short_name"))
    today = timezone.now().astimezone(council.zone).date()
    eligible = council.units.eligible_on(today).count()
    decisions = (
        Vote.objects.closed()
        .filter(proposal__council=council)
        .select_related("proposal__meeting", "proposal__proposer_unit")
        .order_by("-closed_at")
    )
    return render(
        request,
        "council/council.html",
        {
            "council": council,
            "access": access,
            "units": units,
            "rule_sentences": explain.rule_sentences(council.rule_set, eligible),
            "meetings": council.meetings.all(),
            "decisions": decisions,
            "form": MeetingForm(),
        },
    )


@login_required
@require_POST
def meeting_create(request: HttpRequest, slug: str) -> HttpResponse:
    council, _access = visible(request, Council.objects.all(), lambda c: c.pk, slug=slug)
    form = MeetingForm(request.POST)
    done = reverse("council", args=[council.slug])
    with timezone.override(council.zone):  # the time typed is the council's local time
        valid = form.is_valid()
    if not valid:
        return act(request, lambda: _raise_form(form), done=done)
    created: dict[str, Meeting] = {}

    def schedule() -> None:
        created["meeting"] = services.create_meeting(
            actor=request.user, council=council, **form.cleaned_data
        )

    response = act(request, schedule, done=done, success=_("The meeting is scheduled."))
    if "meeting" in created:
        response["Location"] = reverse("meeting", args=[created["meeting"].pk])
    return response


def _raise_form(form: forms.Form) -> None:
    from council.errors import Invalid

    raise Invalid({k: [str(m) for m in v] for k, v in form.errors.items()})


# --- The meeting room ---------------------------------------------------------------------


@dataclass
class UnitRow:
    unit: MemberUnit
    eligible: bool
    attendance: Attendance | None  # the unit's open attendance, if it is checked in
    can_record_attendance: bool = False
    ballot: Ballot | None = None
    # Each row's form targets, built from one reverse() per table: a {% url %} per row
    # was a large part of rendering a council of hundreds of units.
    attendance_url: str = ""
    ballot_url: str = ""

    @property
    def present(self) -> bool:
        return self.attendance is not None


@dataclass
class Room:
    """Everything the meeting page and its live parts show, loaded in fixed queries."""

    meeting: Meeting
    access: permissions.Access
    rows: list[UnitRow]
    quorum: rules.Line
    proposals: list[Proposal]
    current: Proposal | None = None  # the open vote, if any
    result: rules.Result | None = None  # its live result
    voters: list[UnitRow] = field(default_factory=list)  # units present for the vote
    not_voted: list[UnitRow] = field(default_factory=list)
    results: dict[int, rules.Result | None] = field(default_factory=dict)  # closed ones
    agenda_page: Page[tuple[int, str]] | None = None  # when the agenda is paged
    kinds = Proposal.Kind.choices

    @property
    def open_blocked_by(self) -> str:
        """Why no vote can be opened now ('' when one can): shown beside the button."""
        if self.meeting.status != Meeting.Status.IN_SESSION:
            return _("Votes open only while the meeting is in session.")
        if not self.quorum.met:
            return _(
                "No quorum: %(present)s of %(eligible)s units present, %(required)s needed."
            ) % {
                "present": self.quorum.count,
                "eligible": self.quorum.total,
                "required": self.quorum.required,
            }
        return ""


def _url_prefix(name: str, pk: int) -> str:
    """``/…/<pk>/…/`` of a URL whose last argument is a unit: append ``<unit>/``."""
    return reverse(name, args=[pk, 0]).removesuffix("0/")


@dataclass
class QuorumBar:
    """What the quorum bar shows (``council/_quorum.html``), without the rest of the room."""

    meeting: Meeting
    quorum: rules.Line


# Items on one page of the meeting page's agenda (its live parts, the projector and the
# minutes read the whole agenda).
AGENDA_PAGE_SIZE = 20


@dataclass
class AttendanceTable:
    """What the attendance table (``council/_attendance.html``) shows, polled alone."""

    meeting: Meeting
    rows: list[UnitRow]


def _unit_rows(
    meeting: Meeting, access: permissions.Access
) -> tuple[list[UnitRow], set[int], dict[int, Attendance]]:
    """The attendance table's rows (three queries): units, who is eligible, who is here."""
    council = meeting.council
    units = list(council.units.order_by("-voting", "short_name"))
    if meeting.status == Meeting.Status.SCHEDULED:
        today = timezone.now().astimezone(council.zone).date()
        eligible_ids = set(council.units.eligible_on(today).values_list("pk", flat=True))
    else:
        eligible_ids = set(meeting.eligible_units.values_list("pk", flat=True))
    open_attendance = {
        a.unit_id: a
        for a in Attendance.objects.filter(
            meeting=meeting, checked_out_at__isnull=True
        ).select_related("checked_in_by")
    }
    attendance_prefix = _url_prefix("attendance", meeting.pk)
    in_person = meeting.mode == Meeting.Mode.IN_PERSON
    rows = [
        UnitRow(
            unit=u,
            eligible=u.pk in eligible_ids,
            attendance=open_attendance.get(u.pk),
            can_record_attendance=access.can_record_attendance(in_person, u),
            attendance_url=f"{attendance_prefix}{u.pk}/",
        )
        for u in units
    ]
    return rows, eligible_ids, open_attendance


def meeting_room(
    meeting: Meeting, access: permissions.Access, agenda_page: str | int | None = None
) -> Room:
    """``agenda_page``: show that page of the agenda (any text: Paginator.get_page reads
    a missing or bad number as the first page, one past the end as the last)."""
    council = meeting.council
    rows, eligible_ids, open_attendance = _unit_rows(meeting, access)
    present_eligible = {u for u in open_attendance if u in eligible_ids}
    agenda = (
        meeting.proposals.select_related("proposer_unit")
        .prefetch_related("votes")
        .order_by("position", "id")
    )
    page = None
    if agenda_page is not None:
        # One page of the agenda, so that a flood of long drafts cannot grow the page
        # without bound; the open vote is shown (in the vote panel) whatever its page.
        order = list(agenda.values_list("pk", "status"))
        page = Paginator(order, AGENDA_PAGE_SIZE).get_page(agenda_page)
        wanted = [pk for pk, _status in page.object_list]
        wanted += [pk for pk, status in order if status == Proposal.Status.OPEN][:1]
        agenda = agenda.filter(pk__in=wanted)
    loaded = list(agenda)
    on_page = {pk for pk, _status in page.object_list} if page is not None else None
    room = Room(
        meeting=meeting,
        access=access,
        rows=rows,
        quorum=rules.quorum_line(len(eligible_ids), len(present_eligible), council.rule_set),
        proposals=[p for p in loaded if on_page is None or p.pk in on_page],
        agenda_page=page,
    )
    for proposal in loaded:
        proposal.meeting = meeting
        if proposal.status == Proposal.Status.CLOSED:
            room.results[proposal.pk] = tally.result_of(proposal.current_vote)
        elif proposal.status == Proposal.Status.OPEN and room.current is None:
            room.current = proposal
    if room.current is not None and proposal_services.close_if_due(room.current):
        # Its deadline has passed: closed now by the system (or by someone else just
        # before), so the room is read again, with the vote closed and its result.
        return meeting_room(meeting, access, agenda_page)
    if room.current is not None and (vote := room.current.current_vote) is not None:
        vote.proposal = room.current
        ballots = {b.unit_id: b for b in Ballot.objects.filter(vote=vote).select_related("cast_by")}
        count = tally.count_vote(
            vote,
            present_ids=present_eligible,
            ballots={u: b.choice for u, b in ballots.items()},
            eligible=len(eligible_ids),
        )
        room.result = tally.result_of(vote, live=count)
        voting = set(count.present_units)
        ballot_prefix = _url_prefix("ballot", room.current.pk)
        for row in rows:
            row.ballot = ballots.get(row.unit.pk)
            row.ballot_url = f"{ballot_prefix}{row.unit.pk}/"
        room.voters = [r for r in rows if r.unit.pk in voting]
        room.not_voted = [r for r in room.voters if r.ballot is None]
    return room


def _meeting(request: HttpRequest, pk: int) -> tuple[Meeting, permissions.Access]:
    meeting, access = visible(
        request, Meeting.objects.select_related("council"), lambda m: m.council_id, pk=pk
    )
    return meeting, access


@login_required
def meeting_page(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, access = _meeting(request, pk)
    room = meeting_room(meeting, access, agenda_page=request.GET.get("agenda") or 1)
    return render(request, "council/meeting.html", {"room": room})


LIVE_PARTS = {
    "quorum": "council/_quorum.html",
    "attendance": "council/_attendance.html",
    "vote": "proposals/_vote_live.html",
    "projector": "council/_projector_live.html",
}


@login_required
def meeting_live(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    """The live parts (quorum bar, tally, projector), polled by htmx every 2 s or less."""
    meeting, access = _meeting(request, pk)
    template = LIVE_PARTS.get(part)
    if template is None:
        raise Http404
    if part == "quorum":
        # The bar needs two counts, not the whole room: every open meeting page asks for
        # it every two seconds.
        return render(request, template, {"room": QuorumBar(meeting, queries.quorum(meeting))})
    if part == "attendance":
        # The rows alone: check-ins made elsewhere (online, another secretary) show up.
        rows, _eligible, _present = _unit_rows(meeting, access)
        return render(request, template, {"room": AttendanceTable(meeting, rows)})
    room = meeting_room(meeting, access)
    response = render(request, template, {"room": room})
    shown = request.GET.get("open") if part == "vote" else None
    if shown is not None and shown != (str(room.current.pk) if room.current else ""):
        # The page shows another vote than the one open now (opened or closed elsewhere,
        # or closed at its deadline by this very read): reload it all, agenda included.
        response["HX-Refresh"] = "true"
    return response


@login_required
def projector(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, access = _meeting(request, pk)
    return render(request, "council/projector.html", {"room": meeting_room(meeting, access)})


@login_required
def minutes(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, access = _meeting(request, pk)
    # An adjourned meeting's minutes are its frozen document; a draft's are the live rows.
    frozen = (
        Minutes.objects.filter(meeting=meeting).first()
        if meeting.status == Meeting.Status.ADJOURNED
        else None
    )
    context = (
        minutes_module.context(frozen.document, meeting)
        if frozen is not None
        else _minutes_context(meeting, access)
    )
    return render(request, "council/minutes.html", context)


# How often the page waiting for a PDF reloads itself (and the Retry-After it sends).
PDF_REFRESH_SECONDS = 5


@login_required
def minutes_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The adjourned minutes as a PDF, fonts embedded (Chinese included) by WeasyPrint.

    Served as stored; the first request queues the render (a worker's job) and gets a
    202 page that reloads itself until the PDF is there. Refused (409) before the
    adjournment: the printable page serves drafts.
    """
    meeting, _access = _meeting(request, pk)
    throttled = page_throttled(request, MinutesPdfRateThrottle())
    if throttled is not None:
        return throttled
    try:
        import weasyprint  # noqa: F401 — the worker needs it; say so here rather than wait
    except OSError:  # the system's Pango is missing: say so rather than fail
        return HttpResponse(
            _("PDF minutes need the system's Pango library; the printable page works."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    language = get_supported_language_variant(get_language() or settings.LANGUAGE_CODE)
    try:
        stored = services.request_minutes_pdf(
            actor=request.user, meeting=meeting, language=language
        )
    except ServiceError as exc:
        return refused(request, exc)
    if stored.pdf is None:
        response = render(
            request,
            "council/minutes_pending.html",
            {"meeting": meeting, "refresh": PDF_REFRESH_SECONDS},
            status=202,
        )
        response["Retry-After"] = str(PDF_REFRESH_SECONDS)
        return response
    response = HttpResponse(bytes(stored.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="minutes-{meeting.pk}.pdf"'
    # Frozen: the same bytes for as long as the meeting exists.
    response["ETag"] = f'"{stored.sha256}"'
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


def _minutes_context(meeting: Meeting, access: permissions.Access) -> dict[str, Any]:
    room = meeting_room(meeting, access)
    # Every closed vote of the meeting, a void one put to the vote again included.
    by_pk = {p.pk: p for p in room.proposals}
    closed = list(
        Vote.objects.closed().filter(proposal__meeting=meeting).order_by("closed_at", "pk")
    )
    for vote in closed:
        vote.proposal = by_pk[vote.proposal_id]
    ballots: dict[int, list[Ballot]] = {v.pk: [] for v in closed}
    for ballot in (
        Ballot.objects.filter(vote__in=closed)
        .select_related("unit", "cast_by")
        .order_by("unit__short_name")
    ):
        ballots[ballot.vote_id].append(ballot)
    stays = list(
        Attendance.objects.filter(meeting=meeting)
        .select_related("unit", "checked_in_by", "checked_out_by")
        .order_by("unit__short_name", "checked_in_at")
    )
    # The room's rows already say which units are eligible (no query more).
    eligible = sorted((r.unit for r in room.rows if r.eligible), key=lambda u: (u.short_name, u.pk))
    # The chain's head when the meeting adjourned: printed so that a copy of the minutes
    # can later be held against the ledger (or an export) by anyone.
    adjourned = (
        LedgerEvent.objects.filter(action="meeting.adjourned", object=ledger.ref(meeting))
        .values("seq", "hash")
        .first()
    )
    # And the head as this copy is made, for a member to keep (--expect-head).
    head = LedgerHead.objects.filter(council_id=meeting.council_id).values("seq", "hash").first()
    return {
        "adjourned_head": adjourned,
        "ledger_head": f"{head['seq']}:{head['hash']}" if head else None,
        "room": room,
        **minutes_module.roll_call(eligible, stays, meeting.adjourned_at),
        "closed": [(v, tally.result_of(v), ballots[v.pk]) for v in closed],
    }


@login_required
@require_POST
def meeting_start(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _access = _meeting(request, pk)
    return act(
        request,
        lambda: services.start_meeting(actor=request.user, meeting=meeting),
        done=reverse("meeting", args=[pk]),
        success=_("The meeting is in session."),
    )


@login_required
def meeting_adjourn(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (adjourning cannot be undone); POST adjourns."""
    meeting, access = _meeting(request, pk)
    if request.method != "POST":
        if not access.can_manage:
            return refused(request, Forbidden(_("Only the council's secretaries may do this.")))
        return render(
            request,
            "confirm.html",
            {
                "heading": _("Adjourn the meeting?"),
                "subject": meeting.title,
                "warning": _("An adjourned meeting cannot be reopened; its agenda is closed."),
                "button": _("Adjourn now"),
                "cancel": reverse("meeting", args=[pk]),
            },
        )
    # A vote past its deadline is closed, not open: it does not hold the adjournment back.
    proposal_services.close_due(Vote.objects.filter(proposal__meeting=meeting))
    return act(
        request,
        lambda: services.adjourn_meeting(actor=request.user, meeting=meeting),
        done=reverse("meeting", args=[pk]),
        success=_("The meeting is adjourned."),
    )


@login_required
@require_POST
def attendance(request: HttpRequest, pk: int, unit_id: int) -> HttpResponse:
    too_many = page_throttled(request, AttendanceRateThrottle())
    if too_many is not None:
        return too_many
    meeting, _access = _meeting(request, pk)
    unit = MemberUnit.objects.filter(pk=unit_id, council_id=meeting.council_id).first()
    done = reverse("meeting", args=[pk]) + "#attendance"
    if unit is None:
        return act(request, lambda: _not_found(), done=done)
    present = request.POST.get("present") == "1"
    if not present and request.POST.get("confirmed") != "1":
        warning = _check_out_warning(request, meeting, unit, done)
        if warning is not None:
            return warning
    service: Any = services.check_in if present else services.check_out
    return act(request, lambda: service(actor=request.user, meeting=meeting, unit=unit), done=done)


def _check_out_warning(
    request: HttpRequest, meeting: Meeting, unit: MemberUnit, cancel: str
) -> HttpResponse | None:
    """A check-out that would lose the open vote's quorum asks first (a plain form that
    posts again with ``confirmed=1``): closed so, the vote would end void."""
    vote = (
        Vote.objects.open()
        .filter(proposal__meeting=meeting)
        .select_related("proposal")
        .order_by("pk")
        .first()
    )
    if vote is None or proposal_services.is_due(vote):
        return None
    vote.proposal.meeting = meeting
    before = tally.result_of(vote)
    after = tally.without_unit(vote, unit.pk)
    if before is None or not before.quorum.met or after.quorum.met:
        return None
    return render(
        request,
        "confirm.html",
        {
            "heading": _("Check %(unit)s out and lose the quorum?") % {"unit": unit.short_name},
            "subject": vote.proposal.title,
            "warning": _(
                "A vote is open. Without %(unit)s the quorum is lost: if the vote were "
                "closed so, it would end void (no quorum)."
            )
            % {"unit": unit.short_name},
            "details": [explain.quorum_sentence(after.quorum)],
            "hidden": [("present", "0"), ("confirmed", "1")],
            "button": _("Check out anyway"),
            "cancel": cancel,
        },
    )


def _not_found() -> None:
    from council.errors import NotFound

    raise NotFound(_("No such unit in this council."))
