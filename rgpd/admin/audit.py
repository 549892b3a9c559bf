"""The GDPR audit log in the admin: read-only, ids and codes only (it holds no personal data)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import RGPD_PERMISSION, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "action",
        "outcome",
        "actor",
        "export_request",
        "subject_count",
        "counts",
        "details",
    ]
    list_filter = ["action", "outcome", "at"]
    list_select_related = ["actor", "export_request"]
    date_hierarchy = "at"
    fields = ["at", "action", "outcome", "actor", "export_request", "subject_ids", "counts", "details"]
    readonly_fields = fields
    list_per_page = 100

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return user.is_active and (user.has_perm(RGPD_PERMISSION) or user.has_perm("rgpd.view_auditevent"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("people"))
    def subject_count(self, obj: AuditEvent) -> int:
        return len(obj.subject_ids or [])
