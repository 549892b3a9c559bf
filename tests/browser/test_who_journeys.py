"""The officer sees who, in Chromium, in French and in English: people named on both confirmations and on
the export request's page, "Anonymiser ces personnes" from a ready export, the RGPD page's archive status
and filters, lists that fit a 1,366 px screen, and the way back to the list with its search."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Contact
from rgpd.models import ExportRequest, ExportSubject
from tests.browser.support import RGPD_PAGE, row_of
from tests.factories import ContactFactory, exported, rgpd_user

TEXTS = {
    "fr": {
        "export": "Exporter les données",
        "anonymise": "Rendre anonyme les données",
        "anonymise these": "Anonymiser ces personnes",
        "acknowledge": (
            "J'ai pris connaissance des éléments ci-dessus et j'accepte que les données soient anonymisées."
        ),
        "ready": re.compile("prête", re.I),
        "anonymised count": "2 contacts anonymisés",
        "last export": "Dernier export",
        "anonymised on": "Anonymisé le",
        "ready until": "prête jusqu'au",
        "expired": "expirée",
        "filter ready": "prête",
        "filter never": "jamais exporté",
        "back": "Non, revenir à la page précédente",
        "people count": "Les données et éventuels documents concernant 2 personne(s) vont être exportées.",
        "one person count": (
            "Les données et éventuels documents concernant 1 personne(s) vont être exportées."
        ),
        "export skipped": "Exporter les contacts ignorés",
        "anonymise count": "Les données concernant 2 contact(s) vont être anonymisées",
    },
    "en": {
        "export": "Export the data",
        "anonymise": "Make the data anonymous",
        "anonymise these": "Anonymise these people",
        "acknowledge": "I have read the above and I accept that the data be anonymised.",
        "ready": re.compile("ready", re.I),
        "anonymised count": "2 contacts anonymised",
        "last export": "Last export",
        "anonymised on": "Anonymised on",
        "ready until": "ready until",
        "expired": "expired",
        "filter ready": "ready",
        "filter never": "never exported",
        "back": "No, take me back",
        "people count": "The data and any documents concerning 2 person(s) will be exported.",
        "one person count": "The data and any documents concerning 1 person(s) will be exported.",
        "export skipped": "Export the skipped contacts",
        "anonymise count": "The data of 2 contact(s) will be anonymised",
    },
}
LISTS = {
    "the RGPD page": RGPD_PAGE,
    "the export requests": "/admin/rgpd/exportrequest/",
    "the contacts": "/admin/contacts/contact/",
}


def named(first: str, last: str, **fields) -> Contact:
    email = f"{first}.{last}@example.fr".lower().replace("é", "e").replace("è", "e").replace("ï", "i")
    return ContactFactory(first_name=first, last_name=last, email=email, **fields)


def open_as(new_context, login, officer, language: str) -> Page:
    """A logged-in page of ``officer`` reading the back office in ``language``."""
    context = new_context()
    page = context.new_page()
    login(officer, on=page)
    context.add_cookies([{"name": "django_language", "value": language, "url": page.url}])
    return page


def expect_people(scope, people) -> None:
    for person in people:
        expect(scope.get_by_text(f"{person.first_name} {person.last_name}", exact=True)).to_be_visible()
        expect(scope.get_by_text(f"<{person.email}>", exact=True)).to_be_visible()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_officer_sees_who_and_anonymises_exactly_the_people_of_a_ready_export(
    celery_worker, new_context, login, screenshot, language
):
    words = TEXTS[language]
    # Given an officer, two contacts to export, and a third one with a ready archive of its own
    officer = rgpd_user(username=f"claire.{language}", email="claire.dpo@example.com")
    theirs = [named("Louis", "Mercier"), named("Chloé", "Roussel")]
    other = named("Inès", "Bertin")
    exported([other])
    page = open_as(new_context, login, officer, language)

    # When the officer ticks the two rows and picks the bulk export
    page.goto(RGPD_PAGE)
    for person in theirs:
        row_of(page, person).locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option("export_selected")
    page.locator('button[name="index"]').click()

    # Then the confirmation says who, by name and email, beside the seed's count
    expect(page.get_by_text(words["people count"], exact=True)).to_be_visible()
    expect_people(page.locator(".rgpd-people"), theirs)
    expect(page.get_by_text(f"{other.first_name} {other.last_name}")).to_have_count(0)
    if language == "fr":
        screenshot("export-confirmation", on=page)

    # When the officer confirms, the request's page names its people and follows the archive until ready
    page.get_by_role("button", name=words["export"]).click()
    people = page.locator("#export-people")
    expect_people(people, theirs)
    expect(page.locator(".rgpd-export-status")).to_have_text(words["ready"], timeout=60_000)
    expect_people(page.locator("#export-people"), theirs)
    if language == "fr":
        screenshot("export-request", on=page)

    # When the officer follows "Anonymiser ces personnes" from the ready export
    page.get_by_role("link", name=words["anonymise these"]).click()

    # Then the anonymisation confirmation is for exactly its people, by name, with their current values
    expect(page.get_by_text(words["anonymise count"], exact=False)).to_be_visible()
    for person in theirs:
        section = page.locator(f'section[data-contact="{person.pk}"]')
        expect(section.get_by_role("heading")).to_contain_text(f"{person.first_name} {person.last_name}")
        expect(section.locator('tr[data-field="last_name"] td').first).to_have_text(person.last_name)
    expect(page.get_by_text(f"{other.first_name} {other.last_name}")).to_have_count(0)

    # When the officer ticks the box and confirms
    page.get_by_label(words["acknowledge"]).check()
    page.get_by_role("button", name=words["anonymise"]).click()

    # Then exactly the export's people are anonymised, the other contact is untouched
    expect(page.locator('[data-count="anonymised"]')).to_have_text(words["anonymised count"], timeout=30_000)
    anonymised = set(Contact.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True))
    assert anonymised == {person.pk for person in theirs}
    export_request = ExportRequest.objects.get(requested_by=officer)
    exported_ids = ExportSubject.objects.filter(part__request=export_request).values_list(
        "subject_id", flat=True
    )
    assert set(exported_ids) == anonymised


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_rgpd_page_shows_archive_status_and_filters_and_the_lists_fit_a_1366_px_screen(
    new_context, login, screenshot, language
):
    words = TEXTS[language]
    # Given contacts in every state, some with long names, emails and cities
    officer = rgpd_user(username=f"claire.{language}", email="claire.dpo@example.com")
    officer.user_permissions.add(Permission.objects.get(codename="view_contact"))  # the contacts list too
    ready = named("Louis", "Mercier")
    expired = named("Chloé", "Roussel")
    never = named("Inès", "Bertin")
    gone = named("Jean", "Dupont")
    long_one = named(
        "Marie-Emmanuelle",
        "de La Rochefoucauld-Montmorency",
        city="Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson",
        phone="+33 (0)1 23 45 67 89",
    )
    part = exported([ready, long_one], requested_by=officer)
    exported([expired], expires_in=timedelta(days=-1), requested_by=officer)
    Contact.objects.filter(pk=gone.pk).update(anonymised_at=timezone.now())
    page = open_as(new_context, login, officer, language)
    page.set_viewport_size({"width": 1366, "height": 768})

    # When the officer opens the RGPD page
    page.goto(RGPD_PAGE)

    # Then each row says where its archive and anonymisation stand
    headers = page.locator("#result_list thead")
    expect(headers).to_contain_text(words["last export"])
    expect(headers).to_contain_text(words["anonymised on"])
    until = timezone.localtime(part.expires_at).strftime("%d/%m/%Y" if language == "fr" else "%m/%d/%Y")
    expect(row_of(page, ready)).to_contain_text(f"{words['ready until']} {until}")
    expect(row_of(page, expired)).to_contain_text(words["expired"])
    expect(row_of(page, never).locator("td.field-last_export")).to_have_text("—")
    expect(row_of(page, gone).locator("td.field-anonymised_on")).not_to_have_text("—")
    screenshot(f"rgpd-page-status{'' if language == 'fr' else '-en'}", on=page)

    # When the officer filters on ready archives, then on contacts never exported
    filters = page.locator("#changelist-filter")
    filters.get_by_role("link", name=words["filter ready"], exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(row_of(page, ready)).to_be_visible()
    page.locator("#changelist-filter").get_by_role("link", name=words["filter never"], exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)  # never exported: Inès, and Jean
    expect(row_of(page, never)).to_be_visible()

    # And the three lists fit a 1,366 px screen: no horizontal scroll
    for name, url in LISTS.items():
        page.goto(url)
        expect(page.locator("#result_list")).to_be_visible()
        # Neither the page nor the admin's table box (which scrolls its table sideways) is wider than shown
        widths = page.evaluate(
            """() => [document.documentElement, document.querySelector("#changelist .results")]
                     .map(element => [element.scrollWidth, element.clientWidth])"""
        )
        for scrolled, shown in widths:
            assert scrolled <= shown, f"{name} scrolls sideways at 1,366 px: {widths}"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_take_me_back_returns_to_the_list_with_its_search(new_context, login, language):
    words = TEXTS[language]
    officer = rgpd_user(username=f"claire.{language}", email="claire.dpo@example.com")
    dupont = named("Jean", "Dupont")
    exported([dupont])
    named("Marc", "Durand")
    page = open_as(new_context, login, officer, language)
    page.goto(RGPD_PAGE)

    # When the officer searches, opens a row's export confirmation, then changes their mind
    page.locator("#searchbar").fill("Dupont")
    page.locator("#searchbar").press("Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    row_of(page, dupont).get_by_role("link", name=words["export"]).click()
    expect(page.get_by_text(f"{dupont.first_name} {dupont.last_name}", exact=True)).to_be_visible()
    page.get_by_role("link", name=words["back"]).click()

    # Then the list is the one left, with its search
    expect(page.locator("#searchbar")).to_have_value("Dupont")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert parse_qs(urlsplit(page.url).query)["q"] == ["Dupont"]

    # And the same from the anonymisation confirmation reached by a bulk action
    row_of(page, dupont).locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option("anonymise_selected")
    page.locator('button[name="index"]').click()
    expect(page.get_by_text(f"{dupont.first_name} {dupont.last_name}", exact=True)).to_be_visible()
    page.get_by_role("link", name=words["back"]).click()
    expect(page.locator("#searchbar")).to_have_value("Dupont")
    assert page.url.endswith(reverse("admin:rgpd_rgpdcontact_changelist") + "?q=Dupont")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_skipped_contacts_of_an_anonymisation_are_exported_in_one_step(
    celery_worker, new_context, login, language
):
    words = TEXTS[language]
    # Given a contact with a ready archive and one never exported, both anonymised at once
    officer = rgpd_user(username=f"claire.{language}", email="claire.dpo@example.com")
    ready, never = named("Louis", "Mercier"), named("Chloé", "Roussel")
    exported([ready])
    page = open_as(new_context, login, officer, language)
    page.goto(RGPD_PAGE)
    for person in (ready, never):
        row_of(page, person).locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option("anonymise_selected")
    page.locator('button[name="index"]').click()

    # Then the skip list says who will be skipped, and already offers to export them
    refused = page.locator(".rgpd-anonymise__refused")
    expect_people(refused, [never])
    expect(refused.get_by_role("button", name=words["export skipped"])).to_be_visible()

    # When the officer anonymises anyway, the result page offers to export the one skipped
    page.get_by_label(words["acknowledge"]).check()
    page.get_by_role("button", name=words["anonymise"]).click()
    expect(page.locator(f'tr[data-contact="{never.pk}"][data-result="skipped"]')).to_contain_text(
        f"{never.first_name} {never.last_name}"
    )
    page.get_by_role("link", name=words["export skipped"]).click()

    # Then the export confirmation is for exactly that contact, and confirming exports only them
    expect(page.get_by_text(words["one person count"], exact=True)).to_be_visible()
    expect_people(page.locator(".rgpd-people"), [never])
    page.get_by_role("button", name=words["export"]).click()
    expect_people(page.locator("#export-people"), [never])
    export_request = ExportRequest.objects.get(requested_by=officer)
    exported_ids = ExportSubject.objects.filter(part__request=export_request).values_list(
        "subject_id", flat=True
    )
    assert list(exported_ids) == [never.pk]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_long_selection_is_one_line_per_person_with_the_checkbox_and_button_in_view(
    new_context, login, language
):
    words = TEXTS[language]
    # Given 22 contacts with a ready archive (the 7,454 px page with the checkbox at the bottom)
    officer = rgpd_user(username=f"claire.{language}", email="claire.dpo@example.com")
    people = [named(f"Prénom{n:02d}", f"Nom{n:02d}") for n in range(22)]
    exported(people)
    page = open_as(new_context, login, officer, language)

    # When the officer selects them all and picks the bulk anonymisation
    page.goto(RGPD_PAGE)
    page.locator("#action-toggle").check()
    page.locator('select[name="action"]').select_option("anonymise_selected")
    page.locator('button[name="index"]').click()

    # Then each person is one line, by name and email, and the checkbox and button are in view at once
    lines = page.locator(".rgpd-anonymise__compact tbody tr")
    expect(lines).to_have_count(22)
    expect(lines.first).to_contain_text(f"{people[0].first_name} {people[0].last_name}")
    expect(lines.first).to_contain_text(people[0].email)
    box = page.get_by_label(words["acknowledge"])
    button = page.get_by_role("button", name=words["anonymise"])
    expect(box).to_be_in_viewport()
    expect(button).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollHeight") < 2500
    box.check()
    expect(button).to_be_enabled()
