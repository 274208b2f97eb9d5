"""Serializer fields that take JSON's types as the schema states them.

DRF is lenient by default: ``"title": 0`` becomes ``"0"``, ``"present": "yes"`` or ``0``
a boolean, ``"council": "3"`` or ``3.0`` an id. The API is a JSON contract and the
OpenAPI schema says "string", "boolean", "integer": a request with another type is a
client's mistake, answered with a 400 that names the field, never guessed at. The
messages are DRF's own (translated with it).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404
from rest_framework import serializers


def is_whole_number(value: Any) -> bool:
    """An integer in JSON: not a boolean (a Python int), a float or a numeric string."""
    return isinstance(value, int) and not isinstance(value, bool)


def query_number(text: str) -> int | None:
    """A whole number written in a query parameter, or None. ASCII digits only:
    ``str.isdigit()`` also accepts "²", which ``int()`` refuses."""
    return int(text) if text.isascii() and text.isdigit() else None


def path_id(text: str) -> int:
    """An id taken from the URL path: ASCII digits within a bigint, else 404 (the router
    matches any segment; an Arabic-Indic or full-width 7 must not alias the row 7)."""
    number = query_number(text)
    if number is None or number >= 2**63:
        raise Http404
    return number


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(
                serializers.CharField.default_error_messages["invalid"], code="invalid"
            )
        return super().to_internal_value(data)


class StrictSlugField(serializers.SlugField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(
                serializers.CharField.default_error_messages["invalid"], code="invalid"
            )
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if not is_whole_number(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    def to_internal_value(self, data: Any) -> Any:
        if not is_whole_number(data):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose fields refuse the wrong JSON type (400)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
    }
    serializer_related_field = StrictPrimaryKeyRelatedField
