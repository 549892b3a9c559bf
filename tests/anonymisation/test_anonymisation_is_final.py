"""An anonymisation is final: no write path puts a person back, even when it runs at the same moment.

PostgreSQL with real threads (each with its own connection), and SQLite in a process of its own.
"""

import threading

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from contacts.integrity import ANONYMISED_REFUSAL, ContactAnonymised
from contacts.models import Contact, Document
from rgpd.populations import population
from rgpd.services.anonymisation import subjects_anonymise
from tests.contacts.test_documents import contact_form_data
from tests.factories import (
    MINIMAL_PDF,
    ContactFactory,
    DocumentFactory,
    UserFactory,
    exported,
    png_image,
    rgpd_user,
)
from tests.support.final_on_sqlite import a_value_for, probe

PAIRS = 30
PAIRS_AT_ONCE = 5
REFUSED_PAGE = "Ce contact a été anonymisé : il ne peut plus être modifié."

pytestmark = pytest.mark.django_db(transaction=True)


def personal_columns() -> list[str]:
    return [*population("contacts").subject.personal, "anonymised_at"]


def an_anonymised_contact() -> Contact:
    contact = ContactFactory(photo=png_image())
    DocumentFactory(contact=contact)
    exported([contact])
    assert subjects_anonymise(population="contacts", subject_ids=[contact.pk], actor=rgpd_user()).anonymised
    return Contact.objects.get(pk=contact.pk)


def run_in_pairs(pairs: list[tuple], *, timeout: float = 120) -> list[BaseException]:
    """Run each pair of callables at the same moment (a barrier per pair), a few pairs at a time.

    Each thread closes its database connection; the errors raised by any of them are returned.
    """
    errors: list[BaseException] = []

    def run(barrier: threading.Barrier, action) -> None:
        try:
            barrier.wait(timeout=30)
            action()
        except BaseException as error:  # reported to the test, which names it
            errors.append(error)
        finally:
            connection.close()

    for start in range(0, len(pairs), PAIRS_AT_ONCE):
        threads = []
        for pair in pairs[start : start + PAIRS_AT_ONCE]:
            barrier = threading.Barrier(len(pair))
            threads += [threading.Thread(target=run, args=(barrier, action)) for action in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
            assert not thread.is_alive(), "a writer is stuck"
    return errors


def logged_in_client(user) -> Client:
    client = Client(raise_request_exception=True)
    client.force_login(user)
    return client


# --- The database itself --------------------------------------------------------------------------------


@pytest.mark.parametrize("field_name", personal_columns())
def test_postgresql_refuses_to_put_a_personal_value_back_on_an_anonymised_contact(field_name):
    # Given an anonymised contact
    contact = an_anonymised_contact()
    before = Contact.objects.filter(pk=contact.pk).values().get()

    # When a plain ORM update (no form, no check) restores one of its personal fields
    with pytest.raises(IntegrityError, match=ANONYMISED_REFUSAL), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(**{field_name: a_value_for(field_name)})

    # Then the database refused it: nothing changed
    assert Contact.objects.filter(pk=contact.pk).values().get() == before


def test_an_anonymised_contact_still_takes_non_personal_writes_and_can_be_deleted():
    contact = an_anonymised_contact()
    Contact.objects.filter(pk=contact.pk).update(storage_key=contact.storage_key)
    Contact.objects.get(pk=contact.pk).delete()
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_a_stale_save_and_a_new_document_are_refused_and_the_new_files_are_removed():
    # Given a contact loaded before its anonymisation (a shell, a script, a future code path)
    contact = ContactFactory()
    exported([contact])
    stale = Contact.objects.get(pk=contact.pk)
    assert subjects_anonymise(population="contacts", subject_ids=[contact.pk], actor=rgpd_user()).anonymised

    # When it is saved back with a new photo
    stale.photo = png_image("new.png")
    with pytest.raises(ContactAnonymised):
        stale.save()
    # Then nothing changed, and the photo it had just stored is gone
    assert Contact.objects.get(pk=contact.pk).first_name == "xxx"
    assert stale.photo.name and not stale.photo.storage.exists(stale.photo.name)

    # When a document is created for it
    document = Document(contact_id=contact.pk, file=ContentFile(MINIMAL_PDF, name="payslip.pdf"))
    with pytest.raises(ContactAnonymised):
        document.save()
    # Then it has no document, and the uploaded file is not left in the storage
    assert not Document.objects.filter(contact_id=contact.pk).exists()
    assert document.file.name and not document.file.storage.exists(document.file.name)

    # And a document of another contact cannot be moved to it
    other = DocumentFactory()
    with pytest.raises(IntegrityError, match=ANONYMISED_REFUSAL), transaction.atomic():
        Document.objects.filter(pk=other.pk).update(contact_id=contact.pk)


def test_sqlite_refuses_the_same_writes(tmp_path):
    # Given the embedded default (SQLite) migrated from scratch in a process of its own
    outcome = probe(tmp_path, personal_columns())

    # Then every personal column, the document insert and the document move are refused
    assert outcome["engine"] == "sqlite"
    assert outcome["refused"] == {
        name: True for name in [*personal_columns(), "document_insert", "document_move"]
    }
    assert outcome["unchanged"] is True


# --- Users and officers at the same moment ----------------------------------------------------------------


def test_change_form_saves_racing_anonymisations_never_re_identify_anyone():
    # Given 30 exported contacts, a back-office user with their change forms open, and an officer
    contacts = [ContactFactory(photo=png_image()) for _ in range(PAIRS)]
    exported(contacts)
    editor = logged_in_client(UserFactory(is_superuser=True))
    officer = rgpd_user()
    statuses: list[int] = []

    def save_form(contact: Contact):
        data = contact_form_data(contact, phone="06 12 34 56 78")

        def post():
            statuses.append(
                editor.post(reverse("admin:contacts_contact_change", args=[contact.pk]), data).status_code
            )

        return post

    def anonymise(contact: Contact):
        return lambda: subjects_anonymise(population="contacts", subject_ids=[contact.pk], actor=officer)

    # When each form is saved at the same moment as the officer anonymises that contact
    errors = run_in_pairs([(save_form(c), anonymise(c)) for c in contacts])

    # Then nobody got an error page, and every contact is anonymised: no name, phone, photo came back
    assert errors == []
    assert set(statuses) <= {200, 302}
    for contact in Contact.objects.filter(pk__in=[c.pk for c in contacts]):
        assert contact.anonymised_at is not None
        assert (contact.first_name, contact.last_name, contact.phone, contact.photo.name) == (
            "xxx",
            "xxx",
            "xxx",
            "",
        )


def test_document_uploads_racing_anonymisations_leave_no_document_on_anyone_anonymised():
    # Given 30 exported contacts, a back-office user uploading a payslip to each, and an officer
    contacts = ContactFactory.create_batch(PAIRS)
    exported(contacts)
    uploader = logged_in_client(UserFactory(is_superuser=True))
    officer = rgpd_user()
    statuses: list[int] = []

    def upload(contact: Contact):
        def post():
            payslip = SimpleUploadedFile("bulletin.pdf", MINIMAL_PDF, content_type="application/pdf")
            data = {"contact": contact.pk, "kind": Document.Kind.PAYSLIP, "file": payslip}
            statuses.append(uploader.post(reverse("admin:contacts_document_add"), data).status_code)

        return post

    # When each upload happens at the same moment as the anonymisation of its contact
    errors = run_in_pairs(
        [
            (
                upload(c),
                lambda c=c: subjects_anonymise(population="contacts", subject_ids=[c.pk], actor=officer),
            )
            for c in contacts
        ]
    )

    # Then no error page, every contact is anonymised, and none of them holds a document
    assert errors == []
    assert set(statuses) <= {200, 302}
    ids = [c.pk for c in contacts]
    assert Contact.objects.filter(pk__in=ids, anonymised_at__isnull=False).count() == PAIRS
    assert not Document.objects.filter(contact_id__in=ids).exists()


def test_a_form_opened_before_the_anonymisation_says_so_when_saved():
    # Given a change form opened, then the contact anonymised by an officer
    contact = ContactFactory()
    exported([contact])
    editor = logged_in_client(UserFactory(is_superuser=True))
    data = contact_form_data(contact, first_name="Retour")
    assert subjects_anonymise(population="contacts", subject_ids=[contact.pk], actor=rgpd_user()).anonymised

    # When the form is saved
    response = editor.post(reverse("admin:contacts_contact_change", args=[contact.pk]), data, follow=True)

    # Then the user reads why nothing was saved, and the contact stays anonymous
    page = response.content.decode()
    assert REFUSED_PAGE in page
    assert "Loaded version" not in page  # the read-only view shows no internal field
    assert Contact.objects.get(pk=contact.pk).first_name == "xxx"


def test_two_users_editing_one_contact_the_second_is_told_instead_of_overwriting():
    # Given two users who opened the same contact's change form
    contact = ContactFactory(city="Valence")
    first = logged_in_client(UserFactory(is_superuser=True))
    second = logged_in_client(UserFactory(is_superuser=True))
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    first_data = contact_form_data(contact, city="Lyon")
    second_data = contact_form_data(contact, phone="04 75 00 00 00")

    # When the first saves, then the second
    assert first.post(url, first_data).status_code == 302
    response = second.post(url, second_data)

    # Then the second is told the contact changed meanwhile, and the first one's change stands
    assert response.status_code == 200
    assert escape("Quelqu'un d'autre a modifié ce contact") in response.content.decode()
    saved = Contact.objects.get(pk=contact.pk)
    assert (saved.city, saved.phone) == ("Lyon", contact.phone)
