"""The API's one permission check, in the contract's order: 401 → 404 → 403.

DRF asks :class:`CouncilAccess` twice. Before the view runs (``has_permission``): no
credentials → 401 (the token scheme's ``WWW-Authenticate`` header makes DRF answer 401,
not 403). On the object the request acts on (``has_object_permission``, from
``get_object()`` or :meth:`CouncilScopedMixin.authorize`): a council the caller holds no
role in → 404, as if the object did not exist; then the view's :class:`Rule` for its
action, one of the :class:`~members.permissions.Access` predicates → 403 with the rule's
message. Input validation (400) and the services' state checks (409) come after, in the
view and the service.

The predicates themselves live on ``Access``: the services ask the same ones (and so
refuse whatever reaches them by another path), and the pages show only what they allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.http import Http404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from council.models import Council
from members import permissions
from members.models import MemberUnit


@dataclass(frozen=True)
class Subject:
    """What a request acts on: an object of one council and, where the action is a
    unit's (its ballot, its attendance, a proposal in its name), that unit."""

    obj: Any
    unit: MemberUnit | None = None
    unit_id: int | None = None  # a unit named by the body, not yet validated

    @property
    def council_id(self) -> int:
        return self.obj.pk if isinstance(self.obj, Council) else self.obj.council_id


@dataclass(frozen=True)
class Rule:
    """Who may take one action: an ``Access`` predicate, and what a refused caller reads."""

    allowed: Callable[[permissions.Access, Subject], bool]
    message: str


MANAGE = Rule(
    lambda access, _subject: access.can_manage, "Only the council's secretaries may do this."
)


class CouncilAccess(BasePermission):
    """Signed in (else 401); then, on the object, its council visible (else 404) and the
    action's rule met (else 403)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        rule: Rule | None = getattr(view, "rules", {}).get(getattr(view, "action", None))
        if rule is None and not isinstance(obj, Subject):
            # A read through get_object(): the view's queryset is already limited to the
            # councils the caller sees (scope()), which is the rule can_view states.
            return True
        subject = obj if isinstance(obj, Subject) else Subject(obj)
        access = permissions.access(request.user, subject.council_id)
        if not access.can_view:
            raise Http404  # another council's object: do not reveal that it exists
        view.access = access
        if rule is None or rule.allowed(access, subject):
            return True
        # DRF reads the refusal's message from the permission instance (one per request).
        self.message = rule.message
        return False


class CouncilScopedMixin:
    """For viewsets: ``rules`` maps an action to its :class:`Rule`; actions without one
    need only see the council. ``access`` is the caller's, once an object was checked."""

    rules: ClassVar[dict[str, Rule]] = {}
    access: permissions.Access

    def authorize(
        self, obj: Any, *, unit: MemberUnit | None = None, unit_id: int | None = None
    ) -> permissions.Access:
        """Check an object that the view found by itself (not through ``get_object()``):
        a body's reference, or a row looked up directly on the ballot's hot path."""
        # APIView's request and check, which calls has_object_permission and answers the
        # refusal; the mixin is only ever mixed into DRF views.
        view: Any = self
        view.check_object_permissions(view.request, Subject(obj, unit, unit_id))
        return self.access
