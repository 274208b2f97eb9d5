"""Template filters that put results and lines into words (via proposals/explain.py)."""

from __future__ import annotations

from typing import Any

from django import template

from proposals import explain, rules

register = template.Library()


@register.filter
def explanation(result: rules.Result) -> list[str]:
    return explain.explain(result)


@register.filter
def live_explanation(result: rules.Result) -> list[str]:
    return explain.explain(result, live=True)


@register.filter
def live_outcome(value: rules.Outcome | str) -> str:
    return explain.outcome_word(value, live=True)


@register.filter
def attendance(line: rules.Line) -> str:
    return explain.attendance_sentence(line)


@register.filter
def outcome(value: rules.Outcome | str) -> str:
    return explain.outcome_word(value)


@register.filter
def reading(result: rules.Result, basis: str) -> str:
    """ "of units present (15)" for one of the three readings."""
    b = rules.Basis(basis)
    return explain.basis_phrase(b, result.majorities[b].total)


@register.filter
def percent(part: int, whole: int) -> int:
    """Bar widths: integer percent, 0 when there is no whole."""
    return round(100 * part / whole) if whole else 0


@register.filter
def get_item(mapping: dict[Any, Any], key: object) -> object:
    return mapping.get(key)


@register.filter
def make_list_words(value: str) -> list[str]:
    return value.split()


@register.filter
def last_closed(proposals: list[Any]) -> object:
    """The most recently closed proposal of an agenda, for the projector between votes."""
    closed = [p for p in proposals if p.status == "closed" and p.closed_at]
    return max(closed, key=lambda p: p.closed_at) if closed else None


@register.filter
def time_left(deadline: Any) -> str:
    """What remains until a deadline, to the second: "1:05:09", "4:59", "0:00" once
    passed (the projector shows it, refreshed every second)."""
    import datetime

    from django.utils import timezone

    if not isinstance(deadline, datetime.datetime):
        return ""
    seconds = max(0, int((deadline - timezone.now()).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"
