"""Bad input gets a 4xx with a clear message, never a 500 nor Django's debug page.

Out-of-range ids (URLs, API bodies, admin selections), oversized id lists, a search of a thousand words,
a download whose stored file is gone; the error pages themselves; debug mode off by default.
Every bad input is sent with debug mode off and on: no answer may carry a traceback.
"""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.converters import IntConverter

from contacts.models import Contact
from harness.admin_actions import bulk_action_payload
from rgpd.models import AnonymisationRequest, AuditEvent, ExportRequest
from tests.factories import ContactFactory, DocumentFactory, UserFactory, exported, png_image

ROOT = Path(__file__).resolve().parents[2]
MAX_ID = 2**63 - 1
OUT_OF_RANGE_IDS = [str(MAX_ID + 1), str(2**64), "9" * 40, "0"]
DEBUG_MODES = pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])

NOT_FOUND_TITLE = "Page introuvable (404)"
FILE_MISSING_TITLE = "Fichier absent (404)"
FILE_MISSING_MESSAGE = (
    "Ce fichier est absent du stockage : il ne peut pas être téléchargé. Prévenez un administrateur."
)
SEARCH_SHORTENED = "La recherche était trop longue : seuls ses 10 premiers mots"


def _failing_view(request):
    raise RuntimeError("a bug that must not reach the browser")


# The URLs of the 500 test (pytest.mark.urls): a view that fails, with the project's error handlers.
urlpatterns = [path("failing/", _failing_view)]


@pytest.fixture
def browser(db):
    """An administrator's browser; errors come back as responses, as a real browser gets them."""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(is_superuser=True))
    return client


def assert_no_traceback(response) -> None:
    body = response.content.decode(errors="replace")
    assert "Traceback" not in body and "SECRET_KEY" not in body, body[:2000]
    assert response.status_code < 500, body[:2000]


# --- Ids in URLs --------------------------------------------------------------------------------------

ID_URLS = [
    "/contacts/{id}/",
    "/contacts/{id}/photo/",
    "/contacts/documents/{id}/download/",
    "/api/rgpd/exports/{id}/",
    "/api/rgpd/exports/{id}/parts/1/download/",
    "/api/rgpd/exports/1/parts/{id}/download/",
    "/api/rgpd/anonymisations/{id}/",
    "/admin/rgpd/exportrequest/{id}/parts/1/download/",
    "/admin/rgpd/exportrequest/1/parts/{id}/download/",
    "/admin/rgpd/exportrequest/contact/{id}/export/",
    "/admin/rgpd/anonymisationrequest/contact/{id}/",
]


def test_no_url_takes_an_unbounded_integer():
    # Every id in a URL goes through the bounded <id:…> converter (a new <int:…> would fail here)
    def patterns(resolver):
        for entry in resolver.url_patterns:
            yield entry
            if isinstance(entry, URLResolver):
                yield from patterns(entry)

    converters = {
        f"{entry.pattern}": type(converter).__name__
        for entry in patterns(get_resolver())
        if isinstance(entry, (URLPattern, URLResolver))
        for converter in getattr(entry.pattern, "converters", {}).values()
    }
    assert "DatabaseIdConverter" in converters.values()
    assert IntConverter.__name__ not in converters.values(), converters


@pytest.mark.parametrize("bad_id", OUT_OF_RANGE_IDS)
def test_an_out_of_range_id_matches_no_url(bad_id):
    # No view of an id is reached (the admin's catch-all of unknown addresses may take the URL instead)
    for url in ID_URLS:
        view_of_an_id = resolve(url.format(id=MAX_ID)).url_name  # the largest id still matches
        with contextlib.suppress(Resolver404):
            assert resolve(url.format(id=bad_id)).url_name != view_of_an_id, url


@DEBUG_MODES
def test_out_of_range_ids_in_urls_get_a_404_page_or_the_apis_404(browser, settings, debug):
    settings.DEBUG = debug
    for bad_id in OUT_OF_RANGE_IDS:
        for url in ID_URLS:
            # (the admin sends an address it does not know to the object's page, which is not found)
            response = browser.get(url.format(id=bad_id), follow=True)
            assert response.status_code == 404, url
            assert_no_traceback(response)
            if url.startswith("/api/"):  # the API's own error format, in both modes
                assert response.json() == {"detail": "Introuvable.", "code": "not_found"}, url
            elif not debug:
                assert NOT_FOUND_TITLE in response.content.decode(), url

    # The admin's own pages of an object: Django says the object does not exist
    response = browser.get(f"/admin/contacts/contact/{2**64}/change/", follow=True)
    assert response.status_code == 200
    assert "n’existe pas" in response.content.decode()
    for url in (f"/admin/rgpd/exportrequest/{2**64}/change/", "/admin/rgpd/anonymisationrequest/²/change/"):
        response = browser.get(url)
        assert response.status_code == 404
        assert_no_traceback(response)


# --- Ids in API bodies --------------------------------------------------------------------------------

API_ENDPOINTS = {
    "export": ("/api/rgpd/exports/", {}),
    "anonymisation": ("/api/rgpd/anonymisations/", {"confirm": True}),
}
BAD_ID_LISTS = {
    "2^63": [MAX_ID + 1],
    "2^64": [2**64],
    "zero": [0],
    "negative": [-5],
    "text": ["abc"],
    "decimal": [1.5],
    "null": [None],
    "list": [[1]],
    "not a list": "12",
    "an object": {"id": 1},
    "empty": [],
}


def post_ids(client, endpoint: str, contacts):
    url, extra = API_ENDPOINTS[endpoint]
    return client.post(url, json.dumps({"contacts": contacts, **extra}), content_type="application/json")


def assert_one_message(response) -> str:
    assert response.status_code == 400
    assert_no_traceback(response)
    body = response.json()
    # The API's one error format: a sentence, a code, and the messages per field
    assert body["detail"] == body["errors"]["contacts"][0] and body["code"], body
    messages = body["errors"]["contacts"]
    assert isinstance(messages, list) and len(messages) == 1 and isinstance(messages[0], str), messages
    return messages[0]


@DEBUG_MODES
@pytest.mark.parametrize("endpoint", API_ENDPOINTS)
@pytest.mark.parametrize("bad", BAD_ID_LISTS.values(), ids=BAD_ID_LISTS.keys())
def test_bad_ids_in_an_api_body_get_one_clear_400(browser, settings, endpoint, bad, debug):
    settings.DEBUG = debug
    # An exported contact, whom a valid request would anonymise: the bad entry stops the whole request
    contact = ContactFactory()
    exported([contact])
    exports_before = ExportRequest.objects.count()

    response = post_ids(browser, endpoint, [contact.pk, *bad] if isinstance(bad, list) and bad else bad)

    assert_one_message(response)
    assert ExportRequest.objects.count() == exports_before
    assert not AnonymisationRequest.objects.exists()
    assert Contact.objects.get(pk=contact.pk).anonymised_at is None


@pytest.mark.parametrize("endpoint", API_ENDPOINTS)
def test_the_message_names_a_few_bad_ids_and_counts_the_others(browser, endpoint):
    response = post_ids(browser, endpoint, [-n for n in range(1, 21)])

    message = assert_one_message(response)
    assert message.startswith("Identifiants non valides : -1, -2, -3 et 17 autres.")
    assert "-4" not in message
    assert f"de 1 à {MAX_ID}" in message


def test_unknown_ids_of_an_export_are_named_a_few_at_a_time(browser):
    unknown = [10**9 + n for n in range(20)]

    response = post_ids(browser, "export", unknown)

    message = assert_one_message(response)
    assert message == "Identifiants de contact inconnus : 1000000000, 1000000001, 1000000002 et 17 autres."
    assert response.json()["unknown_ids"] == unknown
    assert not ExportRequest.objects.exists()


@pytest.mark.parametrize("endpoint", API_ENDPOINTS)
def test_api_id_lists_are_capped_by_rgpd_api_max_ids(browser, settings, endpoint):
    # By default at most 1,000 ids
    message = assert_one_message(post_ids(browser, endpoint, list(range(1, 1002))))
    assert message == "Au plus 1000 identifiants par requête (1001 envoyés)."

    # The setting moves the cap; a list of exactly that many is accepted
    settings.RGPD_API_MAX_IDS = 3
    contacts = ContactFactory.create_batch(4)
    exported(contacts)
    ids = [c.pk for c in contacts]
    assert assert_one_message(post_ids(browser, endpoint, ids)) == (
        "Au plus 3 identifiants par requête (4 envoyés)."
    )
    assert post_ids(browser, endpoint, ids[:3]).status_code in (201, 202)


# --- Admin search and selections ----------------------------------------------------------------------

SEARCH_LISTS = ["/admin/contacts/contact/", "/admin/contacts/document/", "/admin/rgpd/rgpdcontact/"]
LISTS_WITHOUT_SEARCH = [
    "/admin/rgpd/exportrequest/",
    "/admin/rgpd/anonymisationrequest/",
    "/admin/rgpd/auditevent/",
]


@DEBUG_MODES
@pytest.mark.parametrize("changelist", SEARCH_LISTS)
def test_a_thousand_word_search_is_shortened_with_a_message(browser, settings, changelist, debug):
    settings.DEBUG = debug
    ContactFactory(last_name="Zorglub")

    response = browser.get(changelist, {"q": " ".join(["Zorglub"] * 1000)})

    assert response.status_code == 200
    assert_no_traceback(response)
    html = response.content.decode()
    assert SEARCH_SHORTENED in html
    # The search box shows what was searched: the first ten words
    assert f'value="{" ".join(["Zorglub"] * 10)}"' in html
    if changelist != "/admin/contacts/document/":
        assert "Zorglub" in html.split('id="result_list"')[1]  # still found


@pytest.mark.parametrize(
    "changelist", ["/admin/auth/user/", "/admin/auth/group/", "/admin/authtoken/tokenproxy/"]
)
def test_the_lists_of_other_apps_bound_their_search_too(browser, changelist):
    response = browser.get(changelist, {"q": " ".join(["Zorglub"] * 1000)})
    assert response.status_code == 200
    assert SEARCH_SHORTENED in response.content.decode()


@pytest.mark.parametrize("changelist", SEARCH_LISTS)
def test_a_search_of_one_huge_word_is_cut_and_a_normal_search_is_untouched(browser, changelist):
    response = browser.get(changelist, {"q": "x" * 5000})
    assert response.status_code == 200
    assert SEARCH_SHORTENED in response.content.decode()
    assert f'value="{"x" * 200}"' in response.content.decode()

    # A number no id can be (the documents' list searches contact ids) finds nothing, without error
    huge_number = browser.get(changelist, {"q": str(2**70)})
    assert huge_number.status_code == 200
    assert_no_traceback(huge_number)

    normal = browser.get(changelist, {"q": "Martin Paris"})
    assert normal.status_code == 200
    assert SEARCH_SHORTENED not in normal.content.decode()
    assert 'value="Martin Paris"' in normal.content.decode()


@pytest.mark.parametrize("changelist", LISTS_WITHOUT_SEARCH)
def test_lists_without_a_search_box_ignore_a_long_search(browser, changelist):
    response = browser.get(changelist, {"q": " ".join(["mot"] * 1000)})
    assert response.status_code == 200
    assert_no_traceback(response)


@DEBUG_MODES
@pytest.mark.parametrize(
    ("changelist", "action"),
    [("/admin/rgpd/rgpdcontact/", "export_selected"), ("/admin/contacts/contact/", "delete_selected")],
)
def test_a_selection_of_values_that_are_not_ids_runs_no_action(browser, settings, changelist, action, debug):
    settings.DEBUG = debug
    contact = ContactFactory()
    bad = ["abc", str(2**64), str(contact.pk)]

    response = browser.post(
        changelist,
        bulk_action_payload(action, bad),
        follow=True,
    )

    assert response.status_code == 200
    assert_no_traceback(response)
    html = response.content.decode()
    assert (
        "La sélection contient des valeurs qui ne sont pas des identifiants : abc, 18446744073709551616"
        in html
    )
    assert "Aucune action n'a été lancée" in html.replace("&#x27;", "'")
    assert not ExportRequest.objects.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_form_with_too_many_fields_gets_the_back_office_400_page(browser):
    response = browser.post(
        "/admin/rgpd/rgpdcontact/", {"_selected_action": [str(n) for n in range(1, 3000)]}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Requête incorrecte (400)" in html and 'id="site-name"' in html
    assert_no_traceback(response)


# --- Downloads whose stored file is missing -------------------------------------------------------------


@pytest.fixture(params=["s3", "local"])
def storage_kind(request, settings, tmp_path):
    """Files on the S3 gateway (the test environment's default), or on the local disk as ``make run``."""
    if request.param == "local":
        settings.STORAGES = {
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "media")},
            },
            "rgpd_archives": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "archives")},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    return request.param


def assert_file_missing_page(response) -> None:
    assert response.status_code == 404
    html = response.content.decode()
    assert FILE_MISSING_TITLE in html and FILE_MISSING_MESSAGE in html
    assert 'id="site-name"' in html and "back-office.css" in html  # the back office's page
    assert_no_traceback(response)


@DEBUG_MODES
def test_a_document_or_photo_whose_file_is_gone_gets_a_404_saying_so(
    browser, settings, storage_kind, caplog, debug
):
    settings.DEBUG = debug
    contact = ContactFactory(last_name="Personnelle", photo=png_image("portrait-personnel.png"))
    document = DocumentFactory(contact=contact)
    present = DocumentFactory(contact=contact)
    document.file.storage.delete(document.file.name)
    contact.photo.storage.delete(contact.photo.name)

    with caplog.at_level("WARNING"):
        assert_file_missing_page(browser.get(f"/contacts/documents/{document.pk}/download/"))
        assert_file_missing_page(browser.get(f"/contacts/{contact.pk}/photo/"))

    # The log names the files by ids, nothing personal (names, file names)
    logged = "\n".join(r.getMessage() for r in caplog.records if "missing" in r.getMessage())
    assert f"document {document.pk} of contact {contact.pk}" in logged
    assert f"photo of contact {contact.pk}" in logged
    assert document.original_name
    for personal in ("Personnelle", contact.first_name, document.original_name, "portrait-personnel"):
        assert personal not in logged
    # A file that is there still downloads
    assert browser.get(f"/contacts/documents/{present.pk}/download/").status_code in (200, 302)


@DEBUG_MODES
def test_an_archive_whose_file_is_gone_gets_a_404_saying_so_and_no_download_is_audited(
    browser, settings, storage_kind, caplog, debug
):
    settings.DEBUG = debug
    part = exported([ContactFactory()])  # ready, but no object was ever stored

    with caplog.at_level("WARNING"):
        assert_file_missing_page(
            browser.get(f"/admin/rgpd/exportrequest/{part.request_id}/parts/1/download/")
        )
        api = browser.get(f"/api/rgpd/exports/{part.request_id}/parts/1/download/")

    assert api.status_code == 404
    assert api.json() == {"detail": FILE_MISSING_MESSAGE, "code": "file_missing"}
    assert f"archive part 1 of export request {part.request_id}" in caplog.text
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ARCHIVE_DOWNLOADED).exists()


# --- Error pages and debug mode ------------------------------------------------------------------------


@pytest.mark.urls("tests.quality.test_bad_input")
def test_a_server_error_shows_the_back_office_500_page_without_details(db):
    response = Client(raise_request_exception=False).get("/failing/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Erreur du serveur (500)" in html and "Une erreur s'est produite" in html.replace("&#x27;", "'")
    assert 'id="site-name"' in html and "back-office.css" in html
    assert "Traceback" not in html and "a bug that must not" not in html


def settings_in_a_fresh_process(tmp_path, **environment) -> dict:
    """Some settings as a new process reads them from a clean environment (no variable of this run)."""
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'DEBUG': s.DEBUG, 'whitenoise': 'whitenoise.middleware.WhiteNoiseMiddleware' "
        "in s.MIDDLEWARE, 'finders': s.WHITENOISE_USE_FINDERS}))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "gdpr_portal.settings",
        "GDPR_PORTAL_VAR_DIR": str(tmp_path),
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_mode_is_off_unless_debug_true_is_set(tmp_path):
    assert settings_in_a_fresh_process(tmp_path) == {"DEBUG": False, "whitenoise": True, "finders": True}
    assert settings_in_a_fresh_process(tmp_path, DEBUG="true")["DEBUG"] is True
    assert settings_in_a_fresh_process(tmp_path, DEBUG="false")["DEBUG"] is False
    production = settings_in_a_fresh_process(tmp_path, PRODUCTION="true", SECRET_KEY="k" * 50)
    assert production == {"DEBUG": False, "whitenoise": True, "finders": False}
