"""Anonymisation pages of the back office: the confirmation (one row or a selection) and the result.

Thin callers of ``rgpd.services.anonymisation``: the confirmation shows the seed's warnings and a dry
run, requires the checkbox, then calls the one service; the result page follows the request.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from gdpr_portal.ids import parse_database_id

from ..models import AnonymisationRequest, AnonymisationSubject
from ..permissions import require_rgpd_right
from ..populations import Population, population_of
from ..populations import population as population_by_key
from ..selectors import skipped_to_export, subjects_with_files_pending
from ..services import confirmation, dispatch
from ..services.anonymisation import anonymisation_preview, anonymisation_request_create, reason_message
from ..services.people import people_with_ids
from .selection import list_url

RESULT_PAGE_SIZE = 500


class AnonymiseConfirmationForm(forms.Form):
    acknowledge = forms.BooleanField(
        required=True,
        label=_("I have read the above and I accept that the data be anonymised."),
        error_messages={
            "required": _(
                "Tick the box to confirm that you have read the above and accept the anonymisation."
            ),
        },
    )


def result_url(anonymisation: AnonymisationRequest) -> str:
    return reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk])


def _confirmation_response(
    request: HttpRequest,
    model_admin,
    *,
    people: QuerySet,
    form,
    title,
    hidden: list[tuple[str, str]],
    back_url: str,
    export_skipped: dict | None = None,
) -> TemplateResponse:
    population = population_of(people.model)
    preview = anonymisation_preview(people=people, actor=request.user)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": model_admin.model._meta,
        "preview": preview,
        "form": form,
        # One-time token of this confirmation: sent twice (a double click), it anonymises once.
        "hidden_fields": [
            *hidden,
            ("expected_count", str(preview.total)),
            (confirmation.FIELD, confirmation.new_token()),
        ],
        "changelist_url": population.changelist_url(),
        "back_url": back_url,
        "export_skipped": _export_skipped(export_skipped, preview),
        "heading": population.heading,
        "wording": population.wording_context,
        "retention_days": settings.RGPD_ARCHIVE_RETENTION_DAYS,
        "media": model_admin.media + forms.Media(js=["rgpd/js/anonymise-confirm.js"]),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "rgpd/anonymise_confirm.html", context)


EXPORT_SKIPPED_IDS_MAX = 500  # ids posted by "Export the skipped contacts" (one form field each)


def _export_skipped(offer: dict | None, preview) -> dict | None:
    """The form of "Export the skipped contacts" (those with no ready archive), when it can be offered.

    A selection posts the export action to the list: the whole selection when all of it is skipped for
    want of an archive, else the skipped ids (a bounded number of form fields).
    """
    skipped = preview.exportable_refused_ids
    if offer is None or not skipped:
        return None
    if "selection" not in offer:
        return offer
    if len(skipped) == preview.total:
        fields = offer["selection"]
    elif len(skipped) <= EXPORT_SKIPPED_IDS_MAX:
        fields = [("select_across", "0"), *((helpers.ACTION_CHECKBOX_NAME, str(pk)) for pk in skipped)]
    else:
        return None
    return {"url": offer["url"], "method": "post", "hidden": [("action", "export_selected"), *fields]}


def _selection_changed(request: HttpRequest, people: QuerySet) -> bool:
    return request.POST.get("expected_count") != str(people.count())


def subject_confirmation_view(
    request: HttpRequest, model_admin, population: Population, subject_id: int
) -> HttpResponse:
    """The detective icon of one row: GET shows the confirmation and the dry run, POST anonymises."""
    require_rgpd_right(request, population)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    people = population.model._default_manager.filter(pk=subject_id)
    if not people.exists():
        raise Http404
    form = AnonymiseConfirmationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        anonymisation = anonymisation_request_create(
            population=population,
            subject_ids=[subject_id],
            actor=request.user,
            confirmed=form.cleaned_data["acknowledge"],
            source=AnonymisationRequest.Source.ROW,
            confirmation_token=confirmation.posted_token(request.POST),
        )
        return HttpResponseRedirect(result_url(anonymisation))
    back_url = list_url(population.changelist_url(), request)
    # Not exported yet: its own box icon's confirmation, coming back to the same list.
    export_url = reverse(f"admin:{population.url_name('export')}", args=[subject_id])
    # A GET form sends its fields as the query string: the list's query travels as one of them.
    export_skipped = {"url": export_url, "method": "get", "hidden": list(request.GET.items())}
    return _confirmation_response(
        request,
        model_admin,
        people=people,
        form=form,
        title=_("Anonymise the data"),
        hidden=[],
        back_url=back_url,
        export_skipped=export_skipped,
    )


def _anonymise_confirmed(request: HttpRequest, model_admin, people: QuerySet, form) -> HttpResponse | None:
    """The confirmation sent back with its checkbox: anonymise ``people`` and go to the result page.

    None when the form is refused (box not ticked, or the selection changed since it was shown).
    """
    if _selection_changed(request, people):
        form.add_error(None, _("The selection changed since this page was shown: check it again."))
        return None
    if not form.is_valid():
        return None
    anonymisation = anonymisation_request_create(
        selection=people,
        actor=request.user,
        confirmed=form.cleaned_data["acknowledge"],
        source=AnonymisationRequest.Source.BULK,
        confirmation_token=confirmation.posted_token(request.POST),
    )
    if anonymisation.awaiting_broker:
        model_admin.message_user(request, dispatch.QUEUED_NOTICE, messages.WARNING)
    elif anonymisation.status != AnonymisationRequest.Status.DONE:
        model_admin.message_user(
            request,
            ngettext(
                "The anonymisation of %(count)s contact has started.",
                "The anonymisation of %(count)s contacts has started.",
                anonymisation.subject_count,
            )
            % {"count": anonymisation.subject_count},
            messages.INFO,
        )
    return HttpResponseRedirect(result_url(anonymisation))


def bulk_confirmation(model_admin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    """The bulk action's intermediate page, like Django's delete confirmation.

    The confirmation posts back to the changelist (same URL, so the same search and filters) with the
    action's fields. "Select all N matching" is carried as ``select_across=1`` with one id only (the
    changelist wants one), never one field per contact: the selection is the changelist's query again.
    """
    require_rgpd_right(request, model_admin.population)
    select_across = request.POST.get("select_across") == "1"
    people = queryset
    form = AnonymiseConfirmationForm(request.POST if request.POST.get("post") == "yes" else None)
    if form.is_bound:
        response = _anonymise_confirmed(request, model_admin, people, form)
        if response is not None:
            return response
    selection: list[tuple[str, str]]
    if select_across:
        first = people.values_list("pk", flat=True).first()
        selection = [("select_across", "1"), (helpers.ACTION_CHECKBOX_NAME, str(first or ""))]
    else:
        selection = [("select_across", "0")]
        selection += [(helpers.ACTION_CHECKBOX_NAME, str(pk)) for pk in people.values_list("pk", flat=True)]
    hidden = [("action", request.POST.get("action", "")), ("post", "yes"), *selection]
    # The changelist's own URL: the list as it was (search, filters, page), and the export action.
    here = request.get_full_path()
    return _confirmation_response(
        request,
        model_admin,
        people=people,
        form=form,
        title=_("Make the data anonymous"),
        hidden=hidden,
        back_url=here,
        export_skipped={"url": here, "method": "post", "selection": selection},
    )


def people_confirmation_view(
    request: HttpRequest, model_admin, population: Population, *, people: QuerySet, back_url: str
) -> HttpResponse:
    """Anonymise exactly these people (a chained step: those of a ready export): confirm, then do it."""
    require_rgpd_right(request, population)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    form = AnonymiseConfirmationForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        response = _anonymise_confirmed(request, model_admin, people, form)
        if response is not None:
            return response
    return _confirmation_response(
        request,
        model_admin,
        people=people,
        form=form,
        title=_("Anonymise these people"),
        hidden=[],
        back_url=back_url,
    )


def request_result_view(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """Progress of an anonymisation request, then who was anonymised or skipped, and why."""
    require_rgpd_right(request)
    request_id = parse_database_id(str(object_id))
    if request_id is None:
        raise Http404
    anonymisation = (
        model_admin.get_queryset(request).filter(pk=request_id).select_related("requested_by").first()
    )
    if anonymisation is None:  # none, or of a population whose right the user lacks
        raise Http404
    population = population_by_key(anonymisation.population)
    subjects = AnonymisationSubject.objects.filter(request=anonymisation).order_by("pk")
    shown = request.GET.get("result")
    if shown in AnonymisationSubject.Result.values:
        subjects = subjects.filter(result=shown)
    # Counted before the rows are read: a worker deleting the last files in between makes the page ask
    # once more, never stop on a row still "en cours" (the files only ever go from pending to gone).
    requested = AnonymisationSubject.objects.filter(request=anonymisation).values("subject_id")
    files_pending = subjects_with_files_pending(population.key, requested).count()
    page = Paginator(subjects, RESULT_PAGE_SIZE).get_page(request.GET.get("page"))
    subject_ids = [s.subject_id for s in page.object_list if s.subject_id]
    in_progress = set(subjects_with_files_pending(population.key, subject_ids))
    named = {person.id: person for person in people_with_ids(population, subject_ids)}
    rows = [
        {
            "contact_id": subject.requested_id,
            "person": named.get(subject.subject_id),
            "record_url": population.record_url(subject.subject_id) if subject.subject_id else "",
            "result": subject.result,
            "result_label": subject.get_result_display(),
            "in_progress": subject.subject_id in in_progress,
            "reason": subject.reason,
            "message": reason_message(subject.reason, population) if subject.reason else "",
        }
        for subject in page.object_list
    ]
    done = anonymisation.status == AnonymisationRequest.Status.DONE
    total = anonymisation.subject_count
    percent = anonymisation.processed_count * 100 // total if total else 100
    context = {
        **model_admin.admin_site.each_context(request),
        "title": str(anonymisation),
        "subtitle": None,
        "opts": model_admin.model._meta,
        "anonymisation": anonymisation,
        "done": done,
        # "Done" only once the stored files are gone too: never beside rows still "in progress".
        "status_label": (
            _("finishing: stored files being deleted")
            if done and files_pending
            else anonymisation.get_status_display()
        ),
        "percent": percent,
        "files_pending": files_pending,
        "rows": rows,
        "page": page,
        "shown": shown or "",
        "refresh": not done or files_pending > 0,
        "queued_notice": dispatch.QUEUED_NOTICE if anonymisation.awaiting_broker else "",
        "changelist_url": population.changelist_url(),
        "heading": population.heading,
        # The next step for those skipped for want of an archive: export them.
        "export_skipped_url": (
            reverse("admin:rgpd_anonymisationrequest_export_skipped", args=[anonymisation.pk])
            if skipped_to_export(anonymisation.pk).exists()
            else ""
        ),
        "wording": population.wording_context,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "rgpd/anonymise_result.html", context)
