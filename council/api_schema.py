"""The error answers of spec/api.md, written into the OpenAPI schema.

drf-spectacular documents only the success of each operation; a client (and the API
fuzzing in tests/test_schemathesis.py) must also know the refusals and their bodies. They
follow from the judging order — 401 → 404 → 403 → 400 → 409 — so one schema class
adds them to every operation that can give them, rather than an annotation per view.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _DETAIL,
    "Conflict": {
        "type": "object",
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "required": ["detail", "code"],
    },
    # {"field": ["message"]}; a nested field (the rule set) nests its messages the same way.
    "ValidationErrors": {"type": "object", "additionalProperties": {}},
}

_UNSAFE = {"post", "put", "patch", "delete"}
# GET .../tally/ of a vote that never opened is refused by the state, like an action.
_STATEFUL_READS = {"/api/v1/proposals/{id}/tally/"}


def _answer(component: str, description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{component}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def errors_for(path: str, method: str, operation: dict[str, Any], throttled: bool) -> dict:
    """The refusals an operation can answer with, by the judging order."""
    secured = any(requirement for requirement in operation.get("security", []))
    has_body = "requestBody" in operation
    answers: dict[str, Any] = {}
    if has_body or operation.get("parameters"):
        answers["400"] = _answer("ValidationErrors", "Invalid input, per field.")
    if secured:
        answers["401"] = _answer("Error", "No credentials.")
        answers["403"] = _answer("Error", "Authenticated, but not allowed.")
    answers["404"] = _answer("Error", "Not found, or not visible to the caller.")
    if secured and (method in _UNSAFE or path in _STATEFUL_READS):
        answers["409"] = _answer("Conflict", "The state forbids the action (see `code`).")
    if has_body:
        answers["415"] = _answer("Error", "The body's media type is not accepted.")
    if throttled:
        answers["429"] = _answer("Error", "Too many requests: try again after Retry-After.")
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


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus each operation's refusals."""

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
        downloads = getattr(self.view, "schema_downloads", None)
        if downloads and method.upper() == "GET":
            _add_downloads(operation, downloads)
        throttled = bool(getattr(self.view, "throttle_classes", None))
        responses = operation.setdefault("responses", {})
        for code, answer in errors_for(path, method.lower(), operation, throttled).items():
            responses.setdefault(code, answer)
        return operation
