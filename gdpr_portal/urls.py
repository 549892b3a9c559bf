from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from rgpd.api.docs import api_docs, api_schema
from rgpd.api.errors import api_not_found
from rgpd.views.api_token import api_token_page

from .health import healthz

handler403 = "gdpr_portal.errors.permission_denied"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/api-token/", api_token_page, name="api-token"),
    path("admin/", admin.site.urls),
    path("contacts/", include("contacts.urls")),
    path("staff/", include("staff.urls")),
    path("api/rgpd/", include("rgpd.api_urls")),
    path("api/schema/", api_schema, name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    # Last under /api/: an unknown address answers the API's JSON error, not the back office's 404 page.
    # Only addresses ending in "/": one without it is first sent to its "/" form (APPEND_SLASH), as before.
    re_path(r"^api/(?:[\s\S]*/)?$", api_not_found),  # [\s\S]: a newline in an address is caught too
    path("healthz", healthz, name="healthz"),
]
