"""The API's one request parser: JSON, with a bound on how deeply it may nest.

Python's JSON decoder recurses once per level of nesting, so a body of a thousand ``[``
exhausts the interpreter's stack (a RecursionError, a 500) before any view, any
authentication or any serializer can refuse it. No request the API accepts nests more than
a few levels (a council with its rule set is the deepest, at three), so the parser measures the
depth first, without recursing, and refuses anything deeper than ``MAX_DEPTH`` as the
malformed body it is: a 400 like any other JSON parse error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

MAX_DEPTH = 32

# A JSON string (its escapes included), written so the engine never backtracks into it.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``: brackets inside strings don't count.

    An unterminated string leaves its brackets counted; such a body is malformed anyway.
    """
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if nesting_depth(text) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        try:
            # DRF's loads: NaN and Infinity are refused, as its own parser refuses them.
            return json.loads(text)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
