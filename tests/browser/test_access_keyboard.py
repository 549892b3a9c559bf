"""Access and keyboard (issue 16, item 8): the focused main control of each confirmation, the disabled
detective's reason reached by keyboard and read from its description, underlined links in text, and the
request's page following the export in place, its change announced."""

import re

from playwright.sync_api import expect

from contacts.models import Contact
from rgpd.models import ExportRequest
from tests.browser.support import (
    ACKNOWLEDGE_FR,
    BOX_FR,
    DETECTIVE_FR,
    NOT_EXPORTED_FR,
    RGPD_PAGE,
    row_of,
    tab_to,
)
from tests.factories import ContactFactory, exported, rgpd_user


def focused(page) -> str:
    """What has the keyboard's focus: its accessible name, as a screen reader would say it."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.getAttribute('aria-label') || e.value || e.labels?.[0]?.textContent || e.textContent; }"
    )


def test_a_keyboard_user_confirms_with_the_focused_main_control_and_follows_the_export_in_place(
    celery_worker, page, login
):
    # Given an officer, a contact to export and an exported one to anonymise
    to_export = ContactFactory(last_name="Lemoine")
    to_anonymise = ContactFactory(last_name="Lemaire")
    exported([to_anonymise])
    login(rgpd_user())

    # When they open the export confirmation of Lemoine
    page.goto(RGPD_PAGE)
    row_of(page, to_export).get_by_role("link", name=BOX_FR).click()

    # Then its main button has the focus: Enter alone starts the export (held in the queue until the
    # request's page is shown, so that the page sees it change)
    expect(page.get_by_role("button", name=BOX_FR)).to_be_focused()
    with celery_worker.paused():
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/admin/rgpd/exportrequest/\d+/change/$"))
        expect(page.locator(".rgpd-export-status")).not_to_have_text(re.compile("prête", re.I))

    # And the request's page follows the export without reloading, and announces the new status
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    page.evaluate("window.__sameDocument = true")
    expect(page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I), timeout=60_000)
    assert page.evaluate("window.__sameDocument === true")
    expect(page.locator("[data-live-announcer]")).to_have_attribute("aria-live", "polite")
    expect(page.locator("[data-live-announcer]")).to_have_text(re.compile("prête", re.I))
    export_request = ExportRequest.objects.get(pk=re.search(r"/(\d+)/change/$", page.url).group(1))
    expect(page.get_by_role("link", name="Télécharger")).to_have_count(export_request.part_count)

    # When they open the anonymisation confirmation of Lemaire
    page.goto(RGPD_PAGE)
    row_of(page, to_anonymise).get_by_role("link", name=DETECTIVE_FR).click()

    # Then the acknowledgement has the focus: Space ticks it, Tab reaches the button, Enter anonymises
    expect(page.get_by_label(ACKNOWLEDGE_FR)).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Rendre anonyme les données")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator('[data-count="anonymised"]')).to_have_text("1 contact anonymisé", timeout=30_000)
    assert Contact.objects.get(pk=to_anonymise.pk).last_name == "xxx"


def test_the_disabled_detective_is_reached_by_keyboard_and_says_why_on_focus(page, login, screenshot):
    # Given a contact never exported
    never = ContactFactory(last_name="Vasseur")
    login(rgpd_user())
    page.goto(RGPD_PAGE)
    detective = row_of(page, never).get_by_role("link", name=DETECTIVE_FR)
    reason = row_of(page, never).get_by_role("tooltip")
    assert reason.bounding_box()["width"] <= 1  # for screen readers only, until the icon has the focus

    # When a keyboard user Tabs to its detective
    tab_to(page, detective)

    # Then it has the focus, is announced as unavailable with its reason, and shows the reason
    expect(detective).to_be_focused()
    expect(detective).to_have_attribute("aria-disabled", "true")
    expect(detective).to_have_accessible_description(NOT_EXPORTED_FR)
    expect(reason).to_have_text(NOT_EXPORTED_FR)
    assert reason.bounding_box()["width"] > 100  # shown under the icon
    screenshot("rgpd-detective-reason")

    # And Enter on it goes nowhere
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(RGPD_PAGE) + "$"))


def test_links_inside_text_are_underlined(page, login):
    # Given an officer on the RGPD page, whose breadcrumbs are links inside text
    login(rgpd_user())
    page.goto(RGPD_PAGE)

    # Then those links are told apart from the text around them without colour
    for link in page.locator(".breadcrumbs a").all():
        assert "underline" in link.evaluate("a => getComputedStyle(a).textDecorationLine")
