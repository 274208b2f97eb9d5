"""The OpenAPI schema as clients generated from it need it.

drf-spectacular describes each operation's success from its serializers; this module
adds what it cannot see:

* the refusals, with their bodies and headers. They follow from the judging order —
  401 → 404 → 403 → 400 → 409 — and from the middleware (503 when the database is
  gone), so one schema class adds them to every operation that can give them, rather
  than an annotation per view;
* each operation's description (``council/api/operations.py``), and the token
  scheme's prefix;
* the ``?council=`` filter of every list (read by :func:`council.api.common.scope`,
  where the schema generator cannot see it);
* path ids routed as ``[0-9]+`` (a member unit in the ballot and attendance paths) are
  integers, as every other id;
* a response writes every field of its serializer: each is ``required`` (null when
  empty), so that a generated client does not make them all optional.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent, get_view_model
from drf_spectacular.utils import OpenApiParameter
from rest_framework.authentication import SessionAuthentication
from rest_framework.schemas.utils import get_pk_description

from council.errors import Code, Forbidden, Invalid, NotFound
from council.http.middleware import RETRY_AFTER_SECONDS, UNAVAILABLE_CODE

from .common import ID
from .operations import DESCRIPTIONS

COUNCIL_FILTER = OpenApiParameter(
    "council",
    {"type": "integer", "minimum": 0},
    OpenApiParameter.QUERY,
    description="Only what belongs to this council (by id).",
)

# Every code is a 409's but those of the other refusals (403, 404 and 400 from services).
CONFLICT_CODES = [
    str(code)
    for code in Code
    if code not in {Forbidden.default_code, NotFound.default_code, Invalid.default_code}
]

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _DETAIL,
    "ConflictCodeEnum": {"type": "string", "enum": CONFLICT_CODES},
    "Conflict": {
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "code": {"$ref": "#/components/schemas/ConflictCodeEnum"},
        },
        "required": ["detail", "code"],
    },
    # {"field": ["message"]}; a nested field (the rule set) nests its messages the same way.
    "ValidationErrors": {"type": "object", "additionalProperties": {}},
    "UnavailableCodeEnum": {"type": "string", "enum": [UNAVAILABLE_CODE]},
    "Unavailable": {
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "code": {"$ref": "#/components/schemas/UnavailableCodeEnum"},
        },
        "required": ["detail", "code"],
    },
}

_UNSAFE = {"post", "put", "patch", "delete"}
# GET .../tally/ of a vote that never opened is refused by the state, like an action.
_STATEFUL_READS = {"/api/v1/proposals/{id}/tally/"}


def _answer(
    component: str, description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{component}"}
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ref}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _retry_after(description: str, required: bool) -> dict[str, Any]:
    return {
        "Retry-After": {
            "description": description,
            "required": required,
            "schema": {"type": "integer", "minimum": 0},
        }
    }


def errors_for(
    path: str, method: str, operation: dict[str, Any], throttled: bool, csrf: bool
) -> dict[str, Any]:
    """The refusals an operation can answer with, by the judging order.

    ``csrf``: the operation reads a signed-in browser session, whose unsafe requests
    need their CSRF token (403 without it).
    """
    secured = any(requirement for requirement in operation.get("security", []))
    has_body = "requestBody" in operation
    has_parameters = bool(operation.get("parameters"))
    answers: dict[str, Any] = {}
    if has_body or has_parameters:
        answers["400"] = _answer("ValidationErrors", "Invalid input, per field.")
    # Every operation authenticates what it is sent, even one that needs no credentials.
    answers["401"] = _answer(
        "Error",
        "No credentials, or credentials that are not valid."
        if secured
        else "An Authorization header that is not valid (none is needed).",
    )
    if secured:
        answers["403"] = _answer("Error", "Authenticated, but not allowed.")
    elif csrf and method in _UNSAFE:
        answers["403"] = _answer("Error", "A signed-in session's request without its CSRF token.")
    # What an operation names — in its path, its query or a signed-in caller's body — may
    # be missing or not visible to the caller. The token endpoint looks nothing up.
    if has_parameters or (secured and has_body):
        answers["404"] = _answer("Error", "Not found, or not visible to the caller.")
    if secured and (method in _UNSAFE or path in _STATEFUL_READS):
        answers["409"] = _answer("Conflict", "The state forbids the action (see `code`).")
    if has_body:
        answers["415"] = _answer("Error", "The body's media type is not accepted (JSON only).")
    if throttled:
        answers["429"] = _answer(
            "Error",
            "Too many requests: try again after Retry-After.",
            _retry_after("Seconds to wait before trying again.", required=False),
        )
    answers["503"] = _answer(
        "Unavailable",
        "The database is briefly unavailable; nothing was written. Try again after Retry-After.",
        _retry_after(f"Seconds to wait ({RETRY_AFTER_SECONDS}).", required=True),
    )
    return answers


def _add_downloads(operation: dict[str, Any], downloads: dict[str, dict[str, Any]]) -> None:
    """A list that also downloads (``?format=csv``): its 200 has those media types too;
    a JSON download is one more shape the JSON answer may take."""
    content = operation["responses"]["200"].setdefault("content", {})
    for media_type, schema in downloads.items():
        if media_type in content:
            content[media_type]["schema"] = {"anyOf": [content[media_type]["schema"], schema]}
        else:
            content[media_type] = {"schema": schema}


def _integer_path_ids(operation: dict[str, Any], model: Any) -> None:
    """A path segment routed as ``[0-9]+`` is an id, read with ``int()``: say integer, as
    for every other id (drf-spectacular says "a string of digits"), and describe the
    object's own id as drf-spectacular does for an unconstrained one."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["schema"].get("pattern") == f"^{ID}$":
            parameter["schema"] = {"type": "integer"}
            if parameter["name"] == "id" and model is not None:
                parameter.setdefault("description", get_pk_description(model, model._meta.pk))


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus what the module's docstring lists."""

    # drf-spectacular's own signature, which already differs from DRF's.
    def get_description(self) -> str:  # type: ignore[override]
        description = DESCRIPTIONS.get(f"{self.method} {self.path}")
        if description is None:
            warn(f"{self.method} {self.path} has no description in council/api/operations.py")
            return ""
        return description

    def map_renderers(self, attribute: str) -> list[Any]:
        # text/csv is negotiable for the downloads (council/api/renderers.py), whose
        # operations state their CSV answers themselves; the other answers are JSON.
        return [r for r in super().map_renderers(attribute) if r not in ("text/csv", "csv")]

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if getattr(self.view, "action", None) == "list":
            parameters.append(COUNCIL_FILTER)
        return parameters

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        # drf-spectacular's own step (no public hook sets "required"): it marks only the
        # fields a request must send and the read-only ones.
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            schema["required"] = list(schema["properties"])
        return schema

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for name, schema in SCHEMAS.items():
            registry.register_on_missing(
                ResolvedComponent(name, ResolvedComponent.SCHEMA, schema=schema, object=name)
            )
        _integer_path_ids(operation, get_view_model(self.view, emit_warnings=False))
        downloads = getattr(self.view, "schema_downloads", None)
        if downloads and getattr(self.view, "action", None) == "list":
            _add_downloads(operation, downloads)
        throttled = bool(getattr(self.view, "throttle_classes", None))
        csrf = any(
            issubclass(authenticator, SessionAuthentication)
            for authenticator in getattr(self.view, "authentication_classes", [])
        )
        responses = operation.setdefault("responses", {})
        for code, answer in errors_for(path, method.lower(), operation, throttled, csrf).items():
            responses.setdefault(code, answer)
        return operation


class TokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <key>``, said where people and generated clients look.

    An API key in the Authorization header, not ``type: http``: OpenAPI's http schemes are
    the registered ones (basic, bearer), and the docs page's Authorize dialog refuses any
    other. So the prefix is said in words, where people and generated clients' docs show
    it.
    """

    target_class = "council.api.auth.TokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Authorization: Token <key>`: the word `Token`, one space, then the key "
                "that `POST /api/v1/auth/token/` returns. In the docs page's Authorize "
                "dialog, enter both: `Token <key>`. A generated client must be told this "
                "prefix (most default to `Bearer`)."
            ),
        }
