"""Anonymising in Chromium: the detective icon, the confirmation and its checkbox, the record after."""

import contextlib
import re
from datetime import timedelta

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from contacts.models import Contact, Document
from rgpd.models import AnonymisationRequest
from tests.browser.support import (
    ACKNOWLEDGE_FR,
    DETECTIVE_FR,
    NOT_EXPORTED_FR,
    RGPD_PAGE,
    SEED_ANONYMISE_TEXTS,
    anonymise_count_text,
    row_of,
)
from tests.factories import ContactFactory, DocumentFactory, exported, png_image, rgpd_user

SUBMIT_FR = "Rendre anonyme les données"


def test_an_officer_anonymises_an_exported_contact_and_the_record_shows_xxx(
    celery_worker, page, login, screenshot
):
    # Given an exported contact with a photo and two documents, and a contact never exported
    contact = ContactFactory(
        first_name="Margaux",
        last_name="Vasseur",
        phone="04 78 12 34 56",
        street="12 rue des Lilas",
        city="Lyon",
        photo=png_image("portrait.png"),
    )
    DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP)
    DocumentFactory(contact=contact, kind=Document.Kind.EMPLOYMENT_CONTRACT)
    exported([contact])
    never_exported = ContactFactory(first_name="Bastien", last_name="Vasseur-Roy")
    login(rgpd_user(username="claire.dpo"))

    # When the officer opens the RGPD page
    page.goto(f"{RGPD_PAGE}?q=Vasseur")

    # Then the detective of the contact without archive is disabled, and its tooltip says why
    disabled = row_of(page, never_exported).get_by_role("link", name=DETECTIVE_FR)
    expect(disabled).to_be_disabled()
    expect(disabled).to_have_attribute("title", NOT_EXPORTED_FR)
    expect(disabled).to_have_accessible_description(NOT_EXPORTED_FR)
    expect(disabled).not_to_have_attribute("href", re.compile(".*"))
    expect(row_of(page, contact).get_by_role("link", name=DETECTIVE_FR)).to_be_enabled()

    # When the officer clicks the detective of the exported contact
    row_of(page, contact).get_by_role("link", name=DETECTIVE_FR).click()

    # Then the confirmation shows the seed's warning, the count, and the dry run of what will change
    for text in SEED_ANONYMISE_TEXTS:
        expect(page.get_by_text(text, exact=True)).to_be_visible()
    expect(page.get_by_text(anonymise_count_text(1), exact=True)).to_be_visible()
    preview = page.locator(".rgpd-anonymise__preview")
    expect(
        preview.get_by_role("heading", name="Ce qui va changer (rien n'a encore été modifié)")
    ).to_be_visible()
    last_name = preview.locator('tr[data-field="last_name"]')
    expect(last_name.locator("td").first).to_have_text("Vasseur")  # the current value, to recognise them
    expect(last_name.locator("td").last).to_have_text("xxx")
    expect(preview.locator('tr[data-field="phone"] td').last).to_have_text("xxx")
    expect(preview.locator(".rgpd-anonymise__removals li")).to_contain_text(["Document", "Document"])
    assert Contact.objects.get(pk=contact.pk).last_name == "Vasseur"

    # And the button stays disabled until the box is ticked
    button = page.get_by_role("button", name=SUBMIT_FR)
    box = page.get_by_label(ACKNOWLEDGE_FR)
    expect(button).to_be_disabled()
    box.check()
    expect(button).to_be_enabled()
    box.uncheck()
    expect(button).to_be_disabled()
    box.check()
    screenshot("anonymise-confirmation")

    # When the officer confirms
    button.click()

    # Then the result page reports the contact anonymised once its stored files are deleted
    result = page.locator(f'tr[data-contact="{contact.pk}"]')
    expect(result).to_have_attribute("data-result", "anonymised", timeout=30_000)  # refreshes by itself
    expect(page.locator('[data-count="anonymised"]')).to_have_text("1 contact anonymisé")
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    screenshot("anonymise-result")

    # When the officer opens the contact's record from there
    result.get_by_role("link").click()

    # Then the record shows xxx, no documents and no photo
    expect(page.get_by_role("heading", level=1)).to_contain_text("contact anonymisé")
    for field in ("last_name", "first_name", "phone", "street"):
        expect(page.locator(f'dd[data-field="{field}"]')).to_have_text("xxx")
    expect(page.locator("#documents")).to_contain_text("Aucun document n'est rattaché à ce contact.")
    expect(page.get_by_text("Aucune photo")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Vasseur")
    screenshot("anonymised-record")

    # And on the RGPD page its detective is now disabled: it has been anonymised already
    page.goto(RGPD_PAGE)
    done = row_of(page, contact).get_by_role("link", name=DETECTIVE_FR)
    expect(done).to_be_disabled()
    expect(done).to_have_attribute("title", "Ce contact a déjà été anonymisé.")


def test_bulk_anonymisation_of_a_mix_shows_who_was_skipped_and_why(celery_worker, page, login):
    # Given two exported contacts, one never exported and one whose archive expired
    ready = [ContactFactory(last_name=name) for name in ("Garnier", "Gauthier")]
    exported(ready)
    never = ContactFactory(last_name="Girard")
    expired = ContactFactory(last_name="Guérin")
    exported([expired], status="expired", expires_in=timedelta(days=-1))
    login(rgpd_user())

    # When the officer selects the four and runs "Rendre anonyme les données >>"
    page.goto(RGPD_PAGE)
    for contact in [*ready, never, expired]:
        row_of(page, contact).get_by_role("checkbox").check()
    page.get_by_label("Action :").select_option(label="Rendre anonyme les données >>")
    page.get_by_role("button", name="Envoyer").click()

    # Then the confirmation counts the two that can be, and lists the two skipped with the reason
    expect(page.get_by_text(anonymise_count_text(2), exact=True)).to_be_visible()
    refused = page.locator(".rgpd-anonymise__refused")
    expect(refused.get_by_role("heading")).to_have_text(
        "2 contacts de la sélection ne peuvent pas être anonymisés et seront ignorés"
    )
    expect(refused.locator(f'tr[data-contact="{never.pk}"]')).to_contain_text(NOT_EXPORTED_FR)
    expect(refused.locator(f'tr[data-contact="{expired.pk}"]')).to_contain_text(
        "L'archive de ce contact a expiré"
    )

    # When the officer ticks the box and confirms
    page.get_by_label(ACKNOWLEDGE_FR).check()
    page.get_by_role("button", name=SUBMIT_FR).click()

    # Then the result shows two anonymised, two skipped, each with its reason
    expect(page.locator('[data-count="anonymised"]')).to_have_text("2 contacts anonymisés")
    expect(page.locator('[data-count="skipped"]')).to_have_text("2 contacts ignorés")
    expect(page.locator(f'tr[data-contact="{never.pk}"]')).to_contain_text(NOT_EXPORTED_FR)
    expect(page.locator(f'tr[data-contact="{expired.pk}"][data-result="skipped"]')).to_contain_text(
        "L'archive de ce contact a expiré"
    )
    for contact in ready:
        expect(page.locator(f'tr[data-contact="{contact.pk}"]')).to_have_attribute(
            "data-result", "anonymised"
        )
    page.get_by_role("link", name="Ignorés", exact=True).click()
    expect(page.locator(".rgpd-anonymise__results tbody tr")).to_have_count(2)
    assert AnonymisationRequest.objects.count() == 1

    # When the officer goes back twice, to the confirmation the action's form gave, nothing is sent again
    page.go_back()
    with contextlib.suppress(PlaywrightError):  # Chromium may show its "resend the form?" page instead
        page.go_back()
    page.wait_for_timeout(500)
    assert AnonymisationRequest.objects.count() == 1
    assert set(Contact.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)) == {
        c.pk for c in ready
    }
