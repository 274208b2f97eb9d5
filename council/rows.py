"""Model instances from hand-written SQL, for the few statements on the ballot's path.

Every ballot runs the same handful of single-row reads. Through the ORM each costs more
Python time building its SQL than PostgreSQL spends answering it, and casting is bound
by that CPU (docs/performance.md). These helpers keep the models — instances built the
way the ORM builds them, field converters included — and skip only the query building.
Use them where a profile says so; everywhere else the ORM reads better.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


@functools.lru_cache(maxsize=64)
def columns(model: type[models.Model], alias: str) -> str:
    """The model's columns as ``alias."column", ...``, in the order :func:`build` reads."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    return len(model._meta.concrete_fields)


@functools.lru_cache(maxsize=64)
def _plan(model: type[models.Model]) -> tuple[list[str], list[tuple[int, Any]]]:
    """The attribute names, and which positions need which converter (JSON fields)."""
    fields = model._meta.concrete_fields
    converters = [
        (i, converter)
        for i, field in enumerate(fields)
        # Field.get_db_converters is public Django API that the stubs leave out.
        for converter in field.get_db_converters(connection)  # type: ignore[attr-defined]
    ]
    return [f.attname for f in fields], converters


def build(model: type[M], values: Sequence[Any]) -> M:
    """An instance from a row slice selected with :func:`columns`."""
    names, converters = _plan(model)
    values = list(values)
    for i, converter in converters:
        values[i] = converter(values[i], None, connection)
    return model.from_db(connection.alias, names, values)


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
