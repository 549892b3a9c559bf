"""Every error of the API has one body, ``{"detail": ..., "code": ...}`` (+ ``errors`` on a 400), in JSON,
never stored by a cache: bad body, no or wrong token, no right, unknown id or address, wrong method, an
archive not ready, expired or gone from the storage, and throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import ContactFactory, UserFactory, exported, rgpd_user

EXPORTS = "/api/rgpd/exports/"
pytestmark = pytest.mark.django_db


def with_token(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"], body
    assert set(body) <= {"detail", "code", "errors", "unknown_ids"}, body
    return body


def download(client: Client, part) -> object:
    return client.get(f"{EXPORTS}{part.request_id}/parts/{part.number}/download/")


def test_each_kind_of_error_answers_the_same_format_in_french():
    api = with_token(rgpd_user())

    body = assert_error(
        api.post(EXPORTS, {"contacts": "12"}, content_type="application/json"), 400, "not_a_list"
    )
    assert list(body["errors"]) == ["contacts"] and body["detail"] == body["errors"]["contacts"][0]
    assert_error(api.post(EXPORTS, "{oops", content_type="application/json"), 400, "parse_error")
    assert_error(Client().get(EXPORTS), 401, "not_authenticated")
    assert_error(Client(HTTP_AUTHORIZATION="Token " + "0" * 40).get(EXPORTS), 401, "authentication_failed")
    assert_error(with_token(UserFactory()).get(EXPORTS), 403, "permission_denied")
    assert_error(api.get(f"{EXPORTS}999999/"), 404, "not_found")
    assert_error(api.get("/api/anonymisations/nowhere/"), 404, "not_found")
    # A POST to no endpoint from a token client (no CSRF token): the same JSON 404, not Django's HTML 403
    token_client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=api.defaults["HTTP_AUTHORIZATION"])
    assert_error(token_client.post("/api/rgpd/requests/-3/extend/", {}), 404, "not_found")
    # An id holding a newline (found by the fuzzer): the same JSON 404, not the back office's HTML page
    assert_error(token_client.post("/api/rgpd/requests/%3B%0D%24L%0A/extend/", {}), 404, "not_found")
    assert_error(api.delete(EXPORTS), 405, "method_not_allowed")
    assert api.get(f"{EXPORTS}999999/").json()["detail"] == "Introuvable."
    # An address without its final "/" is still sent to the endpoint's address (APPEND_SLASH)
    assert api.get(EXPORTS.rstrip("/"))["Location"] == EXPORTS


def test_an_unknown_contact_in_an_export_is_named_in_unknown_ids():
    known = ContactFactory()

    response = with_token(rgpd_user()).post(
        EXPORTS, {"contacts": [known.pk, 10**9]}, content_type="application/json"
    )

    body = assert_error(response, 400, "unknown_contacts")
    assert body["unknown_ids"] == [10**9] and "1000000000" in body["errors"]["contacts"][0]


def test_archives_not_ready_expired_or_missing_answer_409_410_404():
    api = with_token(rgpd_user())
    contact = ContactFactory()

    assert_error(download(api, exported([contact], status="running")), 409, "not_ready")
    assert_error(download(api, exported([contact], expires_in=timedelta(seconds=-1))), 410, "expired")
    # Ready, but its object was never stored
    missing = assert_error(download(api, exported([contact])), 404, "file_missing")
    assert missing["detail"].startswith("Ce fichier est absent du stockage")


def test_throttling_answers_429_with_retry_after(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "rgpd_exports": "1/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api = with_token(rgpd_user())
    contact = ContactFactory()
    api.post(EXPORTS, {"contacts": [contact.pk]}, content_type="application/json")

    response = api.post(EXPORTS, {"contacts": [contact.pk]}, content_type="application/json")

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
