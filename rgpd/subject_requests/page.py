"""What a request's page shows beyond its clock: the exports and anonymisations started from it, the
buttons that start them, its people's legal holds and, for an erasure, what was erased or kept and why."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from ..filters import ANONYMISED_AT_FIELD
from ..legal_holds.selectors import legal_holds_of
from ..populations import population
from ..selectors import export_request_progress
from .erasure import erasure_state
from .models import CONTACTS_POPULATION, SubjectRequest


def _started(subject_request: SubjectRequest) -> list[dict]:
    started = []
    for link in subject_request.actions.select_related("export_request", "anonymisation_request"):
        if link.export_request is not None:
            started.append(
                {
                    "label": str(link.export_request),
                    "status": export_request_progress(link.export_request).status_label,
                    "url": reverse("admin:rgpd_exportrequest_change", args=[link.export_request_id]),
                }
            )
        elif link.anonymisation_request is not None:
            started.append(
                {
                    "label": str(link.anonymisation_request),
                    "status": link.anonymisation_request.get_status_display(),
                    "url": reverse(
                        "admin:rgpd_anonymisationrequest_change", args=[link.anonymisation_request_id]
                    ),
                }
            )
    return started


def hold_add_url(subject_id: int, back: str) -> str:
    query = urlencode({"population": CONTACTS_POPULATION, "subject_id": subject_id, "next": back})
    return f"{reverse('admin:rgpd_legalhold_add')}?{query}"


def request_page_context(request: HttpRequest, subject_request: SubjectRequest) -> dict:
    today = timezone.localdate()
    back = reverse("admin:rgpd_subjectrequest_change", args=[subject_request.pk])
    ids = [p.subject_id for p in subject_request.people.all() if p.population == CONTACTS_POPULATION]
    holds: dict[int, list] = {}
    for hold in legal_holds_of(CONTACTS_POPULATION, ids, today):
        holds.setdefault(hold.subject_id, []).append(hold)
    # An anonymised person has nothing left to keep: no "Add a legal hold" link.
    anonymised = set(
        population(CONTACTS_POPULATION)
        .model._default_manager.filter(pk__in=ids, **{f"{ANONYMISED_AT_FIELD}__isnull": False})
        .values_list("pk", flat=True)
    )
    is_erasure = subject_request.kind == SubjectRequest.Kind.ERASURE
    answered = subject_request.status == SubjectRequest.Status.ANSWERED
    return {
        "started": _started(subject_request),
        "people_actions": [
            (action, reverse("admin:rgpd_subjectrequest_action", args=[subject_request.pk, action]))
            for action in ("export", "anonymise")
        ]
        if ids and subject_request.is_open
        else [],
        "holds": [(pk, holds.get(pk, []), "" if pk in anonymised else hold_add_url(pk, back)) for pk in ids],
        "erasure": (
            list(subject_request.outcomes.all()) if answered else erasure_state(subject_request, today=today)
        )
        if is_erasure
        else None,
    }
