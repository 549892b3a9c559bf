"""The archive a person can read (format v2): index.html, a page per person, the information sheet,
and no internal storage key anywhere. Built by the real service into the real S3 bucket."""

from __future__ import annotations

import html
import re
from posixpath import dirname, join, normpath
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.utils import translation
from django.utils.text import capfirst

from contacts.models import Contact, Document
from rgpd.models import ProcessingInformation
from rgpd.populations import population
from rgpd.services.exports import export_part_build, export_request_create
from rgpd.services.exports.readable import index_page
from tests.factories import ContactFactory, DocumentFactory, UserFactory, png_image, rgpd_user
from tests.support.exports import archive_bytes, open_archive

LINK = re.compile(r'\b(?:href|src)\s*=\s*"([^"]*)"', re.I)


def export(contacts, *, language: str = "fr") -> dict:
    export_request = export_request_create(
        population="contacts", subject_ids=[c.pk for c in contacts], actor=rgpd_user(), language=language
    )
    (part,) = export_request.parts.all()
    assert export_part_build(part_id=part.pk) == "ready"
    part.refresh_from_db()  # its object key is known once built
    return open_archive(archive_bytes(part))


def text_of(archive: dict, path: str) -> str:
    return archive["files"][path].decode("utf-8")


def labels(model, names, language: str) -> list[str]:
    with translation.override(language):
        return [capfirst(str(model._meta.get_field(name).verbose_name)) for name in names]


@pytest.fixture
def lefevre(db):
    contact = ContactFactory(first_name="Élodie", last_name="Lefèvre", photo=png_image("portrait.png"))
    payslip = DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP)
    contract = DocumentFactory(contact=contact, kind=Document.Kind.EMPLOYMENT_CONTRACT)
    return contact, [payslip, contract]


@pytest.mark.usefixtures("on_s3")
def test_index_and_each_persons_page_show_the_data_with_french_labels_and_links_inside_the_archive(lefevre):
    # Given Mme Lefèvre with a photo, a payslip and an employment contract
    contact, documents = lefevre

    # When her data is exported by a French-speaking officer
    archive = export([contact])

    # Then the root index.html names her and links to her page, which exists in the archive
    index = text_of(archive, "index.html")
    assert '<html lang="fr">' in index and "Élodie Lefèvre" in html.unescape(index)
    assert f'href="contact-{contact.pk}/index.html"' in index
    page_path = f"contact-{contact.pk}/index.html"
    page = html.unescape(text_of(archive, page_path))

    # ... her page labels every registered field in French, with her values
    spec = population("contacts").subject
    for label in labels(Contact, spec.exported_fields, "fr"):
        assert f'<th scope="row">{label}</th>' in page, label
    assert "Prénom" in page and "Date de naissance" in page and "Élodie" in page
    # ... and lists her documents by their kind's label and their original name, linked
    assert "Bulletin de salaire" in page and "Contrat de travail" in page
    assert '"kind": "payslip"' in text_of(archive, f"contact-{contact.pk}/personal_data.json")  # machine key
    for document in documents:
        assert f">{document.original_name}</a>" in page

    # And every link of both pages points to a file of the archive (or a place in a page of it)
    for path in ("index.html", page_path):
        for target in LINK.findall(text_of(archive, path)):
            file = unquote(target.split("#", 1)[0])
            if file:
                assert normpath(join(dirname(path), file)) in archive["files"], (path, target)

    # And the manifest lists both pages with their sha256 (open_archive checked each one)
    kinds = {f["path"]: f["kind"] for f in archive["manifest"]["files"]}
    assert kinds["index.html"] == "index" and kinds[page_path] == "page"


@pytest.mark.usefixtures("on_s3")
def test_the_pages_are_self_contained(lefevre):
    archive = export([lefevre[0]])

    for path in [p for p in archive["files"] if p.endswith(".html")]:
        page = text_of(archive, path)
        # No external resource: no absolute or protocol-relative address in any src or href, no script,
        # no stylesheet or font to fetch; the CSS is inline.
        for target in LINK.findall(page):
            assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", target, re.I), (path, target)
        assert "<script" not in page.lower() and "<link" not in page.lower(), path
        assert "@import" not in page and "url(" not in page, path
        assert "<style>" in page


@pytest.mark.usefixtures("on_s3")
def test_no_internal_storage_key_in_the_archive(lefevre):
    # Given a contact with a photo and documents, one of them gone from storage
    contact, documents = lefevre
    lost = DocumentFactory(contact=contact)
    default_storage.delete(lost.file.name)
    contact.refresh_from_db()

    # When exported
    archive = export([contact])

    # Then no JSON, page or manifest holds a storage key: not the objects' keys, not their uuid file
    # names, not the contact's storage prefix
    stored = [contact.photo.name, lost.file.name, *(d.file.name for d in documents)]
    secrets = [str(contact.storage_key), contact.storage_key.hex]
    for name in stored:
        secrets += [name, name.rsplit("/", 1)[-1].rsplit(".", 1)[0]]
    texts = {p: c.decode("utf-8") for p, c in archive["files"].items() if p.endswith((".json", ".html"))}
    texts["manifest.json"] = str(archive["manifest"])
    for path, text in texts.items():
        for secret in secrets:
            assert secret not in text, (path, secret)
        assert "stored_name" not in text and "storage_key" not in text, path
    # ... a file without a name of its own (the photo) is named after its field
    photo = archive["people"][contact.pk]["subject"]["fields"]["photo"]
    assert photo["name"] == "photo.png" and photo["archive_path"] == f"contact-{contact.pk}/photo/photo.png"
    # ... the missing file is named by its own name, for the person and in the manifest
    (missing,) = archive["manifest"]["missing_files"]
    assert missing["name"] == lost.original_name and missing["reason"] == "not_found"
    records = archive["people"][contact.pk]["related"]["documents"]["records"]
    assert {r["fields"]["file"]["name"] for r in records} == {d.original_name for d in [*documents, lost]}
    page = html.unescape(text_of(archive, f"contact-{contact.pk}/index.html"))
    assert f"{lost.original_name} (fichier introuvable)" in page


@pytest.mark.usefixtures("on_s3")
def test_the_pages_speak_english_to_an_english_speaking_requester(lefevre):
    archive = export([lefevre[0]], language="en")

    index = text_of(archive, "index.html")
    page = html.unescape(text_of(archive, f"contact-{lefevre[0].pk}/index.html"))
    assert '<html lang="en">' in index and "Your personal data" in index
    assert "Information on the processing" in index
    for label in labels(Contact, ["first_name", "birth_date", "postal_code"], "en"):
        assert f'<th scope="row">{label}</th>' in page
    assert "Payslip" in page and "Bulletin de salaire" not in page


@pytest.mark.usefixtures("on_s3")
@pytest.mark.parametrize(
    ("language", "title", "not_said"),
    [
        ("fr", "Données personnelles exportées", "Vos données personnelles"),
        ("en", "Exported personal data", "Your personal data"),
    ],
)
def test_an_archive_of_several_people_is_not_titled_your_personal_data(lefevre, language, title, not_said):
    archive = export([lefevre[0], ContactFactory(last_name="Garnier")], language=language)

    index = text_of(archive, "index.html")
    assert f"<title>{title}</title>" in index and f"<h1>{title}</h1>" in index
    assert not_said not in index


@pytest.mark.usefixtures("on_s3")
def test_the_information_sheet_holds_the_administrators_texts_as_of_the_export(lefevre):
    # Given an administrator's texts, the DPO's left empty
    sheet = ProcessingInformation.current()
    sheet.purposes = "Suivi de la relation client <et> facturation."
    sheet.dpo = ""
    sheet.save()

    # When exported, then the sheet edited later
    archive = export([lefevre[0]])
    sheet.purposes = "Autre chose"
    sheet.save()

    # Then the archive shows the texts as they stood at the export, escaped, every Art. 15(1) heading
    # present except the empty one
    index = html.unescape(text_of(archive, "index.html"))
    assert "Suivi de la relation client <et> facturation." in index and "Autre chose" not in index
    assert "&lt;et&gt;" in text_of(archive, "index.html")
    for heading in (
        "Responsable du traitement",
        "Finalités du traitement",
        "Catégories de données personnelles",
        "Destinataires",
        "Durée de conservation",
        "Vos droits",
        "Droit d'introduire une réclamation",
        "Source des données",
    ):
        assert f"<dt>{heading}</dt>" in index, heading
    assert "Délégué à la protection" not in index
    # ... and the manifest keeps the same texts for machines
    information = archive["manifest"]["information"]
    assert information["purposes"] == "Suivi de la relation client <et> facturation."
    assert information["dpo"] == ""
    assert "CNIL" in index and "portabilité" in index


def test_the_root_index_is_streamed_person_by_person(db):
    # Given a list of people that counts how far it has been read
    read = []

    def people():
        for n in range(1, 4):
            read.append(n)
            yield (f"contact-{n}", f"Personne {n}")

    sheet = ProcessingInformation.current()
    chunks = index_page(
        people=people(),
        sheet=sheet,
        generated_at=sheet.updated_at,
        request_id=1,
        part=1,
        part_count=1,
        person_count=3,
        language="fr",
    )

    # Then the page's head is written before any person is read, and then one person at a time
    assert b"<!DOCTYPE html>" in next(chunks) and read == []
    assert b"Personne 1" in next(chunks) and read == [1]
    rest = b"".join(chunks)
    assert read == [1, 2, 3] and rest.endswith(b"</html>\n")


def test_the_sheet_page_is_permission_checked(client, admin_client):
    # A back-office user without the right to view it gets a 403, on the list and on the sheet itself
    clerk = UserFactory(username="clerk")
    client.force_login(clerk)
    assert client.get("/admin/rgpd/processinginformation/").status_code == 403
    assert client.get("/admin/rgpd/processinginformation/1/change/").status_code == 403

    # One who may view it sees the texts but cannot change them
    clerk.user_permissions.add(Permission.objects.get(codename="view_processinginformation"))
    response = client.get("/admin/rgpd/processinginformation/1/change/", follow=True)
    assert response.status_code == 200 and "CNIL" in response.content.decode()
    assert client.post("/admin/rgpd/processinginformation/1/change/", {}).status_code == 403

    # The administrator's link in the section opens the one sheet, which saves and stays open
    response = admin_client.get("/admin/rgpd/processinginformation/")
    assert response.status_code == 302 and response["Location"].endswith("/processinginformation/1/change/")
    data = {
        name: getattr(ProcessingInformation.current(), name) for name in ProcessingInformation.TEXT_FIELDS
    }
    data["retention"] = "Cinq ans."
    response = admin_client.post("/admin/rgpd/processinginformation/1/change/", data)
    assert response.status_code == 302 and response["Location"].endswith("/processinginformation/1/change/")
    assert ProcessingInformation.current().retention == "Cinq ans."
    assert admin_client.get("/admin/rgpd/processinginformation/add/").status_code == 403
