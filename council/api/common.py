"""What every API view shares: paging, the error mapping, and the judging order.

The API judges a request in this order: 401 (no credentials) → 404 (cannot see the
object) → 403 (may see, may not act) → 400 (invalid input) → 409 (the state forbids it).
Authentication and :class:`~council.api.permissions.CouncilAccess` give the 401, the
404 and the 403, before any serializer validates (400); services raise
:class:`~council.errors.Conflict` (409), mapped here in one place.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from council.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from council.http import security
from council.models import Basis, Council
from members import permissions

from .fields import query_number
from .permissions import CouncilScopedMixin

# An id in a path: ASCII digits only. DRF routes ``[^/.]+`` and the ORM casts with int(),
# and Python's ``\d`` and int() both read every script's digits (U+0667, U+FF15), so without
# this a path in Arabic-Indic or full-width digits named, and acted on, a real object.
ID = "[0-9]+"


class ListReadCreateViewSet(
    CouncilScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The shape of most of the API's resources: list, read one, create."""

    lookup_value_regex = ID


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Service refusals become the contract's JSON errors; the rest is DRF's. Refusals
    of who the caller is or what they may do (401, 403, 429) go to the security log."""
    response = _error_response(exc, context)
    if response is not None and response.status_code in (401, 403, 429):
        request = context.get("request")
        if request is not None:
            security.log_event(f"api_refused_{response.status_code}", request)
    return response


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Invalid):
        return Response(exc.errors, status=400)
    if isinstance(exc, Conflict):
        return Response({"detail": exc.message, "code": str(exc.code)}, status=409)
    if isinstance(exc, Forbidden):
        return Response({"detail": exc.message}, status=403)
    if isinstance(exc, NotFound):
        return Response({"detail": exc.message}, status=404)
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.message, "code": str(exc.code)}, status=exc.status)
    return drf_exception_handler(exc, context)


_QuerySet = TypeVar("_QuerySet", bound=QuerySet[Any])


def scope(
    queryset: _QuerySet,
    request: Request,
    council_field: str,
    councils: QuerySet[Council] | str | None = "visible",
) -> _QuerySet:
    """Limit a queryset to the caller's councils (or the ``councils`` given), and to
    ``?council=<id>`` if asked."""
    if councils == "visible":
        councils = permissions.visible_councils(request.user)
    if councils is not None:
        queryset = queryset.filter(**{f"{council_field}__in": councils})
    wanted = request.query_params.get("council")
    if wanted is not None:
        council_id = query_number(wanted)
        if council_id is None:
            raise exceptions.ValidationError({"council": ["A council id is a number."]})
        queryset = queryset.filter(**{council_field: council_id})
    return queryset


def referenced(model: type[Model], request: Request, field: str) -> Any:
    """The object a request body names by id (``{"meeting": 3}``): 400 if malformed or
    missing, 404 if there is none. The view then authorizes it (404 for a council the
    caller cannot see, 403 by the action's rule) before validating the rest."""
    raw = request.data.get(field) if hasattr(request.data, "get") else None
    if raw is None or raw == "":
        raise exceptions.ValidationError({field: ["This field is required."]})
    # A JSON integer, as the schema says: not "3", 3.0 or true (a Python int).
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise exceptions.ValidationError({field: ["A valid id is required."]})
    pk = raw
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


# The rule set's shape, for the schema only (RulesField reads and writes it); the names
# are the schema's components: Fraction, MajorityRule, RuleSet.
class FractionSerializer(serializers.Serializer):
    numerator = serializers.IntegerField(min_value=1)
    denominator = serializers.IntegerField(min_value=1)
    strict = serializers.BooleanField()


class MajorityRuleSerializer(FractionSerializer):
    basis = serializers.ChoiceField(choices=Basis.choices)


class VoteRuleSetSerializer(serializers.Serializer):
    """The rule one vote is decided by: the quorum and the majority of its kind."""

    quorum = FractionSerializer()
    majority = MajorityRuleSerializer()


class RuleSetSerializer(VoteRuleSetSerializer):
    """A council's rules: the ordinary rule set and the special resolution's majority."""

    special_majority = MajorityRuleSerializer(
        required=False,
        help_text="The special resolution's majority (default: at least 2/3 of members); "
        "its quorum is the ordinary one. Always present in answers.",
    )


@extend_schema_field(RuleSetSerializer)
class RulesField(serializers.Field):
    """The council's rule set in the contract's nested shape.

    Bound with ``source="*"``: it reads the whole council, and on input yields
    ``{"rules": RuleSet}`` for the serializer's validated data.
    """

    def to_representation(self, council: Council) -> dict[str, Any]:
        return council.rules_record()

    def to_internal_value(self, data: Any) -> Any:
        from proposals.rules import RuleError, RuleSet

        try:
            rules = RuleSet.from_dict(data)
            special = data.get("special_majority")
            if special is None:
                return {"rules": rules}
            # The special rule shares the ordinary quorum; only its majority differs.
            return {
                "rules": rules,
                "special": RuleSet.from_dict({"quorum": data["quorum"], "majority": special}),
            }
        except (RuleError, AttributeError) as exc:
            raise serializers.ValidationError(str(exc)) from exc


@extend_schema_field(VoteRuleSetSerializer)
class FrozenRulesField(serializers.JSONField):
    """The rule set a vote opened with, as it was frozen: the shape of a council's rules."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)
