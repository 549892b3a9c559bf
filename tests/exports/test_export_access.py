"""Who may start exports and download archives, over the admin and the API; what a download gives."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from harness.admin_actions import bulk_action_payload
from rgpd.models import AuditEvent, ExportPart, ExportRequest
from rgpd.services.exports import export_part_build, export_request_create, export_request_notify
from tests.factories import ContactFactory, DocumentFactory, UserFactory, rgpd_user
from tests.support.exports import archive_bytes, open_archive
from tests.support.helpers import http_get

CHANGELIST = "admin:rgpd_rgpdcontact_changelist"


pytestmark = pytest.mark.usefixtures("on_s3")


def ready_export(*, requested_by=None, people: int = 1) -> ExportRequest:
    """An export built here by the real service into the bucket (tasks never run in a `db` test)."""
    contacts = ContactFactory.create_batch(people)
    DocumentFactory(contact=contacts[0])
    export_request = export_request_create(
        population="contacts",
        subject_ids=[c.pk for c in contacts],
        actor=requested_by or rgpd_user(),
        language="fr",
    )
    for part in export_request.parts.all():
        assert export_part_build(part_id=part.pk) == "ready"
    return export_request


def admin_download_url(export_request, number=1) -> str:
    return reverse("admin:rgpd_exportrequest_download", args=[export_request.pk, number])


def api_download_url(export_request, number=1) -> str:
    return reverse("rgpd_api:export-part-download", args=[export_request.pk, number])


def never_stored(response) -> bool:
    return "no-store" in [d.strip() for d in response["Cache-Control"].split(",")]


def test_without_the_right_the_page_the_action_the_api_and_the_download_answer_403(client, db):
    # Given a ready export, and a back-office user without "RGPD Contacts Clients"
    export_request = ready_export()
    contact = ContactFactory()
    outsider = UserFactory()
    client.force_login(outsider)
    token = Token.objects.create(user=outsider)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    # When they try every door, Then each answers 403
    answers = {
        "RGPD page": client.get(reverse(CHANGELIST)).status_code,
        "row confirmation": client.get(reverse("admin:rgpd_export_contact", args=[contact.pk])).status_code,
        "row confirm POST": client.post(reverse("admin:rgpd_export_contact", args=[contact.pk])).status_code,
        "bulk action": client.post(
            reverse(CHANGELIST),
            bulk_action_payload("export_selected", [contact.pk], confirm=True),
        ).status_code,
        "history": client.get(reverse("admin:rgpd_exportrequest_changelist")).status_code,
        "request page": client.get(
            reverse("admin:rgpd_exportrequest_change", args=[export_request.pk])
        ).status_code,
        "admin download": client.get(admin_download_url(export_request)).status_code,
        "audit log": client.get(reverse("admin:rgpd_auditevent_changelist")).status_code,
        "API list": api.get(reverse("rgpd_api:export-list")).status_code,
        "API create": api.post(
            reverse("rgpd_api:export-list"), {"contacts": [contact.pk]}, content_type="application/json"
        ).status_code,
        "API detail": api.get(reverse("rgpd_api:export-detail", args=[export_request.pk])).status_code,
        "API download": api.get(api_download_url(export_request)).status_code,
        "API download, anonymous": Client().get(api_download_url(export_request)).status_code,
    }
    # (the anonymous API caller is asked to authenticate: 401 with "WWW-Authenticate: Token")
    assert answers == {**dict.fromkeys(answers, 403), "API download, anonymous": 401}

    # And nothing was started or downloaded
    assert ExportRequest.objects.count() == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ARCHIVE_DOWNLOADED).exists()


def test_another_rgpd_user_downloads_through_a_short_lived_attachment_url_and_it_is_audited(client, db):
    # Given an archive asked for by one RGPD officer
    export_request = ready_export(requested_by=rgpd_user(username="alice"))
    part = export_request.parts.get()
    colleague = rgpd_user(username="bob")
    client.force_login(colleague)

    # When another RGPD officer downloads it from the request's page
    page = client.get(reverse("admin:rgpd_exportrequest_change", args=[export_request.pk]))
    assert admin_download_url(export_request) in page.content.decode()
    response = client.get(admin_download_url(export_request))

    # Then they are sent to a presigned URL living at most 5 minutes, that downloads the archive
    assert response.status_code == 302 and never_stored(response)
    query = parse_qs(urlsplit(response["Location"]).query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    status, body, headers = http_get(response["Location"])
    assert status == 200 and body == archive_bytes(part)
    assert headers["Content-Disposition"] == f'attachment; filename="gdpr-export-{export_request.pk}.zip"'
    open_archive(body)
    # ... while the object's plain URL stays closed
    assert http_get(response["Location"].split("?")[0])[0] == 403

    # And through the API with a token, the same
    token = Token.objects.create(user=colleague)
    api_response = Client(HTTP_AUTHORIZATION=f"Token {token.key}").get(api_download_url(export_request))
    assert api_response.status_code == 302 and http_get(api_response["Location"])[1] == body

    # And each download is in the audit log, by ids only
    downloads = AuditEvent.objects.filter(
        action=AuditEvent.Action.ARCHIVE_DOWNLOADED, export_request=export_request
    )
    assert [(e.actor, e.details["channel"]) for e in downloads.order_by("id")] == [
        (colleague, "admin"),
        (colleague, "api"),
    ]
    assert all(e.subject_ids == list(part.subjects.values_list("subject_id", flat=True)) for e in downloads)


def test_an_expired_archive_answers_410_no_store_after_the_permission_check(client, db):
    # Given an archive past its expiry (the purge has not run yet)
    export_request = ready_export()
    ExportPart.objects.filter(request=export_request).update(expires_at=timezone.now())
    client.force_login(rgpd_user())
    token = Token.objects.create(user=rgpd_user(username="api-user"))

    # When it is downloaded, Then 410 Gone, never cached
    for response in (
        client.get(admin_download_url(export_request)),
        Client(HTTP_AUTHORIZATION=f"Token {token.key}").get(api_download_url(export_request)),
    ):
        assert response.status_code == 410
        assert never_stored(response)
    # ... and the page offers no link any more
    page = client.get(reverse("admin:rgpd_exportrequest_change", args=[export_request.pk]))
    assert admin_download_url(export_request) not in page.content.decode()

    # But without the right, it is 403: a 410 would tell an outsider that the archive existed
    client.force_login(UserFactory())
    assert client.get(admin_download_url(export_request)).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ARCHIVE_DOWNLOADED).exists()


def test_an_unknown_archive_answers_404(client, db):
    export_request = ready_export()
    client.force_login(rgpd_user())
    token = Token.objects.create(user=rgpd_user(username="api-user"))
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert (
        client.get(reverse("admin:rgpd_exportrequest_download", args=[export_request.pk + 1, 1])).status_code
        == 404
    )
    assert client.get(admin_download_url(export_request, number=2)).status_code == 404
    assert api.get(reverse("rgpd_api:export-part-download", args=[export_request.pk, 2])).status_code == 404
    assert api.get(reverse("rgpd_api:export-detail", args=[export_request.pk + 1])).status_code == 404
    assert client.get(reverse("admin:rgpd_export_contact", args=[999999])).status_code == 404


def test_a_get_on_the_action_urls_changes_nothing(client, db):
    contact = ContactFactory()
    client.force_login(rgpd_user())
    assert client.get(reverse("admin:rgpd_export_contact", args=[contact.pk])).status_code == 200
    listing = client.get(
        reverse(CHANGELIST),
        bulk_action_payload("export_selected", [contact.pk], select_across=True, confirm=True),
    )
    assert listing.status_code in (200, 302)
    assert ExportRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_post_without_csrf_token_is_refused(db):
    # Given a logged-in RGPD officer whose browser does not send the CSRF token
    contact = ContactFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rgpd_user())

    # When the export is posted without it (row, bulk, API with the session), Then 403 and nothing starts
    assert browser.post(reverse("admin:rgpd_export_contact", args=[contact.pk])).status_code == 403
    bulk = browser.post(
        reverse(CHANGELIST),
        bulk_action_payload("export_selected", [contact.pk], confirm=True),
    )
    assert bulk.status_code == 403
    api = browser.post(
        reverse("rgpd_api:export-list"), {"contacts": [contact.pk]}, content_type="application/json"
    )
    assert api.status_code == 403
    assert ExportRequest.objects.count() == 0

    # And with the token taken from the confirmation page, it goes through
    page = browser.get(reverse("admin:rgpd_export_contact", args=[contact.pk]))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert (
        browser.post(
            reverse("admin:rgpd_export_contact", args=[contact.pk]), {"csrfmiddlewaretoken": csrf}
        ).status_code
        == 302
    )
    assert ExportRequest.objects.count() == 1


def test_the_api_starts_an_export_with_a_token_and_names_bad_ids(db, django_capture_on_commit_callbacks):
    # Given an RGPD officer's API token
    user = rgpd_user()
    token = Token.objects.create(user=user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    contacts = ContactFactory.create_batch(3)

    # When an export of unknown ids is posted, Then 400 names them and nothing starts
    response = api.post(
        reverse("rgpd_api:export-list"),
        {"contacts": [contacts[0].pk, 999998, 999999]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["unknown_ids"] == [999998, 999999]
    message = response.json()["errors"]["contacts"][0]
    assert "999998" in message and "999999" in message and response.json()["code"] == "unknown_contacts"
    for bad in ([], ["x"], "12", [0]):
        assert (
            api.post(
                reverse("rgpd_api:export-list"), {"contacts": bad}, content_type="application/json"
            ).status_code
            == 400
        )
    assert ExportRequest.objects.count() == 0

    # When valid ids are posted (a duplicate included)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            reverse("rgpd_api:export-list"),
            {"contacts": [c.pk for c in contacts] + [contacts[0].pk]},
            content_type="application/json",
        )

    # Then 202 with the request, its status, progress and parts; one task per part after commit
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["subject_count"] == 3
    assert body["progress"] == {"percent": 0, "parts_done": 0, "parts_total": 1}
    assert [(p["number"], p["status"], p["download_url"]) for p in body["parts"]] == [(1, "pending", None)]
    assert response["Location"] == reverse("rgpd_api:export-detail", args=[body["id"]])
    assert len(callbacks) == 1
    audit = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT_REQUESTED)
    assert audit.actor == user and audit.subject_ids == sorted(c.pk for c in contacts)

    # And once built, the detail and the list show it ready, with a download link
    export_part_build(part_id=ExportPart.objects.get(request_id=body["id"]).pk)
    detail = api.get(reverse("rgpd_api:export-detail", args=[body["id"]])).json()
    assert detail["status"] == "ready" and detail["progress"]["percent"] == 100
    assert detail["parts"][0]["download_url"].endswith(
        reverse("rgpd_api:export-part-download", args=[body["id"], 1])
    )
    assert detail["expires_at"] is not None
    listing = api.get(reverse("rgpd_api:export-list")).json()
    assert [item["id"] for item in listing["results"]] == [body["id"]]


def test_the_request_page_refreshes_itself_until_done_and_the_history_lists_it(client, db):
    # Given an export not built yet
    user = rgpd_user()
    contact = ContactFactory()
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=user, language="fr"
    )
    client.force_login(user)

    # Then its page shows the progress and updates itself in place (no reload: no meta refresh)
    page = client.get(reverse("admin:rgpd_exportrequest_change", args=[export_request.pk]))
    assert page.status_code == 200
    assert '<meta http-equiv="refresh"' not in page.content.decode()
    assert 'data-live-poll="3"' in page.content.decode() and "live-progress.js" in page.content.decode()
    assert "0 partie(s) terminée(s) sur 1" in page.content.decode()

    # When built, the page stops asking, and the history shows status, progress, requester, expiry
    export_part_build(part_id=export_request.parts.get().pk)
    page = client.get(reverse("admin:rgpd_exportrequest_change", args=[export_request.pk]))
    assert "data-live-poll" not in page.content.decode()
    history = client.get(reverse("admin:rgpd_exportrequest_changelist")).content.decode()
    assert reverse("admin:rgpd_exportrequest_change", args=[export_request.pk]) in history
    assert user.username in history
    assert admin_download_url(export_request) in history
    assert "1 / 1" in history

    # And the audit log's pages are read-only lists of ids and codes
    audit = client.get(reverse("admin:rgpd_auditevent_changelist"))
    assert audit.status_code == 200 and contact.last_name not in audit.content.decode()
    event = AuditEvent.objects.filter(export_request=export_request).first()
    detail = client.get(reverse("admin:rgpd_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.post(reverse("admin:rgpd_auditevent_delete", args=[event.pk])).status_code == 403


def test_the_email_is_in_the_requesters_language_and_tells_warnings_and_failures(db, settings):
    # Given an English-speaking requester whose export has one part ready with a missing document,
    # and one part that failed
    settings.RGPD_EXPORT_PART_SIZE = 1
    user = rgpd_user(email="en@example.com")
    contacts = ContactFactory.create_batch(2)
    lost = DocumentFactory(contact=contacts[0])
    lost.file.storage.delete(lost.file.name)
    export_request = export_request_create(
        population="contacts", subject_ids=[c.pk for c in contacts], actor=user, language="en"
    )
    first, second = export_request.parts.order_by("number")
    assert export_part_build(part_id=first.pk) == "ready"
    assert not export_request_notify(request_id=export_request.pk)  # not done yet: no email
    ExportPart.objects.filter(pk=second.pk).update(status=ExportPart.Status.FAILED, error="Storage error")

    # When the request is done, the email goes out, once
    assert export_request_notify(request_id=export_request.pk)
    assert not export_request_notify(request_id=export_request.pk)

    # Then it is in English, with the warning and the failure, and the link to the request's page
    (message,) = mail.outbox
    assert message.to == ["en@example.com"]
    assert "finished with errors" in message.subject
    assert "2 people" in message.body
    assert "1 document could not be found" in message.body
    assert "1 of the 2 parts of the archive could not be generated" in message.body
    assert reverse("admin:rgpd_exportrequest_change", args=[export_request.pk]) in message.body
    html_body, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and '<html lang="en">' in html_body
    assert "1 document could not be found" in html_body
    link = reverse("admin:rgpd_exportrequest_change", args=[export_request.pk])
    assert re.search(rf'<a href="https?://[^"]+{re.escape(link)}">', html_body)


def test_archives_on_local_storage_are_streamed_and_written_atomically(client, db, settings, tmp_path):
    # Given the embedded default: archives on the local disk
    settings.STORAGES = {
        **settings.STORAGES,
        "rgpd_archives": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/archives-not-served/"},
        },
    }
    export_request = ready_export()
    part = export_request.parts.get()
    client.force_login(rgpd_user())

    # When downloaded, Then the archive is streamed as an attachment
    response = client.get(admin_download_url(export_request))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="gdpr-export-{export_request.pk}.zip"'
    assert never_stored(response)
    body = b"".join(response.streaming_content)
    open_archive(body)
    # And only the complete file is on disk (no temporary file left)
    files = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [part.object_key]
