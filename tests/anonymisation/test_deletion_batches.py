"""The chunk that finishes a large request deletes every stored object left, even those another worker was
deleting at the same moment (PostgreSQL and SeaweedFS, two connections at once)."""

import threading
import time

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction

from rgpd.models import PendingStorageDeletion
from rgpd.services.anonymisation import pending_deletions_process


def test_the_finishing_deletion_waits_for_another_worker_and_deletes_what_it_left(transactional_db):
    # Given 5 stored objects queued for deletion, and another worker holding the first 2 of them
    names = [default_storage.save(f"contacts/batch-test/{n}.pdf", ContentFile(b"%PDF-1.4")) for n in range(5)]
    PendingStorageDeletion.objects.bulk_create(
        PendingStorageDeletion(key=name, population="contacts", subject_id=n) for n, name in enumerate(names)
    )
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                rows = list(PendingStorageDeletion.objects.select_for_update().order_by("pk")[:2])
                held.set()
                release.wait(10)
                for row in rows:
                    default_storage.delete(row.key)
                PendingStorageDeletion.objects.filter(pk__in=[row.pk for row in rows]).delete()
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert held.wait(10)

    # When the chunk finishing the request deletes the rest, 2 per batch, while the other worker still
    # holds its rows (it deletes them a moment later)
    finished = threading.Event()

    def finishing_chunk():
        try:
            pending_deletions_process(batch_size=2, wait_for_locked=True)
            finished.set()
        finally:
            connection.close()

    chunk = threading.Thread(target=finishing_chunk)
    chunk.start()
    time.sleep(1)
    assert not finished.is_set()  # it waits for the other worker instead of skipping its rows
    release.set()
    thread.join(10)
    chunk.join(20)

    # Then nothing is left to delete: not a row, not an object
    assert finished.is_set()
    assert not PendingStorageDeletion.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
