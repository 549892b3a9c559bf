"""The right "RGPD Utilisateurs" opens the users' page only; "RGPD Contacts Clients" the contacts' only,
and the register of requests (its people are contacts); each sees legal holds of its own people only."""

import re
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rgpd.models import ExportRequest, LegalHold, SubjectRequest
from rgpd.subject_requests import services as subject_requests
from rgpd.subject_requests.reminders import reminder_recipients
from staff.models import EmployeeProfile
from tests.factories import MINIMAL_PDF, ContactFactory, UserFactory, rgpd_user
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


def test_the_register_of_contacts_requests_needs_the_contacts_right_not_the_users_one(db, on_s3):
    # Given a request about a contact, with a letter attached, and an officer of each right
    contact = ContactFactory(last_name="Vautrinet")
    request = subject_requests.subject_request_record(
        kind="access",
        received_on=timezone.localdate(),
        contact_ids=[contact.pk],
        notes="Appel de Vautrinet",
        actor=None,
    )
    letter = subject_requests.subject_request_attach(
        subject_request=request, upload=SimpleUploadedFile("lettre.pdf", MINIMAL_PDF), actor=None
    )
    users_only, contacts_only = users_officer(email="u@exemple.fr"), rgpd_user(email="c@exemple.fr")
    as_users, as_contacts = logged_in(users_only), logged_in(contacts_only)
    pages = [
        reverse("admin:rgpd_subjectrequest_changelist"),
        reverse("admin:rgpd_subjectrequest_change", args=[request.pk]),
        reverse("admin:rgpd_subjectrequest_add"),
        reverse("admin:rgpd_subjectrequest_correspondence", args=[letter.pk]),
    ]

    # Then the users' officer is refused the register, a request's page, the form and the letter,
    # the 403 page naming the contacts' right
    for url in pages:
        refused = as_users.get(url)
        assert refused.status_code == 403, url
        assert (
            "RGPD Contacts Clients" in refused.content.decode()
            and "Vautrinet" not in refused.content.decode()
        )
    assert (
        "Demandes des personnes"
        not in as_users.get(reverse("admin:app_list", args=["rgpd"])).content.decode()
    )
    # ... and its API, by token
    users_api, _key = api_client(users_only)
    assert users_api.get("/api/rgpd/requests/").status_code == 403
    assert users_api.get(f"/api/rgpd/requests/{request.pk}/").status_code == 403
    created = users_api.post(
        "/api/rgpd/requests/",
        {"kind": "access", "received_on": timezone.localdate().isoformat(), "contacts": [contact.pk]},
        content_type="application/json",
    )
    assert created.status_code == 403 and SubjectRequest.objects.count() == 1
    # ... and the daily reminder goes to the contacts' officer only
    assert reminder_recipients() == ["c@exemple.fr"]

    # While the contacts' officer keeps all of it
    for url in pages:
        assert as_contacts.get(url).status_code in (200, 302), url
    contacts_api, _key = api_client(contacts_only)
    assert contacts_api.get("/api/rgpd/requests/").json()["results"][0]["contacts"] == [contact.pk]


def test_each_officer_sees_and_places_legal_holds_on_their_own_population_only(db):
    # Given a hold on a contact and one on an employee, and an officer of each right
    contact, employee = ContactFactory(), UserFactory()
    ends = timezone.localdate() + timedelta(days=365)
    on_contact = LegalHold.objects.create(
        population="contacts", subject_id=contact.pk, reason="tax", ends_on=ends
    )
    on_employee = LegalHold.objects.create(
        population="users", subject_id=employee.pk, reason="tax", ends_on=ends
    )
    as_users, as_contacts = logged_in(users_officer()), logged_in(rgpd_user())
    holds = reverse("admin:rgpd_legalhold_changelist")
    add = reverse("admin:rgpd_legalhold_add")

    for officer, own, other, other_key, other_id in (
        (as_users, on_employee, on_contact, "contacts", contact.pk),
        (as_contacts, on_contact, on_employee, "users", employee.pk),
    ):
        # Then the list shows the hold of the officer's population only
        listed = officer.get(holds).content.decode()
        assert reverse("admin:rgpd_legalhold_change", args=[own.pk]) in listed
        assert reverse("admin:rgpd_legalhold_change", args=[other.pk]) not in listed
        # ... the other's hold does not open
        assert officer.get(reverse("admin:rgpd_legalhold_change", args=[other.pk])).status_code in (
            302,
            403,
            404,
        )
        # ... the form offers only the officer's population, and refuses a hold on the other's people
        form = officer.get(add).context["adminform"].form
        assert [key for key, _label in form.fields["population"].choices] == [own.population]
        refused = officer.post(
            add, {"population": other_key, "subject_id": other_id, "reason": "tax", "ends_on": "2040-01-01"}
        )
        assert refused.status_code == 200 and refused.context["adminform"].form.errors["population"]
    assert LegalHold.objects.count() == 2
