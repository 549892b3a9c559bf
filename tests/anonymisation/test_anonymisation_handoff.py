"""A large "select all" anonymisation is accepted by the web request and recorded by a worker, as a large
export is: PostgreSQL, Redis and a real Celery worker."""

import html
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
from harness.admin_actions import bulk_action_payload
from rgpd.models import AnonymisationRequest, AnonymisationSubject, AuditEvent
from rgpd.services.anonymisation import requests as anonymisation_requests
from tests.factories import ContactFactory, exported, rgpd_user
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
