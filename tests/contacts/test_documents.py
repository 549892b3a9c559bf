"""Documents uploaded through the back office live in the private bucket and come back only through
the permission-checked view."""

import hashlib
import io
import os
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from contacts.models import Contact, Document
from harness.seaweed import SeaweedFS
from tests.factories import MINIMAL_PDF, ContactFactory, DocumentFactory, UserFactory, rgpd_user
from tests.support.helpers import http_get

pytestmark = pytest.mark.usefixtures("on_s3")


def contact_form_data(contact: Contact, **extra) -> dict:
    """What the admin's change form posts for this contact, with an empty documents inline."""
    data = {
        "civility": contact.civility,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "mobile": contact.mobile,
        "street": contact.street,
        "postal_code": contact.postal_code,
        "city": contact.city,
        "country": contact.country,
        "birth_date": contact.birth_date.isoformat() if contact.birth_date else "",
        "company": contact.company,
        "job_title": contact.job_title,
        "notes": contact.notes,
        "last_activity_on": contact.last_activity_on.isoformat() if contact.last_activity_on else "",
        "loaded_version": contact.updated_at.isoformat(),
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
        "_continue": "1",
    }
    data.update(extra)
    return data


def plain_bucket_url(name: str) -> str:
    """The object's unsigned URL: it must never appear in a page."""
    return f"{os.environ['AWS_S3_ENDPOINT_URL']}/{settings.AWS_STORAGE_BUCKET_NAME}/media/{name}"


def test_a_document_uploaded_in_the_admin_lands_in_s3_and_downloads_back_identical(client, db):
    # Given a contact and a back-office user allowed to edit contacts and to see the RGPD page
    contact = ContactFactory()
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    content = MINIMAL_PDF + b"% bulletin de salaire de mars\n" + os.urandom(2048)
    upload = SimpleUploadedFile("Bulletin mars 2024.pdf", content, content_type="application/pdf")

    # When they attach it on the contact's change form (the documents inline)
    response = client.post(
        reverse("admin:contacts_contact_change", args=[contact.pk]),
        contact_form_data(
            contact,
            **{
                "documents-TOTAL_FORMS": "1",
                "documents-0-id": "",
                "documents-0-contact": str(contact.pk),
                "documents-0-kind": Document.Kind.PAYSLIP,
                "documents-0-file": upload,
            },
        ),
    )

    # Then the document is stored in the private bucket under the contact's key
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    document = Document.objects.get(contact=contact)
    assert document.uploaded_by == user
    assert document.original_name == "Bulletin mars 2024.pdf"
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    prefix = f"contacts/{contact.storage_key}/documents/"
    assert document.file.name.startswith(prefix)
    s3 = SeaweedFS.from_state().client()
    listed = s3.list_objects_v2(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Prefix=f"media/{prefix}")
    assert [item["Key"] for item in listed.get("Contents", [])] == [f"media/{document.file.name}"]
    # and nobody reads it without a signature
    assert http_get(plain_bucket_url(document.file.name))[0] == 403

    # When they download it through the back office
    download = client.get(reverse("contacts:document_download", args=[document.pk]))

    # Then they are sent to a short-lived signed URL that serves the same bytes as an attachment
    assert download.status_code == 302
    query = parse_qs(urlsplit(download["Location"]).query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    status, body, headers = http_get(download["Location"])
    assert status == 200
    assert body == content
    assert headers["Content-Disposition"].startswith("attachment")
    assert (
        "Bulletin mars 2024.pdf" in headers["Content-Disposition"]
        or "Bulletin%20mars" in (headers["Content-Disposition"])
    )

    # And no page shows the bucket's plain URL
    bucket_url = f"{os.environ['AWS_S3_ENDPOINT_URL']}/{settings.AWS_STORAGE_BUCKET_NAME}"
    for url in (
        reverse("admin:contacts_contact_change", args=[contact.pk]),
        reverse("admin:contacts_document_change", args=[document.pk]),
        reverse("contacts:record", args=[contact.pk]),
        reverse("admin:rgpd_rgpdcontact_changelist"),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert bucket_url not in page.content.decode(), url
        assert settings.AWS_STORAGE_BUCKET_NAME not in page.content.decode(), url


def test_the_photo_is_shown_on_the_record_through_the_permission_checked_view(client, db):
    # Given a contact with a photo, and an RGPD officer
    image = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 120, 40)).save(image, format="PNG")
    contact = ContactFactory(photo=SimpleUploadedFile("portrait.png", image.getvalue()))
    client.force_login(rgpd_user())

    # When they open the contact's record
    record = client.get(reverse("contacts:record", args=[contact.pk]))

    # Then the photo is displayed through the back office, never from the bucket
    html = record.content.decode()
    photo_url = reverse("contacts:photo", args=[contact.pk])
    assert f'<img src="{photo_url}"' in html
    assert settings.AWS_STORAGE_BUCKET_NAME not in html
    photo = client.get(photo_url)
    assert photo.status_code == 302
    status, body, _headers = http_get(photo["Location"])
    assert (status, body) == (200, image.getvalue())


def test_the_record_shows_every_field_the_documents_and_the_anonymised_banner(client, db):
    contact = ContactFactory(
        last_name="Moreau", first_name="Inès", email="ines.moreau@exemple.fr", city="Nantes"
    )
    document = DocumentFactory(contact=contact)
    client.force_login(rgpd_user())

    html = client.get(reverse("contacts:record", args=[contact.pk])).content.decode()
    # Faker's companies and job titles may hold "&" or "'", which the page escapes
    for value in ("Moreau", "Inès", "ines.moreau@exemple.fr", "Nantes", contact.job_title, contact.company):
        assert escape(value) in html
    assert "Fiche du contact" in html
    assert document.original_name in html
    assert reverse("contacts:document_download", args=[document.pk]) in html
    assert "a été anonymisé" not in html

    Contact.objects.filter(pk=contact.pk).update(anonymised_at=contact.created_at)
    html = client.get(reverse("contacts:record", args=[contact.pk])).content.decode()
    assert "Ce contact a été anonymisé le" in html


def test_documents_removed_in_the_admin_leave_the_bucket(client, db):
    document = DocumentFactory()
    contact = document.contact
    client.force_login(UserFactory(is_superuser=True))
    storage = document.file.storage
    assert storage.exists(document.file.name)

    # The test client runs in a transaction: run on_commit callbacks as a real request would.
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            reverse("admin:contacts_contact_change", args=[contact.pk]),
            contact_form_data(
                contact,
                **{
                    "documents-TOTAL_FORMS": "1",
                    "documents-INITIAL_FORMS": "1",
                    "documents-0-id": str(document.pk),
                    "documents-0-contact": str(contact.pk),
                    "documents-0-kind": document.kind,
                    "documents-0-DELETE": "on",
                },
            ),
        )

    assert response.status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not storage.exists(document.file.name)


def test_an_anonymised_contact_can_no_longer_be_edited_nor_get_documents(client, db):
    # Given an anonymised contact and an administrator
    contact = ContactFactory(first_name="xxx", last_name="xxx", email="", phone="xxx")
    Contact.objects.filter(pk=contact.pk).update(anonymised_at=contact.created_at)
    contact.refresh_from_db()
    admin_user = UserFactory(is_superuser=True)
    client.force_login(admin_user)

    # When the administrator tries to put a name back through the change form
    change_url = reverse("admin:contacts_contact_change", args=[contact.pk])
    response = client.post(change_url, contact_form_data(contact, first_name="Retour", last_name="Dupuis"))

    # Then they are sent back to the (read-only) contact with the reason, and the contact stays anonymous
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Ce contact a été anonymisé : il ne peut plus être modifié." in page
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("xxx", "xxx")

    # And a document cannot be attached to it from the documents page either
    upload = SimpleUploadedFile("cv.pdf", MINIMAL_PDF, content_type="application/pdf")
    response = client.post(
        reverse("admin:contacts_document_add"), {"contact": contact.pk, "kind": "other", "file": upload}
    )
    assert response.status_code == 200
    assert "Ce contact est anonymisé : aucun document ne peut lui être ajouté." in response.content.decode()
    assert not Document.objects.filter(contact=contact).exists()
