"""Typed refusals raised by services.

Every service refuses by raising one of these before it writes anything (or inside its
transaction, which then rolls back). Views, the API, commands and tasks map them to a
response in one place each; the ``code`` strings are part of the API contract.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # 409: the state forbids the action; the codes are part of the API's contract.
    VOTE_NOT_OPEN = "vote_not_open"
    VOTE_CLOSED = "vote_closed"
    VOTE_OPEN = "vote_open"
    NO_QUORUM = "no_quorum"
    NOT_IN_SESSION = "not_in_session"
    NOT_SCHEDULED = "not_scheduled"
    NOT_DRAFT = "not_draft"
    UNIT_NOT_PRESENT = "unit_not_present"
    NOT_ELIGIBLE = "not_eligible"
    MEETING_ADJOURNED = "meeting_adjourned"
    NOT_ADJOURNED = "not_adjourned"
    DRAFT_LIMIT = "draft_limit"
    LAST_SECRETARY = "last_secretary"  # revoking it would leave the council run by nobody
    # Other refusals.
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID = "invalid"


class ServiceError(Exception):
    """Base class; ``status`` is the HTTP status the refusal maps to."""

    status = 400
    default_code = Code.INVALID

    def __init__(self, message: str, *, code: Code | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class Conflict(ServiceError):
    """The object's state forbids the action (HTTP 409)."""

    status = 409


class Forbidden(ServiceError):
    """The actor may see the object but may not do this (HTTP 403)."""

    status = 403
    default_code = Code.FORBIDDEN


class NotFound(ServiceError):
    """The object does not exist for this actor (HTTP 404; never reveal existence)."""

    status = 404
    default_code = Code.NOT_FOUND


class Invalid(ServiceError):
    """Bad input (HTTP 400), with messages per field: ``{"field": ["message"]}``."""

    status = 400
    default_code = Code.INVALID

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def check_model(instance: object, *, exclude: list[str] | None = None) -> None:
    """Run a model's field and constraint validation, raising :class:`Invalid`.

    The database enforces the same constraints; this only turns bad input into a clear
    per-field message before anything is written.
    """
    from django.core.exceptions import ValidationError

    try:
        instance.full_clean(exclude=exclude)  # type: ignore[attr-defined]
    except ValidationError as exc:
        # Django's "__all__" (errors of several fields together) is DRF's non_field_errors.
        raise Invalid(
            {
                ("non_field_errors" if k == "__all__" else k): [str(m) for m in v]
                for k, v in exc.message_dict.items()
            }
        ) from exc
