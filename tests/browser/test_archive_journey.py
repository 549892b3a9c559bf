"""The archive a person can read, in Chromium: the administrator writes the information sheet in the
back office, an export is built, and its index.html is opened from the unzipped folder (file://)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import expect

from contacts.models import Contact, Document
from rgpd.populations import population
from rgpd.services.exports import export_part_build, export_request_create
from tests.factories import ContactFactory, DocumentFactory, UserFactory, png_image, rgpd_user
from tests.support.exports import archive_bytes

PURPOSES = "Gestion des contrats de nos clients et du suivi de leurs salariés détachés."
COMPLAINT = "Vous pouvez saisir la CNIL (www.cnil.fr) si vous estimez vos droits méconnus."


def unzipped_export(contact: Contact, folder: Path) -> Path:
    """Build the contact's archive here, as a French-speaking officer asked, and unzip it into ``folder``."""
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=rgpd_user(), language="fr"
    )
    (part,) = export_request.parts.all()
    assert export_part_build(part_id=part.pk) == "ready"
    part.refresh_from_db()  # its object key is known once built
    with zipfile.ZipFile(io.BytesIO(archive_bytes(part))) as archive:
        archive.extractall(folder)
    return folder / "index.html"


@pytest.mark.usefixtures("on_s3")
def test_the_person_reads_their_archive_with_the_administrators_information_sheet(
    page, login, tmp_path, screenshot
):
    # Given an administrator, and Mme Lefèvre with a photo, a payslip and an employment contract
    admin = UserFactory(username="admin-rgpd", is_superuser=True)
    contact = ContactFactory(first_name="Élodie", last_name="Lefèvre", photo=png_image("portrait.png"))
    documents = [
        DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP),
        DocumentFactory(contact=contact, kind=Document.Kind.EMPLOYMENT_CONTRACT),
    ]

    # When the administrator opens "Informations sur le traitement" in the "Gestion RGPD" section
    login(admin)
    section = page.locator("#content-main .app-rgpd")
    section.get_by_role("link", name="Informations sur le traitement", exact=True).click()
    # Then the page says where these texts go
    expect(page.get_by_text("Chaque archive montre ces textes dans son index.html")).to_be_visible()
    # When the administrator rewrites the purposes and the complaint, then saves
    page.get_by_label("Finalités du traitement").fill(PURPOSES)
    page.get_by_label("Droit d'introduire une réclamation").fill(COMPLAINT)
    page.get_by_role("button", name="Enregistrer", exact=True).click()

    # Then the sheet stays open with Django's confirmation
    expect(page.locator(".messagelist")).to_contain_text("Modification enregistrée")
    expect(page.get_by_label("Finalités du traitement")).to_have_value(PURPOSES)

    # When her data is exported and the person opens index.html from the unzipped archive
    index = unzipped_export(contact, tmp_path / "archive")
    page.goto(index.as_uri())

    # Then the page is in French, names her, and shows the administrator's texts under their headings
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos données personnelles")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    sheet = page.locator("dl.sheet")
    expect(sheet.get_by_text("Finalités du traitement", exact=True)).to_be_visible()
    expect(sheet.get_by_text(PURPOSES, exact=True)).to_be_visible()
    expect(sheet.get_by_text(COMPLAINT, exact=True)).to_be_visible()
    expect(sheet.get_by_text("Vos droits", exact=True)).to_be_visible()
    screenshot("archive-index")

    # When she follows her name
    page.get_by_role("link", name="Élodie Lefèvre").click()

    # Then her page shows every field of her record, labelled in French
    expect(page.get_by_role("heading", level=1)).to_have_text("Élodie Lefèvre")
    with translation.override("fr"):
        names = population("contacts").subject.exported_fields
        french = [capfirst(str(Contact._meta.get_field(name).verbose_name)) for name in names]
    for label in french:
        expect(page.get_by_role("rowheader", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("rowheader", name="Prénom", exact=True)).to_be_visible()
    # ... her photo is shown from the archive
    photo = page.get_by_role("img", name="Photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    # ... and her documents by their kind and their original name, each link opening its file of the
    # unzipped folder, byte-identical to the stored document
    documents_table = page.locator("table.related")
    expect(documents_table.get_by_role("cell", name="Bulletin de salaire", exact=True)).to_be_visible()
    expect(documents_table.get_by_role("cell", name="Contrat de travail", exact=True)).to_be_visible()
    for document in documents:
        link = documents_table.get_by_role("link", name=document.original_name, exact=True)
        target = Path(unquote(urlparse(link.evaluate("a => a.href")).path))
        assert target.is_file() and target.is_relative_to(tmp_path / "archive")
        with document.file.open("rb") as stored:
            assert target.read_bytes() == stored.read()
    screenshot("archive-person")

    # And the link to her JSON opens the same data, and the way back leads to the summary
    json_link = page.get_by_role("link", name="les mêmes données au format JSON (portabilité)")
    assert Path(unquote(urlparse(json_link.evaluate("a => a.href")).path)).is_file()
    page.get_by_role("link", name="Retour au sommaire de l'archive").click()
    expect(page.get_by_role("heading", name="Personnes de cette archive")).to_be_visible()
