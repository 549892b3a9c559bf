"""Uploads are typed from their content, never from what the client claims, and capped before storage."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import Document
from tests.anonymisation.test_anonymisation_service import stored_keys
from tests.contacts.test_documents import contact_form_data
from tests.factories import MINIMAL_PDF, ContactFactory, DocumentFactory, UserFactory
from tests.support.helpers import http_get

pytestmark = pytest.mark.django_db

# The start of a Windows executable (DOS stub, then the PE header), as libmagic knows it.
EXECUTABLE = b"MZ" + b"\x90" * 58 + (64).to_bytes(4, "little") + b"PE\x00\x00\x4c\x01" + b"\x00" * 200
HOSTILE_TYPE = 'text/html"><script>alert(1)</script>'


def a_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def uploader(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


def upload(client, contact, name: str, content: bytes, content_type: str = "application/octet-stream"):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(
        reverse("admin:contacts_document_add"),
        {"contact": contact.pk, "kind": Document.Kind.EMPLOYMENT_CONTRACT, "file": file},
    )


def documents_stored_for(contact) -> list[str]:
    return stored_keys(f"contacts/{contact.storage_key}/")


def test_an_executable_sent_as_an_employment_contract_is_refused_and_not_stored(uploader):
    contact = ContactFactory()
    response = upload(uploader, contact, "contrat.pdf", EXECUTABLE, content_type="application/pdf")
    assert response.status_code == 200
    assert "Ce type de fichier n&#x27;est pas accepté" in response.content.decode()
    assert not Document.objects.filter(contact=contact).exists()
    assert documents_stored_for(contact) == []


def test_html_content_is_refused_whatever_its_name(uploader):
    contact = ContactFactory()
    response = upload(uploader, contact, "bulletin.pdf", b"<html><script>alert(1)</script></html>")
    assert "Ce type de fichier n&#x27;est pas accepté" in response.content.decode()
    assert not Document.objects.filter(contact=contact).exists()


def test_an_oversized_file_is_refused_before_it_reaches_the_storage(uploader, settings):
    settings.UPLOAD_MAX_BYTES = 4096
    contact = ContactFactory()
    response = upload(uploader, contact, "gros.pdf", MINIMAL_PDF + b"%" + b"0" * 8192)
    assert response.status_code == 200
    assert "Ce fichier est trop volumineux" in response.content.decode()
    assert not Document.objects.filter(contact=contact).exists()
    assert documents_stored_for(contact) == []


def test_an_office_document_is_accepted_with_its_detected_type(uploader):
    contact = ContactFactory()
    response = upload(uploader, contact, "contrat.docx", a_docx())
    assert response.status_code == 302
    assert Document.objects.get(contact=contact).content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )


def test_the_type_the_client_claims_is_neither_stored_nor_served_back(uploader):
    # Given a real PDF whose client-sent Content-Type is an injection attempt
    contact = ContactFactory()
    assert (
        upload(uploader, contact, "bulletin.pdf", MINIMAL_PDF, content_type=HOSTILE_TYPE).status_code == 302
    )

    # Then the stored type is the detected one, and the download is an attachment of that type
    document = Document.objects.get(contact=contact)
    assert document.content_type == "application/pdf"
    status, body, headers = http_get(
        uploader.get(reverse("contacts:document_download", args=[document.pk]))["Location"]
    )
    assert (status, body) == (200, MINIMAL_PDF)
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment")


def test_a_document_stored_with_an_unsafe_type_before_these_checks_is_a_plain_download(uploader):
    document = DocumentFactory()
    Document.objects.filter(pk=document.pk).update(content_type="text/html")
    response = uploader.get(reverse("contacts:document_download", args=[document.pk]))
    status, _body, headers = http_get(response["Location"])
    assert status == 200
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment")


def image_bytes(format_name: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(buffer, format=format_name)
    return buffer.getvalue()


@pytest.mark.parametrize(("format_name", "accepted"), [("PNG", True), ("JPEG", True), ("TIFF", False)])
def test_a_photo_is_a_common_web_image(uploader, format_name, accepted):
    contact = ContactFactory()
    photo = SimpleUploadedFile(
        f"portrait.{format_name.lower()}", image_bytes(format_name), content_type="image/png"
    )
    response = uploader.post(
        reverse("admin:contacts_contact_change", args=[contact.pk]), contact_form_data(contact, photo=photo)
    )
    contact.refresh_from_db()
    assert bool(contact.photo) is accepted
    assert (response.status_code == 302) is accepted
    if not accepted:
        assert "Ce type de fichier n&#x27;est pas accepté" in response.content.decode()
        assert documents_stored_for(contact) == []
