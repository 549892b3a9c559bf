"""From a request's page to the action: export and anonymise exactly its people through the usual
confirmations, linked back to the request; an erasure is answered once its people are anonymised or kept
under a legal hold, and the answer says what was kept and why."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.models import Contact
from rgpd.models import (
    AnonymisationRequest,
    ExportPart,
    ExportRequest,
    ExportSubject,
    LegalHold,
    SubjectRequest,
)
from rgpd.subject_requests import services
from tests.factories import ContactFactory, UserFactory, exported, rgpd_user

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


@pytest.fixture
def officer(client):
    client.force_login(rgpd_user())
    return client


def erasure_request(*contacts, started: bool = True) -> SubjectRequest:
    request = services.subject_request_record(
        kind="erasure",
        channel="post",
        received_on=timezone.localdate() - timedelta(days=5),
        contact_ids=[c.pk for c in contacts],
        actor=None,
    )
    if started:
        request = services.subject_request_start(subject_request=request, on=timezone.localdate(), actor=None)
    return request


def page_url(request: SubjectRequest) -> str:
    return reverse("admin:rgpd_subjectrequest_change", args=[request.pk])


def action_url(request: SubjectRequest, action: str) -> str:
    return reverse("admin:rgpd_subjectrequest_action", args=[request.pk, action])


def confirm(client, url: str, **fields):
    """Show the confirmation page, then send it back as the browser would (its hidden fields)."""
    shown = client.get(url)
    assert shown.status_code == 200
    return shown, client.post(url, {**dict(shown.context["hidden_fields"]), **fields})


def test_the_request_page_exports_then_anonymises_exactly_its_people_and_lists_both(officer):
    # Given an erasure request about two contacts, and another contact exported earlier
    first, second, other = ContactFactory(), ContactFactory(), ContactFactory()
    exported([other])
    request = erasure_request(first, second)

    # When the officer clicks "Exporter les données de ces personnes" and confirms
    page = text_of(officer.get(page_url(request)))
    assert "Exporter les données de ces personnes" in page
    shown, started = confirm(officer, action_url(request, "export"))

    # Then the usual confirmation counted the request's two people, and their export started
    assert "concernant 2 personne(s) vont être exportées" in text_of(shown)
    export = ExportRequest.objects.get(subject_count=2)
    assert started["Location"] == reverse("admin:rgpd_exportrequest_change", args=[export.pk])
    people = set(ExportSubject.objects.filter(part__request=export).values_list("subject_id", flat=True))
    assert people == {first.pk, second.pk}

    # When a worker has built their archive and the officer clicks "Anonymiser les données de ces personnes"
    export.parts.update(
        status=ExportPart.Status.READY,
        ready_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=10),
        object_key=f"exports/{export.pk}/part-1.zip",
    )
    shown, done = confirm(officer, action_url(request, "anonymise"), acknowledge="on")

    # Then the usual confirmation (seed's warning and checkbox) anonymised exactly them
    assert "Les données concernant 2 contact(s) vont être anonymisées" in text_of(shown)
    anonymisation = AnonymisationRequest.objects.get()
    assert done["Location"] == reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk])
    assert set(Contact.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }

    # And the request's page lists both, linked, and says the two people are anonymised
    page = text_of(officer.get(page_url(request)))
    assert f"Export n° {export.pk}" in page and f"Anonymisation n° {anonymisation.pk}" in page
    assert page.count("anonymisé") >= 2


def test_the_anonymisation_confirmation_without_the_checkbox_changes_nothing(officer):
    contact = ContactFactory()
    exported([contact])
    request = erasure_request(contact)
    shown, refused = confirm(officer, action_url(request, "anonymise"))
    assert refused.status_code == 200 and not Contact.objects.get(pk=contact.pk).is_anonymised
    assert not request.actions.exists()


def test_a_closed_or_unmatched_request_starts_nothing(officer):
    unmatched = services.subject_request_record(
        kind="erasure", received_on=timezone.localdate(), actor=None, unmatched_name="Jeanne Martin"
    )
    response = officer.get(action_url(unmatched, "export"))
    assert response.status_code == 302 and response["Location"] == page_url(unmatched)
    assert "Rattachez d'abord la demande à ses contacts." in text_of(officer.get(page_url(unmatched)))
    assert not ExportRequest.objects.exists()
    assert officer.get(action_url(unmatched, "delete")).status_code == 404


def answer(client, request: SubjectRequest):
    url = reverse("admin:rgpd_subjectrequest_step", args=[request.pk, "answer"])
    return client.post(url, {"answered_on": timezone.localdate().isoformat()})


def test_an_erasure_is_answered_only_once_its_people_are_anonymised_or_held(officer):
    # Given an erasure request about an exported contact and one whose invoices must be kept
    erased, kept = ContactFactory(), ContactFactory()
    exported([erased])
    request = erasure_request(erased, kept)

    # When the officer closes it as answered while nothing is done: a clear form error, still open
    refused = text_of(answer(officer, request))
    assert "Reste à traiter : contacts n° " in refused
    assert SubjectRequest.objects.get(pk=request.pk).status == "in_progress"

    # And its page offers to record a legal hold for each of its people
    page = html.unescape(officer.get(page_url(request)).content.decode())
    assert f"/admin/rgpd/legalhold/add/?population=contacts&subject_id={kept.pk}&next=" in page

    # When one is anonymised and the other put under a legal hold "obligation fiscale"
    officer.post(
        reverse("admin:rgpd_anonymise_contact", args=[erased.pk]),
        {"acknowledge": "on"},
    )
    LegalHold.objects.create(
        subject_id=kept.pk, reason="tax", ends_on=timezone.localdate() + timedelta(days=3650)
    )
    answered = answer(officer, request)

    # Then the request is answered, and its page lists what was erased and what was kept, and why
    assert answered.status_code == 302
    page = text_of(officer.get(page_url(request)))
    assert "répondue" in page
    erasure = re.search(
        r'<table id="request-erasure">.*?</table>',
        html.unescape(officer.get(page_url(request)).content.decode()),
        flags=re.S,
    ).group(0)
    assert f"Contact n° {erased.pk}" in erasure and "anonymisé" in erasure
    assert f"Contact n° {kept.pk}" in erasure and "obligation fiscale" in erasure


def test_the_api_answers_400_to_an_erasure_left_to_do_and_closes_it_once_held():
    contact = ContactFactory()
    request = erasure_request(contact)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rgpd_user()).key}")
    url = f"/api/rgpd/requests/{request.pk}/answer/"

    refused = client.post(url, {}, format="json")
    assert refused.status_code == 400 and "contacts" in refused.json()["errors"]

    LegalHold.objects.create(
        subject_id=contact.pk, reason="litigation", ends_on=timezone.localdate() + timedelta(days=400)
    )
    done = client.post(url, {}, format="json")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["answered_on_time"]) == ("answered", True)
    assert done.json()["erasure_outcomes"] == [
        {
            "contact": contact.pk,
            "outcome": "kept",
            "kept_because": "contentieux",
            "kept_until": (timezone.localdate() + timedelta(days=400)).isoformat(),
        }
    ]


def test_without_the_right_the_buttons_and_legal_holds_answer_403(client):
    request = erasure_request(ContactFactory())
    client.force_login(UserFactory())  # a back-office user without "RGPD Contacts Clients"
    assert client.get(action_url(request, "export")).status_code == 403
    assert client.get("/admin/rgpd/legalhold/").status_code == 403
    assert client.get("/admin/rgpd/legalhold/add/").status_code == 403
    assert not ExportRequest.objects.exists()


def test_the_request_page_speaks_english_when_chosen(officer, settings):
    request = erasure_request(ContactFactory())
    officer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = text_of(officer.get(page_url(request)))
    assert "Export the data of these people" in page and "Anonymise the data of these people" in page
    assert "Legal holds" in page and "Add a legal hold" in page and "to do" in page
