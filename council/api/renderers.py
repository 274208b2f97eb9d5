"""``Accept: text/csv`` for the views that download CSV.

The downloads stream their CSV themselves (a :class:`StreamingHttpResponse`, not a
``Response``): this renderer is there so that content negotiation accepts a client that
asks for ``text/csv`` (without it DRF answers 406). A refusal (400, 403, 404, ...) is
still a DRF ``Response``; :class:`CsvDownloads` renders it as JSON, the API's error body,
whatever the client asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        # Only reached by a view that answers a plain Response to a text/csv client;
        # CsvDownloads turns those into JSON before they are rendered.
        return JSONRenderer().render(data, "application/json", renderer_context)


def with_csv() -> list[type[BaseRenderer]]:
    """The API's renderers (its settings') and text/csv: a download view's."""
    # api_settings imports the setting's dotted paths: classes, typed as their strings.
    defaults: list[type[BaseRenderer]] = list(api_settings.DEFAULT_RENDERER_CLASSES)  # type: ignore[arg-type]
    return [*defaults, CSVRenderer]


def wants_csv(request: Request) -> bool:
    """The client asked for CSV by its Accept header (negotiation picked text/csv)."""
    return isinstance(getattr(request, "accepted_renderer", None), CSVRenderer)


class CsvDownloads:
    """A view mixin: ``text/csv`` is negotiable; a Response answered to a client that asked
    for it (a refusal) goes out as JSON."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and wants_csv(request):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
