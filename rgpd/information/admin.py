"""The page "Informations sur le traitement" in the "Gestion RGPD" section: one form, no list.

Django's model permissions guard it: ``rgpd.view_processinginformation`` shows the texts,
``rgpd.change_processinginformation`` edits them (administrators grant them, superusers hold them).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import SINGLETON_ID, ProcessingInformation


@admin.register(ProcessingInformation)
class ProcessingInformationAdmin(admin.ModelAdmin):
    fieldsets = (
        (
            None,
            {
                "description": _(
                    "The information Art. 15(1) GDPR requires besides the data. Every archive shows these "
                    "texts in its index.html, as they stand when the archive is built."
                ),
                "fields": ProcessingInformation.TEXT_FIELDS,
            },
        ),
        (_("Last change"), {"fields": ("updated_at", "updated_by")}),
    )
    readonly_fields = ("updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one sheet, created with its default texts when first opened

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        """The section's link opens the one sheet (a list of one row would only be a detour)."""
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # Django's 403
        ProcessingInformation.current()
        return HttpResponseRedirect(reverse("admin:rgpd_processinginformation_change", args=[SINGLETON_ID]))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        # The sheet exists from the first time anyone asks for it, whichever page they open first.
        if object_id == str(SINGLETON_ID):
            ProcessingInformation.current()
        return super().get_object(request, object_id, from_field)

    def save_model(self, request: HttpRequest, obj: ProcessingInformation, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def response_change(self, request: HttpRequest, obj: ProcessingInformation):
        # No list to go back to: stay on the sheet, with Django's "changed successfully" message.
        response = super().response_change(request, obj)
        if "_continue" not in request.POST and isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(request.path)
        return response
