"""Accounts and sessions: login lockout, API throttling, staff only, demo accounts, HTTP security headers.

Counters live in the real Redis cache (``CACHE_URL`` from scripts/testenv.py), under a prefix of this
test's own (``fresh_throttling_counters`` in tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from contacts.models import Contact
from rgpd.models import AnonymisationRequest, AuditEvent, ExportRequest
from tests.conftest import database_url_of_this_run
from tests.factories import ContactFactory, DocumentFactory, UserFactory, exported, rgpd_user

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/admin/login/"
EXPORTS = "/api/rgpd/exports/"
ANONYMISATIONS = "/api/rgpd/anonymisations/"
PASSWORD = "pw-test-123"  # UserFactory's


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def token_client(token: str, address: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=address)


def directives(response) -> list[str]:
    return [d.strip() for d in response["Cache-Control"].split(",")]


def cache_keys() -> list[str]:
    """The keys this test wrote in Redis (its own prefix)."""
    prefix = cache.key_prefix
    client = cache._cache.get_client()
    return [key.decode() for key in client.scan_iter(match=f"{prefix}:*", count=1000)]


@pytest.fixture(autouse=True)
def _on_redis(settings):
    assert "redis" in settings.CACHES["default"]["BACKEND"].lower(), "run through scripts/testenv.py"


# --- Login lockout (django-axes) ------------------------------------------------------------------------


def test_twenty_wrong_passwords_block_the_right_one_until_the_cool_off(db, settings):
    # Given an account, the default failure limit, and a cool-off short enough to wait for here (Redis
    # expires the counter: time-machine cannot move Redis' clock)
    assert settings.AXES_FAILURE_LIMIT == 10
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    user = UserFactory()
    attacker = Client(REMOTE_ADDR="203.0.113.7")

    # When 20 wrong passwords are sent from one address
    answers = [log_in(attacker, user.username, f"guess-{n}").status_code for n in range(20)]

    # Then the first 9 show the form again and from the 10th on, the login is blocked
    assert answers == [200] * 9 + [429] * 11

    # And the right password is refused too, with the admin-styled page in French and a Retry-After
    response = log_in(attacker, user.username, PASSWORD)
    page = response.content.decode()
    assert response.status_code == 429 and response["Retry-After"] == "2"
    assert "Trop de tentatives de connexion échouées pour ce compte depuis votre adresse" in page
    assert 'id="site-name"' in page and "Retour à la page de connexion" in page
    assert not logged_in(attacker)

    # ... even when the client claims another address in X-Forwarded-For (not trusted by default)
    spoofed = attacker.post(
        LOGIN, {"username": user.username, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.1"
    )
    assert spoofed.status_code == 429 and not logged_in(attacker)

    # And in English for a person who chose English
    english = Client(REMOTE_ADDR="203.0.113.7")
    english.cookies["django_language"] = "en"
    page = log_in(english, user.username, PASSWORD).content.decode()
    assert "Too many failed login attempts for this account from your address" in page

    # And the counter's key names neither the account nor the address
    keys = cache_keys()
    assert keys and not any(user.username in key or "203.0.113" in key for key in keys)

    # ... while the same account still logs in from another address (the lock is per account + address)
    elsewhere = Client(REMOTE_ADDR="203.0.113.8")
    assert log_in(elsewhere, user.username, PASSWORD).status_code == 302 and logged_in(elsewhere)

    # And once the cool-off has passed, the right password is accepted again
    time.sleep(2.5)
    assert log_in(attacker, user.username, PASSWORD).status_code == 302 and logged_in(attacker)


def test_behind_a_proxy_the_configured_header_gives_the_address(db, settings):
    # Given a proxy that sets X-Real-IP, named in the settings
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_REAL_IP", "REMOTE_ADDR"]
    user = UserFactory()
    proxy = "10.0.0.2"

    # When one client behind it fails 10 times
    for n in range(10):
        log_in(Client(REMOTE_ADDR=proxy, HTTP_X_REAL_IP="192.0.2.10"), user.username, f"guess-{n}")

    # Then that client is blocked, but another one behind the same proxy logs in
    blocked = Client(REMOTE_ADDR=proxy, HTTP_X_REAL_IP="192.0.2.10")
    assert log_in(blocked, user.username, PASSWORD).status_code == 429
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_REAL_IP="192.0.2.11")
    assert log_in(colleague, user.username, PASSWORD).status_code == 302 and logged_in(colleague)


def test_the_session_lasts_a_working_day(db, settings):
    user = UserFactory()
    client = Client()
    assert log_in(client, user.username, PASSWORD).status_code == 302
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 8 * 3600


# --- API throttling ------------------------------------------------------------------------------------


def wrong_tokens_from_another_process(address: str, count: int) -> list[int]:
    """Send ``count`` wrong tokens from a second Django process on the same database and cache."""
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        f"c = Client(HTTP_AUTHORIZATION='Token ' + 'f' * 40, REMOTE_ADDR={address!r}); "
        f"print(json.dumps([c.get({EXPORTS!r}).status_code for _ in range({count})]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gdpr_portal.settings",
        "DATABASE_URL": database_url_of_this_run(),
        "CACHE_KEY_PREFIX": cache.key_prefix,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_wrong_api_tokens_are_throttled_across_processes_with_retry_after(db):
    # Given an RGPD officer's token, and a client guessing tokens from one address
    token = Token.objects.create(user=rgpd_user()).key
    address = "198.51.100.20"

    # When it sends 6 wrong tokens to one process and 4 to another (the default limit is 10 an hour)
    first = wrong_tokens_from_another_process(address, 6)
    second = [token_client("0" * 40, address).get(EXPORTS).status_code for _ in range(4)]

    # Then each is refused (401, asking for a valid token), and the next one is throttled
    assert first + second == [401] * 10
    throttled = token_client("1" * 40, address).get(EXPORTS)
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 3600

    # And even the right token is refused from that address: a guesser never learns it was right
    assert token_client(token, address).get(EXPORTS).status_code == 429

    # ... while the officer, from their own address, is served
    assert token_client(token, "198.51.100.21").get(EXPORTS).status_code == 200

    # And the cache holds no address
    keys = cache_keys()
    assert keys and not any("198.51.100" in key for key in keys)


def test_starting_exports_and_anonymisations_is_throttled_per_user(db, settings):
    # Given rates of 2 creations an hour
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "rgpd_exports": "2/hour",
            "rgpd_anonymisations": "2/hour",
        },
    }
    officer, colleague = rgpd_user(), rgpd_user()
    api = token_client(Token.objects.create(user=officer).key, "192.0.2.30")
    contact = ContactFactory()

    # When the officer starts 3 exports and 3 anonymisations
    exports = [
        api.post(EXPORTS, {"contacts": [contact.pk]}, content_type="application/json") for _ in range(3)
    ]
    anonymisations = [
        api.post(ANONYMISATIONS, {"contacts": [contact.pk], "confirm": True}, content_type="application/json")
        for _ in range(3)
    ]

    # Then the third of each is refused with 429 and Retry-After, and nothing is created for it
    assert [r.status_code for r in exports] == [202, 202, 429]
    assert [r.status_code for r in anonymisations] == [201, 201, 429]
    assert 0 < int(exports[2]["Retry-After"]) <= 3600 and 0 < int(anonymisations[2]["Retry-After"]) <= 3600
    assert ExportRequest.objects.count() == 2 and AnonymisationRequest.objects.count() == 2

    # And reading is not limited, nor is another officer
    assert api.get(EXPORTS).status_code == 200
    other = token_client(Token.objects.create(user=colleague).key, "192.0.2.30")
    assert other.post(EXPORTS, {"contacts": [contact.pk]}, content_type="application/json").status_code == 202


# --- Staff only ----------------------------------------------------------------------------------------


def test_a_group_member_who_is_not_staff_is_refused_by_the_api_as_by_the_admin(db):
    # Given a person holding "RGPD Contacts Clients" through a group, but not staff
    person = rgpd_user(is_staff=False)
    contact = ContactFactory()
    document = DocumentFactory(contact=contact)
    part = exported([contact])
    api = token_client(Token.objects.create(user=person).key, "192.0.2.40")
    browser = Client()
    browser.force_login(person)
    before = list(Contact.objects.filter(pk=contact.pk).values())

    # When they try the admin, the API's export, download and anonymisation, and a document download
    answers = {
        "admin RGPD page": browser.get(reverse("admin:rgpd_rgpdcontact_changelist")).status_code,
        "API export": api.post(
            EXPORTS, {"contacts": [contact.pk]}, content_type="application/json"
        ).status_code,
        "API list": api.get(EXPORTS).status_code,
        "API download": api.get(
            reverse("rgpd_api:export-part-download", args=[part.request_id, part.number])
        ).status_code,
        "API anonymise": api.post(
            ANONYMISATIONS, {"contacts": [contact.pk], "confirm": True}, content_type="application/json"
        ).status_code,
        "document download": browser.get(
            reverse("contacts:document_download", args=[document.pk])
        ).status_code,
    }

    # Then the admin sends them to its login page and everything else answers 403, changing nothing
    assert answers == {"admin RGPD page": 302, **dict.fromkeys(list(answers)[1:], 403)}
    assert ExportRequest.objects.count() == 1 and not AnonymisationRequest.objects.exists()
    assert list(Contact.objects.filter(pk=contact.pk).values()) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ARCHIVE_DOWNLOADED).exists()

    # And the same person made staff is let in: the refusal was about staff status only
    User.objects.filter(pk=person.pk).update(is_staff=True)
    assert api.get(EXPORTS).status_code == 200


# --- Demo accounts -------------------------------------------------------------------------------------


def test_seed_demo_refuses_to_create_accounts_in_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="PRODUCTION=true"):
        call_command("seed_demo", contacts=1, no_progress=True, verbosity=0)
    assert not User.objects.exists() and not Contact.objects.exists()


# --- Deployment checks ---------------------------------------------------------------------------------


def deploy_check(tmp_path, **extra) -> subprocess.CompletedProcess:
    unrelated = ("AWS_", "DATABASE_", "CELERY_", "SECURE_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(unrelated)}
    environment = {
        **base,
        "PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "rgpd.example.com",
        "GDPR_PORTAL_VAR_DIR": str(tmp_path),
        **extra,
    }
    environment.pop("DEBUG", None)
    # Set by the browser tests (Playwright) in this process: never in a deployment.
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_the_deployment_check_passes_in_production_mode(tmp_path):
    result = deploy_check(tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout

    # ... and it does check: without HSTS it fails
    without_hsts = deploy_check(tmp_path, SECURE_HSTS_SECONDS="0")
    assert without_hsts.returncode != 0 and "security.W004" in without_hsts.stderr


# --- Headers -------------------------------------------------------------------------------------------


def test_pages_api_answers_and_downloads_are_never_stored(db):
    officer = rgpd_user()
    contact = ContactFactory()
    document = DocumentFactory(contact=contact)
    browser = Client()
    browser.force_login(officer)
    api = token_client(Token.objects.create(user=officer).key, "192.0.2.50")

    answers = {
        "record page": browser.get(reverse("contacts:record", args=[contact.pk])),
        "401 answer": Client().get(EXPORTS),
        "API answer": api.get(EXPORTS),
        "document download": browser.get(reverse("contacts:document_download", args=[document.pk])),
    }

    assert [r.status_code for r in answers.values()] == [200, 401, 200, 302]
    for name, response in answers.items():
        assert {"no-store", "private"} <= set(directives(response)), name


def test_static_files_keep_their_caching(live_server):
    with urllib.request.urlopen(f"{live_server.url}/static/rgpd/js/confirm-once.js") as response:  # noqa: S310
        assert response.status == 200 and "no-store" not in (response.headers["Cache-Control"] or "")


def test_every_page_carries_a_content_security_policy_without_inline_scripts(db):
    response = Client().get(LOGIN)
    policy = {
        name: values
        for name, *values in (part.split() for part in response["Content-Security-Policy"].split(";"))
    }
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
