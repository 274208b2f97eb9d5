"""REST API for member units and roles."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from council.api.common import ID, ListReadCreateViewSet, referenced, scope
from council.api.fields import StrictCharField, StrictModelSerializer
from council.api.permissions import MANAGE, CouncilScopedMixin
from council.models import Council

from . import permissions, queries, services
from .models import MemberUnit, Role


class UnitSerializer(StrictModelSerializer):
    class Meta:
        model = MemberUnit
        fields = ["id", "council", "name", "short_name", "voting", "label", "joined_on", "left_on"]
        # Uniqueness is the service's to check (a clear 400 from the model's validation).
        validators: list[Any] = []


class UnitViewSet(ListReadCreateViewSet):
    serializer_class = UnitSerializer
    rules = {"create": MANAGE}

    def get_queryset(self) -> Any:
        return scope(
            MemberUnit.objects.order_by("council_id", "short_name"), self.request, "council"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        council = referenced(Council, request, "council")
        self.authorize(council)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != "council"}
        unit = services.create_unit(actor=request.user, council=council, **data)
        return Response(self.get_serializer(unit).data, status=201)


class RoleSerializer(StrictModelSerializer):
    username = StrictCharField(source="user.username", max_length=150)

    class Meta:
        model = Role
        fields = ["id", "username", "council", "role", "unit"]
        validators: list[Any] = []


class RoleViewSet(
    CouncilScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Secretaries and auditors see their council's roles; everyone sees their own."""

    lookup_value_regex = ID
    serializer_class = RoleSerializer
    rules = {"create": MANAGE, "destroy": MANAGE}

    def get_queryset(self) -> Any:
        queryset = Role.objects.select_related("user").order_by("council_id", "role", "id")
        overseen = permissions.overseen_councils(self.request.user)
        if overseen is not None:
            queryset = queryset.filter(Q(council__in=overseen) | Q(user_id=self.request.user.pk))
        return scope(queryset, self.request, "council")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        council = referenced(Council, request, "council")
        self.authorize(council)
        serializer = self.get_serializer(data=request.data)
        # Only this council's units are valid: another council's unit gets the same
        # answer as a missing one (no existence oracle).
        # The stubs know get_serializer() as a BaseSerializer and its fields as Fields.
        serializer.fields["unit"].queryset = MemberUnit.objects.filter(council=council)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = queries.user_by_username(data["user"]["username"])
        role = services.grant_role(
            actor=request.user, user=user, council=council, role=data["role"], unit=data.get("unit")
        )
        return Response(self.get_serializer(role).data, status=201)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.revoke_role(actor=request.user, role=self.get_object())
        return Response(status=204)
