"""The RGPD pages ("Gestion - RGPD : Contacts Clients", …): one per declared population, the people
with the seed's actions on each row.

Built from the population's declaration (``rgpd/populations.py``): its proxy model, columns, search,
filters and record link. Visible and usable only with that population's right, held through a
security group. Read-only: nobody adds, changes or deletes people here.

Extension points:

- ``RgpdPageAdmin.row_actions(obj)`` returns the icons of a row as ``RowAction``\\ s (record, box
  "Exporter les données", detective "Anonymiser les données"). A ``RowAction`` with ``enabled=False``
  is rendered as a non-link carrying ``reason`` as its tooltip.
- ``RgpdPageAdmin.actions`` is a list of bulk admin actions
  (``@admin.action(permissions=["rgpd"])`` is checked by ``has_rgpd_permission``).
- The population's ``RgpdPage.list_fields`` lists the columns loaded from the database (``only()``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from rgpd.admin.anonymisations import annotate_for_anonymisation, anonymise_row_action, anonymise_selected
from rgpd.admin.exports import export_row_action, export_selected
from rgpd.admin.pagination import LargeTablePaginator, set_full_result_count
from rgpd.admin.row_actions import RowAction
from rgpd.filters import ANONYMISED_AT_FIELD, ArchiveListFilter
from rgpd.permissions import RgpdReadOnlyAdmin, holds_rgpd_right
from rgpd.populations import Population, all_populations
from rgpd.retention import RetentionListFilter
from rgpd.selectors import annotate_export_status

RECORD_ICON = "rgpd/icons/loupe-plus.svg"


class RgpdPageAdmin(RgpdReadOnlyAdmin):
    """The RGPD page of one population (``population``, set by ``page_admin_class``)."""

    population: ClassVar[Population]
    list_display_links = None
    list_per_page = 50
    list_max_show_all = 500
    # Estimated counts above 100,000 people and deferred-join pages, the same number of queries at any
    # size (see rgpd/admin/pagination.py).
    paginator = LargeTablePaginator
    # Bulk actions ("Exporter les données >>", "Rendre anonyme les données >>").
    actions: list = [export_selected, anonymise_selected]
    # Django's "N total" is an extra COUNT(*) of the whole table on every view: it is set instead from one
    # count that is estimated on a large table, which then shows "Show all" (get_changelist_instance).
    show_full_result_count = False

    class Media:
        css = {"all": ["rgpd/css/rgpd.css"]}

    def has_rgpd_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return holds_rgpd_right(request.user, self.population)

    def required_right(self) -> str:
        return self.population.permission_label

    # --- The list -------------------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Columns loaded for the list; the page makes a constant number of queries whatever its size.
        queryset = super().get_queryset(request).only(*self.population.page.list_fields)
        # The detective icon's state and the archive's status, in the list's own query (no query per row).
        return annotate_export_status(annotate_for_anonymisation(queryset))

    def get_list_display(self, request: HttpRequest) -> Any:
        # The row icons carry the list's search, filters and page, so that "No, take me back" on their
        # confirmation returns to this very list (Django's own "_changelist_filters").
        list_query = request.GET.urlencode()

        @admin.display(description=_("Actions"))
        def row_actions_column(obj: Any) -> SafeString:
            return self.row_actions_html(obj, list_query)

        return [row_actions_column, *self.list_display[1:]]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        if isinstance(changelist.paginator, LargeTablePaginator):
            set_full_result_count(changelist)
        return changelist

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # The seed's page name, not Django's "Select client contact (GDPR) to view"; the people in the
        # action bar ("Sélectionner tous les 52 contacts"), not the page's name.
        context = {
            "title": self.population.page.model._meta.verbose_name_plural,
            "module_name": self.population.page.module_name,
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    @admin.display(description=_("anonymised"), boolean=True, ordering=ANONYMISED_AT_FIELD)
    def anonymised(self, obj: Any) -> bool:
        return getattr(obj, ANONYMISED_AT_FIELD) is not None

    @admin.display(description=_("anonymised on"), ordering=ANONYMISED_AT_FIELD)
    def anonymised_on(self, obj: Any) -> str:
        anonymised_at = getattr(obj, ANONYMISED_AT_FIELD)
        return date_format(timezone.localtime(anonymised_at), "SHORT_DATE_FORMAT") if anonymised_at else "—"

    # Not sortable: sorting a million people by a per-person subquery would read them all.
    @admin.display(description=_("last export"))
    def last_export(self, obj: Any) -> str:
        """The latest export's date, and where its archive stands: ready until …, expired, in progress."""
        if obj.last_export_at is None:
            return "—"
        day = date_format(timezone.localtime(obj.last_export_at), "SHORT_DATE_FORMAT")
        if obj.ready_until is not None:
            until = date_format(timezone.localtime(obj.ready_until), "SHORT_DATE_FORMAT")
            state, css = str(_("ready until %(date)s") % {"date": until}), "ready"
        elif obj.has_export_in_progress:
            state, css = str(_("being generated")), "running"
        elif obj.has_expired_archive:
            state, css = str(_("expired")), "expired"
        else:
            state, css = str(_("failed")), "failed"
        return format_html(
            '{}<br><span class="rgpd-archive-state rgpd-archive-state--{}">{}</span>', day, css, state
        )

    def row_actions(self, obj: Any) -> list[RowAction]:
        """The icons of one row, in the seed's order: loupe+, box, detective."""
        actions = []
        if self.population.page.record_url_name:
            actions.append(
                RowAction(
                    url=self.population.record_url(obj.pk),
                    label=self.population.page.record_label,
                    icon=RECORD_ICON,
                )
            )
        return [*actions, export_row_action(self.population, obj), anonymise_row_action(self.population, obj)]

    @admin.display(description=_("Actions"))
    def row_actions_column(self, obj: Any) -> SafeString:
        return self.row_actions_html(obj, "")

    def row_actions_html(self, obj: Any, list_query: str) -> SafeString:
        actions = (action.with_list_query(list_query).render() for action in self.row_actions(obj))
        return format_html(
            '<span class="rgpd-row-actions">{}</span>', format_html_join("", "{}", ((a,) for a in actions))
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        # The person's record is the one detail page; this page has no form of its own.
        record = self.population.page.record_url_name
        if not (record and self.has_view_permission(request) and str(object_id).isdigit()):
            return super().change_view(request, object_id, form_url, extra_context)
        return HttpResponseRedirect(self.population.record_url(int(object_id)))


def page_admin_class(population: Population) -> type[RgpdPageAdmin]:
    """The admin class of a population's RGPD page, from its declaration."""
    page = population.page
    # "À examiner — durée de conservation dépassée", for a population that keeps its people's last activity.
    retention = [RetentionListFilter] if population.last_activity_field else []
    attributes = {
        "population": population,
        # The row's icons come first, then who, then where their archive and anonymisation stand.
        "list_display": ["row_actions_column", *page.columns, "last_export", "anonymised_on"],
        "search_fields": list(page.search_fields),
        "list_filter": [ArchiveListFilter, *page.list_filter, *retention],
        "ordering": list(page.ordering),
        "__module__": __name__,
    }
    return type(f"{page.model.__name__}Admin", (RgpdPageAdmin,), attributes)


def register_pages(site: admin.AdminSite = admin.site) -> None:
    """One RGPD page per declared population (each page model once)."""
    for population in all_populations():
        if not site.is_registered(population.page.model):
            site.register(population.page.model, page_admin_class(population))


register_pages()
