"""Anonymisation end to end: PostgreSQL, Redis, a real Celery worker and the SeaweedFS S3 gateway."""

import html
import io
import json
import re
import threading
import time
import uuid
import zipfile
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Document
from gdpr_portal.celery import app
from harness.admin_actions import bulk_action_payload
from harness.seaweed import SeaweedFS
from rgpd.models import (
    AnonymisationRequest,
    AnonymisationSubject,
    AuditEvent,
    ExportPart,
    PendingStorageDeletion,
    PendingTombstone,
)
from rgpd.services.anonymisation import subjects_anonymise
from rgpd.services.anonymisation.tombstones import tombstones_read
from rgpd.services.exports import export_part_build, export_request_create
from rgpd.storage import open_archive
from rgpd.tasks.anonymisation import FILE_DELETION_RETRIES
from tests.factories import ContactFactory, DocumentFactory, exported, png_image, rgpd_user
from tests.support.exports import drop_queue
from tests.support.helpers import wait_until

CHANGELIST = "admin:rgpd_rgpdcontact_changelist"


def cached_values(cache) -> list[bytes]:
    """Every value a cache holds, as stored (Redis: every string key of this run's own Redis)."""
    client = getattr(cache._cache, "get_client", None)
    if client is None:
        return [bytes(item) for item in cache._cache.values()]
    redis = client()
    return [redis.get(key) or b"" for key in redis.scan_iter(_type="string")]


FORMER = {
    "first_name": "Aurelienne",
    "last_name": "Quintabelle",
    "email": "aurelienne.quintabelle@exemple.fr",
    "phone": "+33 6 12 34 56 78",
}


def stored_keys(contact) -> list[str]:
    """What the bucket holds under the contact's prefix, read from the bucket itself."""
    client = default_storage.connection.meta.client
    prefix = f"{default_storage.location}/contacts/{contact.storage_key}/"
    response = client.list_objects_v2(Bucket=default_storage.bucket_name, Prefix=prefix)
    return [item["Key"] for item in response.get("Contents", [])]


def dump(*args) -> str:
    out = io.StringIO()
    call_command("dumpdata", *args, format="json", indent=1, stdout=out)
    return out.getvalue()


def dump_neighbours(neighbours) -> tuple[str, str]:
    """The neighbours' rows and their documents' rows, as dumpdata writes them."""
    pks = ",".join(str(n.pk) for n in neighbours)
    document_pks = ",".join(
        str(pk) for pk in Document.objects.filter(contact__in=neighbours).values_list("pk", flat=True)
    )
    return dump("contacts.Contact", "--pks", pks), dump("contacts.Document", "--pks", document_pks)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def a_person(**kwargs) -> Contact:
    contact = ContactFactory(photo=png_image(), **kwargs)
    DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP)
    DocumentFactory(contact=contact, kind=Document.Kind.EMPLOYMENT_CONTRACT)
    return contact


def export_for_real(contact, user) -> ExportPart:
    """Export through the export feature and let the worker build the archive."""
    export = export_request_create(actor=user, population="contacts", subject_ids=[contact.pk])
    part = export.parts.get()
    wait_until(
        lambda: ExportPart.objects.get(pk=part.pk).status == ExportPart.Status.READY,
        message="the archive part",
    )
    return ExportPart.objects.get(pk=part.pk)


def files_deleted(contact) -> bool:
    return not PendingStorageDeletion.objects.filter(population="contacts", subject_id=contact.pk).exists()


def test_an_exported_contact_is_anonymised_in_the_admin_and_nothing_of_it_remains(celery_worker, client):
    # Given a contact with a photo and documents, exported through the real export, and two neighbours
    user = rgpd_user()
    contact = a_person(**FORMER)
    neighbours = [a_person(), a_person()]
    part = export_for_real(contact, user)
    original_names = list(contact.documents.values_list("original_name", flat=True))
    assert len(stored_keys(contact)) == 3
    # and an admin history naming the person, as an older version (or a custom __str__) wrote it
    contact_type = ContentType.objects.get_for_model(Contact)
    LogEntry.objects.log_actions(
        user.pk, [contact], CHANGE, change_message=[{"changed": {"fields": ["E-mail"]}}]
    )
    LogEntry.objects.create(
        user=user,
        content_type=contact_type,
        object_id=str(contact.pk),
        object_repr=f"{FORMER['first_name']} {FORMER['last_name']}",
        action_flag=CHANGE,
        change_message=f"Changed email to {FORMER['email']} and phone to {FORMER['phone']}.",
    )
    neighbours_before = dump_neighbours(neighbours)
    neighbour_keys = [stored_keys(n) for n in neighbours]

    # When a user with the right ticks the box on the contact's confirmation page
    client.force_login(user)
    confirm = client.get(reverse("admin:rgpd_anonymise_contact", args=[contact.pk]))
    assert "Les données concernant 1 contact(s) vont être anonymisées" in text_of(confirm)
    response = client.post(reverse("admin:rgpd_anonymise_contact", args=[contact.pk]), {"acknowledge": "on"})
    assert response.status_code == 302

    # Then the worker deletes the files after the commit
    wait_until(lambda: files_deleted(contact), message="the file deletions")

    # and the contact's fields are xxx or empty, its documents and photo gone from the database and the bucket
    contact.refresh_from_db()
    assert [contact.first_name, contact.last_name, contact.email, contact.phone] == ["xxx"] * 4
    assert contact.notes == "" and contact.birth_date is None and not contact.photo
    assert not Document.objects.filter(contact_id=contact.pk).exists()
    assert stored_keys(contact) == []
    # it still appears in the RGPD list, and the result page says it is anonymised
    assert f'name="_selected_action" value="{contact.pk}"' in client.get(reverse(CHANGELIST)).content.decode()
    assert f'data-contact="{contact.pk}" data-result="anonymised"' in text_of(
        client.get(response["Location"])
    )
    # the audit row records both checks, ids and counts only
    event = AuditEvent.objects.get(action=AuditEvent.Action.ANONYMISED)
    assert event.subject_ids == [contact.pk] and event.actor == user
    assert (event.details["database_check"], event.details["storage_check"]) == ("passed", "passed")

    # A full dump of the database, admin history and sessions included, holds none of the former values
    full = dump()
    decoded = json.dumps(json.loads(full), ensure_ascii=False)
    for value in [*FORMER.values(), *original_names]:
        assert value not in full and value not in decoded, value
    # the sessions hold no personal data (decoded, not only their encoded form)
    for session in Session.objects.all():
        assert not any(value in str(session.get_decoded()) for value in FORMER.values())
    # nor do the caches (Redis, shared by every process)
    for alias in settings.CACHES:
        stored = cached_values(caches[alias])
        assert not any(value.encode() in item for item in stored for value in FORMER.values())
    # the neighbours are byte-identical, files included
    assert dump_neighbours(neighbours) == neighbours_before
    assert [stored_keys(n) for n in neighbours] == neighbour_keys
    # and the archive made before still holds the person's data, for the 10 days of its life
    with open_archive(part.object_key) as archive_file:
        names = zipfile.ZipFile(archive_file).namelist()
    assert f"contact-{contact.pk}/personal_data.json" in names


def test_an_export_in_progress_is_refused_and_its_archive_never_mixes_old_and_new(
    celery_worker, client, settings
):
    # Given a contact whose export was asked for and is not built yet (its task waits in a queue
    # no worker reads, so the worker cannot finish it before the anonymisation is tried)
    settings.RGPD_EXPORT_QUEUE = f"gdpr-export-test-nobody-{uuid.uuid4().hex[:8]}"
    user = rgpd_user()
    contact = a_person(**FORMER)
    export = export_request_create(actor=user, population="contacts", subject_ids=[contact.pk])
    client.force_login(user)

    # When it is anonymised at once, Then it is refused: the export is still in progress
    response = client.post(reverse("admin:rgpd_anonymise_contact", args=[contact.pk]), {"acknowledge": "on"})
    result = AnonymisationSubject.objects.get(request__pk=response["Location"].rstrip("/").split("/")[-2])
    assert (result.result, result.reason) == ("skipped", "export_in_progress")
    assert Contact.objects.get(pk=contact.pk).first_name == FORMER["first_name"]

    # When the archive is built and ready, Then the anonymisation goes through
    part = export.parts.get()
    export_part_build(part_id=part.pk)
    drop_queue(settings.RGPD_EXPORT_QUEUE)
    assert ExportPart.objects.get(pk=part.pk).status == ExportPart.Status.READY
    client.post(reverse("admin:rgpd_anonymise_contact", args=[contact.pk]), {"acknowledge": "on"})
    assert Contact.objects.get(pk=contact.pk).anonymised_at is not None

    # and the archive holds the old values only, with every document
    part.refresh_from_db()
    with open_archive(part.object_key) as archive_file:
        archive = zipfile.ZipFile(archive_file)
        record = json.loads(archive.read(f"contact-{contact.pk}/personal_data.json"))
        documents = [n for n in archive.namelist() if n.startswith(f"contact-{contact.pk}/documents/")]
    text = json.dumps(record, ensure_ascii=False)
    assert FORMER["first_name"] in text and FORMER["email"] in text
    assert '"xxx"' not in text
    assert len(documents) == 2


def test_an_anonymisation_waits_for_a_reader_holding_the_contact_and_the_reader_sees_no_mix(transactional_db):
    # Given an exported contact, and a reader (as the export's part builder) holding its row lock
    contact = ContactFactory(**FORMER)
    exported([contact])
    seen, locked, release = [], threading.Event(), threading.Event()

    def reader():
        try:
            with transaction.atomic():
                row = Contact.objects.select_for_update(no_key=True).get(pk=contact.pk)
                seen.append((row.first_name, row.email))
                locked.set()
                release.wait(10)
                seen.append(
                    tuple(Contact.objects.filter(pk=contact.pk).values_list("first_name", "email")[0])
                )
        finally:
            connection.close()

    thread = threading.Thread(target=reader)
    thread.start()
    assert locked.wait(10)

    # When the anonymisation starts while the reader holds the row
    done = threading.Event()

    def anonymise():
        try:
            subjects_anonymise(population="contacts", subject_ids=[contact.pk], actor=None)
            done.set()
        finally:
            connection.close()

    worker = threading.Thread(target=anonymise)
    worker.start()

    # Then it waits for the reader, which sees the same old values throughout
    time.sleep(1)
    assert not done.is_set()
    release.set()
    thread.join(10)
    worker.join(20)
    assert done.is_set()
    assert seen == [(FORMER["first_name"], FORMER["email"])] * 2
    assert Contact.objects.get(pk=contact.pk).first_name == "xxx"


def failed_attempts(contact) -> list[int]:
    """The attempt counts of the contact's stored objects still waiting to be deleted."""
    return list(
        PendingStorageDeletion.objects.filter(population="contacts", subject_id=contact.pk).values_list(
            "attempts", flat=True
        )
    )


def test_files_left_by_a_storage_outage_are_retried_by_the_worker_then_deleted_by_the_periodic_task(
    celery_worker, client
):
    # Given an exported contact with files, and the S3 gateway down
    user = rgpd_user()
    contact = a_person()
    exported([contact])
    client.force_login(user)
    seaweed = SeaweedFS.from_state()
    seaweed.stop()
    try:
        # When the contact is anonymised
        response = client.post(
            reverse("admin:rgpd_anonymise_contact", args=[contact.pk]), {"acknowledge": "on"}
        )

        # Then the database is anonymised at once, the deletion fails in the worker and is kept for later
        assert Contact.objects.get(pk=contact.pk).anonymised_at is not None
        # (as does the tombstone, which the storage refused at the commit)
        assert [owed.subject_ids for owed in PendingTombstone.objects.all()] == [[contact.pk]]
        wait_until(
            lambda: len([n for n in failed_attempts(contact) if n >= 1]) == 3,
            message="a failed deletion attempt",
        )
        # and the contact is visibly "anonymisation en cours"
        row = text_of(client.get(reverse(CHANGELIST)))
        assert "Anonymisation en cours : les fichiers stockés sont en cours de suppression." in row
        result = text_of(client.get(response["Location"]))
        assert f'data-contact="{contact.pk}" data-result="in_progress"' in result
        assert "anonymisation en cours" in result
        # and the worker tries again by itself within seconds, FILE_DELETION_RETRIES times, then stops
        wait_until(
            lambda: failed_attempts(contact) == [FILE_DELETION_RETRIES + 1] * 3,
            timeout=60,
            message="the worker's own retries",
        )
    finally:
        seaweed.start()

    # When the gateway is back and the periodic task runs (by its beat name)
    assert len(stored_keys(contact)) == 3
    app.send_task(settings.CELERY_BEAT_SCHEDULE["rgpd-finish-pending-deletions"]["task"])

    # Then nothing of the contact is left in the bucket, and the audit row records the storage check
    wait_until(lambda: files_deleted(contact), message="the periodic deletion")
    assert stored_keys(contact) == []
    event = AuditEvent.objects.get(action=AuditEvent.Action.ANONYMISED)
    assert event.details["storage_check"] == "passed"
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.FILES_DELETED, subject_ids=[contact.pk]
    ).exists()
    assert f'data-contact="{contact.pk}" data-result="anonymised"' in text_of(
        client.get(response["Location"])
    )
    # and the tombstone owed since the outage is written by the same task
    wait_until(lambda: not PendingTombstone.objects.exists(), message="the tombstone by the periodic task")
    assert contact.pk in tombstones_read()["contacts"]


def test_a_bulk_of_200_with_20_not_exported_runs_in_the_background_and_reports_everyone(
    celery_worker, client
):
    # Given 200 contacts found by a search, 180 of them exported (some with documents), and a bystander
    contacts = ContactFactory.create_batch(200, last_name="Bulkmann")
    for contact in contacts[:10]:
        DocumentFactory(contact=contact)
    exported(contacts[:180])
    not_exported = contacts[180:]
    bystander = ContactFactory()
    exported([bystander])
    user = rgpd_user()
    client.force_login(user)
    url = reverse(CHANGELIST) + "?q=Bulkmann"
    action = bulk_action_payload("anonymise_selected", [contacts[0].pk], select_across=True)

    # When "select all 200" is anonymised through the bulk action, box ticked
    page = text_of(client.post(url, action))
    assert "Les données concernant 180 contact(s) vont être anonymisées" in page
    assert "20 contacts de la sélection ne peuvent pas être anonymisés et seront ignorés" in page
    confirm = bulk_action_payload(
        "anonymise_selected",
        [contacts[0].pk],
        select_across=True,
        confirm=True,
        expected_count="200",
        acknowledge="on",
    )
    response = client.post(url, confirm)
    answered_at = time.time()

    # Then the web request only recorded the request: every contact was processed later, by the worker
    assert response.status_code == 302
    anonymisation = AnonymisationRequest.objects.get()
    wait_until(
        lambda: AnonymisationRequest.objects.get(pk=anonymisation.pk).status == "done",
        message="the bulk request",
    )
    processed = AnonymisationSubject.objects.filter(request=anonymisation).values_list(
        "processed_at", flat=True
    )
    assert min(p.timestamp() for p in processed) >= answered_at - 0.05
    wait_until(lambda: not PendingStorageDeletion.objects.exists(), message="the documents' deletion")

    # and the result page reports the 180 anonymised and the 20 skipped with their reason
    result = text_of(client.get(response["Location"]))
    assert "180 contacts anonymisés" in result and "20 contacts ignorés" in result
    assert len(re.findall(r'data-result="anonymised"', result)) == 180
    for contact in not_exported:
        assert f'data-contact="{contact.pk}" data-result="skipped" data-reason="not_exported"' in result
    assert (
        result.count("Aucune archive n'a été générée pour ce contact : exportez d'abord les données.") == 20
    )
    assert (
        Contact.objects.filter(pk__in=[c.pk for c in contacts[:180]], anonymised_at__isnull=False).count()
        == 180
    )
    assert not Contact.objects.filter(
        pk__in=[c.pk for c in not_exported], anonymised_at__isnull=False
    ).exists()
    assert Contact.objects.get(pk=bystander.pk).anonymised_at is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ANONYMISED).count() == 180
    assert all(stored_keys(c) == [] for c in contacts[:10])


def test_a_request_whose_task_messages_were_lost_is_resumed_by_the_periodic_task(celery_worker):
    # Given a request recorded but never enqueued (broker down at that moment), and one whose last chunk
    # died after its last contact, both silent for more than 10 minutes
    contacts = ContactFactory.create_batch(12)
    exported(contacts)
    stale = timezone.now() - timedelta(minutes=11)
    lost = AnonymisationRequest.objects.create(
        population="contacts", subject_count=12, source="bulk", updated_at=stale
    )
    AnonymisationSubject.objects.bulk_create(
        AnonymisationSubject(request=lost, requested_id=c.pk, subject_id=c.pk) for c in contacts
    )
    stuck = AnonymisationRequest.objects.create(
        population="contacts", subject_count=1, status="running", updated_at=stale
    )
    AnonymisationSubject.objects.create(request=stuck, requested_id=0, result="skipped", reason="not_found")

    # When the periodic task runs
    app.send_task(settings.CELERY_BEAT_SCHEDULE["rgpd-finish-pending-deletions"]["task"])

    # Then both requests end, with every contact processed
    wait_until(
        lambda: set(AnonymisationRequest.objects.values_list("status", flat=True)) == {"done"},
        message="the resumed requests",
    )
    lost.refresh_from_db()
    assert (lost.processed_count, lost.anonymised_count) == (12, 12)
    assert Contact.objects.filter(anonymised_at__isnull=False).count() == 12
    stuck.refresh_from_db()
    assert (stuck.processed_count, stuck.skipped_count) == (1, 1)
