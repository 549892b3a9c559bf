"""A database restore brings anonymised contacts back; the tombstones in storage anonymise them again."""

import subprocess
import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, connections

from contacts.models import Contact, Document
from harness.servers import _postgres_bin
from rgpd.models import PendingStorageDeletion
from rgpd.services.anonymisation import anonymisation_request_create, pending_deletions_process
from rgpd.services.anonymisation.tombstones import tombstone_storage
from tests.factories import ContactFactory, DocumentFactory, exported, png_image, rgpd_user

pytestmark = pytest.mark.usefixtures("on_s3", "transactional_db")


def database_command(tool: str, *args: str) -> None:
    settings_dict = connection.settings_dict
    subprocess.run(
        [
            str(_postgres_bin() / tool),
            "-h",
            settings_dict["HOST"] or "127.0.0.1",
            "-p",
            str(settings_dict["PORT"] or 5432),
            "-U",
            settings_dict["USER"],
            *args,
        ],
        check=True,
        capture_output=True,
    )


def stored_names(contact_ids: list[int]) -> list[str]:
    names = [c.photo.name for c in Contact.objects.filter(pk__in=contact_ids)]
    return names + [d.file.name for d in Document.objects.filter(contact__in=contact_ids)]


def files_deleted_after_commit(ids: list[int]) -> None:
    """Run the deletions until none of ``ids`` waits: a worker of another test may hold some rows a while."""
    deadline = time.monotonic() + 30
    while PendingStorageDeletion.objects.filter(population="contacts", subject_id__in=ids).exists():
        assert time.monotonic() < deadline, "stored files still waiting for deletion"
        pending_deletions_process()
        time.sleep(0.2)


def reapply() -> str:
    out = StringIO()
    call_command("rgpd_reapply_anonymisations", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_restored_database_is_anonymised_again_and_a_second_run_changes_nothing(tmp_path):
    # Given three exported contacts, each with a photo and two documents, and a dump of the database
    contacts = [ContactFactory(photo=png_image(), first_name=f"Restaurine{i}") for i in range(3)]
    for contact in contacts:
        DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP)
        DocumentFactory(contact=contact, kind=Document.Kind.IDENTITY_DOCUMENT)
    exported(contacts)
    ids = sorted(c.pk for c in contacts)
    files = {name: default_storage.open(name).read() for name in stored_names(ids)}
    assert len(files) == 9
    dump = tmp_path / "before.dump"
    database_command("pg_dump", "-Fc", "-f", str(dump), connection.settings_dict["NAME"])

    # When they are anonymised (their files deleted), then the dump is restored with the files
    anonymisation_request_create(population="contacts", subject_ids=ids, actor=rgpd_user(), confirmed=True)
    files_deleted_after_commit(ids)
    assert not any(default_storage.exists(name) for name in files)
    assert tombstone_storage().listdir("contacts")[0], "a tombstone was written after the commit"
    connections.close_all()
    database_command(
        "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
        "-d", connection.settings_dict["NAME"], str(dump),
    )  # fmt: skip
    for name, content in files.items():
        assert default_storage.save(name, ContentFile(content)) == name

    # Then the three are identifiable again, with their documents
    assert (
        sorted(Contact.objects.filter(first_name__startswith="Restaurine").values_list("pk", flat=True))
        == ids
    )
    assert Document.objects.filter(contact__in=ids).count() == 6

    # When the replay runs: they are anonymised again and their files are gone
    output = reapply()
    assert f"ids {ids}" in output
    assert not Contact.objects.filter(first_name__startswith="Restaurine").exists()
    assert Contact.objects.filter(pk__in=ids, anonymised_at__isnull=False).count() == 3
    assert not Document.objects.filter(contact__in=ids).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert "Restaurine" not in output

    # And a second run changes nothing
    before = list(Contact.objects.filter(pk__in=ids).order_by("pk").values())
    second = reapply()
    assert "contacts: " in second and " 0 anonymised again" in second and "ids [" not in second
    assert list(Contact.objects.filter(pk__in=ids).order_by("pk").values()) == before
