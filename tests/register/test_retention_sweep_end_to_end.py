"""With a real worker: the retention sweep end to end (from "À examiner — durée de conservation dépassée",
the officer exports then anonymises every contact listed, through the usual confirmations and rules), and the
daily reminder sent once however often beat sends it."""

from __future__ import annotations

import html
import re
import time
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from contacts.models import Contact, Document
from gdpr_portal.celery import app
from harness.admin_actions import bulk_action_payload
from rgpd.models import AnonymisationRequest, DeadlineReminder, ExportRequest, LegalHold
from rgpd.subject_requests import services
from tests.factories import ContactFactory, DocumentFactory, rgpd_user
from tests.support.exports import archive_bytes, open_archive, wait_for_request_done
from tests.support.helpers import wait_until

RETENTION_LIST = "/admin/rgpd/rgpdcontact/?retention=past"


def last_contact(contact: Contact, on: date) -> Contact:
    Contact.objects.filter(pk=contact.pk).update(last_activity_on=on)
    return contact


def confirm(client, confirmation, **fields):
    """Send the confirmation page back as the browser would: its hidden fields, to its form's URL."""
    body = confirmation.content.decode()
    form = re.search(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', body, re.S)
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)):
        data.setdefault(name, []).append(html.unescape(value))
    data.pop("csrfmiddlewaretoken", None)
    return client.post(html.unescape(form.group(1)) or RETENTION_LIST, {**data, **fields})


def test_the_officer_exports_then_anonymises_the_contacts_past_retention(celery_worker, client):
    # Given two contacts last seen four years ago (with documents), one held, and one seen last month
    long_ago = timezone.localdate() - timedelta(days=4 * 365)
    stale = [ContactFactory(last_name=f"Ancien{n}") for n in range(2)]
    for contact in stale:
        DocumentFactory(contact=contact)  # (a document added is activity: the date is set after)
        last_contact(contact, long_ago)
    held = last_contact(ContactFactory(), long_ago)
    LegalHold.objects.create(subject_id=held.pk, reason="litigation", ends_on=date(2099, 1, 1))
    active = last_contact(ContactFactory(), timezone.localdate() - timedelta(days=30))
    client.force_login(rgpd_user(email="dpo@example.com"))
    ids = {c.pk for c in stale}

    # When the officer opens the list and exports "all the contacts matching" it
    page = client.get(RETENTION_LIST)
    assert {c.pk for c in page.context["cl"].result_list} == ids
    payload = bulk_action_payload("export_selected", [stale[0].pk], select_across=True)
    confirmation = client.post(RETENTION_LIST, payload)
    assert "concernant 2 personne(s) vont être exportées" in html.unescape(confirmation.content.decode())
    confirm(client, confirmation)

    # Then a worker builds one archive holding exactly them and their documents
    export = wait_for_request_done(ExportRequest.objects.get())
    archive = open_archive(archive_bytes(export.parts.get()))
    assert set(archive["people"]) == ids

    # When the officer anonymises "all the contacts matching" the list, ticking the box
    payload = bulk_action_payload("anonymise_selected", [stale[0].pk], select_across=True)
    confirmation = client.post(RETENTION_LIST, payload)
    assert "Les données concernant 2 contact(s) vont être anonymisées" in html.unescape(
        confirmation.content.decode()
    )
    confirm(client, confirmation, acknowledge="on")

    # Then exactly they are anonymised and their documents deleted; the held and active ones are untouched
    anonymisation = AnonymisationRequest.objects.get()
    wait_until(
        lambda: AnonymisationRequest.objects.get(pk=anonymisation.pk).status == "done",
        timeout=60,
        message="the anonymisation to finish",
    )
    assert set(Contact.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)) == ids
    assert not Document.objects.filter(contact_id__in=ids).exists()
    assert not Contact.objects.get(pk=held.pk).is_anonymised
    assert not Contact.objects.get(pk=active.pk).is_anonymised

    # And the list is empty now
    assert list(client.get(RETENTION_LIST).context["cl"].result_list) == []


def test_beat_sending_the_daily_reminder_twice_emails_each_officer_once(celery_worker, smtp_sink):
    # Given an officer and an overdue request
    rgpd_user(email="dpo@example.com")
    late = services.subject_request_record(
        kind="access",
        received_on=timezone.localdate() - timedelta(days=45),
        contact_ids=[ContactFactory().pk],
        actor=None,
    )

    # When beat sends the daily task twice, at the same moment, to the real worker
    for _ in range(2):
        app.send_task(settings.CELERY_BEAT_SCHEDULE["rgpd-deadline-reminders"]["task"])

    # Then one email arrives, listing the request's number and due date
    messages = smtp_sink.wait_for(1)
    celery_worker.wait_idle()
    time.sleep(2)
    assert len(smtp_sink.messages) == 1
    body = messages[0].get_body(("plain",)).get_content()
    assert f"Demande n° {late.pk}, due le {late.due_on:%d/%m/%Y}" in body
    assert messages[0]["To"] == "dpo@example.com"
    assert DeadlineReminder.objects.get().recipients == 1
