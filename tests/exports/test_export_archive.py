"""The archive's content (format v2), built by the real service into the real S3 bucket.

These tests call the part's service in this process (the database is PostgreSQL, storage is the
SeaweedFS bucket); the worker journeys are in test_export_journeys.py.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from contacts.models import Contact, Document
from rgpd.archive import safe_filename
from rgpd.models import ExportPart
from rgpd.populations import population
from rgpd.registry import registry
from rgpd.services.exports import export_part_build, export_request_create
from rgpd.storage import UPLOAD_PART_SIZE
from tests.factories import MINIMAL_PDF, ContactFactory, DocumentFactory, png_image, rgpd_user
from tests.support.exports import (
    archive_bytes,
    bucket_keys,
    incomplete_uploads,
    open_archive,
    request_prefix,
)

pytestmark = pytest.mark.usefixtures("on_s3")


def build(contacts, **kwargs):
    """Create an export request and build its parts here (enqueued tasks never run in a `db` test)."""
    export_request = export_request_create(
        population="contacts",
        subject_ids=[c.pk for c in contacts],
        actor=rgpd_user(),
        language="fr",
        **kwargs,
    )
    for part in export_request.parts.order_by("number"):
        assert export_part_build(part_id=part.pk) == "ready"
    return export_request


def test_the_archive_holds_every_registered_field_and_byte_identical_files(db):
    # Given a contact with a photo and three documents
    contact = ContactFactory(photo=png_image("portrait.png"))
    documents = [DocumentFactory(contact=contact) for _ in range(3)]

    # When its data is exported
    export_request = build([contact])

    # Then one ZIP is in the bucket, complete, and nothing is left half-uploaded
    part = export_request.parts.get()
    assert bucket_keys(request_prefix(export_request)) == [
        request_prefix(export_request) + part.object_key.rsplit("/", 1)[1]
    ]
    assert incomplete_uploads(request_prefix(export_request)) == []
    data = archive_bytes(part)
    assert len(data) == part.size and hashlib.sha256(data).hexdigest() == part.sha256
    archive = open_archive(data)

    # personal_data.json holds every registered field with the stored value
    record = archive["people"][contact.pk]
    fields = record["subject"]["fields"]
    subject = population("contacts").subject
    assert set(fields) == set(subject.personal)
    contact.refresh_from_db()
    for name in subject.personal:
        if name in subject.file_fields:
            continue
        stored = getattr(contact, name)
        expected = stored.isoformat() if hasattr(stored, "isoformat") else stored
        assert fields[name] == expected, name
    # ... the photo, byte-identical
    photo = fields["photo"]
    assert photo["archive_path"].startswith(f"contact-{contact.pk}/photo/")
    with default_storage.open(contact.photo.name, "rb") as handle:
        assert archive["files"][photo["archive_path"]] == handle.read()

    # ... and every document, byte-identical, with its metadata
    records = record["related"]["documents"]["records"]
    assert [r["id"] for r in records] == [d.pk for d in documents]
    for document, entry in zip(documents, records, strict=True):
        assert set(entry["fields"]) == set(registry.specs[Document].personal)
        assert entry["fields"]["original_name"] == document.original_name
        assert entry["fields"]["sha256"] == document.sha256
        path = entry["fields"]["file"]["archive_path"]
        assert path == f"contact-{contact.pk}/documents/{document.pk}_{document.original_name}"
        with default_storage.open(document.file.name, "rb") as handle:
            assert archive["files"][path] == handle.read()
        assert hashlib.sha256(archive["files"][path]).hexdigest() == document.sha256

    # The manifest describes the part
    manifest = archive["manifest"]
    assert manifest["request_id"] == export_request.pk
    assert (manifest["part"], manifest["part_count"]) == (1, 1)
    assert manifest["subjects"] == [{"id": contact.pk, "folder": f"contact-{contact.pk}"}]
    assert manifest["missing_files"] == []
    # personal_data.json, the person's page, photo, 3 documents, and the root index.html
    assert len(manifest["files"]) == 7

    # And the part expires after the retention
    assert part.status == ExportPart.Status.READY and not part.has_warnings
    assert part.expires_at - part.ready_at == timedelta(days=10)


MALICIOUS_NAMES = [
    "../../x.pdf",
    "/etc/passwd",
    # PostgreSQL refuses NUL in text: other control characters stand for it here (NUL: see below).
    "a\x01b\x1f.pdf",
    ("n" * 300) + ".pdf",
    "a.pdf",
    "a.pdf",
    "..",
    "C:\\Windows\\evil.pdf",
    "résumé\u202e\r\n.pdf",
]


def test_malicious_and_duplicate_names_give_safe_unique_entries(db):
    # Given documents whose recorded names are hostile or identical
    contact = ContactFactory()
    documents = [DocumentFactory(contact=contact) for _ in MALICIOUS_NAMES]
    for document, name in zip(documents, MALICIOUS_NAMES, strict=True):
        Document.objects.filter(pk=document.pk).update(original_name=name[:255])

    # When exported
    archive = open_archive(archive_bytes(build([contact]).parts.get()))

    # Then every entry is a plain relative path inside the person's folder, unique, and each
    # document is there byte-identical
    document_entries = [n for n in archive["names"] if n.startswith(f"contact-{contact.pk}/documents/")]
    assert len(document_entries) == len(MALICIOUS_NAMES) == len(set(document_entries))
    for name in archive["names"]:
        assert name in ("manifest.json", "index.html") or name.startswith(f"contact-{contact.pk}/")
        assert len(name.rsplit("/", 1)[-1]) <= 130
    for document in documents:
        entry = next(n for n in document_entries if n.rsplit("/", 1)[-1].startswith(f"{document.pk}_"))
        with default_storage.open(document.file.name, "rb") as handle:
            assert archive["files"][entry] == handle.read()
    assert f"contact-{contact.pk}/documents/{documents[1].pk}_passwd" in document_entries
    assert f"contact-{contact.pk}/documents/{documents[0].pk}_x.pdf" in document_entries


def test_safe_filename_rules():
    assert safe_filename("../../x.pdf") == "x.pdf"
    assert safe_filename("/etc/passwd") == "passwd"
    assert safe_filename("a\x00b.pdf") == "ab.pdf"
    assert safe_filename("..") == "file"
    assert safe_filename(".bashrc") == "bashrc"
    long = safe_filename("n" * 300 + ".pdf")
    assert len(long) == 120 and long.endswith(".pdf")
    assert safe_filename('a<b>c:"d|e?f*.pdf') == "a_b_c__d_e_f_.pdf"


def test_a_missing_document_is_reported_and_the_part_is_still_ready(db):
    # Given a contact with two documents, one of which has vanished from storage
    contact = ContactFactory()
    kept, lost = DocumentFactory(contact=contact), DocumentFactory(contact=contact)
    default_storage.delete(lost.file.name)

    # When exported
    export_request = build([contact])

    # Then the part is ready with warnings, and the manifest says which file is missing and why
    part = export_request.parts.get()
    assert part.status == ExportPart.Status.READY and part.has_warnings and part.missing_file_count == 1
    archive = open_archive(archive_bytes(part))
    assert archive["manifest"]["missing_files"] == [
        {
            "subject_id": contact.pk,
            "model": "contacts.document",
            "object_id": lost.pk,
            "field": "file",
            "name": lost.original_name,
            "reason": "not_found",
        }
    ]
    records = {r["id"]: r["fields"] for r in archive["people"][contact.pk]["related"]["documents"]["records"]}
    assert records[lost.pk]["file"]["missing"] is True and records[lost.pk]["file"]["archive_path"] is None
    assert records[kept.pk]["file"]["missing"] is False
    # ... and the person still counts as archived (the seed's condition to anonymise)
    from rgpd.selectors import annotate_has_ready_archive

    assert annotate_has_ready_archive(Contact.objects.filter(pk=contact.pk)).get().has_ready_archive


def test_many_people_one_folder_each(db, settings):
    # Given 7 people and parts of at most 3
    settings.RGPD_EXPORT_PART_SIZE = 3
    contacts = ContactFactory.create_batch(7)
    DocumentFactory(contact=contacts[0], file=ContentFile(MINIMAL_PDF, name="a.pdf"))

    # When exported
    export_request = build(contacts)

    # Then 3 parts, each person in exactly one of them, each part a valid archive of its own
    parts = list(export_request.parts.order_by("number"))
    assert [p.subject_count for p in parts] == [3, 3, 1]
    seen = []
    for part in parts:
        archive = open_archive(archive_bytes(part))
        assert archive["manifest"]["part"] == part.number and archive["manifest"]["part_count"] == 3
        seen += list(archive["people"])
    assert sorted(seen) == sorted(c.pk for c in contacts)
    assert Contact.objects.count() == 7


def test_the_writer_refuses_unsafe_entry_names():
    import io

    from rgpd.archive import ArchiveWriter

    class Sink(io.BytesIO):
        def commit(self):
            pass

        def abort(self):
            pass

    writer = ArchiveWriter(Sink(), date_time=__import__("datetime").datetime(2024, 1, 1))
    for name in ("../x", "/etc/passwd", "a/../b", "a\x00b", "a//b", "a\\b", ""):
        with pytest.raises(ValueError):
            writer.add_chunks(name, [b"x"])
    writer.add_chunks("contact-1/a.pdf", [b"x"])
    with pytest.raises(ValueError):
        writer.add_chunks("contact-1/a.pdf", [b"y"])
    assert writer.unique_name("contact-1/a.pdf") == "contact-1/a (2).pdf"


def test_memory_stays_flat_while_documents_stream_from_and_to_the_bucket(db):
    import tracemalloc

    # Given a contact with three documents of 40 MiB each (a 120 MiB archive)
    size = 40 * 1024 * 1024
    contact = ContactFactory()
    for n in range(3):
        DocumentFactory(contact=contact, file=ContentFile(bytes([n + 1]) * size, name=f"scan-{n}.tif"))
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
    )
    part = export_request.parts.get()

    # When its archive is built, with Python's allocations traced
    tracemalloc.start()
    try:
        assert export_part_build(part_id=part.pk) == "ready"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then the build never held a document, let alone the archive, in memory: its peak is bounded by
    # the upload part being sent (botocore reads it to sign and checksum it) and a read chunk
    part.refresh_from_db()
    assert part.size > 3 * size
    assert peak < 3 * UPLOAD_PART_SIZE + 4 * 1024 * 1024 < size, f"peak {peak / 2**20:.1f} MiB"
