from django.contrib.auth.models import Permission

from tests.factories import UserFactory, rgpd_user


def test_rgpd_officer_logs_in_and_reaches_the_rgpd_page(page, login):
    user = rgpd_user()
    login(user)
    page.get_by_role("link", name="Gestion - RGPD : Contacts Clients").first.click()
    assert page.get_by_role("heading").first.is_visible()
