"""Probe, run in a process of its own on the embedded SQLite: does it refuse to undo an anonymisation?

    python -m tests.support.final_on_sqlite '["first_name", ...]'

Migrates a fresh SQLite database (GDPR_PORTAL_VAR_DIR), anonymises a contact by hand, tries to put each
named column back, to insert a document for it and to move a document to it; prints one JSON line.
"""

import json
import sys
from datetime import date

import django


def a_value_for(field_name: str):
    """A value that would identify someone again, of the contact field's type."""
    from contacts.models import Contact

    field = Contact._meta.get_field(field_name)
    if field_name == "anonymised_at":
        return None
    if field.get_internal_type() == "DateField":
        return date(1980, 5, 17)
    if field.get_internal_type() in ("FileField", "ImageField"):
        return "contacts/restored/photo/portrait.png"
    return "M." if field_name == "civility" else "Dupuis"


def main(columns: list[str]) -> dict:
    django.setup()
    from django.core.management import call_command
    from django.db import IntegrityError, connection, transaction
    from django.utils import timezone

    from contacts.models import Contact, Document

    call_command("migrate", verbosity=0)
    person = Contact.objects.create(first_name="Aurelienne", last_name="Quintabelle")
    other = Contact.objects.create(first_name="Basile", last_name="Morand")
    document = Document.objects.create(contact=other, file="contacts/other/documents/a.pdf")
    Contact.objects.filter(pk=person.pk).update(
        first_name="xxx", last_name="xxx", anonymised_at=timezone.now()
    )
    before = Contact.objects.filter(pk=person.pk).values().get()

    def refused(write) -> bool:
        try:
            with transaction.atomic():
                write()
        except IntegrityError:
            return True
        return False

    outcome = {
        name: refused(
            lambda name=name: Contact.objects.filter(pk=person.pk).update(**{name: a_value_for(name)})
        )
        for name in columns
    }
    outcome["document_insert"] = refused(
        lambda: Document.objects.bulk_create([Document(contact=person, file="contacts/x/documents/b.pdf")])
    )
    outcome["document_move"] = refused(lambda: Document.objects.filter(pk=document.pk).update(contact=person))
    return {
        "engine": connection.vendor,
        "refused": outcome,
        "unchanged": Contact.objects.filter(pk=person.pk).values().get() == before,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
