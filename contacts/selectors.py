"""Reads of the contacts domain, returning QuerySets."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Contact, Document


def contact_for_record(*, contact_id: int) -> QuerySet[Contact]:
    """The contact shown on its record ("fiche du contact"), with every field."""
    return Contact.objects.filter(pk=contact_id)


def contact_documents(*, contact_id: int) -> QuerySet[Document]:
    """The documents attached to a contact, newest upload last, without loading file contents."""
    return Document.objects.filter(contact_id=contact_id).order_by("uploaded_at", "id")


def document_for_download(*, document_id: int) -> QuerySet[Document]:
    return Document.objects.filter(pk=document_id).only(
        "id", "contact_id", "file", "original_name", "content_type", "kind"
    )
