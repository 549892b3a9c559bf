"""POST /api/rgpd/anonymisations/: the same service, a result per contact, confirmation required."""

import time

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.models import Contact, Document
from rgpd.models import AnonymisationRequest, AuditEvent, ExportPart
from tests.factories import ContactFactory, DocumentFactory, UserFactory, exported, rgpd_user

URL = "/api/rgpd/anonymisations/"


def snapshot(*contacts) -> list:
    return [
        (
            list(Contact.objects.filter(pk=c.pk).values()),
            list(Document.objects.filter(contact_id=c.pk).values()),
        )
        for c in contacts
    ]


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        # A token, as a script would use it: no session, no CSRF.
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.django_db
def test_confirmed_it_answers_the_result_of_each_contact():
    # Given an exported contact with a document, one not exported, one whose export runs, and an unknown id
    ready = ContactFactory()
    DocumentFactory(contact=ready)
    exported([ready])
    not_exported = ContactFactory()
    running = ContactFactory()
    exported([running], status=ExportPart.Status.RUNNING)

    # When the API is called with "confirm": true
    response = api(rgpd_user()).post(
        URL, {"contacts": [ready.pk, not_exported.pk, running.pk, 999999], "confirm": True}, format="json"
    )

    # Then it answers each contact's result, with a reason code and a message for the skipped ones
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "done"
    assert body["counts"] == {"contacts": 4, "processed": 4, "anonymised": 1, "skipped": 3}
    results = {item["contact"]: item for item in body["results"]}
    assert results[ready.pk] == {"contact": ready.pk, "result": "anonymised", "files_deleted": False}
    assert results[not_exported.pk]["reason"] == "not_exported"
    assert results[not_exported.pk]["message"]
    assert results[running.pk]["reason"] == "export_in_progress"
    assert results[999999]["reason"] == "not_found"
    assert response["Location"].endswith(reverse("rgpd_api:anonymisation-detail", args=[body["id"]]))
    assert Contact.objects.get(pk=ready.pk).first_name == "xxx"
    assert AnonymisationRequest.objects.get().source == "api"

    # When the same contact is sent again, Then it is a no-op: skipped, unchanged, no second audit row
    before = snapshot(ready)
    again = api(rgpd_user()).post(URL, {"contacts": [ready.pk], "confirm": True}, format="json").json()
    assert again["results"][0]["reason"] == "already_anonymised"
    assert snapshot(ready) == before
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ANONYMISED, subject_ids=[ready.pk]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"contacts": "ids"},  # no confirm at all
        {"contacts": "ids", "confirm": False},
        {"contacts": "ids", "confirm": "true"},  # only the JSON literal true confirms
        {"contacts": "ids", "confirm": 1},
        {"contacts": [], "confirm": True},
    ],
)
def test_without_confirm_true_it_answers_400_and_changes_nothing(payload):
    contact = ContactFactory()
    exported([contact])
    before = snapshot(contact)
    if payload["contacts"] == "ids":
        payload = {**payload, "contacts": [contact.pk]}

    response = api(rgpd_user()).post(URL, payload, format="json")

    assert response.status_code == 400
    assert snapshot(contact) == before
    assert not AnonymisationRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="anonymis").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff without the right", "anonymous"])
def test_without_the_right_it_answers_403_and_changes_nothing(who):
    contact = ContactFactory()
    exported([contact])
    before = snapshot(contact)
    client = api(UserFactory()) if who != "anonymous" else api()

    response = client.post(URL, {"contacts": [contact.pk], "confirm": True}, format="json")

    assert response.status_code in ((403,) if who != "anonymous" else (401, 403))
    assert snapshot(contact) == before
    assert not AnonymisationRequest.objects.exists()


@pytest.mark.django_db
def test_get_changes_nothing():
    contact = ContactFactory()
    exported([contact])
    before = snapshot(contact)
    client = api(rgpd_user())

    assert client.get(URL, {"contacts": contact.pk, "confirm": "true"}).status_code == 405
    assert snapshot(contact) == before
    assert not AnonymisationRequest.objects.exists()


@pytest.mark.django_db
def test_a_session_without_csrf_token_is_refused():
    contact = ContactFactory()
    exported([contact])
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(rgpd_user())

    response = client.post(URL, {"contacts": [contact.pk], "confirm": True}, format="json")

    assert response.status_code == 403
    assert Contact.objects.get(pk=contact.pk).anonymised_at is None


def test_a_large_request_runs_in_the_background_and_its_url_gives_the_results(celery_worker, settings):
    # Given more contacts than are processed during the request
    contacts = ContactFactory.create_batch(settings.RGPD_ANONYMISATION_INLINE_MAX + 5)
    exported(contacts[:-2])
    client = api(rgpd_user())

    # When they are sent to the API
    response = client.post(URL, {"contacts": [c.pk for c in contacts], "confirm": True}, format="json")

    # Then it answers 202 at once, and the request's URL gives every result once the worker is done
    assert response.status_code == 202
    assert response.json()["status"] in ("pending", "running")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        body = client.get(response["Location"]).json()
        if body["status"] == "done":
            break
        time.sleep(0.3)
    assert body["status"] == "done"
    assert body["counts"]["anonymised"] == len(contacts) - 2 and body["counts"]["skipped"] == 2
    skipped = [item for item in body["results"] if item["result"] == "skipped"]
    assert {item["contact"] for item in skipped} == {c.pk for c in contacts[-2:]}
    assert {item["reason"] for item in skipped} == {"not_exported"}
