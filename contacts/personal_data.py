"""The client contacts population: what Contact and Document hold about a person (the RGPD registry,
see rgpd/registry.py) and how the RGPD engine shows, exports and anonymises them
(rgpd/populations.py). The engine never names these models: this declaration is all it knows."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from rgpd.filters import AnonymisedListFilter
from rgpd.populations import Population, RgpdPage, declare
from rgpd.registry import Treatment, registry

from .models import RGPD_PERMISSION_CODENAME, Contact, Document, RgpdContact

contact_spec = registry.register(
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
    not_personal=["id", "storage_key", "created_at", "updated_at", "anonymised_at", "last_activity_on"],
)

document_spec = registry.register(
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


@admin.display(description=_("name"), ordering="last_name")
def contact_name(obj: Contact) -> str:
    return f"{obj.last_name} {obj.first_name}".strip()


CONTACTS = declare(
    Population(
        key="contacts",
        subject=contact_spec,
        related=(document_spec,),
        permission_codename=RGPD_PERMISSION_CODENAME,
        permission_label="RGPD Contacts Clients",
        page=RgpdPage(
            model=RgpdContact,
            columns=(contact_name, "email", "phone", "city"),
            list_fields=("id", "first_name", "last_name", "email", "phone", "city", "anonymised_at"),
            # Prefix search on the last name uses the name index; the other fields match anywhere.
            search_fields=("^last_name", "first_name", "email", "phone"),
            list_filter=(AnonymisedListFilter,),
            ordering=("last_name", "first_name", "id"),
            record_url_name="contacts:record",
            record_label=_("Open the contact's record"),
            module_name=_("contacts"),
            url_segment="contact",
        ),
        api_key="contacts",
        api_item_key="contact",
        archive_prefix="contact",
        heading=_("GDPR management: client contacts"),
        name_fields=("first_name", "last_name", "email"),
        name_and_email=lambda contact: (f"{contact.first_name} {contact.last_name}".strip(), contact.email),
        last_activity_field="last_activity_on",
    )
)
