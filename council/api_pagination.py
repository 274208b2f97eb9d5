"""API paging: ``count``, ``next``, ``previous``, ``results``; ``page_size`` bounded.

Its own module: DRF imports it while loading its settings, before the views exist.
"""

from rest_framework import pagination


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
