"""A departed employee exported then anonymised through the API, with a real worker, PostgreSQL, Redis,
SeaweedFS and an SMTP sink."""

import io

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from rgpd.models import AuditEvent, ExportRequest, PendingStorageDeletion
from rgpd.services.audit import audit_record
from staff.models import EmployeeProfile, HrDocument
from tests.support.exports import archive_bytes, open_archive, wait_for_request_done
from tests.support.helpers import wait_until
from tests.users.support import CONTRACT, FORMER, PAYSLIP, api_client, departed_employee, users_officer

PASSWORD = "pw-test-123"  # UserFactory's


def stored_keys(profile: EmployeeProfile) -> list[str]:
    client = default_storage.connection.meta.client
    prefix = f"{default_storage.location}/employees/{profile.storage_key}/"
    response = client.list_objects_v2(Bucket=default_storage.bucket_name, Prefix=prefix)
    return [item["Key"] for item in response.get("Contents", [])]


def full_dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", format="json", stdout=out)
    return out.getvalue()


def test_a_departed_employee_is_exported_then_anonymised_and_nothing_of_them_remains(
    celery_worker, smtp_sink, on_s3
):
    # Given a departed employee with a photo and two HR documents, who used the back office (a session,
    # an API token, an audit row of their own), and an officer holding "RGPD Utilisateurs"
    user, profile, documents = departed_employee()
    user.groups.add(Group.objects.create(name="Paie"), Group.objects.create(name="Comptabilité"))
    photo_bytes = profile.photo.read()
    Client().force_login(user)
    _employee_api, old_key = api_client(user)
    authored = audit_record(action=AuditEvent.Action.EXPORT_REQUESTED, actor=user, subject_ids=[1])
    officer = users_officer(email="officer.rh@example.com")
    api, _key = api_client(officer)
    assert len(stored_keys(profile)) == 3

    # When the officer exports the employee through the API
    response = api.post(
        reverse("rgpd_api:export-list"), {"users": [user.pk]}, content_type="application/json"
    )

    # Then one archive holds user-<id>/personal_data.json (schema-valid: open_archive checks it), the
    # byte-identical documents and photo with their sha256 in the manifest, and the officer is emailed
    assert response.status_code == 202, response.content
    export_request = wait_for_request_done(ExportRequest.objects.get(pk=response.json()["id"]))
    assert export_request.population == "users"
    archive = open_archive(archive_bytes(export_request.parts.get()))
    folder = f"user-{user.pk}"
    assert archive["manifest"]["subjects"] == [{"id": user.pk, "folder": folder}]
    record = archive["people"][user.pk]
    account = record["account"]["fields"]
    assert (account["username"], account["first_name"], account["last_name"], account["email"]) == (
        "emp-4417",
        FORMER["first_name"],
        FORMER["last_name"],
        FORMER["email"],
    )
    assert record["account"]["activity"]["gdpr_audit_log"]["count"] == 1
    assert record["subject"]["fields"]["phone"] == FORMER["phone"]
    assert record["subject"]["fields"]["job_title"] == "Comptable principale"
    photo_path = record["subject"]["fields"]["photo"]["archive_path"]
    assert photo_path.startswith(f"{folder}/photo/")
    assert archive["files"][photo_path] == photo_bytes
    by_kind = {
        r["fields"]["kind"]: archive["files"][r["fields"]["file"]["archive_path"]]
        for r in record["related"]["documents"]["records"]
    }
    assert by_kind == {"payslip": PAYSLIP, "employment_contract": CONTRACT}
    # ... and the employee's readable page shows their account too: username, groups, activity
    page = archive["files"][f"{folder}/index.html"].decode()
    assert "<h2>Compte</h2>" in page
    assert '<th scope="row">Nom d’utilisateur</th><td>emp-4417</td>' in page
    assert '<th scope="row">Groupes</th><td>Comptabilité, Paie</td>' in page
    assert '<th scope="row">Actif</th><td>Oui</td>' in page
    assert "Activité › Actions dans le journal RGPD › Nombre</th><td>1</td>" in page
    paths = {entry["path"]: entry["sha256"] for entry in archive["manifest"]["files"]}
    assert photo_path in paths and f"{folder}/personal_data.json" in paths
    (message,) = smtp_sink.wait_for(1)
    assert "officer.rh@example.com" in message["To"]

    # When the officer anonymises the employee, confirming
    response = api.post(
        reverse("rgpd_api:anonymisation-list"),
        {"users": [user.pk], "confirm": True},
        content_type="application/json",
    )

    # Then the account is closed: the old password fails, the old token answers 401, no session remains
    assert response.status_code == 201, response.content
    assert response.json()["results"][0] | {"files_deleted": None} == {
        "user": user.pk,
        "result": "anonymised",
        "files_deleted": None,
    }
    browser = Client()
    login = browser.post("/admin/login/", {"username": "emp-4417", "password": PASSWORD, "next": "/admin/"})
    assert login.status_code == 200 and "_auth_user_id" not in browser.session
    old_token = Client(HTTP_AUTHORIZATION=f"Token {old_key}").get(reverse("rgpd_api:export-list"))
    assert old_token.status_code == 401
    assert not any(s.get_decoded().get("_auth_user_id") == str(user.pk) for s in Session.objects.all())
    user.refresh_from_db()
    assert user.username.startswith("anonymised-") and not user.is_active and not user.has_usable_password()
    assert not user.groups.exists() and not user.user_permissions.exists()
    assert not HrDocument.objects.filter(employee_id=user.pk).exists()

    # ... its files leave the bucket, and the former names, email and phone appear nowhere in the database
    wait_until(
        lambda: not PendingStorageDeletion.objects.filter(population="users").exists(),
        message="the employee's files to be deleted",
    )
    assert stored_keys(profile) == []
    dump = full_dump().casefold()
    for value in FORMER.values():
        assert value.casefold() not in dump, value
    assert "pouliquenne" not in dump  # not even in the documents' original names

    # ... and what the employee did stays attributed to their id only
    assert AuditEvent.objects.filter(pk=authored.pk, actor_id=user.pk).exists()
    assert not LogEntry.objects.filter(object_repr__icontains="emp-4417").exists()
    anonymised = AuditEvent.objects.get(action=AuditEvent.Action.ANONYMISED, subject_ids=[user.pk])
    assert anonymised.actor_id == officer.pk
