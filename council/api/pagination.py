"""API paging: ``count``, ``next``, ``previous``, ``results``; ``page_size`` bounded.

Its own module: DRF imports it while loading its settings, before the views exist.
"""

from typing import Any

from rest_framework import exceptions, pagination

from .fields import query_number


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Any) -> int:
        # DRF quietly falls back to the default on a malformed size; a client that asked
        # for something else should hear that it was not understood (400).
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = query_number(raw)
        if size is None or size < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["A page size is a whole number from 1."]}
            )
        return min(size, self.max_page_size)

    def get_page_number(self, request: Any, paginator: Any) -> int:
        # DRF reads an empty ?page= as page 1; like a malformed size, it is a 400.
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        number = query_number(raw)
        if number is None or number < 1:
            raise exceptions.ValidationError(
                {self.page_query_param: ["A page number is a whole number from 1."]}
            )
        return number

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        # next and previous are always there, null at either end.
        paginated["required"] = list(paginated["properties"])
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
