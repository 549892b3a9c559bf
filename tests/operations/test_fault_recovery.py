"""Faults, on real worker processes, Redis, PostgreSQL, SeaweedFS and SMTP: a worker killed mid-export and
restarted, the broker down when a job is confirmed, the email server down when an archive is ready."""

from __future__ import annotations

import html
import re
import threading
import time

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse

from harness.admin_actions import bulk_action_payload
from harness.smtp import SmtpSink
from rgpd.models import AnonymisationRequest, ExportPart, ExportRequest
from rgpd.services.exports import export_request_create
from rgpd.storage import s3_client
from tests.factories import ContactFactory, DocumentFactory, rgpd_user
from tests.support.broker import broker_unreachable
from tests.support.exports import (
    archive_bytes,
    archives,
    bucket_keys,
    incomplete_uploads,
    open_archive,
    request_prefix,
    wait_for_request_done,
    wait_until,
)

QUEUED = "Enregistré et mis en file d'attente : la file des tâches est injoignable pour le moment."
BIG = 16 * 1024 * 1024
JSON = "application/json"


pytestmark = pytest.mark.usefixtures("on_s3")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def request_page_url(export_request: ExportRequest) -> str:
    return reverse("admin:rgpd_exportrequest_change", args=[export_request.pk])


def answered_within(seconds: float, call):
    """``call()``'s result, made in a thread so that a web request hanging on the broker fails the test
    after ``seconds`` instead of hanging it; with the time it took."""
    result = {}

    def run():
        try:
            result["value"] = call()
        finally:
            connection.close()

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"no answer after {seconds} s: publishing hangs the web request"
    return result["value"], time.monotonic() - started


def send_periodic_task(name: str) -> None:
    """What beat does on schedule: send the named periodic task to the workers."""
    from django.conf import settings

    from gdpr_portal.celery import app

    app.send_task(settings.CELERY_BEAT_SCHEDULE[name]["task"])


def s3_parts(key: str, upload_id: str) -> list:
    """The chunks already uploaded to an S3 multipart upload in progress."""
    storage = archives()
    listed = s3_client(storage).list_parts(Bucket=storage.bucket_name, Key=key, UploadId=upload_id)
    return listed.get("Parts") or []


# --- A worker killed mid-export, then restarted ---------------------------------------------------------
def test_a_worker_killed_mid_export_and_restarted_finishes_it_within_three_minutes(
    export_workers, smtp_sink, settings, client
):
    # Given a worker with the production lease (nothing expires during this test) and an export of four
    # people in two parts, each person with a 16 MiB scan: long enough to be caught mid-build
    settings.RGPD_EXPORT_PART_SIZE = 2
    worker = export_workers(concurrency=1)
    contacts = ContactFactory.create_batch(4)
    for n, contact in enumerate(contacts):
        DocumentFactory(contact=contact, file=ContentFile(bytes([n + 1]) * BIG, name=f"scan-{n}.bin"))
    user = rgpd_user(email="dpo@example.com")
    client.force_login(user)
    client.post(
        reverse("admin:rgpd_rgpdcontact_changelist"),
        bulk_action_payload("export_selected", [c.pk for c in contacts], confirm=True),
    )
    export_request = ExportRequest.objects.get()
    assert export_request.part_count == 2
    prefix = request_prefix(export_request)

    # When the worker is killed (SIGKILL) while the first part's archive is being uploaded
    def uploading():
        part = ExportPart.objects.filter(request=export_request, status=ExportPart.Status.RUNNING).first()
        if part is None or not part.upload_id:
            return None
        key = f"{prefix}{part.object_key.rsplit('/', 1)[1]}"
        listed = s3_parts(key, part.upload_id)
        return part if listed else None

    killed_part = wait_until(uploading, interval=0.02, timeout=120, message="an archive being uploaded")
    worker.kill()
    killed_part.refresh_from_db()
    assert killed_part.status == ExportPart.Status.RUNNING and killed_part.attempts == 1

    # ... and restarted (same node name, as a supervisor or `restart: unless-stopped` does)
    restarted_at = time.monotonic()
    worker.start()

    # Then the whole export is ready within three minutes of the restart (seconds, in practice)
    try:
        export_request = wait_for_request_done(export_request, timeout=180)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.log()[-4000:]}") from exc
    elapsed = time.monotonic() - restarted_at
    assert elapsed <= 180, elapsed
    parts = list(export_request.parts.order_by("number"))
    assert [p.status for p in parts] == [ExportPart.Status.READY] * 2
    killed_part.refresh_from_db()
    assert killed_part.attempts == 2  # rebuilt once, the killed attempt discarded
    # One archive per part, nothing half-uploaded left, everybody inside, the scans byte-identical
    assert len(bucket_keys(prefix)) == 2 and incomplete_uploads(prefix) == []
    exported = {}
    for part in parts:
        archive = open_archive(archive_bytes(part))
        exported.update(archive["people"])
        assert all(f["size"] == BIG for f in archive["manifest"]["files"] if f["kind"] == "file")
    assert sorted(exported) == sorted(c.pk for c in contacts)
    assert len(smtp_sink.wait_for(1)) == 1
    # And the page shows it ready
    assert 'data-status="ready"' in client.get(request_page_url(export_request)).content.decode()


# --- The broker down when a job is confirmed ------------------------------------------------------------
def test_with_the_broker_down_a_confirmed_export_and_anonymisation_are_queued_then_done_once_it_is_back(
    celery_worker, client, smtp_sink, settings
):
    # Given an RGPD officer and three contacts; anonymisations of more than two run in the background
    settings.RGPD_ANONYMISATION_INLINE_MAX = 2
    user = rgpd_user(email="dpo@example.com")
    client.force_login(user)
    contacts = ContactFactory.create_batch(3)
    for contact in contacts:
        DocumentFactory(contact=contact)
    ids = [c.pk for c in contacts]

    # When they confirm an export in the admin while the broker hangs (connects, never answers), and
    # another through the API while it is down (connection refused)
    with broker_unreachable(silent=True):
        response, admin_took = answered_within(
            30,
            lambda: client.post(
                reverse("admin:rgpd_rgpdcontact_changelist"),
                bulk_action_payload("export_selected", ids, confirm=True),
                follow=True,
            ),
        )
    with broker_unreachable():
        api, api_took = answered_within(
            30, lambda: client.post(reverse("rgpd_api:export-list"), {"contacts": ids[:1]}, content_type=JSON)
        )

    # Then both answers come within seconds, the requests are recorded, and the user is told they are queued
    assert admin_took < 15 and api_took < 15, (admin_took, api_took)
    admin_request, api_request = ExportRequest.objects.order_by("pk")
    assert response.status_code == 200 and response.redirect_chain == [(request_page_url(admin_request), 302)]
    page = text_of(response)
    assert page.count(QUEUED) == 2  # the message, and the note on the request's page
    assert "Un email vous sera envoyé une fois l'archive générée." in page
    assert api.status_code == 202
    assert api.json()["awaiting_broker"] is True and api.json()["message"].startswith(QUEUED)
    assert api.json()["status"] == "pending"
    assert admin_request.awaiting_broker and api_request.awaiting_broker
    assert set(ExportPart.objects.values_list("status", "attempts")) == {(ExportPart.Status.PENDING, 0)}

    # When the broker is back and the periodic sweep runs
    send_periodic_task("rgpd-resume-stalled-exports")

    # Then both exports are built, their requesters emailed, and the pages no longer say "queued"
    for export_request in (admin_request, api_request):
        export_request = wait_for_request_done(export_request)
        assert set(export_request.parts.values_list("status", flat=True)) == {ExportPart.Status.READY}
        assert not export_request.awaiting_broker
        assert QUEUED not in text_of(client.get(request_page_url(export_request)))
    assert len(smtp_sink.wait_for(2)) == 2

    # When they anonymise the three contacts through the API while the broker is down
    with broker_unreachable(silent=True):
        api, api_took = answered_within(
            30,
            lambda: client.post(
                reverse("rgpd_api:anonymisation-list"), {"contacts": ids, "confirm": True}, content_type=JSON
            ),
        )

    # Then the answer comes within seconds, the request is recorded and the caller told it is queued
    assert api_took < 15, api_took
    assert api.status_code == 202
    body = api.json()
    assert body["awaiting_broker"] is True and body["message"].startswith(QUEUED)
    anonymisation = AnonymisationRequest.objects.get(pk=body["id"])
    assert anonymisation.status == AnonymisationRequest.Status.PENDING and anonymisation.subject_count == 3
    result_page = client.get(reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk]))
    assert QUEUED in text_of(result_page)

    # When the broker is back and the periodic sweep runs, Then the three contacts are anonymised
    send_periodic_task("rgpd-finish-pending-deletions")
    wait_until(
        lambda: AnonymisationRequest.objects.filter(
            pk=anonymisation.pk, status=AnonymisationRequest.Status.DONE, anonymised_count=3
        ).exists(),
        timeout=120,
        message="the queued anonymisation to be done",
    )
    anonymisation.refresh_from_db()
    assert not anonymisation.awaiting_broker
    for contact in contacts:
        contact.refresh_from_db()
        assert contact.anonymised_at is not None


# --- The email server down when the archive is ready ----------------------------------------------------
def test_with_the_email_server_down_the_archive_is_kept_and_its_page_offers_to_send_the_email_again(
    export_workers, client
):
    # Given a worker whose email server is down (a port nobody listens on yet) and gives up at once
    mail = SmtpSink()
    export_workers(EMAIL_PORT=mail.port, RGPD_EMAIL_MAX_RETRIES=0)
    user = rgpd_user(email="dpo@example.com")
    client.force_login(user)
    contact = ContactFactory()
    DocumentFactory(contact=contact)

    # When they export a contact
    client.post(reverse("admin:rgpd_export_contact", args=[contact.pk]))
    export_request = ExportRequest.objects.get()
    wait_until(
        lambda: ExportRequest.objects.filter(pk=export_request.pk).exclude(email_failed_at=None).exists(),
        message="the email's failure to be recorded",
    )

    # Then the archive is ready and kept, and the request's page says the email was not sent
    part = export_request.parts.get()
    part.refresh_from_db()
    assert part.status == ExportPart.Status.READY
    assert bucket_keys(request_prefix(export_request)) != []
    page = client.get(request_page_url(export_request))
    assert "Email non envoyé" in text_of(page)
    resend_url = reverse("admin:rgpd_exportrequest_resend_email", args=[export_request.pk])
    assert f'action="{resend_url}"' in page.content.decode()
    assert 'value="Renvoyer l&#x27;email"' in page.content.decode() or "Renvoyer l'email" in text_of(page)
    download = client.get(reverse("admin:rgpd_exportrequest_download", args=[export_request.pk, 1]))
    assert download.status_code == 302
    assert contact.pk in open_archive(archive_bytes(part))["people"]

    # When the email server is back: nothing is sent on its own (the worker gave up)...
    mail.start()
    try:
        time.sleep(2)
        assert mail.messages == []
        # ... until they click "Renvoyer l'email"
        response = client.post(resend_url, follow=True)

        # Then they are told it is being sent, and the requester receives it
        assert response.redirect_chain == [(request_page_url(export_request), 302)]
        assert "L'email est en cours de renvoi." in text_of(response)
        [message] = mail.wait_for(1)
        assert message["To"] == "dpo@example.com"
        assert (
            f"/admin/rgpd/exportrequest/{export_request.pk}/change/"
            in message.get_body(preferencelist=("plain",)).get_content()
        )
        # (the worker records the sending just after the server took the message)
        wait_until(
            lambda: ExportRequest.objects.filter(pk=export_request.pk).exclude(notified_at=None).exists(),
            message="the email recorded as sent",
        )
        export_request.refresh_from_db()
        assert export_request.email_failed_at is None
        page = text_of(client.get(request_page_url(export_request)))
        assert "Email non envoyé" not in page
        # A second click sends nothing more
        again = client.post(resend_url, follow=True)
        assert "Il n'y a pas d'email à renvoyer pour cet export." in text_of(again)
        time.sleep(1)
        assert len(mail.messages) == 1
    finally:
        mail.stop()


def test_the_worker_retries_the_email_with_backoff_until_the_server_is_back(export_workers):
    # Given a worker whose email server is down for now, and that retries the email
    mail = SmtpSink()
    export_workers(EMAIL_PORT=mail.port, RGPD_EMAIL_MAX_RETRIES=4)
    user = rgpd_user(email="dpo@example.com")
    contact = ContactFactory()
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=user, language="fr"
    )

    # When the first attempt failed
    wait_until(
        lambda: ExportRequest.objects.filter(pk=export_request.pk).exclude(email_failed_at=None).exists(),
        message="the email's first failure",
    )
    # ... and the server comes back
    mail.start()
    try:
        # Then a retry of the worker sends it, without anybody clicking anything
        [message] = mail.wait_for(1, timeout=120)
        assert message["To"] == "dpo@example.com"
        # (the worker records the sending just after the server took the message)
        wait_until(
            lambda: ExportRequest.objects.filter(pk=export_request.pk).exclude(notified_at=None).exists(),
            message="the email recorded as sent",
        )
        export_request.refresh_from_db()
        assert export_request.email_failed_at is None and export_request.email_error == ""
    finally:
        mail.stop()
