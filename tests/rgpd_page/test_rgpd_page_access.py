"""Who sees the RGPD page, the contact's record and its files."""

import factory
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rgpd.admin import pagination
from tests.factories import ContactFactory, DocumentFactory, UserFactory, rgpd_user

RGPD_PAGE = "/admin/rgpd/rgpdcontact/"


@pytest.fixture
def contact(db):
    return ContactFactory(last_name="Lefèvre", first_name="Amélie")


@pytest.fixture
def document(contact):
    return DocumentFactory(contact=contact)


def back_office_user():
    """A staff user in a security group without the right "RGPD Contacts Clients"."""
    group, _ = Group.objects.get_or_create(name="Back office")
    return UserFactory(groups=[group])


def test_anonymous_users_are_sent_to_the_login_page(client, contact, document):
    for url in (
        RGPD_PAGE,
        reverse("contacts:record", args=[contact.pk]),
        reverse("contacts:document_download", args=[document.pk]),
        reverse("contacts:photo", args=[contact.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_a_user_without_the_right_gets_403_and_no_link_to_the_rgpd_page(client, contact, document):
    client.force_login(back_office_user())

    assert client.get(RGPD_PAGE).status_code == 403
    assert client.get(reverse("contacts:record", args=[contact.pk])).status_code == 403
    assert client.get(reverse("contacts:document_download", args=[document.pk])).status_code == 403
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert RGPD_PAGE not in index.content.decode()


def test_a_user_with_the_right_through_a_group_sees_the_page_and_the_loupe(client, contact):
    user = rgpd_user()
    assert not user.user_permissions.exists() and not user.is_superuser
    client.force_login(user)

    index = client.get(reverse("admin:index"))
    response = client.get(RGPD_PAGE)

    assert RGPD_PAGE in index.content.decode()
    assert response.status_code == 200
    html = response.content.decode()
    record_url = reverse("contacts:record", args=[contact.pk])
    assert (
        f'<a href="{record_url}" class="rgpd-row-action" title="Accès à la fiche du contact" '
        'aria-label="Accès à la fiche du contact">'
    ) in html
    assert "Lefèvre" in html
    assert client.get(record_url).status_code == 200


def test_the_rgpd_page_is_read_only(client, contact):
    client.force_login(rgpd_user())

    assert client.get(f"{RGPD_PAGE}add/").status_code == 403
    assert client.post(f"{RGPD_PAGE}{contact.pk}/delete/").status_code == 403
    # Its detail view is the contact's record.
    response = client.get(f"{RGPD_PAGE}{contact.pk}/change/")
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:record", args=[contact.pk])


def test_the_rgpd_page_searches_filters_and_pages(client, db):
    client.force_login(rgpd_user())
    ContactFactory(last_name="Martin", first_name="Zoé", email="zoe@exemple.fr", phone="0611223344")
    ContactFactory(last_name="Durand", first_name="Louis", email="louis@exemple.fr", phone="0299887766")
    # Anonymised: nothing of it may match a search (Faker's random email could contain "mar").
    anonymised = ContactFactory(last_name="xxx", first_name="xxx", email="", phone="xxx", mobile="xxx")
    anonymised.anonymised_at = anonymised.created_at
    anonymised.save()

    def names(**params):
        response = client.get(RGPD_PAGE, params)
        assert response.status_code == 200
        return {row.last_name for row in response.context["cl"].result_list}

    assert names(q="Mar") == {"Martin"}
    assert names(q="louis@exemple") == {"Durand"}
    assert names(q="0611") == {"Martin"}
    assert names(anonymised="yes") == {"xxx"}
    assert names(anonymised="no") == {"Martin", "Durand"}
    assert client.get(RGPD_PAGE).context["cl"].list_per_page == 50


def test_the_rgpd_page_makes_the_same_number_of_queries_for_5_or_60_contacts(client, db):
    client.force_login(rgpd_user())
    ContactFactory.create_batch(5)
    with_few = _count_queries(client)
    ContactFactory.create_batch(55)
    assert _count_queries(client) == with_few


def _count_queries(client, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(RGPD_PAGE, params or {}).status_code == 200
    return len(queries)


RGPD_PAGE_VIEWS = {
    "first page": {},
    "page 2": {"p": 2},
    "last-name prefix search": {"q": "Mar"},  # 60 matches: more than a page
    "email search": {"q": "zoe@exemple.fr"},
}


@pytest.mark.parametrize("params", RGPD_PAGE_VIEWS.values(), ids=RGPD_PAGE_VIEWS.keys())
def test_each_view_of_the_rgpd_page_makes_as_many_queries_on_a_small_table_as_on_a_large_one(
    client, db, monkeypatch, params
):
    client.force_login(rgpd_user())
    ContactFactory.create_batch(60, last_name=factory.Sequence(lambda n: f"Martin{n:03}"))
    ContactFactory(last_name="Durand", first_name="Zoé", email="zoe@exemple.fr")
    with connection.cursor() as cursor:  # PostgreSQL's estimate of the table's rows (pg_class)
        cursor.execute("ANALYZE contacts_contact")

    small = _count_queries(client, params)
    cl = client.get(RGPD_PAGE, params).context["cl"]
    assert cl.show_full_result_count and cl.full_result_count == 61  # exact counts

    # The same table as the paginator sees a large one: estimated counts (unfiltered lists), more
    # matches of a search than it sorts by itself.
    monkeypatch.setattr(pagination, "ESTIMATED_COUNT_THRESHOLD", 1)
    monkeypatch.setattr(pagination, "SORT_MATCHES_MAX", 10)
    large = _count_queries(client, params)
    cl = client.get(RGPD_PAGE, params).context["cl"]
    assert not cl.show_full_result_count  # "Show all", not a count of the whole table

    assert large == small


def test_a_user_with_view_contact_reaches_the_record_but_not_the_rgpd_page(client, contact, document):
    group, _ = Group.objects.get_or_create(name="Lecture des contacts")
    group.permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(UserFactory(groups=[group]))

    record = client.get(reverse("contacts:record", args=[contact.pk]))

    assert record.status_code == 200
    assert "Amélie" in record.content.decode()
    assert reverse("contacts:document_download", args=[document.pk]) in record.content.decode()
    assert client.get(RGPD_PAGE).status_code == 403


def test_the_back_office_is_gdpr_portal_in_french_with_a_switch_to_english(client, contact):
    client.force_login(rgpd_user())

    # French by default, whatever the browser prefers
    html = client.get(RGPD_PAGE, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="fr"' in html
    assert "<title>Gestion - RGPD : Contacts Clients | gdpr_portal</title>" in html
    assert 'id="site-name"><a href="/admin/">gdpr_portal</a>' in html
    assert f'<form class="language-switch" action="{reverse("set_language")}" method="post">' in html

    # The switch turns the back office to English
    response = client.post(reverse("set_language"), {"language": "en", "next": RGPD_PAGE})
    assert response.status_code == 302
    html = client.get(RGPD_PAGE).content.decode()
    assert '<html lang="en"' in html
    assert 'aria-label="Open the contact&#x27;s record"' in html
    assert "GDPR management: client contacts" in html
