"""The back office's admin site: Django's, with the RGPD pages listed first in their section.

"Gestion RGPD" lists its pages alphabetically in Django ("Demandes d'export", "Demandes des personnes",
"Gestion - RGPD : …", "Journal RGPD"); the page the seed describes, where the officer starts, comes first.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from .populations import all_populations


class GdprAdminSite(admin.AdminSite):
    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        pages = {population.page.model._meta.object_name for population in all_populations()}
        for app in app_list:
            # A stable sort: the RGPD pages first, the others in Django's order.
            app["models"].sort(key=lambda model: model["object_name"] not in pages)
        return app_list


class GdprAdminConfig(AdminConfig):
    default_site = "rgpd.admin_site.GdprAdminSite"
