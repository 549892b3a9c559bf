"""Probe, run in a process of its own on the embedded SQLite: does it refuse to undo an anonymisation?

    python -m tests.support.final_on_sqlite '["first_name", ...]' [contacts|users]

Migrates a fresh SQLite database (GDPR_PORTAL_VAR_DIR), anonymises a contact (or an employee) by hand,
tries to put each named column back, to insert a document for it and to move a document to it (and, for
an employee, to open their account again); prints one JSON line. ``probe()`` runs it from a test.
"""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]


def probe(tmp_path: Path, columns: list[str], population: str = "contacts") -> dict:
    """Run this module on a fresh SQLite database in ``tmp_path``; its JSON outcome."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DATABASE_URL", "CELERY_"))}
    env |= {"GDPR_PORTAL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "gdpr_portal.settings"}
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.final_on_sqlite", json.dumps(columns), population],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def a_value_for(field_name: str, model=None):
    """A value that would identify someone again, of the contact (or ``model``) field's type."""
    from contacts.models import Contact

    field = (model or Contact)._meta.get_field(field_name)
    if field_name == "anonymised_at":
        return None
    if field.get_internal_type() == "DateField":
        return date(1980, 5, 17)
    if field.get_internal_type() in ("FileField", "ImageField"):
        return "contacts/restored/photo/portrait.png"
    return "M." if field_name == "civility" else "Dupuis"


def refused(write) -> bool:
    from django.db import IntegrityError, transaction

    try:
        with transaction.atomic():
            write()
    except IntegrityError:
        return True
    return False


def main_users(columns: list[str]) -> dict:
    """The users population: profile columns, HR documents, and the account of an anonymised employee."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from staff.models import EmployeeProfile, HrDocument

    person = User.objects.create(username="aquintabelle", first_name="Aurelienne", last_name="Quintabelle")
    other = User.objects.create(username="bmorand", first_name="Basile")
    document = HrDocument.objects.create(employee_id=other.pk, file="employees/other/documents/a.pdf")
    User.objects.filter(pk=person.pk).update(
        username="anonymised-0", first_name="", last_name="", is_active=False
    )
    EmployeeProfile.objects.filter(pk=person.pk).update(city="xxx", anonymised_at=timezone.now())
    profile = EmployeeProfile.objects.filter(pk=person.pk)
    before = (profile.values().get(), User.objects.filter(pk=person.pk).values().get())
    outcome = {
        name: refused(lambda name=name: profile.update(**{name: a_value_for(name, EmployeeProfile)}))
        for name in columns
    }
    outcome["document_insert"] = refused(
        lambda: HrDocument.objects.bulk_create([HrDocument(employee_id=person.pk, file="employees/b.pdf")])
    )
    outcome["document_move"] = refused(
        lambda: HrDocument.objects.filter(pk=document.pk).update(employee_id=person.pk)
    )
    account = User.objects.filter(pk=person.pk)
    outcome["account_names"] = refused(lambda: account.update(first_name="Aurelienne"))
    outcome["account_email"] = refused(lambda: account.update(email="a.quintabelle@exemple.fr"))
    outcome["account_username"] = refused(lambda: account.update(username="aquintabelle"))
    outcome["account_active"] = refused(lambda: account.update(is_active=True))
    return {
        "engine": connection.vendor,
        "refused": outcome,
        "unchanged": (profile.values().get(), account.values().get()) == before,
        "others_still_change": not refused(lambda: User.objects.filter(pk=other.pk).update(last_name="M")),
    }


def main(columns: list[str], population: str = "contacts") -> dict:
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Contact, Document

    call_command("migrate", verbosity=0)
    if population == "users":
        return main_users(columns)
    person = Contact.objects.create(first_name="Aurelienne", last_name="Quintabelle")
    other = Contact.objects.create(first_name="Basile", last_name="Morand")
    document = Document.objects.create(contact=other, file="contacts/other/documents/a.pdf")
    Contact.objects.filter(pk=person.pk).update(
        first_name="xxx", last_name="xxx", anonymised_at=timezone.now()
    )
    before = Contact.objects.filter(pk=person.pk).values().get()

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
    print(json.dumps(main(json.loads(sys.argv[1]), *sys.argv[2:3])))
