"""The GDPR audit log in the admin: read-only, ids and codes only (it holds no personal data)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import AuditEvent
from ..permissions import RgpdReadOnlyAdmin, holds_rgpd_right

AUDIT_FIELDS = ("at", "action", "outcome", "actor", "export_request", "subject_ids", "counts", "details")


@admin.register(AuditEvent)
class AuditEventAdmin(RgpdReadOnlyAdmin):
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
    list_filter = ["action", "outcome", "actor", "at"]
    # The officer looks a person up by their number; the log holds ids only, never names.
    search_fields = ["subject_ids"]
    search_help_text = _("Search by person number (e.g. 87).")
    list_select_related = ["actor", "export_request"]
    date_hierarchy = "at"
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS
    list_per_page = 100

    def has_rgpd_permission(self, request: HttpRequest, obj=None) -> bool:
        # Auditors may read the log without holding the right to export or anonymise.
        return holds_rgpd_right(request.user) or request.user.has_perm("rgpd.view_auditevent")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        term = search_term.strip().lstrip("n°").strip()
        if not term:
            return queryset, False
        if not term.isdigit():
            return queryset.none(), False
        # jsonb containment on the id list: a row naming this person among others matches.
        return queryset.filter(subject_ids__contains=[int(term)]), False

    @admin.display(description=_("people"))
    def subject_count(self, obj: AuditEvent) -> int:
        # A large request's row keeps its count, not its ids (subject_ids_omitted).
        if (obj.details or {}).get("subject_ids_omitted"):
            return int((obj.counts or {}).get("subjects", 0))
        return len(obj.subject_ids or [])
