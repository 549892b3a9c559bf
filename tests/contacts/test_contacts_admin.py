"""The contacts admin as a daily tool (issue 16, item 7): search, filters, names, the contact chosen by
name, history and sizes in the interface's language, files to choose again after an error."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import Contact, Document
from tests.contacts.test_documents import contact_form_data
from tests.factories import MINIMAL_PDF, ContactFactory, DocumentFactory, UserFactory, png_image

pytestmark = pytest.mark.django_db
CONTACTS = reverse("admin:contacts_contact_changelist")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin-bo", is_superuser=True))
    return client


def listed(client, **params) -> set[str]:
    """The last names the contacts list shows for these query parameters."""
    page = client.get(CONTACTS, params)
    assert page.status_code == 200
    return {contact.last_name for contact in page.context["cl"].result_list}


def test_search_finds_a_contact_by_postal_code_city_and_company(admin_client):
    ContactFactory(last_name="Perrin", postal_code="69002", city="Lyon", company="Acme Conseil")
    ContactFactory(last_name="Morel", postal_code="75011", city="Paris", company="Brioche SA")

    assert listed(admin_client, q="69002") == {"Perrin"}
    assert listed(admin_client, q="Lyon") == {"Perrin"}
    assert listed(admin_client, q="Brioche") == {"Morel"}


def test_search_finds_a_phone_whatever_its_spacing(admin_client):
    ContactFactory(last_name="Joined", phone="0478123456", mobile="")
    ContactFactory(last_name="Spaced", phone="04 72 98 76 54", mobile="")
    ContactFactory(last_name="Dotted", phone="", mobile="06.11.22.33.44")

    assert listed(admin_client, q="04 78 12 34 56") == {"Joined"}
    assert listed(admin_client, q="0472987654") == {"Spaced"}
    assert listed(admin_client, q="06 11 22 33 44") == {"Dotted"}
    assert listed(admin_client, q="98 76 54") == {"Spaced"}


def test_the_list_filters_by_company_city_document_kind_and_anonymised(admin_client):
    perrin = ContactFactory(last_name="Perrin", city="Lyon", company="Acme")
    ContactFactory(last_name="Morel", city="Paris", company="Brioche")
    DocumentFactory(contact=perrin, kind=Document.Kind.EMPLOYMENT_CONTRACT)
    DocumentFactory(contact=perrin, kind=Document.Kind.EMPLOYMENT_CONTRACT)

    filters = text_of(admin_client.get(CONTACTS))
    for title in ("Par société", "Par ville", "Par type de document", "Par anonymisé"):
        assert title in filters
    assert listed(admin_client, company="Acme") == {"Perrin"}
    assert listed(admin_client, city="Paris") == {"Morel"}
    assert listed(admin_client, document_kind="employment_contract") == {"Perrin"}
    assert listed(admin_client, document_kind="payslip") == set()
    assert listed(admin_client, anonymised="no") == {"Perrin", "Morel"}


def test_a_document_is_linked_to_its_contact_by_name_through_autocomplete(admin_client):
    ContactFactory(first_name="Jeanne", last_name="Moreau", email="jeanne.moreau@example.org")

    # The document form offers the contact's search, not a box for its number
    form = admin_client.get(reverse("admin:contacts_document_add")).content.decode()
    assert 'class="admin-autocomplete' in form and "vForeignKeyRawIdAdminField" not in form

    # and the search answers the contact's name
    answer = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "Moreau", "app_label": "contacts", "model_name": "document", "field_name": "contact"},
    ).json()
    assert [item["text"] for item in answer["results"]] == ["Jeanne Moreau"]


def test_contacts_and_documents_are_named_in_lists_and_messages(admin_client):
    contact = ContactFactory(first_name="Jeanne", last_name="Moreau")
    document = DocumentFactory(contact=contact)

    saved = admin_client.post(
        reverse("admin:contacts_contact_change", args=[contact.pk]),
        contact_form_data(contact, job_title="Analyste"),
        follow=True,
    )
    # (and Django's stock sentence without its clumsy "L’objet contact …")
    assert "Modification enregistrée : contact « Jeanne Moreau »." in text_of(saved)
    assert "L’objet" not in text_of(saved)
    documents = text_of(admin_client.get(reverse("admin:contacts_document_changelist")))
    assert "Jeanne Moreau" in documents and "Contact n°" not in documents
    assert str(document) == document.original_name


def test_the_history_names_the_changed_fields_in_the_interfaces_language(admin_client):
    contact = ContactFactory(mobile="0600000000", job_title="Analyste")
    admin_client.post(
        reverse("admin:contacts_contact_change", args=[contact.pk]),
        contact_form_data(contact, mobile="0611111111", job_title="Chef de projet"),
    )
    assert LogEntry.objects.filter(object_id=str(contact.pk)).exists()

    history = text_of(admin_client.get(reverse("admin:contacts_contact_history", args=[contact.pk])))
    assert "Modification de Téléphone mobile et Fonction." in history
    admin_client.cookies["django_language"] = "en"
    english = text_of(admin_client.get(reverse("admin:contacts_contact_history", args=[contact.pk])))
    assert "Changed Mobile and Job title." in english


def test_the_title_field_reads_title_in_english_and_civilite_in_french(admin_client):
    contact = ContactFactory()
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    assert re.search(r'<label for="id_civility">Civilité\s?:</label>', admin_client.get(url).content.decode())
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(url).content.decode()
    assert re.search(r'<label for="id_civility">Title:</label>', english)
    assert "Civility" not in english


def test_file_sizes_read_ko_and_mo_in_french(admin_client):
    contact = ContactFactory()
    DocumentFactory(
        contact=contact, file=SimpleUploadedFile("grand.pdf", MINIMAL_PDF + b"%" + b"x" * 300_000)
    )
    documents = text_of(admin_client.get(reverse("admin:contacts_document_changelist")))
    assert re.search(r"\d+(,\d)? Ko", documents) and "Kio" not in documents


def test_after_a_validation_error_the_form_names_the_files_to_choose_again(admin_client):
    contact = ContactFactory()
    upload = SimpleUploadedFile("Bulletin mars.pdf", MINIMAL_PDF, content_type="application/pdf")
    photo = png_image("portrait.png")

    # When the form is sent with an error (no last name) and a new photo and document
    response = admin_client.post(
        reverse("admin:contacts_contact_change", args=[contact.pk]),
        contact_form_data(
            contact,
            last_name="",
            photo=SimpleUploadedFile("portrait.png", photo.read(), content_type="image/png"),
            **{
                "documents-TOTAL_FORMS": "1",
                "documents-0-id": "",
                "documents-0-contact": str(contact.pk),
                "documents-0-kind": Document.Kind.PAYSLIP,
                "documents-0-file": upload,
            },
        ),
    )

    # Then nothing is saved, and the page says which files to choose again
    assert response.status_code == 200
    page = text_of(response)
    assert "Rien n'a été enregistré." in page
    assert "photo « portrait.png »" in page and "document (ligne 1) « Bulletin mars.pdf »" in page
    assert not Document.objects.filter(contact=contact).exists()
    assert not Contact.objects.get(pk=contact.pk).photo


def test_contacts_and_documents_deleted_in_the_admin_leave_no_name_in_the_history(admin_client):
    one = ContactFactory(first_name="Jeanne", last_name="Moreau")
    two, three = ContactFactory(last_name="Lefebvre"), ContactFactory(last_name="Garnier")
    kept = DocumentFactory(contact=ContactFactory(last_name="Durand"))
    file_name = kept.original_name
    names = ["Moreau", "Lefebvre", "Garnier", file_name]
    for contact in (one, two, three):  # each one named in an earlier change
        change = reverse("admin:contacts_contact_change", args=[contact.pk])
        admin_client.post(change, contact_form_data(contact))
    assert LogEntry.objects.filter(object_repr__contains="Moreau").exists()

    admin_client.post(reverse("admin:contacts_contact_delete", args=[one.pk]), {"post": "yes"})
    admin_client.post(
        CONTACTS, {"action": "delete_selected", "_selected_action": [two.pk, three.pk], "post": "yes"}
    )
    admin_client.post(reverse("admin:contacts_document_delete", args=[kept.pk]), {"post": "yes"})

    assert not Contact.objects.filter(pk__in=[one.pk, two.pk, three.pk]).exists()
    assert not Document.objects.filter(pk=kept.pk).exists()
    reprs = list(LogEntry.objects.values_list("object_repr", flat=True))
    assert LogEntry.objects.filter(action_flag=3).count() == 4  # each deletion logged, by id only
    assert not [text for text in reprs for name in names if name in text], reprs


@pytest.mark.parametrize(
    "url_name",
    ["admin:contacts_contact_change", "admin:auth_user_change", "admin:staff_employeeprofile_change"],
)
@pytest.mark.parametrize("object_id", ["²", "99999999999999999999"])
def test_posting_to_an_id_that_is_no_number_answers_no_server_error(client, url_name, object_id):
    # Refused a change, the admin asks whether the id is an anonymised person's: "²".isdigit() is True but
    # int("²") raises. Such an id names nothing, as any unknown id.
    client.force_login(UserFactory(username="staff-without-rights"))
    answer = client.post(reverse(url_name, args=[object_id]), {"last_name": "Moreau"})
    assert answer.status_code in (302, 403, 404)
