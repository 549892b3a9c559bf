"""What a new RGPD officer stumbled on (issue 16's bug list), each shown as the officer would see it."""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.urls import reverse

from contacts.models import Contact
from rgpd.models import AnonymisationRequest, AnonymisationSubject, ExportRequest, PendingStorageDeletion
from rgpd.services.exports import export_request_notify, export_requests_resume_stalled
from tests.factories import ContactFactory, UserFactory, exported, png_image, rgpd_user
from tests.support.embedded import EmbeddedApp, HttpClient
from tests.support.helpers import http_get, wait_until

NO_EMAIL_FR = "Aucun email n'a pu être envoyé : le demandeur n'a pas d'adresse email."
NO_EMAIL_EN = "No email could be sent: the requester has no email address."


def text_of(response) -> str:
    """The page as a user reads it: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def cell(response, element_id: str) -> str:
    """The text of the element with this id (a table cell)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</td>', response.content.decode(), flags=re.S)
    assert match, element_id
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


@pytest.fixture
def officer_client(client):
    client.force_login(rgpd_user(username="claire.dpo"))
    return client


# --- "Demandes d'export": the expiry in local time -----------------------------------------------------


@pytest.mark.django_db
def test_the_export_list_shows_the_expiry_in_local_time_like_the_request_page(officer_client, settings):
    settings.TIME_ZONE = "Europe/Paris"
    part = exported([ContactFactory()])
    # 10:00 UTC on 1 July is 12:00 in Paris (summer time).
    part.expires_at = datetime(2031, 7, 1, 10, 0, tzinfo=UTC)
    part.save(update_fields=["expires_at"])

    listing = text_of(officer_client.get(reverse("admin:rgpd_exportrequest_changelist")))
    detail = text_of(officer_client.get(reverse("admin:rgpd_exportrequest_change", args=[part.request_id])))

    assert "1 juillet 2031 12:00" in listing and "1 juillet 2031 10:00" not in listing
    assert "1 juillet 2031 12:00" in detail


# --- A requester without an email address is not told an email was sent ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "message"), [("fr", NO_EMAIL_FR), ("en", NO_EMAIL_EN)])
def test_a_requester_without_email_is_told_no_email_was_sent_and_why(officer_client, language, message):
    requester = rgpd_user(username="sans.email", email="")
    part = exported([ContactFactory()], requested_by=requester)

    assert export_request_notify(request_id=part.request_id) is False

    export_request = ExportRequest.objects.get(pk=part.request_id)
    assert export_request.notified_at is None  # the API's "notified_at" does not claim it either
    officer_client.cookies["django_language"] = language
    page = officer_client.get(reverse("admin:rgpd_exportrequest_change", args=[part.request_id]))
    assert cell(page, "export-email") == message
    # Not queued again by the periodic sweep either: nothing would be sent.
    export_requests_resume_stalled()
    assert ExportRequest.objects.get(pk=part.request_id).notified_at is None


# --- The anonymisation result page does not say "done" beside "in progress" -----------------------------


@pytest.mark.django_db
def test_the_result_page_is_not_done_while_stored_files_are_being_deleted(officer_client):
    contact = ContactFactory(first_name="xxx", last_name="xxx")
    anonymisation = AnonymisationRequest.objects.create(
        population="contacts",
        status=AnonymisationRequest.Status.DONE,
        subject_count=1,
        processed_count=1,
        anonymised_count=1,
    )
    AnonymisationSubject.objects.create(
        request=anonymisation,
        requested_id=contact.pk,
        subject_id=contact.pk,
        result=AnonymisationSubject.Result.ANONYMISED,
    )
    pending = PendingStorageDeletion.objects.create(
        population="contacts", subject_id=contact.pk, key="contacts/opaque/photo.png"
    )
    url = reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk])

    def status_of(response) -> str:
        match = re.search(r'<dd data-status="[^"]*"[^>]*>(.*?)</dd>', response.content.decode(), flags=re.S)
        assert match
        return " ".join(html.unescape(match.group(1)).split())

    while_deleting = officer_client.get(url)
    assert "anonymisation en cours" in text_of(while_deleting)
    assert status_of(while_deleting) != "Terminée"
    assert "suppression" in status_of(while_deleting)
    assert "cette page s'actualise d'elle-même" in text_of(while_deleting)

    pending.delete()
    finished = officer_client.get(url)
    assert status_of(finished) == "Terminée"
    assert "anonymisation en cours" not in text_of(finished)


# --- The dry run lists "Photo — deleted" only when there is a photo --------------------------------------


@pytest.mark.django_db
def test_the_dry_run_shows_the_photo_line_only_for_a_contact_with_a_photo(officer_client):
    without_photo = ContactFactory()
    with_photo = ContactFactory(photo=png_image())
    exported([without_photo, with_photo])

    def dry_run(contact: Contact) -> str:
        page = officer_client.get(reverse("admin:rgpd_anonymise_contact", args=[contact.pk]))
        assert page.status_code == 200
        return page.content.decode()

    assert 'data-field="photo"' not in dry_run(without_photo)
    with_line = re.search(r'<tr data-field="photo">(.*?)</tr>', dry_run(with_photo), flags=re.S)
    assert with_line and "supprimé" in with_line.group(1)


# --- The contacts admin links the photo through the permission-checked view ------------------------------


@pytest.mark.django_db
def test_the_contact_form_links_the_photo_through_the_checked_download(client):
    contact = ContactFactory(photo=png_image())
    client.force_login(UserFactory(username="admin.photo", is_superuser=True))

    form = client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()

    photo_url = reverse("contacts:photo", args=[contact.pk])
    assert f'href="{photo_url}"' in form
    assert "/media-not-served/" not in form
    download = client.get(photo_url)
    # The view streams the file, or (on S3) redirects to a presigned URL of a few minutes.
    if download.status_code == 302:
        status, body, _headers = http_get(download["Location"])
    else:
        status, body = download.status_code, b"".join(download.streaming_content)
    assert status == 200 and body.startswith(b"\x89PNG")
    client.logout()
    assert client.get(photo_url).status_code == 302  # to the login page, never the file
    assert "login" in client.get(photo_url)["Location"]


# --- make run: email links on the port it serves, the banner names the real mail folder ------------------


def sent_emails(mail_dir: Path) -> list[EmailMessage]:
    """Every message the embedded backend kept (one file per connection, messages between dashes)."""
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_bytes().split(b"-" * 79):
            if chunk.strip():
                parsed = email.message_from_bytes(chunk.strip() + b"\n", policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                messages.append(parsed)
    return messages


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def test_make_run_on_another_port_links_emails_to_that_port_and_names_its_mail_folder(tmp_path):
    app = EmbeddedApp(tmp_path, contacts=2, documents_per_contact=0)
    app.env.pop("SITE_URL", None)
    assert app.port != 8000
    app.start()
    try:
        mail_dir = app.var_dir / "mail"
        assert f"kept in {mail_dir}/" in app.log()
        assert "var/mail/" not in app.log().replace(str(mail_dir), "")

        (contact_id,) = app.query("SELECT id FROM contacts_contact ORDER BY id LIMIT 1")[0]
        api = HttpClient(app.url, token=app.api_token("rgpd"))
        status, created = api.json("POST", "/api/rgpd/exports/", {"contacts": [contact_id]})
        assert status == 202, created
        wait_until(lambda: sent_emails(mail_dir), timeout=90, message="the export's email")

        link = f"{app.url}/admin/rgpd/exportrequest/{created['id']}/change/"
        assert link in body_text(sent_emails(mail_dir)[0])
        assert ":8000/" not in body_text(sent_emails(mail_dir)[0])
    finally:
        app.stop()


# --- Journal RGPD: search by person number, filter by actor --------------------------------------------


@pytest.mark.django_db
def test_the_gdpr_log_finds_a_persons_events_by_their_number_and_filters_by_actor(officer_client):
    from rgpd.models import AuditEvent

    claire = UserFactory(username="claire.other")
    bob = UserFactory(username="bob.other")
    AuditEvent.objects.create(action=AuditEvent.Action.ANONYMISED, subject_ids=[87, 12], actor=claire)
    AuditEvent.objects.create(action=AuditEvent.Action.EXPORT_REQUESTED, subject_ids=[870], actor=bob)
    url = reverse("admin:rgpd_auditevent_changelist")

    found = officer_client.get(url, {"q": "87"})
    by_bob = officer_client.get(url, {"actor__id__exact": bob.pk})
    nonsense = officer_client.get(url, {"q": "Dupont"})

    assert found.status_code == 200
    assert list(found.context["cl"].result_list.values_list("action", flat=True)) == ["anonymised"]
    assert list(by_bob.context["cl"].result_list.values_list("action", flat=True)) == ["export_requested"]
    assert nonsense.status_code == 200 and not nonsense.context["cl"].result_list
    assert "Rechercher par numéro de personne" in text_of(found)


@pytest.mark.django_db
def test_the_gdpr_log_shows_details_as_french_labels_not_raw_json(officer_client):
    from rgpd.models import AuditEvent

    AuditEvent.objects.create(
        action=AuditEvent.Action.PART_READY,
        details={"part": 2, "parts": 3, "attempt": 1},
        counts={"files": 4},
    )

    page = text_of(officer_client.get(reverse("admin:rgpd_auditevent_changelist")))

    assert "partie : 2 ; parties : 3 ; tentative : 1" in page
    assert "fichiers : 4" in page
    assert '"parts"' not in page and "attempt" not in page


@pytest.mark.django_db
def test_a_real_anonymisations_log_entries_read_in_french(officer_client):
    from rgpd.services.anonymisation import anonymisation_request_create

    # Given a contact exported then anonymised through the service (its real audit rows)
    contact = ContactFactory()
    exported([contact])
    anonymisation_request_create(
        population="contacts", subject_ids=[contact.pk], actor=UserFactory(), confirmed=True
    )

    # When the officer reads the journal in French
    page = text_of(officer_client.get(reverse("admin:rgpd_auditevent_changelist")))

    # Then every key and code of the anonymisation's details is a French label
    assert "lignes vérifiées" in page and "vérification après anonymisation : réussie" in page
    for raw in ("rows_checked", "values_checked", "database_check", "history_entries_rewritten", "passed"):
        assert raw not in page, raw


@pytest.mark.django_db
def test_the_gdpr_log_counts_entries_not_journals(officer_client):
    from rgpd.models import AuditEvent

    for _ in range(6):
        AuditEvent.objects.create(action=AuditEvent.Action.ARCHIVE_DOWNLOADED)

    page = text_of(officer_client.get(reverse("admin:rgpd_auditevent_changelist")))

    assert "6 entrées du journal" in page
    assert "6 Journal RGPD" not in page
