"""The decision register's filters, once: the API (lists and downloads), the register page
and the export command all read them with :class:`DecisionFilter`, so the three accept,
refuse and explain a filter the same way.

A filter that is absent filters nothing; one that is present must be well formed: an
empty value is as malformed as any other (the register page drops its form's empty
"any" before it asks). The council is not among them: each entry point names it its own
way, the API by ``?council=`` (:func:`council.api.common.scope`, with every list), the
page by its address, the command by ``--council``, repeatable.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.db.models import DateTimeField, F, Func, Value
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from council.api.fields import query_number

from .models import Proposal, Vote


def parse_moment(text: str) -> datetime.datetime | datetime.date | None:
    """An ISO 8601 date and time (aware, in UTC), or a date — a day, whose midnight is
    the council's own (:class:`LocalMidnight`); None if neither."""
    try:
        # A date first: Python's datetime.fromisoformat() reads a date alone as midnight.
        day = parse_date(text)
        if day is not None:
            return day
        moment = parse_datetime(text)
    except ValueError:
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    # In UTC: PostgreSQL refuses an offset beyond 15:59 that Python accepts (a 500 the
    # API fuzzing found); a moment that leaves the calendar in UTC is no moment.
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        return None


def parse_outcome(text: str) -> str | None:
    return text if text in Proposal.Outcome.values else None


def parse_unit_id(text: str) -> int | None:
    number = query_number(text)
    return number if number is not None and number >= 1 else None


class ParsedField(forms.Field):
    """A value read by ``parse`` (None: malformed, refused with the ``invalid`` message)."""

    def __init__(self, *, parse: Callable[[str], Any], invalid: str, **kwargs: Any) -> None:
        super().__init__(error_messages={"invalid": invalid}, **kwargs)
        self.parse = parse

    def to_python(self, value: Any) -> Any:
        if value is None:  # not asked for
            return None
        parsed = self.parse(str(value))
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class LocalMidnight(Func):
    """The first moment of ``day`` in the time zone named by the field ``zone`` (the
    council's): PostgreSQL's ``timezone(zone, timestamp)`` reads a wall-clock time there,
    daylight saving time included, row by row — so a filter across councils applies each
    council's own zone."""

    template = "timezone(%(expressions)s::timestamp)"
    output_field = DateTimeField()

    def __init__(self, zone: str, day: datetime.date) -> None:
        super().__init__(F(zone), Value(day.isoformat()))


class ParsedFilter(django_filters.Filter):
    """A filter on a :class:`ParsedField`; ``schema`` is its parameter in the OpenAPI
    schema (drf-spectacular reads it from here)."""

    field_class = ParsedField

    def __init__(self, *, schema: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # drf-spectacular types its decorator for callables; it only sets an attribute.
        extend_schema_field(schema)(self)  # type: ignore[type-var]


class CloseFilter(ParsedFilter):
    """A bound on the close time: a date and time as such; a date is a day of the
    decision's council, starting at its midnight in the council's time zone."""

    def filter(self, qs: Any, value: Any) -> Any:
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            value = LocalMidnight("proposal__council__time_zone", value)
        return super().filter(qs, value)


# What parse_moment() accepts, for the schema.
MOMENT = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]
}
MOMENT_INVALID = _("Use an ISO 8601 date, or date and time.")


class DecisionFilter(django_filters.FilterSet):
    """Closed votes (decisions) by outcome, proposer unit and close time.

    ``closed_after`` includes its moment, ``closed_before`` excludes it; a date is a day
    in the council's time zone (its midnight there: the days the register shows), a date
    and time without an offset is UTC.
    """

    outcome = ParsedFilter(
        label=_("Outcome"),
        parse=parse_outcome,
        invalid=_("Unknown outcome."),
        schema={"$ref": "#/components/schemas/OutcomeEnum"},
    )
    proposer_unit = ParsedFilter(
        field_name="proposal__proposer_unit",
        label=_("Proposer unit"),
        parse=parse_unit_id,
        invalid=_("A unit id is a number."),
        schema={"type": "integer", "minimum": 1},
    )
    closed_after = CloseFilter(
        field_name="closed_at",
        lookup_expr="gte",
        label=_("Closed on or after"),
        parse=parse_moment,
        invalid=MOMENT_INVALID,
        schema=MOMENT,
    )
    closed_before = CloseFilter(
        field_name="closed_at",
        lookup_expr="lt",
        label=_("Closed before"),
        parse=parse_moment,
        invalid=MOMENT_INVALID,
        schema=MOMENT,
    )

    class Meta:
        model = Vote
        fields: list[str] = []

    def refusals(self) -> list[tuple[str, str, str]]:
        """What is wrong, once validated: (parameter, its label, message) per error."""
        return [
            (name, str(self.form.fields[name].label), str(message))
            for name, messages in self.errors.items()
            for message in messages
        ]
