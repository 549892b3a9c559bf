"""The API's OpenAPI schema: it names every endpoint, is served to back-office users only (YAML and JSON),
its Swagger UI is behind login on our own static files, and a fuzzer (schemathesis) finds no server error
and no answer that the schema does not describe, against a live server.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
import schemathesis
from django.test import Client
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rgpd import api_urls
from rgpd.models import AnonymisationRequest
from rgpd.services.anonymisation import anonymisation_request_create
from rgpd.subject_requests.models import SubjectRequest
from rgpd.subject_requests.services import subject_request_record
from tests.factories import ContactFactory, UserFactory, exported, rgpd_user

API_PREFIX = "/api/rgpd/"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
FUZZ_EXAMPLES = 150  # requests in all, valid and invalid, over every operation


def _routes(patterns, prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append((prefix + str(pattern.pattern), pattern.callback))
    return found


def shape(path: str) -> str:
    """``exports/<id:pk>/`` and ``/api/rgpd/exports/{id}/`` both become ``/api/rgpd/exports/{}/``."""
    path = re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)
    return path if path.startswith("/") else API_PREFIX + path


def schema_of(client: Client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_every_url_of_the_api_is_in_the_schema_with_its_methods():
    client = Client()
    client.force_login(rgpd_user())
    documented = {
        shape(path): set(methods) - {"parameters"} for path, methods in schema_of(client)["paths"].items()
    }

    for route, view in _routes(api_urls.urlpatterns):
        view_class = view.view_class
        methods = {
            m for m in view_class.http_method_names if hasattr(view_class, m) and m not in ("options", "head")
        }
        assert shape(route) in documented, f"{route} is missing from /api/schema/"
        assert documented[shape(route)] == methods, route
    assert len(documented) == len(api_urls.urlpatterns)


@pytest.mark.django_db
def test_the_schema_is_served_in_yaml_and_json_to_back_office_users_only():
    user = rgpd_user()
    token = Token.objects.create(user=user)
    with_token = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    as_yaml = with_token.get("/api/schema/")
    as_json = with_token.get("/api/schema/?format=json")

    assert as_yaml.status_code == 200 and as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert b"openapi: 3." in as_yaml.content and b"/api/rgpd/exports/" in as_yaml.content
    assert as_json.status_code == 200 and as_json.json()["components"]["securitySchemes"]["tokenAuth"]
    # Anonymous callers get the API's error format (in YAML here); a user outside the back office a 403
    anonymous = Client().get("/api/schema/")
    assert anonymous.status_code == 401 and b"code: not_authenticated" in anonymous.content
    outsider = Client()
    outsider.force_login(UserFactory(is_staff=False))
    assert outsider.get("/api/schema/").status_code == 403


@pytest.mark.django_db
def test_the_docs_page_is_behind_login_and_uses_only_our_static_files():
    assert Client().get("/api/docs/")["Location"].startswith("/admin/login/")
    client = Client()
    client.force_login(rgpd_user())

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    html = page.content.decode()
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert "<style" not in html and "<script>" not in html  # the CSP allows no inline style or script
    assert script.status_code == 200 and "/api/schema/" in script.content.decode()
    # Only Swagger UI's inline SVG icons are allowed beyond the site's policy: still no inline script
    policy = dict(d.strip().split(" ", 1) for d in page["Content-Security-Policy"].split(";") if d.strip())
    assert policy["script-src"] == "'self'" and "data:" in policy["img-src"]
    for source in sources:
        if source.startswith("/static/"):
            assert client.get(source).status_code == 200, source


# --- The fuzzer ----------------------------------------------------------------------------------------
@pytest.fixture
def fuzzed_api(live_server, transactional_db, settings):
    """A live server, a token holding the right, and data for the detail endpoints to find."""
    rates = {name: "100000/hour" for name in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    user = rgpd_user()
    token = Token.objects.create(user=user)
    part = exported(ContactFactory.create_batch(2), requested_by=user)
    anonymisation = anonymisation_request_create(
        population="contacts",
        subject_ids=[ContactFactory().pk],
        actor=user,
        confirmed=True,
        source=AnonymisationRequest.Source.API,
    )
    subject_request = subject_request_record(
        kind=SubjectRequest.Kind.ACCESS,
        received_on=timezone.localdate(),
        contact_ids=[ContactFactory().pk],
        actor=user,
    )
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    schema = schemathesis.openapi.from_dict(schema_of(client))
    return {
        "schema": schema,
        "base_url": live_server.url,
        "headers": {"Authorization": f"Token {token.key}"},
        "export": part.request_id,
        "anonymisation": anonymisation.pk,
        "subject_request": subject_request.pk,
    }


def strategies(api: dict):
    schema = api["schema"]
    export, anonymisation, subject_request = api["export"], api["anonymisation"], api["subject_request"]
    return st.one_of(
        schema.as_strategy(),  # valid requests, random ids
        schema.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),  # invalid ones
        # The requests that exist, so their full answers are checked too
        schema["/api/rgpd/exports/{id}/"]["GET"].as_strategy(path_parameters={"id": export}),
        schema["/api/rgpd/exports/{id}/parts/{number}/download/"]["GET"].as_strategy(
            path_parameters={"id": export, "number": 1}
        ),
        schema["/api/rgpd/anonymisations/{id}/"]["GET"].as_strategy(path_parameters={"id": anonymisation}),
        schema["/api/rgpd/requests/{id}/"]["GET"].as_strategy(path_parameters={"id": subject_request}),
        schema["/api/rgpd/requests/{id}/extend/"]["POST"].as_strategy(
            path_parameters={"id": subject_request}
        ),
    )


def test_a_fuzzer_finds_no_server_error_and_no_answer_outside_the_schema(fuzzed_api):
    session = requests.Session()
    statuses: dict[int, int] = {}

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategies(fuzzed_api))
    def check(case):
        response = case.call(
            base_url=fuzzed_api["base_url"],
            session=session,
            headers=fuzzed_api["headers"],
            allow_redirects=False,
            timeout=30,
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)

    started = time.monotonic()
    check()
    elapsed = time.monotonic() - started

    assert sum(statuses.values()) >= FUZZ_EXAMPLES // 2
    assert not any(code >= 500 for code in statuses), statuses
    # Both the answers that work and the refusals were exercised
    assert {200, 400, 404} <= set(statuses), statuses
    assert elapsed < 120, f"the fuzzer took {elapsed:.0f} s"
