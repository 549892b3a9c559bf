"""A second population on the same engine, with no change to the engine.

``tests/second_population`` declares members and their files (models, registry entries, a population
with its own right and RGPD page) the way contacts declare themselves. Through the same API, services,
worker, bucket and pages, members are exported (their folder, JSON and files in the archive) and
anonymised (fields "xxx", files deleted from the database and the bucket), and each right opens its
own population only.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from rgpd.models import AuditEvent, ExportRequest, PendingStorageDeletion
from rgpd.populations import population
from tests.factories import ContactFactory, UserFactory, rgpd_user
from tests.second_population.models import MEMBERS_PERMISSION_CODENAME, Member, MemberFile
from tests.support.exports import archive_bytes, open_archive, wait_for_request_done
from tests.support.helpers import wait_until

CONTRACT = b"%PDF-1.4 a member's contract\n" * 50


def members_officer():
    """A back-office user holding only the members' right, through a group."""
    group, _created = Group.objects.get_or_create(name="RGPD Members")
    group.permissions.add(Permission.objects.get(codename=MEMBERS_PERMISSION_CODENAME))
    return UserFactory(groups=[group])


def api_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


def a_member_with_a_file() -> tuple[Member, MemberFile]:
    member = Member.objects.create(name="Ada Quintabelle", email="ada@example.org", city="Lyon")
    attached = MemberFile.objects.create(
        member=member, file=ContentFile(CONTRACT, name="contract.pdf"), original_name="contrat-ada.pdf"
    )
    return member, attached


def test_a_second_population_is_exported_and_anonymised_through_the_same_engine(celery_worker):
    # Given a member with a stored file, and an officer holding only the members' right
    member, attached = a_member_with_a_file()
    stored_name = attached.file.name
    officer = members_officer()
    api = api_client(officer)

    # When the officer exports the member through the API, with the population's own key
    response = api.post(
        reverse("rgpd_api:export-list"), {"members": [member.pk]}, content_type="application/json"
    )

    # Then a worker builds the archive: the member's folder, JSON and file, as for a contact
    assert response.status_code == 202, response.content
    export_request = wait_for_request_done(ExportRequest.objects.get(pk=response.json()["id"]))
    assert export_request.population == "members"
    archive = open_archive(archive_bytes(export_request.parts.get()))
    assert archive["manifest"]["subjects"] == [{"id": member.pk, "folder": f"member-{member.pk}"}]
    record = archive["people"][member.pk]
    assert record["subject"]["fields"]["name"] == "Ada Quintabelle"
    assert record["subject"]["fields"]["email"] == "ada@example.org"
    (file_record,) = record["related"]["files"]["records"]
    path = file_record["fields"]["file"]["archive_path"]
    assert path.startswith(f"member-{member.pk}/files/") and path.endswith("contrat-ada.pdf")
    assert archive["files"][path] == CONTRACT

    # When the officer anonymises the member through the API
    response = api.post(
        reverse("rgpd_api:anonymisation-list"),
        {"members": [member.pk], "confirm": True},
        content_type="application/json",
    )

    # Then the member is anonymised: fields "xxx", the file's row gone and its stored object deleted
    assert response.status_code == 201, response.content
    assert response.json()["results"][0]["member"] == member.pk
    assert response.json()["results"][0]["result"] == "anonymised"
    assert response.json()["counts"]["members"] == 1
    member.refresh_from_db()
    assert (member.name, member.email, member.city, member.joined_on) == ("xxx", "xxx", "xxx", None)
    assert member.anonymised_at is not None
    assert not MemberFile.objects.filter(member_id=member.pk).exists()
    wait_until(
        lambda: not PendingStorageDeletion.objects.filter(population="members").exists(),
        message="the member's stored file to be deleted",
    )
    assert not default_storage.exists(stored_name)
    event = AuditEvent.objects.get(action=AuditEvent.Action.ANONYMISED, subject_ids=[member.pk])
    assert event.details["storage_check"] == "passed"


def test_each_population_opens_to_its_own_right_only(db):
    # Given a member, a contact, an officer of each population
    member, _attached = a_member_with_a_file()
    contact = ContactFactory()
    members, contacts = members_officer(), rgpd_user()
    as_members, as_contacts = Client(), Client()
    as_members.force_login(members)
    as_contacts.force_login(contacts)

    # Then each RGPD page answers its own officer only, and lists that population
    members_page = reverse("admin:second_population_memberpage_changelist")
    contacts_page = reverse("admin:rgpd_rgpdcontact_changelist")
    page = as_members.get(members_page)
    assert page.status_code == 200 and "Ada Quintabelle" in page.text
    assert reverse("admin:rgpd_export_member", args=[member.pk]) in page.text
    assert as_members.get(contacts_page).status_code == 403
    assert as_contacts.get(members_page).status_code == 403
    assert as_contacts.get(contacts_page).status_code == 200

    # ... the row actions and the API too, and nothing starts
    assert as_contacts.get(reverse("admin:rgpd_export_member", args=[member.pk])).status_code == 403
    assert as_members.get(reverse("admin:rgpd_anonymise_contact", args=[contact.pk])).status_code == 403
    forbidden = api_client(contacts).post(
        reverse("rgpd_api:export-list"), {"members": [member.pk]}, content_type="application/json"
    )
    assert forbidden.status_code == 403
    assert not ExportRequest.objects.exists()

    # ... and the members' officer gets the members' confirmation page, with its dry run
    confirmation = as_members.get(reverse("admin:rgpd_anonymise_member", args=[member.pk]))
    assert confirmation.status_code == 200
    assert "GDPR management: members" in confirmation.text


def test_a_population_is_found_by_its_key_and_its_model():
    members = population("members")
    assert members.permission == f"second_population.{MEMBERS_PERMISSION_CODENAME}"
    assert members.folder(7) == "member-7"
    assert population("contacts").permission == "rgpd.rgpd_contacts_clients"
