"""REST API for proposals, votes, ballots, tallies and the decision register."""

from __future__ import annotations

from typing import Any

from django.http import Http404, StreamingHttpResponse
from django.utils.text import capfirst
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from council.api.common import ID, FrozenRulesField, ListReadCreateViewSet, referenced, scope
from council.api.fields import StrictModelSerializer, path_id, query_number
from council.api.permissions import MANAGE, Rule
from council.api.renderers import CsvDownloads, wants_csv, with_csv
from council.api.schema import COUNCIL_FILTER
from council.errors import Code, Conflict
from council.http.security import BallotRateThrottle
from council.models import Basis, Meeting
from members import permissions
from members.models import MemberUnit

from . import explain, exports, queries, services, tally
from .filters import DecisionFilter
from .models import Ballot, Proposal, Vote


class VoteBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=Proposal.Outcome.choices, allow_null=True)


class ProposalSerializer(StrictModelSerializer):
    # ``outcome``, ``opened_at`` and ``closed_at`` describe the current (latest) vote.
    outcome = serializers.ChoiceField(
        choices=Proposal.Outcome.choices, allow_null=True, read_only=True
    )
    opened_at = serializers.DateTimeField(allow_null=True, read_only=True)
    closed_at = serializers.DateTimeField(allow_null=True, read_only=True)
    votes = VoteBriefSerializer(many=True, read_only=True, help_text="Oldest first.")

    class Meta:
        model = Proposal
        fields = [
            "id",
            "council",
            "meeting",
            "title",
            "body",
            "proposer_unit",
            "kind",
            "status",
            "outcome",
            "deadline",
            "opened_at",
            "closed_at",
            "votes",
        ]
        read_only_fields = ["council", "status"]


class OpenVoteSerializer(serializers.Serializer):
    deadline = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the vote closes by itself; in the future. Without it, the draft's "
        "planned deadline, if any.",
    )


class BallotInSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Ballot.Choice.choices)


class BallotSerializer(serializers.Serializer):
    # Declared, not a ModelSerializer: it answers every cast, and a ModelSerializer
    # rebuilds its fields from the model each time it is instantiated.
    unit = serializers.IntegerField(source="unit_id")
    choice = serializers.ChoiceField(choices=Ballot.Choice.choices)
    cast_by = serializers.CharField(source="cast_by.username")
    cast_at = serializers.DateTimeField()
    recorded_by_secretary = serializers.BooleanField(
        label=capfirst(Ballot._meta.get_field("recorded_by_secretary").verbose_name),
        help_text=Ballot._meta.get_field("recorded_by_secretary").help_text,
    )


class LineSerializer(serializers.Serializer):
    # DRF's metaclass takes declared fields off the class: not Field.required, as the
    # stubs assume.
    required = serializers.IntegerField()  # type: ignore[assignment]
    met = serializers.BooleanField()


class MajoritySerializer(LineSerializer):
    basis = serializers.ChoiceField(choices=Basis.choices)


class ReadingsSerializer(serializers.Serializer):
    """The outcome under each basis."""

    members = serializers.ChoiceField(choices=Proposal.Outcome.choices)
    present = serializers.ChoiceField(choices=Proposal.Outcome.choices)
    cast = serializers.ChoiceField(choices=Proposal.Outcome.choices)


class TallySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Proposal.Kind.choices)
    eligible = serializers.IntegerField()
    present = serializers.IntegerField()
    yes = serializers.IntegerField()
    no = serializers.IntegerField()
    abstain = serializers.IntegerField()
    not_voted = serializers.IntegerField()
    quorum = LineSerializer()
    majority = MajoritySerializer()
    outcome = serializers.ChoiceField(choices=Proposal.Outcome.choices, allow_null=True)
    explanation = serializers.CharField()
    readings = ReadingsSerializer()


def tally_data(vote: Vote | None) -> dict[str, Any]:
    """The tally object of a vote: frozen once closed; live (outcome null) while open."""
    result = tally.result_of(vote)
    if vote is None or result is None:
        raise Conflict("The vote has not opened.", code=Code.VOTE_NOT_OPEN)
    closed = vote.closed_at is not None
    return {
        "kind": vote.kind,
        **result.counts.as_dict(),
        "quorum": {"required": result.quorum.required, "met": result.quorum.met},
        "majority": {
            "basis": str(result.rules.basis),
            "required": result.majority.required,
            "met": result.majority.met,
        },
        "outcome": str(result.outcome) if closed else None,
        "explanation": explain.explanation(result)
        if closed
        else "\n".join(explain.explain(result, live=True)),
        "readings": {str(b): str(o) for b, o in result.readings.items()},
    }


class ProposalViewSet(ListReadCreateViewSet):
    serializer_class = ProposalSerializer
    rules = {
        "create": Rule(
            lambda access, subject: access.can_submit_for(subject.unit_id),
            "Delegates submit proposals in the name of their own unit only.",
        ),
        "open": MANAGE,
        "close": MANAGE,
        "withdraw": MANAGE,
        "ballot": Rule(
            lambda access, subject: subject.unit is not None and access.can_cast_for(subject.unit),
            "You may cast a ballot only for the unit you represent.",
        ),
    }

    def get_queryset(self) -> Any:
        queryset = (
            Proposal.objects.select_related("meeting")
            .prefetch_related("votes")
            .order_by("meeting_id", "position", "id")
        )
        return scope(queryset, self.request, "council")

    def get_object(self) -> Any:
        # The read-time close: a vote past its deadline is closed (by the system) before
        # anything about it is answered or acted on.
        proposal = super().get_object()
        services.close_if_due(proposal)
        return proposal

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        if self.action == "list":
            for proposal in page or []:
                services.close_if_due(proposal)  # no query unless a deadline has passed
        return page

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meeting = referenced(Meeting, request, "meeting")
        unit_id = request.data.get("proposer_unit") if hasattr(request.data, "get") else None
        self.authorize(meeting, unit_id=query_number(str(unit_id)))
        serializer = self.get_serializer(data=request.data)
        # Only this council's units are valid (no existence oracle for other councils').
        # The stubs know get_serializer() as a BaseSerializer and its fields as Fields.
        serializer.fields["proposer_unit"].queryset = MemberUnit.objects.filter(  # type: ignore[attr-defined]
            council_id=meeting.council_id
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        proposal = services.create_proposal(
            actor=request.user,
            meeting=meeting,
            title=data["title"],
            body=data.get("body", ""),
            proposer_unit=data.get("proposer_unit"),
            kind=data.get("kind", Proposal.Kind.ORDINARY),
            deadline=data.get("deadline"),
        )
        return Response(self.get_serializer(proposal).data, status=201)

    def _answer(self, proposal: Proposal) -> Response:
        """The proposal as it is now (its votes re-read: the service added or closed one)."""
        return Response(self.get_serializer(self.get_queryset().get(pk=proposal.pk)).data)

    @extend_schema(request=OpenVoteSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request: Request, pk: str) -> Response:
        proposal = self.get_object()
        body = OpenVoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        proposal = services.open_vote(
            actor=request.user,
            proposal=proposal,
            deadline=body.validated_data.get("deadline"),
        )
        return self._answer(proposal)

    @extend_schema(request=None, responses=TallySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        proposal = services.close_vote(actor=request.user, proposal=self.get_object())
        return Response(tally_data(proposal.current_vote))

    @extend_schema(request=None, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        proposal = services.withdraw_proposal(actor=request.user, proposal=self.get_object())
        return self._answer(proposal)

    @extend_schema(responses=TallySerializer)
    @action(detail=True, methods=["get"])
    def tally(self, request: Request, pk: str) -> Response:
        return Response(tally_data(self.get_object().current_vote))

    @extend_schema(responses=BallotSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="ballots")
    def ballots(self, request: Request, pk: str) -> Response:
        vote = self.get_object().current_vote
        ballots = Ballot.objects.filter(vote=vote).select_related("cast_by").order_by("unit_id")
        page = self.paginate_queryset(ballots)
        return self.get_paginated_response(BallotSerializer(page, many=True).data)

    @extend_schema(request=BallotInSerializer, responses=BallotSerializer)
    @action(
        detail=True,
        methods=["put"],
        url_path=f"ballots/(?P<unit_id>{ID})",
        throttle_classes=[BallotRateThrottle],
    )
    def ballot(self, request: Request, pk: str, unit_id: str) -> Response:
        # The hottest endpoint: a direct lookup, then the caller's roles decide visibility
        # (404) — the same answer get_object() gives, without building the scoped queryset.
        # The route admits ASCII digits only (common.ID); path_id bounds it to a bigint.
        proposal = queries.find_proposal(path_id(pk))
        if proposal is None:
            raise Http404
        unit = queries.find_unit(proposal.council_id, path_id(unit_id))
        if unit is None:
            raise Http404
        access = self.authorize(proposal, unit=unit)
        body = BallotInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ballot = services.cast_ballot(
            actor=request.user,
            proposal=proposal,
            unit=unit,
            choice=body.validated_data["choice"],
            allowed=access,  # read just above for this request: no second query
        )
        return Response(BallotSerializer(ballot).data)


# --- The decision register ----------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    """One closed vote. ``id`` is its proposal's (as before votes were records of their
    own); ``vote`` and ``proposal`` name both."""

    id = serializers.IntegerField(source="proposal_id")
    vote = serializers.IntegerField(source="pk")
    proposal = serializers.IntegerField(source="proposal_id")
    number = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Proposal.Kind.choices)
    council = serializers.IntegerField(source="proposal.council_id")
    meeting = serializers.IntegerField(source="proposal.meeting_id")
    title = serializers.CharField(source="proposal.title")
    proposer_unit = serializers.IntegerField(source="proposal.proposer_unit_id", allow_null=True)
    outcome = serializers.ChoiceField(choices=Proposal.Outcome.choices)
    rules = FrozenRulesField()
    tally = serializers.SerializerMethodField()

    class Meta:
        model = Vote
        fields = [
            "id",
            "vote",
            "proposal",
            "number",
            "kind",
            "council",
            "meeting",
            "title",
            "proposer_unit",
            "outcome",
            "opened_at",
            "closed_at",
            "rules",
            "tally",
        ]

    @extend_schema_field(TallySerializer)
    def get_tally(self, vote: Vote) -> dict[str, Any]:
        return tally_data(vote)


class DecisionViewSet(CsvDownloads, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Closed votes with their frozen tally, rule set and close time.

    ``?format=csv`` (or ``Accept: text/csv``) or ``?format=json`` downloads the whole
    filtered register, streamed; ``ballots/`` every ballot of it, as CSV.
    """

    serializer_class = DecisionSerializer
    # text/csv is negotiable (council/api/renderers.py): a client sending
    # ``Accept: text/csv`` gets the CSV download, not a 406.
    renderer_classes = with_csv()
    # The filters answer 400 with what is wrong, per parameter; ?council= is scope()'s.
    filter_backends = [DjangoFilterBackend]
    filterset_class = DecisionFilter
    # The downloads' shapes, for the schema (council/api/schema.py).
    schema_downloads = {
        "text/csv": {"type": "string"},
        "application/json": {
            "type": "object",
            "description": "The verifiable export: the decisions with their ballots and "
            "the ledger chains that record them, checkable offline with the verify_export.py "
            "script that ships with Quorum.",
            "properties": {
                "format": {"type": "string"},
                "generated_at": {"type": "string"},
                "filter": {"type": "object"},
                "decisions": {"type": "array", "items": {"type": "object"}},
                "councils": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["format", "generated_at", "filter", "decisions", "councils"],
        },
    }

    def get_queryset(self) -> Any:
        queryset = Vote.objects.closed().select_related("proposal").order_by("closed_at", "id")
        return scope(queryset, self.request, "proposal__council")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The read-time close: a vote past its deadline is a decision of the register.
        services.close_due(scope(Vote.objects.all(), request, "proposal__council"))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["csv", "json"],
                required=False,
                description="Download the whole filtered register instead of a page: as "
                "CSV (text/csv), or as the verifiable JSON export.",
            ),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        wanted = request.query_params.get("format")
        if wanted is None and wants_csv(request):
            wanted = "csv"
        if wanted == "json":
            # The verifiable export carries the whole ledger, every role granted included:
            # the council's secretaries and auditors download it (as they read the roles).
            overseen = permissions.overseen_councils(request.user)
            asked = request.query_params.get("council")
            if overseen is not None and (
                not overseen.exists()
                or (
                    asked
                    and (council_id := query_number(asked)) is not None
                    and not overseen.filter(pk=council_id).exists()
                )
            ):
                raise exceptions.PermissionDenied(
                    "The verifiable export is for the council's secretaries and auditors."
                )
        if wanted in ("csv", "json"):
            return self._download(wanted)
        if wanted is not None:
            raise exceptions.ValidationError({"format": ["Use csv or json."]})
        return super().list(request, *args, **kwargs)

    # ?format=csv as an operation of its own: a generated client reads one media type
    # per answer, and the list's is JSON.
    @extend_schema(
        parameters=[COUNCIL_FILTER],
        filters=True,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"], url_path="csv")
    def csv(self, request: Request) -> StreamingHttpResponse:
        return self._download("csv")

    @extend_schema(
        parameters=[COUNCIL_FILTER],
        filters=True,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"], url_path="ballots")
    def ballots(self, request: Request) -> StreamingHttpResponse:
        """Every ballot of the filtered decisions, as CSV."""
        queryset = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(
            exports.ballot_rows(queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="ballots.csv"'
        return response

    def _download(self, kind: str) -> StreamingHttpResponse:
        queryset = self.filter_queryset(self.get_queryset())
        overseen = permissions.overseen_councils(self.request.user)
        if kind == "json" and overseen is not None:
            queryset = queryset.filter(proposal__council__in=overseen)
        if kind == "csv":
            rows, content_type = exports.csv_rows(queryset), "text/csv; charset=utf-8"
        else:
            selection = {
                k: v
                for k, v in self.request.query_params.items()
                if k == "council" or k in DecisionFilter.base_filters
            }
            rows = exports.json_export(queryset, selection=selection)
            content_type = "application/json"
        response = StreamingHttpResponse(rows, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="decisions.{kind}"'
        return response
