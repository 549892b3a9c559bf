"""From a request's page to the action: "Exporter les données" and "Anonymiser les données" for exactly
the request's people, through the RGPD page's own confirmation pages and rules.

The views hand the confirmation of the bulk action (``rgpd.admin.exports.export_selected``,
``rgpd.admin.anonymisations.anonymise_selected``) the request's people instead of a selection; the page
posts back here, and the export or anonymisation it creates (found by the confirmation's one-time token)
is linked to the request, which lists it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..admin.anonymisations import anonymise_selected
from ..admin.exports import export_selected
from ..models import AnonymisationRequest, ExportRequest
from ..permissions import require_rgpd_right
from ..populations import population
from ..services import confirmation
from .models import CONTACTS_POPULATION, SubjectRequest
from .services import subject_request_link_action

# What each button starts: the bulk action's confirmation, and the model of the request it creates.
ACTIONS: dict[str, tuple[Callable, type[ExportRequest] | type[AnonymisationRequest]]] = {
    "export": (export_selected, ExportRequest),
    "anonymise": (anonymise_selected, AnonymisationRequest),
}


def request_page_url(subject_request: SubjectRequest) -> str:
    return reverse("admin:rgpd_subjectrequest_change", args=[subject_request.pk])


def _people(site: AdminSite, request: HttpRequest, subject_request: SubjectRequest):
    """The RGPD page's admin and the request's contacts, as that page lists them (annotated)."""
    page_admin = site._registry[population(CONTACTS_POPULATION).page.model]
    ids = subject_request.people.filter(population=CONTACTS_POPULATION).values_list("subject_id", flat=True)
    people: QuerySet = page_admin.get_queryset(request).filter(pk__in=list(ids))
    return page_admin, people


def request_action_view(site: AdminSite, request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """GET: the action's confirmation for the request's people; POST (from that page): start it, link it."""
    if action not in ACTIONS:
        raise Http404(_("This page does not exist."))
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    require_rgpd_right(request, population(CONTACTS_POPULATION))
    subject_request = get_object_or_404(SubjectRequest, pk=pk)
    page_admin, people = _people(site, request, subject_request)
    back = HttpResponseRedirect(request_page_url(subject_request))
    if not subject_request.is_open:
        messages.error(request, _("This request is closed: nothing more is started from it."))
        return back
    if not people.exists():
        messages.error(request, _("Match the request to its contacts first."))
        return back
    confirm, model = ACTIONS[action]
    response = confirm(page_admin, request, people)
    if response is None:  # refused with a message (e.g. nothing left to export)
        return back
    if request.method == "POST" and isinstance(response, HttpResponseRedirect):
        started = confirmation.confirmed_before(model, confirmation.posted_token(request.POST))
        if isinstance(started, ExportRequest):
            subject_request_link_action(
                subject_request=subject_request, actor=request.user, export_request=started
            )
        elif isinstance(started, AnonymisationRequest):
            subject_request_link_action(
                subject_request=subject_request, actor=request.user, anonymisation_request=started
            )
    return response
