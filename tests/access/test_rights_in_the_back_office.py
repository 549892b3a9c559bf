"""Rights as administrators and refused users meet them (issue 16, items 8 and 9): the 403 page inside the
back office naming the missing right, permission names in the interface's language, and a warning when
someone given an RGPD right cannot use it."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.factories import ContactFactory, UserFactory, rgpd_group

pytestmark = pytest.mark.django_db
RGPD_PAGE = "/admin/rgpd/rgpdcontact/"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def back_office_client(client, **user):
    group = Group.objects.create(name="Back-office")
    group.permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(UserFactory(username="paul.bo", groups=[group], **user))
    return client


def test_the_403_page_keeps_the_header_with_logout_and_names_the_missing_right(client):
    clerk = back_office_client(client)

    refused = clerk.get(RGPD_PAGE)

    assert refused.status_code == 403
    page = refused.content.decode()
    assert 'id="logout-form"' in page and "paul.bo" in text_of(refused)
    assert "Cette page demande le droit « RGPD Contacts Clients »." in text_of(refused)


def test_the_403_page_names_the_admins_own_view_right_and_speaks_english_on_demand(client):
    clerk = back_office_client(client)
    assert "Cette page demande le droit « Voir : utilisateur »." in text_of(clerk.get("/admin/auth/user/"))
    clerk.cookies["django_language"] = "en"
    english = text_of(clerk.get("/admin/rgpd/auditevent/"))
    # (each population brings its own right, the tests' second one too: any of them opens the journal)
    assert "This page needs the right “RGPD Contacts Clients, RGPD Utilisateurs or " in english


def test_the_contact_record_refusal_names_both_rights_that_open_it(client):
    group = Group.objects.create(name="Sans droit")
    client.force_login(UserFactory(username="paul.bo", groups=[group]))
    refused = client.get(reverse("contacts:record", args=[ContactFactory().pk]))
    assert refused.status_code == 403
    assert "« RGPD Contacts Clients ou Voir : contact »" in text_of(refused)


def test_the_permission_picker_names_permissions_in_the_interfaces_language(client):
    client.force_login(UserFactory(username="admin-bo", is_superuser=True))
    group = rgpd_group()

    french = client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert "Can view" not in french and "Can add" not in french
    assert "Gestion RGPD | Voir : entrée du journal RGPD" in html.unescape(french)
    assert "Gestion RGPD | RGPD Contacts Clients" in french
    assert "Contacts clients | Ajouter : contact" in french

    client.cookies["django_language"] = "en"
    user = UserFactory(username="claire.dpo")
    english = client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert "Client contacts | Can add contact" in english and "Ajouter" not in english


def test_the_group_and_user_pages_warn_when_a_member_cannot_use_the_rgpd_right(client):
    client.force_login(UserFactory(username="admin-bo", is_superuser=True))
    group = rgpd_group()
    UserFactory(username="claire.dpo", groups=[group])  # can use it: staff, with an email
    no_staff = UserFactory(username="marc.nostaff", is_staff=False, groups=[group])
    UserFactory(username="lea.noemail", email="", groups=[group])

    group_page = text_of(client.get(reverse("admin:auth_group_change", args=[group.pk])))
    assert (
        "Un droit RGPD est donné à des personnes qui ne peuvent pas se connecter au back-office (cochez"
        " « Statut équipe » sur leur page d'utilisateur) : marc.nostaff." in group_page
    )
    assert "Un droit RGPD est donné à des personnes sans adresse e-mail" in group_page
    assert "lea.noemail" in group_page and "claire.dpo" not in group_page.split("Un droit RGPD")[1]

    user_page = text_of(client.get(reverse("admin:auth_user_change", args=[no_staff.pk])))
    assert "marc.nostaff." in user_page and "Statut équipe" in user_page

    # A group without the right warns about nobody
    other = Group.objects.create(name="Back-office")
    UserFactory(username="sans.statut", is_staff=False, groups=[other])
    assert "Un droit RGPD" not in text_of(client.get(reverse("admin:auth_group_change", args=[other.pk])))
