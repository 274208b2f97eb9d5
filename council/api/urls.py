"""The REST API's routes, its OpenAPI schema and its offline docs page."""

from typing import Any

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.routers import DefaultRouter

from council.http.handlers import api_not_found
from members.api import RoleViewSet, UnitViewSet
from proposals.api import DecisionViewSet, ProposalViewSet

from . import views as api


class SchemaNegotiation(DefaultContentNegotiation):
    """``?format=json`` or ``?format=yaml`` picks the schema's encoding.

    The API turns DRF's URL format override off (there ``?format=`` switches the decision
    register's downloads), so the schema view reads the parameter itself.
    """

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        wanted = format_suffix or request.query_params.get("format")
        return super().select_renderer(request, renderers, wanted)


# Namespaced: the router's names (proposal-close, meeting-start, ...) would otherwise
# shadow the pages' URL names of the same words.
app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.register("councils", api.CouncilViewSet, basename="council")
router.register("roles", RoleViewSet, basename="role")
router.register("units", UnitViewSet, basename="unit")
router.register("meetings", api.MeetingViewSet, basename="meeting")
router.register("proposals", ProposalViewSet, basename="proposal")
router.register("decisions", DecisionViewSet, basename="decision")
router.register("audit/events", api.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("v1/auth/token/", api.obtain_token, name="token"),
    path("v1/me/", api.me, name="me"),
    path("v1/audit/verify/", api.audit_verify, name="audit-verify"),
    path("v1/", include(router.urls)),
    # ?format=json or ?format=yaml (YAML by default; or by the Accept header).
    path(
        "schema/",
        SpectacularAPIView.as_view(content_negotiation_class=SchemaNegotiation),
        name="schema",
    ),
    # Split: the page loads its start-up script from ?script, as the CSP allows no inline one.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Unknown API paths answer in JSON too, with DEBUG on or off.
    re_path(r"^.*$", api_not_found),
]
