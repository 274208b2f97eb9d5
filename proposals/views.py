"""Pages for the agenda and the vote. Thin: find, call one service, redirect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from council.errors import Forbidden, Invalid
from council.http.security import BallotRateThrottle, page_throttled
from council.models import Attendance, Meeting
from council.web.pages import act, refused, visible
from council.web.views import meeting_room
from members.models import MemberUnit

from . import queries, services, tally
from .filters import DecisionFilter
from .models import Ballot, Proposal, Vote


class ProposalForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Text"), required=False, max_length=20_000, widget=forms.Textarea
    )
    proposer_unit = forms.ModelChoiceField(
        label=gettext_lazy("Proposer unit"), queryset=MemberUnit.objects.none(), required=False
    )
    kind = forms.TypedChoiceField(
        label=gettext_lazy("Majority needed"),
        choices=Proposal.Kind.choices,
        initial=Proposal.Kind.ORDINARY,
        required=False,
        empty_value=Proposal.Kind.ORDINARY,
    )

    def __init__(self, *args: object, council_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # A ModelChoiceField: the stubs know the form's fields as plain Fields.
        self.fields["proposer_unit"].queryset = MemberUnit.objects.filter(  # type: ignore[attr-defined]
            council_id=council_id
        ).order_by("short_name")


class OpenVoteForm(forms.Form):
    """The secretary's "Open the vote" form: an optional deadline, typed in the
    council's local time (its zone is active: ``visible()``)."""

    deadline = forms.DateTimeField(
        label=gettext_lazy("Deadline"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _invalid(form: forms.Form) -> None:
    raise Invalid({k: [str(m) for m in v] for k, v in form.errors.items()})


def _proposal(request: HttpRequest, pk: int) -> Proposal:
    proposal, _access = _proposal_access(request, pk)
    return proposal


def _proposal_access(request: HttpRequest, pk: int) -> tuple[Proposal, Any]:
    return visible(
        request,
        Proposal.objects.select_related("meeting__council"),
        lambda p: p.meeting.council_id,
        pk=pk,
    )


def _only_secretaries(request: HttpRequest) -> HttpResponse:
    return refused(request, Forbidden(_("Only the council's secretaries may do this.")))


def _room(proposal: Proposal, anchor: str = "agenda") -> str:
    return reverse("meeting", args=[proposal.meeting_id]) + f"#{anchor}"


@login_required
@require_POST
def proposal_create(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _access = visible(
        request, Meeting.objects.select_related("council"), lambda m: m.council_id, pk=pk
    )
    form = ProposalForm(request.POST, council_id=meeting.council_id)
    done = reverse("meeting", args=[pk]) + "#agenda"
    if not form.is_valid():
        return act(request, lambda: _invalid(form), done=done)
    return act(
        request,
        lambda: services.create_proposal(actor=request.user, meeting=meeting, **form.cleaned_data),
        done=done,
        success=_("The proposal is on the agenda."),
    )


@login_required
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal, access = _proposal_access(request, pk)
    if not access.can_manage:
        return _only_secretaries(request)
    if proposal.status != Proposal.Status.DRAFT:
        messages.error(request, _("Only a draft can be edited."))
        return redirect(_room(proposal))
    council_id = proposal.meeting.council_id
    if request.method == "POST":
        form = ProposalForm(request.POST, council_id=council_id)
        if form.is_valid():
            return act(
                request,
                lambda: services.update_proposal(
                    actor=request.user, proposal=proposal, **form.cleaned_data
                ),
                done=_room(proposal),
                success=_("The proposal is saved."),
            )
    else:
        form = ProposalForm(
            council_id=council_id,
            initial={
                "title": proposal.title,
                "body": proposal.body,
                "proposer_unit": proposal.proposer_unit_id,
                "kind": proposal.kind,
            },
        )
    return render(request, "proposals/edit.html", {"proposal": proposal, "form": form})


@login_required
@require_POST
def proposal_move(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(request, pk)
    up = request.POST.get("direction") != "down"
    return act(
        request,
        lambda: services.move_proposal(actor=request.user, proposal=proposal, up=up),
        done=_room(proposal),
    )


@login_required
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST withdraws the draft."""
    proposal, access = _proposal_access(request, pk)
    if request.method != "POST":
        if not access.can_manage:
            return _only_secretaries(request)
        return render(
            request,
            "confirm.html",
            {
                "heading": _("Withdraw the proposal?"),
                "subject": proposal.title,
                "warning": _("A withdrawn proposal cannot be put to the vote."),
                "button": _("Withdraw now"),
                "cancel": _room(proposal),
            },
        )
    return act(
        request,
        lambda: services.withdraw_proposal(actor=request.user, proposal=proposal),
        done=_room(proposal),
        success=_("The proposal is withdrawn."),
    )


@login_required
@require_POST
def proposal_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the vote, with the deadline the secretary typed, if any (in the council's
    time zone; the service refuses one in the past, and anyone but a secretary)."""
    proposal = _proposal(request, pk)
    with timezone.override(proposal.meeting.council.zone):
        form = OpenVoteForm(request.POST)
        valid = form.is_valid()
    if not valid:
        return act(request, lambda: _invalid_deadline(form), done=_room(proposal))
    return act(
        request,
        lambda: services.open_vote(
            actor=request.user, proposal=proposal, deadline=form.cleaned_data["deadline"]
        ),
        done=_room(proposal, "vote"),
        success=_("The vote is open."),
    )


def _invalid_deadline(form: forms.Form) -> None:
    # Named by the field's label, in the reader's language (not the field's name).
    raise Invalid(
        {"non_field_errors": [f"{_('Deadline')}: {m}" for m in form.errors.get("deadline", [])]}
    )


@login_required
def proposal_close(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST closes the vote."""
    proposal, access = _proposal_access(request, pk)
    if request.method != "POST":
        if not access.can_manage:
            return _only_secretaries(request)
        # The live room (a vote past its deadline is closed by this read): the count,
        # the units that have not voted and the quorum line, before the irreversible step.
        room = meeting_room(proposal.meeting, access)
        if room.current is None or room.current.pk != proposal.pk:
            # Nothing to close (not opened yet, or closed — perhaps by this very read at
            # its deadline): say so, offer no button.
            proposal.refresh_from_db()
            return render(request, "proposals/confirm_close.html", {"proposal": proposal})
        return render(request, "proposals/confirm_close.html", {"proposal": proposal, "room": room})
    return act(
        request,
        lambda: services.close_vote(actor=request.user, proposal=proposal),
        done=_room(proposal, f"result-{proposal.pk}"),
        success=_("The vote is closed."),
    )


@login_required
@require_POST
def ballot(request: HttpRequest, pk: int, unit_id: int) -> HttpResponse:
    """Record (or replace) a unit's ballot; for the secretary, a vote given in the room."""
    too_many = page_throttled(request, BallotRateThrottle())
    if too_many is not None:
        return too_many
    proposal = _proposal(request, pk)
    unit = MemberUnit.objects.filter(pk=unit_id, council_id=proposal.meeting.council_id).first()
    done = _room(proposal, f"unit-{unit_id}")
    if unit is None:
        return act(request, lambda: _invalid_unit(), done=done)
    cast: list[Ballot] = []

    def record() -> None:
        cast.append(
            services.cast_ballot(
                actor=request.user,
                proposal=proposal,
                unit=unit,
                choice=request.POST.get("choice", ""),
            )
        )

    response = act(request, record, done=done)
    if cast and request.POST.get("receipt"):
        # From the ballot page: back to it, with the receipt of this cast.
        page = reverse("ballot-page", args=[proposal.pk])
        response["Location"] = f"{page}?receipt={unit.pk}#receipt-{unit.pk}"
    return response


def _invalid_unit() -> None:
    from council.errors import NotFound

    raise NotFound(_("No such unit in this council."))


@dataclass
class UnitBallot:
    """One of the person's units on the ballot page."""

    unit: MemberUnit
    ballot: Ballot | None
    eligible: bool
    history: list[queries.BallotVersion] = field(default_factory=list)
    checked_in: bool = True  # in person, only a unit checked in can vote
    notice: queries.BallotVersion | None = None  # the latest version, if someone else's
    receipt: queries.BallotVersion | None = None  # the person's cast just made


@login_required
def ballot_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A delegate's page for one vote: the unit's current ballot, and the three choices
    until the close; after the close, the result card.

    With each unit: its ballot history in this vote (from the ledger), a notice when its
    latest ballot was cast by someone else, the receipt of the person's own cast just
    made (``?receipt=<unit>``), and — in person — whether the unit is checked in."""
    proposal, access = _proposal_access(request, pk)
    services.close_if_due(proposal)  # past its deadline: closed by this read
    vote = proposal.current_vote
    meeting = proposal.meeting
    units = list(MemberUnit.objects.filter(pk__in=access.units).order_by("short_name"))
    ballots = {
        b.unit_id: b
        for b in Ballot.objects.filter(vote=vote, unit__in=units).select_related("cast_by")
    }
    # Before the vote opens, the meeting's snapshot tells who will be eligible.
    snapshot = vote.eligible_units if vote else meeting.eligible_units
    eligible = set(snapshot.filter(pk__in=access.units).values_list("pk", flat=True))
    accepting = (
        vote is not None
        and vote.closed_at is None
        and (vote.deadline is None or vote.deadline > timezone.now())
    )
    history = queries.ballot_history(vote, [u.pk for u in units]) if vote and units else {}
    present: set[int] | None = None
    if accepting and units and meeting.mode == Meeting.Mode.IN_PERSON:
        present = set(
            Attendance.objects.filter(
                meeting=meeting, unit__in=units, checked_out_at__isnull=True
            ).values_list("unit_id", flat=True)
        )
    me = request.user.get_username()
    receipt_for = request.GET.get("receipt", "")
    rows = []
    for unit in units:
        versions = history.get(unit.pk, [])
        latest = versions[-1] if versions else None
        rows.append(
            UnitBallot(
                unit=unit,
                ballot=ballots.get(unit.pk),
                eligible=unit.pk in eligible,
                history=versions,
                checked_in=present is None or unit.pk in present,
                notice=latest if latest and latest.actor != me and len(versions) > 1 else None,
                receipt=latest
                if latest and latest.actor == me and receipt_for == str(unit.pk)
                else None,
            )
        )
    return render(
        request,
        "proposals/ballot.html",
        {
            "proposal": proposal,
            "council": meeting.council,
            "rows": rows,
            "result": tally.result_of(vote) if vote and vote.closed_at else None,
            "accepting": accepting,
        },
    )


def _present_units(proposal: Proposal, vote: Vote) -> list[MemberUnit]:
    """The units that can vote now: in the vote's snapshot and checked in."""
    present = Attendance.objects.filter(meeting_id=proposal.meeting_id, checked_out_at__isnull=True)
    return list(vote.eligible_units.filter(pk__in=present.values("unit_id")).order_by("short_name"))


HANDS_NONE = "none"  # the form's "not voting": no ballot is recorded for the unit
# A unit that has voted already (online, or recorded earlier) keeps its ballot unless the
# secretary picks another choice for it: a show of hands never silently overwrites a
# delegate's own ballot.
HANDS_KEEP = "keep"


@login_required
def show_of_hands(request: HttpRequest, pk: int) -> HttpResponse:
    """The secretary's show of hands: every unit present votes yes, except those picked
    for no or abstain (or left not voting). GET shows the form (one row per unit
    present, "yes" chosen, or "keep" for a unit that has voted); POST records every
    ballot at once, or none."""
    proposal, access = _proposal_access(request, pk)
    if not access.can_manage:
        return _only_secretaries(request)
    vote = proposal.current_vote
    if vote is None or vote.closed_at is not None:
        messages.error(request, _("The vote is not open."))
        return redirect(_room(proposal, "vote"))
    if request.method != "POST":
        units = _present_units(proposal, vote)
        ballots = {
            b.unit_id: b
            for b in Ballot.objects.filter(vote=vote, unit__in=units).select_related("cast_by")
        }
        return render(
            request,
            "proposals/show_of_hands.html",
            {
                "proposal": proposal,
                "rows": [(unit, ballots.get(unit.pk)) for unit in units],
                "none": HANDS_NONE,
                "keep": HANDS_KEEP,
            },
        )
    too_many = page_throttled(request, BallotRateThrottle())
    if too_many is not None:
        return too_many
    ids = [int(v) for v in request.POST.getlist("unit") if v.isdecimal() and len(v) < 19]
    picked = MemberUnit.objects.filter(pk__in=ids, council_id=proposal.council_id)
    choices = {}
    for unit in picked:
        choice = request.POST.get(f"choice-{unit.pk}", Ballot.Choice.YES)
        if choice not in (HANDS_NONE, HANDS_KEEP):
            choices[unit] = choice
    counts = {c: sum(1 for v in choices.values() if v == c) for c in Ballot.Choice.values}
    recorded: list[Ballot] = []

    def record() -> None:
        recorded.extend(
            services.record_show_of_hands(actor=request.user, proposal=proposal, choices=choices)
        )

    # Refused: back to the form, with the reason (nothing was recorded); else the room.
    response = act(
        request,
        record,
        done=reverse("show-of-hands", args=[proposal.pk]),
        success=_("Recorded %(total)d ballots: %(yes)d yes, %(no)d no, %(abstain)d abstain.")
        % {"total": len(choices), **counts},
    )
    if recorded:
        response["Location"] = _room(proposal, "vote")
    return response


@login_required
def register(request: HttpRequest, slug: str) -> HttpResponse:
    """The council's decision register, filtered, with CSV and JSON downloads.

    A malformed filter is named with what is wrong (the API's 400), and nothing is listed.
    """
    from urllib.parse import urlencode

    from council.models import Council
    from council.web.exports import verifier_sha256

    council, _access = visible(request, Council.objects.all(), lambda c: c.pk, slug=slug)
    # The read-time close: a vote past its deadline is a decision of the register.
    services.close_due(Vote.objects.filter(proposal__council=council))
    # The form's "any" is an empty value: not a filter (to the API, a malformed one).
    chosen = {k: v for k, v in request.GET.items() if k in DecisionFilter.base_filters and v}
    register_filter = DecisionFilter(
        chosen,
        queryset=Vote.objects.closed()
        .filter(proposal__council=council)
        .select_related("proposal__meeting", "proposal__proposer_unit")
        .order_by("-closed_at"),
    )
    # As a form with errors is answered (200): the page, with what to correct.
    refusals = [] if register_filter.is_valid() else register_filter.refusals()
    decisions = [] if refusals else register_filter.qs[:500]
    download = reverse("api:decision-list") + "?" + urlencode({"council": council.pk, **chosen})
    return render(
        request,
        "proposals/register.html",
        {
            "council": council,
            "refusals": [(label, message) for _name, label, message in refusals],
            "decisions": [(v, tally.result_of(v)) for v in decisions],
            "units": council.units.order_by("short_name"),
            "outcomes": Proposal.Outcome.choices,
            "params": request.GET,
            "csv_url": download + "&format=csv",
            "json_url": download + "&format=json",
            "ballots_url": reverse("api:decision-ballots")
            + "?"
            + urlencode({"council": council.pk, **chosen}),
            "verifier_sha256": verifier_sha256(),
        },
    )
