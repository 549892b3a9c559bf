"""The page "Mon jeton d'API" (/admin/api-token/): a holder of the right creates, sees the date of and
revokes their own API token without a shell; the key is shown once; administrators revoke anyone's."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory, rgpd_user

PAGE = "/admin/api-token/"
EXPORTS = "/api/rgpd/exports/"
pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    # CSRF checks on, as in a browser: every POST must carry the page's token
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, **data):
    page = client.get(PAGE)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(PAGE, {"csrfmiddlewaretoken": csrf, **data})


def shown_key(response) -> str | None:
    match = re.search(r'<code id="api-token-key">([0-9a-f]+)</code>', response.content.decode())
    return match.group(1) if match else None


def api(key: str):
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get(EXPORTS)


def test_a_holder_of_the_right_creates_a_token_that_opens_the_api_and_is_shown_once():
    user = rgpd_user()
    client = logged_in(user)
    # The header's user links lead to the page
    assert f'href="{PAGE}">Mon jeton d’API</a>' in client.get("/admin/").content.decode()
    assert "Vous n’avez pas de jeton d’API." in client.get(PAGE).content.decode()

    created = post(client, action="create")

    key = shown_key(created)
    assert created.status_code == 200 and key and "il ne sera plus affiché" in created.content.decode()
    assert api(key).status_code == 200
    # Opened again, the page shows the creation date, never the key
    again = client.get(PAGE).content.decode()
    token = Token.objects.get(user=user)
    assert key not in again and shown_key(client.get(PAGE)) is None
    assert "Vous avez un jeton d’API, créé le" in again and str(token.created.year) in again


def test_creating_again_replaces_the_token_and_the_old_one_stops_working():
    client = logged_in(rgpd_user())
    first = shown_key(post(client, action="create"))

    second = shown_key(post(client, action="create"))

    assert first != second
    assert api(first).status_code == 401 and api(second).status_code == 200


def test_a_revoked_token_answers_401():
    user = rgpd_user()
    client = logged_in(user)
    key = shown_key(post(client, action="create"))

    revoked = post(client, action="revoke")

    assert revoked.status_code == 302
    assert "Votre jeton d’API est révoqué" in client.get(PAGE).content.decode()
    answer = api(key)
    assert answer.status_code == 401 and answer.json()["code"] == "authentication_failed"
    assert not Token.objects.filter(user=user).exists()


def test_a_post_without_the_csrf_token_is_refused():
    client = logged_in(rgpd_user())

    response = client.post(PAGE, {"action": "create"})

    assert response.status_code == 403 and not Token.objects.exists()


def test_a_user_without_the_right_gets_403_with_a_message_and_no_link():
    client = logged_in(UserFactory())  # back-office user, no RGPD right
    assert "Mon jeton d’API" not in client.get("/admin/").content.decode()

    page = client.get(PAGE)
    created = client.post(PAGE, {"action": "create"})  # even with no CSRF check in play, nothing is made

    assert page.status_code == 403
    assert "Seuls les utilisateurs ayant le droit « RGPD Contacts Clients »" in page.content.decode()
    assert created.status_code == 403 and not Token.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page():
    response = Client().get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_an_administrator_sees_every_token_and_revokes_another_users():
    officer = rgpd_user()
    key = shown_key(post(logged_in(officer), action="create"))
    admin = User.objects.create_superuser("chef", "chef@example.com", "pw-test-123")
    client = logged_in(admin)
    assert officer.username in client.get(PAGE).content.decode()

    revoked = post(client, action="revoke_user", user=str(officer.pk))

    assert revoked.status_code == 302
    assert f"Le jeton d’API de {officer.username} est révoqué." in client.get(PAGE).content.decode()
    assert api(key).status_code == 401


def test_only_an_administrator_revokes_another_users_token():
    owner, other = rgpd_user(), rgpd_user()
    key = shown_key(post(logged_in(owner), action="create"))

    refused = post(logged_in(other), action="revoke_user", user=str(owner.pk))

    assert refused.status_code == 403 and api(key).status_code == 200
