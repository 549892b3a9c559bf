"""Gestion RGPD Utilisateurs in Chromium: an officer holding "RGPD Utilisateurs" exports, then anonymises,
a departed employee."""

import re

from playwright.sync_api import expect

from rgpd.models import ExportRequest
from staff.models import EmployeeProfile, HrDocument
from tests.browser.support import (
    ACKNOWLEDGE_FR,
    BOX_FR,
    DETECTIVE_FR,
    SEED_ANONYMISE_TEXTS,
    SEED_EXPORT_TEXTS,
    export_count_text,
    row_of,
)
from tests.factories import UserFactory
from tests.users.support import departed_employee, users_officer

USERS_PAGE_FR = "Gestion - RGPD : Utilisateurs"
HEADING_FR = "Gestion RGPD Utilisateurs"
LOUPE_USER_FR = "Accès à la fiche de l'utilisateur"


def test_an_officer_exports_then_anonymises_a_departed_employee(celery_worker, page, login, screenshot):
    # Given a departed employee with a photo and two HR documents, a colleague still there, and an officer
    # holding only "RGPD Utilisateurs"
    user, profile, _documents = departed_employee()
    colleague = UserFactory(first_name="Basile", last_name="Pouliquenne-Restant")
    login(users_officer(username="rh.dpo", email="rh.dpo@example.com"))

    # When the officer opens the users' RGPD page from the admin's home and searches the employee
    page.get_by_role("link", name=USERS_PAGE_FR).first.click()
    expect(page.get_by_role("heading", name=USERS_PAGE_FR)).to_be_visible()
    page.goto("/admin/rgpd/rgpduser/?q=Pouliquenne")

    # Then the row offers the three icons, the record's named for a user; the detective is disabled
    row = row_of(page, profile)
    expect(row.get_by_role("link", name=LOUPE_USER_FR)).to_have_count(1)
    expect(row.get_by_role("link", name=DETECTIVE_FR)).to_be_disabled()
    expect(row_of(page, colleague)).to_have_count(1)
    screenshot("users-rgpd-page")

    # When the officer clicks the box of the employee's row and confirms
    row.get_by_role("link", name=BOX_FR).click()
    expect(page.get_by_role("link", name=HEADING_FR)).to_be_visible()
    for text in SEED_EXPORT_TEXTS:
        expect(page.get_by_text(text, exact=True)).to_be_visible()
    expect(page.get_by_text(export_count_text(1), exact=True)).to_be_visible()
    page.get_by_role("button", name=BOX_FR).click()

    # Then the archive gets ready
    expect(page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I), timeout=60_000)
    assert ExportRequest.objects.get().population == "users"

    # When the officer comes back to the page, the detective is now enabled; they click it
    page.goto("/admin/rgpd/rgpduser/?q=Pouliquenne")
    detective = row_of(page, profile).get_by_role("link", name=DETECTIVE_FR)
    expect(detective).to_be_enabled()
    detective.click()

    # Then the confirmation has the seed's texts under the heading "Gestion RGPD Utilisateurs"
    expect(page.get_by_role("link", name=HEADING_FR)).to_be_visible()
    for text in SEED_ANONYMISE_TEXTS:
        expect(page.get_by_text(text, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=f"{user.first_name} {user.last_name}")).to_be_visible()
    preview = page.locator(".rgpd-anonymise__preview")
    expect(preview.locator('tr[data-field="last_name"] td').first).to_have_text(user.last_name)
    expect(preview.locator('tr[data-field="phone"] td').last).to_have_text("xxx")
    expect(preview.locator('tr[data-field="account"] td').last).to_contain_text("fermé")
    button = page.get_by_role("button", name="Rendre anonyme les données")
    expect(button).to_be_disabled()
    page.get_by_label(ACKNOWLEDGE_FR).check()
    screenshot("users-anonymise-confirmation")
    button.click()

    # Then the result page reports the user anonymised once the stored files are deleted
    result = page.locator(f'tr[data-contact="{user.pk}"]')
    expect(result).to_have_attribute("data-result", "anonymised", timeout=30_000)
    expect(page.locator('[data-count="anonymised"]')).to_have_text("1 utilisateur anonymisé")

    # and the employee is anonymous: account closed, profile "xxx", no HR document left
    user.refresh_from_db()
    assert user.username.startswith("anonymised-") and not user.is_active
    profile = EmployeeProfile.objects.get(pk=user.pk)
    assert (profile.phone, profile.city, profile.photo.name) == ("xxx", "xxx", "")
    assert not HrDocument.objects.filter(employee_id=user.pk).exists()

    # and the page lists them as anonymised (the colleague is untouched)
    page.goto("/admin/rgpd/rgpduser/?anonymised=yes")
    expect(row_of(page, profile)).to_have_count(1)
    expect(row_of(page, colleague)).to_have_count(0)
