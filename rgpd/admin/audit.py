"""The GDPR audit log in the admin: read-only, ids and codes only (it holds no personal data)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import AuditEvent
from ..permissions import RgpdReadOnlyAdmin, holds_rgpd_right

# French labels for the log's machine keys (the rows keep stable English keys; the officer reads labels).
DETAIL_LABELS = {
    "part": _("part"),
    "parts": _("parts"),
    "attempt": _("attempt"),
    "error": _("error"),
    "channel": _("channel"),
    "request": _("request"),
    "source": _("source"),
    "reason": _("reason"),
    "contact": _("person"),
    "kind": _("kind"),
    "correspondence": _("correspondence"),
    "anonymisation_event": _("anonymisation event"),
    "storage_check": _("storage check"),
    "subject_ids_omitted": _("ids not listed (large request)"),
    "recorded_by": _("recorded by"),
    "subjects": _("people"),
    "files": _("files"),
    "fields": _("fields"),
    "rows_checked": _("rows checked"),
    "values_checked": _("values checked"),
    "related_rows_deleted": _("related rows deleted"),
    "history_entries_rewritten": _("history entries rewritten"),
    "check": _("check after anonymisation"),
    "database_check": _("database check"),
    "tombstone": _("restore marker"),
    "population": _("population"),
    "anonymised_at": _("anonymised at"),
}
# The codes the log stores as values, as the officer reads them.
VALUE_LABELS = {
    "passed": _("passed"),
    "pending": _("pending"),
    "failed": _("failed"),
    "written": _("written"),
    "row": _("row icon"),
    "bulk": _("bulk action"),
}


def _value(value: object) -> object:
    return VALUE_LABELS.get(value, value) if isinstance(value, str) else value


def labelled(values: dict | None) -> str:
    """'part: 1 ; parts: 3' with translated labels, instead of raw JSON with English keys."""
    return " ; ".join(
        f"{DETAIL_LABELS.get(key, key)} : {_value(value)}" for key, value in (values or {}).items()
    )


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
        "counts_text",
        "details_text",
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

    @admin.display(description=_("counts"))
    def counts_text(self, obj: AuditEvent) -> str:
        return labelled(obj.counts)

    @admin.display(description=_("details"))
    def details_text(self, obj: AuditEvent) -> str:
        return labelled(obj.details)
