from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from .health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("contacts/", include("contacts.urls")),
    path("api/rgpd/", include("rgpd.api_urls")),
    path("healthz", healthz, name="healthz"),
]
