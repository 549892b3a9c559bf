"""Builds that meet trouble: a storage outage (retried with backoff by the real worker), a final
failure (recorded, emailed), and a build taken over by another claim (it leaves nothing behind)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from harness.seaweed import SeaweedFS
from rgpd.models import AuditEvent, ExportPart
from rgpd.services.exports import export_part_build, export_request_create
from rgpd.storage import s3_client
from tests.factories import ContactFactory, DocumentFactory, rgpd_user
from tests.support.exports import (
    archive_bytes,
    archives,
    bucket_keys,
    drop_queue,
    incomplete_uploads,
    open_archive,
    request_prefix,
    wait_for_request_done,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("on_s3")


def test_a_storage_outage_is_retried_and_the_archive_is_built_once_storage_is_back(celery_worker, smtp_sink):
    # Given a contact with a document, and the S3 gateway down
    contact = ContactFactory()
    DocumentFactory(contact=contact)
    seaweed = SeaweedFS.from_state()
    seaweed.stop()
    try:
        # When its export is asked for, Then the worker's attempt fails and the part waits for a retry
        export_request = export_request_create(
            population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
        )
        part = export_request.parts.get()
        wait_until(
            lambda: ExportPart.objects.filter(
                pk=part.pk, attempts__gte=1, status=ExportPart.Status.PENDING
            ).exists(),
            message="a failed first attempt given back for retry",
        )
    finally:
        seaweed.start()

    # When storage is back, Then a retry builds the archive: ready, one object, nothing half-uploaded
    export_request = wait_for_request_done(export_request, timeout=180)
    part.refresh_from_db()
    assert part.status == ExportPart.Status.READY and part.attempts >= 2
    prefix = request_prefix(export_request)
    assert len(bucket_keys(prefix)) == 1 and incomplete_uploads(prefix) == []
    open_archive(archive_bytes(part))
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_final_storage_failure_marks_the_part_failed_with_a_readable_error(
    db, django_capture_on_commit_callbacks
):
    # Given an export and the S3 gateway down for good
    contact = ContactFactory()
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
    )
    part = export_request.parts.get()
    seaweed = SeaweedFS.from_state()
    seaweed.stop()
    try:
        # When the last attempt fails
        with django_capture_on_commit_callbacks() as callbacks:
            outcome = export_part_build(part_id=part.pk, final_attempt=True)
    finally:
        seaweed.start()

    # Then the part is failed, says why in words, the failure is audited and the email is enqueued
    part.refresh_from_db()
    assert outcome == "failed" and part.status == ExportPart.Status.FAILED
    assert part.error.startswith("L'archive n'a pas pu être écrite ou lue dans le stockage")
    event = AuditEvent.objects.get(action=AuditEvent.Action.PART_FAILED)
    assert event.outcome == AuditEvent.Outcome.FAILURE and event.subject_ids == [contact.pk]
    assert event.details["error"] == "storage_error"
    assert len(callbacks) == 1
    assert bucket_keys(request_prefix(export_request)) == []


BIG = 16 * 1024 * 1024


@pytest.fixture
def unconsumed_queue(settings):
    """A queue no worker reads: this test builds the part itself. Deleted afterwards."""
    settings.RGPD_EXPORT_QUEUE = f"gdpr-export-test-nobody-{uuid.uuid4().hex[:8]}"
    yield settings.RGPD_EXPORT_QUEUE
    drop_queue(settings.RGPD_EXPORT_QUEUE)


def test_a_build_taken_over_stops_and_leaves_no_object_and_no_upload(
    transactional_db, settings, unconsumed_queue
):
    # Given a long build running in another thread (two documents of 16 MiB)
    settings.RGPD_EXPORT_LEASE_SECONDS = 60
    contact = ContactFactory()
    for n in range(2):
        DocumentFactory(contact=contact, file=ContentFile(bytes([n + 7]) * BIG, name=f"big-{n}.bin"))
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
    )
    part = export_request.parts.get()
    prefix = request_prefix(export_request)
    outcomes = []

    def first_build():
        try:
            outcomes.append(export_part_build(part_id=part.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=first_build)
    thread.start()

    def uploading():
        current = ExportPart.objects.get(pk=part.pk)
        if not current.upload_id:
            return False
        key = f"{prefix}{current.object_key.rsplit('/', 1)[1]}"
        storage = archives()
        return bool(
            s3_client(storage)
            .list_parts(Bucket=storage.bucket_name, Key=key, UploadId=current.upload_id)
            .get("Parts")
        )

    wait_until(uploading, interval=0.02, message="the first build's first uploaded chunk")

    # When its lease is deemed expired and another delivery claims the part and builds it
    ExportPart.objects.filter(pk=part.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert export_part_build(part_id=part.pk) == "ready"
    thread.join(120)

    # Then the first build noticed and stopped without publishing anything
    assert outcomes == ["lost"]
    part.refresh_from_db()
    assert part.status == ExportPart.Status.READY and part.attempts == 2
    assert bucket_keys(prefix) == [f"{prefix}{part.object_key.rsplit('/', 1)[1]}"]
    assert incomplete_uploads(prefix) == []
    archive = open_archive(archive_bytes(part))
    assert [f["size"] for f in archive["manifest"]["files"] if f["kind"] == "file"] == [BIG, BIG]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PART_READY).count() == 1


def test_an_export_whose_task_message_was_lost_is_resumed_by_the_periodic_task(
    celery_worker, smtp_sink, settings, unconsumed_queue
):
    # Given an export request whose part's task message went where no worker reads (a lost message)
    contact = ContactFactory()
    DocumentFactory(contact=contact)
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
    )
    part = export_request.parts.get()
    # ... an hour and more ago
    ExportPart.objects.filter(pk=part.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert ExportPart.objects.get(pk=part.pk).status == ExportPart.Status.PENDING

    # When beat's periodic sweep runs on the real worker
    from gdpr_portal.celery import app

    app.send_task(settings.CELERY_BEAT_SCHEDULE["rgpd-resume-stalled-exports"]["task"])

    # Then the part is built after all, and its requester gets the one email
    export_request = wait_for_request_done(export_request, timeout=120)
    part.refresh_from_db()
    assert part.status == ExportPart.Status.READY
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_lost_fan_out_message_is_made_up_for_by_the_periodic_task(
    celery_worker, smtp_sink, settings, unconsumed_queue, monkeypatch
):
    # Given a request of three parts whose one fan-out message went where no worker reads
    from rgpd.services import dispatch

    settings.RGPD_EXPORT_PART_SIZE = 1
    monkeypatch.setattr(dispatch, "ENQUEUE_DIRECT_MAX_PARTS", 2)
    contacts = ContactFactory.create_batch(3)
    export_request = export_request_create(
        population="contacts", subject_ids=[c.pk for c in contacts], actor=rgpd_user(), language="fr"
    )
    # ... an hour and more ago
    ExportPart.objects.filter(request=export_request).update(created_at=timezone.now() - timedelta(hours=2))

    # When beat's periodic sweep runs on the real worker
    from gdpr_portal.celery import app

    app.send_task(settings.CELERY_BEAT_SCHEDULE["rgpd-resume-stalled-exports"]["task"])

    # Then every part is built after all, and its requester gets the one email
    export_request = wait_for_request_done(export_request, timeout=120)
    assert set(export_request.parts.values_list("status", flat=True)) == {ExportPart.Status.READY}
    assert len(smtp_sink.wait_for(1)) == 1
