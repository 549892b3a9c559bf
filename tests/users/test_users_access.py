"""The right "RGPD Utilisateurs" opens the users' page only; "RGPD Contacts Clients" the contacts' only."""

import re

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from rgpd.models import ExportRequest
from staff.models import EmployeeProfile
from tests.factories import ContactFactory, UserFactory, rgpd_user
from tests.support.helpers import http_get
from tests.users.support import CONTRACT, PAYSLIP, api_client, departed_employee, users_officer

USERS_PAGE = "admin:rgpd_rgpduser_changelist"
CONTACTS_PAGE = "admin:rgpd_rgpdcontact_changelist"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_two_rights_are_independent_both_ways(db):
    # Given an employee, a contact, and an officer of each right
    employee = UserFactory(first_name="Gaspard", last_name="Ollivrier")
    contact = ContactFactory()
    as_users, as_contacts = logged_in(users_officer()), logged_in(rgpd_user())

    # Then the users' officer gets the users' page, in the "Gestion RGPD" section, and not the contacts'
    page = as_users.get(reverse(USERS_PAGE))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Gestion - RGPD : Utilisateurs" in text and "Ollivrier Gaspard" in text
    assert (
        'aria-label="Accès à la fiche de l\'utilisateur"' in text
        or "Accès à la fiche de l&#x27;utilisateur" in text
    )
    assert reverse("admin:rgpd_export_user", args=[employee.pk]) in text
    assert as_users.get(reverse(CONTACTS_PAGE)).status_code == 403
    assert as_users.get(reverse("admin:rgpd_export_contact", args=[contact.pk])).status_code == 403
    section = as_users.get(reverse("admin:app_list", args=["rgpd"]))
    assert "Gestion - RGPD : Utilisateurs" in section.content.decode()

    # ... and the contacts' officer the reverse
    assert as_contacts.get(reverse(CONTACTS_PAGE)).status_code == 200
    assert as_contacts.get(reverse(USERS_PAGE)).status_code == 403
    assert as_contacts.get(reverse("admin:rgpd_anonymise_user", args=[employee.pk])).status_code == 403

    # ... in the API too: nothing starts
    contacts_api, _key = api_client(User.objects.get(pk=as_contacts.session["_auth_user_id"]))
    forbidden = contacts_api.post(
        reverse("rgpd_api:export-list"), {"users": [employee.pk]}, content_type="application/json"
    )
    assert forbidden.status_code == 403
    assert not ExportRequest.objects.exists()


def test_every_user_has_a_profile_and_the_filters_find_them(db):
    # Given an active employee and one whose account was deactivated
    staying = UserFactory(last_name="Restandier")
    leaving = UserFactory(last_name="Partandier", is_active=False)
    client = logged_in(users_officer())

    # Then each has a profile under the user's own id
    assert EmployeeProfile.objects.filter(pk__in=[staying.pk, leaving.pk]).count() == 2

    # and the filters "actif" and "archive prête" narrow the list
    inactive = client.get(reverse(USERS_PAGE), {"active": "no"}).content.decode()
    assert "Partandier" in inactive and "Restandier" not in inactive
    active = client.get(reverse(USERS_PAGE), {"active": "yes"}).content.decode()
    assert "Restandier" in active and "Partandier" not in active
    ready = client.get(reverse(USERS_PAGE), {"archive_ready": "yes"}).content.decode()
    assert "Restandier" not in ready and "Partandier" not in ready
    searched = client.get(reverse(USERS_PAGE), {"q": "Partandier"}).content.decode()
    assert len(re.findall(r'class="rgpd-row-actions"', searched)) == 1
    assert re.search(r"\b1 utilisateur\b", searched)


def test_the_record_icon_opens_the_users_record_with_its_files_for_the_users_right_only(db, on_s3):
    # Given a departed employee with a photo and two HR documents
    user, profile, documents = departed_employee()
    as_users, as_contacts = logged_in(users_officer()), logged_in(rgpd_user())

    # When the users' officer follows the record icon of the RGPD page
    record_url = reverse("staff:record", args=[user.pk])
    assert record_url in as_users.get(reverse(USERS_PAGE)).content.decode()
    record = as_users.get(record_url)

    # Then the record shows the account and the profile, and the files download through checked views
    assert record.status_code == 200
    text = record.content.decode()
    assert "Fiche de l&#x27;utilisateur" in text and "Pouliquenne" in text and "Comptable principale" in text
    for document, content in zip(documents, (PAYSLIP, CONTRACT), strict=True):
        download = as_users.get(reverse("staff:document_download", args=[document.pk]))
        assert download.status_code == 302  # to a short-lived signed URL of the bucket
        assert http_get(download["Location"])[1] == content
    assert as_users.get(reverse("staff:photo", args=[user.pk])).status_code == 302

    # ... and the contacts' officer gets none of it
    assert as_contacts.get(record_url).status_code == 403
    assert as_contacts.get(reverse("staff:document_download", args=[documents[0].pk])).status_code == 403
