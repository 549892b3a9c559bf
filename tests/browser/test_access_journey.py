"""The right "RGPD Contacts Clients": granted on the admin's Groups page, it opens the RGPD page."""

import re

from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.support import PAGE_TITLE_FR, RGPD_PAGE
from tests.factories import ContactFactory, UserFactory


def test_an_administrator_grants_the_right_to_a_group_and_its_member_sees_the_rgpd_page(
    page, new_context, login
):
    # Given an administrator, a future RGPD officer, and a back-office user whose group lacks the right
    admin = UserFactory(username="admin-rgpd", is_superuser=True)
    officer = UserFactory(username="claire.dpo")
    back_office = Group.objects.create(name="Back-office")
    back_office.permissions.add(Permission.objects.get(codename="view_contact"))
    clerk = UserFactory(username="paul.bo", groups=[back_office])
    ContactFactory(last_name="Beaumarchais")

    # When the administrator creates the group "Délégués RGPD" on the Groups page, with the right
    login(admin)
    page.get_by_role("link", name="Groupes").first.click()
    page.get_by_role("link", name=re.compile("Ajouter groupe")).click()
    page.get_by_label("Nom").fill("Délégués RGPD")
    page.locator("#id_permissions_input").press_sequentially("RGPD Contacts Clients")
    available = page.locator("#id_permissions_from")
    expect(available.locator("option")).to_have_count(1)
    expect(available.locator("option")).to_contain_text("RGPD Contacts Clients")
    available.select_option(index=0)
    page.locator("#id_permissions_add").click()
    expect(page.locator("#id_permissions_to option")).to_contain_text(["RGPD Contacts Clients"])
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Délégués RGPD")

    # And adds the officer to that group on the officer's user page
    page.goto("/admin/auth/user/")
    page.get_by_role("link", name="claire.dpo").click()
    page.locator("#id_groups_from").select_option(label="Délégués RGPD")
    page.locator("#id_groups_add").click()
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("claire.dpo")

    # Then the officer, logging in, finds the RGPD page in the menu and opens it
    officer_page = new_context().new_page()
    login(officer, on=officer_page)
    officer_page.get_by_role("link", name=PAGE_TITLE_FR).first.click()
    expect(officer_page.get_by_role("heading", name=PAGE_TITLE_FR)).to_be_visible()
    expect(officer_page.locator("#result_list")).to_contain_text("Beaumarchais")

    # And a user of another group sees no menu entry and gets the 403 page at the RGPD page's address
    clerk_page = new_context().new_page()
    clerk_page.goto(RGPD_PAGE)
    log_in(clerk_page, clerk)
    expect(clerk_page.get_by_role("heading", name="Accès refusé (403)")).to_be_visible()
    expect(clerk_page.get_by_text("Vous n'avez pas les droits pour ouvrir cette page.")).to_be_visible()
    clerk_page.goto("/admin/")
    expect(clerk_page.get_by_role("link", name="Contacts").first).to_be_visible()
    expect(clerk_page.get_by_role("link", name=PAGE_TITLE_FR)).to_have_count(0)
    response = clerk_page.goto(RGPD_PAGE)
    assert response.status == 403
