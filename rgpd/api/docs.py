"""The API's OpenAPI schema (``/api/schema/``, YAML or ``?format=json``) and Swagger UI (``/api/docs/``).

The schema answers back-office users (session or token); the docs page is for logged-in staff and is
served from our own static files (drf-spectacular-sidecar): the browser asks no other host, and the
page's script is a separate file, as the Content-Security-Policy (no inline script or style) requires.
"""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_update
from django.contrib.admin.views.decorators import staff_member_required
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import BasePermission

from gdpr_portal.access import is_back_office_user


class IsBackOfficeUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_back_office_user(request.user)


api_schema = SpectacularAPIView.as_view(permission_classes=[IsBackOfficeUser])
# Swagger UI draws its icons as inline SVG images (data: URLs): allowed on this page only, no script.
api_docs = csp_update({"img-src": [SELF, "data:"]})(
    staff_member_required(
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema",
            template_name="rgpd/api_docs.html",
            permission_classes=[IsBackOfficeUser],
        )
    )
)
