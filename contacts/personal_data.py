"""What Contact and Document hold about a person, for the RGPD registry (see rgpd/registry.py)."""

from rgpd.registry import Treatment, registry

from .models import Contact, Document

registry.register(
    Contact,
    personal={
        "civility": Treatment.EMPTY,
        "first_name": Treatment.MASK,
        "last_name": Treatment.MASK,
        "email": Treatment.MASK,
        "phone": Treatment.MASK,
        "mobile": Treatment.MASK,
        "street": Treatment.MASK,
        "postal_code": Treatment.MASK,
        "city": Treatment.MASK,
        "country": Treatment.MASK,
        "birth_date": Treatment.NULL,
        "photo": Treatment.DELETE_FILE,
        "company": Treatment.EMPTY,
        "job_title": Treatment.EMPTY,
        "notes": Treatment.EMPTY,
    },
    not_personal=["id", "storage_key", "created_at", "updated_at", "anonymised_at"],
)

registry.register(
    Document,
    subject_field="contact",
    delete_rows=True,
    export_label="documents",
    file_names={"file": "original_name"},
    personal={
        "kind": Treatment.KEEP,
        "file": Treatment.DELETE_FILE,
        "original_name": Treatment.EMPTY,
        "content_type": Treatment.KEEP,
        "size": Treatment.KEEP,
        "sha256": Treatment.KEEP,
        "uploaded_at": Treatment.KEEP,
    },
    not_personal=["id", "contact", "uploaded_by"],
)
