"""The anonymisation service on PostgreSQL and SeaweedFS: what changes, what is refused, what is checked."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.forms.models import model_to_dict
from django.utils import formats

from contacts.models import Contact, Document
from rgpd.models import AnonymisationSubject, AuditEvent, ExportPart, PendingStorageDeletion
from rgpd.selectors import annotate_anonymisation_in_progress
from rgpd.services import anonymisation as service
from rgpd.services.anonymisation import (
    AnonymisationNotConfirmed,
    Reason,
    anonymisation_preview,
    anonymisation_request_create,
    pending_deletions_process,
)
from tests.factories import (
    ContactFactory,
    DocumentFactory,
    contact_history_entry,
    exported,
    png_image,
    rgpd_user,
)
from tests.support.triggers import history_rewritten_with

pytestmark = pytest.mark.django_db


def anonymisation_in_progress(contact: Contact) -> bool:
    """The state the RGPD page and the result page show: anonymised, its stored files being deleted."""
    return (
        annotate_anonymisation_in_progress(Contact.objects.filter(pk=contact.pk))
        .get()
        .anonymisation_in_progress
    )


def stored_keys(prefix: str) -> list[str]:
    """Object keys under ``prefix`` of the media storage, read from the bucket itself."""
    client = default_storage.connection.meta.client
    full = f"{default_storage.location}/{prefix}"
    response = client.list_objects_v2(Bucket=default_storage.bucket_name, Prefix=full)
    return [item["Key"] for item in response.get("Contents", [])]


def snapshot(contact: Contact) -> dict:
    contact = Contact.objects.get(pk=contact.pk)
    return {
        **model_to_dict(contact, fields=[f.name for f in Contact._meta.concrete_fields]),
        "photo": contact.photo.name,
        "updated_at": contact.updated_at,
        "documents": list(Document.objects.filter(contact=contact).values()),
    }


def a_contact_with_files(**kwargs) -> Contact:
    contact = ContactFactory(photo=png_image(), **kwargs)
    DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP)
    DocumentFactory(contact=contact, kind=Document.Kind.IDENTITY_DOCUMENT)
    return contact


def anonymise(*contacts, actor=None):
    return anonymisation_request_create(
        population="contacts",
        subject_ids=[c.pk for c in contacts],
        actor=actor or rgpd_user(),
        confirmed=True,
    )


def test_an_exported_contact_gets_the_registry_values_and_loses_its_documents():
    # Given an exported contact with a photo and two documents
    contact = a_contact_with_files(first_name="Aurelienne", last_name="Quintabelle")
    exported([contact])
    prefix = f"contacts/{contact.storage_key}/"
    assert len(stored_keys(prefix)) == 3

    # When it is anonymised
    request = anonymise(contact)

    # Then every personal field has its anonymised value and the documents' rows are gone
    contact.refresh_from_db()
    assert request.anonymised_count == 1 and request.status == "done"
    for name in ["first_name", "last_name", "email", "phone", "mobile", "street", "postal_code", "city"]:
        assert getattr(contact, name) == "xxx", name
    for name in ["civility", "company", "job_title", "notes"]:
        assert getattr(contact, name) == "", name
    assert contact.birth_date is None
    assert not contact.photo
    assert contact.anonymised_at is not None
    assert not Document.objects.filter(contact=contact).exists()
    # and the files wait for deletion after the commit: the contact shows "anonymisation in progress"
    assert anonymisation_in_progress(contact)
    assert PendingStorageDeletion.objects.filter(population="contacts", subject_id=contact.pk).count() == 3

    # When the pending deletions run
    report = pending_deletions_process(people=("contacts", [contact.pk]))

    # Then the bucket holds nothing of the contact any more, and the audit row says the checks passed
    assert report.deleted == 3 and report.failed == 0
    assert stored_keys(prefix) == []
    assert not anonymisation_in_progress(contact)
    event = AuditEvent.objects.get(action=AuditEvent.Action.ANONYMISED, subject_ids=[contact.pk])
    assert event.details["check"] == "passed"
    assert event.details["database_check"] == "passed"
    assert event.details["storage_check"] == "passed"
    assert event.counts["files"] == 3 and event.counts["related_rows_deleted"] == 2
    files_event = AuditEvent.objects.get(action=AuditEvent.Action.FILES_DELETED)
    assert files_event.subject_ids == [contact.pk]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("not exported", Reason.NOT_EXPORTED),
        ("export pending", Reason.EXPORT_IN_PROGRESS),
        ("export running", Reason.EXPORT_IN_PROGRESS),
        ("archive past its expiry", Reason.ARCHIVE_EXPIRED),
        ("archive purged", Reason.ARCHIVE_EXPIRED),
        ("export failed", Reason.NOT_EXPORTED),
    ],
)
def test_a_contact_without_a_ready_unexpired_archive_is_refused_and_unchanged(state, reason):
    # Given a contact in that state
    contact = a_contact_with_files()
    if state == "export pending":
        exported([contact], status=ExportPart.Status.PENDING)
    elif state == "export running":
        exported([contact], status=ExportPart.Status.RUNNING)
    elif state == "archive past its expiry":
        exported([contact], expires_in=timedelta(seconds=-1))
    elif state == "archive purged":
        exported([contact], status=ExportPart.Status.EXPIRED, expires_in=timedelta(days=-1))
    elif state == "export failed":
        exported([contact], status=ExportPart.Status.FAILED)
    before = snapshot(contact)

    # When it is anonymised
    request = anonymise(contact)

    # Then it is skipped with the reason and a message, and nothing of it changed
    result = request.subjects.get()
    assert (result.result, result.reason) == ("skipped", reason.value)
    assert service.reason_message(result.reason)
    assert snapshot(contact) == before
    assert not PendingStorageDeletion.objects.exists()
    assert len(stored_keys(f"contacts/{contact.storage_key}/")) == 3
    refused = AuditEvent.objects.get(action=AuditEvent.Action.ANONYMISATION_REFUSED)
    assert refused.details["reason"] == reason.value and refused.subject_ids == [contact.pk]


def test_a_running_export_blocks_anonymisation_even_with_another_ready_archive():
    # Given a contact with a ready archive, and a new export of it being built
    contact = ContactFactory()
    exported([contact])
    exported([contact], status=ExportPart.Status.RUNNING)

    # When it is anonymised, Then it is refused: the running part must not mix old and new values
    request = anonymise(contact)
    assert request.subjects.get().reason == Reason.EXPORT_IN_PROGRESS
    contact.refresh_from_db()
    assert contact.anonymised_at is None


def test_anonymising_twice_is_a_no_op_with_one_audit_row():
    # Given an anonymised contact
    contact = ContactFactory()
    exported([contact])
    anonymise(contact)
    pending_deletions_process()
    before = snapshot(contact)

    # When it is anonymised again
    again = anonymise(contact)

    # Then nothing changes and the audit log still has one anonymisation row for it
    assert again.subjects.get().reason == Reason.ALREADY_ANONYMISED
    assert snapshot(contact) == before
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.ANONYMISED, subject_ids=[contact.pk]).count() == 1
    )
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ANONYMISATION_REFUSED).exists()


def test_without_confirmation_nothing_happens():
    contact = ContactFactory()
    exported([contact])
    before = snapshot(contact)

    with pytest.raises(AnonymisationNotConfirmed):
        anonymisation_request_create(
            population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), confirmed=False
        )

    assert snapshot(contact) == before
    assert not AnonymisationSubject.objects.exists()


def test_an_unknown_contact_id_is_skipped_as_not_found():
    request = anonymise(Contact(pk=987654))
    assert request.subjects.get().reason == Reason.NOT_FOUND


def test_the_admin_history_of_the_contact_and_its_documents_is_rewritten_and_neighbours_kept():
    # Given a contact whose admin history quotes its name (as older code or a custom __str__ would)
    user = rgpd_user()
    contact = a_contact_with_files(first_name="Aurelienne", last_name="Quintabelle", email="aq@exemple.fr")
    document = contact.documents.first()
    neighbour = ContactFactory(first_name="Aurelienne")
    exported([contact])
    contact_type = ContentType.objects.get_for_model(Contact)
    document_type = ContentType.objects.get_for_model(Document)

    def log(content_type, object_id, repr_, message):
        return LogEntry.objects.create(
            user=user,
            content_type=content_type,
            object_id=str(object_id),
            object_repr=repr_,
            action_flag=CHANGE,
            change_message=message,
        )

    entries = [
        log(contact_type, contact.pk, "Aurelienne Quintabelle", '[{"changed": {"fields": ["Email"]}}]'),
        log(
            contact_type,
            contact.pk,
            "Contact",
            '[{"added": {"name": "document", "object": "bulletin Quintabelle.pdf"}}]',
        ),
        log(contact_type, contact.pk, "x", "Changed email to aq@exemple.fr."),  # pre-JSON free text
        log(document_type, document.pk, document.original_name, ""),
    ]
    kept = log(contact_type, neighbour.pk, "Aurelienne Dupont", "")

    # When the contact is anonymised
    anonymise(contact, actor=user)

    # Then its history (and its documents') holds no former value, and keeps its structure
    former = ["aurelienne", "quintabelle", "aq@exemple.fr", document.original_name.lower()]
    for entry in LogEntry.objects.filter(pk__in=[e.pk for e in entries]):
        text = f"{entry.object_repr} {entry.change_message}".lower()
        assert not any(value in text for value in former), text
    first = LogEntry.objects.get(pk=entries[0].pk)
    # "Contact anonymisé n° 12": the anonymised contact's own name, as the admin would write it now
    assert first.object_repr == str(Contact.objects.get(pk=contact.pk))
    assert str(contact.pk) in first.object_repr
    assert first.get_change_message()  # still a readable message
    assert LogEntry.objects.get(pk=entries[3].pk).object_repr == str(Document(pk=document.pk))
    # and the neighbour's history is untouched
    assert LogEntry.objects.get(pk=kept.pk).object_repr == "Aurelienne Dupont"


def test_a_failed_check_rolls_the_contact_back_and_reports_it():
    # Given a bug elsewhere that writes a former value back into the admin history when it is rewritten
    # (a copy kept elsewhere; the contact row itself is protected by the database, see
    # test_anonymisation_is_final.py)
    contact = a_contact_with_files(notes="Allergic to penicillin")
    exported([contact])
    contact_history_entry(author=rgpd_user(), contact_id=contact.pk, message="Allergic to penicillin")
    before = snapshot(contact)

    with history_rewritten_with(contact_id=contact.pk, message="Allergic to penicillin"):
        # When it is anonymised
        request = anonymise(contact)

    # Then the check found the value: the contact is skipped and nothing of it changed
    assert request.subjects.get().reason == Reason.VERIFICATION_FAILED
    assert snapshot(contact) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ANONYMISED).exists()


def test_audit_rows_hold_ids_and_counts_only():
    contact = a_contact_with_files(
        first_name="Aurelienne", last_name="Quintabelle", phone="+33 6 11 22 33 44"
    )
    exported([contact])
    anonymise(contact)
    pending_deletions_process()
    values = ["Aurelienne", "Quintabelle", "+33 6 11 22 33 44", contact.email]
    for event in AuditEvent.objects.all():
        text = f"{event.subject_ids} {event.counts} {event.details}"
        assert not any(value in text for value in values)


def test_the_dry_run_shows_who_and_their_current_values_and_lists_refusals():
    # Given two exported contacts and one that is not
    ready = a_contact_with_files(first_name="Aurelienne", last_name="Quintabelle", city="Valence")
    other = ContactFactory()
    exported([ready, other])
    refused = ContactFactory()
    before = snapshot(ready)

    # When the anonymisation is previewed with room for one contact in detail
    preview = anonymisation_preview(
        people=Contact.objects.filter(pk__in=[ready.pk, other.pk, refused.pk]).order_by("pk"), limit=1
    )

    # Then the counts cover the whole selection, one contact is detailed, the refused one has its reason
    assert (preview.total, preview.eligible_count, preview.refused_count) == (3, 2, 1)
    assert preview.more_contacts == 1
    assert [(r.contact_id, r.reason) for r in preview.refused] == [(refused.pk, "not_exported")]
    detailed = preview.contacts[0]
    assert detailed.contact_id == ready.pk
    changes = {c.name: (c.current, c.new) for c in detailed.changes}
    # the officer holds the right: the current values in full, to recognise the person
    assert (detailed.name, detailed.email) == ("Aurelienne Quintabelle", ready.email)
    assert changes["first_name"] == ("Aurelienne", "xxx")
    assert changes["city"] == ("Valence", "xxx")
    assert changes["birth_date"] == (formats.localize(ready.birth_date), "(vide)")
    assert changes["photo"] == ("un fichier", "supprimé")
    assert len(detailed.removals) == 2
    assert preview.refused[0].name == f"{refused.first_name} {refused.last_name}"
    assert preview.exportable_refused_ids == [refused.pk]
    # documents by kind and id: their file names ("bulletin-Dupont.pdf") are in the archive, not here
    assert "bulletin" not in repr(preview)
    # and nothing changed
    assert snapshot(ready) == before
