"""axe-core (WCAG 2.1 A and AA rules) finds no violation on the officer's pages, in French and in English."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Permission
from django.urls import reverse
from playwright.sync_api import Page

from rgpd.services.anonymisation import anonymisation_request_create
from tests.browser.support import RGPD_PAGE
from tests.factories import ContactFactory, DocumentFactory, exported, png_image, rgpd_user

WCAG_21_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
AXE = Axe()


def violations(page: Page) -> list[str]:
    """What axe reports on ``page``: one line per rule, then the elements it found."""
    results = AXE.run(page, options={**WCAG_21_A_AA, "resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        targets = "; ".join(
            f"{' '.join(map(str, node['target']))} — {node.get('failureSummary', '').splitlines()[-1:]}"
            for node in violation["nodes"][:5]
        )
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} → {targets}")
    return found


def officer_pages() -> dict[str, str]:
    """The officer's pages, with what they show: a contact with a photo and a document, a ready and a
    running export, an anonymisation's result, a journal with entries; the contacts admin (the officer
    may also edit contacts) and a refused page."""
    officer = rgpd_user(username="claire.dpo")
    officer.user_permissions.add(*Permission.objects.filter(content_type__app_label="contacts"))
    contact = ContactFactory(first_name="Jeanne", last_name="Moreau", photo=png_image())
    DocumentFactory(contact=contact)
    ready = ContactFactory(first_name="Paul", last_name="Renard")
    ready_part = exported([ready], requested_by=officer)
    running_part = exported([contact], status="pending", requested_by=officer)
    anonymised = ContactFactory(first_name="Lucie", last_name="Marchand")
    exported([anonymised], requested_by=officer)
    anonymisation = anonymisation_request_create(
        population="contacts", subject_ids=[anonymised.pk], actor=officer, confirmed=True
    )
    return {
        "admin home": "/admin/",
        "RGPD page": RGPD_PAGE,
        "contact record": reverse("contacts:record", args=[contact.pk]),
        "export confirmation": reverse("admin:rgpd_export_contact", args=[ready.pk]),
        "anonymisation confirmation": reverse("admin:rgpd_anonymise_contact", args=[ready.pk]),
        "export request (running)": reverse(
            "admin:rgpd_exportrequest_change", args=[running_part.request_id]
        ),
        "export request (ready)": reverse("admin:rgpd_exportrequest_change", args=[ready_part.request_id]),
        "anonymisation result": reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk]),
        "Journal RGPD": reverse("admin:rgpd_auditevent_changelist"),
        "contacts list": reverse("admin:contacts_contact_changelist"),
        "contact form": reverse("admin:contacts_contact_change", args=[contact.pk]),
        "document form": reverse("admin:contacts_document_add"),
        "refused page (403)": "/admin/auth/user/",
    }


@pytest.mark.parametrize("language", ["fr", "en"])
def test_axe_finds_no_wcag_21_violation_on_the_officers_pages(language, new_context, live_server, screenshot):
    # Given the officer's pages, with content, read in one of the two languages
    pages = officer_pages()
    # axe injects styles of its own while it checks some pages: the page's CSP (checked by every other
    # journey) is set aside here, so that it blocks nothing of axe's.
    context = new_context(bypass_csp=True)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    found: dict[str, list[str]] = {}

    # When axe checks the login page, then each page once logged in
    page.goto("/admin/login/")
    assert page.locator("html").get_attribute("lang") == language
    found["login"] = violations(page)
    page.get_by_label("Nom d’utilisateur" if language == "fr" else "Username").fill("claire.dpo")
    page.get_by_label("Mot de passe" if language == "fr" else "Password").fill("pw-test-123")
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")
    for name, url in pages.items():
        page.goto(url)
        found[name] = violations(page)
        if name == "Journal RGPD" and language == "fr":
            screenshot("journal-rgpd-fr", on=page)

    # Then no page breaks a WCAG 2.1 A or AA rule
    broken = {name: lines for name, lines in found.items() if lines}
    assert not broken, "\n".join(
        f"[{language}] {name}:\n  " + "\n  ".join(lines) for name, lines in broken.items()
    )
