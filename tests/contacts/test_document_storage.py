from django.core.files.storage import default_storage

from tests.factories import DocumentFactory


def test_document_lands_in_s3_under_the_contacts_key(db):
    document = DocumentFactory()
    assert document.file.name.startswith(f"contacts/{document.contact.storage_key}/documents/")
    assert default_storage.exists(document.file.name)
    assert document.size > 0 and len(document.sha256) == 64
