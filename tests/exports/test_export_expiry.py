"""Archives expire after the retention: the hourly purge (frozen clock at the boundary, two runs at
once) and the bucket's lifecycle rule installed by ``rgpd_setup_storage``."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import storages
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from rgpd.models import AuditEvent, ExportPart
from rgpd.selectors import annotate_has_ready_archive
from rgpd.services.exports import export_archives_purge, export_part_build, export_request_create
from rgpd.storage import LIFECYCLE_RULE_ID, s3_client
from tests.factories import ContactFactory, DocumentFactory, rgpd_user
from tests.support.exports import archives, bucket_keys, request_prefix, wait_for_request_done

RETENTION = timedelta(days=10)


pytestmark = pytest.mark.usefixtures("on_s3")


def has_ready_archive(contact_id: int) -> bool:
    """What the RGPD page and the anonymisation read: is this person covered by a ready archive?"""
    return annotate_has_ready_archive(Contact.objects.filter(pk=contact_id)).get().has_ready_archive


def built_part(contact=None) -> ExportPart:
    contact = contact or ContactFactory()
    DocumentFactory(contact=contact)
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
    )
    part = export_request.parts.get()
    assert export_part_build(part_id=part.pk) == "ready"
    part.refresh_from_db()
    return part


def test_the_purge_deletes_archives_past_the_retention_and_keeps_newer_ones(db):
    # S3 refuses requests signed more than 15 minutes off its clock, so the clock is frozen near the
    # real time and the archives are made "old" in the database: one reached its expiry exactly now,
    # the other one second later.
    now = timezone.now().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        # Given two archives made now: their expiry is the retention later
        due, newer = built_part(), built_part()
        assert due.ready_at == now and due.expires_at == now + RETENTION
        # ... as if made 10 days ago, and 10 days ago plus one second
        ExportPart.objects.filter(pk=due.pk).update(ready_at=now - RETENTION, expires_at=now)
        ExportPart.objects.filter(pk=newer.pk).update(
            ready_at=now - RETENTION + timedelta(seconds=1), expires_at=now + timedelta(seconds=1)
        )

        # When the purge runs at the boundary
        assert export_archives_purge() == 1

        # Then the archive made 10 days ago is gone and marked expired; the newer one is kept
        due.refresh_from_db()
        newer.refresh_from_db()
        assert (due.status, due.purged_at) == (ExportPart.Status.EXPIRED, now)
        assert bucket_keys(request_prefix(due.request_id)) == []
        assert newer.status == ExportPart.Status.READY
        assert len(bucket_keys(request_prefix(newer.request_id))) == 1
        # ... and its person no longer has a ready archive, while the other still has
        assert not has_ready_archive(due.subjects.get().subject_id)
        assert has_ready_archive(newer.subjects.get().subject_id)

    # When one second has passed, Then the second one goes too
    with time_machine.travel(now + timedelta(seconds=1), tick=False):
        assert export_archives_purge() == 1
        assert ExportPart.objects.get(pk=newer.pk).status == ExportPart.Status.EXPIRED
        assert bucket_keys(request_prefix(newer.request_id)) == []
        # and a purge with nothing left to do does nothing
        assert export_archives_purge() == 0

    # And each purge is audited once, by ids only
    purges = AuditEvent.objects.filter(action=AuditEvent.Action.ARCHIVE_PURGED)
    assert sorted(e.details["part"] for e in purges) == [1, 1]
    assert sorted(e.export_request_id for e in purges) == sorted([due.request_id, newer.request_id])


def test_two_purges_at_once_delete_and_audit_each_archive_once(celery_worker):
    # Given three archives built by the worker, all past their expiry
    contacts = ContactFactory.create_batch(3)
    parts = []
    for contact in contacts:
        DocumentFactory(contact=contact)
        export_request = export_request_create(
            population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
        )
        wait_for_request_done(export_request)
        parts.append(export_request.parts.get())
    ExportPart.objects.filter(pk__in=[p.pk for p in parts]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    # When two purges run at the same moment
    barrier, counts = threading.Barrier(2), []

    def purge():
        try:
            barrier.wait(10)
            counts.append(export_archives_purge())
        finally:
            connection.close()

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Then together they purged each archive once
    assert sum(counts) == 3
    for part in parts:
        assert ExportPart.objects.get(pk=part.pk).status == ExportPart.Status.EXPIRED
        assert bucket_keys(request_prefix(part.request_id)) == []
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ARCHIVE_PURGED).count() == 3


def rules_of(bucket: str) -> list[dict]:
    return s3_client(archives()).get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]


def test_rgpd_setup_storage_creates_the_bucket_and_installs_the_lifecycle_rule(settings):
    # The run's bucket got the rule when the test environment started (scripts/testenv.py)
    (rule,) = [r for r in rules_of(settings.AWS_STORAGE_BUCKET_NAME) if r["ID"] == LIFECYCLE_RULE_ID]
    assert rule["Filter"]["Prefix"] == "rgpd-archives/"

    # Given a bucket that does not exist yet, and a 7-day retention
    bucket = f"gdpr-setup-{uuid.uuid4().hex[:8]}"
    options = {**settings.STORAGES["rgpd_archives"]["OPTIONS"], "bucket_name": bucket}
    settings.STORAGES = {
        **settings.STORAGES,
        "rgpd_archives": {**settings.STORAGES["rgpd_archives"], "OPTIONS": options},
    }
    settings.RGPD_ARCHIVE_RETENTION_DAYS = 7
    client = s3_client(storages["rgpd_archives"])
    assert bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]

    # When the command runs (twice: it is idempotent)
    call_command("rgpd_setup_storage")
    call_command("rgpd_setup_storage")

    # Then the bucket exists with one rule on the archives' prefix: retention + 1 day, and
    # incomplete multipart uploads aborted after a day
    assert bucket in [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert rules_of(bucket) == [
        {
            "ID": LIFECYCLE_RULE_ID,
            "Filter": {"Prefix": "rgpd-archives/"},
            "Status": "Enabled",
            "Expiration": {"Days": 8},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]
