"""Export in the admin: the history of export requests, a request's page, and the RGPD page's
entry points (the box icon's confirmation page and the bulk action).

Everything here is a thin caller of ``rgpd.services.exports``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

import gdpr_portal.ids  # noqa: F401 - registers the <id:…> URL converter

from ..models import ExportPart, ExportRequest, ExportSubject
from ..permissions import RgpdReadOnlyAdmin, holds_rgpd_right
from ..populations import Population, all_populations
from ..populations import population as population_by_key
from ..selectors import (
    export_request_progress,
    export_request_subject_ids,
    export_requests_visible_to,
    export_requests_with_progress,
)
from ..services import confirmation, dispatch
from ..services.exports import export_request_create, export_request_email_resend
from ..services.exports.notify import NO_EMAIL_ADDRESS
from ..services.people import first_people, people_with_ids
from ..views import anonymisation as anonymisation_views
from ..views.exports import download_part
from ..views.selection import list_url, selection_label
from .row_actions import RowAction

BOX_ICON = "rgpd/icons/box.svg"
PEOPLE_PER_PAGE = 50  # people named per page of an export request's page
EXPORT_LABEL = _("Export the data")


def export_request_url(export_request: ExportRequest) -> str:
    return reverse("admin:rgpd_exportrequest_change", args=[export_request.pk])


def part_download_url(part: ExportPart) -> str:
    return reverse("admin:rgpd_exportrequest_download", args=[part.request_id, part.number])


def _downloadable(part: ExportPart, now) -> bool:
    return part.status == ExportPart.Status.READY and part.expires_at is not None and part.expires_at > now


# --- The RGPD page's entry points (used by rgpd/admin/rgpd_page.py) -----------------------------------
def export_row_action(population: Population, obj) -> RowAction:
    """The box icon of a row: the export confirmation page of that one person."""
    url = reverse(f"admin:{population.url_name('export')}", args=[obj.pk])
    return RowAction(url=url, label=EXPORT_LABEL, icon=BOX_ICON)


def _confirmation(
    request: HttpRequest,
    model_admin,
    population: Population,
    *,
    people: QuerySet,
    hidden: list[tuple[str, str]],
    back_url: str,
) -> TemplateResponse:
    """The export confirmation of ``people``: the seed's texts, their count and who the first ones are."""
    count = people.count()
    named = first_people(population, people)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": EXPORT_LABEL,
        "subtitle": None,
        "opts": population.page.model._meta,
        "count": count,
        "people": named,
        "more_people": count - len(named),
        "retention_days": settings.RGPD_ARCHIVE_RETENTION_DAYS,
        # One-time token of this confirmation: sent twice (a double click), it starts one export.
        "hidden_fields": [*hidden, (confirmation.FIELD, confirmation.new_token())],
        "form_url": request.get_full_path(),
        "changelist_url": population.changelist_url(),
        "back_url": back_url,
        "heading": population.heading,
        # The seed promises an email: say so when the officer has no address to send it to.
        "requester_without_email": not getattr(request.user, "email", ""),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "rgpd/export_confirm.html", context)


def start_export(request: HttpRequest, model_admin, **selection) -> HttpResponse | None:
    """Start the confirmed export and go to its page; None (and an error message) when refused."""
    try:
        export_request = export_request_create(
            actor=request.user,
            language=get_language(),
            confirmation_token=confirmation.posted_token(request.POST),
            **selection,
        )
    except ValidationError as exc:
        model_admin.message_user(request, " ".join(exc.messages), messages.ERROR)
        return None
    if not getattr(request.user, "email", ""):
        email_promise = _("You have no email address: no email will be sent, follow the archive here.")
    else:
        email_promise = _("An email will be sent to you once the archive has been generated.")
    if export_request.awaiting_broker:
        model_admin.message_user(request, f"{dispatch.QUEUED_NOTICE} {email_promise}", messages.WARNING)
    else:
        started = _export_started(export_request)
        model_admin.message_user(request, f"{started} {email_promise}", messages.SUCCESS)
    return HttpResponseRedirect(export_request_url(export_request))


def _export_started(export_request: ExportRequest) -> str:
    """ "The export of Élodie Lefèvre has started." (one person named), or of how many people."""
    ids = list(
        ExportSubject.objects.filter(part__request=export_request).values_list("subject_id", flat=True)[:2]
    )
    if len(ids) == 1:
        (person,) = people_with_ids(population_by_key(export_request.population), ids)
        return _("The export has started: %(name)s.") % {"name": person.name}
    count = export_request.subject_count
    return ngettext(
        "The export has started: %(count)s person.", "The export has started: %(count)s people.", count
    ) % {"count": count}


def subject_export_view(
    request: HttpRequest, model_admin, population: Population, subject_id: int
) -> HttpResponse:
    """The box icon of one row: GET shows the confirmation (and changes nothing), POST starts the export."""
    if not holds_rgpd_right(request.user, population):
        raise PermissionDenied
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    people = population.model._default_manager.filter(pk=subject_id)
    if not people.exists():
        raise Http404(_("No contact has this id."))
    if request.method == "POST":
        response = start_export(request, model_admin, population=population, subject_ids=[subject_id])
        if response is not None:
            return response
    back_url = list_url(population.changelist_url(), request)
    return _confirmation(request, model_admin, population, people=people, hidden=[], back_url=back_url)


def people_export_confirmation(
    request: HttpRequest, model_admin, population: Population, *, people: QuerySet, back_url: str
) -> HttpResponse:
    """Export these people (a chained step, e.g. those an anonymisation skipped): confirm, then start."""
    if not holds_rgpd_right(request.user, population):
        raise PermissionDenied
    if request.method == "POST":
        response = start_export(request, model_admin, population=population, queryset=people)
        if response is not None:
            return response
    return _confirmation(request, model_admin, population, people=people, hidden=[], back_url=back_url)


@admin.action(permissions=["rgpd"], description=_("Export the data >>"))
def export_selected(modeladmin, request: HttpRequest, queryset: QuerySet):
    """Bulk "Exporter les données >>": a confirmation page, then one export of the whole selection.

    With "select all N matching", the confirmation carries ``select_across=1`` and posts back to the
    changelist's own URL (its search and filters), so Django hands this action the full filtered
    queryset again: never one field per id. The request keeps the search and filters that chose them.
    """
    if not holds_rgpd_right(request.user, modeladmin.population):
        raise PermissionDenied
    select_across = request.POST.get("select_across") == "1"
    if request.POST.get("post") == "yes":
        label = selection_label(modeladmin, request, count=queryset.count()) if select_across else ""
        return start_export(request, modeladmin, queryset=queryset, selection_label=label)
    selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
    hidden = [("action", "export_selected"), ("post", "yes")]
    if select_across:
        # Django takes the confirmation branch only with a selected value; select_across makes it moot.
        hidden += [("select_across", "1"), (helpers.ACTION_CHECKBOX_NAME, selected[0] if selected else "0")]
    else:
        hidden += [("select_across", "0")] + [(helpers.ACTION_CHECKBOX_NAME, pk) for pk in selected]
    # "No, take me back": the list as it was (the confirmation is shown at the list's own URL).
    back_url = request.get_full_path()
    return _confirmation(
        request, modeladmin, modeladmin.population, people=queryset, hidden=hidden, back_url=back_url
    )


# --- Export history and a request's page ------------------------------------------------------------
@admin.register(ExportRequest)
class ExportRequestAdmin(RgpdReadOnlyAdmin):
    """Read-only history of export requests; RGPD users see all of them."""

    list_display = [
        "__str__",
        "status_column",
        "progress_column",
        "requested_by",
        "created_at",
        "subject_count",
        "part_count",
        "expiry_column",
        "downloads_column",
    ]
    list_select_related = ["requested_by"]
    list_filter = ["created_at"]
    date_hierarchy = "created_at"
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExportRequest]:
        # The requests of the populations whose right the user holds.
        visible = super().get_queryset(request) & export_requests_visible_to(request.user)
        return export_requests_with_progress(visible).prefetch_related("parts")

    def get_urls(self):
        # One row-action URL per population: <segment>/<id>/export/ (contact/12/export/).
        row_actions = [
            path(
                f"{population.page.url_segment}/<id:subject_id>/export/",
                self.admin_site.admin_view(self.subject_export_view),
                {"population_key": population.key},
                name=population.url_name("export"),
            )
            for population in all_populations()
        ]
        return [
            *row_actions,
            path(
                "<id:request_id>/parts/<id:number>/download/",
                # cacheable only drops the admin's never_cache: the stored-file response sets no-store itself.
                self.admin_site.admin_view(self.download_view, cacheable=True),
                name="rgpd_exportrequest_download",
            ),
            path(
                "<id:request_id>/anonymise/",
                self.admin_site.admin_view(self.anonymise_people_view),
                name="rgpd_exportrequest_anonymise",
            ),
            path(
                "<id:request_id>/resend-email/",
                self.admin_site.admin_view(self.resend_email_view),
                name="rgpd_exportrequest_resend_email",
            ),
            *super().get_urls(),
        ]

    def subject_export_view(self, request: HttpRequest, population_key: str, subject_id: int) -> HttpResponse:
        return subject_export_view(request, self, population_by_key(population_key), subject_id)

    def anonymise_people_view(self, request: HttpRequest, request_id: int) -> HttpResponse:
        """ "Anonymise these people" on a ready export: the confirmation for exactly its people."""
        if not holds_rgpd_right(request.user):
            raise PermissionDenied
        export_request = export_requests_visible_to(request.user).filter(pk=request_id).first()
        if export_request is None:
            raise Http404(_("No export request has this id."))
        population = population_by_key(export_request.population)
        people = population.model._default_manager.filter(pk__in=export_request_subject_ids(request_id))
        return anonymisation_views.people_confirmation_view(
            request, self, population, people=people, back_url=export_request_url(export_request)
        )

    def download_view(self, request: HttpRequest, request_id: int, number: int) -> HttpResponseBase:
        return download_part(request, request_id=request_id, number=number, channel="admin")

    def resend_email_view(self, request: HttpRequest, request_id: int) -> HttpResponse:
        """The request page's "send the email again" button (POST), after the email server failed."""
        if not holds_rgpd_right(request.user):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not export_requests_visible_to(request.user).filter(pk=request_id).exists():
            raise Http404(_("No export request has this id."))
        try:
            resent = export_request_email_resend(request_id=request_id)
        except dispatch.BROKER_ERRORS:
            self.message_user(
                request,
                _("The task queue cannot be reached right now: try again in a few minutes."),
                messages.ERROR,
            )
        else:
            if resent:
                self.message_user(request, _("The email is being sent again."), messages.SUCCESS)
            else:
                self.message_user(
                    request, _("There is no email to send again for this export."), messages.INFO
                )
        return HttpResponseRedirect(reverse("admin:rgpd_exportrequest_change", args=[request_id]))

    # --- Columns ---
    @admin.display(description=_("status"))
    def status_column(self, obj: ExportRequest) -> str:
        return export_request_progress(obj).status_label

    @admin.display(description=_("progress"))
    def progress_column(self, obj: ExportRequest) -> str:
        progress = export_request_progress(obj)
        return format_html(
            '<progress value="{}" max="{}"></progress> {}',
            progress.done,
            progress.total,
            _("%(done)s / %(total)s parts") % {"done": progress.done, "total": progress.total},
        )

    @admin.display(description=_("expires at"))
    def expiry_column(self, obj: ExportRequest) -> str:
        expires_at = export_request_progress(obj).expires_at
        # In the local time zone, as templates show dates (date_format alone would print UTC).
        return date_format(timezone.localtime(expires_at), "DATETIME_FORMAT") if expires_at else "—"

    @admin.display(description=_("download"))
    def downloads_column(self, obj: ExportRequest) -> str:
        now = timezone.now()
        ready = [part for part in obj.parts.all() if _downloadable(part, now)]
        if not ready:
            return "—"
        return format_html_join(
            " ",
            '<a href="{}" download>{}</a>',
            ((part_download_url(part), _("part %(n)s") % {"n": part.number}) for part in ready),
        )

    # --- A request's page: read-only, refreshes itself until done ---
    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        if not holds_rgpd_right(request.user):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No export request has this id."))
        progress = export_request_progress(obj)
        now = timezone.now()
        parts = [
            {"part": part, "download_url": part_download_url(part) if _downloadable(part, now) else ""}
            for part in obj.parts.all()
        ]
        population = population_by_key(obj.population)
        # Its people, by name, a page at a time (a request may hold a million).
        people_page = Paginator(
            ExportSubject.objects.filter(part__request=obj)
            .order_by("subject_id")
            .values_list("subject_id", flat=True),
            PEOPLE_PER_PAGE,
        ).get_page(request.GET.get("people"))
        ready = progress.status in (ExportRequest.Status.READY, ExportRequest.Status.READY_WITH_WARNINGS)
        context = {
            **self.admin_site.each_context(request),
            "title": str(obj),
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "export_request": obj,
            "progress": progress,
            "parts": parts,
            "refresh_seconds": 3 if not progress.is_done else None,
            "queued_notice": dispatch.QUEUED_NOTICE if obj.awaiting_broker else "",
            "email_failed": obj.notified_at is None and obj.email_failed_at is not None,
            # Said as soon as it is known: a requester without an address gets no email, ready or not.
            "no_email_address": obj.notified_at is None
            and (
                obj.email_error == NO_EMAIL_ADDRESS
                or (obj.requested_by is not None and not obj.requested_by.email)
            ),
            "missing_files": sum(part.missing_file_count for part in obj.parts.all()),
            "people": people_with_ids(population, people_page.object_list),
            "people_page": people_page,
            "anonymise_url": reverse("admin:rgpd_exportrequest_anonymise", args=[obj.pk]) if ready else "",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "rgpd/export_request.html", context)
