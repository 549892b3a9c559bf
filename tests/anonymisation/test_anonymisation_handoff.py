"""A large "select all" anonymisation is accepted by the web request and recorded by a worker, as a large
export is: PostgreSQL, Redis and a real Celery worker."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
from harness.admin_actions import bulk_action_payload
from rgpd.models import AnonymisationRequest, AnonymisationSubject, AuditEvent, PendingStorageDeletion
from rgpd.services import dispatch
from rgpd.services.anonymisation import anonymisation_chunk_run, anonymisation_request_create
from rgpd.services.anonymisation import requests as anonymisation_requests
from tests.factories import ContactFactory, DocumentFactory, exported, rgpd_user
from tests.support.helpers import wait_until

CHANGELIST = "admin:rgpd_rgpdcontact_changelist"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def test_a_large_select_all_is_accepted_at_once_and_its_people_are_recorded_and_anonymised_by_the_worker(
    celery_worker, client, monkeypatch
):
    # Given 30 exported contacts found by a search, above the size recorded by the web request (10 here)
    monkeypatch.setattr(anonymisation_requests, "RECORD_INLINE_MAX", 10)
    contacts = ContactFactory.create_batch(30, last_name="Grandlot")
    exported(contacts)
    bystander = ContactFactory(last_name="Autrenom")
    exported([bystander])
    officer = rgpd_user()
    client.force_login(officer)
    url = reverse(CHANGELIST) + "?q=Grandlot"
    confirm = bulk_action_payload(
        "anonymise_selected",
        [contacts[0].pk],
        select_across=True,
        confirm=True,
        expected_count="30",
        acknowledge="on",
    )

    # When "select all 30" + "Rendre anonyme les données" is confirmed
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, confirm)

    # Then the web request recorded the request, who confirmed it and how many, but none of its people
    assert response.status_code == 302
    table = AnonymisationSubject._meta.db_table
    assert not [q for q in queries.captured_queries if f'INSERT INTO "{table}"' in q["sql"]]
    anonymisation = AnonymisationRequest.objects.get()
    assert (anonymisation.subject_count, anonymisation.requested_by) == (30, officer)
    requested = AuditEvent.objects.get(action=AuditEvent.Action.ANONYMISATION_REQUESTED)
    assert (requested.actor, requested.counts) == (officer, {"subjects": 30})
    assert "Grandlot" not in str(requested.details)

    # and a contact matching the search created after the confirmation is not part of it
    late = ContactFactory(last_name="Grandlot")
    exported([late])

    # Then the worker records the 30, anonymises them, and the result page reports them
    wait_until(
        lambda: AnonymisationRequest.objects.get(pk=anonymisation.pk).status == "done",
        message="the handed-off request",
    )
    anonymisation.refresh_from_db()
    assert (anonymisation.subject_count, anonymisation.anonymised_count) == (30, 30)
    assert anonymisation.pending_selection_sql == "" and anonymisation.pending_selection_params == []
    assert Contact.objects.filter(pk__in=[c.pk for c in contacts], anonymised_at__isnull=False).count() == 30
    assert Contact.objects.get(pk=late.pk).anonymised_at is None
    assert Contact.objects.get(pk=bystander.pk).anonymised_at is None
    result = text_of(client.get(response["Location"]))
    assert "30 contacts anonymisés" in result
    assert len(re.findall(r'data-result="anonymised"', result)) == 30


@pytest.mark.django_db
def test_a_handed_off_selection_is_recorded_slice_by_slice_and_the_request_ends_after_the_last(
    monkeypatch, settings
):
    # Given a "select all 20" (each with a stored document) handed to the workers, recorded 10 at a
    # time, anonymised 4 per chunk
    settings.RGPD_ANONYMISATION_CHUNK_SIZE = 4
    monkeypatch.setattr(anonymisation_requests, "RECORD_INLINE_MAX", 5)
    monkeypatch.setattr(anonymisation_requests, "RECORD_SLICE", 10)
    chunks, resent = [], []
    monkeypatch.setattr(dispatch, "anonymisation_chunk", lambda *args: chunks.append(args))
    monkeypatch.setattr(dispatch, "anonymisation_request", resent.append)
    contacts = ContactFactory.create_batch(20, last_name="Tranche")
    for contact in contacts:
        DocumentFactory(contact=contact)
    exported(contacts)
    request = anonymisation_request_create(
        population="contacts",
        selection=Contact.objects.filter(last_name="Tranche"),
        actor=rgpd_user(),
        confirmed=True,
        source=AnonymisationRequest.Source.BULK,
    )
    assert request.subject_count == 20 and not request.subjects.exists()

    # When the workers run each enqueue task, then the chunks it sent (the third finds no one left)
    recorded, statuses = [], []
    for _task in range(3):
        anonymisation_requests.anonymisation_request_enqueue(request_id=request.pk)
        recorded.append(request.subjects.count())
        for request_id, first, last in chunks:
            anonymisation_chunk_run(request_id=request_id, first_subject_id=first, last_subject_id=last)
        chunks.clear()
        request.refresh_from_db()
        statuses.append(request.status)

    # Then the people are recorded slice by slice, the task sent again while some may be left, the
    # request is done only once the last slice is anonymised, and no stored file is left behind
    assert recorded == [10, 20, 20]
    assert resent == [request.pk, request.pk]
    assert statuses == ["running", "running", "done"]
    assert (request.subject_count, request.anonymised_count) == (20, 20)
    assert not Contact.objects.filter(last_name="Tranche").exists()
    assert not PendingStorageDeletion.objects.exists()
