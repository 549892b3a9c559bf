"""The confirmation pages under a hurried hand: double clicks, the back button."""

import re

from playwright.sync_api import expect

from rgpd.models import AnonymisationRequest, ExportRequest
from tests.browser.support import ACKNOWLEDGE_FR, BOX_FR, DETECTIVE_FR, RGPD_PAGE, double_click, row_of
from tests.factories import ContactFactory, exported, rgpd_user

REQUEST_PAGE = re.compile(r"/admin/rgpd/exportrequest/\d+/change/$")
RESULT_PAGE = re.compile(r"/admin/rgpd/anonymisationrequest/\d+/change/$")


def test_a_double_click_on_export_creates_one_request_and_back_does_not_resubmit(celery_worker, page, login):
    # Given an officer on the export confirmation of one contact
    contact = ContactFactory(last_name="Fontaine")
    login(rgpd_user())
    page.goto(RGPD_PAGE)
    row_of(page, contact).get_by_role("link", name=BOX_FR).click()

    # When they double-click the confirmation button
    sent = double_click(page, page.get_by_role("button", name=BOX_FR))

    # Then the form was sent once, one export request is created, and its page is shown
    assert sent == 1
    expect(page).to_have_url(REQUEST_PAGE)
    expect(page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I), timeout=60_000)
    assert ExportRequest.objects.count() == 1

    # When they press the back button
    page.go_back()

    # Then they see the confirmation again, ready to use, and nothing was sent a second time
    expect(page.get_by_role("button", name=BOX_FR)).to_be_enabled()
    page.wait_for_timeout(500)
    assert ExportRequest.objects.count() == 1


def test_without_javascript_a_double_click_on_export_still_creates_one_request(
    celery_worker, new_context, login
):
    # Given an officer whose browser runs no script, on the export confirmation
    page = new_context(java_script_enabled=False).new_page()
    contact = ContactFactory(last_name="Fontaine")
    login(rgpd_user(), on=page)
    page.goto(RGPD_PAGE)
    row_of(page, contact).get_by_role("link", name=BOX_FR).click()

    # When they double-click the confirmation button, the browser sends the form twice
    assert double_click(page, page.get_by_role("button", name=BOX_FR)) == 2

    # Then the server still creates one export request, and shows it until its archive is ready
    expect(page).to_have_url(REQUEST_PAGE)
    assert ExportRequest.objects.count() == 1
    expect(page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I), timeout=60_000)


def test_a_double_click_on_anonymise_creates_one_request_and_back_does_not_resubmit(
    celery_worker, page, login
):
    # Given an officer on the anonymisation confirmation of an exported contact, the box ticked
    contact = ContactFactory(last_name="Fontaine")
    exported([contact])
    login(rgpd_user())
    page.goto(RGPD_PAGE)
    row_of(page, contact).get_by_role("link", name=DETECTIVE_FR).click()
    page.get_by_label(ACKNOWLEDGE_FR).check()

    # When they double-click "Rendre anonyme les données"
    sent = double_click(page, page.get_by_role("button", name="Rendre anonyme les données"))

    # Then the form was sent once, one anonymisation request is created, and the contact is anonymised
    assert sent == 1
    expect(page).to_have_url(RESULT_PAGE)
    expect(page.locator('[data-count="anonymised"]')).to_have_text("1 contact anonymisé")
    expect(page.locator('[data-count="skipped"]')).to_have_text("0 contact ignoré")
    assert AnonymisationRequest.objects.count() == 1

    # When they press the back button, nothing is sent a second time
    page.go_back()
    page.wait_for_timeout(500)
    assert AnonymisationRequest.objects.count() == 1
