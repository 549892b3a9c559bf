"""The RGPD page ("Gestion - RGPD : Contacts Clients"): the contacts, with the seed's actions on each row.

Visible and usable only with the right "RGPD Contacts Clients" (``RGPD_PERMISSION``), held through a
security group. Read-only: nobody adds, changes or deletes contacts here.

Extension points for the export and anonymisation features:

- ``RgpdContactAdmin.row_actions(obj)`` returns the icons of a row as ``RowAction``\\ s; append yours
  (box "Exporter les données", detective "Anonymiser les données") by extending that method. A
  ``RowAction`` with ``enabled=False`` is rendered as a non-link carrying ``reason`` as its tooltip.
- ``RgpdContactAdmin.actions`` is a list: add bulk admin actions to it
  (``@admin.action(permissions=["rgpd"])`` is checked by ``has_rgpd_permission``).
- ``RgpdContactAdmin.list_fields`` lists the columns loaded from the database (``only()``): add the
  fields your icons need there, or annotate in ``get_queryset``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from contacts.admin import AnonymisedListFilter
from rgpd.admin.anonymisations import annotate_for_anonymisation, anonymise_row_action, anonymise_selected
from rgpd.admin.exports import export_row_action, export_selected
from rgpd.admin.pagination import LargeTablePaginator, set_full_result_count
from rgpd.models import RgpdContact
from rgpd.permissions import RgpdReadOnlyAdmin


@dataclass(frozen=True)
class RowAction:
    """One icon of a row of the RGPD page."""

    url: str
    label: str  # accessible name: the link's title and aria-label
    icon: str  # static path, e.g. "rgpd/icons/box.svg"
    enabled: bool = True
    reason: str = ""  # why the action is disabled (tooltip), when enabled is False

    def render(self) -> SafeString:
        image = format_html(
            '<img src="{}" alt="" width="20" height="20" class="rgpd-row-action__icon">', static(self.icon)
        )
        if self.enabled:
            return format_html(
                '<a href="{}" class="rgpd-row-action" title="{}" aria-label="{}">{}</a>',
                self.url,
                self.label,
                self.label,
                image,
            )
        reason = self.reason or self.label
        return format_html(
            '<span class="rgpd-row-action rgpd-row-action--disabled" role="link" aria-disabled="true"'
            ' aria-label="{}" aria-description="{}" title="{}">{}</span>',
            self.label,
            reason,
            reason,
            image,
        )


@admin.register(RgpdContact)
class RgpdContactAdmin(RgpdReadOnlyAdmin):
    # The row's icons come first, so they stay in view on narrow screens (the table scrolls sideways).
    list_display = ["row_actions_column", "name", "email", "phone", "city", "anonymised"]
    list_display_links = None
    # Prefix search on the last name uses the name index; the other fields match anywhere.
    search_fields = ["^last_name", "first_name", "email", "phone"]
    list_filter = [AnonymisedListFilter]
    list_per_page = 50
    list_max_show_all = 500
    ordering = ["last_name", "first_name", "id"]
    # Estimated counts above 100,000 contacts and deferred-join pages, the same number of queries at any
    # size (see rgpd/admin/pagination.py).
    paginator = LargeTablePaginator
    # Bulk actions ("Exporter les données >>", "Rendre anonyme les données >>"): added by their features.
    actions: list = [export_selected, anonymise_selected]
    # Columns loaded for the list; the page makes a constant number of queries whatever its size.
    list_fields: list[str] = ["id", "first_name", "last_name", "email", "phone", "city", "anonymised_at"]

    class Media:
        css = {"all": ["rgpd/css/rgpd.css"]}

    # Django's "N total" is an extra COUNT(*) of the whole table on every view: it is set instead from one
    # count that is estimated on a large table, which then shows "Show all" (get_changelist_instance).
    show_full_result_count = False

    # --- The list -------------------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[RgpdContact]:
        queryset = super().get_queryset(request).only(*self.list_fields)
        # The detective icon's state, in the list's own query (no query per row).
        return annotate_for_anonymisation(queryset)

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        if isinstance(changelist.paginator, LargeTablePaginator):
            set_full_result_count(changelist)
        return changelist

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The seed's page name, not Django's "Select client contact (GDPR) to view".
        # "contacts" in the action bar ("Sélectionner tous les 52 contacts"), not the page's name.
        context = {
            "title": RgpdContact._meta.verbose_name_plural,
            "module_name": _("contacts"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    @admin.display(description=_("name"), ordering="last_name")
    def name(self, obj: RgpdContact) -> str:
        return f"{obj.last_name} {obj.first_name}".strip()

    @admin.display(description=_("anonymised"), boolean=True, ordering="anonymised_at")
    def anonymised(self, obj: RgpdContact) -> bool:
        return obj.anonymised_at is not None

    def row_actions(self, obj: RgpdContact) -> list[RowAction]:
        """The icons of one row, in the seed's order: loupe+, box, detective."""
        return [
            RowAction(
                url=reverse("contacts:record", args=[obj.pk]),
                label=_("Open the contact's record"),
                icon="rgpd/icons/loupe-plus.svg",
            ),
            export_row_action(obj),
            anonymise_row_action(obj),
        ]

    @admin.display(description=_("Actions"))
    def row_actions_column(self, obj: RgpdContact) -> SafeString:
        return format_html(
            '<span class="rgpd-row-actions">{}</span>',
            format_html_join("", "{}", ((action.render(),) for action in self.row_actions(obj))),
        )

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        # The contact's record is the one detail page; this page has no form of its own.
        if not (self.has_view_permission(request) and str(object_id).isdigit()):
            return super().change_view(request, object_id, form_url, extra_context)
        return HttpResponseRedirect(reverse("contacts:record", args=[object_id]))
