"""REST API for councils, meetings, attendance and the audit log.

Views are thin: look up within what the caller may see, check the role, validate, call
one service. Errors are mapped in ``council/api/common.py``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from council import ledger, queries, services
from council.http import security
from council.models import Council, LedgerEvent, Meeting
from members import permissions
from members import services as member_services
from members.models import MemberUnit, Role
from proposals import exports
from proposals import services as proposal_services
from proposals.models import Vote

from .common import ID, ListReadCreateViewSet, RulesField, referenced, scope
from .fields import StrictBooleanField, StrictModelSerializer, path_id
from .permissions import MANAGE, Rule
from .renderers import CsvDownloads, with_csv

# --- Authentication and identity ----------------------------------------------------------


@extend_schema(
    request=AuthTokenSerializer,
    responses={
        200: inline_serializer(
            "Token",
            {
                "token": serializers.CharField(),
                "expiry": serializers.DateTimeField(allow_null=True),
            },
        )
    },
    auth=[],
)
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([security.TokenRateThrottle])
def obtain_token(request: Request) -> Response:
    """Exchange a username and password for a new API token (400 if wrong; 429 when this
    address asks too often, this username is locked out from it, or the address tried
    too many usernames). Each call issues a new token; a browser session of the same
    person that asks is recorded as its creator, so signing out revokes it."""
    serializer = AuthTokenSerializer(data=request.data, context={"request": request})
    if not serializer.is_valid():
        # Axes marks the request it refused (on DRF's Request, which the login passed on).
        if getattr(request, "axes_locked_out", False):
            raise exceptions.Throttled(
                wait=security.lockout_seconds(), detail=security.lockout_message()
            )
        limited = getattr(request, "sign_in_address_limited", None)
        if limited is not None:
            raise exceptions.Throttled(wait=limited, detail=security.address_limit_message())
        raise exceptions.ValidationError(serializer.errors)
    user = serializer.validated_data["user"]
    session = getattr(request, "session", None)
    own = session is not None and session.get(SESSION_KEY) == str(user.pk)
    token, key = member_services.issue_token(
        user=user,
        session_key=session.session_key if session is not None and own else None,
        label="API",
    )
    security.remember_sign_in(request, user.get_username())
    return Response({"token": key, "expiry": token.expiry})


class RoleBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["council", "role", "unit"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = RoleBriefSerializer(many=True)


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request: Request) -> Response:
    user = permissions.account(request.user)
    roles = Role.objects.filter(user=user).order_by("council_id", "role")
    return Response(
        {
            "username": request.user.get_username(),
            "roles": RoleBriefSerializer(roles, many=True).data,
        }
    )


# --- Councils ---------------------------------------------------------------------------


class CouncilSerializer(StrictModelSerializer):
    rules = RulesField(source="*", required=False)

    class Meta:
        model = Council
        fields = ["id", "name", "slug", "time_zone", "rules"]


class CouncilViewSet(ListReadCreateViewSet):
    serializer_class = CouncilSerializer

    def get_queryset(self) -> Any:
        return scope(Council.objects.order_by("id"), self.request, "pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not permissions.is_superuser(request.user):
            return Response({"detail": "Only administrators create councils."}, status=403)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        extra = {key: data[key] for key in ("rules", "special") if key in data}
        council = services.create_council(
            actor=request.user,
            name=data["name"],
            slug=data["slug"],
            time_zone=data.get("time_zone", "UTC"),
            **extra,
        )
        return Response(self.get_serializer(council).data, status=201)


# --- Meetings and attendance --------------------------------------------------------------


class MeetingSerializer(StrictModelSerializer):
    class Meta:
        model = Meeting
        fields = [
            "id",
            "council",
            "title",
            "scheduled_at",
            "mode",
            "status",
            "started_at",
            "adjourned_at",
        ]
        read_only_fields = ["status", "started_at", "adjourned_at"]


class QuorumSerializer(serializers.Serializer):
    eligible = serializers.IntegerField()
    present = serializers.IntegerField()
    # DRF's metaclass takes declared fields off the class: not Field.required, as the
    # stubs assume.
    required = serializers.IntegerField()  # type: ignore[assignment]
    met = serializers.BooleanField()


def quorum_data(meeting: Meeting) -> dict[str, Any]:
    line = queries.quorum(meeting)
    return {
        "eligible": line.total,
        "present": line.count,
        "required": line.required,
        "met": line.met,
    }


class AttendanceInSerializer(serializers.Serializer):
    present = StrictBooleanField()


class AttendanceOutSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    present = serializers.BooleanField()
    quorum = QuorumSerializer()


class MeetingViewSet(CsvDownloads, ListReadCreateViewSet):
    serializer_class = MeetingSerializer
    # ``Accept: text/csv`` for the attendance download (council/api/renderers.py).
    renderer_classes = with_csv()
    rules = {
        "create": MANAGE,
        "start": MANAGE,
        "adjourn": MANAGE,
        "attendance": Rule(
            lambda access, subject: (
                subject.unit is not None
                and access.can_record_attendance(
                    subject.obj.mode == Meeting.Mode.IN_PERSON, subject.unit
                )
            ),
            "Only the secretary records attendance for this unit.",
        ),
    }

    def get_queryset(self) -> Any:
        return scope(
            Meeting.objects.select_related("council").order_by("-scheduled_at", "-id"),
            self.request,
            "council",
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        council = referenced(Council, request, "council")
        self.authorize(council)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        meeting = services.create_meeting(
            actor=request.user,
            council=council,
            title=data["title"],
            scheduled_at=data["scheduled_at"],
            mode=data.get("mode", Meeting.Mode.IN_PERSON),
        )
        return Response(self.get_serializer(meeting).data, status=201)

    @extend_schema(request=None, responses=MeetingSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        meeting = services.start_meeting(actor=request.user, meeting=self.get_object())
        return Response(self.get_serializer(meeting).data)

    @extend_schema(request=None, responses=MeetingSerializer)
    @action(detail=True, methods=["post"])
    def adjourn(self, request: Request, pk: str) -> Response:
        meeting = self.get_object()
        # A vote past its deadline is closed, not open: it does not hold the adjournment back.
        proposal_services.close_due(Vote.objects.filter(proposal__meeting=meeting))
        meeting = services.adjourn_meeting(actor=request.user, meeting=meeting)
        return Response(self.get_serializer(meeting).data)

    @extend_schema(responses=QuorumSerializer)
    @action(detail=True, methods=["get"])
    def quorum(self, request: Request, pk: str) -> Response:
        return Response(quorum_data(self.get_object()))

    @extend_schema(request=None, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="attendance")
    def attendance_csv(self, request: Request, pk: str) -> StreamingHttpResponse:
        """The meeting's attendance as CSV (as the page's download)."""
        meeting = self.get_object()
        response = StreamingHttpResponse(
            exports.attendance_rows(meeting), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="attendance-{meeting.pk}.csv"'
        return response

    @extend_schema(request=AttendanceInSerializer, responses=AttendanceOutSerializer)
    @action(
        detail=True,
        methods=["put"],
        url_path=f"attendance/(?P<unit_id>{ID})",
        throttle_classes=[security.AttendanceRateThrottle],
    )
    def attendance(self, request: Request, pk: str, unit_id: str) -> Response:
        meeting = Meeting.objects.filter(pk=path_id(pk)).first()
        if meeting is None:
            raise Http404
        unit = MemberUnit.objects.filter(pk=path_id(unit_id), council_id=meeting.council_id).first()
        if unit is None:
            raise Http404
        self.authorize(meeting, unit=unit)
        body = AttendanceInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["present"]:
            services.check_in(actor=request.user, meeting=meeting, unit=unit)
        else:
            services.check_out(actor=request.user, meeting=meeting, unit=unit)
        meeting.refresh_from_db()
        present = queries.present_attendance(meeting, unit) is not None
        return Response({"unit": unit.pk, "present": present, "quorum": quorum_data(meeting)})


# --- The audit log ------------------------------------------------------------------------


class LedgerEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEvent
        fields = ["council", "seq", "at", "actor", "action", "object", "data", "prev_hash", "hash"]


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The append-only event log of the councils the caller belongs to, chain order."""

    serializer_class = LedgerEventSerializer

    def get_queryset(self) -> Any:
        # The log names every role granted: secretaries and auditors read it, as they
        # read the role list; a delegate sees only their own role.
        return scope(
            LedgerEvent.objects.order_by("council_id", "seq"),
            self.request,
            "council",
            councils=permissions.overseen_councils(self.request.user),
        )


class ProblemSerializer(serializers.Serializer):
    council = serializers.IntegerField(allow_null=True)
    seq = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField()
    detail = serializers.CharField()


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    events = serializers.IntegerField()
    head = serializers.DictField(
        child=serializers.CharField(), help_text="Each chain's last hash, by council id."
    )
    problems = ProblemSerializer(many=True)


@extend_schema(
    responses=VerifySerializer,
    parameters=[
        OpenApiParameter(
            "expect_head",
            str,
            many=True,
            required=False,
            pattern=ledger.HEAD_PATTERN,
            description="A head kept from the minutes or a result email, as SEQ:HASH "
            "(repeatable): the report fails unless a verified chain extends it.",
        )
    ],
)
@api_view(["GET"])
def audit_verify(request: Request) -> Response:
    """Re-check every chain the caller may see, and the stored votes against them."""
    from proposals.audit import parse_head, verify

    heads = []
    for text in request.query_params.getlist("expect_head"):
        try:
            heads.append(parse_head(text))
        except ValueError as exc:
            raise exceptions.ValidationError({"expect_head": [str(exc)]}) from exc
    councils = permissions.overseen_councils(request.user)
    ids = None if councils is None else list(councils.values_list("pk", flat=True))
    return Response(verify(ids, heads))
