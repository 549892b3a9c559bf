"""Stored files whatever the storage (``gdpr_portal.stored_files``), on the SeaweedFS S3 gateway and on the
local disk: a document and an archive download the same way, with the same headers; presigned URLs live
``STORAGE_URL_SECONDS``; bulk delete removes many objects and says which it could not; a missing file is a
404 saying so."""

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.test import Client
from django.urls import reverse
from django.utils.http import content_disposition_header
from rest_framework.authtoken.models import Token

from gdpr_portal.storage_backends import S3Storage
from gdpr_portal.stored_files.objects import S3_DELETE_BATCH, delete_stored_files, is_s3, s3_client, s3_key
from rgpd.services.exports import export_part_build, export_request_create
from tests.factories import MINIMAL_PDF, ContactFactory, DocumentFactory, exported, rgpd_user
from tests.support.exports import open_archive
from tests.support.helpers import http_get

FILE_SYSTEM = "django.core.files.storage.FileSystemStorage"
# What every download answer carries, document or archive, redirect or streamed file.
DOWNLOAD_HEADERS = {
    "Cache-Control": {"private", "no-store"},
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
FILE_MISSING_MESSAGE = (
    "Ce fichier est absent du stockage : il ne peut pas être téléchargé. Prévenez un administrateur."
)
# A user's file name that would break a naively quoted header: accents, quotes, spaces.
AWKWARD_NAME = 'Relevé "mars" 2024.pdf'


@pytest.fixture(params=["s3", "local"])
def storage_kind(request, settings, tmp_path):
    """Files on the S3 gateway (the test environment's default), or on the local disk as ``make run``."""
    assert settings.AWS_STORAGE_BUCKET_NAME, "run through scripts/testenv.py: these tests need real S3"
    if request.param == "local":
        local = {"default": tmp_path / "media", "rgpd_archives": tmp_path / "archives"}
        settings.STORAGES = {
            **settings.STORAGES,
            **{
                alias: {"BACKEND": FILE_SYSTEM, "OPTIONS": {"location": str(path)}}
                for alias, path in local.items()
            },
        }
    return request.param


@pytest.fixture
def officer(db):
    return rgpd_user()


@dataclass
class Download:
    """A download as the user's browser ends it: the site's answer, then the file's own answer."""

    answer: object  # the site's response: a 302 to the bucket, or the streamed file
    file_headers: dict
    body: bytes


def download(client: Client, url: str) -> Download:
    answer = client.get(url)
    if answer.status_code == 302:
        status, body, headers = http_get(answer["Location"])
        assert status == 200, body[:300]
        return Download(answer, headers, body)
    assert answer.status_code == 200 and answer.streaming
    return Download(answer, dict(answer.headers), b"".join(answer.streaming_content))


def directives(cache_control: str) -> set[str]:
    return {d.strip() for d in cache_control.split(",")}


def download_headers(response) -> dict:
    return {
        "Cache-Control": directives(response["Cache-Control"]),
        "Referrer-Policy": response["Referrer-Policy"],
        "X-Content-Type-Options": response["X-Content-Type-Options"],
    }


def ready_archive(contact, officer):
    """An export of ``contact`` built by the real service into the archives' storage."""
    export_request = export_request_create(
        population="contacts", subject_ids=[contact.pk], actor=officer, language="fr"
    )
    part = export_request.parts.get()
    assert export_part_build(part_id=part.pk) == "ready"
    return export_request


def archive_urls(export_request) -> tuple[str, str]:
    args = [export_request.pk, 1]
    return reverse("admin:rgpd_exportrequest_download", args=args), reverse(
        "rgpd_api:export-part-download", args=args
    )


def api_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


# --- One download response ------------------------------------------------------------------------------


def test_a_document_and_an_archive_download_with_the_same_headers(storage_kind, officer):
    # Given a contact's document with an awkward name, and an archive of that contact
    contact = ContactFactory()
    document = DocumentFactory(contact=contact, file=ContentFile(MINIMAL_PDF, name=AWKWARD_NAME))
    assert document.original_name == AWKWARD_NAME
    export_request = ready_archive(contact, officer)
    admin_url, api_url = archive_urls(export_request)
    browser = Client()
    browser.force_login(officer)

    # When the officer downloads both, from the back office and the archive from the API too
    of_document = download(browser, reverse("contacts:document_download", args=[document.pk]))
    of_archive = download(browser, admin_url)
    of_archive_by_api = download(api_client(officer), api_url)

    # Then the three answers are the same kind (a redirect to the bucket on S3, the streamed file on disk)
    # and carry the same headers: kept by no cache, no Referer to the bucket, no type sniffing
    expected_status = 302 if storage_kind == "s3" else 200
    for answer in (of_document, of_archive, of_archive_by_api):
        assert answer.answer.status_code == expected_status
        assert download_headers(answer.answer) == DOWNLOAD_HEADERS
        # ... and so does the file itself (on S3 the signed URL makes the bucket send them)
        assert directives(answer.file_headers["Cache-Control"]) == {"private", "no-store"}

    # And each downloads as an attachment under its safe name, with its type and its bytes
    assert of_document.file_headers["Content-Disposition"] == content_disposition_header(True, AWKWARD_NAME)
    assert (
        "filename*=utf-8''Relev%C3%A9%20%22mars%22%202024.pdf"
        in of_document.file_headers["Content-Disposition"]
    )
    assert of_document.file_headers["Content-Type"] == "application/pdf"
    assert of_document.body == MINIMAL_PDF
    archive_name = f"gdpr-export-{export_request.pk}.zip"
    for answer in (of_archive, of_archive_by_api):
        assert answer.file_headers["Content-Disposition"] == f'attachment; filename="{archive_name}"'
        assert answer.file_headers["Content-Type"] == "application/zip"
        assert contact.pk in open_archive(answer.body)["people"]


def test_a_missing_document_or_archive_is_a_404_saying_so(storage_kind, officer):
    # Given a document whose stored file is gone, and a ready archive whose object was never stored
    document = DocumentFactory()
    document.file.storage.delete(document.file.name)
    admin_url, api_url = archive_urls(exported([document.contact]).request)
    browser = Client()
    browser.force_login(officer)

    # When the officer downloads them, Then each is a 404 with the same message: a page in the back
    # office, JSON for the API
    for url in (reverse("contacts:document_download", args=[document.pk]), admin_url):
        response = browser.get(url)
        assert response.status_code == 404 and FILE_MISSING_MESSAGE in response.content.decode()
    response = api_client(officer).get(api_url)
    assert response.status_code == 404 and response.json() == {
        "detail": FILE_MISSING_MESSAGE,
        "code": "file_missing",
    }


# --- Presigned URLs ---------------------------------------------------------------------------------------


def test_presigned_urls_expire_after_the_configured_seconds(settings, officer):
    assert settings.AWS_STORAGE_BUCKET_NAME, "run through scripts/testenv.py: these tests need real S3"
    # The storages' own default lifetime is the same setting (five minutes unless configured)
    assert settings.STORAGE_URL_SECONDS == 300
    assert storages["default"].querystring_expire == storages["rgpd_archives"].querystring_expire == 300

    # Given downloads configured to live 3 seconds
    settings.STORAGE_URL_SECONDS = 3
    contact = ContactFactory()
    document = DocumentFactory(contact=contact)
    admin_url, _api_url = archive_urls(ready_archive(contact, officer))
    browser = Client()
    browser.force_login(officer)

    # When the officer downloads the document and the archive
    locations = [
        browser.get(url)["Location"]
        for url in (reverse("contacts:document_download", args=[document.pk]), admin_url)
    ]

    # Then both URLs are signed for 3 seconds and work at once ...
    for location in locations:
        assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == ["3"]
        assert http_get(location)[0] == 200
    # ... and the bucket refuses them once the 3 seconds are over
    time.sleep(4.5)
    for location in locations:
        status, body, _headers = http_get(location)
        assert status == 403 and b"expired" in body


# --- Bulk delete ----------------------------------------------------------------------------------------


def store_many(count: int) -> list[str]:
    """``count`` small files in the default storage; on S3 with one PutObject each, in parallel."""
    names = [f"bulk-delete-test/{index:05d}.txt" for index in range(count)]
    if is_s3(default_storage):
        client, bucket = s3_client(default_storage), default_storage.bucket_name

        def put(name: str) -> None:
            client.put_object(Bucket=bucket, Key=s3_key(default_storage, name), Body=name.encode())

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(put, names))
    else:
        for name in names:
            default_storage.save(name, ContentFile(name.encode()))
    return names


@contextlib.contextmanager
def counted_delete_calls(calls: list[int]):
    """Count the DeleteObjects calls this thread's S3 client makes (none off S3)."""
    if not is_s3(default_storage):
        yield
        return
    events = s3_client(default_storage).meta.events

    def count(**kwargs) -> None:
        calls.append(1)

    events.register("before-call.s3.DeleteObjects", count)
    try:
        yield
    finally:
        events.unregister("before-call.s3.DeleteObjects", count)


def test_bulk_delete_removes_many_objects_and_reports_those_it_could_not_delete(storage_kind, tmp_path):
    # Given more stored files than one DeleteObjects call takes, and a file just outside the storage
    names = store_many(S3_DELETE_BATCH + 50)
    assert all(default_storage.exists(name) for name in names[:: S3_DELETE_BATCH // 4])
    outside = "../outside-the-storage.txt"
    calls: list[int] = []
    if storage_kind == "s3":
        client = s3_client(default_storage)
        client.put_object(Bucket=default_storage.bucket_name, Key="outside-the-storage.txt", Body=b"kept")
    else:
        (tmp_path / "outside-the-storage.txt").write_bytes(b"kept")

    # When they are deleted in bulk, with a name that points outside the storage among them
    with counted_delete_calls(calls):
        errors = delete_stored_files(default_storage, [*names, outside])

    # Then every file of the storage is gone, and only the name outside it is reported, not deleted
    assert list(errors) == [outside] and errors[outside].startswith("Suspicious")
    assert not [name for name in names if default_storage.exists(name)]
    if storage_kind == "s3":
        assert len(calls) == 2  # 1,000 keys, then 50
        assert client.get_object(Bucket=default_storage.bucket_name, Key="outside-the-storage.txt")[
            "Body"
        ].read()
    else:
        assert Path(tmp_path / "outside-the-storage.txt").read_bytes() == b"kept"
        assert not list((tmp_path / "media").rglob("*.txt"))


def test_bulk_delete_reports_every_name_when_the_bucket_cannot_be_reached(settings):
    assert settings.AWS_STORAGE_BUCKET_NAME, "run through scripts/testenv.py: these tests need real S3"
    # Given a storage on a bucket that does not exist (a mistyped name, a bucket removed)
    options = {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": "no-such-bucket-here"}
    missing_bucket = S3Storage(**options)

    # When files are deleted from it, Then each one is reported with the storage's error, none raised
    errors = delete_stored_files(missing_bucket, ["a.txt", "b.txt"])
    assert errors == {"a.txt": "NoSuchBucket", "b.txt": "NoSuchBucket"}
