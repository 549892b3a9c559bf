"""The list endpoints' pages: ``?limit=&offset=`` (DRF's LimitOffsetPagination), with bounds."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

from gdpr_portal.ids import MAX_DATABASE_ID


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500

    def get_offset(self, request: Request) -> int:
        # Past a 64-bit number the database refuses the OFFSET (a 500): no page is that far anyway.
        return min(super().get_offset(request), MAX_DATABASE_ID)
