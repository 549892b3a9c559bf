"""Anonymising in Chromium: the detective icon, the box that unlocks the button, the result page."""

from playwright.sync_api import expect

from contacts.models import Contact
from rgpd.models import PendingStorageDeletion
from tests.factories import ContactFactory, DocumentFactory, exported, rgpd_user


def test_an_officer_anonymises_an_exported_contact_from_its_row(celery_worker, page, login, screenshot):
    # Given an exported contact with a document, and one not exported
    contact = ContactFactory(last_name="Quintabelle")
    DocumentFactory(contact=contact)
    exported([contact])
    other = ContactFactory(last_name="Quintabelle-Marsac")
    login(rgpd_user())

    # When the officer opens the RGPD page
    page.goto("/admin/rgpd/rgpdcontact/?q=Quintabelle")
    other_row = page.locator(f'tr:has(input[name="_selected_action"][value="{other.pk}"])')
    row = page.locator(f'tr:has(input[name="_selected_action"][value="{contact.pk}"])')

    # Then the detective of the contact without archive is disabled and says why
    disabled = other_row.locator('[aria-label="Anonymiser les données"]')
    expect(disabled).to_have_attribute("aria-disabled", "true")
    expect(disabled).to_have_attribute(
        "title", "Aucune archive n'a été générée pour ce contact : exportez d'abord les données."
    )
    screenshot("anonymise-1-rgpd-page")

    # When the officer clicks the exported contact's detective
    row.get_by_role("link", name="Anonymiser les données").click()

    # Then the confirmation shows the seed's warning, and the button waits for the box
    expect(page.get_by_text("Cette action peut avoir des conséquences irréversibles.")).to_be_visible()
    button = page.get_by_role("button", name="Rendre anonyme les données")
    expect(button).to_be_disabled()
    box = page.get_by_label(
        "J'ai pris connaissance des éléments ci-dessus et j'accepte que les données soient anonymisées."
    )
    box.check()
    expect(button).to_be_enabled()
    box.uncheck()
    expect(button).to_be_disabled()
    box.check()
    screenshot("anonymise-2-confirmation")
    button.click()

    # Then the result page reports the contact, anonymised once its files are deleted
    expect(page.locator(f'tr[data-contact="{contact.pk}"]')).to_be_visible()
    assert Contact.objects.get(pk=contact.pk).last_name == "xxx"
    anonymised_row = page.locator(f'tr[data-contact="{contact.pk}"][data-result="anonymised"]')
    expect(anonymised_row).to_be_visible(timeout=30_000)  # the page refreshes by itself
    assert not PendingStorageDeletion.objects.exists()
    screenshot("anonymise-3-result")
