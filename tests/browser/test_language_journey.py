"""The language switch: the journeys' pages in French (the default), then in English, with no leftover."""

from datetime import date

from django.urls import reverse
from playwright.sync_api import expect

from contacts.models import Document
from rgpd.models import AnonymisationRequest
from rgpd.services.anonymisation import anonymisation_request_create
from tests.browser.support import (
    ACKNOWLEDGE_EN,
    BOX_EN,
    BOX_FR,
    DETECTIVE_EN,
    LOUPE_EN,
    PAGE_TITLE_EN,
    PAGE_TITLE_FR,
    RGPD_PAGE,
    leftovers,
    page_text,
    row_of,
)
from tests.factories import ContactFactory, DocumentFactory, exported, rgpd_user


def neutral_contact(first_name: str, last_name: str, **fields):
    """A contact whose data reads the same in both languages, so only the interface's words differ."""
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "email": f"{first_name.lower()}.{last_name.lower()}@example.org",
        "phone": "01 02 03 04 05",
        "mobile": "06 07 08 09 10",
        "street": "42 Quai Perrache",
        "postal_code": "69002",
        "city": "Lyon",
        "country": "France",
        "birth_date": date(1980, 5, 17),
        "company": "Acme",
        "job_title": "Analyst",
        "notes": "",
        **fields,
    }
    return ContactFactory(**values)


def test_the_language_switch_turns_the_journeys_pages_to_english_with_no_french_left(
    celery_worker, page, login, screenshot
):
    # Given an officer, a contact being exported, an exported one, and an anonymised one
    officer = rgpd_user(username="claire.dpo")
    in_export = neutral_contact("Jeanne", "Moreau")
    DocumentFactory(contact=in_export, kind=Document.Kind.EMPLOYMENT_CONTRACT)
    exported([in_export], status="pending", requested_by=officer)
    ready = neutral_contact("Paul", "Renard")
    ready_part = exported([ready], requested_by=officer)
    anonymised = neutral_contact("Lucie", "Marchand")
    exported([anonymised], requested_by=officer)
    anonymisation = anonymisation_request_create(
        population="contacts", subject_ids=[anonymised.pk], actor=officer, confirmed=True
    )
    assert anonymisation.status == AnonymisationRequest.Status.DONE
    pages = {
        "home": "/admin/",
        "rgpd page": RGPD_PAGE,
        "record": reverse("contacts:record", args=[in_export.pk]),
        "anonymised record": reverse("contacts:record", args=[anonymised.pk]),
        "export confirmation": reverse("admin:rgpd_export_contact", args=[ready.pk]),
        "export request (ready)": reverse("admin:rgpd_exportrequest_change", args=[ready_part.request_id]),
        "export requests": reverse("admin:rgpd_exportrequest_changelist"),
        "anonymise confirmation": reverse("admin:rgpd_anonymise_contact", args=[ready.pk]),
        "anonymisation result": reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk]),
        "403": "/admin/auth/user/",
    }
    login(officer)

    def read_all() -> dict[str, str]:
        """What each journey page says (text, tooltips, accessible names, buttons), by page."""
        texts = {}
        for name, url in pages.items():
            page.goto(url)
            texts[name] = page_text(page)
        # The two bulk confirmations, reached through the RGPD page's actions on every row
        for action in ("export_selected", "anonymise_selected"):
            page.goto(RGPD_PAGE)
            page.locator("#action-toggle").check()
            page.locator('select[name="action"]').select_option(action)
            page.locator('button[name="index"]').click()
            texts[f"bulk {action}"] = page_text(page)
        return texts

    def found(texts: dict[str, str], language: str) -> dict[str, list[str]]:
        return {name: words for name, text in texts.items() if (words := leftovers(text, language))}

    # When the officer reads the journeys' pages in French, the default
    french = read_all()

    # Then no English word of the interface is left on them (and the check does recognise French)
    assert found(french, "en") == {}
    assert {"Anonymiser les données", "Exporter les données"} <= set(leftovers(french["rgpd page"], "fr"))

    # When the officer picks English in the language switch of the RGPD page
    page.goto(RGPD_PAGE)
    expect(page.get_by_role("heading", name=PAGE_TITLE_FR)).to_be_visible()
    page.get_by_label("Langue").select_option(label="English")
    page.get_by_role("button", name="Changer", exact=True).click()

    # Then the same page is in English, its icons' names too
    expect(page.get_by_role("heading", name=PAGE_TITLE_EN)).to_be_visible()
    row = row_of(page, ready)
    for name in (LOUPE_EN, BOX_EN, DETECTIVE_EN):
        expect(row.get_by_role("link", name=name)).to_have_count(1)
    screenshot("rgpd-page-en")

    # And no French word of the interface is left on the journeys' pages (and the check knows English)
    english = read_all()
    expect(page.get_by_label(ACKNOWLEDGE_EN)).to_be_visible()  # the last page read: bulk anonymisation
    assert found(english, "fr") == {}
    assert {"Anonymise the data", "Export the data"} <= set(leftovers(english["rgpd page"], "en"))

    # When the officer switches back to French, the pages are French again
    page.goto(reverse("admin:rgpd_export_contact", args=[ready.pk]))
    page.get_by_label("Language").select_option(label="Français")
    page.get_by_role("button", name="Change", exact=True).click()
    expect(page.get_by_role("button", name=BOX_FR)).to_be_visible()
