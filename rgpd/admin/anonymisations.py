"""Anonymisation in the admin: the requests' pages, the RGPD page's detective icon and bulk action."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

import gdpr_portal.ids  # noqa: F401 - registers the <id:…> URL converter

from ..models import AnonymisationRequest
from ..permissions import RgpdReadOnlyAdmin, populations_of
from ..populations import Population, all_populations
from ..populations import population as population_by_key
from ..selectors import annotate_anonymisation_eligibility, skipped_to_export
from ..services.anonymisation import ANONYMISED_AT_FIELD, reason_message, refusal_reason
from ..views import anonymisation as views
from .exports import people_export_confirmation
from .row_actions import RowAction

DETECTIVE_ICON = "rgpd/icons/detective.svg"
ROW_ACTION_LABEL = _("Anonymise the data")
IN_PROGRESS_REASON = _("Anonymisation in progress: the stored files are being deleted.")


@admin.register(AnonymisationRequest)
class AnonymisationRequestAdmin(RgpdReadOnlyAdmin):
    """Read-only list of anonymisation requests; a request's page is its result page."""

    list_display = [
        "__str__",
        "created_at",
        "requested_by",
        "source",
        "status",
        "subject_count",
        "anonymised_count",
        "skipped_count",
    ]
    list_filter = ["status", "source"]
    list_select_related = ["requested_by"]
    date_hierarchy = "created_at"

    def get_urls(self):
        # One row-action URL per population: <segment>/<id>/ (contact/12/).
        urls = [
            path(
                f"{population.page.url_segment}/<id:subject_id>/",
                self.admin_site.admin_view(self.subject_confirmation_view),
                {"population_key": population.key},
                name=population.url_name("anonymise"),
            )
            for population in all_populations()
        ]
        urls.append(
            path(
                "<id:request_id>/export-skipped/",
                self.admin_site.admin_view(self.export_skipped_view),
                name="rgpd_anonymisationrequest_export_skipped",
            )
        )
        return urls + super().get_urls()

    def export_skipped_view(self, request: HttpRequest, request_id: int):
        """ "Export the skipped contacts": the export confirmation of those skipped for want of an archive."""
        anonymisation = self.get_queryset(request).filter(pk=request_id).first()
        if anonymisation is None:  # none, or of a population whose right the user lacks
            raise Http404
        population = population_by_key(anonymisation.population)
        people = population.model._default_manager.filter(pk__in=skipped_to_export(anonymisation.pk))
        return people_export_confirmation(
            request, self, population, people=people, back_url=views.result_url(anonymisation)
        )

    def subject_confirmation_view(self, request: HttpRequest, population_key: str, subject_id: int):
        return views.subject_confirmation_view(request, self, population_by_key(population_key), subject_id)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AnonymisationRequest]:
        # The requests of the populations whose right the user holds.
        keys = [population.key for population in populations_of(request.user)]
        return super().get_queryset(request).filter(population__in=keys)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        return views.request_result_view(request, self, object_id)


# --- The RGPD page (rgpd/admin/rgpd_page.py) --------------------------------------------------------


def annotate_for_anonymisation(queryset: QuerySet) -> QuerySet:
    """What the detective icon needs, in the list's own query (no query per row)."""
    return annotate_anonymisation_eligibility(queryset)


def anonymise_row_action(population: Population, obj) -> RowAction:
    """The detective icon of a row: a link when the person can be anonymised, else why not."""
    url = reverse(f"admin:{population.url_name('anonymise')}", args=[obj.pk])
    if not hasattr(obj, "has_export_in_progress"):  # not annotated: read the one person
        obj = annotate_for_anonymisation(type(obj).objects.filter(pk=obj.pk)).get()
    reason = refusal_reason(obj)
    if reason is None:
        return RowAction(url=url, label=ROW_ACTION_LABEL, icon=DETECTIVE_ICON)
    message: str | Promise
    if getattr(obj, ANONYMISED_AT_FIELD) is not None and obj.anonymisation_in_progress:
        message = IN_PROGRESS_REASON
    else:
        message = reason_message(reason, population)
    return RowAction(url=url, label=ROW_ACTION_LABEL, icon=DETECTIVE_ICON, enabled=False, reason=message)


@admin.action(permissions=["rgpd"], description=_("Make the data anonymous >>"))
def anonymise_selected(modeladmin, request: HttpRequest, queryset: QuerySet):
    """Bulk "Rendre anonyme les données >>": an intermediate confirmation page, then the service."""
    return views.bulk_confirmation(modeladmin, request, queryset)
