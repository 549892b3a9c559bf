"""Export end to end: the admin's row icon and bulk action, a real Celery worker, the SeaweedFS bucket,
a real SMTP sink; deliveries twice and a worker killed mid-build."""

from __future__ import annotations

import html
import json
import re
import time

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.base import ContentFile
from django.urls import reverse

from contacts.models import Contact, Document, RgpdContact
from harness.admin_actions import bulk_action_payload
from rgpd.models import AuditEvent, ExportPart, ExportRequest
from rgpd.services.exports import export_part_build, export_request_create
from rgpd.storage import s3_client
from rgpd.tasks.exports import build_export_part, purge_expired_archives
from tests.factories import ContactFactory, DocumentFactory, png_image, rgpd_user
from tests.support.exports import (
    archive_bytes,
    archives,
    bucket_keys,
    incomplete_uploads,
    open_archive,
    request_prefix,
    wait_for_request_done,
    wait_until,
)

CHANGELIST = "admin:rgpd_rgpdcontact_changelist"
SEED_TEXTS = [
    "Cette fonctionnalité permet de récupérer les données et documents d'une population ciblée.",
    "En lançant cette action, l'application va générer une archive contenant un fichier structuré "
    "(format JSON).",
    "Cette étape est obligatoire pour pouvoir ensuite anonymiser les données.",
    "ATTENTION : Cette archive sera stockée pendant 10 jours. Une fois ce délai dépassé, les données seront "
    "définitivement supprimées de nos serveurs.",
    "Une fois l'archive générée, un email sera envoyé à la personne qui a effectué l'action.",
]


pytestmark = pytest.mark.usefixtures("on_s3")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def email_parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html_body = message.get_body(preferencelist=("html",)).get_content()
    return text, html_body


def request_page_url(export_request: ExportRequest) -> str:
    return reverse("admin:rgpd_exportrequest_change", args=[export_request.pk])


def test_row_icon_export_builds_one_archive_and_emails_the_requester(celery_worker, client, smtp_sink):
    # Given an RGPD officer and a contact with a photo and three documents
    user = rgpd_user(email="dpo@example.com")
    contact = ContactFactory(photo=png_image("portrait.png"))
    documents = [DocumentFactory(contact=contact) for _ in range(3)]
    client.force_login(user)

    # When they click the box icon of the contact's row
    page = client.get(reverse(CHANGELIST))
    export_url = reverse("admin:rgpd_export_contact", args=[contact.pk])
    assert f'href="{export_url}"' in page.content.decode()
    assert 'aria-label="Exporter les données"' in page.content.decode()
    confirmation = client.get(export_url)

    # Then a confirmation in the admin's style shows the seed's texts, for one person, and changes nothing
    assert confirmation.status_code == 200
    shown = text_of(confirmation)
    for sentence in SEED_TEXTS:
        assert sentence in shown
    assert "Les données et éventuels documents concernant 1 personne(s) vont être exportées." in shown
    assert 'value="Exporter les données"' in shown
    assert ExportRequest.objects.count() == 0

    # When they confirm
    response = client.post(export_url)

    # Then they land on the request's page, which refreshes itself until the archive is ready
    export_request = ExportRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request_page_url(export_request)
    export_request = wait_for_request_done(export_request)
    done_page = client.get(request_page_url(export_request))
    assert 'http-equiv="refresh"' not in done_page.content.decode()
    assert "Prête" in text_of(done_page) or "prête" in text_of(done_page)

    # And one complete ZIP is in the bucket, schema-valid, holding byte-identical documents
    part = export_request.parts.get()
    assert part.status == ExportPart.Status.READY
    prefix = request_prefix(export_request)
    assert len(bucket_keys(prefix)) == 1 and incomplete_uploads(prefix) == []
    archive = open_archive(archive_bytes(part))
    fields = archive["people"][contact.pk]["subject"]["fields"]
    assert (fields["first_name"], fields["last_name"], fields["email"]) == (
        contact.first_name,
        contact.last_name,
        contact.email,
    )
    for document in documents:
        path = f"contact-{contact.pk}/documents/{document.pk}_{document.original_name}"
        with document.file.storage.open(document.file.name, "rb") as stored:
            assert archive["files"][path] == stored.read()

    # And one email reached the requester: French, HTML + text, with the count, the expiry and the link
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "dpo@example.com"
    assert "prête" in message["Subject"]
    text, html_body = email_parts(message)
    link = f"{settings.SITE_URL}{request_page_url(export_request)}"
    assert link in text and f'href="{link}"' in html_body
    assert "1 personne" in text
    assert "Elle sera conservée jusqu'au" in text
    for body in (text, html_body):
        assert "X-Amz" not in body and settings.AWS_STORAGE_BUCKET_NAME not in body
        assert contact.last_name not in body and contact.email not in body

    # And the page offers the download (audited), and the purge deletes the archive once expired
    download_url = reverse("admin:rgpd_exportrequest_download", args=[export_request.pk, 1])
    assert download_url in done_page.content.decode()
    assert client.get(download_url).status_code == 302
    ExportPart.objects.filter(pk=part.pk).update(expires_at=part.ready_at)
    purge_expired_archives.delay()
    wait_until(
        lambda: ExportPart.objects.get(pk=part.pk).status == ExportPart.Status.EXPIRED, message="the purge"
    )
    assert bucket_keys(prefix) == []

    # And the audit log recorded each step by ids only, with no personal value
    actions = set(AuditEvent.objects.filter(export_request=export_request).values_list("action", flat=True))
    assert actions == {
        AuditEvent.Action.EXPORT_REQUESTED,
        AuditEvent.Action.PART_READY,
        AuditEvent.Action.ARCHIVE_DOWNLOADED,
        AuditEvent.Action.ARCHIVE_PURGED,
    }
    rows = json.dumps(
        list(AuditEvent.objects.filter(export_request=export_request).values()),
        default=str,
        ensure_ascii=False,
    )
    for value in (
        contact.first_name,
        contact.last_name,
        contact.email,
        contact.phone,
        contact.street,
        contact.photo.name,
        *[d.original_name for d in documents],
        *[d.file.name for d in documents],
    ):
        assert value not in rows
    for event in AuditEvent.objects.filter(export_request=export_request):
        assert event.subject_ids == [contact.pk]


def select_all_matching(client, query: str, *, per_page_ids: list[int]):
    """What the changelist posts after "select all N matching": the page's ids and select_across."""
    return client.post(
        f"{reverse(CHANGELIST)}?q={query}",
        bulk_action_payload("export_selected", per_page_ids, select_across=True),
    )


def confirm(client, confirmation) -> object:
    """Submit the confirmation form as the browser would: its hidden fields, to its action URL."""
    body = confirmation.content.decode()
    form = re.search(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', body, re.S)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)):
        fields.setdefault(name, []).append(html.unescape(value))
    fields.pop("csrfmiddlewaretoken", None)
    return client.post(html.unescape(form.group(1)), fields), fields


@pytest.fixture
def small_pages(monkeypatch):
    """The RGPD page shows 20 rows a page, so that 50 contacts span three pages."""
    monkeypatch.setattr(admin.site._registry[RgpdContact], "list_per_page", 20)


def bulk_export_of_fifty(client, smtp_sink) -> tuple[ExportRequest, list]:
    contacts = [ContactFactory(last_name=f"Zorglub{n:02d}") for n in range(50)]
    ContactFactory.create_batch(5, last_name="Autre")
    DocumentFactory(contact=contacts[0])
    user = rgpd_user(email="bulk@example.com")
    client.force_login(user)

    # When "select all 50 matching" is chosen on the first page of the search and the action confirmed
    first_page = client.get(f"{reverse(CHANGELIST)}?q=Zorglub")
    assert "50" in text_of(first_page)
    page_ids = [
        int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', first_page.content.decode())
    ]
    assert len(page_ids) == 20
    confirmation = select_all_matching(client, "Zorglub", per_page_ids=page_ids)
    assert confirmation.status_code == 200
    assert "concernant 50 personne(s)" in text_of(confirmation)
    response, posted = confirm(client, confirmation)

    # Then the confirmation carried the query, not one field per contact, and one request covers the 50
    assert posted["select_across"] == ["1"] and len(posted["_selected_action"]) == 1
    export_request = ExportRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request_page_url(export_request)
    assert export_request.subject_count == 50
    return wait_for_request_done(export_request), contacts


def test_bulk_export_of_fifty_selected_across_pages_gives_one_archive_and_one_email(
    celery_worker, client, smtp_sink, small_pages
):
    export_request, contacts = bulk_export_of_fifty(client, smtp_sink)

    # Then one archive with 50 folders, and one email
    part = export_request.parts.get()
    archive = open_archive(archive_bytes(part))
    assert sorted(archive["people"]) == sorted(c.pk for c in contacts)
    assert {name.split("/")[0] for name in archive["names"] if "/" in name} == {
        f"contact-{c.pk}" for c in contacts
    }
    messages = smtp_sink.wait_for(1)
    time.sleep(2)
    assert len(smtp_sink.messages) == 1 == len(messages)
    assert "50 personnes" in email_parts(messages[0])[0]


def test_a_select_all_above_the_inline_limit_is_recorded_by_the_worker_with_the_same_result(
    celery_worker, client, smtp_sink, small_pages, settings
):
    # Given a web side that records at most 20 people itself: the 50 are recorded by the worker
    settings.RGPD_EXPORT_INLINE_MAX = 20
    export_request, contacts = bulk_export_of_fifty(client, smtp_sink)

    # Then the same one archive of the 50, the stored selection (it held the search) emptied, one email
    part = export_request.parts.get()
    assert (part.status, part.subject_count) == (ExportPart.Status.READY, 50)
    assert sorted(open_archive(archive_bytes(part))["people"]) == sorted(c.pk for c in contacts)
    assert (export_request.pending_selection_sql, export_request.pending_selection_params) == ("", [])
    messages = smtp_sink.wait_for(1)
    time.sleep(2)
    assert len(smtp_sink.messages) == 1 == len(messages)


def test_parts_of_twenty_are_built_by_the_worker_and_still_one_email(
    export_workers, client, smtp_sink, small_pages, settings
):
    # Given parts of at most 20 people, for this process and for the worker
    settings.RGPD_EXPORT_PART_SIZE = 20
    export_workers(RGPD_EXPORT_PART_SIZE=20, concurrency=2)

    export_request, contacts = bulk_export_of_fifty(client, smtp_sink)

    # Then three parts, 20 + 20 + 10 people, each a valid archive, together the 50 people
    parts = list(export_request.parts.order_by("number"))
    assert [(p.number, p.subject_count, p.status) for p in parts] == [
        (1, 20, "ready"),
        (2, 20, "ready"),
        (3, 10, "ready"),
    ]
    seen = []
    for part in parts:
        archive = open_archive(archive_bytes(part))
        assert (archive["manifest"]["part"], archive["manifest"]["part_count"]) == (part.number, 3)
        seen += list(archive["people"])
    assert sorted(seen) == sorted(c.pk for c in contacts)
    assert len(bucket_keys(request_prefix(export_request))) == 3

    # And still one email, once everything is ready
    messages = smtp_sink.wait_for(1)
    time.sleep(2)
    assert len(smtp_sink.messages) == 1 == len(messages)
    assert ExportRequest.objects.get(pk=export_request.pk).notified_at is not None


def test_a_request_of_many_parts_is_fanned_out_by_one_task_and_every_part_is_built(
    celery_worker, smtp_sink, settings, monkeypatch
):
    # Given parts of one person, and a request of more parts than are enqueued from the web request
    from rgpd.services import dispatch

    settings.RGPD_EXPORT_PART_SIZE = 1
    monkeypatch.setattr(dispatch, "ENQUEUE_DIRECT_MAX_PARTS", 2)
    # (a build sent from this process would be lost: only the worker's fan-out may send them)
    sent_here: list[int] = []
    monkeypatch.setattr(dispatch, "export_part", sent_here.append)
    contacts = ContactFactory.create_batch(3, last_name="Eventail")

    # When all of them are exported
    export_request = export_request_create(
        queryset=Contact.objects.filter(last_name="Eventail"), actor=rgpd_user(), language="fr"
    )

    # Then the worker's fan-out task sent the three builds: three ready parts, one email
    export_request = wait_for_request_done(export_request)
    assert sent_here == []
    parts = list(export_request.parts.order_by("number"))
    assert [(p.number, p.status) for p in parts] == [(1, "ready"), (2, "ready"), (3, "ready")]
    assert [pk for part in parts for pk in open_archive(archive_bytes(part))["people"]] == sorted(
        c.pk for c in contacts
    )
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_task_delivered_twice_builds_one_archive(celery_worker, smtp_sink):
    # Given an export whose part task is sent a second time right away (a duplicate delivery)
    contact = ContactFactory()
    DocumentFactory(contact=contact)
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
    )
    part = export_request.parts.get()
    build_export_part.delay(part.pk)

    # When both deliveries have run
    export_request = wait_for_request_done(export_request)
    smtp_sink.wait_for(1)
    time.sleep(3)

    # Then the part was claimed once, one archive exists, one email was sent, one "ready" audit row
    part.refresh_from_db()
    assert part.status == ExportPart.Status.READY and part.attempts == 1
    assert len(bucket_keys(request_prefix(export_request))) == 1
    assert len(smtp_sink.messages) == 1
    assert (
        AuditEvent.objects.filter(export_request=export_request, action=AuditEvent.Action.PART_READY).count()
        == 1
    )
    # And a third run, here in this process, does nothing either
    assert export_part_build(part_id=part.pk) == "skipped"
    assert build_export_part.apply(args=[part.pk]).get() == "skipped"
    assert len(bucket_keys(request_prefix(export_request))) == 1


BIG = 16 * 1024 * 1024


def test_a_worker_killed_mid_build_leads_to_one_ready_archive_after_redelivery(export_workers, smtp_sink):
    # Given workers that get a message back 8 s after a worker vanished, and a 3 s lease on a build
    env = {"CELERY_VISIBILITY_TIMEOUT": 8, "RGPD_EXPORT_LEASE_SECONDS": 3}
    doomed = export_workers(concurrency=1, **env)
    # ... and an export big enough to take a while (6 documents of 16 MiB, streamed)
    contacts = ContactFactory.create_batch(3)
    for contact in contacts:
        for n in range(2):
            DocumentFactory(contact=contact, file=ContentFile(bytes([n + 1]) * BIG, name=f"scan-{n}.bin"))
    export_request = export_request_create(
        population="contacts", subject_ids=[c.pk for c in contacts], actor=rgpd_user(), language="fr"
    )
    part = export_request.parts.get()
    prefix = request_prefix(export_request)

    # When the worker is killed (SIGKILL) while the archive is being uploaded
    def uploading():
        current = ExportPart.objects.get(pk=part.pk)
        if current.status != ExportPart.Status.RUNNING or not current.upload_id:
            return False
        key = f"{prefix}{current.object_key.rsplit('/', 1)[1]}"
        uploaded = s3_client(archives()).list_parts(
            Bucket=archives().bucket_name, Key=key, UploadId=current.upload_id
        )
        return bool(uploaded.get("Parts"))

    wait_until(uploading, interval=0.02, timeout=120, message="the first uploaded chunk")
    doomed.kill()
    killed_at = time.monotonic()

    # Then the part is left running, half-uploaded, and nothing appears under a final key
    part.refresh_from_db()
    assert part.status == ExportPart.Status.RUNNING and part.attempts == 1
    assert len(incomplete_uploads(prefix)) == 1
    assert bucket_keys(prefix) == []

    # When a new worker starts once the message's visibility timeout is over (it was delivered before
    # the kill) and the lease has expired: a starting worker puts such messages back in their queue.
    # (Kombu skips that sweep when another consumer holds Redis' shared restore lock at that moment;
    # a second worker's start sweeps again.)
    time.sleep(max(0.0, killed_at + env["CELERY_VISIBILITY_TIMEOUT"] + 2 - time.monotonic()))
    rescuers = [export_workers(concurrency=1, **env)]

    def reclaimed():
        return ExportPart.objects.filter(pk=part.pk, attempts__gte=2).exists()

    try:
        wait_until(reclaimed, timeout=30, message="the redelivered task to reclaim the part")
    except AssertionError:
        rescuers.append(export_workers(concurrency=1, **env))

    # Then the part is reclaimed and built: one ready archive, nothing half-uploaded, one email
    try:
        export_request = wait_for_request_done(export_request, timeout=180)
    except AssertionError as exc:
        logs = "\n".join(f"--- worker {n}:\n{w.log()[-4000:]}" for n, w in enumerate([doomed, *rescuers]))
        raise AssertionError(f"{exc}\n{logs}") from exc
    part.refresh_from_db()
    assert part.status == ExportPart.Status.READY and part.attempts == 2
    assert len(bucket_keys(prefix)) == 1
    assert incomplete_uploads(prefix) == []
    archive = open_archive(archive_bytes(part))
    assert sorted(archive["people"]) == sorted(c.pk for c in contacts)
    assert sum(1 for f in archive["manifest"]["files"] if f["kind"] == "file") == 6
    assert all(f["size"] == BIG for f in archive["manifest"]["files"] if f["kind"] == "file")
    smtp_sink.wait_for(1)
    assert (
        AuditEvent.objects.filter(export_request=export_request, action=AuditEvent.Action.PART_READY).count()
        == 1
    )
    assert Document.objects.filter(contact__in=contacts).count() == 6
