"""With the keyboard alone (Tab, Enter, Space): a row's export, and an anonymisation's confirmation."""

import re

from playwright.sync_api import expect

from contacts.models import Contact
from rgpd.models import ExportRequest
from tests.browser.support import (
    ACKNOWLEDGE_FR,
    BOX_FR,
    DETECTIVE_FR,
    RGPD_PAGE,
    export_count_text,
    row_of,
    tab_to,
)
from tests.factories import ContactFactory, exported, rgpd_user


def test_a_keyboard_user_exports_a_row_and_confirms_an_anonymisation(celery_worker, page, login):
    # Given an officer, a contact to export and an exported contact to anonymise
    to_export = ContactFactory(last_name="Lemoine")
    to_anonymise = ContactFactory(last_name="Lemaire")
    exported([to_anonymise])
    login(rgpd_user())
    page.goto(RGPD_PAGE)

    # When they Tab to the box of Lemoine's row and press Enter
    tab_to(page, row_of(page, to_export).get_by_role("link", name=BOX_FR))
    page.keyboard.press("Enter")

    # Then the confirmation opens; Tab to its button and Enter starts the export
    expect(page.get_by_text(export_count_text(1), exact=True)).to_be_visible()
    tab_to(page, page.get_by_role("button", name=BOX_FR))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/rgpd/exportrequest/\d+/change/$"))
    expect(page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I), timeout=60_000)
    export_request = ExportRequest.objects.get(pk=re.search(r"/(\d+)/change/$", page.url).group(1))
    assert list(export_request.parts.values_list("subjects__subject_id", flat=True)) == [to_export.pk]

    # When they Tab to the detective of Lemaire's row and press Enter
    page.goto(RGPD_PAGE)
    tab_to(page, row_of(page, to_anonymise).get_by_role("link", name=DETECTIVE_FR))
    page.keyboard.press("Enter")

    # Then Tab reaches the labelled checkbox, Space ticks it, and that enables the button
    box = page.get_by_label(ACKNOWLEDGE_FR)
    button = page.get_by_role("button", name="Rendre anonyme les données")
    expect(button).to_be_disabled()
    tab_to(page, box)
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    expect(button).to_be_enabled()

    # And Tab then Enter on the button anonymises the contact
    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(page.locator('[data-count="anonymised"]')).to_have_text("1 contact anonymisé")
    assert Contact.objects.get(pk=to_anonymise.pk).last_name == "xxx"
