"""Exporting in Chromium: a row's box icon, the bulk action, the request's page, the email, the archive."""

import json
import re
import zipfile

from playwright.sync_api import expect

from contacts.models import Document
from rgpd.models import ExportRequest
from tests.browser.conftest import log_in
from tests.browser.support import (
    BOX_FR,
    DETECTIVE_FR,
    LOUPE_FR,
    PAGE_TITLE_FR,
    RGPD_PAGE,
    SEED_EXPORT_TEXTS,
    emails_about,
    export_count_text,
    row_of,
    text_part,
)
from tests.factories import ContactFactory, DocumentFactory, png_image, rgpd_user

EMAIL_LINK = re.compile(r"https?://[^\s\"<>]+/admin/rgpd/exportrequest/(\d+)/change/")


def expect_request_ready(page) -> None:
    """The request's page shows its progress, refreshing itself, until the archive is "prête"."""
    expect(page.locator("progress")).to_be_visible()
    expect(page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I), timeout=60_000)


def test_an_officer_exports_one_contact_from_its_row_and_downloads_the_archive(
    celery_worker, smtp_sink, live_server, page, new_context, login, screenshot
):
    # Given an RGPD officer, and contacts; Mme Lefèvre has a photo, a payslip and an employment contract
    officer = rgpd_user(username="claire.dpo", email="claire.dpo@example.com")
    contact = ContactFactory(
        first_name="Élodie",
        last_name="Lefèvre",
        email="elodie.lefevre@example.fr",
        city="Lyon",
        photo=png_image("portrait.png"),
    )
    documents = [
        DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP),
        DocumentFactory(contact=contact, kind=Document.Kind.EMPLOYMENT_CONTRACT),
    ]
    for first, last in [("Hugo", "Arnaud"), ("Inès", "Bertin"), ("Louis", "Mercier"), ("Chloé", "Roussel")]:
        ContactFactory(first_name=first, last_name=last)
    login(officer)

    # When the officer opens the RGPD page from the admin's home
    page.get_by_role("link", name=PAGE_TITLE_FR).first.click()

    # Then each row offers the seed's three icons, by name, with their images shown
    expect(page.get_by_role("heading", name=PAGE_TITLE_FR)).to_be_visible()
    row = row_of(page, contact)
    for name in (LOUPE_FR, BOX_FR, DETECTIVE_FR):
        icon = row.get_by_role("link", name=name)
        expect(icon).to_have_count(1)
        assert icon.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot("rgpd-page")

    # When the officer clicks the loupe+ of Mme Lefèvre
    row.get_by_role("link", name=LOUPE_FR).click()

    # Then her record shows her data and her two documents
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lefèvre")
    expect(page.locator('[data-field="email"]')).to_have_text("elodie.lefevre@example.fr")
    expect(page.locator("#documents tbody tr")).to_have_count(2)
    expect(page.get_by_role("img", name="Photo du contact")).to_be_visible()

    # When the officer goes back and clicks the box of her row
    page.go_back()
    row_of(page, contact).get_by_role("link", name=BOX_FR).click()

    # Then the confirmation shows the seed's texts and the count of people, and nothing has started
    for text in SEED_EXPORT_TEXTS:
        expect(page.get_by_text(text, exact=True)).to_be_visible()
    expect(page.get_by_text(export_count_text(1), exact=True)).to_be_visible()
    assert ExportRequest.objects.count() == 0
    screenshot("export-confirmation")

    # When the officer confirms
    page.get_by_role("button", name=BOX_FR).click()

    # Then the request's page shows the progress, then the archive is "prête"
    expect(page.get_by_text("L'export a démarré : Élodie Lefèvre.", exact=False)).to_be_visible()
    export_request = ExportRequest.objects.get()
    expect(page).to_have_url(re.compile(rf"/admin/rgpd/exportrequest/{export_request.pk}/change/$"))
    expect_request_ready(page)
    expect(page.locator("progress")).to_have_attribute("value", "1")
    screenshot("export-request")

    # And the page stops refreshing once done: it stays the same document for longer than a refresh
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    page.evaluate("window.__sameDocument = true")
    page.wait_for_timeout(3500)
    assert page.evaluate("window.__sameDocument === true")

    # And one email reached the officer, with an absolute link to the request's page
    (message,) = emails_about(smtp_sink, export_request)
    assert message["To"] == "claire.dpo@example.com"
    assert "prête" in message["Subject"]
    match = EMAIL_LINK.search(text_part(message))
    assert match and match.group(0).startswith(live_server.url)
    assert int(match.group(1)) == export_request.pk

    # When the officer opens the link in a fresh browser session, they are asked to log in first
    mail_page = new_context().new_page()
    mail_page.goto(match.group(0))
    expect(mail_page.get_by_label("Mot de passe")).to_be_visible()
    log_in(mail_page, officer)

    # Then the request's page opens, and the archive downloads
    expect(mail_page).to_have_url(match.group(0))
    expect(mail_page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I))
    with mail_page.expect_download() as download_info:
        mail_page.get_by_role("link", name="Télécharger").click()
    download = download_info.value
    assert download.suggested_filename == f"gdpr-export-{export_request.pk}.zip"

    # And the archive holds personal_data.json with her name, her documents and her photo
    with zipfile.ZipFile(download.path()) as archive:
        names = archive.namelist()
        personal = json.loads(archive.read(f"contact-{contact.pk}/personal_data.json"))
        for document in documents:
            document.refresh_from_db()
            path = f"contact-{contact.pk}/documents/{document.pk}_{document.original_name}"
            assert path in names
            with document.file.open("rb") as stored:
                assert archive.read(path) == stored.read()
    assert personal["subject"]["fields"]["last_name"] == "Lefèvre"
    assert personal["subject"]["fields"]["first_name"] == "Élodie"
    assert any(name.startswith(f"contact-{contact.pk}/photo/") for name in names)
    assert "manifest.json" in names


def test_an_officer_exports_a_selection_and_all_contacts_matching_a_search(
    celery_worker, smtp_sink, page, login
):
    # Given an officer, three contacts to pick by hand, and 52 "Quenardel" among other contacts
    officer = rgpd_user(username="claire.dpo", email="claire.dpo@example.com")
    picked = [ContactFactory(last_name=name) for name in ("Aubert", "Blanchard", "Carpentier")]
    ContactFactory(last_name="Dumont")
    quenardels = ContactFactory.create_batch(52, last_name="Quenardel")
    ContactFactory.create_batch(3, last_name="Petit")
    login(officer)

    # When the officer ticks three rows and runs "Exporter les données >>"
    page.goto(RGPD_PAGE)
    for contact in picked:
        row_of(page, contact).get_by_role("checkbox").check()
    expect(page.locator(".action-counter")).to_contain_text("3 sur")
    page.get_by_label("Action :").select_option(label="Exporter les données >>")
    page.get_by_role("button", name="Envoyer").click()

    # Then the confirmation counts three people; confirming starts one export of those three
    expect(page.get_by_text(export_count_text(3), exact=True)).to_be_visible()
    page.get_by_role("button", name=BOX_FR).click()
    expect_request_ready(page)
    first = ExportRequest.objects.get()
    assert set(first.parts.get().subjects.values_list("subject_id", flat=True)) == {c.pk for c in picked}

    # And one email arrives for that export
    (message,) = emails_about(smtp_sink, first)
    assert message["To"] == "claire.dpo@example.com"

    # When the officer searches "Quenardel", ticks the page's box and selects all 52 matching contacts
    page.goto(RGPD_PAGE)
    page.get_by_role("textbox", name="Rechercher").fill("Quenardel")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(50)
    page.locator("#action-toggle").check()
    page.get_by_role("button", name="Sélectionner tous les 52 contacts").click()
    expect(page.get_by_text("Tous les 52 sélectionnés")).to_be_visible()
    page.get_by_label("Action :").select_option(label="Exporter les données >>")
    page.get_by_role("button", name="Envoyer").click()

    # Then the confirmation counts the 52, and the export covers exactly them
    expect(page.get_by_text(export_count_text(52), exact=True)).to_be_visible()
    page.get_by_role("button", name=BOX_FR).click()
    expect_request_ready(page)
    second = ExportRequest.objects.exclude(pk=first.pk).get()
    subjects = set(second.parts.values_list("subjects__subject_id", flat=True))
    assert subjects == {c.pk for c in quenardels}

    # And one email arrives for the second export
    (message,) = emails_about(smtp_sink, second)
    assert "prête" in message["Subject"]
